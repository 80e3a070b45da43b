//! The append-only audit of roadside verifications (the database refuses UPDATE and DELETE).

use super::schema::verification_audit;
use super::{DbConn, StorageError};
use crate::domain::scan::ScanMethod;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::SqliteConnection;

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

/// Audit rows that the SQLite audit index file does not have yet (`storage::audit_index`);
/// 0 on PostgreSQL, which indexes the table itself.
pub fn unindexed_rows(conn: &mut DbConn) -> Result<i64, StorageError> {
    match conn {
        DbConn::Sqlite(c) => super::audit_index::unindexed_rows(c),
        DbConn::Pg(_) => Ok(0),
    }
}

/// Applies the filters of `f` on the audit row's own columns to a boxed query.
macro_rules! row_filters {
    ($q:expr, $f:expr) => {{
        let (mut q, f) = ($q, $f);
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
        q
    }};
}

/// Oldest first, from `after_id`, at most `limit` rows.
pub fn page(conn: &mut DbConn, f: &AuditFilter) -> Result<Vec<AuditRow>, StorageError> {
    match conn {
        DbConn::Sqlite(c) => sqlite_page(c, f),
        DbConn::Pg(c) => {
            let q = verification_audit::table
                .select(AuditRow::as_select())
                .filter(verification_audit::id.gt(f.after_id.unwrap_or(0)))
                .order(verification_audit::id.asc())
                .limit(f.limit)
                .into_boxed();
            Ok(row_filters!(q, f).load(&mut **c)?)
        }
    }
}

/// On SQLite the audit has no index by officer or by e-licence: those lookups are in
/// `verification_audit_lookup` up to `verification_audit_indexed.up_to`
/// (`storage::audit_index`). A page filtered by either reads the rows up to there through
/// the lookup, then, if it is not full, the rows after it by id: every id in the first part
/// is below every id in the second, so the page stays in id order. Both parts are bounded by
/// the `up_to` read first, and the lookup only grows: no row is missed or read twice though
/// rows are indexed between the reads.
fn sqlite_page(c: &mut SqliteConnection, f: &AuditFilter) -> Result<Vec<AuditRow>, StorageError> {
    use super::schema::verification_audit_lookup as lookup;
    let after = f.after_id.unwrap_or(0);
    // An e-licence is scanned a few times a year, an officer all day: the narrower lookup.
    let key = match (&f.e_licence_id, &f.officer_token_id) {
        (Some(e), _) => Some(("e_licence", e)),
        (None, Some(o)) => Some(("officer", o)),
        (None, None) => None,
    };
    let indexed_up_to = match key {
        // Without the index file (a read-only database), every row from the audit itself.
        Some(_) => super::audit_index::indexed_up_to(c)?.unwrap_or(0),
        None => after,
    };
    let mut rows = Vec::new();
    if let Some((kind, subject)) = key.filter(|_| after < indexed_up_to) {
        let q = verification_audit::table
            .inner_join(lookup::table.on(lookup::audit_id.eq(verification_audit::id)))
            .select(AuditRow::as_select())
            .filter(lookup::kind.eq(kind))
            .filter(lookup::subject.eq(subject.clone()))
            .filter(lookup::audit_id.gt(after))
            .filter(lookup::audit_id.le(indexed_up_to))
            .order(lookup::audit_id.asc())
            .limit(f.limit)
            .into_boxed();
        rows = row_filters!(q, f).load(c)?;
    }
    let room = f.limit - rows.len() as i64;
    if room > 0 {
        let q = verification_audit::table
            .select(AuditRow::as_select())
            .filter(verification_audit::id.gt(after.max(indexed_up_to)))
            .order(verification_audit::id.asc())
            .limit(room)
            .into_boxed();
        rows.extend(row_filters!(q, f).load(c)?);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests;
