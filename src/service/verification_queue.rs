//! Scans verified in batches. A verification request hands its scan to the queue and waits,
//! without holding a thread, for its answer. A verifier thread takes the first waiting scan
//! and every other one queued behind it (at most [`MAX_BATCH`]), verifies them together with
//! [`verification::verify_batch`] (one read snapshot, one batch of signatures, one write
//! transaction for the barcodes and the audit of all) and answers each.
//!
//! Under load the batches grow by themselves while a batch is being verified, and what a scan
//! costs falls with them: a batch of signatures takes less than half the time of checking
//! each alone, the snapshot and the commit are paid once, and a request passes between
//! threads twice instead of four times. A lone scan on an idle server is verified at once.
//! No answer leaves before its scan's audit row is committed.

use super::verification::{self, ScanError, ScanRequest, Verification};
use crate::clock::Clock;
use crate::config::AuditSync;
use crate::signing::LiveKeys;
use crate::storage::{Database, Fault, StorageError};
use std::panic::AssertUnwindSafe;
use std::sync::{Arc, Mutex, PoisonError};
use tokio::sync::{mpsc, oneshot};

/// Scans verified together at most: a batch of 64 takes about 2 ms on one core, which bounds
/// what the last scan of a batch waits.
pub const MAX_BATCH: usize = 64;
/// Scans waiting at most; beyond it requests wait for room (back-pressure, not loss).
const QUEUE_CAPACITY: usize = 16_384;

type Answer = Result<Verification, ScanError>;

struct Pending {
    request: ScanRequest,
    answer: oneshot::Sender<Answer>,
}

/// A handle to the verifier threads; cheap to clone. They stop once every handle is gone and
/// the queue is drained.
#[derive(Clone)]
pub struct VerificationQueue {
    queue: mpsc::Sender<Pending>,
}

/// What the verifier threads share.
struct Verifier {
    db: Database,
    keys: Arc<LiveKeys>,
    clock: Arc<dyn Clock>,
    waiting: Mutex<mpsc::Receiver<Pending>>,
}

impl VerificationQueue {
    /// Starts `threads` verifier threads, each verifying one batch at a time on a connection
    /// of its own to `db`, one that never checkpoints on commit (see
    /// `Database::without_commit_checkpoints`): every scan of a batch waits on its commit.
    /// One thread is right for SQLite, whose writes (the audit) take turns anyway. `sync`
    /// says how SQLite's audit commits reach the disk before the scans are answered.
    pub fn start(
        db: &Database,
        keys: Arc<LiveKeys>,
        clock: Arc<dyn Clock>,
        threads: usize,
        sync: AuditSync,
    ) -> Result<VerificationQueue, StorageError> {
        let threads = threads.max(1);
        let db = db.without_commit_checkpoints(threads as u32, sync)?;
        let (queue, waiting) = mpsc::channel(QUEUE_CAPACITY);
        let verifier = Arc::new(Verifier {
            db,
            keys,
            clock,
            waiting: Mutex::new(waiting),
        });
        for n in 0..threads {
            let verifier = verifier.clone();
            std::thread::Builder::new()
                .name(format!("verifier-{n}"))
                .spawn(move || verifier.run())
                .map_err(|e| StorageError::Thread(format!("verifier: {e}")))?;
        }
        Ok(VerificationQueue { queue })
    }

    /// Verifies one scan with the token that came with it; returns once it is audited.
    pub async fn verify(&self, request: ScanRequest) -> Answer {
        let (answer, answered) = oneshot::channel();
        let stopped = || StorageError::unavailable(Fault::Stopping, "the verifier has stopped");
        self.queue
            .send(Pending { request, answer })
            .await
            .map_err(|_| stopped())?;
        answered.await.map_err(|_| stopped())?
    }
}

impl Verifier {
    fn run(&self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while self.next_batch(&mut batch) {
            let (requests, answers): (Vec<ScanRequest>, Vec<_>) =
                batch.drain(..).map(|p| (p.request, p.answer)).unzip();
            // Scanned text is the most hostile input here: should checking it ever panic,
            // that batch is answered with an error and the thread goes on verifying (a dead
            // verifier would leave every later scan unanswered).
            let verified = std::panic::catch_unwind(AssertUnwindSafe(|| self.verify(&requests)))
                .unwrap_or_else(|_| {
                    Err(StorageError::Corrupt(
                        "verifying a batch of scans panicked".into(),
                    ))
                });
            match verified {
                Ok(verdicts) => {
                    for (answer, verdict) in answers.into_iter().zip(verdicts) {
                        // A requester that went away no longer waits; its scan stays audited.
                        let _ = answer.send(verdict);
                    }
                }
                Err(e) => {
                    // Every scan of the batch fails alike; the answers log it (`http::error`).
                    for answer in answers {
                        let _ = answer.send(Err(e.copy().into()));
                    }
                }
            }
        }
    }

    /// Waits for the first scan and takes the others already queued behind it; `false` once
    /// the queue is closed and empty.
    fn next_batch(&self, batch: &mut Vec<Pending>) -> bool {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(first) = waiting.blocking_recv() else {
            return false;
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(p) => batch.push(p),
                Err(_) => break,
            }
        }
        true
    }

    fn verify(&self, requests: &[ScanRequest]) -> Result<Vec<Answer>, StorageError> {
        // A restart of the SQLite log waits for this batch, not the other way round.
        let _batch = self.db.hold_log_restart();
        let mut conn = self.db.get()?;
        let verdicts = verification::verify_batch(
            &mut conn,
            &self.keys.current(),
            requests,
            self.clock.today(),
            self.clock.now(),
        );
        crate::telemetry::metrics::scans_verified(requests.iter().map(|r| &r.scan), &verdicts);
        verdicts
    }
}
