//! The local copy of the licence registry.

use super::schema::licences;
use super::{photos, with_conn, DbConn, StorageError};
use crate::domain::licence::{Licence, LicenceNumber, Sex};
use crate::domain::licence_class::ClassSet;
use crate::domain::record::{PhotoFormat, PreparedPhoto, RegistryPhoto, ValidRecord};
use crate::domain::registry_state::{states_from_codes, states_to_codes};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::upsert::excluded;
use std::collections::HashMap;

/// A licence as stored, with what the registry copy knows about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLicence {
    pub licence: Licence,
    pub has_photo: bool,
    /// When this licence was last received from the registry.
    pub synced_at: DateTime<Utc>,
}

#[derive(Queryable, QueryableByName, Selectable)]
#[diesel(table_name = licences)]
pub(super) struct LicenceRow {
    number: String,
    name: String,
    sex: String,
    nationality: String,
    birth_date: NaiveDate,
    address: String,
    issuing_authority: String,
    classes: String,
    first_issued: NaiveDate,
    valid_from: NaiveDate,
    valid_until: Option<NaiveDate>,
    statuses: String,
    points: i32,
    points_cycle_start: NaiveDate,
    medical_due: Option<NaiveDate>,
    review_due: Option<NaiveDate>,
    photo_media_type: Option<String>,
    synced_at: NaiveDateTime,
}

impl TryFrom<LicenceRow> for StoredLicence {
    type Error = StorageError;

    fn try_from(row: LicenceRow) -> Result<Self, StorageError> {
        let corrupt = |what: &str| {
            StorageError::Corrupt(format!(
                "licence {}: {what}",
                crate::domain::licence::mask_licence_number(&row.number)
            ))
        };
        let licence = Licence {
            number: LicenceNumber::parse(&row.number).map_err(|_| corrupt("number"))?,
            name: row.name,
            sex: Sex::parse(&row.sex).ok_or_else(|| corrupt("sex"))?,
            nationality: row.nationality,
            birth_date: row.birth_date,
            address: row.address,
            issuing_authority: row.issuing_authority,
            classes: ClassSet::from_codes(&row.classes).map_err(|_| corrupt("classes"))?,
            first_issued: row.first_issued,
            valid_from: row.valid_from,
            valid_until: row.valid_until,
            states: states_from_codes(&row.statuses).map_err(|_| corrupt("statuses"))?,
            points: u8::try_from(row.points).map_err(|_| corrupt("points"))?,
            points_cycle_start: row.points_cycle_start,
            medical_due: row.medical_due,
            review_due: row.review_due,
        };
        Ok(StoredLicence {
            licence,
            has_photo: row.photo_media_type.is_some(),
            synced_at: row.synced_at.and_utc(),
        })
    }
}

/// The row an upsert writes, as an `Insertable` of `$table`: the licences table itself, and
/// the PostgreSQL import's staging table (`bulk_import`), which has the same columns.
macro_rules! licence_row {
    ($row:ident, $table:path) => {
        // NULL rather than DEFAULT for `None`: SQLite has no DEFAULT in multi-row VALUES (and
        // COPY has no DEFAULT at all).
        #[derive(diesel::Insertable)]
        #[diesel(table_name = $table, treat_none_as_default_value = false)]
        pub(super) struct $row<'a> {
            number: &'a str,
            name: &'a str,
            sex: &'static str,
            nationality: &'a str,
            birth_date: chrono::NaiveDate,
            address: &'a str,
            issuing_authority: &'a str,
            classes: String,
            first_issued: chrono::NaiveDate,
            valid_from: chrono::NaiveDate,
            valid_until: Option<chrono::NaiveDate>,
            statuses: String,
            points: i32,
            points_cycle_start: chrono::NaiveDate,
            medical_due: Option<chrono::NaiveDate>,
            review_due: Option<chrono::NaiveDate>,
            photo: Option<&'a [u8]>,
            photo_media_type: Option<&'static str>,
            photo_taken: Option<chrono::NaiveDate>,
            synced_at: chrono::NaiveDateTime,
            created_at: chrono::NaiveDateTime,
            photo_prepared: Option<&'a str>,
            photo_checks_failed: Option<String>,
        }

        impl<'a> $row<'a> {
            pub(super) fn new(
                record: &'a $crate::domain::record::ValidRecord,
                now: chrono::NaiveDateTime,
            ) -> Self {
                let l = &record.licence;
                $row {
                    number: l.number.as_str(),
                    name: &l.name,
                    sex: l.sex.code(),
                    nationality: &l.nationality,
                    birth_date: l.birth_date,
                    address: &l.address,
                    issuing_authority: &l.issuing_authority,
                    classes: l.classes.to_codes(),
                    first_issued: l.first_issued,
                    valid_from: l.valid_from,
                    valid_until: l.valid_until,
                    statuses: $crate::domain::registry_state::states_to_codes(&l.states),
                    points: i32::from(l.points),
                    points_cycle_start: l.points_cycle_start,
                    medical_due: l.medical_due,
                    review_due: l.review_due,
                    photo: record.photo.as_ref().map(|p| p.bytes.as_slice()),
                    photo_media_type: record.photo.as_ref().map(|p| p.format.media_type()),
                    photo_taken: record.photo.as_ref().and_then(|p| p.taken),
                    synced_at: now,
                    created_at: now,
                    photo_prepared: $crate::storage::licences::prepared(record)
                        .map(|p| p.sha256.as_str()),
                    photo_checks_failed: $crate::storage::licences::prepared(record)
                        .map(|p| p.failed_checks.join(",")),
                }
            }
        }
    };
}
pub(super) use licence_row;

