//! SQLite: the verification audit's lookups by officer and by e-licence, in a file of their
//! own next to the database (`<database>-audit-index`, attached as `audit_index`), filled in
//! bulk. See the migration `audit_lookup_apart` for why.
//!
//! The verifier's commits only append audit rows to the database. A few times a second the
//! thread that checkpoints the verifier's log ([`super::checkpoints`]) calls [`catch_up`]:
//! one transaction reads the rows appended since, from the database, and writes their
//! (kind, subject, id) sorted into `verification_audit_lookup`, each page once for all the
//! rows that land on it. It writes only the index file, so it never takes the database's
//! write lock and no scan waits for it. `verification_audit_indexed.up_to` moves in the same
//! transaction: the lookup has exactly the rows up to it.
//!
//! A reader ([`super::audit::page`]) takes the rows up to `up_to` through the lookup and
//! those after it from the audit itself, by id. Whichever of the two files' snapshots is the
//! newer, that covers every row the database's snapshot holds.
//!
//! The file holds nothing that the audit does not: it is synced only at its checkpoints,
//! and it is checked against the database when the server opens it ([`prepare`]). Lookups
//! of rows the database no longer has (its last commits lost in a power cut) are dropped;
//! a file that belongs to another state of the database (a restored backup) is rebuilt.

use super::schema::{verification_audit, verification_audit_indexed, verification_audit_lookup};
use super::StorageError;
use diesel::connection::SimpleConnection;
use diesel::dsl::max;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use diesel::SqliteConnection;
use std::path::{Path, PathBuf};

/// Rows indexed at most in one transaction, so that a backlog (the audit of a database that
/// an older version wrote, or after a rebuild) is caught up in steps.
pub(super) const MAX_ROWS_A_STEP: i64 = 20_000;

/// The layout of the file; another one is rebuilt.
const LAYOUT_VERSION: i32 = 1;

/// The index file of the database at `database`.
pub(super) fn file_of(database: &Path) -> PathBuf {
    let mut file = database.as_os_str().to_owned();
    file.push("-audit-index");
    file.into()
}

/// Attaches the index file of `database` as `audit_index` (creating it if needed), with its
/// settings: synced at checkpoints only, and checkpointed by the thread that fills it.
pub(super) fn attach_sql(database: &Path) -> String {
    let file = file_of(database).to_string_lossy().replace('\'', "''");
    format!(
        "ATTACH DATABASE '{file}' AS audit_index;
         PRAGMA audit_index.synchronous = NORMAL;
         PRAGMA audit_index.journal_size_limit = {};",
        super::checkpoints::JOURNAL_SIZE_LIMIT_BYTES
    )
}

/// Puts the attached index file in WAL mode. Once, before a pool opens its connections side
/// by side (as for the database itself).
pub(super) fn set_wal_mode(conn: &mut SqliteConnection) -> Result<(), StorageError> {
    conn.batch_execute("PRAGMA audit_index.journal_mode = WAL;")?;
    Ok(())
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    user_version: i32,
}

/// Creates the index's tables in the attached file, or checks the ones there against the
/// database (migrated already): rebuilt from the start if they are of another layout or
/// another state of the database, cut back to the database's last row if they go past it.
pub(super) fn prepare(conn: &mut SqliteConnection) -> Result<(), StorageError> {
    let version: Version = diesel::sql_query("PRAGMA audit_index.user_version").get_result(conn)?;
    if version.user_version != LAYOUT_VERSION {
        conn.batch_execute(&format!(
            "DROP TABLE IF EXISTS audit_index.verification_audit_lookup;
             DROP TABLE IF EXISTS audit_index.verification_audit_indexed;
             CREATE TABLE audit_index.verification_audit_lookup (
                 kind     TEXT NOT NULL,
                 subject  TEXT NOT NULL,
                 audit_id INTEGER NOT NULL,
                 PRIMARY KEY (kind, subject, audit_id)
             ) WITHOUT ROWID;
             CREATE TABLE audit_index.verification_audit_indexed (
                 id        INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
                 up_to     BIGINT NOT NULL,
                 up_to_row TEXT
             );
             INSERT INTO audit_index.verification_audit_indexed (id, up_to) VALUES (1, 0);
             PRAGMA audit_index.user_version = {LAYOUT_VERSION};"
        ))?;
        return Ok(());
    }
    conn.immediate_transaction(|conn| {
        let (up_to, up_to_row) = verification_audit_indexed::table
            .select((
                verification_audit_indexed::up_to,
                verification_audit_indexed::up_to_row,
            ))
            .get_result::<(i64, Option<String>)>(conn)?;
        let last = last_audit_id(conn)?;
        if up_to > 0 && up_to <= last && row_fingerprint(conn, up_to)? != up_to_row {
            // Another database's lookups: start again.
            diesel::delete(verification_audit_lookup::table).execute(conn)?;
            set_up_to(conn, 0)?;
        } else if up_to > last {
            // The database lost its last commits (they were never synced): so do the lookups.
            diesel::delete(verification_audit_lookup::table)
                .filter(verification_audit_lookup::audit_id.gt(last))
                .execute(conn)?;
            set_up_to(conn, last)?;
        }
        Ok::<_, StorageError>(())
    })
}

