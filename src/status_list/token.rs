//! The Status List Token (draft section 5.1): the list in a compact JWS signed with our
//! signing key, header `{"alg":"EdDSA","kid":…,"typ":"statuslist+jwt"}`, claims
//! `{"sub","iat","exp","ttl","status_list":{"bits","lst"}}`.
//!
//! Verification is the strict one of the roadside codes (`signing::jws`): EdDSA only, the key
//! from our JWKS by `kid`, no key or extension taken from the header. Only the size limit
//! differs, since a list is much larger than a code.

use super::{EncodedList, Limits, ListError, StatusList};
use crate::signing::jws::{self, JwsError};
use crate::signing::KeyRing;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The JWS `typ` of a status list.
pub const TYP: &str = "statuslist+jwt";
/// Its media type, as served (draft section 8.2).
pub const MEDIA_TYPE: &str = "application/statuslist+jwt";

/// The largest token read. The list is base64url twice over (`lst` in the claims, the claims
/// in the JWS), so a token is about 16/9 of its compressed list.
pub const MAX_TOKEN_BYTES: usize = Limits::DEFAULT.max_compressed / 9 * 16 + 4096;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusListClaims {
    /// The URI the list is served at.
    pub sub: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// After this second the list says nothing any more: a verifier holding it is stale.
    pub exp: i64,
    /// Seconds a consumer may keep it before fetching a fresh one.
    pub ttl: u64,
    pub status_list: EncodedList,
}

impl StatusListClaims {
    pub fn issued_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.iat, 0)
    }

    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.exp, 0)
    }

    /// Past its `exp` at `now` (like a code, good up to, not including, its `exp` second).
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now.timestamp() >= self.exp
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the status list token is larger than {MAX_TOKEN_BYTES} bytes")]
    Oversize,
    #[error("{code}: {0}", code = .0.code())]
    Jws(JwsError),
    #[error("the claims are not a status list: {0}")]
    Claims(String),
    #[error(transparent)]
    List(#[from] ListError),
}

/// A token whose signature, claims and list checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedList {
    pub kid: String,
    pub claims: StatusListClaims,
    pub list: StatusList,
}

/// Signs the claims with the ring's active key.
pub fn sign(ring: &KeyRing, claims: &StatusListClaims) -> String {
    let payload = serde_json::to_vec(claims).expect("the claims always serialise");
    jws::sign(ring, TYP, &payload)
}

/// Verifies a token with `key_for(kid)` and inflates its list under `limits`. Does not look at
/// the time: whether the list is stale is the caller's question ([`StatusListClaims::is_expired`]).
pub fn verify<'k>(
    token: &str,
    key_for: impl FnOnce(&str) -> Option<&'k ed25519_dalek::VerifyingKey>,
    limits: Limits,
) -> Result<VerifiedList, TokenError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(TokenError::Oversize);
    }
    let verified =
        jws::verify_within(token, TYP, MAX_TOKEN_BYTES, key_for).map_err(TokenError::Jws)?;
    let claims: StatusListClaims =
        serde_json::from_slice(&verified.payload).map_err(|e| TokenError::Claims(e.to_string()))?;
    if claims.ttl == 0 {
        return Err(TokenError::Claims("ttl must be positive".into()));
    }
    if claims.exp <= claims.iat {
        return Err(TokenError::Claims("exp is not after iat".into()));
    }
    let list = StatusList::decode(&claims.status_list, limits)?;
    Ok(VerifiedList {
        kid: verified.header.kid,
        claims,
        list,
    })
}