licence_row!(NewLicenceRow, licences);

pub(super) fn prepared(record: &ValidRecord) -> Option<&PreparedPhoto> {
    record.photo.as_ref().and_then(|p| p.prepared.as_ref())
}

/// Stores the normalised copies of the records' prepared photos (a photo already stored is
/// kept: the store is keyed by content), in key order: two transactions storing the same
/// photos wait for each other rather than deadlock (parallel imports on PostgreSQL).
pub(super) fn store_prepared(
    conn: &mut DbConn,
    records: &[&ValidRecord],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let mut photos: Vec<&PreparedPhoto> = records.iter().filter_map(|r| prepared(r)).collect();
    photos.sort_by(|a, b| a.sha256.cmp(&b.sha256));
    for p in photos {
        if !p.sha256.is_empty() {
            photos::put(conn, &p.sha256, "image/jpeg", &p.jpeg, now)?;
        }
    }
    Ok(())
}

/// Every column an upsert replaces: all but the key and `created_at`.
macro_rules! replaced_columns {
    () => {
        (
            licences::name.eq(excluded(licences::name)),
            licences::sex.eq(excluded(licences::sex)),
            licences::nationality.eq(excluded(licences::nationality)),
            licences::birth_date.eq(excluded(licences::birth_date)),
            licences::address.eq(excluded(licences::address)),
            licences::issuing_authority.eq(excluded(licences::issuing_authority)),
            licences::classes.eq(excluded(licences::classes)),
            licences::first_issued.eq(excluded(licences::first_issued)),
            licences::valid_from.eq(excluded(licences::valid_from)),
            licences::valid_until.eq(excluded(licences::valid_until)),
            licences::statuses.eq(excluded(licences::statuses)),
            licences::points.eq(excluded(licences::points)),
            licences::points_cycle_start.eq(excluded(licences::points_cycle_start)),
            licences::medical_due.eq(excluded(licences::medical_due)),
            licences::review_due.eq(excluded(licences::review_due)),
            licences::photo.eq(excluded(licences::photo)),
            licences::photo_media_type.eq(excluded(licences::photo_media_type)),
            licences::photo_taken.eq(excluded(licences::photo_taken)),
            licences::synced_at.eq(excluded(licences::synced_at)),
            licences::photo_prepared.eq(excluded(licences::photo_prepared)),
            licences::photo_checks_failed.eq(excluded(licences::photo_checks_failed)),
        )
    };
}

/// Rows per INSERT statement: 23 parameters a row stays under both backends' limits
/// (SQLite 32,766, PostgreSQL 65,535).
const ROWS_PER_STATEMENT: usize = 1_000;

/// Inserts or replaces records by licence number, all in one transaction. When a number
/// appears more than once the last record wins (PostgreSQL refuses to touch a row twice in
/// one statement). Returns the number of distinct licences written.
pub fn upsert_many(
    conn: &mut DbConn,
    records: &[ValidRecord],
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    conn.write_transaction(|conn| upsert_many_in(conn, records, now))
}

