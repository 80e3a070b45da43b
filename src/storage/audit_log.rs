//! Group commit for the verification audit. Every scan's row is committed before its answer
//! leaves the server, so no scan goes unaudited, but the rows of scans that arrive together
//! share one transaction: on SQLite one commit a row would cap verification at the rate of
//! commits, under the single write lock.
//!
//! One writer thread owns the writes. A request hands its row over and waits (without holding
//! a thread) for the commit that includes it; the writer takes the first waiting row, drains
//! whatever else is queued up to `max_batch`, writes them in one transaction and answers each.

use super::audit::{self, NewAudit};
use super::{Database, StorageError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

struct Pending {
    entry: NewAudit,
    committed: oneshot::Sender<Result<(), String>>,
}

/// A handle to the audit writer; cheap to clone. The writer stops once every handle is gone
/// and the queue is drained.
#[derive(Clone)]
pub struct AuditLog {
    queue: mpsc::Sender<Pending>,
}

/// Rows written in one transaction at most.
pub const DEFAULT_MAX_BATCH: usize = 512;
/// Rows waiting at most; beyond it requests wait for room (back-pressure, not loss).
const QUEUE_CAPACITY: usize = 16_384;

impl AuditLog {
    /// Starts the writer thread on its own connection from `db`'s pool.
    pub fn start(db: Database, max_batch: usize) -> std::io::Result<AuditLog> {
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        std::thread::Builder::new()
            .name("audit-writer".into())
            .spawn(move || write_batches(db, rx, max_batch.max(1)))?;
        Ok(AuditLog { queue })
    }

    /// Appends `entry` and returns once it is committed.
    pub async fn append(&self, entry: NewAudit) -> Result<(), StorageError> {
        let (committed, done) = oneshot::channel();
        self.queue
            .send(Pending { entry, committed })
            .await
            .map_err(|_| StorageError::Unavailable("the audit writer has stopped".into()))?;
        match done.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(StorageError::Unavailable(format!(
                "the audit could not be written: {e}"
            ))),
            Err(_) => Err(StorageError::Unavailable(
                "the audit writer stopped before committing".into(),
            )),
        }
    }
}

/// Under load (the last batch held more than one row) the writer waits this long for more
/// rows before it commits: fewer, larger commits, and on SQLite fewer invalidations of the
/// readers' page caches. An idle server commits a lone row at once.
const LINGER: Duration = Duration::from_millis(1);

fn drain(rx: &mut mpsc::Receiver<Pending>, batch: &mut Vec<Pending>, max_batch: usize) {
    while batch.len() < max_batch {
        match rx.try_recv() {
            Ok(p) => batch.push(p),
            Err(_) => break,
        }
    }
}

fn write_batches(db: Database, mut rx: mpsc::Receiver<Pending>, max_batch: usize) {
    let mut batch = Vec::with_capacity(max_batch);
    let mut busy = false;
    while let Some(first) = rx.blocking_recv() {
        batch.push(first);
        drain(&mut rx, &mut batch, max_batch);
        if busy && batch.len() < max_batch {
            std::thread::sleep(LINGER);
            drain(&mut rx, &mut batch, max_batch);
        }
        busy = batch.len() > 1;
        let written = db.get().and_then(|mut conn| {
            conn.write_transaction(|conn| {
                batch.iter().try_for_each(|p| audit::insert(conn, &p.entry))
            })
        });
        if let Err(e) = &written {
            tracing::error!(error = %e, rows = batch.len(), "audit batch not written");
        }
        let answer = written.map_err(|e| e.to_string());
        for p in batch.drain(..) {
            // A requester that went away no longer waits for its answer; its row stands.
            let _ = p.committed.send(answer.clone());
        }
    }
}
