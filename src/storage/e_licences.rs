//! Issued e-licences. At most one is `current` per licence (a partial unique index).

use super::licences::{LicenceRow, StoredLicence};
use super::schema::{e_licences, licences, photo_store};
use super::{photos, with_conn, DbConn, StorageError};
use crate::domain::e_licence::{ELicencePhotoSource, ELicenceState, IssuedVia};
use crate::domain::registry_event::SupersedeReason;
use crate::status_list::Position;
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = e_licences)]
pub struct ELicenceRow {
    pub id: String,
    pub licence_number: String,
    pub state: ELicenceState,
    pub photo_source: ELicencePhotoSource,
    pub photo_media_type: String,
    pub photo_sha256: String,
    pub generated_at: NaiveDateTime,
    pub superseded_at: Option<NaiveDateTime>,
    /// Serial number, in order of issue (assigned by the database on insert): pages the
    /// history. Before status lists were sharded it was also the `e` claim.
    pub serial: i64,
    /// Why it stopped standing.
    pub superseded_reason: Option<SupersedeReason>,
    /// `app`, or `counter` when a clerk issued it.
    pub issued_via: IssuedVia,
    pub issued_by: Option<String>,
    /// Its status list and its index there: together the `e` claim of its codes.
    pub status_list: i32,
    pub status_index: i32,
}

impl ELicenceRow {
    /// Its entry in the status lists; an out-of-range pair is a corrupt row.
    pub fn position(&self) -> Result<Position, StorageError> {
        Position::from_columns(self.status_list, self.status_index).ok_or_else(|| {
            StorageError::Corrupt(format!(
                "e-licence {}: list position {}/{}",
                self.id, self.status_list, self.status_index
            ))
        })
    }

    pub fn is_current(&self) -> bool {
        self.state == ELicenceState::Current
    }

    pub fn generated_at_utc(&self) -> DateTime<Utc> {
        self.generated_at.and_utc()
    }
}

pub struct NewELicence<'a> {
    pub id: &'a str,
    pub licence_number: &'a str,
    pub photo_source: ELicencePhotoSource,
    pub photo: &'a [u8],
    pub photo_media_type: &'a str,
    pub photo_sha256: &'a str,
    pub generated_at: DateTime<Utc>,
    /// `issued_by`: the clerk's token id when a clerk issued it.
    pub issued_via: IssuedVia,
    pub issued_by: Option<&'a str>,
    /// A free position (`service::status_list::allocate` draws one); VALID until its status
    /// is written.
    pub position: Position,
}

/// Inserts the licence's current e-licence and returns it as stored; its photo goes to
/// `photo_store` by its digest. `None`, with nothing written but the photo, when a unique
/// index refuses the row: the licence has a current e-licence already, or a concurrent
/// issuance drew the same position and committed first. (`ON CONFLICT DO NOTHING`, not a
/// savepoint around a failing insert: two statements fewer on PostgreSQL.)
pub fn insert_current(
    conn: &mut DbConn,
    e: &NewELicence<'_>,
) -> Result<Option<ELicenceRow>, StorageError> {
    photos::put(
        conn,
        e.photo_sha256,
        e.photo_media_type,
        e.photo,
        e.generated_at,
    )?;
    let values = (
        e_licences::id.eq(e.id),
        e_licences::licence_number.eq(e.licence_number),
        e_licences::state.eq(ELicenceState::Current),
        e_licences::photo_source.eq(e.photo_source),
        e_licences::photo_media_type.eq(e.photo_media_type),
        e_licences::photo_sha256.eq(e.photo_sha256),
        e_licences::generated_at.eq(e.generated_at.naive_utc()),
        e_licences::issued_via.eq(e.issued_via),
        e_licences::issued_by.eq(e.issued_by),
        e_licences::status_list.eq(e.position.list() as i32),
        e_licences::status_index.eq(e.position.index() as i32),
    );
    let insert = diesel::insert_into(e_licences::table)
        .values(values)
        .on_conflict_do_nothing();
    let inserted = match conn {
        DbConn::Pg(c) => {
            return Ok(insert
                .returning(ELicenceRow::as_returning())
                .get_result(&mut **c)
                .optional()?)
        }
        DbConn::Sqlite(c) => insert.execute(&mut **c)?,
    };
    // SQLite: a trigger gives the serial after the insert, and RETURNING shows the row as
    // it was before its AFTER triggers; read it back (in-process, no round trip).
    if inserted == 0 {
        return Ok(None);
    }
    find(conn, e.id)
}

