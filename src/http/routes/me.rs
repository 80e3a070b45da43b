//! The holder's own licence. No route here takes a licence number: the holder's token names
//! the one licence it may see, so another holder's data is unreachable by construction.

use crate::auth::Principal;
use crate::domain::eligibility::evaluate;
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::state::AppState;
use crate::http::views::{EligibilityView, LicenceDocument};
use crate::i18n::Lang;
use crate::storage::licences::StoredLicence;
use crate::storage::{licences, DbConn};
use actix_web::{get, web};

fn own_licence(conn: &mut DbConn, principal: &Principal) -> Result<StoredLicence, ApiError> {
    let number = principal.holder_licence()?;
    licences::find(conn, number)?.ok_or(ApiError::LicenceNotFound)
}

/// The holder's licence: front page, secondary page, live status and class explanations.
#[utoipa::path(tag = "holder", security(("bearer" = [])), responses(
    (status = 200, body = LicenceDocument),
    (status = 401, body = ErrorEnvelopeDoc), (status = 403, body = ErrorEnvelopeDoc),
))]
#[get("/me/licence")]
pub async fn get_licence(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
) -> Result<web::Json<LicenceDocument>, ApiError> {
    let today = state.clock.today();
    let stored = state
        .authorized(token, move |conn, p| own_licence(conn, &p))
        .await?;
    Ok(web::Json(LicenceDocument::new(&stored, today, lang)))
}

/// May this licence get an e-licence today? Every reason that stands in the way.
#[utoipa::path(tag = "holder", security(("bearer" = [])), responses(
    (status = 200, body = EligibilityView),
    (status = 401, body = ErrorEnvelopeDoc), (status = 403, body = ErrorEnvelopeDoc),
))]
#[get("/me/eligibility")]
pub async fn get_eligibility(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
) -> Result<web::Json<EligibilityView>, ApiError> {
    let today = state.clock.today();
    let stored = state
        .authorized(token, move |conn, p| own_licence(conn, &p))
        .await?;
    let eligibility = evaluate(&stored.licence, today);
    Ok(web::Json(EligibilityView::new(
        &eligibility,
        lang,
        today,
        stored.synced_at,
    )))
}
