//! The PostgreSQL path of the registry import: a group of records is streamed with `COPY …
//! FROM STDIN (FORMAT binary)` into a staging table of the import's transaction, compared with
//! the stored licences in one query, and written over `licences` in one `INSERT … SELECT … ON
//! CONFLICT` statement. SQLite keeps its multi-row upserts (`licences::upsert_many_in`).
//!
//! The staging table is `CREATE TEMP TABLE … ON COMMIT DROP`: it lives inside the one
//! transaction that uses it, so it holds no session state between transactions (PgBouncer's
//! transaction mode is fine), and parallel imports each have their own.

use super::licences::{licence_row, store_prepared, LicenceRow, StoredLicence};
use super::{DbConn, StorageError};
use crate::domain::record::ValidRecord;
use chrono::{DateTime, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use std::sync::LazyLock;

// The staging table: the columns of `licences` (`CREATE TEMP TABLE … (LIKE licences)`).
diesel::table! {
    licences_stage (number) {
        number -> Text,
        name -> Text,
        sex -> Text,
        nationality -> Text,
        birth_date -> Date,
        address -> Text,
        issuing_authority -> Text,
        classes -> Text,
        first_issued -> Date,
        valid_from -> Date,
        valid_until -> Nullable<Date>,
        statuses -> Text,
        points -> Integer,
        points_cycle_start -> Date,
        medical_due -> Nullable<Date>,
        review_due -> Nullable<Date>,
        photo -> Nullable<Binary>,
        photo_media_type -> Nullable<Text>,
        photo_taken -> Nullable<Date>,
        synced_at -> Timestamp,
        created_at -> Timestamp,
        photo_prepared -> Nullable<Text>,
        photo_checks_failed -> Nullable<Text>,
    }
}

licence_row!(StageRow, licences_stage);

/// The registry fields a record may change (`domain::licence::Licence`): a stored licence
/// that differs from its record in any of them is returned by [`stage`].
const REGISTRY_FIELDS: [&str; 15] = [
    "name",
    "sex",
    "nationality",
    "birth_date",
    "address",
    "issuing_authority",
    "classes",
    "first_issued",
    "valid_from",
    "valid_until",
    "statuses",
    "points",
    "points_cycle_start",
    "medical_due",
    "review_due",
];

/// What an upsert replaces besides those: every column but the key and `created_at`.
const OTHER_REPLACED: [&str; 6] = [
    "photo",
    "photo_media_type",
    "photo_taken",
    "synced_at",
    "photo_prepared",
    "photo_checks_failed",
];

/// The stored licences that differ from their staged record, as `LicenceRow` reads them.
/// One index probe a staged row (`LATERAL … OFFSET 0` keeps the planner from turning it into
/// a hash join, which scans the whole registry: measured 70 ms against 17 ms a batch of 5,000
/// at 200,000 licences, and it grows with the registry).
static CHANGED_SQL: LazyLock<String> = LazyLock::new(|| {
    let side = |alias: &str| {
        REGISTRY_FIELDS
            .iter()
            .map(|f| format!("{alias}.{f}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "SELECT l.number, {stored}, l.photo_media_type, l.synced_at \
         FROM licences_stage s CROSS JOIN LATERAL \
         (SELECT * FROM licences WHERE licences.number = s.number OFFSET 0) l \
         WHERE ({stored}) IS DISTINCT FROM ({staged})",
        stored = side("l"),
        staged = side("s"),
    )
});

/// The staged rows written over `licences`: new numbers inserted, stored ones replaced.
static UPSERT_SQL: LazyLock<String> = LazyLock::new(|| {
    let replaced: Vec<&str> = REGISTRY_FIELDS
        .iter()
        .chain(OTHER_REPLACED.iter())
        .copied()
        .collect();
    let columns = format!("number, {}, created_at", replaced.join(", "));
    let set = replaced
        .iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    // `WHERE true`: without it `ON CONFLICT` could be read as part of the SELECT's FROM.
    format!(
        "INSERT INTO licences ({columns}) SELECT {columns} FROM licences_stage WHERE true \
         ON CONFLICT (number) DO UPDATE SET {set}"
    )
});

/// Stages `group` (records of distinct licences) and returns the stored licences it changes,
/// as they stand before it is written: a record that replaces one of them stands for the
/// registry events `domain::registry_event::derive` names. Records of new licences and
/// records equal to their licence are not returned. `None` on SQLite, which has no staging
/// path: the caller compares and writes row by row there.
///
/// Runs inside the caller's write transaction; [`write_staged`] then writes the group.
pub fn stage(
    conn: &mut DbConn,
    group: &[ValidRecord],
    now: DateTime<Utc>,
) -> Result<Option<Vec<StoredLicence>>, StorageError> {
    let DbConn::Pg(c) = conn else {
        return Ok(None);
    };
    let c: &mut PgConnection = c;
    c.batch_execute(
        "CREATE TEMP TABLE IF NOT EXISTS licences_stage (LIKE licences) ON COMMIT DROP;
         TRUNCATE licences_stage;",
    )?;
    let now = now.naive_utc();
    let rows: Vec<StageRow> = group.iter().map(|r| StageRow::new(r, now)).collect();
    diesel::copy_from(licences_stage::table)
        .from_insertable(&rows)
        .execute(c)?;
    let changed: Vec<LicenceRow> = diesel::sql_query(CHANGED_SQL.as_str()).load(c)?;
    changed
        .into_iter()
        .map(StoredLicence::try_from)
        .collect::<Result<_, _>>()
        .map(Some)
}

/// Writes the group [`stage`] staged over `licences`, with its prepared photos, in one
/// statement. Returns the rows written.
pub fn write_staged(
    conn: &mut DbConn,
    group: &[ValidRecord],
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    let with_photos: Vec<&ValidRecord> = group.iter().filter(|r| r.photo.is_some()).collect();
    store_prepared(conn, &with_photos, now)?;
    match conn {
        DbConn::Pg(c) => Ok(diesel::sql_query(UPSERT_SQL.as_str()).execute(&mut **c)?),
        DbConn::Sqlite(_) => Err(StorageError::Corrupt(
            "the staging path of the import is PostgreSQL's".to_owned(),
        )),
    }
}