/// [`upsert_many`] inside the caller's write transaction.
pub fn upsert_many_in(
    conn: &mut DbConn,
    records: &[ValidRecord],
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    let at = now;
    let now = now.naive_utc();
    let mut last_index: HashMap<&str, usize> = HashMap::with_capacity(records.len());
    for (i, r) in records.iter().enumerate() {
        last_index.insert(r.licence.number.as_str(), i);
    }
    let kept: Vec<&ValidRecord> = records
        .iter()
        .enumerate()
        .filter(|(i, r)| last_index[r.licence.number.as_str()] == *i)
        .map(|(_, r)| r)
        .collect();
    let rows: Vec<NewLicenceRow> = kept.iter().map(|r| NewLicenceRow::new(r, now)).collect();
    store_prepared(conn, &kept, at)?;
    for chunk in rows.chunks(ROWS_PER_STATEMENT) {
        with_conn!(conn, |c| diesel::insert_into(licences::table)
            .values(chunk)
            .on_conflict(licences::number)
            .do_update()
            .set(replaced_columns!())
            .execute(c))?;
    }
    Ok(rows.len())
}

/// Inserts or replaces one record; `Ok(true)` when it was new. The insert that decides
/// "new" is a single statement, so under concurrent callers exactly one of them sees `true`
/// on either backend (PostgreSQL makes the losers wait for the winner's row).
pub fn upsert(
    conn: &mut DbConn,
    record: &ValidRecord,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    conn.write_transaction(|conn| upsert_in(conn, record, now))
}

/// [`upsert`] inside the caller's write transaction.
pub fn upsert_in(
    conn: &mut DbConn,
    record: &ValidRecord,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let row = NewLicenceRow::new(record, now.naive_utc());
    store_prepared(conn, &[record], now)?;
    with_conn!(conn, |c| {
        let inserted = diesel::insert_into(licences::table)
            .values(&row)
            .on_conflict_do_nothing()
            .execute(c)?;
        if inserted == 0 {
            diesel::insert_into(licences::table)
                .values(&row)
                .on_conflict(licences::number)
                .do_update()
                .set(replaced_columns!())
                .execute(c)?;
        }
        Ok(inserted == 1)
    })
}

/// The stored licences among `numbers` (those not stored are absent), by number.
pub fn find_many(
    conn: &mut DbConn,
    numbers: &[&str],
) -> Result<HashMap<String, StoredLicence>, StorageError> {
    let mut found = HashMap::with_capacity(numbers.len());
    for chunk in numbers.chunks(ROWS_PER_STATEMENT) {
        let rows: Vec<LicenceRow> = with_conn!(conn, |c| licences::table
            .filter(licences::number.eq_any(chunk))
            .select(LicenceRow::as_select())
            .load(c))?;
        for row in rows {
            let stored = StoredLicence::try_from(row)?;
            found.insert(stored.licence.number.as_str().to_owned(), stored);
        }
    }
    Ok(found)
}

/// Writes what a registry event changes (states, points, classes, validity, authority, due
/// dates) and records the licence as synchronised `now`.
pub fn update_registry_fields(
    conn: &mut DbConn,
    l: &Licence,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    with_conn!(conn, |c| diesel::update(
        licences::table.find(l.number.as_str())
    )
    .set((
        licences::issuing_authority.eq(&l.issuing_authority),
        licences::classes.eq(l.classes.to_codes()),
        licences::valid_from.eq(l.valid_from),
        licences::valid_until.eq(l.valid_until),
        licences::statuses.eq(states_to_codes(&l.states)),
        licences::points.eq(i32::from(l.points)),
        licences::points_cycle_start.eq(l.points_cycle_start),
        licences::medical_due.eq(l.medical_due),
        licences::review_due.eq(l.review_due),
        licences::synced_at.eq(now.naive_utc()),
    ))
    .execute(c))?;
    Ok(())
}

pub fn find(
    conn: &mut DbConn,
    number: &LicenceNumber,
) -> Result<Option<StoredLicence>, StorageError> {
    let row = with_conn!(conn, |c| licences::table
        .find(number.as_str())
        .select(LicenceRow::as_select())
        .get_result(c)
        .optional())?;
    row.map(StoredLicence::try_from).transpose()
}

