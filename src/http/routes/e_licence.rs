//! The holder's e-licence: issue it, read it with a fresh display code, fetch a code, and the
//! photo. Like every `/me` route, the licence comes from the token, never from the request.

use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::photo_intake::submit_upload;
use crate::http::photo_work::{photo_on_file_changing, prepare_photo_on_file};
use crate::http::requests::{IssueRequest, PhotoChoice, PhotoUploadDoc, PurposeQuery};
use crate::http::responses::photo_response;
use crate::http::state::AppState;
use crate::http::upload::is_multipart;
use crate::http::views::{DisplayCodeView, ELicenceView, LicenceDocument};
use crate::i18n::Lang;
use crate::service::codes;
use crate::service::current_e_licence;
use crate::service::issuance::{self, IssueError};
use crate::service::photo_review::Purpose as PhotoPurpose;
use crate::storage::e_licences::{self, ELicenceRow};
use crate::storage::licences::StoredLicence;
use crate::storage::{registry_events, DbConn};
use actix_web::{get, post, web, FromRequest, HttpRequest, HttpResponse};

const PHOTO_URL: &str = "/api/v1/me/e-licence/photo";

fn view(
    state: &AppState,
    conn: &mut DbConn,
    e: ELicenceRow,
    stored: &StoredLicence,
    lang: Lang,
) -> Result<ELicenceView, ApiError> {
    let today = state.clock.today();
    let now = state.clock.now();
    let display = codes::issue(
        conn,
        &state.keys.current(),
        &e,
        stored,
        today,
        now,
        state.code_ttl,
    )?;
    let record = registry_events::driving_record(conn, &stored.licence)?;
    Ok(ELicenceView {
        generated_at: e.generated_at_utc(),
        photo_url: PHOTO_URL.to_owned(),
        photo_source: e.photo_source,
        state: e.state,
        e_licence_id: e.id,
        document: LicenceDocument::new(stored, &record, today, lang),
        display: display.into(),
    })
}

/// Apply for the e-licence. With the JSON `{"photo":"on_file"}`: generated at once (201)
/// when the licence is eligible and the photo on file passes the automatic checks; asking
/// again returns the current one (200). With a multipart upload (`source` camera|album and
/// `photo`): the photo is pre-checked and queued for review (202), and the e-licence is
/// generated when a reviewer approves it (`GET /api/v1/me/e-licence/application`).
/// After a licence change superseded the e-licence, applying again issues a fresh one (new
/// id and serial; the old one is kept, superseded). Its photo is the one on file; when there
/// is no usable photo on file, the superseded e-licence's photo, which was already accepted.
#[utoipa::path(tag = "holder", operation_id = "applyForELicence", security(("bearer" = [])),
    request_body(content(
        (IssueRequest = "application/json"),
        (PhotoUploadDoc = "multipart/form-data"),
    )),
    responses(
        (status = 201, body = ELicenceView, description = "Generated"),
        (status = 200, body = ELicenceView, description = "Already issued"),
        (status = 202, body = crate::http::review_views::ApplicationView, description = "Photo queued for review"),
        (status = 409, body = ErrorEnvelopeDoc, description = "`photo_required`, `e_licence_exists`"),
        (status = 415, body = ErrorEnvelopeDoc, description = "`unsupported_photo_format`: the photo is not a JPEG or PNG"),
        (status = 422, body = ErrorEnvelopeDoc, description = "`not_eligible` (every reason in `details`), `photo_on_file_unusable`, `photo_rejected` (every failed check in `details`)"),
    ))]
#[post("/me/e-licence")]
pub async fn issue(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    req: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    if is_multipart(&req) {
        return Ok(submit_upload(
            state,
            token,
            lang,
            req,
            payload,
            PhotoPurpose::FirstApplication,
        )
        .await?);
    }
    let body = web::Json::<IssueRequest>::from_request(&req, &mut payload.into_inner()).await?;
    let PhotoChoice::OnFile = body.photo;
    Ok(issue_on_file(state, token, lang).await?)
}

