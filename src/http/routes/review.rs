//! The review queue (role `reviewer`): list, claim, decide, release; the photos to compare;
//! queue statistics. Reviewers see the photo and its checks, never the holder's other data.

use crate::auth::Principal;
use crate::domain::photo_rules::RejectReason;
use crate::domain::role::Role;
use crate::domain::submission::SubmissionState;
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::photo_work::on_photo_pool;
use crate::http::responses::photo_response;
use crate::http::review_views::{
    QueueItem, QueuePage, QueueStats, ReasonCodeView, ReviewerDecisions,
};
use crate::http::state::AppState;
use crate::i18n::Lang;
use crate::service::photo_review::{self, ReferencePhoto, Verdict};
use crate::storage::{photos, submissions, DbConn};
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use std::borrow::Cow;
use utoipa::openapi::schema::{
    AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::RefOr;

fn reviewer(p: &Principal) -> Result<(), ApiError> {
    Ok(p.require(Role::Reviewer)?)
}

const PAGE_DEFAULT: i64 = 50;
const PAGE_MAX: i64 = 200;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct QueueQuery {
    /// The `next` of the previous page.
    #[param(pattern = "^[0-9]{1,16}~[0-9A-Za-z_]+$")]
    pub after: Option<String>,
    /// Items on the page; 50 when absent.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// `next` cursors: the last item's deadline (µs since the epoch) and id.
fn cursor(item: &QueueItem) -> String {
    format!("{}~{}", item.deadline.timestamp_micros(), item.id)
}

/// A cursor as `next` made it, and as the document's pattern (`QueueQuery::after`) says: 1 to
/// 16 digits (no sign), `~`, a submission id (`ps_` and hex digits).
fn parse_cursor(s: &str) -> Result<(DateTime<Utc>, String), ApiError> {
    s.split_once('~')
        .filter(|(micros, id)| {
            (1..=16).contains(&micros.len())
                && micros.bytes().all(|b| b.is_ascii_digit())
                && !id.is_empty()
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .and_then(|(micros, id)| {
            let d = DateTime::from_timestamp_micros(micros.parse().ok()?)?;
            Some((d, id.to_owned()))
        })
        .ok_or_else(|| ApiError::InvalidPath(format!("after: not a queue cursor: {s:?}")))
}

/// The waiting photos, oldest deadline first, with their pre-checks and claim state.
#[utoipa::path(tag = "reviewer", operation_id = "listReviewQueue", security(("bearer" = [])),
    params(QueueQuery), responses((status = 200, body = QueuePage)))]
#[get("/review/queue")]
pub async fn queue(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<QueueQuery>,
) -> Result<web::Json<QueuePage>, ApiError> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(PAGE_DEFAULT);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(ApiError::InvalidPath(format!(
            "limit must be 1 to {PAGE_MAX}"
        )));
    }
    let after = q.after.as_deref().map(parse_cursor).transpose()?;
    let now = state.clock.now();
    let page = state
        .authorized_reads(token, move |conn, p| {
            reviewer(&p)?;
            let rows = submissions::queue(conn, after, limit)?;
            let full = rows.len() as i64 == limit;
            let items: Vec<QueueItem> = rows
                .into_iter()
                .map(|r| QueueItem::new(r, &p.token_id, now))
                .collect();
            let next = if full { items.last().map(cursor) } else { None };
            Ok(QueuePage { items, next })
        })
        .await?;
    Ok(web::Json(page))
}

/// Claims an item: a lease of ten minutes, after which an abandoned item returns to the
/// queue. Claiming one's own item again renews the lease.
#[utoipa::path(tag = "reviewer", operation_id = "claimSubmission", security(("bearer" = [])),
    params(("id" = String, Path, description = "Submission id")),
    responses(
        (status = 200, body = QueueItem),
        (status = 404, body = ErrorEnvelopeDoc, description = "`submission_not_found`"),
        (status = 409, body = ErrorEnvelopeDoc, description = "`claimed_by_another`, `already_decided`"),
    ))]
#[post("/review/submissions/{id}/claim")]
pub async fn claim(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<web::Json<QueueItem>, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    // Should this request be cut short after the claim commits, shutdown gives it back.
    let (ticket, recorder) = state.claims_in_flight.open(&id);
    let item = state
        .authorized(token, move |conn, p| {
            reviewer(&p)?;
            let row = photo_review::claim(conn, &id, &p, now, photo_review::DEFAULT_LEASE)
                .map_err(ApiError::from)?;
            if let Some(until) = row.claim_expires_at {
                recorder.claimed(&p.token_id, until);
            }
            Ok(QueueItem::new(row, &p.token_id, now))
        })
        .await?;
    ticket.answered();
    Ok(web::Json(item))
}

/// Gives one's claim back to the queue at once.
#[utoipa::path(tag = "reviewer", operation_id = "releaseSubmission", security(("bearer" = [])),
    params(("id" = String, Path, description = "Submission id")),
    responses(
        (status = 204, description = "Released"),
        (status = 404, body = ErrorEnvelopeDoc, description = "`submission_not_found`"),
        (status = 409, body = ErrorEnvelopeDoc, description = "`claim_required`, `claimed_by_another`, `already_decided`"),
    ))]
