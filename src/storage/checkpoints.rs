//! WAL checkpoints for SQLite, away from the requests. In WAL mode every commit appends pages
//! to the log, and by default the commit that takes the log past 1,000 pages also copies it
//! back into the database file and syncs it: several milliseconds in which that request, and
//! with the verifier every scan of its batch, stands still. Under verification load that was
//! most of the slowest tenth of the answers.
//!
//! So the verifier's connections never checkpoint on commit
//! (`Database::without_commit_checkpoints`), and a thread of its own runs a passive
//! checkpoint every interval instead: under verification load nobody else writes. The other
//! connections keep SQLite's checkpoints (measured under issuance load, where they write
//! most: the p99 was 153 ms with them and 390-480 ms with the background thread alone).
//! Passive checkpoints take no lock that a reader or writer waits for; they copy what no open
//! reader still needs.
//!
//! Under steady load that is not enough. A passive checkpoint never copies the frames
//! committed while it runs, and a writer starts the log again from its beginning only when
//! it finds all of it copied, which under a steady stream of commits never happens. Measured
//! with `scripts/load-verify.sh` (12,000-16,000 scans/s, each commit a batch of audit rows)
//! the log grew by 100 MB a second, to 1.8 GB in 18 s, without bound.
//!
//! So when a passive checkpoint leaves more than [`RESTART_AT_FRAMES`] in the log, the thread
//! runs a second one while no batch of the pool is in flight: the pool's users mark their
//! work with [`Checkpointer::hold_restart`], and the thread waits on that in-process lock
//! (it wakes at once, unlike SQLite's busy handler, which sleeps 1, 2, 5, 10… ms between
//! tries) until the batches in flight are done, while new ones wait. That checkpoint copies
//! everything, so the next commit writes from the start of the log again and the file stays
//! at `journal_size_limit`. Measured, the log stays at 64-95 MB; the pause costs the
//! verifier's slowest answers (p99 21-30 ms instead of 9-15 ms, at 12,000-15,000 scans/s),
//! which a disk filling at 6 GB a minute would cost far more. A RESTART checkpoint, the first try,
//! waited for readers in the busy handler and was worse (p99 30-180 ms).
//!
//! Each round first indexes the audit rows the verifier appended since the last one into the
//! audit's index file (`storage::audit_index`): the verifier's commits only append, and the
//! lookups by officer and by e-licence are written here, in bulk, to another file.

use super::{Fault, StorageError};
use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Integer};
use diesel::{Connection, QueryableByName, RunQueryDsl, SqliteConnection};
use std::path::Path;
use std::sync::{mpsc, Arc, PoisonError, RwLock, RwLockReadGuard};
use std::time::Duration;

/// How often the log is checkpointed from the thread: often enough that it stays a few
/// thousand pages under any load measured here.
pub(super) const EVERY: Duration = Duration::from_millis(250);

/// A log longer than this after a passive checkpoint is restarted: 64 MiB of 4 KiB pages, as
/// `journal_size_limit`, so the file is reused rather than cut back and grown again (with
/// 256 MiB the p99 was 61-65 ms instead of 21-23 ms).
pub(super) const RESTART_AT_FRAMES: i64 = 16_384;

/// The log is cut back to this size when a checkpoint has copied all of it, so that one burst
/// of writes does not leave a large file behind.
pub(super) const JOURNAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Runs the checkpoints while it lives; dropping it stops the thread.
pub(super) struct Checkpointer {
    _stop: mpsc::Sender<()>,
    /// Read-held by work in flight on the pool, write-held by a restart (see the module notes).
    gate: Arc<RwLock<()>>,
}

/// Keeps the log from being restarted under a batch of work while it lives.
pub struct RestartHold<'a>(#[allow(dead_code)] RwLockReadGuard<'a, ()>);

impl Checkpointer {
    /// Held for the whole of a batch (its reads and its commit): a restart waits for it, and
    /// the batches that come after the restart began wait for the restart.
    pub(super) fn hold_restart(&self) -> RestartHold<'_> {
        RestartHold(self.gate.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Starts checkpointing the database at `path` every `every`, on a connection of its own, and,
/// with `audit_index`, filling and checkpointing the audit's index file.
pub(super) fn start(
    path: &Path,
    audit_index: bool,
    every: Duration,
) -> Result<Checkpointer, StorageError> {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).map_err(|e| {
        StorageError::unavailable(Fault::CannotConnect, format!("checkpoint connection: {e}"))
    })?;
    // This connection checkpoints on its own schedule, never in a commit.
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = 5000; PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES};
         PRAGMA wal_autocheckpoint = 0;"
    ))?;
    if audit_index {
        conn.batch_execute(&super::audit_index::attach_sql(path))?;
        // The lookup's pages that the next rows land on stay in memory.
        conn.batch_execute("PRAGMA audit_index.cache_size = -32768;")?;
    }
    let (stop, stopped) = mpsc::channel::<()>();
    let gate = Arc::new(RwLock::new(()));
    let restart_gate = gate.clone();
    std::thread::Builder::new()
        .name("wal-checkpoints".into())
        .spawn(move || {
            // Only a timeout runs a checkpoint: the sender dropped means the database is gone.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                let indexed = match audit_index {
                    true => index_audit(&mut conn).err(),
                    false => None,
                };
                let checkpointed = checkpoint(&mut conn, RESTART_AT_FRAMES, &restart_gate).err();
                let failures = [("audit indexing", indexed), ("WAL checkpoint", checkpointed)];
                for (what, e) in failures {
                    let Some(e) = e else { continue };
                    // Four a second while the disk is full: once per interval instead.
                    let repeats = &crate::telemetry::repeats::STORAGE;
                    if let Some(repeated) = repeats.admit(&format!("{what}: {e}")) {
                        tracing::warn!(error = %e, repeated, "{what} failed; the next round retries");
                    }
                }
            }
        })
        .map_err(|e| StorageError::Thread(format!("checkpoints: {e}")))?;
    Ok(Checkpointer { _stop: stop, gate })
}

