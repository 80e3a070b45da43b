//! The token gate: on an authenticated route, a request with a body is let through to its
//! handler (whose extractors read the body) only with a known token. A missing or unknown
//! token is answered 401 at once and the connection closed, without reading or waiting for
//! the body: before the gate, `Authorization: Bearer x` with a slow JSON body held its
//! connection until the whole body had arrived, and only then was refused.
//!
//! The gate is a gate, not the authority: every handler still checks the token in the same
//! database trip as its work (`AppState::authorized`). So that the gate costs no trip to the
//! blocking pool for every `POST /verify` (15–20k requests a second on SQLite), it remembers
//! tokens it found valid for [`VALID_FOR`]: a revoked token may still pass the gate within
//! that time, and is refused by the handler at once. Only an unknown (or forgotten) token
//! costs a lookup; a string that cannot be a token costs none.

use super::{close_unread, has_body};
use crate::auth::{self, AuthError};
use crate::clock::Clock;
use crate::http::error::ApiError;
use crate::http::extract::BearerToken;
use crate::http::state::AppState;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use actix_web::{web, ResponseError};
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// How long a token found valid passes the gate without a lookup: the bound on how long a
/// revoked token still gets its body read (the handler refuses it at once regardless).
pub const VALID_FOR: chrono::Duration = chrono::Duration::seconds(2);

/// Tokens remembered at most; past it the expired ones are dropped, and if that is not
/// enough, all of them (each then costs one lookup again). 64 bytes an entry: 4 MiB.
const CAPACITY: usize = 65_536;

/// Routes under the gated scope that anyone may call: never gated.
pub const PUBLIC_API_PATHS: [&str; 2] = ["/api/v1/openapi.json", "/api/v1/status-list"];

/// Tokens recently found valid, by the SHA-256 of their secret, with when that was.
pub struct ValidTokens {
    seen: Mutex<HashMap<[u8; 32], DateTime<Utc>>>,
    clock: Arc<dyn Clock>,
}

impl ValidTokens {
    pub fn new(clock: Arc<dyn Clock>) -> ValidTokens {
        ValidTokens {
            seen: Mutex::new(HashMap::new()),
            clock,
        }
    }

    fn key(secret: &str) -> [u8; 32] {
        Sha256::digest(secret.as_bytes()).into()
    }

    fn is_fresh(&self, secret: &str) -> bool {
        let now = self.clock.now();
        let seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.get(&Self::key(secret))
            .is_some_and(|at| now >= *at && now - *at < VALID_FOR)
    }

    fn remember(&self, secret: &str) {
        let now = self.clock.now();
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= CAPACITY {
            seen.retain(|_, at| now >= *at && now - *at < VALID_FOR);
            if seen.len() >= CAPACITY {
                seen.clear();
            }
        }
        seen.insert(Self::key(secret), now);
    }

    /// Is this a token the gate lets through? A fresh memory, or a lookup on the blocking
    /// pool (then remembered).
    async fn admit(&self, db: &crate::storage::Database, secret: String) -> Result<(), ApiError> {
        if !auth::may_be_secret(&secret) {
            return Err(ApiError::InvalidToken);
        }
        if self.is_fresh(&secret) {
            return Ok(());
        }
        let checked = secret.clone();
        db.run(move |conn| match auth::authenticate(conn, &checked) {
            Ok(_) => Ok(()),
            Err(AuthError::InvalidToken) => Err(ApiError::InvalidToken),
            Err(other) => Err(other.into()),
        })
        .await?;
        self.remember(&secret);
        Ok(())
    }
}

/// The gate, over the authenticated scope. Requests without a body pass: their handler
/// checks the token before it does anything else anyway.
pub async fn token_gate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let gated = has_body(req.headers()) && !PUBLIC_API_PATHS.contains(&req.path());
    let (Some(state), true) = (state, gated) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let admitted = match BearerToken::from_headers(req.headers()) {
        Ok(token) => state.valid_tokens.admit(&state.db, token.0).await,
        Err(e) => Err(e),
    };
    match admitted {
        Ok(()) => Ok(next.call(req).await?.map_into_boxed_body()),
        Err(refused) => {
            let mut res = refused.error_response();
            // The body is not wanted: close rather than read (or drain) the rest of it.
            let mut req = req;
            close_unread(&mut res, req.take_payload());
            Ok(req.into_response(res))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    #[test]
    fn a_valid_token_is_remembered_for_a_bounded_time() {
        let t0: DateTime<Utc> = "2026-11-22T04:00:00Z".parse().unwrap();
        let clock = FixedClock::at(t0);
        let tokens = ValidTokens::new(Arc::new(clock.clone()));
        assert!(!tokens.is_fresh("elc_a"));
        tokens.remember("elc_a");
        assert!(tokens.is_fresh("elc_a"));
        assert!(!tokens.is_fresh("elc_b"));
        clock.set(t0 + VALID_FOR - chrono::Duration::milliseconds(1));
        assert!(tokens.is_fresh("elc_a"));
        clock.set(t0 + VALID_FOR);
        assert!(!tokens.is_fresh("elc_a"), "forgotten after VALID_FOR");
        // A clock set back does not make a memory last longer.
        clock.set(t0 - chrono::Duration::seconds(1));
        assert!(!tokens.is_fresh("elc_a"));
    }

    #[test]
    fn the_memory_stays_within_its_capacity() {
        let t0: DateTime<Utc> = "2026-11-22T04:00:00Z".parse().unwrap();
        let clock = FixedClock::at(t0);
        let tokens = ValidTokens::new(Arc::new(clock.clone()));
        for i in 0..CAPACITY {
            tokens.remember(&format!("elc_{i}"));
        }
        clock.set(t0 + VALID_FOR);
        tokens.remember("elc_new");
        let seen = tokens.seen.lock().unwrap();
        assert_eq!(seen.len(), 1, "the expired ones were dropped");
    }
}
