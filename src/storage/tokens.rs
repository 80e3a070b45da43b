//! API tokens. Only a hash of each token is stored; the secret is shown once, at creation.

use super::licences::{LicenceRow, StoredLicence};
use super::schema::{api_tokens, licences};
use super::{with_conn, DbConn, StorageError};
use crate::domain::role::Role;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct TokenRow {
    pub id: String,
    pub role: Role,
    pub licence_number: Option<String>,
    pub label: Option<String>,
    pub created_at: NaiveDateTime,
    pub revoked_at: Option<NaiveDateTime>,
    /// A clerk's issuing authority or a partner's purpose.
    pub scope: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewToken<'a> {
    pub id: &'a str,
    pub token_hash: &'a str,
    pub role: &'a str,
    pub licence_number: Option<&'a str>,
    pub label: Option<&'a str>,
    pub created_at: NaiveDateTime,
    pub scope: Option<&'a str>,
}

pub fn insert(conn: &mut DbConn, token: &NewToken<'_>) -> Result<(), StorageError> {
    with_conn!(conn, |c| diesel::insert_into(api_tokens::table)
        .values(token)
        .execute(c))?;
    Ok(())
}

/// The token with this hash, revoked or not: the caller decides what a revoked token means.
pub fn find_by_hash(conn: &mut DbConn, token_hash: &str) -> Result<Option<TokenRow>, StorageError> {
    Ok(with_conn!(conn, |c| api_tokens::table
        .filter(api_tokens::token_hash.eq(token_hash))
        .select(TokenRow::as_select())
        .get_result(c)
        .optional())?)
}

/// [`find_by_hash`] and the licence the token names, in one statement: a holder's read of
/// their own licence is then one round trip to PostgreSQL, not two.
pub fn find_by_hash_with_licence(
    conn: &mut DbConn,
    token_hash: &str,
) -> Result<Option<(TokenRow, Option<StoredLicence>)>, StorageError> {
    let found = with_conn!(conn, |c| api_tokens::table
        .left_join(licences::table.on(licences::number.nullable().eq(api_tokens::licence_number)))
        .filter(api_tokens::token_hash.eq(token_hash))
        .select((TokenRow::as_select(), Option::<LicenceRow>::as_select()))
        .get_result::<(TokenRow, Option<LicenceRow>)>(c)
        .optional())?;
    found
        .map(|(token, licence)| Ok((token, licence.map(StoredLicence::try_from).transpose()?)))
        .transpose()
}

pub fn list(conn: &mut DbConn) -> Result<Vec<TokenRow>, StorageError> {
    Ok(with_conn!(conn, |c| api_tokens::table
        .select(TokenRow::as_select())
        .order((api_tokens::created_at, api_tokens::id))
        .load(c))?)
}

/// Revokes an active token. `Ok(false)` when no active token has this id.
pub fn revoke(conn: &mut DbConn, id: &str, now: DateTime<Utc>) -> Result<bool, StorageError> {
    let n = with_conn!(conn, |c| diesel::update(api_tokens::table)
        .filter(api_tokens::id.eq(id))
        .filter(api_tokens::revoked_at.is_null())
        .set(api_tokens::revoked_at.eq(now.naive_utc()))
        .execute(c))?;
    Ok(n == 1)
}
