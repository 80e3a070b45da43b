use super::error::ApiError;
use super::extract::BearerToken;
use crate::auth::{self, Principal};
use crate::clock::Clock;
use crate::service::status_list::StatusLists;
use crate::service::verification_queue::VerificationQueue;
use crate::signing::LiveKeys;
use crate::storage::licences::StoredLicence;
use crate::storage::{Database, DbConn};
use std::sync::Arc;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub db: Database,
    pub clock: Arc<dyn Clock>,
    /// Signing keys, reloaded when `keys/` changes: take `keys.current()` once per request.
    pub keys: Arc<LiveKeys>,
    /// How long a display code stays valid.
    pub code_ttl: chrono::Duration,
    pub renders: Arc<crate::render::cache::RenderCache>,
    /// Scans verified and audited in batches.
    pub verifications: VerificationQueue,
    /// Working days (Asia/Shanghai) for review deadlines.
    pub calendar: Arc<crate::domain::calendar::WorkingCalendar>,
    /// The signed offline status list, kept in memory and rebuilt when older than its ttl.
    pub status_lists: StatusLists,
    /// Body deadlines, photo pool size, upload rate (`http::limits`).
    pub limits: crate::config::Limits,
    /// Where photo work runs, bounded: never on the blocking pool of the database work.
    pub photos: crate::photo::PhotoPool,
    /// Photo uploads per token.
    pub uploads: Arc<crate::http::limits::upload_rate::UploadLimiter>,
    /// Tokens the token gate found valid a moment ago.
    pub valid_tokens: Arc<crate::http::limits::token_gate::ValidTokens>,
    /// What `/readyz` answers: the database takes writes, the keys on disk load.
    pub readiness: Arc<crate::service::readiness::Readiness>,
    /// Review claims not answered yet: those cut short are given back at shutdown.
    pub claims_in_flight: Arc<crate::http::claims_in_flight::ClaimsInFlight>,
}

impl AppState {
    /// When a display code signed now is signed and how long it lives.
    pub fn code_moment(&self) -> crate::service::codes::Moment {
        crate::service::codes::Moment {
            today: self.clock.today(),
            now: self.clock.now(),
            ttl: self.code_ttl,
        }
    }

    /// Checks the token and runs `work` on the same connection, in one trip to the blocking
    /// pool. The principal is handed to `work`, which decides what it may see.
    pub async fn authorized<T, F>(&self, token: BearerToken, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn, Principal) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.db
            .run(move |conn| {
                let principal = auth::authenticate(conn, &token.0)?;
                work(conn, principal)
            })
            .await
    }

    /// For a holder's reads of their own licence: the token and the licence it names are read
    /// in one statement (one round trip to PostgreSQL), then `work` has them. Only a holder's
    /// token passes; a holder whose licence is not stored gets `licence_not_found`.
    pub async fn holder_licence<T, F>(&self, token: BearerToken, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn, Principal, StoredLicence) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.db
            .run(move |conn| {
                let (principal, licence) = auth::authenticate_with_licence(conn, &token.0)?;
                principal.holder_licence()?;
                let licence = licence.ok_or(ApiError::LicenceNotFound)?;
                work(conn, principal, licence)
            })
            .await
    }

    /// As [`AppState::authorized`], for read-only `work`: the token check and `work` read one
    /// snapshot (see `DbConn::read_snapshot`).
    pub async fn authorized_reads<T, F>(&self, token: BearerToken, work: F) -> Result<T, ApiError>
    where
        F: FnOnce(&mut DbConn, Principal) -> Result<T, ApiError> + Send + 'static,
        T: Send + 'static,
    {
        self.db
            .run(move |conn| {
                conn.read_snapshot(|conn| {
                    let principal = auth::authenticate(conn, &token.0)?;
                    work(conn, principal)
                })
            })
            .await
    }
}
