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
//! No answer leaves before its scan's audit row is committed, and, on SQLite under the
//! default `AuditSync::Full`, before that commit is on disk: a syncer thread syncs the log
//! for every batch committed since its last sync, at once, and answers them, while the
//! verifier goes on verifying (a sync that takes long, as one in a hundred does on a busy
//! disk, holds the answers of the batches behind it, not their verification).
//!
//! At shutdown [`VerificationQueue::drain`] closes the queue behind the scans already in it:
//! they are verified, audited and answered as the last batches, later ones are refused
//! (503 `storage_unavailable`, the verifier has stopped), and the threads end.

use super::verification::{self, ScanError, ScanRequest, Verification};
use crate::clock::Clock;
use crate::config::AuditSync;
use crate::signing::LiveKeys;
use crate::storage::{Database, Fault, StorageError};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
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

/// What the queue carries: a scan, or `None`, which closes the queue behind what is in it.
type Work = Option<Pending>;

/// A handle to the verifier threads; cheap to clone. They stop once every handle is gone and
/// the queue is drained, or after [`VerificationQueue::drain`].
#[derive(Clone)]
pub struct VerificationQueue {
    queue: mpsc::Sender<Work>,
    threads: Arc<Mutex<Vec<JoinHandle<()>>>>,
    /// Scans answered since the start.
    answered: Arc<AtomicU64>,
}

/// What [`VerificationQueue::drain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Scans verified, audited and answered after the drain began.
    pub scans: u64,
    /// Every verifier thread ended before the deadline.
    pub stopped: bool,
}

/// What the verifier threads share.
struct Verifier {
    db: Database,
    keys: Arc<LiveKeys>,
    clock: Arc<dyn Clock>,
    waiting: Mutex<mpsc::Receiver<Work>>,
    answered: Arc<AtomicU64>,
    /// To the syncer, when the pool's commits wait for `Database::sync_log`.
    committed: Option<std::sync::mpsc::Sender<Committed>>,
}