async fn issue_on_file(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
) -> Result<HttpResponse, ApiError> {
    // A photo on file that was never prepared is prepared on the photo pool between two
    // tries; once more means it changed meanwhile.
    for attempt in 0..2 {
        let app = state.get_ref().clone();
        let issued = state
            .authorized(token.clone(), move |conn, p| {
                let number = p.holder_licence()?.clone();
                let issued = match issuance::issue_with_photo_on_file(conn, &number, app.clock.today(), app.clock.now()) {
                    Err(IssueError::PhotoNotPrepared) => return Ok(Err(number)),
                    other => other?,
                };
                if issued.created {
                    tracing::info!(licence = %number.masked(), e_licence = %issued.e_licence.id, "e-licence generated");
                }
                Ok(Ok((issued.created, view(&app, conn, issued.e_licence, &issued.licence, lang)?)))
            })
            .await?;
        match issued {
            Ok((created, view)) => {
                return Ok(if created {
                    HttpResponse::Created()
                } else {
                    HttpResponse::Ok()
                }
                .json(view))
            }
            Err(number) if attempt == 0 => prepare_photo_on_file(&state, number).await?,
            Err(_) => break,
        }
    }
    Err(photo_on_file_changing())
}

/// The e-licence document with a fresh display code.
#[utoipa::path(tag = "holder", operation_id = "getMyELicence", security(("bearer" = [])), responses(
    (status = 200, body = ELicenceView),
    (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`: none was ever issued"),
    (status = 410, body = ErrorEnvelopeDoc, description = "`e_licence_superseded`: a licence change ended it; apply again (`details`)"),
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
            let (e, stored) = current_e_licence::with_licence(conn, p.holder_licence()?)?;
            view(&app, conn, e, &stored, lang)
        })
        .await?;
    Ok(web::Json(view))
}

/// A fresh display code: QR text (signed, short-lived) and one-time barcode digits, for the
/// purpose asked (`?purpose=rental`: a minimal code and a barcode only a rental partner can
/// resolve; roadside by default).
#[utoipa::path(tag = "holder", operation_id = "getMyDisplayCode", security(("bearer" = [])), params(PurposeQuery), responses(
    (status = 200, body = DisplayCodeView),
    (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`: none was ever issued"),
    (status = 410, body = ErrorEnvelopeDoc, description = "`e_licence_superseded`: a licence change ended it; apply again (`details`)"),
))]
#[get("/me/e-licence/code")]
pub async fn code(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<PurposeQuery>,
) -> Result<web::Json<DisplayCodeView>, ApiError> {
    let app = state.get_ref().clone();
    let purpose = query.purpose();
    let code = state
        .authorized(token, move |conn, p| {
            let (e, stored) = current_e_licence::with_licence(conn, p.holder_licence()?)?;
            Ok(codes::issue_for(
                conn,
                &app.keys.current(),
                purpose,
                &e,
                &stored,
                app.code_moment(),
            )?)
        })
        .await?;
    Ok(web::Json(code.into()))
}

/// The photo on the holder's e-licence.
#[utoipa::path(tag = "holder", operation_id = "getMyELicencePhoto", security(("bearer" = [])), responses(
    (status = 200, content(("image/jpeg"), ("image/png")), description = "The photo"),
    (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`: none was ever issued"),
    (status = 410, body = ErrorEnvelopeDoc, description = "`e_licence_superseded`: a licence change ended it; apply again (`details`)"),
))]
#[get("/me/e-licence/photo")]
pub async fn photo(
    state: web::Data<AppState>,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let (bytes, media_type) = state
        .authorized(token, move |conn, p| {
            let e = current_e_licence::of(conn, p.holder_licence()?)?;
            e_licences::photo(conn, &e.id)?.ok_or(ApiError::ELicenceNotFound)
        })
        .await?;
    Ok(photo_response(bytes, media_type))
}
