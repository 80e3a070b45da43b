//! The gauges read from the database and the keys folder, refreshed at each scrape (a
//! scrape every 15 s costs four small queries): the review queue against its deadlines, the
//! status lists, the signing keys, the pool, the SQLite log and the audit index.

use super::metrics::*;
use crate::clock::Clock;
use crate::signing::{KeyState, LiveKeys};
use crate::storage::{audit, signing_keys, status_lists, submissions, Database, StorageError};
use ::metrics::gauge;
use std::sync::Arc;

/// What the gauges are read from.
#[derive(Clone)]
pub struct GaugeSources {
    pub db: Database,
    pub keys: Arc<LiveKeys>,
    pub clock: Arc<dyn Clock>,
}

impl GaugeSources {
    /// Sets every gauge to what is true now. Blocking (database and file reads).
    pub fn refresh(&self) -> Result<(), StorageError> {
        let now = self.clock.now();
        self.pool();
        self.keys();
        let mut conn = self.db.get()?;
        let queue = submissions::counts(&mut conn, now)?;
        gauge!(REVIEW_PENDING).set(queue.pending as f64);
        gauge!(REVIEW_OVERDUE).set(queue.overdue as f64);
        let remaining = queue
            .oldest_deadline
            .map_or(0.0, |d| seconds(d.and_utc() - now));
        gauge!(REVIEW_OLDEST_REMAINING).set(remaining);
        gauge!(REVIEW_LAPSED_LEASES).set(submissions::lapsed_leases(&mut conn, now)? as f64);
        // The key states live in the database (every process signs with the one named
        // active): its age since it became active.
        if let Some(active) = signing_keys::list(&mut conn)?
            .into_iter()
            .find(|k| k.state == KeyState::Active.code())
        {
            let since = active.activated_at.unwrap_or(active.created_at).and_utc();
            gauge!(KEY_AGE).set(seconds(now - since));
        }
        let (mut invalid, mut suspended, mut allocated) = (0i64, 0i64, 0i64);
        for list in status_lists::standings(&mut conn)? {
            allocated += i64::from(list.allocated);
            invalid += i64::from(list.entries_invalid);
            suspended += i64::from(list.entries_suspended);
            if let Some(at) = list.signed_at {
                gauge!(LIST_AGE, "list" => list.list_id.to_string())
                    .set(seconds(now - at.and_utc()));
            }
        }
        gauge!(AUDIT_UNINDEXED).set(audit::unindexed_rows(&mut conn)? as f64);
        let valid = (allocated - invalid - suspended).max(0);
        for (status, n) in [
            ("valid", valid),
            ("invalid", invalid),
            ("suspended", suspended),
        ] {
            gauge!(LIST_ENTRIES, "status" => status).set(n as f64);
        }
        Ok(())
    }

    fn pool(&self) {
        let (in_use, idle) = self.db.pool_state();
        gauge!(POOL_CONNECTIONS, "state" => "in_use").set(f64::from(in_use));
        gauge!(POOL_CONNECTIONS, "state" => "idle").set(f64::from(idle));
        let wal = self
            .db
            .sqlite_wal_path()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        gauge!(SQLITE_WAL).set(wal as f64);
    }

    fn keys(&self) {
        gauge!(KEY_LOAD_OK).set(if self.keys.load_error().is_none() {
            1.0
        } else {
            0.0
        });
        let ring = self.keys.current();
        gauge!(KEYS_PUBLISHED).set(ring.jwks().keys.len() as f64);
    }
}

fn seconds(d: chrono::Duration) -> f64 {
    d.num_milliseconds() as f64 / 1000.0
}
