//! What the registry routes answer: events as applied and as recorded, and a licence's
//! e-licence history. Shared by the event routes and the admin record route.

use crate::domain::e_licence::{ELicencePhotoSource, ELicenceState, IssuedVia};
use crate::domain::registry_event::{RegistryEvent, SupersedeReason};
use crate::http::views::EligibilityView;
use crate::service::lifecycle::{Applied, Effects};
use crate::storage::e_licences::ELicenceRow;
use crate::storage::registry_events::EventRow;
use chrono::{DateTime, Utc};
use serde::Serialize;
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
    /// Its number in order of issue (the history's cursor). Not the `e` claim of its codes
    /// since status lists were sharded (docs/code-format.md).
    pub serial: i64,
    pub state: ELicenceState,
    pub photo_source: ELicencePhotoSource,
    pub generated_at: DateTime<Utc>,
    pub superseded_at: Option<DateTime<Utc>>,
    pub superseded_reason: Option<SupersedeReason>,
    pub issued_via: IssuedVia,
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
