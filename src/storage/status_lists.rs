//! The status lists: one row a list, with how many of its indexes are given out, the version
//! of its content (bumped in the transaction of every change to one of its entries) and the
//! one signed token that every process serves (docs/status-lists.md).

use super::schema::status_lists;
use super::{with_conn, DbConn, StorageError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use std::collections::BTreeSet;

/// What the signer reads of every list to decide which to sign: no token.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = status_lists)]
pub struct ListState {
    pub list_id: i32,
    pub allocated: i32,
    pub content_version: i64,
    pub signed_version: i64,
    pub signings: i64,
    pub kid: Option<String>,
    pub signed_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
    /// When its content last changed: the publish delay is measured from it.
    pub changed_at: NaiveDateTime,
}

/// A signed list as stored and served.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = status_lists)]
pub struct SignedRow {
    pub list_id: i32,
    pub signed_version: i64,
    pub signings: i64,
    pub token: Option<String>,
    pub etag: Option<String>,
    pub kid: Option<String>,
    pub signed_at: Option<NaiveDateTime>,
    pub expires_at: Option<NaiveDateTime>,
}

/// What one signing stores.
pub struct NewSignature<'a> {
    pub list_id: i32,
    /// The content version read before the entries were.
    pub version: i64,
    pub token: &'a str,
    pub etag: &'a str,
    pub kid: &'a str,
    pub signed_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub invalid: i32,
    pub suspended: i32,
}

/// The lowest-numbered list with fewer than `fill` indexes given out.
pub fn open_list(conn: &mut DbConn, fill: i32) -> Result<Option<i32>, StorageError> {
    Ok(with_conn!(conn, |c| status_lists::table
        .filter(status_lists::allocated.lt(fill))
        .select(diesel::dsl::min(status_lists::list_id))
        .get_result::<Option<i32>>(c))?)
}