/// Indexes the audit rows the verifier appended since the last round (`storage::audit_index`)
/// and checkpoints the index file. It writes that file only: no batch waits for it.
fn index_audit(conn: &mut SqliteConnection) -> Result<(), StorageError> {
    super::audit_index::catch_up(conn)?;
    super::audit_index::checkpoint(conn)
}

/// What `PRAGMA wal_checkpoint` answers: whether it was kept from finishing, the frames in
/// the log and how many of them are in the database file.
#[derive(Debug, QueryableByName)]
struct CheckpointResult {
    #[diesel(sql_type = Integer)]
    busy: i32,
    #[diesel(sql_type = BigInt)]
    log: i64,
    #[diesel(sql_type = BigInt)]
    checkpointed: i64,
}

/// What one round of the thread did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Checkpointed {
    /// A passive checkpoint; the log stays as long as it is.
    Passive { log_frames: i64 },
    /// The log had grown past the limit and was checkpointed again with the pool quiet, for
    /// the next commit to start it over.
    Restarted { log_frames: i64 },
}

fn run_checkpoint(
    conn: &mut SqliteConnection,
    mode: &str,
) -> Result<CheckpointResult, StorageError> {
    Ok(diesel::sql_query(format!("PRAGMA wal_checkpoint({mode})")).get_result(conn)?)
}

/// A passive checkpoint and, when the log is still longer than `restart_at_frames` after it,
/// a second one once no work holding `gate` is in flight, so that it copies all of the log
/// and the next commit starts it over (see the module notes).
pub(super) fn checkpoint(
    conn: &mut SqliteConnection,
    restart_at_frames: i64,
    gate: &RwLock<()>,
) -> Result<Checkpointed, StorageError> {
    let passive = run_checkpoint(conn, "PASSIVE")?;
    if passive.log <= restart_at_frames {
        return Ok(Checkpointed::Passive {
            log_frames: passive.log,
        });
    }
    let _quiet = gate.write().unwrap_or_else(PoisonError::into_inner);
    let quiet = run_checkpoint(conn, "PASSIVE")?;
    if quiet.busy != 0 || quiet.checkpointed < quiet.log {
        // A reader outside the pool still needs part of the log; the next round retries.
        tracing::debug!(
            busy = quiet.busy,
            log_frames = quiet.log,
            checkpointed = quiet.checkpointed,
            "WAL log not restarted yet"
        );
    }
    Ok(Checkpointed::Restarted {
        log_frames: passive.log,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &Path) -> SqliteConnection {
        let mut conn = SqliteConnection::establish(&path.to_string_lossy()).unwrap();
        conn.batch_execute("PRAGMA busy_timeout = 5000; PRAGMA wal_autocheckpoint = 0;")
            .unwrap();
        conn
    }

    fn write_pages(conn: &mut SqliteConnection, rows: usize) {
        conn.batch_execute(&format!(
            "INSERT INTO t (b) SELECT randomblob(3000) FROM generate_series(1, {rows});"
        ))
        .or_else(|_| {
            // Without the series extension: one row at a time, in one transaction.
            conn.batch_execute("BEGIN")?;
            for _ in 0..rows {
                conn.batch_execute("INSERT INTO t (b) VALUES (randomblob(3000))")?;
            }
            conn.batch_execute("COMMIT")
        })
        .unwrap();
    }

    /// A writer that never stops keeps passive checkpoints from finishing the log; the
    /// checkpoint taken while the writer waits finishes it, and the writer's next commit
    /// starts the log over.
    #[test]
    fn a_log_that_steady_commits_keep_from_finishing_is_restarted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("wal.db");
        let mut setup = open(&path);
        setup
            .batch_execute(
                "PRAGMA journal_mode = WAL; CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB);",
            )
            .unwrap();
        write_pages(&mut setup, 100);

        let gate = Arc::new(RwLock::new(()));
        let (stop, told_to_stop) = mpsc::channel::<()>();
        let (last, last_written) = mpsc::channel::<()>();
        let (first, first_written) = mpsc::channel::<()>();
        let (writer_gate, writer_path) = (gate.clone(), path.clone());
        let writer = std::thread::spawn(move || {
            let mut w = open(&writer_path);
            // Batches as the verifier writes them, each under the hold.
            while told_to_stop.try_recv().is_err() {
                let _batch = writer_gate.read().unwrap();
                write_pages(&mut w, 5);
                // The checkpoints below must meet a writer that is already committing.
                let _ = first.send(());
            }
            let _batch = writer_gate.read().unwrap();
            write_pages(&mut w, 1);
            last.send(()).unwrap();
        });
        first_written.recv().unwrap();

        let mut checkpointer = open(&path);
        match checkpoint(&mut checkpointer, i64::MAX, &gate).unwrap() {
            Checkpointed::Passive { log_frames } => assert!(log_frames > 100, "{log_frames}"),
            other => panic!("{other:?}"),
        }
        let before = match checkpoint(&mut checkpointer, 10, &gate).unwrap() {
            Checkpointed::Restarted { log_frames } => log_frames,
            other => panic!("{other:?}"),
        };
        stop.send(()).unwrap();
        last_written.recv().unwrap();
        writer.join().unwrap();
        // Everything after the restart is at the start of the log: far fewer frames.
        let after = run_checkpoint(&mut checkpointer, "PASSIVE").unwrap();
        assert!(
            after.log < before / 2,
            "the log was not restarted: {} frames before, {after:?}",
            before
        );
    }
}
