//! The append-only audit of roadside verifications (the database refuses UPDATE and DELETE).

use super::schema::verification_audit;
use super::{with_conn, DbConn, StorageError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = verification_audit)]
pub struct AuditRow {
    pub id: i64,
    pub verified_at: NaiveDateTime,
    pub officer_token_id: String,
    pub terminal_label: Option<String>,
    pub method: String,
    pub e_licence_id: Option<String>,
    pub valid: bool,
    pub reasons: String,
    /// The scanned code's `jti`, when it had a readable one.
    pub jti: Option<String>,
}

#[derive(Debug, Clone)]
pub struct NewAudit {
    pub verified_at: DateTime<Utc>,
    pub officer_token_id: String,
    pub terminal_label: Option<String>,
    pub method: &'static str,
    pub e_licence_id: Option<String>,
    pub valid: bool,
    pub reasons: String,
    /// The scanned code's `jti`, when it had a readable one.
    pub jti: Option<String>,
}

/// Appends one row. A single-row INSERT of a fixed shape, so diesel prepares it once per
/// connection and reuses it: the audit writer appends thousands of rows a second.
pub fn insert(conn: &mut DbConn, a: &NewAudit) -> Result<(), StorageError> {
    let values = (
        verification_audit::verified_at.eq(a.verified_at.naive_utc()),
        verification_audit::officer_token_id.eq(&a.officer_token_id),
        verification_audit::terminal_label.eq(a.terminal_label.as_deref()),
        verification_audit::method.eq(a.method),
        verification_audit::e_licence_id.eq(a.e_licence_id.as_deref()),
        verification_audit::valid.eq(a.valid),
        verification_audit::reasons.eq(&a.reasons),
        verification_audit::jti.eq(a.jti.as_deref()),
    );
    with_conn!(conn, |c| diesel::insert_into(verification_audit::table)
        .values(&values)
        .execute(c))?;
    Ok(())
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub officer_token_id: Option<String>,
    pub e_licence_id: Option<String>,
    pub valid: Option<bool>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Rows with an id greater than this (keyset paging).
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// Oldest first, from `after_id`, at most `limit` rows.
pub fn page(conn: &mut DbConn, f: &AuditFilter) -> Result<Vec<AuditRow>, StorageError> {
    Ok(with_conn!(conn, |c| {
        let mut q = verification_audit::table
            .select(AuditRow::as_select())
            .into_boxed();
        if let Some(o) = &f.officer_token_id {
            q = q.filter(verification_audit::officer_token_id.eq(o.clone()));
        }
        if let Some(e) = &f.e_licence_id {
            q = q.filter(verification_audit::e_licence_id.eq(e.clone()));
        }
        if let Some(v) = f.valid {
            q = q.filter(verification_audit::valid.eq(v));
        }
        if let Some(from) = f.from {
            q = q.filter(verification_audit::verified_at.ge(from.naive_utc()));
        }
        if let Some(to) = f.to {
            q = q.filter(verification_audit::verified_at.lt(to.naive_utc()));
        }
        if let Some(after) = f.after_id {
            q = q.filter(verification_audit::id.gt(after));
        }
        q.order(verification_audit::id.asc()).limit(f.limit).load(c)
    })?)
}