#[post("/review/submissions/{id}/release")]
pub async fn release(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let now = state.clock.now();
    state
        .authorized(token, move |conn, p| {
            reviewer(&p)?;
            photo_review::release(conn, &id, &p, now).map_err(ApiError::from)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Reject,
}

/// `approve`, or `reject` with a reason code (`GET /api/v1/review/reasons`) and a note.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    pub decision: DecisionKind,
    pub reason: Option<String>,
    /// Shown to the holder; at most 500 characters.
    pub note: Option<String>,
}

const NOTE_MAX_CHARS: usize = 500;

/// The verdict a request asks for. Exactly what `DecisionRequestDoc` documents: an approval
/// has no reason and no note (not even a blank one), a rejection a known reason code; a note
/// is at most 500 characters as sent, and a blank one is no note.
fn verdict(body: DecisionRequest) -> Result<Verdict, ApiError> {
    if body
        .note
        .as_ref()
        .is_some_and(|n| n.chars().count() > NOTE_MAX_CHARS)
    {
        return Err(ApiError::InvalidBody(format!(
            "note: at most {NOTE_MAX_CHARS} characters"
        )));
    }
    match (body.decision, body.reason, body.note) {
        (DecisionKind::Approve, None, None) => Ok(Verdict::Approve),
        (DecisionKind::Approve, _, _) => Err(ApiError::InvalidBody(
            "an approval takes no reason and no note".into(),
        )),
        (DecisionKind::Reject, Some(r), note) => Ok(Verdict::Reject {
            reason: r.parse::<RejectReason>().map_err(ApiError::InvalidBody)?,
            note: note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
        }),
        (DecisionKind::Reject, None, _) => Err(ApiError::InvalidBody(
            "a rejection needs a reason code".into(),
        )),
    }
}

/// `DecisionRequest` as the document states it: the derived schema cannot say that an
/// approval takes no reason and no note, nor which reason codes there are.
pub struct DecisionRequestDoc;

impl utoipa::PartialSchema for DecisionRequestDoc {
    fn schema() -> RefOr<Schema> {
        let decision = |code: &str| {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some([code.to_owned()]))
        };
        let null = || ObjectBuilder::new().schema_type(Type::Null);
        let approve = ObjectBuilder::new()
            .schema_type(Type::Object)
            .title(Some("Approve"))
            .property("decision", decision("approve"))
            .required("decision")
            .property("reason", null())
            .property("note", null())
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        let reasons = RejectReason::ALL.map(|r| r.code());
        let reject = ObjectBuilder::new()
            .schema_type(Type::Object)
            .title(Some("Reject"))
            .property("decision", decision("reject"))
            .required("decision")
            .property(
                "reason",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .enum_values(Some(reasons))
                    .description(Some("A code of `GET /api/v1/review/reasons`.")),
            )
            .required("reason")
            .property(
                "note",
                ObjectBuilder::new()
                    .schema_type(SchemaType::from_iter([Type::String, Type::Null]))
                    .max_length(Some(NOTE_MAX_CHARS))
                    .description(Some("Shown to the holder; a blank note is none.")),
            )
            .additional_properties(Some(AdditionalProperties::FreeForm(false)));
        OneOfBuilder::new()
            .description(Some(
                "`approve`, or `reject` with a reason code (`GET /api/v1/review/reasons`) and a note.",
            ))
            .item(approve)
            .item(reject)
            .into()
    }
}

impl utoipa::ToSchema for DecisionRequestDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("DecisionRequest")
    }
}

/// Decides a claimed item, once. Approval generates the e-licence (or puts the photo on the
/// current one); rejection tells the holder why. Both are audited and notified.
#[utoipa::path(tag = "reviewer", operation_id = "decideSubmission", security(("bearer" = [])),
    params(("id" = String, Path, description = "Submission id")), request_body = DecisionRequestDoc,
    responses(
        (status = 200, body = crate::http::review_views::ApplicationView),
        (status = 404, body = ErrorEnvelopeDoc, description = "`submission_not_found`"),
        (status = 409, body = ErrorEnvelopeDoc, description = "`claim_required`, `claimed_by_another`, `already_decided`"),
        (status = 422, body = ErrorEnvelopeDoc, description = "`invalid_body`: also an approval with a reason or note, a rejection without a reason, an unknown reason code, a note over 500 characters"),
    ))]
#[post("/review/submissions/{id}/decision")]
pub async fn decide(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    path: web::Path<String>,
    body: web::Json<DecisionRequest>,
) -> Result<web::Json<crate::http::review_views::ApplicationView>, ApiError> {
    let id = path.into_inner();
    let verdict = verdict(body.into_inner())?;
    let (today, now) = (state.clock.today(), state.clock.now());
    let decided = state
        .authorized(token, move |conn, p| {
            reviewer(&p)?;
            photo_review::decide(conn, &id, &p, &verdict, today, now).map_err(ApiError::from)
        })
        .await?;
    if let Some(e) = &decided.e_licence_id {
        tracing::info!(submission = %decided.submission.id, e_licence = %e, "photo approved");
    }
    Ok(web::Json(crate::http::review_views::ApplicationView::new(
        decided.submission,
        lang,
    )))
}

