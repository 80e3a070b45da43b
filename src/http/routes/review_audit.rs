//! The review audit (claims, releases, decisions), paged oldest first with a keyset cursor in
//! the same way as the verification audit.

use crate::http::error::ApiError;
use crate::http::extract::BearerToken;
use crate::http::paging::admin_page;
use crate::http::state::AppState;
use crate::storage::submissions::{self, ReviewAuditFilter, ReviewAuditRow};
use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::domain::submission::ReviewAction;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ReviewAuditQuery {
    /// Only actions by this reviewer token id.
    pub reviewer: Option<String>,
    /// Only actions on this submission.
    pub submission: Option<String>,
    #[param(inline)]
    pub action: Option<ReviewAction>,
    /// From this instant (inclusive).
    pub from: Option<DateTime<Utc>>,
    /// Until this instant (exclusive).
    pub to: Option<DateTime<Utc>>,
    /// The `next` cursor of the previous page.
    pub after: Option<i64>,
    /// Entries on the page; 100 when absent.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewAuditEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub reviewer_token_id: String,
    pub submission_id: String,
    pub action: ReviewAction,
    /// The rejection reason code.
    pub reason: Option<String>,
    /// The note the holder was shown with a rejection.
    pub note: Option<String>,
}

impl From<ReviewAuditRow> for ReviewAuditEntry {
    fn from(r: ReviewAuditRow) -> Self {
        ReviewAuditEntry {
            id: r.id,
            at: r.at.and_utc(),
            reviewer_token_id: r.reviewer_token_id,
            submission_id: r.submission_id,
            action: r.action,
            reason: r.reason,
            note: r.note,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewAuditPage {
    pub items: Vec<ReviewAuditEntry>,
    /// Pass as `after` for the next page; null when this page is the last.
    pub next: Option<i64>,
}

/// Every claim, release and decision of the photo review, oldest first.
#[utoipa::path(tag = "admin", operation_id = "listReviewAudit", security(("bearer" = [])),
    params(ReviewAuditQuery), responses((status = 200, body = ReviewAuditPage)))]
#[get("/audit/reviews")]
pub async fn reviews(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<ReviewAuditQuery>,
) -> Result<web::Json<ReviewAuditPage>, ApiError> {
    let q = query.into_inner();
    let page = admin_page(
        &state,
        token,
        q.limit,
        move |conn, limit| {
            submissions::audit_page(
                conn,
                &ReviewAuditFilter {
                    reviewer_token_id: q.reviewer,
                    submission_id: q.submission,
                    action: q.action,
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
    Ok(web::Json(ReviewAuditPage {
        items: page.items,
        next: page.next,
    }))
}
