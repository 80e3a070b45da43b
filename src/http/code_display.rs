//! The display code the app shows, for the image routes (code images, cards): the holder's
//! current e-licence, its licence and the newest live code for the purpose, and rendering
//! off the async executor.

use crate::auth::Principal;
use crate::domain::purpose::Purpose;
use crate::http::error::ApiError;
use crate::http::state::AppState;
use crate::render::RenderError;
use crate::service::codes::{self, DisplayCode};
use crate::service::current_e_licence;
use crate::storage::e_licences::ELicenceRow;
use crate::storage::licences::StoredLicence;
use crate::storage::DbConn;
use actix_web::web;
use std::sync::Arc;

/// The holder's e-licence, licence, and the roadside display code the app shows.
pub fn current_display(
    conn: &mut DbConn,
    app: &AppState,
    p: &Principal,
) -> Result<(ELicenceRow, StoredLicence, DisplayCode), ApiError> {
    current_display_for(conn, app, p, Purpose::Roadside)
}

/// [`current_display`] for `purpose`.
pub fn current_display_for(
    conn: &mut DbConn,
    app: &AppState,
    p: &Principal,
    purpose: Purpose,
) -> Result<(ELicenceRow, StoredLicence, DisplayCode), ApiError> {
    let (e, stored) = current_e_licence::with_licence(conn, p.holder_licence()?)?;
    let code = codes::current_or_issue_for(
        conn,
        &app.keys.current(),
        purpose,
        &e,
        &stored,
        app.code_moment(),
    )?;
    Ok((e, stored, code))
}

/// Runs a render on the blocking pool: CPU work of milliseconds stays off the async executor.
pub async fn render_blocking(
    work: impl FnOnce() -> Result<Arc<Vec<u8>>, RenderError> + Send + 'static,
) -> Result<Arc<Vec<u8>>, ApiError> {
    web::block(work)
        .await
        .map_err(|_| ApiError::Unavailable("rendering was cancelled".into()))?
        .map_err(|e| ApiError::Internal(e.to_string()))
}
