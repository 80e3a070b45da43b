//! The holder's e-licence: issue it, read it with a fresh display code, fetch a code, and the
//! photo. Like every `/me` route, the licence comes from the token, never from the request.

use crate::auth::Principal;
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::state::AppState;
use crate::http::views::{reason_view, DisplayCodeView, ELicenceView, LicenceDocument};
use crate::i18n::Lang;
use crate::service::codes;
use crate::service::issuance::{self, IssueError};
use crate::storage::e_licences::{self, ELicenceRow};
use crate::storage::licences::{self, StoredLicence};
use crate::storage::DbConn;
use actix_web::http::header;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PhotoChoice {
    /// The photo the registry holds (已留存照片).
    OnFile,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueRequest {
    pub photo: PhotoChoice,
}

const PHOTO_URL: &str = "/api/v1/me/e-licence/photo";

/// The holder's current e-licence and licence, or 404.
pub(super) fn current(
    conn: &mut DbConn,
    p: &Principal,
) -> Result<(ELicenceRow, StoredLicence), ApiError> {
    let number = p.holder_licence()?;
    let e = e_licences::current_for(conn, number.as_str())?.ok_or(ApiError::ELicenceNotFound)?;
    let stored = licences::find(conn, number)?.ok_or(ApiError::LicenceNotFound)?;
    Ok((e, stored))
}

fn view(
    state: &AppState,
    conn: &mut DbConn,
    e: ELicenceRow,
    stored: &StoredLicence,
    lang: Lang,
) -> Result<ELicenceView, ApiError> {
    let today = state.clock.today();
    let now = state.clock.now();
    let display = codes::issue(conn, &state.keys, &e, stored, today, now, state.code_ttl)?;
    Ok(ELicenceView {
        generated_at: e.generated_at_utc(),
        photo_url: PHOTO_URL.to_owned(),
        photo_source: e.photo_source,
        state: e.state,
        e_licence_id: e.id,
        document: LicenceDocument::new(stored, today, lang),
        display: display.into(),
    })
}

/// Apply for the e-licence with the photo on file: generated at once (201) when the licence
/// is eligible; asking again returns the current one (200).
#[utoipa::path(tag = "holder", security(("bearer" = [])), request_body = IssueRequest, responses(
    (status = 201, body = ELicenceView, description = "Generated"),
    (status = 200, body = ELicenceView, description = "Already issued"),
    (status = 409, body = ErrorEnvelopeDoc, description = "photo_required"),
    (status = 422, body = ErrorEnvelopeDoc, description = "not_eligible, with every reason"),
))]
#[post("/me/e-licence")]
pub async fn issue(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    body: web::Json<IssueRequest>,
) -> Result<HttpResponse, ApiError> {
    let PhotoChoice::OnFile = body.photo;
    let app = state.get_ref().clone();
    let (created, view) = state
        .authorized(token, move |conn, p| {
            let number = p.holder_licence()?.clone();
            let issued = issuance::issue_with_photo_on_file(conn, &number, app.clock.today(), app.clock.now()).map_err(|e| match e {
                IssueError::LicenceNotFound => ApiError::LicenceNotFound,
                IssueError::PhotoRequired => ApiError::PhotoRequired,
                IssueError::NotEligible(reasons) => ApiError::NotEligible(reasons.iter().map(|r| reason_view(r, lang)).collect()),
                IssueError::Storage(s) => s.into(),
            })?;
            if issued.created {
                tracing::info!(licence = %number.masked(), e_licence = %issued.e_licence.id, "e-licence generated");
            }
            let stored = licences::find(conn, &number)?.ok_or(ApiError::LicenceNotFound)?;
            Ok((issued.created, view(&app, conn, issued.e_licence, &stored, lang)?))
        })
        .await?;
    Ok(if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(view))
}

/// The e-licence document with a fresh display code.
#[utoipa::path(tag = "holder", security(("bearer" = [])), responses(
    (status = 200, body = ELicenceView),
    (status = 404, body = ErrorEnvelopeDoc, description = "e_licence_not_found"),
))]
#[get("/me/e-licence")]
pub async fn get(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
) -> Result<web::Json<ELicenceView>, ApiError> {
    let app = state.get_ref().clone();
    let view = state
        .authorized(token, move |conn, p| {
            let (e, stored) = current(conn, &p)?;
            view(&app, conn, e, &stored, lang)
        })
        .await?;
    Ok(web::Json(view))
}

/// A fresh display code: QR text (signed, short-lived) and one-time barcode digits.
#[utoipa::path(tag = "holder", security(("bearer" = [])), responses(
    (status = 200, body = DisplayCodeView),
    (status = 404, body = ErrorEnvelopeDoc, description = "e_licence_not_found"),
))]
#[get("/me/e-licence/code")]
pub async fn code(
    state: web::Data<AppState>,
    token: BearerToken,
) -> Result<web::Json<DisplayCodeView>, ApiError> {
    let app = state.get_ref().clone();
    let code = state
        .authorized(token, move |conn, p| {
            let (e, stored) = current(conn, &p)?;
            Ok(codes::issue(
                conn,
                &app.keys,
                &e,
                &stored,
                app.clock.today(),
                app.clock.now(),
                app.code_ttl,
            )?)
        })
        .await?;
    Ok(web::Json(code.into()))
}

pub fn photo_response(bytes: Vec<u8>, media_type: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media_type))
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .body(bytes)
}

/// The photo on the holder's e-licence.
#[utoipa::path(tag = "holder", security(("bearer" = [])), responses(
    (status = 200, content_type = "image/jpeg", description = "The photo (JPEG or PNG)"),
    (status = 404, body = ErrorEnvelopeDoc),
))]
#[get("/me/e-licence/photo")]
pub async fn photo(
    state: web::Data<AppState>,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let (bytes, media_type) = state
        .authorized(token, move |conn, p| {
            let number = p.holder_licence()?;
            let e = e_licences::current_for(conn, number.as_str())?
                .ok_or(ApiError::ELicenceNotFound)?;
            e_licences::photo(conn, &e.id)?.ok_or(ApiError::ELicenceNotFound)
        })
        .await?;
    Ok(photo_response(bytes, media_type))
}