/// The licence's current e-licence, if it has one. Found among the licence's e-licences (a
/// handful: one more for each re-issue), not with `state = ?` in the query: on SQLite a
/// statement that binds the state of a table with a partial index on it (the one current
/// e-licence) is prepared again every time it runs, to check the bound value against the
/// index's condition; this one is prepared once.
pub fn current_for(
    conn: &mut DbConn,
    licence_number: &str,
) -> Result<Option<ELicenceRow>, StorageError> {
    let all: Vec<ELicenceRow> = with_conn!(conn, |c| e_licences::table
        .filter(e_licences::licence_number.eq(licence_number))
        .order(e_licences::serial.desc())
        .select(ELicenceRow::as_select())
        .load(c))?;
    Ok(all.into_iter().find(ELicenceRow::is_current))
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<ELicenceRow>, StorageError> {
    Ok(with_conn!(conn, |c| e_licences::table
        .find(id)
        .select(ELicenceRow::as_select())
        .get_result(c)
        .optional())?)
}

/// Ends the licence's current e-licence, if it has one: state `superseded`, when and why.
/// Nothing is deleted; its codes verify as `superseded` from now on.
pub fn supersede_current(
    conn: &mut DbConn,
    licence_number: &str,
    reason: SupersedeReason,
    now: DateTime<Utc>,
) -> Result<Option<ELicenceRow>, StorageError> {
    // One conditional UPDATE, safe whatever locks the caller holds (a bound state makes SQLite
    // prepare it again each time, see current_for: supersedes are rare).
    Ok(with_conn!(conn, |c| diesel::update(
        e_licences::table
            .filter(e_licences::licence_number.eq(licence_number))
            .filter(e_licences::state.eq(ELicenceState::Current))
    )
    .set((
        e_licences::state.eq(ELicenceState::Superseded),
        e_licences::superseded_at.eq(now.naive_utc()),
        e_licences::superseded_reason.eq(reason),
    ))
    .returning(ELicenceRow::as_returning())
    .get_result(c)
    .optional())?)
}

/// The licence's e-licences, newest first, with serials below `before` (keyset paging).
pub fn history(
    conn: &mut DbConn,
    licence_number: &str,
    before: Option<i64>,
    limit: i64,
) -> Result<Vec<ELicenceRow>, StorageError> {
    Ok(with_conn!(conn, |c| {
        let mut q = e_licences::table
            .filter(e_licences::licence_number.eq(licence_number))
            .select(ELicenceRow::as_select())
            .into_boxed();
        if let Some(b) = before {
            q = q.filter(e_licences::serial.lt(b));
        }
        q.order(e_licences::serial.desc()).limit(limit).load(c)
    })?)
}

/// The licence's newest e-licence, current or not.
pub fn latest_for(
    conn: &mut DbConn,
    licence_number: &str,
) -> Result<Option<ELicenceRow>, StorageError> {
    Ok(history(conn, licence_number, None, 1)?.pop())
}

/// The e-licences at these positions, each with its licence when that is stored, in one
/// statement: a verifier's batch reads all its roadside codes' e-licences in one round trip.
/// Positions that name no e-licence are absent from the answer.
pub fn at_positions_with_licences(
    conn: &mut DbConn,
    positions: &[Position],
) -> Result<HashMap<Position, (ELicenceRow, Option<StoredLicence>)>, StorageError> {
    if positions.is_empty() {
        return Ok(HashMap::new());
    }
    let mut lists: Vec<i32> = positions.iter().map(|p| p.list() as i32).collect();
    lists.sort_unstable();
    lists.dedup();
    let indexes: Vec<i32> = positions.iter().map(|p| p.index() as i32).collect();
    let rows = with_conn!(conn, |c| e_licences::table
        .left_join(licences::table.on(licences::number.eq(e_licences::licence_number)))
        .filter(e_licences::status_list.eq_any(&lists))
        .filter(e_licences::status_index.eq_any(&indexes))
        .select((ELicenceRow::as_select(), Option::<LicenceRow>::as_select()))
        .load::<(ELicenceRow, Option<LicenceRow>)>(c))?;
    let mut found = HashMap::with_capacity(rows.len());
    for (e, licence) in rows {
        // `list IN … AND index IN …` may also match another list's entry at one of the indexes.
        let Some(at) = Position::from_columns(e.status_list, e.status_index)
            .filter(|at| positions.contains(at))
        else {
            continue;
        };
        found.insert(at, (e, licence.map(StoredLicence::try_from).transpose()?));
    }
    Ok(found)
}

/// The photo bytes of an e-licence and their media type. The bytes live in `photo_store`
/// (by digest), not in the e-licence row, which every verification reads.
pub fn photo(conn: &mut DbConn, id: &str) -> Result<Option<(Vec<u8>, String)>, StorageError> {
    Ok(with_conn!(conn, |c| e_licences::table
        .inner_join(photo_store::table.on(photo_store::sha256.eq(e_licences::photo_sha256)))
        .filter(e_licences::id.eq(id))
        .select((photo_store::bytes, e_licences::photo_media_type))
        .get_result::<(Vec<u8>, String)>(c)
        .optional())?)
}

/// Puts a new photo on an e-licence (an approved photo change, 更换照片).
pub fn replace_photo(
    conn: &mut DbConn,
    id: &str,
    photo_source: ELicencePhotoSource,
    photo: &[u8],
    media_type: &str,
    sha256: &str,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    photos::put(conn, sha256, media_type, photo, now)?;
    with_conn!(conn, |c| diesel::update(e_licences::table.find(id))
        .set((
            e_licences::photo_source.eq(photo_source),
            e_licences::photo_media_type.eq(media_type),
            e_licences::photo_sha256.eq(sha256),
        ))
        .execute(c))?;
    Ok(())
}

/// One e-licence as its status-list entry is computed: no photo, no names, only what decides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRow {
    pub id: String,
    pub licence_number: String,
    pub status_list: i32,
    pub state: ELicenceState,
    /// The entry as stored now (0 VALID, 1 INVALID, 2 SUSPENDED), and when time alone may
    /// change it next.
    pub list_status: i16,
    pub recheck_on: Option<NaiveDate>,
    /// The eligibility inputs of its licence; `None` when the licence row is missing.
    pub licence: Option<LicenceRulesRow>,
}

