//! The key states (`signing_keys`): which key signs and which are published, one row a key,
//! shared by every process over the database. The private keys are files, never here.
//!
//! A change reads every row and writes back what changed inside one write transaction that
//! holds [`lock_for_change`], so two `keys rotate` run at once on different hosts take turns
//! instead of both demoting the same active key; the unique partial indexes on `state`
//! refuse a second active or next key even so.

use super::schema::signing_keys;
use super::{with_conn, DbConn, StorageError};
use chrono::NaiveDateTime;
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = signing_keys, treat_none_as_null = true)]
pub struct SigningKeyRow {
    pub kid: String,
    /// `next`, `active`, `rotated` or `retired` (a CHECK constraint holds it to those).
    pub state: String,
    pub created_at: NaiveDateTime,
    pub activated_at: Option<NaiveDateTime>,
    pub rotated_at: Option<NaiveDateTime>,
    pub retired_at: Option<NaiveDateTime>,
}

/// Every key state, oldest first.
pub fn list(conn: &mut DbConn) -> Result<Vec<SigningKeyRow>, StorageError> {
    Ok(with_conn!(conn, |c| signing_keys::table
        .select(SigningKeyRow::as_select())
        .order((signing_keys::created_at, signing_keys::kid))
        .load(c))?)
}

/// Makes the changes of this transaction to the key states wait for any other's to commit.
/// Call it first inside a write transaction. PostgreSQL: a table lock that conflicts with
/// itself but not with plain reads, so serving processes keep reading the states meanwhile;
/// released at commit (nothing outlives the transaction, which suits a pooler in
/// transaction mode). SQLite: the write transaction's `BEGIN IMMEDIATE` has serialised it.
pub fn lock_for_change(conn: &mut DbConn) -> Result<(), StorageError> {
    match conn {
        DbConn::Sqlite(_) => Ok(()),
        DbConn::Pg(c) => {
            diesel::sql_query("LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut **c)?;
            Ok(())
        }
    }
}

/// Inserts or updates `rows` by kid. Rows that leave `active` or `next` are written before
/// those that enter it, so the unique indexes never see two at once.
pub fn save(conn: &mut DbConn, rows: &[SigningKeyRow]) -> Result<(), StorageError> {
    let entering = |r: &&SigningKeyRow| r.state == "active" || r.state == "next";
    let (last, first): (Vec<&SigningKeyRow>, Vec<&SigningKeyRow>) = rows.iter().partition(entering);
    for row in first.into_iter().chain(last) {
        with_conn!(conn, |c| diesel::insert_into(signing_keys::table)
            .values(row)
            .on_conflict(signing_keys::kid)
            .do_update()
            .set(row)
            .execute(c))?;
    }
    Ok(())
}
