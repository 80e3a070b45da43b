//! One maintenance pass over the status lists, run by one process at a time: the sweep
//! writes the entries whose recheck day has come, then every list whose content changed (or
//! whose token is signed by another key than the active one, or is past half its lifetime)
//! is signed again from its entries that are not VALID, and stored for every process to serve.

use super::entries::update_for_licences;
use super::Settings;
use crate::clock::china_date;
use crate::signing::KeyRing;
use crate::status_list::token::{self, StatusListClaims};
use crate::status_list::{Status, StatusList, LIST_SIZE};
use crate::storage::status_lists::{self, ListState, NewSignature};
use crate::storage::{e_licences, licences, DbConn, StorageError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::time::Instant;

/// E-licences re-evaluated per write transaction of the sweep.
const SWEEP_BATCH: i64 = 1_000;

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    /// False when another process held the lock: this one did nothing.
    pub ran: bool,
    /// E-licences whose recheck day had come.
    pub swept: usize,
    /// The lists signed again.
    pub signed: Vec<i32>,
}

/// Runs a pass on `conn` if no other process is running one.
pub fn run(
    conn: &mut DbConn,
    ring: &KeyRing,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Pass, StorageError> {
    if !status_lists::try_lock_maintenance(conn)? {
        return Ok(Pass::default());
    }
    let pass = sweep(conn, now).and_then(|swept| {
        let signed = sign_due(conn, ring, settings, now)?;
        Ok(Pass {
            ran: true,
            swept,
            signed,
        })
    });
    // Released on the connection that took it, whatever the pass did.
    let released = status_lists::unlock_maintenance(conn);
    let pass = pass?;
    released?;
    Ok(pass)
}

/// Writes the entries of every e-licence whose recheck day is today or earlier, a batch a
/// transaction, from the licences as committed: a licence another transaction is writing is
/// skipped (`licences::lock_unwritten`), as that writer rewrites its entries itself, and
/// stays due for the next pass if it did not. Each entry written leaves the set
/// (`next_change_after` gives a day after today, or none), and a batch that writes none ends
/// the sweep, so the loop ends.
fn sweep(conn: &mut DbConn, now: DateTime<Utc>) -> Result<usize, StorageError> {
    let today = china_date(now);
    let mut swept = 0;
    loop {
        let (due, written) = conn.write_transaction(|conn| {
            let due = e_licences::entries_due(conn, today, SWEEP_BATCH)?;
            let mut numbers: Vec<&str> = due.iter().map(|r| r.licence_number.as_str()).collect();
            numbers.sort_unstable();
            numbers.dedup();
            let locked = licences::lock_unwritten(conn, &numbers)?;
            let mut locked: Vec<&str> = locked.iter().map(String::as_str).collect();
            locked.sort_unstable();
            update_for_licences(conn, &locked, now)?;
            let written = due
                .iter()
                .filter(|r| locked.binary_search(&r.licence_number.as_str()).is_ok())
                .count();
            Ok::<_, StorageError>((due.len(), written))
        })?;
        swept += written;
        if (due as i64) < SWEEP_BATCH || written == 0 {
            return Ok(swept);
        }
    }
}

/// Does this list need a new token at `now`?
fn due(state: &ListState, ring: &KeyRing, settings: &Settings, now: DateTime<Utc>) -> bool {
    let half_life = settings.lifetime / 2;
    state.content_version > state.signed_version
        || state.kid.as_deref() != Some(ring.active_kid())
        || state
            .signed_at
            .is_none_or(|at| now >= at.and_utc() + half_life || now < at.and_utc())
}

/// Signs every list that is due, one after the other; returns their numbers.
fn sign_due(
    conn: &mut DbConn,
    ring: &KeyRing,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<Vec<i32>, StorageError> {
    let mut signed = Vec::new();
    // The versions are read before the entries: a change committed in between is in the
    // entries read and also leaves its version above the one stored, so it is signed again
    // next pass rather than lost.
    for state in status_lists::states(conn)? {
        if due(&state, ring, settings, now) {
            sign_one(conn, ring, settings, &state, now)?;
            signed.push(state.list_id);
        }
    }
    Ok(signed)
}

/// The strong entity tag of a token: the same token has the same tag in every process.
pub fn etag_of(token: &str) -> String {
    format!(
        "\"{}\"",
        URL_SAFE_NO_PAD.encode(&Sha256::digest(token.as_bytes())[..16])
    )
}

fn sign_one(
    conn: &mut DbConn,
    ring: &KeyRing,
    settings: &Settings,
    state: &ListState,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let started = Instant::now();
    let list_id = state.list_id;
    let entries = e_licences::listed_entries(conn, list_id)?;
    let (list, invalid, suspended) = pack(settings, &entries)
        .map_err(|e| StorageError::Corrupt(format!("status list {list_id}: {e}")))?;
    let mut status_list = list.encode();
    status_list.aggregation_uri = Some(settings.aggregation_uri.clone());
    let compressed_bytes = status_list.lst.len() * 3 / 4;
    let claims = StatusListClaims {
        sub: settings.uri_of(list_id as u32),
        iat: now.timestamp(),
        exp: (now + settings.lifetime).timestamp(),
        ttl: settings.ttl.num_seconds().max(1) as u64,
        status_list,
    };
    let token = token::sign(ring, &claims);
    let etag = etag_of(&token);
    status_lists::store_signed(
        conn,
        &NewSignature {
            list_id,
            version: state.content_version,
            token: &token,
            etag: &etag,
            kid: ring.active_kid(),
            signed_at: DateTime::from_timestamp(claims.iat, 0).unwrap_or(now),
            expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or(now),
            invalid,
            suspended,
        },
    )?;
    let changed = state.content_version > state.signed_version;
    crate::telemetry::metrics::status_list_signed(
        changed.then(|| now - state.changed_at.and_utc()),
    );
    tracing::info!(
        list = list_id,
        version = state.content_version,
        invalid,
        suspended,
        compressed_bytes,
        token_bytes = token.len(),
        ms = started.elapsed().as_millis() as u64,
        "status list signed"
    );
    Ok(())
}

/// The whole list (every index of it, VALID unless listed) from its entries that are not
/// VALID; with the counts of INVALID and SUSPENDED.
pub fn pack(
    settings: &Settings,
    entries: &[(i32, i16)],
) -> Result<(StatusList, i32, i32), crate::status_list::ListError> {
    let mut list = StatusList::with_entries(settings.bits, u64::from(LIST_SIZE));
    let (mut invalid, mut suspended) = (0, 0);
    for (index, value) in entries {
        let status = u8::try_from(*value)
            .ok()
            .and_then(Status::from_value)
            .ok_or(crate::status_list::ListError::ValueTooWide {
                value: *value as u8,
                bits: settings.bits.get(),
            })?;
        match status {
            Status::Invalid => invalid += 1,
            Status::Suspended => suspended += 1,
            Status::Valid => {}
        }
        let index = u64::try_from(*index)
            .ok()
            .filter(|i| *i < u64::from(LIST_SIZE))
            .ok_or(crate::status_list::ListError::TooLarge(LIST_SIZE as usize))?;
        list.set_status(index, status)?;
    }
    Ok((list, invalid, suspended))
}
