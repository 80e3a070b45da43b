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

use super::StorageError;
use diesel::connection::SimpleConnection;
use diesel::{Connection, SqliteConnection};
use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

/// How often the log is checkpointed from the thread: often enough that it stays a few
/// thousand pages under any load measured here.
pub(super) const EVERY: Duration = Duration::from_millis(250);

/// The log is cut back to this size when a checkpoint has copied all of it, so that one burst
/// of writes does not leave a large file behind.
pub(super) const JOURNAL_SIZE_LIMIT_BYTES: u64 = 64 * 1024 * 1024;

/// Runs the checkpoints while it lives; dropping it stops the thread.
pub(super) struct Checkpointer {
    _stop: mpsc::Sender<()>,
}

/// Starts checkpointing the database at `path` every `every`, on a connection of its own.
pub(super) fn start(path: &Path, every: Duration) -> Result<Checkpointer, StorageError> {
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| StorageError::Unavailable(format!("checkpoint connection: {e}")))?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = 5000; PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES};"
    ))?;
    let (stop, stopped) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("wal-checkpoints".into())
        .spawn(move || {
            // Only a timeout runs a checkpoint: the sender dropped means the database is gone.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
                    tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
                }
            }
        })
        .map_err(|e| StorageError::Unavailable(format!("checkpoint thread: {e}")))?;
    Ok(Checkpointer { _stop: stop })
}
