//! Live registry changes and their effects. An event (from the admin route, from an `import`
//! line, or derived from a re-sent record) is applied in one write transaction: the licence
//! row changes, the event is appended to `registry_events`, a class, validity or authority
//! change supersedes the current e-licence (its codes verify as `superseded` from then on; the
//! holder applies again), and the holder's outbox hears of it. Nothing is deleted.
//!
//! The document, new codes and online verification read the licence row live; the status-list
//! entries of the licence's e-licences are written last in the same transaction
//! (`service::status_list::update_for_licences`), so a list never lags behind a committed
//! event by more than its next signing.

use crate::domain::licence::{Licence, LicenceNumber};
use crate::domain::record::{FieldError, ValidRecord};
use crate::domain::registry_event::{self, supersedes, RegistryEvent, SupersedeReason};
use crate::service::status_list;
use crate::storage::registry_events::{self, NewEvent};
use crate::storage::{
    bulk_import, e_licences, licences, notifications, submissions, DbConn, StorageError,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;
use std::collections::HashMap;

/// Where an event came from, as recorded in `registry_events.source`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `POST /api/v1/admin/licences/{number}/events`.
    Api,
    /// Derived from a record sent with `PUT /api/v1/admin/licences/{number}`.
    AdminPut,
    /// An `elicence import` line: an event line or a changed record.
    Import,
}

impl Source {
    pub fn code(self) -> &'static str {
        match self {
            Source::Api => "api",
            Source::AdminPut => "admin_put",
            Source::Import => "import",
        }
    }
}

/// What applying one event did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Effects {
    /// False when the licence already was as the event says (nothing was recorded).
    pub changed: bool,
    /// The e-licence the event ended: its codes verify as `superseded`; the holder applies
    /// again.
    pub superseded_e_licence: Option<String>,
    pub superseded_reason: Option<SupersedeReason>,
    /// A photo change that was waiting for review on the ended e-licence, now withdrawn.
    pub withdrawn_submission: Option<String>,
    /// The notification kinds written to the holder's outbox.
    pub notified: Vec<&'static str>,
}

/// One event as applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// Its `registry_events` id; `None` when it changed nothing and was not recorded.
    pub id: Option<i64>,
    pub event: RegistryEvent,
    pub effects: Effects,
}

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error("no such licence")]
    LicenceNotFound,
    #[error("invalid registry event")]
    InvalidEvent(Vec<FieldError>),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Who sent an event, and how.
#[derive(Debug, Clone, Copy)]
pub struct Origin<'a> {
    pub source: Source,
    /// The sender's token id, when it came over the API.
    pub actor: Option<&'a str>,
}

/// Applies one event to one licence, with all its effects, in one write transaction.
/// Returns what it did and the licence as it now stands.
pub fn apply_event(
    conn: &mut DbConn,
    number: &LicenceNumber,
    event: &RegistryEvent,
    origin: Origin<'_>,
    now: DateTime<Utc>,
) -> Result<(Applied, Licence), LifecycleError> {
    conn.write_transaction(|conn| {
        let stored =
            licences::find_for_update(conn, number)?.ok_or(LifecycleError::LicenceNotFound)?;
        let applied = apply_in(conn, stored.licence, event, origin, now)?;
        if applied.0.id.is_some() {
            status_list::update_for_licences(conn, &[number.as_str()], now)?;
        }
        Ok(applied)
    })
}

/// Applies `event` to `licence` (as stored) inside the caller's write transaction. Nothing is
/// written when it is invalid.
fn apply_in(
    conn: &mut DbConn,
    licence: Licence,
    event: &RegistryEvent,
    origin: Origin<'_>,
    now: DateTime<Utc>,
) -> Result<(Applied, Licence), LifecycleError> {
    match registry_event::apply(&licence, event).map_err(LifecycleError::InvalidEvent)? {
        None => Ok((
            Applied {
                id: None,
                event: event.clone(),
                effects: Effects::default(),
            },
            licence,
        )),
        Some(new) => {
            licences::update_registry_fields(conn, &new, now)?;
            let applied = record_effects(conn, &licence, &new, event, origin, now)?;
            Ok((applied, new))
        }
    }
}

