//! Issued e-licences. At most one is `current` per licence (a partial unique index).

use super::schema::e_licences;
use super::{with_conn, DbConn, StorageError};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = e_licences)]
pub struct ELicenceRow {
    pub id: String,
    pub licence_number: String,
    pub state: String,
    pub photo_source: String,
    pub photo_media_type: String,
    pub photo_sha256: String,
    pub generated_at: NaiveDateTime,
    pub superseded_at: Option<NaiveDateTime>,
    /// Serial number: the `e` claim of its codes (assigned by the database on insert).
    pub serial: i64,
}

impl ELicenceRow {
    pub fn is_current(&self) -> bool {
        self.state == "current"
    }

    pub fn generated_at_utc(&self) -> DateTime<Utc> {
        self.generated_at.and_utc()
    }
}

pub struct NewELicence<'a> {
    pub id: &'a str,
    pub licence_number: &'a str,
    pub photo_source: &'a str,
    pub photo: &'a [u8],
    pub photo_media_type: &'a str,
    pub photo_sha256: &'a str,
    pub generated_at: DateTime<Utc>,
}

pub fn insert_current(conn: &mut DbConn, e: &NewELicence<'_>) -> Result<(), StorageError> {
    let values = (
        e_licences::id.eq(e.id),
        e_licences::licence_number.eq(e.licence_number),
        e_licences::state.eq("current"),
        e_licences::photo_source.eq(e.photo_source),
        e_licences::photo.eq(e.photo),
        e_licences::photo_media_type.eq(e.photo_media_type),
        e_licences::photo_sha256.eq(e.photo_sha256),
        e_licences::generated_at.eq(e.generated_at.naive_utc()),
    );
    with_conn!(conn, |c| diesel::insert_into(e_licences::table)
        .values(values)
        .execute(c))?;
    Ok(())
}

pub fn current_for(
    conn: &mut DbConn,
    licence_number: &str,
) -> Result<Option<ELicenceRow>, StorageError> {
    Ok(with_conn!(conn, |c| e_licences::table
        .filter(e_licences::licence_number.eq(licence_number))
        .filter(e_licences::state.eq("current"))
        .select(ELicenceRow::as_select())
        .get_result(c)
        .optional())?)
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<ELicenceRow>, StorageError> {
    Ok(with_conn!(conn, |c| e_licences::table
        .find(id)
        .select(ELicenceRow::as_select())
        .get_result(c)
        .optional())?)
}

/// The e-licence a code names by its serial number.
pub fn find_by_serial(conn: &mut DbConn, serial: i64) -> Result<Option<ELicenceRow>, StorageError> {
    Ok(with_conn!(conn, |c| e_licences::table
        .filter(e_licences::serial.eq(serial))
        .select(ELicenceRow::as_select())
        .get_result(c)
        .optional())?)
}

/// The photo bytes of an e-licence and their media type.
pub fn photo(conn: &mut DbConn, id: &str) -> Result<Option<(Vec<u8>, String)>, StorageError> {
    Ok(with_conn!(conn, |c| e_licences::table
        .find(id)
        .select((e_licences::photo, e_licences::photo_media_type))
        .get_result::<(Vec<u8>, String)>(c)
        .optional())?)
}

/// Puts a new photo on an e-licence (an approved photo change, 更换照片).
pub fn replace_photo(
    conn: &mut DbConn,
    id: &str,
    photo_source: &str,
    photo: &[u8],
    media_type: &str,
    sha256: &str,
) -> Result<(), StorageError> {
    with_conn!(conn, |c| diesel::update(e_licences::table.find(id))
        .set((
            e_licences::photo_source.eq(photo_source),
            e_licences::photo.eq(photo),
            e_licences::photo_media_type.eq(media_type),
            e_licences::photo_sha256.eq(sha256),
        ))
        .execute(c))?;
    Ok(())
}
