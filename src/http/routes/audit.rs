//! The verification audit, paged oldest first with a keyset cursor.

use crate::http::error::ApiError;
use crate::http::extract::BearerToken;
use crate::http::paging::admin_page;
use crate::http::state::AppState;
use crate::storage::audit::{self, AuditFilter, AuditRow};
use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only scans by this officer token id.
    pub officer: Option<String>,
    pub e_licence: Option<String>,
    pub valid: Option<bool>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// The `next` cursor of the previous page.
    pub after: Option<i64>,
    /// Entries on the page; 100 when absent.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    pub verified_at: DateTime<Utc>,
    pub officer_token_id: String,
    pub terminal_label: Option<String>,
    pub method: String,
    pub e_licence_id: Option<String>,
    pub valid: bool,
    pub reasons: Vec<String>,
    /// The `jti` of the scanned code, when it was one of ours.
    pub jti: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<AuditEntry>,
    /// Pass as `after` for the next page; null when this page is the last.
    pub next: Option<i64>,
}

/// Every scan verified online, valid or not, oldest first.
#[utoipa::path(tag = "admin", operation_id = "listVerificationAudit", security(("bearer" = [])),
    params(AuditQuery), responses((status = 200, body = AuditPage)))]
#[get("/audit/verifications")]
pub async fn verifications(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<AuditQuery>,
) -> Result<web::Json<AuditPage>, ApiError> {
    let q = query.into_inner();
    let page = admin_page(
        &state,
        token,
        q.limit,
        move |conn, limit| {
            audit::page(
                conn,
                &AuditFilter {
                    officer_token_id: q.officer,
                    e_licence_id: q.e_licence,
                    valid: q.valid,
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
    Ok(web::Json(AuditPage {
        items: page.items,
        next: page.next,
    }))
}

impl From<AuditRow> for AuditEntry {
    fn from(r: AuditRow) -> Self {
        AuditEntry {
            id: r.id,
            verified_at: r.verified_at.and_utc(),
            officer_token_id: r.officer_token_id,
            terminal_label: r.terminal_label,
            method: r.method,
            e_licence_id: r.e_licence_id,
            valid: r.valid,
            reasons: r
                .reasons
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            jti: r.jti,
        }
    }
}
