//! Registry events as applied, kept for good (append-only: triggers refuse UPDATE and DELETE).

use super::schema::registry_events;
use super::{with_conn, DbConn, StorageError};
use crate::domain::licence::Licence;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = registry_events)]
pub struct EventRow {
    pub id: i64,
    pub licence_number: String,
    /// The event's `type`.
    pub kind: String,
    /// The event as JSON (its wire form).
    pub detail: String,
    /// api | admin_put | import
    pub source: String,
    /// The token id of who sent it, when it came over the API.
    pub actor: Option<String>,
    /// The e-licence this event ended, if any.
    pub superseded_e_licence: Option<String>,
    pub recorded_at: NaiveDateTime,
}

pub struct NewEvent<'a> {
    pub licence_number: &'a str,
    pub kind: &'a str,
    pub detail: &'a str,
    pub source: &'a str,
    pub actor: Option<&'a str>,
    pub superseded_e_licence: Option<&'a str>,
    pub recorded_at: DateTime<Utc>,
}

/// Appends one event; returns its id.
pub fn insert(conn: &mut DbConn, e: &NewEvent<'_>) -> Result<i64, StorageError> {
    let values = (
        registry_events::licence_number.eq(e.licence_number),
        registry_events::kind.eq(e.kind),
        registry_events::detail.eq(e.detail),
        registry_events::source.eq(e.source),
        registry_events::actor.eq(e.actor),
        registry_events::superseded_e_licence.eq(e.superseded_e_licence),
        registry_events::recorded_at.eq(e.recorded_at.naive_utc()),
    );
    Ok(with_conn!(conn, |c| diesel::insert_into(
        registry_events::table
    )
    .values(values)
    .returning(registry_events::id)
    .get_result(c))?)
}

/// The licence's events, newest first, with ids below `before` (keyset paging).
pub fn for_licence(
    conn: &mut DbConn,
    licence_number: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<EventRow>, StorageError> {
    Ok(with_conn!(conn, |c| {
        let mut q = registry_events::table
            .filter(registry_events::licence_number.eq(licence_number))
            .select(EventRow::as_select())
            .into_boxed();
        if let Some(b) = before {
            q = q.filter(registry_events::id.lt(b));
        }
        q.order(registry_events::id.desc()).limit(limit).load(c)
    })?)
}

/// The event kinds of the holder's driving record (驾驶记录) on the secondary page: points
/// and registry states, what the holder is judged by. Classes, validity and authority show on
/// the pages themselves (and end the e-licence); due dates show as dates.
pub const DRIVING_RECORD_KINDS: [&str; 3] = ["points_changed", "status_set", "status_cleared"];

/// How many entries the driving record shows.
pub const DRIVING_RECORD_LIMIT: usize = 10;

/// The licence's driving record: its newest [`DRIVING_RECORD_KINDS`] events recorded since
/// its current scoring cycle began (`points_cycle_start`, a day in Beijing time), at most
/// [`DRIVING_RECORD_LIMIT`], newest first.
pub fn driving_record(conn: &mut DbConn, licence: &Licence) -> Result<Vec<EventRow>, StorageError> {
    let since = crate::clock::china_midnight(licence.points_cycle_start).naive_utc();
    let number = licence.number.as_str();
    let [points, set, cleared] = DRIVING_RECORD_KINDS;
    // Prepared once per connection and reused: three `=` rather than an `IN` list (which
    // diesel prepares anew every time), and the limit applied here rather than as a bound
    // `LIMIT` (which SQLite prepares again on every run). The document reads this on every
    // view; a scoring cycle holds a few events.
    let kind = registry_events::kind;
    Ok(with_conn!(conn, |c| registry_events::table
        .filter(registry_events::licence_number.eq(number))
        .filter(kind.eq(points).or(kind.eq(set)).or(kind.eq(cleared)))
        .filter(registry_events::recorded_at.ge(since))
        .select(EventRow::as_select())
        .order(registry_events::id.desc())
        .load::<EventRow>(c))?
    .into_iter()
    .take(DRIVING_RECORD_LIMIT)
    .collect())
}
