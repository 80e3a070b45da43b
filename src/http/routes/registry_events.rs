//! Live registry changes (admin): send one event for a licence, and read back the licence's
//! events and e-licences. Nothing here deletes: both histories are kept for good.

use crate::domain::eligibility::evaluate;
use crate::domain::licence::LicenceNumber;
use crate::domain::record::FieldError;
use crate::domain::registry_event::RegistryEvent;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::licence_path::{LicencePath, NumberPath};
use crate::http::paging::next_cursor;
use crate::http::registry_views::{ELicencePage, EventPage, EventResult};
use crate::http::state::AppState;
use crate::http::views::EligibilityView;
use crate::i18n::Lang;
use crate::service::lifecycle::{self, Origin, Source};
use crate::storage::e_licences::{self};
use crate::storage::registry_events::{self};
use crate::storage::{licences, DbConn};
use actix_web::{get, post, web};
use serde::Deserialize;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct HistoryQuery {
    /// The `next` of the previous page.
    pub before: Option<i64>,
    /// Items on the page; 20 when absent.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

impl HistoryQuery {
    fn limit(&self) -> Result<i64, ApiError> {
        let limit = self.limit.unwrap_or(20);
        if (1..=100).contains(&limit) {
            Ok(limit)
        } else {
            Err(ApiError::InvalidPath("limit must be 1 to 100".into()))
        }
    }
}

/// Apply one registry change to a licence, with its effects, in one transaction. States and
/// points show at once in the document, new codes and online verification; a class,
/// validity or authority change supersedes the current e-licence (its codes verify as
/// `superseded`, the holder applies again). The holder's outbox hears of it. An event that
/// changes nothing (a state set twice) answers `changed: false` and is not recorded.
#[utoipa::path(tag = "admin", operation_id = "postLicenceEvent", security(("bearer" = [])),
    params(NumberPath),
    request_body = RegistryEvent,
    responses(
        (status = 200, body = EventResult),
        (status = 404, body = ErrorEnvelopeDoc, description = "`licence_not_found`"),
        (status = 422, body = ErrorEnvelopeDoc, description = "`invalid_event`, with every field error in `details`"),
    ))]
#[post("/licences/{number}/events")]
pub async fn post_event(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    LicencePath(number): LicencePath,
    body: web::Json<serde_json::Value>,
) -> Result<web::Json<EventResult>, ApiError> {
    let event: RegistryEvent = serde_json::from_value(body.into_inner()).map_err(|e| {
        ApiError::InvalidEvent(vec![FieldError {
            field: "event",
            code: "invalid_format",
            message: e.to_string(),
        }])
    })?;
    let app = state.get_ref().clone();
    let result = state
        .authorized(token, move |conn, p| {
            p.require(Role::Admin)?;
            let now = app.clock.now();
            let origin = Origin {
                source: Source::Api,
                actor: Some(&p.token_id),
            };
            let (applied, licence) = lifecycle::apply_event(conn, &number, &event, origin, now)?;
            tracing::info!(
                licence = %number.masked(),
                kind = event.kind(),
                changed = applied.effects.changed,
                superseded = applied.effects.superseded_e_licence.is_some(),
                "registry event applied"
            );
            let today = app.clock.today();
            Ok(EventResult {
                applied: applied.into(),
                eligibility: EligibilityView::new(&evaluate(&licence, today), lang, today, now),
            })
        })
        .await?;
    Ok(web::Json(result))
}

/// The licence's registry events, newest first: every change applied, from the API, from
/// re-sent records and from imports.
#[utoipa::path(tag = "admin", operation_id = "listLicenceEvents", security(("bearer" = [])),
    params(NumberPath, HistoryQuery),
    responses(
        (status = 200, body = EventPage),
        (status = 404, body = ErrorEnvelopeDoc, description = "`licence_not_found`"),
    ))]
#[get("/licences/{number}/events")]
pub async fn list_events(
    state: web::Data<AppState>,
    token: BearerToken,
    LicencePath(number): LicencePath,
    query: web::Query<HistoryQuery>,
) -> Result<web::Json<EventPage>, ApiError> {
    let (items, next) = history_page(&state, token, number, query.into_inner(), |conn, n, q| {
        let rows = registry_events::for_licence(conn, n, q.before, q.limit()?)?;
        Ok((
            next_cursor(rows.last().map(|r| r.id), rows.len(), q.limit()?),
            rows,
        ))
    })
    .await?;
    Ok(web::Json(EventPage { items, next }))
}

/// A page's next cursor and its rows.
type Page<R> = (Option<i64>, Vec<R>);

/// One page of one of a licence's histories, for admins: `load` reads it.
async fn history_page<R, V>(
    state: &AppState,
    token: BearerToken,
    number: LicenceNumber,
    q: HistoryQuery,
    load: fn(&mut DbConn, &str, &HistoryQuery) -> Result<Page<R>, ApiError>,
) -> Result<(Vec<V>, Option<i64>), ApiError>
where
    R: Into<V> + Send + 'static,
    V: Send + 'static,
{
    q.limit()?;
    state
        .authorized_reads(token, move |conn, p| {
            p.require(Role::Admin)?;
            if !licences::exists(conn, &number)? {
                return Err(ApiError::LicenceNotFound);
            }
            let (next, rows) = load(conn, number.as_str(), &q)?;
            Ok((rows.into_iter().map(Into::into).collect(), next))
        })
        .await
}

/// The licence's e-licences, newest first: the current one and every superseded one, with
/// when and why it was superseded.
#[utoipa::path(tag = "admin", operation_id = "listLicenceELicences", security(("bearer" = [])),
    params(NumberPath, HistoryQuery),
    responses(
        (status = 200, body = ELicencePage),
        (status = 404, body = ErrorEnvelopeDoc, description = "`licence_not_found`"),
    ))]
#[get("/licences/{number}/e-licences")]
pub async fn list_e_licences(
    state: web::Data<AppState>,
    token: BearerToken,
    LicencePath(number): LicencePath,
    query: web::Query<HistoryQuery>,
) -> Result<web::Json<ELicencePage>, ApiError> {
    let (items, next) = history_page(&state, token, number, query.into_inner(), |conn, n, q| {
        let rows = e_licences::history(conn, n, q.before, q.limit()?)?;
        Ok((
            next_cursor(rows.last().map(|r| r.serial), rows.len(), q.limit()?),
            rows,
        ))
    })
    .await?;
    Ok(web::Json(ELicencePage { items, next }))
}