/// What follows a change from `old` to `new` by `event`, beyond the licence row: the
/// supersede, the outbox, the event's own row.
fn record_effects(
    conn: &mut DbConn,
    old: &Licence,
    new: &Licence,
    event: &RegistryEvent,
    origin: Origin<'_>,
    now: DateTime<Utc>,
) -> Result<Applied, StorageError> {
    let number = new.number.as_str();
    let mut effects = Effects {
        changed: true,
        ..Effects::default()
    };
    let mut notify = |conn: &mut DbConn, kind: &'static str, payload: serde_json::Value| {
        effects.notified.push(kind);
        notifications::push(conn, number, kind, &payload, now)
    };
    let mut superseded = None;
    if let Some(reason) = supersedes(event) {
        if let Some(e) = e_licences::supersede_current(conn, number, reason, now)? {
            let withdrawn = submissions::supersede_pending(conn, number)?;
            notify(
                conn,
                "e_licence_superseded",
                json!({
                    "e_licence_id": e.id,
                    "reason": reason.code(),
                    "apply_again": true,
                    "withdrawn_submission": withdrawn,
                }),
            )?;
            superseded = Some((e.id, reason, withdrawn));
        }
    }
    match event {
        RegistryEvent::StatusSet { status } => notify(
            conn,
            "status_changed",
            json!({"status": status, "change": "set"}),
        )?,
        RegistryEvent::StatusCleared { status } => notify(
            conn,
            "status_changed",
            json!({"status": status, "change": "cleared"}),
        )?,
        RegistryEvent::PointsChanged { .. } if old.points != new.points => notify(
            conn,
            "points_changed",
            json!({"points": new.points, "previous": old.points}),
        )?,
        _ => {}
    }
    if let Some((id, reason, withdrawn)) = superseded {
        effects.superseded_e_licence = Some(id);
        effects.superseded_reason = Some(reason);
        effects.withdrawn_submission = withdrawn;
    }
    let detail = serde_json::to_string(event)
        .map_err(|e| StorageError::Corrupt(format!("event does not serialise: {e}")))?;
    let id = registry_events::insert(
        conn,
        &NewEvent {
            licence_number: number,
            kind: event.kind(),
            detail: &detail,
            source: origin.source.code(),
            actor: origin.actor,
            superseded_e_licence: effects.superseded_e_licence.as_deref(),
            recorded_at: now,
        },
    )?;
    Ok(Applied {
        id: Some(id),
        event: event.clone(),
        effects,
    })
}

/// The events a re-sent record stands for, applied after `old` one by one; returns the
/// licence they end at (the record's) and what each did.
fn record_as_events(
    conn: &mut DbConn,
    old: &Licence,
    new: &Licence,
    origin: Origin<'_>,
    now: DateTime<Utc>,
) -> Result<Vec<Applied>, StorageError> {
    let mut applied = Vec::new();
    let mut at = old.clone();
    for event in registry_event::derive(old, new) {
        // A derived event of a valid record always applies and changes something; one that
        // did not would be a bug in `derive` (its property test), not worth a failed write.
        let Ok(Some(next)) = registry_event::apply(&at, &event) else {
            tracing::error!(kind = event.kind(), "a derived event did not apply");
            continue;
        };
        applied.push(record_effects(conn, &at, &next, &event, origin, now)?);
        at = next;
    }
    Ok(applied)
}

