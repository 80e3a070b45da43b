//! The outbox of what holders must hear about (approved, rejected, superseded…): read by
//! `GET /api/v1/me/notifications` and, later, by the SMS and push gateways, which mark what
//! they delivered.

use super::schema::notifications;
use super::{with_conn, DbConn, StorageError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = notifications)]
pub struct NotificationRow {
    pub id: i64,
    pub licence_number: String,
    pub kind: String,
    /// JSON: the codes and values the message is built from.
    pub payload: String,
    pub created_at: NaiveDateTime,
    pub delivered_at: Option<NaiveDateTime>,
}

/// Writes one event for the holder of `licence_number`; call it in the transaction that
/// makes the event true, so the outbox never says what did not happen.
pub fn push(
    conn: &mut DbConn,
    licence_number: &str,
    kind: &str,
    payload: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let values = (
        notifications::licence_number.eq(licence_number),
        notifications::kind.eq(kind),
        notifications::payload.eq(payload.to_string()),
        notifications::created_at.eq(now.naive_utc()),
    );
    with_conn!(conn, |c| diesel::insert_into(notifications::table)
        .values(values)
        .execute(c))?;
    Ok(())
}

/// The holder's notifications, newest first, with ids below `before` (keyset paging).
pub fn for_licence(
    conn: &mut DbConn,
    licence_number: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<NotificationRow>, StorageError> {
    Ok(with_conn!(conn, |c| {
        let mut q = notifications::table
            .filter(notifications::licence_number.eq(licence_number))
            .select(NotificationRow::as_select())
            .into_boxed();
        if let Some(b) = before {
            q = q.filter(notifications::id.lt(b));
        }
        q.order(notifications::id.desc()).limit(limit).load(c)
    })?)
}
