//! Live registry changes (admin): send one event for a licence, and read back the licence's
//! events and e-licences. Nothing here deletes: both histories are kept for good.

use super::admin::{parse_number, NumberPath};
use crate::domain::eligibility::evaluate;
use crate::domain::record::FieldError;
use crate::domain::registry_event::RegistryEvent;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::state::AppState;
use crate::http::views::EligibilityView;
use crate::i18n::Lang;
use crate::service::lifecycle::{self, Applied, Effects, LifecycleError, Origin, Source};
use crate::storage::e_licences::{self, ELicenceRow};
use crate::storage::registry_events::{self, EventRow};
use crate::storage::{licences, DbConn};
use actix_web::{get, post, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// One event as applied: its id (null when it changed nothing and was not recorded), the
/// event, and what it did.
#[derive(Debug, Serialize, ToSchema)]
pub struct AppliedEventView {
    pub id: Option<i64>,
    pub event: RegistryEvent,
    pub effects: Effects,
}

impl From<Applied> for AppliedEventView {
    fn from(a: Applied) -> Self {
        AppliedEventView {
            id: a.id,
            event: a.event,
            effects: a.effects,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventResult {
    #[serde(flatten)]
    pub applied: AppliedEventView,
    /// The licence's live eligibility after the event.
    pub eligibility: EligibilityView,
}

/// An event as recorded.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordedEventView {
    pub id: i64,
    /// The event's `type`.
    pub kind: String,
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
    /// api | admin_put | import
    pub source: String,
    /// The sender's token id, for events sent over the API.
    pub actor: Option<String>,
    pub superseded_e_licence: Option<String>,
    pub recorded_at: DateTime<Utc>,
}

impl From<EventRow> for RecordedEventView {
    fn from(r: EventRow) -> Self {
        RecordedEventView {
            id: r.id,
            kind: r.kind,
            event: serde_json::from_str(&r.detail).unwrap_or_default(),
            source: r.source,
            actor: r.actor,
            superseded_e_licence: r.superseded_e_licence,
            recorded_at: r.recorded_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventPage {
    /// Newest first.
    pub items: Vec<RecordedEventView>,
    /// Pass as `before` for older ones; null when there are none.
    pub next: Option<i64>,
}

/// One e-licence of a licence, current or superseded.
#[derive(Debug, Serialize, ToSchema)]
pub struct ELicenceHistoryItem {
    pub e_licence_id: String,
    /// The `e` claim of its codes and its index in the status list.
    pub serial: i64,
    /// current | superseded
    pub state: String,
    pub photo_source: String,
    pub generated_at: DateTime<Utc>,
    pub superseded_at: Option<DateTime<Utc>>,
    /// class_changed | renewed | authority_changed
    pub superseded_reason: Option<String>,
    /// app | counter
    pub issued_via: String,
    pub issued_by: Option<String>,
}

impl From<ELicenceRow> for ELicenceHistoryItem {
    fn from(e: ELicenceRow) -> Self {
        ELicenceHistoryItem {
            generated_at: e.generated_at_utc(),
            e_licence_id: e.id,
            serial: e.serial,
            state: e.state,
            photo_source: e.photo_source,
            superseded_at: e.superseded_at.map(|t| t.and_utc()),
            superseded_reason: e.superseded_reason,
            issued_via: e.issued_via,
            issued_by: e.issued_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ELicencePage {
    /// Newest first.
    pub items: Vec<ELicenceHistoryItem>,
    /// Pass as `before` (a serial) for older ones; null when there are none.
    pub next: Option<i64>,
}

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

/// The cursor of the next page: the last item's key when the page is full.
fn next_of<T>(items: &[T], limit: i64, key: impl Fn(&T) -> i64) -> Option<i64> {
    (items.len() as i64 == limit)
        .then(|| items.last().map(key))
        .flatten()
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
    path: web::Path<NumberPath>,
    body: web::Json<serde_json::Value>,
) -> Result<web::Json<EventResult>, ApiError> {
    let number = parse_number(&path.number)?;
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
            let (applied, licence) = lifecycle::apply_event(conn, &number, &event, origin, now)
                .map_err(|e| match e {
                    LifecycleError::LicenceNotFound => ApiError::LicenceNotFound,
                    LifecycleError::InvalidEvent(errors) => ApiError::InvalidEvent(errors),
                    LifecycleError::Storage(s) => s.into(),
                })?;
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
    path: web::Path<NumberPath>,
    query: web::Query<HistoryQuery>,
) -> Result<web::Json<EventPage>, ApiError> {
    let NumberPath { number } = path.into_inner();
    let (items, next) = history_page(&state, token, &number, query.into_inner(), |conn, n, q| {
        let rows = registry_events::for_licence(conn, n, q.before, q.limit()?)?;
        Ok((next_of(&rows, q.limit()?, |r| r.id), rows))
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
    raw_number: &str,
    q: HistoryQuery,
    load: fn(&mut DbConn, &str, &HistoryQuery) -> Result<Page<R>, ApiError>,
) -> Result<(Vec<V>, Option<i64>), ApiError>
where
    R: Into<V> + Send + 'static,
    V: Send + 'static,
{
    let number = parse_number(raw_number)?;
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
    path: web::Path<NumberPath>,
    query: web::Query<HistoryQuery>,
) -> Result<web::Json<ELicencePage>, ApiError> {
    let NumberPath { number } = path.into_inner();
    let (items, next) = history_page(&state, token, &number, query.into_inner(), |conn, n, q| {
        let rows = e_licences::history(conn, n, q.before, q.limit()?)?;
        Ok((next_of(&rows, q.limit()?, |r| r.serial), rows))
    })
    .await?;
    Ok(web::Json(ELicencePage { items, next }))
}