/// What the row `id` of the audit is, enough to tell it from a row another database has
/// under the same id.
fn row_fingerprint(conn: &mut SqliteConnection, id: i64) -> Result<Option<String>, StorageError> {
    #[derive(QueryableByName)]
    struct Fingerprint {
        #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
        fingerprint: Option<String>,
    }
    let row: Option<Fingerprint> = diesel::sql_query(
        "SELECT verified_at || '|' || officer_token_id || '|' || reasons AS fingerprint
           FROM main.verification_audit WHERE id = ?",
    )
    .bind::<BigInt, _>(id)
    .get_result(conn)
    .optional()?;
    Ok(row.and_then(|r| r.fingerprint))
}

fn set_up_to(conn: &mut SqliteConnection, up_to: i64) -> Result<(), StorageError> {
    let row = row_fingerprint(conn, up_to)?;
    diesel::update(verification_audit_indexed::table)
        .set((
            verification_audit_indexed::up_to.eq(up_to),
            verification_audit_indexed::up_to_row.eq(row),
        ))
        .execute(conn)?;
    Ok(())
}

/// The last audit id the lookup has; `None` where the index file is not attached (a
/// read-only database), where every row is looked up in the audit itself.
pub(super) fn indexed_up_to(conn: &mut SqliteConnection) -> Result<Option<i64>, StorageError> {
    match verification_audit_indexed::table
        .select(verification_audit_indexed::up_to)
        .get_result(conn)
    {
        Ok(up_to) => Ok(Some(up_to)),
        Err(diesel::result::Error::DatabaseError(_, info))
            if info.message().starts_with("no such table") =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

/// Audit rows the lookup does not have yet: a few seconds' worth at most while the thread
/// runs; 0 without an index file.
pub(super) fn unindexed_rows(conn: &mut SqliteConnection) -> Result<i64, StorageError> {
    Ok(match indexed_up_to(conn)? {
        Some(up_to) => (last_audit_id(conn)? - up_to).max(0),
        None => 0,
    })
}

/// The id of the last audit row, 0 for none.
fn last_audit_id(conn: &mut SqliteConnection) -> Result<i64, StorageError> {
    Ok(verification_audit::table
        .select(max(verification_audit::id))
        .get_result::<Option<i64>>(conn)?
        .unwrap_or(0))
}

/// Indexes the audit rows appended since the last step, at most [`MAX_ROWS_A_STEP`] of them,
/// in one transaction that writes the index file only; returns how many rows it indexed.
pub(super) fn catch_up(conn: &mut SqliteConnection) -> Result<i64, StorageError> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    super::pool::retry_busy(|| {
        // Deferred: BEGIN IMMEDIATE would take the write lock of every attached file, the
        // database's too. This one reads the database and writes the index file only.
        AnsiTransactionManager::begin_transaction_sql(conn, "BEGIN DEFERRED")?;
        let indexed = index_step(conn);
        let end = match indexed {
            Ok(_) => AnsiTransactionManager::commit_transaction(conn),
            Err(_) => AnsiTransactionManager::rollback_transaction(conn),
        };
        let indexed = indexed?;
        end?;
        Ok(indexed)
    })
}

fn index_step(conn: &mut SqliteConnection) -> Result<i64, StorageError> {
    let from = indexed_up_to(conn)?.unwrap_or(0);
    let to = last_audit_id(conn)?.min(from + MAX_ROWS_A_STEP);
    if to <= from {
        return Ok(0);
    }
    // Sorted, so that the B-tree is filled page after page. OR IGNORE: a second server
    // process on the same file may have indexed the same rows first.
    diesel::sql_query(
        "INSERT OR IGNORE INTO audit_index.verification_audit_lookup (kind, subject, audit_id)
         SELECT 'officer', officer_token_id, id FROM main.verification_audit
          WHERE id > ?1 AND id <= ?2
         UNION ALL
         SELECT 'e_licence', e_licence_id, id FROM main.verification_audit
          WHERE id > ?1 AND id <= ?2 AND e_licence_id IS NOT NULL
         ORDER BY 1, 2, 3",
    )
    .bind::<BigInt, _>(from)
    .bind::<BigInt, _>(to)
    .execute(conn)?;
    set_up_to(conn, to)?;
    Ok(to - from)
}

/// A passive checkpoint of the index file: it has one writer, this thread, so a checkpoint
/// that copies all of its log lets the next step start the log over.
pub(super) fn checkpoint(conn: &mut SqliteConnection) -> Result<(), StorageError> {
    conn.batch_execute("PRAGMA audit_index.wal_checkpoint(PASSIVE);")?;
    Ok(())
}

#[cfg(test)]
mod tests;