/// The columns of a licence that eligibility reads, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LicenceRulesRow {
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    /// Registry state codes, comma-separated.
    pub statuses: String,
    pub points: i32,
    pub medical_due: Option<NaiveDate>,
    pub review_due: Option<NaiveDate>,
}

type EntryColumns = (
    (String, String, i32, ELicenceState, i16, Option<NaiveDate>),
    (
        Option<NaiveDate>,
        Option<NaiveDate>,
        Option<String>,
        Option<i32>,
        Option<NaiveDate>,
        Option<NaiveDate>,
    ),
);

fn entry_row(
    ((id, licence_number, status_list, state, list_status, recheck_on), l): EntryColumns,
) -> EntryRow {
    let (from, until, statuses, points, medical, review) = l;
    let licence = match (from, statuses, points) {
        (Some(valid_from), Some(statuses), Some(points)) => Some(LicenceRulesRow {
            valid_from,
            valid_until: until,
            statuses,
            points,
            medical_due: medical,
            review_due: review,
        }),
        _ => None,
    };
    EntryRow {
        id,
        licence_number,
        status_list,
        state,
        list_status,
        recheck_on,
        licence,
    }
}

macro_rules! entry_query {
    () => {{
        use super::schema::licences;
        e_licences::table.left_join(licences::table).select((
            (
                e_licences::id,
                e_licences::licence_number,
                e_licences::status_list,
                e_licences::state,
                e_licences::list_status,
                e_licences::list_status_recheck_on,
            ),
            (
                licences::valid_from.nullable(),
                licences::valid_until.nullable(),
                licences::statuses.nullable(),
                licences::points.nullable(),
                licences::medical_due.nullable(),
                licences::review_due.nullable(),
            ),
        ))
    }};
}

