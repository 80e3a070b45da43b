//! The append-only audit of roadside verifications (the database refuses UPDATE and DELETE).

use super::schema::verification_audit;
use super::{with_conn, DbConn, StorageError};
use crate::domain::scan::ScanMethod;
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
    pub method: ScanMethod,
    pub e_licence_id: Option<String>,
    pub valid: bool,
    pub reasons: String,
    /// The scanned code's `jti`, when it had a readable one.
    pub jti: Option<String>,
}

/// A row as it is inserted, borrowing from its [`NewAudit`].
#[derive(Insertable)]
#[diesel(table_name = verification_audit)]
struct AuditValues<'a> {
    verified_at: NaiveDateTime,
    officer_token_id: &'a str,
    terminal_label: Option<&'a str>,
    method: &'static str,
    e_licence_id: Option<&'a str>,
    valid: bool,
    reasons: &'a str,
    jti: Option<&'a str>,
}

impl<'a> From<&'a NewAudit> for AuditValues<'a> {
    fn from(a: &'a NewAudit) -> Self {
        AuditValues {
            verified_at: a.verified_at.naive_utc(),
            officer_token_id: &a.officer_token_id,
            terminal_label: a.terminal_label.as_deref(),
            method: a.method.code(),
            e_licence_id: a.e_licence_id.as_deref(),
            valid: a.valid,
            reasons: &a.reasons,
            jti: a.jti.as_deref(),
        }
    }
}

/// Appends rows: on PostgreSQL in one multi-row INSERT (one round trip); on SQLite, where a
/// statement costs no trip, one at a time through a single-row INSERT of a fixed shape,
/// which diesel prepares once per connection (a multi-row INSERT is parsed anew each time).
pub fn insert_many(conn: &mut DbConn, rows: &[NewAudit]) -> Result<(), StorageError> {
    match conn {
        DbConn::Sqlite(c) => {
            for a in rows {
                diesel::insert_into(verification_audit::table)
                    .values(AuditValues::from(a))
                    .execute(&mut **c)?;
            }
        }
        DbConn::Pg(c) if !rows.is_empty() => {
            let values: Vec<AuditValues<'_>> = rows.iter().map(AuditValues::from).collect();
            diesel::insert_into(verification_audit::table)
                .values(&values)
                .execute(&mut **c)?;
        }
        DbConn::Pg(_) => {}
    }
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