fn own_submission(
    conn: &mut DbConn,
    p: &Principal,
    id: &str,
) -> Result<submissions::SubmissionRow, ApiError> {
    reviewer(p)?;
    submissions::find(conn, id)?.ok_or(ApiError::SubmissionNotFound)
}

/// The submitted photo (the normalised copy: the only one stored).
#[utoipa::path(tag = "reviewer", operation_id = "getSubmissionPhoto", security(("bearer" = [])),
    params(("id" = String, Path, description = "Submission id")),
    responses(
        (status = 200, content_type = "image/jpeg", description = "The photo"),
        (status = 404, body = ErrorEnvelopeDoc, description = "`submission_not_found`, `photo_not_found`"),
    ))]
#[get("/review/submissions/{id}/photo")]
pub async fn photo(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (bytes, media_type) = state
        .authorized_reads(token, move |conn, p| {
            let s = own_submission(conn, &p, &id)?;
            photos::get(conn, &s.photo_sha256)?.ok_or(ApiError::PhotoNotFound)
        })
        .await?;
    Ok(photo_response(bytes, media_type))
}

/// The photo to compare with: the current e-licence's for a photo change, else the photo on
/// file in the registry, normalised like every photo the service serves (330×480 JPEG, no
/// metadata).
#[utoipa::path(tag = "reviewer", operation_id = "getSubmissionReferencePhoto", security(("bearer" = [])),
    params(("id" = String, Path, description = "Submission id")),
    responses(
        (status = 200, content_type = "image/jpeg", description = "The reference photo"),
        (status = 404, body = ErrorEnvelopeDoc, description = "`submission_not_found`, `photo_not_found`"),
    ))]
#[get("/review/submissions/{id}/reference-photo")]
pub async fn reference_photo(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let reference = state
        .authorized_reads(token, move |conn, p| {
            let s = own_submission(conn, &p, &id)?;
            photo_review::reference_photo(conn, &s)
                .map_err(ApiError::from)?
                .ok_or(ApiError::PhotoNotFound)
        })
        .await?;
    match reference {
        ReferencePhoto::Ready(bytes, media_type) => Ok(photo_response(bytes, media_type)),
        // A read path: normalised on the photo pool, not remembered (issuance remembers it).
        ReferencePhoto::OnFileUnprepared(original) => {
            let prepared = on_photo_pool(&state, move || crate::photo::prepare(&original)).await?;
            if prepared.jpeg.is_empty() {
                return Err(ApiError::PhotoNotFound);
            }
            Ok(photo_response(prepared.jpeg, "image/jpeg".to_owned()))
        }
    }
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatsQuery {
    /// Count decisions from this instant (default: the last 24 hours).
    pub since: Option<DateTime<Utc>>,
}

/// Queue statistics: pending, overdue, the oldest deadline, decisions per reviewer.
#[utoipa::path(tag = "reviewer", operation_id = "getReviewStats", security(("bearer" = [])),
    params(StatsQuery), responses((status = 200, body = QueueStats)))]
#[get("/review/stats")]
pub async fn stats(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<StatsQuery>,
) -> Result<web::Json<QueueStats>, ApiError> {
    let now = state.clock.now();
    let since = query.since.unwrap_or(now - Duration::hours(24));
    let stats = state
        .authorized_reads(token, move |conn, p| {
            if p.role != Role::Admin {
                reviewer(&p)?;
            }
            let counts = submissions::counts(conn, now)?;
            let mut decisions: Vec<ReviewerDecisions> = Vec::new();
            for (by, decided, n) in submissions::decisions_by_reviewer(conn, since)? {
                if decisions.last().is_none_or(|d| d.reviewer_token_id != by) {
                    decisions.push(ReviewerDecisions {
                        reviewer_token_id: by,
                        approved: 0,
                        rejected: 0,
                    });
                }
                if let Some(d) = decisions.last_mut() {
                    match decided {
                        SubmissionState::Approved => d.approved += n,
                        SubmissionState::Rejected => d.rejected += n,
                        SubmissionState::PendingReview | SubmissionState::Superseded => {}
                    }
                }
            }
            Ok(QueueStats {
                pending: counts.pending,
                overdue: counts.overdue,
                oldest_deadline: counts.oldest_deadline.map(|d| d.and_utc()),
                since,
                decisions,
            })
        })
        .await?;
    Ok(web::Json(stats))
}

/// The rejection reasons a reviewer may give, with the message the holder will read.
#[utoipa::path(tag = "reviewer", operation_id = "listRejectReasons",
    responses((status = 200, body = Vec<ReasonCodeView>)))]
#[get("/review/reasons")]
pub async fn reject_reasons(lang: Lang) -> web::Json<Vec<ReasonCodeView>> {
    web::Json(
        RejectReason::ALL
            .into_iter()
            .map(|r| ReasonCodeView::new(r, lang))
            .collect(),
    )
}
