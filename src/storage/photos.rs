//! Normalised photos by content (SHA-256), kept apart from the rows read on every request.

use super::schema::photo_store;
use super::{with_conn, DbConn, StorageError};
use chrono::{DateTime, Utc};
use diesel::prelude::*;

/// Stores `bytes` under `sha256` unless it is stored already (the same photo twice is one row).
pub fn put(
    conn: &mut DbConn,
    sha256: &str,
    media_type: &str,
    bytes: &[u8],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let values = (
        photo_store::sha256.eq(sha256),
        photo_store::media_type.eq(media_type),
        photo_store::bytes.eq(bytes),
        photo_store::stored_at.eq(now.naive_utc()),
    );
    with_conn!(conn, |c| diesel::insert_into(photo_store::table)
        .values(values)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// The bytes and media type of a stored photo.
pub fn get(conn: &mut DbConn, sha256: &str) -> Result<Option<(Vec<u8>, String)>, StorageError> {
    Ok(with_conn!(conn, |c| photo_store::table
        .find(sha256)
        .select((photo_store::bytes, photo_store::media_type))
        .get_result::<(Vec<u8>, String)>(c)
        .optional())?)
}