/// Adds the list after the last one (list 0 when there is none) unless a concurrent writer
/// did; returns the newest list.
pub fn add_next(conn: &mut DbConn, now: DateTime<Utc>) -> Result<i32, StorageError> {
    let last: Option<i32> = with_conn!(conn, |c| status_lists::table
        .select(diesel::dsl::max(status_lists::list_id))
        .get_result(c))?;
    let next = last.map_or(0, |l| l + 1);
    let values = (
        status_lists::list_id.eq(next),
        status_lists::changed_at.eq(now.naive_utc()),
    );
    with_conn!(conn, |c| diesel::insert_into(status_lists::table)
        .values(values)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(next)
}

/// Counts one more index of `list` given out.
pub fn count_allocation(conn: &mut DbConn, list: i32) -> Result<(), StorageError> {
    with_conn!(conn, |c| diesel::update(status_lists::table.find(list))
        .set(status_lists::allocated.eq(status_lists::allocated + 1))
        .execute(c))?;
    Ok(())
}

/// Marks the content of `lists` changed: the signer signs them again. In ascending order, at
/// the end of the writer's transaction, so that writers that touch several lists lock their
/// rows in one order and hold them only until they commit.
pub fn mark_changed(
    conn: &mut DbConn,
    lists: &BTreeSet<i32>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    for list in lists {
        with_conn!(conn, |c| diesel::update(status_lists::table.find(*list))
            .set((
                status_lists::content_version.eq(status_lists::content_version + 1),
                status_lists::changed_at.eq(now.naive_utc()),
            ))
            .execute(c))?;
    }
    Ok(())
}

/// Every list's state, by list number.
pub fn states(conn: &mut DbConn) -> Result<Vec<ListState>, StorageError> {
    Ok(with_conn!(conn, |c| status_lists::table
        .order(status_lists::list_id.asc())
        .select(ListState::as_select())
        .load(c))?)
}

/// What the metrics show of a list: its entries as last signed, and when it was signed.
#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = status_lists)]
pub struct ListStanding {
    pub list_id: i32,
    pub allocated: i32,
    pub entries_invalid: i32,
    pub entries_suspended: i32,
    pub signed_at: Option<NaiveDateTime>,
}

/// Every list's standing, by list number.
pub fn standings(conn: &mut DbConn) -> Result<Vec<ListStanding>, StorageError> {
    Ok(with_conn!(conn, |c| status_lists::table
        .order(status_lists::list_id.asc())
        .select(ListStanding::as_select())
        .load(c))?)
}

/// The entity tag of each list's token, by list number (`None`: never signed). It changes
/// with every new token (a re-signature for freshness or a new key keeps the content
/// version), so a process that holds the tokens in memory reloads exactly the lists whose
/// tag moved: 25 bytes a list, where the token is 28 KB.
pub fn etags(conn: &mut DbConn) -> Result<Vec<(i32, Option<String>)>, StorageError> {
    Ok(with_conn!(conn, |c| status_lists::table
        .order(status_lists::list_id.asc())
        .select((status_lists::list_id, status_lists::etag))
        .load(c))?)
}

/// The signed token of `list`, if the list exists.
pub fn signed(conn: &mut DbConn, list: i32) -> Result<Option<SignedRow>, StorageError> {
    Ok(with_conn!(conn, |c| status_lists::table
        .find(list)
        .select(SignedRow::as_select())
        .get_result(c)
        .optional())?)
}

/// Stores a new signature of a list: its only version from now on.
pub fn store_signed(conn: &mut DbConn, s: &NewSignature<'_>) -> Result<(), StorageError> {
    with_conn!(conn, |c| diesel::update(
        status_lists::table.find(s.list_id)
    )
    .set((
        status_lists::signed_version.eq(s.version),
        status_lists::signings.eq(status_lists::signings + 1),
        status_lists::token.eq(s.token),
        status_lists::etag.eq(s.etag),
        status_lists::kid.eq(s.kid),
        status_lists::signed_at.eq(s.signed_at.naive_utc()),
        status_lists::expires_at.eq(s.expires_at.naive_utc()),
        status_lists::entries_invalid.eq(s.invalid),
        status_lists::entries_suspended.eq(s.suspended),
    ))
    .execute(c))?;
    Ok(())
}

/// The advisory lock that lets one process at a time sweep and sign the lists (PostgreSQL):
/// a constant the application uses for nothing else ("elic"), and the schema, so deployments
/// (and test databases) in different schemas of one database do not hold each other's lock.
const MAINTENANCE_LOCK: &str = "1701603683, hashtext(current_schema())";

/// Takes the maintenance lock for this connection's session if no other session holds it.
/// PostgreSQL only: a SQLite database is served by one process, which serialises its passes
/// itself; there the answer is always yes. Release it with [`unlock_maintenance`] on the same
/// connection (a session lock belongs to the connection, not to the transaction).
pub fn try_lock_maintenance(conn: &mut DbConn) -> Result<bool, StorageError> {
    match conn {
        DbConn::Sqlite(_) => Ok(true),
        DbConn::Pg(c) => Ok(
            diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!(
                "pg_try_advisory_lock({MAINTENANCE_LOCK})"
            )))
            .get_result(&mut **c)?,
        ),
    }
}

/// Releases the lock [`try_lock_maintenance`] took on this connection.
pub fn unlock_maintenance(conn: &mut DbConn) -> Result<(), StorageError> {
    match conn {
        DbConn::Sqlite(_) => Ok(()),
        DbConn::Pg(c) => {
            let released: bool = diesel::select(diesel::dsl::sql::<diesel::sql_types::Bool>(
                &format!("pg_advisory_unlock({MAINTENANCE_LOCK})"),
            ))
            .get_result(&mut **c)?;
            if released {
                Ok(())
            } else {
                Err(StorageError::Corrupt(
                    "the status-list maintenance lock was not held by this session".into(),
                ))
            }
        }
    }
}
