//! The counter (车辆管理所), role `clerk`: look up a licence of the clerk's own issuing
//! authority, and issue its e-licence on the holder's behalf with the photo on file or one
//! taken at the counter. Every action, refusals included, lands in the counter audit, which
//! admins page at `/api/v1/admin/audit/counter`.

use super::DEFAULT_JSON_LIMIT;
use crate::domain::e_licence::{ELicencePhotoSource, ELicenceState, IssuedVia};
use crate::domain::submission::{PhotoSource, SubmissionPurpose};
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::licence_path::{LicencePath, NumberPath};
use crate::http::paging::admin_page;
use crate::http::photo_intake::intake;
use crate::http::photo_work::{photo_on_file_changing, prepare_photo_on_file};
use crate::http::requests::{IssueRequest, PhotoChoice};
use crate::http::state::AppState;
use crate::http::upload::{is_multipart, read_counter_photo};
use crate::http::views::{precheck_view, EligibilityView, ReasonView};
use crate::i18n::Lang;
use crate::service::counter::{
    self, Clerk, CounterError, CounterIssued, CounterPhoto, CurrentELicence, Lookup, PhotoOnFile,
};
use crate::storage::counter_audit::{self, CounterAuditFilter, CounterAuditRow};
use crate::storage::submissions::SubmissionRow;
use actix_web::http::header;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;

