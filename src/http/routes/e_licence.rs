//! The holder's e-licence: issue it, read it with a fresh display code, fetch a code, and the
//! photo. Like every `/me` route, the licence comes from the token, never from the request.

use crate::auth::Principal;
use crate::domain::photo_rules::precheck_message;
use crate::domain::purpose::Purpose;
use crate::domain::registry_event::SupersedeReason;
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::photo_work::{photo_on_file_changing, prepare_photo_on_file};
use crate::http::state::AppState;
use crate::http::upload::is_multipart;
use crate::http::views::{reason_view, DisplayCodeView, ELicenceView, LicenceDocument, ReasonView};
use crate::i18n::Lang;
use crate::service::codes;
use crate::service::issuance::{self, IssueError};
use crate::service::photo_review::Purpose as PhotoPurpose;
use crate::storage::e_licences::{self, ELicenceRow};
use crate::storage::licences::{self, StoredLicence};
use crate::storage::{registry_events, DbConn};
use actix_web::http::header;
use actix_web::{get, post, web, FromRequest, HttpRequest, HttpResponse};
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

/// The holder's current e-licence and licence; 404 when none was ever issued, 410 when the
/// newest was superseded by a licence change (apply again).
pub(super) fn current(
    conn: &mut DbConn,
    p: &Principal,
) -> Result<(ELicenceRow, StoredLicence), ApiError> {
    let number = p.holder_licence()?;
    let e = match e_licences::current_for(conn, number.as_str())? {
        Some(e) => e,
        None => return Err(no_current(conn, number.as_str())?),
    };
    let stored = licences::find(conn, number)?.ok_or(ApiError::LicenceNotFound)?;
    Ok((e, stored))
}

/// Why a licence has no current e-licence: never issued (404), or superseded (410).
pub(super) fn no_current(conn: &mut DbConn, number: &str) -> Result<ApiError, ApiError> {
    Ok(match e_licences::latest_for(conn, number)? {
        Some(e) if !e.is_current() => ApiError::ELicenceSuperseded(
            e.superseded_reason
                .as_deref()
                .and_then(SupersedeReason::parse),
        ),
        _ => ApiError::ELicenceNotFound,
    })
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
        return Ok(super::photo_upload::submit_upload(
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

/// The multipart form of an upload, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PhotoUpload)]
#[allow(dead_code)]
pub struct PhotoUploadDoc {
    source: PhotoSourceDoc,
    /// The JPEG or PNG, at most 5 MB.
    #[schema(format = Binary, value_type = String)]
    photo: Vec<u8>,
}

/// Where an uploaded photo comes from, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = PhotoSource)]
#[allow(dead_code)]
enum PhotoSourceDoc {
    /// 手机拍照
    Camera,
    /// 相册选择
    Album,
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
                    other => other.map_err(|e| issue_error(e, lang))?,
                };
                if issued.created {
                    tracing::info!(licence = %number.masked(), e_licence = %issued.e_licence.id, "e-licence generated");
                }
                let stored = licences::find(conn, &number)?.ok_or(ApiError::LicenceNotFound)?;
                Ok(Ok((issued.created, view(&app, conn, issued.e_licence, &stored, lang)?)))
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

fn issue_error(e: IssueError, lang: Lang) -> ApiError {
    match e {
        IssueError::LicenceNotFound => ApiError::LicenceNotFound,
        IssueError::PhotoRequired => ApiError::PhotoRequired,
        IssueError::PhotoOnFileUnusable(codes) => ApiError::PhotoOnFileUnusable(
            codes
                .into_iter()
                .map(|c| ReasonView {
                    code: c,
                    message: precheck_message(c, lang).to_owned(),
                })
                .collect(),
        ),
        IssueError::NotEligible(reasons) => {
            ApiError::NotEligible(reasons.iter().map(|r| reason_view(r, lang)).collect())
        }
        IssueError::PhotoNotPrepared => photo_on_file_changing(),
        IssueError::Storage(s) => s.into(),
    }
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
            let (e, stored) = current(conn, &p)?;
            view(&app, conn, e, &stored, lang)
        })
        .await?;
    Ok(web::Json(view))
}

/// `?purpose=`: what a display code is for; roadside when absent.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PurposeQuery {
    /// roadside (police: the whole licence, the default), or rental, insurance, employment
    /// (partners: name, classes, validity, verdict and expiry only).
    pub purpose: Option<Purpose>,
}

impl PurposeQuery {
    pub fn purpose(&self) -> Purpose {
        self.purpose.unwrap_or_default()
    }
}

/// When a display code for this app is signed and how long it lives.
pub(super) fn moment(app: &AppState) -> codes::Moment {
    codes::Moment {
        today: app.clock.today(),
        now: app.clock.now(),
        ttl: app.code_ttl,
    }
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
            let (e, stored) = current(conn, &p)?;
            Ok(codes::issue_for(
                conn,
                &app.keys.current(),
                purpose,
                &e,
                &stored,
                moment(&app),
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
            let number = p.holder_licence()?;
            let e = match e_licences::current_for(conn, number.as_str())? {
                Some(e) => e,
                None => return Err(no_current(conn, number.as_str())?),
            };
            e_licences::photo(conn, &e.id)?.ok_or(ApiError::ELicenceNotFound)
        })
        .await?;
    Ok(photo_response(bytes, media_type))
}
