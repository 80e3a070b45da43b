//! Photo work asked for by handlers runs on the photo pool (`crate::photo::pool`), never on
//! the blocking pool where the database work waits its turn; the database reads and writes
//! around it stay on that blocking pool.

use super::error::ApiError;
use super::state::AppState;
use crate::domain::licence::LicenceNumber;
use crate::photo::pool::{PoolError, RETRY_AFTER_SECS};
use crate::service::issuance;

/// `work` on the photo pool: 503 `busy` when its threads and queue are all taken.
pub async fn on_photo_pool<T, F>(state: &AppState, work: F) -> Result<T, ApiError>
where
    F: FnOnce() -> T + Send + 'static,
    T: Send + 'static,
{
    state.photos.run(work).await.map_err(|e| match e {
        PoolError::Busy => ApiError::Busy {
            retry_after_secs: RETRY_AFTER_SECS,
        },
        PoolError::Failed => ApiError::Internal("photo work failed".into()),
    })
}

/// Prepares the photo on file of `number` that was never prepared (normalised and
/// pre-checked, as when the registry sends one now) and remembers it: for a handler that met
/// `PhotoNotPrepared` once the caller's token was checked, and then asks again.
pub async fn prepare_photo_on_file(
    state: &AppState,
    number: LicenceNumber,
) -> Result<(), ApiError> {
    let read = number.clone();
    let original = state
        .db
        .run(move |conn| Ok::<_, ApiError>(issuance::photo_on_file_to_prepare(conn, &read)?))
        .await?;
    let Some(original) = original else {
        return Ok(());
    };
    let (original, prepared) = on_photo_pool(state, move || {
        let prepared = crate::photo::prepare(&original);
        (original, prepared)
    })
    .await?;
    let now = state.clock.now();
    state
        .db
        .run(move |conn| {
            Ok::<_, ApiError>(issuance::remember_prepared(
                conn, &number, &original, &prepared, now,
            )?)
        })
        .await
}

/// What a handler tells a caller whose photo on file changed under it twice running.
pub fn photo_on_file_changing() -> ApiError {
    ApiError::Unavailable("the photo on file changed while it was being prepared".into())
}