/// The licence as the clerk needs it at the counter.
#[derive(Debug, Serialize, ToSchema)]
pub struct CounterLicenceSummary {
    pub licence_number: String,
    pub name: String,
    /// "M" or "F".
    pub sex: &'static str,
    pub birth_date: NaiveDate,
    pub classes: Vec<&'static str>,
    pub issuing_authority: String,
    pub valid_from: NaiveDate,
    /// `null` for long-term validity.
    pub valid_until: Option<NaiveDate>,
    pub points: u8,
    /// Registry state codes as the registry sent them.
    pub registry_states: Vec<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PhotoOnFileView {
    pub present: bool,
    /// `passed`, `failed`, `not_checked` (checked when first used) or `none` (no photo).
    pub prechecks: &'static str,
    /// The automatic checks the photo on file fails: it cannot be used, take one at the
    /// counter.
    pub failed_checks: Vec<ReasonView>,
}

impl PhotoOnFileView {
    fn new(p: PhotoOnFile, lang: Lang) -> Self {
        let (present, prechecks, failed) = match p {
            PhotoOnFile::None => (false, "none", Vec::new()),
            PhotoOnFile::NotChecked => (true, "not_checked", Vec::new()),
            PhotoOnFile::Passed => (true, "passed", Vec::new()),
            PhotoOnFile::Failed(codes) => (true, "failed", codes),
        };
        PhotoOnFileView {
            present,
            prechecks,
            failed_checks: failed.iter().map(|c| precheck_view(c, lang)).collect(),
        }
    }
}

/// The current e-licence, without its codes: the clerk never gets a code to show.
#[derive(Debug, Serialize, ToSchema)]
pub struct CounterELicenceView {
    pub e_licence_id: String,
    pub state: ELicenceState,
    pub generated_at: DateTime<Utc>,
    pub issued_via: IssuedVia,
    /// The clerk's token id when issued at the counter.
    pub issued_by: Option<String>,
    pub photo_source: ELicencePhotoSource,
}

impl From<CurrentELicence> for CounterELicenceView {
    fn from(e: CurrentELicence) -> Self {
        CounterELicenceView {
            generated_at: e.row.generated_at_utc(),
            e_licence_id: e.row.id,
            state: e.row.state,
            issued_via: e.issued_via,
            issued_by: e.issued_by,
            photo_source: e.row.photo_source,
        }
    }
}

/// A photo the holder sent from the app, waiting for remote review.
#[derive(Debug, Serialize, ToSchema)]
pub struct PendingSubmissionView {
    pub id: String,
    pub purpose: SubmissionPurpose,
    pub source: PhotoSource,
    pub submitted_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
}

impl From<SubmissionRow> for PendingSubmissionView {
    fn from(s: SubmissionRow) -> Self {
        PendingSubmissionView {
            submitted_at: s.submitted_at.and_utc(),
            deadline: s.deadline.and_utc(),
            id: s.id,
            purpose: s.purpose,
            source: s.source,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CounterLicenceView {
    pub licence: CounterLicenceSummary,
    /// Live eligibility with every reason, and when the licence was last synchronised.
    pub eligibility: EligibilityView,
    pub photo_on_file: PhotoOnFileView,
    pub e_licence: Option<CounterELicenceView>,
    /// Issuing at the counter supersedes it.
    pub pending_submission: Option<PendingSubmissionView>,
}

impl CounterLicenceView {
    fn new(found: Lookup, today: NaiveDate, lang: Lang) -> Self {
        let l = &found.licence.licence;
        let eligibility = crate::domain::eligibility::evaluate(l, today);
        CounterLicenceView {
            licence: CounterLicenceSummary {
                licence_number: l.number.as_str().to_owned(),
                name: l.name.clone(),
                sex: l.sex.code(),
                birth_date: l.birth_date,
                classes: l.classes.as_slice().iter().map(|c| c.code()).collect(),
                issuing_authority: l.issuing_authority.clone(),
                valid_from: l.valid_from,
                valid_until: l.valid_until,
                points: l.points,
                registry_states: l.states.iter().map(|s| s.code()).collect(),
            },
            eligibility: EligibilityView::new(&eligibility, lang, today, found.licence.synced_at),
            photo_on_file: PhotoOnFileView::new(found.photo_on_file, lang),
            e_licence: found.e_licence.map(Into::into),
            pending_submission: found.pending_submission.map(Into::into),
        }
    }
}

/// A licence of the clerk's authority: summary, live eligibility (every reason), the photo on
/// file and its pre-checks, the current e-licence and any photo waiting for remote review.
/// Another authority's licence is refused (403 `other_authority`); both are audited.
#[utoipa::path(tag = "clerk", operation_id = "getCounterLicence", security(("bearer" = [])),
    params(NumberPath),
    responses(
        (status = 200, body = CounterLicenceView),
        (status = 403, body = ErrorEnvelopeDoc, description = "`forbidden` (not a clerk), `other_authority`"),
        (status = 404, body = ErrorEnvelopeDoc, description = "`licence_not_found`"),
    ))]
#[get("/counter/licences/{number}")]
pub async fn licence(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    LicencePath(number): LicencePath,
) -> Result<web::Json<CounterLicenceView>, ApiError> {
    let (today, now) = (state.clock.today(), state.clock.now());
    let looked_up = number.clone();
    let mut found = state
        .authorized(token, move |conn, p| {
            let clerk = Clerk::of(&p)?;
            Ok(counter::look_up(conn, &clerk, &looked_up, now)?)
        })
        .await?;
    if found.photo_on_file == PhotoOnFile::NotChecked {
        // Never prepared: pre-checked now, once, on the photo pool, so the clerk sees it.
        prepare_photo_on_file(&state, number.clone()).await?;
        found.photo_on_file = state
            .db
            .run(move |conn| Ok::<_, ApiError>(counter::photo_on_file_now(conn, &number)?))
            .await?;
    }
    Ok(web::Json(CounterLicenceView::new(found, today, lang)))
}

/// What a counter issuance did.
#[derive(Debug, Serialize, ToSchema)]
pub struct CounterIssueView {
    /// `issue` (generated now) or `photo_change` (the counter photo went on the current one).
    pub action: &'static str,
    pub e_licence: CounterELicenceView,
    /// The holder's photo that was waiting for remote review: the counter decided instead.
    pub superseded_submission: Option<String>,
}

/// The multipart form of a counter photo, for the OpenAPI document.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CounterPhoto)]
#[allow(dead_code)]
pub struct CounterPhotoDoc {
    /// The JPEG or PNG taken at the counter, at most 5 MB.
    #[schema(format = Binary, value_type = String)]
    photo: Vec<u8>,
}

/// Reads `{"photo":"on_file"}` by hand (not the extractor), so that a refused body is audited
/// like any other refusal.
async fn read_choice(req: &HttpRequest, payload: web::Payload) -> Result<PhotoChoice, ApiError> {
    let json = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if !json {
        return Err(ApiError::UnsupportedMediaType);
    }
    let bytes = payload
        .to_bytes_limited(DEFAULT_JSON_LIMIT)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?
        .map_err(|e| match e.as_error() {
            Some(p) if crate::http::limits::body_deadline::is_deadline(p) => {
                ApiError::RequestTimeout
            }
            _ => ApiError::InvalidBody(e.to_string()),
        })?;
    let body: IssueRequest = serde_json::from_slice(&bytes).map_err(|e| {
        if e.is_data() {
            ApiError::InvalidBody(e.to_string())
        } else {
            ApiError::MalformedJson(e.to_string())
        }
    })?;
    Ok(body.photo)
}

/// The photo to issue with: the one on file, or the counter photo through the same intake as
/// an app upload (streaming limit, sniffing, bounded decoding, EXIF orientation,
/// normalisation, pre-checks), with the same refusals.
async fn counter_photo(
    state: &AppState,
    secret: &str,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<CounterPhoto, ApiError> {
    if !is_multipart(req) {
        let PhotoChoice::OnFile = read_choice(req, payload).await?;
        return Ok(CounterPhoto::OnFile);
    }
    // A counter photo costs what an app upload costs: the same budget per (clerk) token.
    state.uploads.check(secret)?;
    let bytes = read_counter_photo(req, payload).await?;
    let normalised = intake(state, bytes).await?;
    Ok(CounterPhoto::Taken {
        jpeg: normalised.jpeg,
    })
}

/// What the audit keeps of a refused photo or body.
fn refusal_detail(e: &ApiError) -> Option<Value> {
    match e {
        ApiError::PhotoRejected(failed) => Some(json!({
            "failed_checks": failed
        })),
        ApiError::PhotoUnreadable(why) | ApiError::PhotoTooLarge(why) => {
            Some(json!({ "reason": why.code() }))
        }
        _ => None,
    }
}

/// Issue the e-licence on the holder's behalf. JSON `{"photo":"on_file"}`: with the photo on
/// file (the same pre-checks as the app; 409 `e_licence_exists` when there is one already).
/// Multipart with the field `photo`: the photo taken at the counter, checked like an app
/// upload; the clerk's approval replaces remote review. With a current e-licence the counter
/// photo replaces its photo (200, its codes re-signed); otherwise the e-licence is generated
/// (201). A pending remote submission is superseded; the holder is notified.
#[utoipa::path(tag = "clerk", operation_id = "issueAtCounter", security(("bearer" = [])),
    params(NumberPath),
    request_body(content(
        (IssueRequest = "application/json"),
        (CounterPhotoDoc = "multipart/form-data"),
    )),
    responses(
        (status = 201, body = CounterIssueView, description = "Generated"),
        (status = 200, body = CounterIssueView, description = "The counter photo went on the current e-licence"),
        (status = 403, body = ErrorEnvelopeDoc, description = "`forbidden` (not a clerk), `other_authority`"),
        (status = 404, body = ErrorEnvelopeDoc, description = "`licence_not_found`"),
        (status = 409, body = ErrorEnvelopeDoc, description = "`e_licence_exists`, `photo_required`"),
        (status = 415, body = ErrorEnvelopeDoc, description = "`unsupported_photo_format`: the photo is not a JPEG or PNG"),
        (status = 422, body = ErrorEnvelopeDoc, description = "`not_eligible` (every reason in `details`), `photo_on_file_unusable`, `photo_rejected` (every failed check in `details`)"),
    ))]
#[post("/counter/licences/{number}/e-licence")]
pub async fn issue(
    state: web::Data<AppState>,
    token: BearerToken,
    LicencePath(number): LicencePath,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let (today, now) = (state.clock.today(), state.clock.now());
    // Before the body is read: a clerk of this licence's authority, the licence eligible.
    let admitted = number.clone();
    let secret = token.0.clone();
    let clerk = state
        .authorized(token, move |conn, p| {
            let clerk = Clerk::of(&p)?;
            counter::admit(conn, &clerk, &admitted, today, now)?;
            Ok(clerk)
        })
        .await?;
    let photo = match counter_photo(&state, &secret, &req, payload).await {
        Ok(photo) => photo,
        Err(refused) => {
            let (who, which, detail) = (clerk.clone(), number.clone(), refusal_detail(&refused));
            let code = refused.code();
            let audited = state
                .db
                .run(move |conn| {
                    counter::refuse(
                        conn,
                        &who,
                        &which,
                        counter::ISSUE,
                        code,
                        detail.as_ref(),
                        now,
                    )
                })
                .await;
            if let Err(e) = audited {
                tracing::error!(error = %e, "a refused counter photo could not be audited");
                return Err(e.into());
            }
            return Err(refused);
        }
    };
    let masked = number.masked();
    let mut done = None;
    // A photo on file that was never prepared is prepared on the photo pool between two
    // tries; once more means it changed meanwhile.
    for attempt in 0..2 {
        let (clerk, which, photo) = (clerk.clone(), number.clone(), photo.clone());
        let issued = state
            .db
            .run(move |conn| {
                Ok::<_, ApiError>(counter::issue(conn, &clerk, &which, &photo, today, now))
            })
            .await?;
        match issued {
            Err(CounterError::PhotoNotPrepared) if attempt == 0 => {
                prepare_photo_on_file(&state, number.clone()).await?
            }
            other => {
                done = Some(other?);
                break;
            }
        }
    }
    let done: CounterIssued = done.ok_or_else(photo_on_file_changing)?;
    let action = if done.created {
        counter::ISSUE
    } else {
        counter::PHOTO_CHANGE
    };
    tracing::info!(licence = %masked, e_licence = %done.e_licence.row.id, action, "counter issuance");
    let view = CounterIssueView {
        action,
        e_licence: done.e_licence.into(),
        superseded_submission: done.superseded_submission,
    };
    Ok(if done.created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(view))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct CounterAuditQuery {
    /// Only actions of this clerk token id.
    pub clerk: Option<String>,
    /// Only actions on this licence number.
    pub licence: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The `next` cursor of the previous page.
    pub after: Option<i64>,
    /// Entries on the page; 100 when absent.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CounterAuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub clerk_token_id: String,
    pub authority: String,
    /// lookup | issue | photo_change
    pub action: String,
    pub licence_number: String,
    /// `ok`, or the error code the clerk was answered with.
    pub outcome: String,
    /// What the action did or why it was refused; null when there is nothing to add.
    #[schema(value_type = Option<Object>)]
    pub detail: Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CounterAuditPage {
    pub items: Vec<CounterAuditEntry>,
    /// Pass as `after` for the next page; null when this page is the last.
    pub next: Option<i64>,
}

/// The counter audit, oldest first: every clerk action, refusals included.
#[utoipa::path(tag = "admin", operation_id = "listCounterAudit", security(("bearer" = [])),
    params(CounterAuditQuery), responses((status = 200, body = CounterAuditPage)))]
#[get("/audit/counter")]
pub async fn audit(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<CounterAuditQuery>,
) -> Result<web::Json<CounterAuditPage>, ApiError> {
    let q = query.into_inner();
    let page = admin_page(
        &state,
        token,
        q.limit,
        move |conn, limit| {
            counter_audit::page(
                conn,
                &CounterAuditFilter {
                    clerk_token_id: q.clerk,
                    licence_number: q.licence,
                    from: q.from,
                    to: q.to,
                    after_id: q.after,
                    limit,
                },
            )
        },
        |r| r.id,
    )
    .await?;
    Ok(web::Json(CounterAuditPage {
        items: page.items,
        next: page.next,
    }))
}

impl From<CounterAuditRow> for CounterAuditEntry {
    fn from(r: CounterAuditRow) -> Self {
        CounterAuditEntry {
            id: r.id,
            at: r.at.and_utc(),
            clerk_token_id: r.clerk_token_id,
            authority: r.authority,
            action: r.action,
            licence_number: r.licence_number,
            outcome: r.outcome,
            detail: r
                .detail
                .as_deref()
                .and_then(|d| serde_json::from_str(d).ok())
                .unwrap_or(Value::Null),
        }
    }
}
