//! The append-only audit of clerks at the counter (the database refuses UPDATE and DELETE):
//! every lookup, refusal, issuance and photo change, written in the transaction of the action.

use super::schema::counter_audit;
use super::{with_conn, DbConn, StorageError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = counter_audit)]
pub struct CounterAuditRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub clerk_token_id: String,
    /// The clerk's issuing authority when it acted.
    pub authority: String,
    /// lookup | issue | photo_change
    pub action: String,
    pub licence_number: String,
    /// `ok`, or the error code the clerk was answered with.
    pub outcome: String,
    /// JSON with what the action did or why it was refused.
    pub detail: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewCounterAudit<'a> {
    pub at: DateTime<Utc>,
    pub clerk_token_id: &'a str,
    pub authority: &'a str,
    pub action: &'a str,
    pub licence_number: &'a str,
    pub outcome: &'a str,
    pub detail: Option<&'a serde_json::Value>,
}

/// Appends one row; call it in the transaction of the action it records.
pub fn append(conn: &mut DbConn, a: &NewCounterAudit<'_>) -> Result<(), StorageError> {
    let values = (
        counter_audit::at.eq(a.at.naive_utc()),
        counter_audit::clerk_token_id.eq(a.clerk_token_id),
        counter_audit::authority.eq(a.authority),
        counter_audit::action.eq(a.action),
        counter_audit::licence_number.eq(a.licence_number),
        counter_audit::outcome.eq(a.outcome),
        counter_audit::detail.eq(a.detail.map(serde_json::Value::to_string)),
    );
    with_conn!(conn, |c| diesel::insert_into(counter_audit::table)
        .values(values)
        .execute(c))?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct CounterAuditFilter {
    pub clerk_token_id: Option<String>,
    pub licence_number: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Rows with an id greater than this (keyset paging).
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// Oldest first, from `after_id`, at most `limit` rows.
pub fn page(
    conn: &mut DbConn,
    f: &CounterAuditFilter,
) -> Result<Vec<CounterAuditRow>, StorageError> {
    Ok(with_conn!(conn, |c| {
        let mut q = counter_audit::table
            .select(CounterAuditRow::as_select())
            .into_boxed();
        if let Some(clerk) = &f.clerk_token_id {
            q = q.filter(counter_audit::clerk_token_id.eq(clerk.clone()));
        }
        if let Some(number) = &f.licence_number {
            q = q.filter(counter_audit::licence_number.eq(number.clone()));
        }
        if let Some(from) = f.from {
            q = q.filter(counter_audit::at.ge(from.naive_utc()));
        }
        if let Some(to) = f.to {
            q = q.filter(counter_audit::at.lt(to.naive_utc()));
        }
        if let Some(after) = f.after_id {
            q = q.filter(counter_audit::id.gt(after));
        }
        q.order(counter_audit::id.asc()).limit(f.limit).load(c)
    })?)
}