/// A batch whose audit is committed, not yet synced: its answers wait for the syncer.
struct Committed {
    answers: Vec<oneshot::Sender<Answer>>,
    verdicts: Vec<Answer>,
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
        let answered = Arc::new(AtomicU64::new(0));
        let mut handles = Vec::with_capacity(threads + 1);
        let (committed, syncer) = match db.commits_synced_by_caller() {
            true => {
                let (committed, to_sync) = std::sync::mpsc::channel();
                let (db, answered) = (db.clone(), answered.clone());
                let syncer = std::thread::Builder::new()
                    .name("audit-syncer".into())
                    .spawn(move || sync_and_answer(&db, &to_sync, &answered))
                    .map_err(|e| StorageError::Thread(format!("audit syncer: {e}")))?;
                (Some(committed), Some(syncer))
            }
            false => (None, None),
        };
        let verifier = Arc::new(Verifier {
            db,
            keys,
            clock,
            waiting: Mutex::new(waiting),
            answered: answered.clone(),
            committed,
        });
        for n in 0..threads {
            let verifier = verifier.clone();
            let handle = std::thread::Builder::new()
                .name(format!("verifier-{n}"))
                .spawn(move || verifier.run())
                .map_err(|e| StorageError::Thread(format!("verifier: {e}")))?;
            handles.push(handle);
        }
        // Last, for `drain`: it ends once every verifier has (and dropped its sender).
        handles.extend(syncer);
        Ok(VerificationQueue {
            queue,
            threads: Arc::new(Mutex::new(handles)),
            answered,
        })
    }

    /// Closes the queue behind the scans already in it, lets the verifier threads verify,
    /// audit and answer those, and waits for the threads to end, until `deadline`. Blocking:
    /// call it off the async executor, once the server no longer hands scans over.
    pub fn drain(&self, deadline: Instant) -> Drained {
        let before = self.answered.load(Ordering::SeqCst);
        // Fails only when the queue is closed already (a drain before this one).
        let _ = self.queue.blocking_send(None);
        let threads =
            std::mem::take(&mut *self.threads.lock().unwrap_or_else(PoisonError::into_inner));
        let mut stopped = true;
        // The verifiers first; the syncer, last when there is one, ends after them.
        for thread in threads {
            while !thread.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            if thread.is_finished() {
                let _ = thread.join();
            } else {
                stopped = false;
            }
        }
        Drained {
            scans: self.answered.load(Ordering::SeqCst) - before,
            stopped,
        }
    }

    /// Verifies one scan with the token that came with it; returns once it is audited.
    pub async fn verify(&self, request: ScanRequest) -> Answer {
        let (answer, answered) = oneshot::channel();
        let stopped = || StorageError::unavailable(Fault::Stopping, "the verifier has stopped");
        self.queue
            .send(Some(Pending { request, answer }))
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
            match (verified, &self.committed) {
                (Ok(verdicts), Some(syncer)) => {
                    if let Err(unsent) = syncer.send(Committed { answers, verdicts }) {
                        // Gone only if it panicked: nothing may be answered unsynced.
                        let stopped = StorageError::unavailable(
                            Fault::Stopping,
                            "the audit syncer has stopped",
                        );
                        answer_all(unsent.0.answers, &self.answered, &stopped);
                    }
                }
                (Ok(verdicts), None) => answer_each(answers, &self.answered, verdicts),
                // Every scan of the batch fails alike; the answers log it (`http::error`).
                (Err(e), _) => answer_all(answers, &self.answered, &e),
            }
        }
    }

    /// Waits for the first scan and takes the others already queued behind it; `false` once
    /// the queue is closed and empty. The drain's `None` closes it: what was queued before
    /// is still taken, nothing after.
    fn next_batch(&self, batch: &mut Vec<Pending>) -> bool {
        let mut waiting = self.waiting.lock().unwrap_or_else(PoisonError::into_inner);
        let first = loop {
            match waiting.blocking_recv() {
                None => return false,
                Some(None) => waiting.close(),
                Some(Some(first)) => break first,
            }
        };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match waiting.try_recv() {
                Ok(Some(p)) => batch.push(p),
                Ok(None) => waiting.close(),
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

/// The syncer: takes every batch committed since its last sync, syncs the log once for all
/// of them and answers them, until every verifier has gone. A failed sync answers its
/// batches with the error: their audit rows are committed, but not known to be on disk, and
/// no scan may be answered as verified on them.
fn sync_and_answer(
    db: &Database,
    committed: &std::sync::mpsc::Receiver<Committed>,
    answered: &AtomicU64,
) {
    while let Ok(first) = committed.recv() {
        let mut batches = vec![first];
        batches.extend(committed.try_iter());
        let started = Instant::now();
        let synced = db.sync_log();
        crate::telemetry::metrics::audit_synced(started.elapsed());
        for Committed { answers, verdicts } in batches {
            match &synced {
                Ok(()) => answer_each(answers, answered, verdicts),
                Err(e) => answer_all(answers, answered, e),
            }
        }
    }
}

/// Counts the answers, then sends each its verdict: a caller that has its answer sees the
/// count that includes it (the drain reports what it answered after it began).
fn answer_each(answers: Vec<oneshot::Sender<Answer>>, answered: &AtomicU64, verdicts: Vec<Answer>) {
    answered.fetch_add(answers.len() as u64, Ordering::SeqCst);
    for (answer, verdict) in answers.into_iter().zip(verdicts) {
        // A requester that went away no longer waits; its scan stays audited.
        let _ = answer.send(verdict);
    }
}

/// Counts the answers, then fails each with `error`.
fn answer_all(answers: Vec<oneshot::Sender<Answer>>, answered: &AtomicU64, error: &StorageError) {
    answered.fetch_add(answers.len() as u64, Ordering::SeqCst);
    for answer in answers {
        let _ = answer.send(Err(error.copy().into()));
    }
}