/// Numbers per query of [`entries_of_licences`].
const NUMBERS_PER_QUERY: usize = 500;

/// Every e-licence of these licences (a handful each), with its licence's eligibility inputs.
pub fn entries_of_licences(
    conn: &mut DbConn,
    numbers: &[&str],
) -> Result<Vec<EntryRow>, StorageError> {
    let mut out = Vec::new();
    for chunk in numbers.chunks(NUMBERS_PER_QUERY) {
        let rows: Vec<EntryColumns> = with_conn!(conn, |c| entry_query!()
            .filter(e_licences::licence_number.eq_any(chunk))
            .load(c))?;
        out.extend(rows.into_iter().map(entry_row));
    }
    Ok(out)
}

/// At most `limit` e-licences whose entry may have changed by `today` (its recheck day has
/// come), from the partial index on the recheck day.
pub fn entries_due(
    conn: &mut DbConn,
    today: NaiveDate,
    limit: i64,
) -> Result<Vec<EntryRow>, StorageError> {
    let rows: Vec<EntryColumns> = with_conn!(conn, |c| entry_query!()
        .filter(e_licences::list_status_recheck_on.le(today))
        .order(e_licences::list_status_recheck_on.asc())
        .limit(limit)
        .load(c))?;
    Ok(rows.into_iter().map(entry_row).collect())
}

/// Writes an e-licence's entry and its next recheck day.
pub fn set_entry(
    conn: &mut DbConn,
    id: &str,
    list_status: i16,
    recheck_on: Option<NaiveDate>,
) -> Result<(), StorageError> {
    with_conn!(conn, |c| diesel::update(e_licences::table.find(id))
        .set((
            e_licences::list_status.eq(list_status),
            e_licences::list_status_recheck_on.eq(recheck_on),
        ))
        .execute(c))?;
    Ok(())
}

/// The entries of `list` that are not VALID, `(index, status)`, from the partial index that
/// holds only those: what signing one list reads.
pub fn listed_entries(conn: &mut DbConn, list: i32) -> Result<Vec<(i32, i16)>, StorageError> {
    // The condition is written out, not bound: only a literal lets the planners (SQLite's
    // and PostgreSQL's generic plans) match it with the index's own.
    let not_valid = diesel::dsl::sql::<diesel::sql_types::Bool>("e_licences.list_status <> 0");
    Ok(with_conn!(conn, |c| e_licences::table
        .filter(e_licences::status_list.eq(list))
        .filter(not_valid)
        .select((e_licences::status_index, e_licences::list_status))
        .load(c))?)
}

/// Which of `indexes` of `list` an e-licence already has.
pub fn taken_indexes(
    conn: &mut DbConn,
    list: i32,
    indexes: &[i32],
) -> Result<Vec<i32>, StorageError> {
    Ok(with_conn!(conn, |c| e_licences::table
        .filter(e_licences::status_list.eq(list))
        .filter(e_licences::status_index.eq_any(indexes))
        .select(e_licences::status_index)
        .load(c))?)
}