/// Inserts or replaces one record (admin PUT). When it replaces a stored licence, what
/// changed is recorded and acted on as the events [`registry_event::derive`] names. Returns
/// whether it was new, and the events.
pub fn upsert_record(
    conn: &mut DbConn,
    record: &ValidRecord,
    origin: Origin<'_>,
    now: DateTime<Utc>,
) -> Result<(bool, Vec<Applied>), StorageError> {
    conn.write_transaction(|conn| {
        let old = licences::find_for_update(conn, &record.licence.number)?;
        let created = licences::upsert_in(conn, record, now)?;
        let applied = match old {
            Some(old) => record_as_events(conn, &old.licence, &record.licence, origin, now)?,
            None => Vec::new(),
        };
        // Also when no event was derived: a repaired row makes an unreadable one readable.
        status_list::update_for_licences(conn, &[record.licence.number.as_str()], now)?;
        Ok((created, applied))
    })
}

/// One line of an import, in file order. Most lines are records: boxing them to shrink the
/// rare event lines would cost an allocation a line.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum ImportItem {
    Record(ValidRecord),
    Event {
        line: usize,
        number: LicenceNumber,
        event: RegistryEvent,
    },
}

impl ImportItem {
    /// The licence the line is about.
    pub fn number(&self) -> &str {
        match self {
            ImportItem::Record(r) => r.licence.number.as_str(),
            ImportItem::Event { number, .. } => number.as_str(),
        }
    }
}

/// What one import batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    pub records: usize,
    /// Event lines applied (changed or not).
    pub event_lines: usize,
    /// Events recorded: event lines that changed something, and changes of re-sent records.
    pub events_recorded: usize,
    pub superseded: usize,
    /// Event lines refused when applied: (line, reason).
    pub rejected: Vec<(usize, String)>,
}

impl BatchOutcome {
    /// Adds `other`'s counts (not its rejected lines) to these.
    pub fn add_counts(&mut self, other: &BatchOutcome) {
        self.records += other.records;
        self.event_lines += other.event_lines;
        self.events_recorded += other.events_recorded;
        self.superseded += other.superseded;
    }
}

/// Writes one import batch in one write transaction, in line order: records are upserted
/// (a changed one recorded as its derived events), event lines applied. An event line that
/// does not apply (unknown licence, invalid values) is refused alone, writing nothing.
/// `staged`: on PostgreSQL, records go through the `COPY` staging path (`write_records`);
/// false writes them with multi-row upserts everywhere, kept to measure one against the other.
pub fn import_batch(
    conn: &mut DbConn,
    items: Vec<ImportItem>,
    now: DateTime<Utc>,
    staged: bool,
) -> Result<BatchOutcome, StorageError> {
    let origin = Origin {
        source: Source::Import,
        actor: None,
    };
    conn.write_transaction(|conn| {
        let mut out = BatchOutcome::default();
        // The licences as they stand so far in this batch, by number.
        let mut known: HashMap<String, Licence> = HashMap::new();
        let count = |out: &mut BatchOutcome, applied: &Applied| {
            if applied.id.is_some() {
                out.events_recorded += 1;
            }
            if applied.effects.superseded_e_licence.is_some() {
                out.superseded += 1;
            }
        };
        // The licences written, whose e-licences' entries are brought up to date at the end.
        let mut touched: std::collections::BTreeSet<String> = Default::default();
        let mut items = items.into_iter().peekable();
        while let Some(item) = items.next() {
            match item {
                ImportItem::Record(first) => {
                    let mut run = vec![first];
                    while let Some(ImportItem::Record(_)) = items.peek() {
                        if let Some(ImportItem::Record(r)) = items.next() {
                            run.push(r);
                        }
                    }
                    out.records += run.len();
                    touched.extend(run.iter().map(|r| r.licence.number.as_str().to_owned()));
                    write_records(conn, run, &mut known, origin, now, staged, &mut |a| {
                        count(&mut out, a)
                    })?;
                }
                ImportItem::Event {
                    line,
                    number,
                    event,
                } => {
                    let licence = match known.get(number.as_str()) {
                        Some(l) => l.clone(),
                        None => match licences::find(conn, &number)? {
                            Some(s) => s.licence,
                            None => {
                                out.rejected.push((line, "no such licence".to_owned()));
                                continue;
                            }
                        },
                    };
                    match apply_in(conn, licence, &event, origin, now) {
                        Ok((applied, new)) => {
                            count(&mut out, &applied);
                            out.event_lines += 1;
                            touched.insert(number.as_str().to_owned());
                            known.insert(number.as_str().to_owned(), new);
                        }
                        Err(LifecycleError::InvalidEvent(errors)) => {
                            out.rejected.push((line, field_errors(&errors)));
                        }
                        Err(LifecycleError::LicenceNotFound) => {
                            out.rejected.push((line, "no such licence".to_owned()));
                        }
                        Err(LifecycleError::Storage(e)) => return Err(e),
                    }
                }
            }
        }
        let numbers: Vec<&str> = touched.iter().map(String::as_str).collect();
        status_list::update_for_licences(conn, &numbers, now)?;
        Ok(out)
    })
}

