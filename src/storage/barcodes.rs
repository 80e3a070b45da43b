//! One-time barcode tokens: a short number that only resolves online, once, before it expires.

use super::schema::barcode_tokens;
use super::{with_conn, DbConn, StorageError};
use crate::domain::purpose::Purpose;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

/// A display code to store: its barcode token, its `jti`, the signed QR text, when both
/// expire and the purpose both were made for (`roadside`, `rental`, …).
pub struct NewDisplayCode<'a> {
    pub token: &'a str,
    pub jti: &'a str,
    pub e_licence_id: &'a str,
    pub code: &'a str,
    pub expires_at: DateTime<Utc>,
    pub purpose: Purpose,
}

/// Stores a display code. False when its token or `jti` is taken already (a random
/// collision): nothing is written and the caller draws new ones. `ON CONFLICT DO NOTHING`
/// keeps a PostgreSQL transaction usable after the collision.
pub fn insert(conn: &mut DbConn, d: &NewDisplayCode<'_>) -> Result<bool, StorageError> {
    let values = (
        barcode_tokens::token.eq(d.token),
        barcode_tokens::jti.eq(d.jti),
        barcode_tokens::e_licence_id.eq(d.e_licence_id),
        barcode_tokens::code.eq(d.code),
        barcode_tokens::expires_at.eq(d.expires_at.naive_utc()),
        barcode_tokens::purpose.eq(d.purpose),
    );
    let inserted = with_conn!(conn, |c| diesel::insert_into(barcode_tokens::table)
        .values(values)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(inserted == 1)
}

/// The display code a barcode token came with: its e-licence and when both expire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedWith {
    pub e_licence_id: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// First use, in time.
    Fresh(IssuedWith),
    Unknown,
    /// Used before: replay.
    AlreadyUsed(IssuedWith),
    Expired(IssuedWith),
    /// Made for another purpose than the scanner's: left unused, for the right verifier.
    OtherPurpose,
}

/// Marks a token used, exactly once even under concurrent scans: the `used_at IS NULL`
/// condition makes the update itself the arbiter. A token made for another purpose than
/// `purpose` is neither used nor described.
pub fn redeem(
    conn: &mut DbConn,
    token: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Redeemed, StorageError> {
    let row: Option<(String, NaiveDateTime, Option<NaiveDateTime>, Purpose)> =
        with_conn!(conn, |c| barcode_tokens::table
            .find(token)
            .select((
                barcode_tokens::e_licence_id,
                barcode_tokens::expires_at,
                barcode_tokens::used_at,
                barcode_tokens::purpose
            ))
            .get_result(c)
            .optional())?;
    let Some((e_licence_id, expires_at, used_at, made_for)) = row else {
        return Ok(Redeemed::Unknown);
    };
    if made_for != purpose {
        return Ok(Redeemed::OtherPurpose);
    }
    let issued = IssuedWith {
        e_licence_id,
        expires_at: expires_at.and_utc(),
    };
    if used_at.is_some() {
        return Ok(Redeemed::AlreadyUsed(issued));
    }
    if now.naive_utc() >= expires_at {
        return Ok(Redeemed::Expired(issued));
    }
    let claimed = with_conn!(conn, |c| diesel::update(barcode_tokens::table.find(token))
        .filter(barcode_tokens::used_at.is_null())
        .set(barcode_tokens::used_at.eq(now.naive_utc()))
        .execute(c))?;
    Ok(if claimed == 1 {
        Redeemed::Fresh(issued)
    } else {
        Redeemed::AlreadyUsed(issued)
    })
}

/// The e-licence a display code was issued for, by the code's `jti` (unique), and the
/// purpose it was made for.
pub fn by_jti(conn: &mut DbConn, jti: &str) -> Result<Option<(String, Purpose)>, StorageError> {
    // `get_result`, not `first`: SQLite prepares a statement with a bound LIMIT again every
    // time it is run (the planner reads the bound value), and the jti is unique anyway.
    Ok(with_conn!(conn, |c| barcode_tokens::table
        .filter(barcode_tokens::jti.eq(jti))
        .select((barcode_tokens::e_licence_id, barcode_tokens::purpose))
        .get_result(c)
        .optional())?)
}

/// The newest display code of an e-licence for `purpose` that is still unexpired and
/// unscanned: (barcode token, QR text, expiry).
pub fn latest_live(
    conn: &mut DbConn,
    e_licence_id: &str,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<Option<(String, String, DateTime<Utc>)>, StorageError> {
    // The few live codes are read whole and the newest picked here: with `ORDER BY … LIMIT
    // 1` SQLite would prepare the statement again on every run (see `by_jti`).
    let live: Vec<(String, String, NaiveDateTime)> = with_conn!(conn, |c| barcode_tokens::table
        .filter(barcode_tokens::e_licence_id.eq(e_licence_id))
        .filter(barcode_tokens::purpose.eq(purpose))
        .filter(barcode_tokens::expires_at.gt(now.naive_utc()))
        .filter(barcode_tokens::used_at.is_null())
        .select((
            barcode_tokens::token,
            barcode_tokens::code,
            barcode_tokens::expires_at
        ))
        .load(c))?;
    let row = live.into_iter().max_by_key(|(_, _, expires)| *expires);
    Ok(row.map(|(t, c, e)| (t, c, e.and_utc())))
}

/// Ends the e-licence's display codes that are still live at `now` (its photo or its
/// standing changed: the app must fetch codes that say so). Returns how many ended.
pub fn expire_live(
    conn: &mut DbConn,
    e_licence_id: &str,
    now: DateTime<Utc>,
) -> Result<usize, StorageError> {
    let now = now.naive_utc();
    Ok(with_conn!(conn, |c| diesel::update(barcode_tokens::table)
        .filter(barcode_tokens::e_licence_id.eq(e_licence_id))
        .filter(barcode_tokens::expires_at.gt(now))
        .set(barcode_tokens::expires_at.eq(now))
        .execute(c))?)
}
