//! Readiness (`/readyz`): can this instance serve, writes included? Not while the database
//! refuses writes (full, read-only, gone), nor while the signing keys on disk cannot be
//! loaded. Liveness (`/healthz`) asks nothing of either.
//!
//! Writes are checked by doing one (`Database::write_probe`), so that a fault shows with no
//! client traffic, and a fault put right shows as soon as it is, without a restart. A probe
//! that succeeded stands for [`PROBE_EVERY`]: a load balancer polling every second costs one
//! small write a second. A failed one stands for nothing: the next poll probes again.

use crate::signing::LiveKeys;
use crate::storage::{Database, Fault, StorageError};
use serde::Serialize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a successful write probe answers for the database.
pub const PROBE_EVERY: Duration = Duration::from_secs(1);

pub struct Readiness {
    db: Database,
    keys: Arc<LiveKeys>,
    /// When the last write probe succeeded. Held while a probe runs: readiness checks that
    /// arrive meanwhile wait for its outcome instead of probing too.
    last_success: Mutex<Option<Instant>>,
}

/// One reason this instance is not ready: which part, and a stable snake_case cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// `storage` or `keys`.
    pub component: &'static str,
    /// For storage a `Fault` code (`full`, `read_only`, `cannot_connect`…), for the keys a
    /// `KeyError` code (`writable_by_others`, `no_active_key`…).
    pub cause: &'static str,
}

impl Readiness {
    pub fn new(db: Database, keys: Arc<LiveKeys>) -> Readiness {
        Readiness {
            db,
            keys,
            last_success: Mutex::new(None),
        }
    }

    /// Every reason not to serve now; empty when ready. Blocking: it may write.
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if let Err(e) = self.writes() {
            problems.push(Problem {
                component: "storage",
                cause: e.fault().map_or("storage_error", Fault::code),
            });
        }
        if let Some(e) = self.keys.load_error() {
            problems.push(Problem {
                component: "keys",
                cause: e,
            });
        }
        problems
    }

    fn writes(&self) -> Result<(), StorageError> {
        let asked = Instant::now();
        let mut last = self
            .last_success
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        // A probe that succeeded recently, or while this check waited for the lock.
        if last.is_some_and(|at| at >= asked || asked.duration_since(at) < PROBE_EVERY) {
            return Ok(());
        }
        let outcome = self.db.write_probe();
        *last = match &outcome {
            Ok(()) => Some(Instant::now()),
            Err(e) => {
                let repeats = &crate::telemetry::repeats::STORAGE;
                if let Some(repeated) = repeats.admit(&format!("readiness: {e}")) {
                    tracing::warn!(error = %e, repeated, "not ready: the database refuses writes");
                }
                None
            }
        };
        outcome
    }
}
