//! The key states in the database: one truth for every process over it. The keys CLI
//! changes them, one transaction per command under the lock of
//! `storage::signing_keys::lock_for_change`; every `serve` reads them again each
//! `--keys-reload-ms` ([`live_keys`]) and signs with the key they name active.
//!
//! A database with no key states and a keys folder with a `keyring.json` (a deployment from
//! before the states moved to the database) imports the manifest's states once, at the
//! first start or keys command, so existing kids keep their states.

use crate::signing::keys::{manifest_states, new_key_file};
use crate::signing::live::StatesSource;
use crate::signing::states::NewKey;
use crate::signing::{KeyError, KeyState, KeySummary, LiveKeys};
use crate::storage::signing_keys::{self, SigningKeyRow};
use crate::storage::{Database, DbConn, StorageError};
use chrono::{DateTime, Utc};
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error(transparent)]
    Keys(#[from] KeyError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

fn to_summary(row: SigningKeyRow) -> Result<KeySummary, StorageError> {
    let state: KeyState = row.state.parse().map_err(|_| {
        StorageError::Corrupt(format!(
            "signing key {}: unknown state {:?}",
            row.kid, row.state
        ))
    })?;
    Ok(KeySummary {
        kid: row.kid,
        state,
        created_at: row.created_at.and_utc(),
        activated_at: row.activated_at.map(|t| t.and_utc()),
        rotated_at: row.rotated_at.map(|t| t.and_utc()),
        retired_at: row.retired_at.map(|t| t.and_utc()),
    })
}

fn to_row(key: &KeySummary) -> SigningKeyRow {
    SigningKeyRow {
        kid: key.kid.clone(),
        state: key.state.code().to_owned(),
        created_at: key.created_at.naive_utc(),
        activated_at: key.activated_at.map(|t| t.naive_utc()),
        rotated_at: key.rotated_at.map(|t| t.naive_utc()),
        retired_at: key.retired_at.map(|t| t.naive_utc()),
    }
}

/// The key states in the database, oldest key first.
pub fn states(conn: &mut DbConn) -> Result<Vec<KeySummary>, StorageError> {
    signing_keys::list(conn)?
        .into_iter()
        .map(to_summary)
        .collect()
}

/// Applies `rule` (one of `signing::states`) to the key states in one write transaction,
/// making any key file it needs in `dir`; imports the manifest of `dir` first when the
/// database has no states. Nothing is saved when the rule refuses.
pub fn change<T>(
    db: &Database,
    dir: &Path,
    rule: impl FnOnce(&mut Vec<KeySummary>, NewKey<'_>) -> Result<T, KeyError>,
) -> Result<T, KeysError> {
    let mut conn = db.get()?;
    conn.write_transaction(|conn| {
        signing_keys::lock_for_change(conn)?;
        let stored = states(conn)?;
        let mut keys = if stored.is_empty() {
            manifest_states(dir)?
        } else {
            stored.clone()
        };
        if stored.is_empty() && !keys.is_empty() {
            tracing::info!(
                keys = keys.len(),
                manifest = %dir.join("keyring.json").display(),
                "imported the key states of the manifest into the database; it is not read again"
            );
        }
        let outcome = rule(&mut keys, &mut || new_key_file(dir))?;
        let changed: Vec<SigningKeyRow> = keys
            .iter()
            .filter(|k| !stored.contains(k))
            .map(to_row)
            .collect();
        signing_keys::save(conn, &changed)?;
        Ok(outcome)
    })
}

/// The key states, importing the manifest of `dir` when the database has none. Reads only,
/// unless there is something to import.
pub fn load(db: &Database, dir: &Path) -> Result<Vec<KeySummary>, KeysError> {
    let stored = states(&mut db.get()?)?;
    if !stored.is_empty() {
        return Ok(stored);
    }
    change(db, dir, |_, _| Ok(()))?;
    Ok(states(&mut db.get()?)?)
}

/// The ring a server signs with, following the key states in `db` (read again at each of
/// the watcher's looks) with the key files in `dir`. With `generate_missing` (`--demo`,
/// tests) a first active key is made when there is none; returns its kid.
pub fn live_keys(
    db: &Database,
    dir: &Path,
    now: DateTime<Utc>,
    generate_missing: bool,
) -> Result<(LiveKeys, Option<String>), KeysError> {
    let keys = load(db, dir)?;
    let has_active = keys.iter().any(|k| k.state == KeyState::Active);
    let generated = if generate_missing && !has_active {
        change(db, dir, |keys, new_key| {
            // Another process may have made it since `load`.
            if keys.iter().any(|k| k.state == KeyState::Active) {
                return Ok(None);
            }
            crate::signing::states::generate(keys, now, new_key).map(Some)
        })?
    } else {
        None
    };
    let db = db.clone();
    let source: StatesSource = Box::new(move || {
        db.get()
            .and_then(|mut conn| states(&mut conn))
            .map_err(|e| KeyError::States(e.to_string()))
    });
    Ok((LiveKeys::open(dir, source)?, generated))
}