/// [`find`] inside a write transaction, locking the row on PostgreSQL so that concurrent
/// changes to one licence apply one after the other; SQLite's write transaction holds the
/// database lock already. `FOR NO KEY UPDATE`, not `FOR UPDATE`: it still queues every other
/// writer of the licence (a registry update takes the same lock), but not the key-share lock
/// that inserting a row referencing the licence takes (a notification, an e-licence). With
/// `FOR UPDATE`, a transaction waiting on ours for a row we will touch, while holding a row
/// that references the licence, deadlocked with us (seen under concurrent counter issuance).
pub fn find_for_update(
    conn: &mut DbConn,
    number: &LicenceNumber,
) -> Result<Option<StoredLicence>, StorageError> {
    let key = number.as_str();
    let row = match conn {
        DbConn::Sqlite(c) => licences::table
            .find(key)
            .select(LicenceRow::as_select())
            .get_result(&mut **c)
            .optional()?,
        DbConn::Pg(c) => licences::table
            .find(key)
            .select(LicenceRow::as_select())
            .for_no_key_update()
            .get_result(&mut **c)
            .optional()?,
    };
    row.map(StoredLicence::try_from).transpose()
}

/// Of `numbers`, the licences no other transaction is writing, locked against writers until
/// the caller's transaction ends (PostgreSQL: `FOR SHARE SKIP LOCKED`, in number order). The
/// status-list sweep writes only their entries: a licence being written is skipped, as its
/// writer brings its entries up to date itself, from the values it commits. On SQLite the
/// caller's write transaction already excludes every other writer: all of them.
pub fn lock_unwritten(conn: &mut DbConn, numbers: &[&str]) -> Result<Vec<String>, StorageError> {
    match conn {
        DbConn::Sqlite(_) => Ok(numbers.iter().map(|n| (*n).to_owned()).collect()),
        DbConn::Pg(c) => Ok(licences::table
            .filter(licences::number.eq_any(numbers))
            .order(licences::number.asc())
            .select(licences::number)
            .for_share()
            .skip_locked()
            .load(&mut **c)?),
    }
}

/// The prepared photo columns: the normalised copy's key and the comma-separated failed
/// pre-checks, both `None` when the photo on file was not prepared yet.
pub type PreparedColumns = (Option<String>, Option<String>);

/// How far the photo on file was prepared: `None` when there is no licence.
pub fn prepared_photo(
    conn: &mut DbConn,
    number: &LicenceNumber,
) -> Result<Option<PreparedColumns>, StorageError> {
    Ok(with_conn!(conn, |c| licences::table
        .find(number.as_str())
        .select((licences::photo_prepared, licences::photo_checks_failed))
        .get_result(c)
        .optional())?)
}

/// Records the photo on file as prepared (issuance prepares a photo the import did not).
pub fn set_prepared(
    conn: &mut DbConn,
    number: &LicenceNumber,
    prepared: &PreparedPhoto,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    if !prepared.sha256.is_empty() {
        photos::put(conn, &prepared.sha256, "image/jpeg", &prepared.jpeg, now)?;
    }
    with_conn!(conn, |c| diesel::update(
        licences::table.find(number.as_str())
    )
    .set((
        licences::photo_prepared.eq(&prepared.sha256),
        licences::photo_checks_failed.eq(prepared.failed_checks.join(",")),
    ))
    .execute(c))?;
    Ok(())
}

/// The photo on file, if any.
pub fn find_photo(
    conn: &mut DbConn,
    number: &LicenceNumber,
) -> Result<Option<RegistryPhoto>, StorageError> {
    type PhotoColumns = (Option<Vec<u8>>, Option<NaiveDate>);
    let row: Option<PhotoColumns> = with_conn!(conn, |c| licences::table
        .find(number.as_str())
        .select((licences::photo, licences::photo_taken))
        .get_result::<PhotoColumns>(c)
        .optional())?;
    Ok(row.and_then(|(bytes, taken)| {
        let bytes: Vec<u8> = bytes?;
        let format = PhotoFormat::sniff(&bytes)?;
        Some(RegistryPhoto {
            prepared: None,
            bytes,
            format,
            taken,
        })
    }))
}

pub fn exists(conn: &mut DbConn, number: &LicenceNumber) -> Result<bool, StorageError> {
    let n: i64 = with_conn!(conn, |c| licences::table
        .filter(licences::number.eq(number.as_str()))
        .count()
        .get_result(c))?;
    Ok(n > 0)
}

pub fn count(conn: &mut DbConn) -> Result<i64, StorageError> {
    Ok(with_conn!(conn, |c| licences::table.count().get_result(c))?)
}
