//! The holder's own licence. No route here takes a licence number: the holder's token names
//! the one licence it may see, so another holder's data is unreachable by construction.

use crate::domain::eligibility::evaluate;
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::review_views::{ApplicationView, NotificationPage};
use crate::http::state::AppState;
use crate::http::views::{EligibilityView, LicenceDocument};
use crate::i18n::Lang;
use crate::storage::{e_licences, notifications as outbox, registry_events, submissions};
use actix_web::{get, web};

/// The holder's licence: front page, secondary page, live status and class explanations.
#[utoipa::path(tag = "holder", operation_id = "getMyLicence", security(("bearer" = [])), responses(
    (status = 200, body = LicenceDocument),
))]
#[get("/me/licence")]
pub async fn get_licence(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
) -> Result<web::Json<LicenceDocument>, ApiError> {
    let today = state.clock.today();
    let (stored, record) = state
        .holder_licence(token, move |conn, _, stored| {
            let record = registry_events::driving_record(conn, &stored.licence)?;
            Ok((stored, record))
        })
        .await?;
    Ok(web::Json(LicenceDocument::new(
        &stored, &record, today, lang,
    )))
}

/// May this licence get an e-licence today? Every reason that stands in the way.
#[utoipa::path(tag = "holder", operation_id = "getMyEligibility", security(("bearer" = [])), responses(
    (status = 200, body = EligibilityView),
))]
#[get("/me/eligibility")]
pub async fn get_eligibility(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
) -> Result<web::Json<EligibilityView>, ApiError> {
    let today = state.clock.today();
    let stored = state
        .holder_licence(token, |_, _, stored| Ok(stored))
        .await?;
    let eligibility = evaluate(&stored.licence, today);
    Ok(web::Json(EligibilityView::new(
        &eligibility,
        lang,
        today,
        stored.synced_at,
    )))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NotificationsQuery {
    /// The `next` of the previous page: older notifications than this id.
    pub before: Option<i64>,
    /// Notifications on the page; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// What the holder was told (photo approved or rejected, e-licence superseded…), newest
/// first: the same outbox the SMS and push gateways read.
#[utoipa::path(tag = "holder", operation_id = "listMyNotifications", security(("bearer" = [])),
    params(NotificationsQuery), responses((status = 200, body = NotificationPage)))]
#[get("/me/notifications")]
pub async fn notifications(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<NotificationsQuery>,
) -> Result<web::Json<NotificationPage>, ApiError> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::InvalidPath("limit must be 1 to 100".into()));
    }
    let page = state
        .authorized_reads(token, move |conn, p| {
            let number = p.holder_licence()?;
            let rows = outbox::for_licence(conn, number.as_str(), q.before, limit)?;
            let next = (rows.len() as i64 == limit)
                .then(|| rows.last().map(|r| r.id))
                .flatten();
            Ok(NotificationPage {
                items: rows.into_iter().map(Into::into).collect(),
                next,
            })
        })
        .await?;
    Ok(web::Json(page))
}

/// The holder's newest photo application: waiting for review (with its deadline), approved,
/// or rejected with the reason. When a licence change (class, validity, issuing authority)
/// superseded the e-licence and nothing was submitted since: state `apply_again` with the
/// reason.
#[utoipa::path(tag = "holder", operation_id = "getMyApplication", security(("bearer" = [])), responses(
    (status = 200, body = ApplicationView),
    (status = 404, body = ErrorEnvelopeDoc, description = "`submission_not_found`: nothing was ever submitted"),
))]
#[get("/me/e-licence/application")]
pub async fn application(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
) -> Result<web::Json<ApplicationView>, ApiError> {
    let view = state
        .authorized_reads(token, move |conn, p| {
            let number = p.holder_licence()?;
            let submission = submissions::latest_for(conn, number.as_str())?;
            // The newest e-licence superseded means none is current (a new one would be newer).
            if let Some(e) = e_licences::latest_for(conn, number.as_str())? {
                let ended = e.superseded_at.filter(|_| !e.is_current());
                if ended.is_some_and(|at| submission.as_ref().is_none_or(|s| s.submitted_at < at)) {
                    return Ok(ApplicationView::apply_again(e, lang));
                }
            }
            submission
                .map(|row| ApplicationView::new(row, lang))
                .ok_or(ApiError::SubmissionNotFound)
        })
        .await?;
    Ok(web::Json(view))
}