/// Writes a run of record lines in order: a record that replaces a licence stored before it
/// is recorded as its derived events (`applied` hears of each). Records are upserted in
/// groups of distinct licences; a group is written before a record of a licence it holds is
/// compared, so every event row and notice names a licence that is stored.
///
/// `staged`, on PostgreSQL: a group is staged with `COPY` and compared and written set-based
/// (`storage::bulk_import`); only the licences it changes come back to be recorded as events.
/// Otherwise (and always on SQLite) the stored licences are read and compared here, and the
/// group is written with multi-row upserts.
fn write_records(
    conn: &mut DbConn,
    run: Vec<ValidRecord>,
    known: &mut HashMap<String, Licence>,
    origin: Origin<'_>,
    now: DateTime<Utc>,
    staged: bool,
    applied: &mut dyn FnMut(&Applied),
) -> Result<(), StorageError> {
    for group in distinct_groups(run) {
        let changed = if staged {
            bulk_import::stage(conn, &group, now)?
        } else {
            None
        };
        if let Some(changed) = changed {
            let mut old: HashMap<&str, &Licence> = changed
                .iter()
                .map(|s| (s.licence.number.as_str(), &s.licence))
                .collect();
            for r in &group {
                let n = r.licence.number.as_str();
                if let Some(old) = old.remove(n) {
                    for a in record_as_events(conn, old, &r.licence, origin, now)? {
                        applied(&a);
                    }
                }
                // The database holds the licence as it now stands; a later line reads it.
                known.remove(n);
            }
            bulk_import::write_staged(conn, &group, now)?;
            continue;
        }
        let missing: Vec<&str> = group
            .iter()
            .map(|r| r.licence.number.as_str())
            .filter(|n| !known.contains_key(*n))
            .collect();
        let stored = licences::find_many(conn, &missing)?;
        known.extend(stored.into_iter().map(|(n, s)| (n, s.licence)));
        for r in &group {
            let n = r.licence.number.as_str();
            if let Some(old) = known.get(n) {
                for a in record_as_events(conn, old, &r.licence, origin, now)? {
                    applied(&a);
                }
            }
            known.insert(n.to_owned(), r.licence.clone());
        }
        licences::upsert_many_in(conn, &group, now)?;
    }
    Ok(())
}

/// `run` cut, in order, into groups in which no licence appears twice.
fn distinct_groups(run: Vec<ValidRecord>) -> Vec<Vec<ValidRecord>> {
    let mut groups: Vec<Vec<ValidRecord>> = vec![Vec::with_capacity(run.len())];
    let mut in_group = std::collections::HashSet::new();
    for r in run {
        if !in_group.insert(r.licence.number.as_str().to_owned()) {
            groups.push(Vec::new());
            in_group.clear();
            in_group.insert(r.licence.number.as_str().to_owned());
        }
        groups.last_mut().expect("one group at least").push(r);
    }
    groups
}

/// Field errors as one line of text, as import reports them.
pub fn field_errors(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {} ({})", e.field, e.message, e.code))
        .collect::<Vec<_>>()
        .join("; ")
}
