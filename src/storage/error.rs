use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Everything the storage layer can fail with. Mapped to HTTP once, in `http::error`.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database cannot take the work now, through no fault of the request: the same
    /// request may succeed later unchanged. Answered 503 `storage_unavailable`.
    #[error("storage unavailable ({}): {detail}", .fault.code())]
    Unavailable { fault: Fault, detail: String },
    /// A uniqueness or reference rule of the schema refused the write.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// Stored data that no longer parses: a bug or a hand edit, never the client's fault.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migration(String),
    /// A worker thread could not be started (the process is out of threads or memory).
    #[error("cannot start a thread: {0}")]
    Thread(String),
    #[error(transparent)]
    Database(DieselError),
}

/// Why the database cannot take work now. Classified here, once, from what SQLite, libpq and
/// the pool report, so that every route, the verifier and the CLI answer the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// No pooled connection became free within the checkout timeout: every one is in use.
    PoolExhausted,
    /// No connection can be opened: the PostgreSQL server is down, refuses connections or is
    /// starting or stopping (57P03), or the SQLite file cannot be opened (SQLITE_CANTOPEN).
    CannotConnect,
    /// The PostgreSQL server closed or lost the connection (shut down, 57P01, network).
    ConnectionLost,
    /// SQLITE_FULL: the disk is full, or the file reached `--sqlite-max-size-mb`.
    Full,
    /// Writes are refused: SQLITE_READONLY (a write-protected file or filesystem,
    /// `--sqlite-read-only`), PostgreSQL 25006 (a standby, `default_transaction_read_only`).
    ReadOnly,
    /// SQLITE_IOERR: the operating system failed a read or a write.
    Io,
    /// SQLite stayed locked by another writer past the busy timeout and every retry.
    Locked,
    /// PostgreSQL aborted the transaction to end a lock cycle (40P01 deadlock_detected) or a
    /// serialisation conflict (40001): nothing was written, and the same request succeeds
    /// when tried again. Writers take their locks in one order so this stays rare.
    Conflict,
    /// The service is stopping: the blocking pool or the verifier has gone.
    Stopping,
}

impl Fault {
    /// Every fault, for the metrics that count each one from zero.
    pub const ALL: [Fault; 9] = [
        Fault::PoolExhausted,
        Fault::CannotConnect,
        Fault::ConnectionLost,
        Fault::Full,
        Fault::ReadOnly,
        Fault::Io,
        Fault::Locked,
        Fault::Conflict,
        Fault::Stopping,
    ];

    /// Stable snake_case, for logs and `/readyz`.
    pub fn code(self) -> &'static str {
        match self {
            Fault::PoolExhausted => "pool_exhausted",
            Fault::CannotConnect => "cannot_connect",
            Fault::ConnectionLost => "connection_lost",
            Fault::Full => "full",
            Fault::ReadOnly => "read_only",
            Fault::Io => "io_error",
            Fault::Locked => "locked",
            Fault::Conflict => "conflict",
            Fault::Stopping => "stopping",
        }
    }

    /// Seconds a client should wait before it retries: contention clears within a second;
    /// a full disk, a read-only database or a server restart takes longer to put right.
    pub fn retry_after_secs(self) -> u32 {
        match self {
            Fault::PoolExhausted | Fault::Locked | Fault::Conflict | Fault::Stopping => 1,
            Fault::CannotConnect
            | Fault::ConnectionLost
            | Fault::Full
            | Fault::ReadOnly
            | Fault::Io => 5,
        }
    }
}

impl StorageError {
    pub fn unavailable(fault: Fault, detail: impl Into<String>) -> StorageError {
        StorageError::Unavailable {
            fault,
            detail: detail.into(),
        }
    }

    /// The fault, when the database is unavailable rather than the work wrong.
    pub fn fault(&self) -> Option<Fault> {
        match self {
            StorageError::Unavailable { fault, .. } => Some(*fault),
            _ => None,
        }
    }

    /// The same failure again, for each request that waited on the work that failed.
    pub fn copy(&self) -> StorageError {
        match self {
            StorageError::Unavailable { fault, detail } => {
                StorageError::unavailable(*fault, detail.clone())
            }
            StorageError::Constraint(m) => StorageError::Constraint(m.clone()),
            StorageError::Corrupt(m) => StorageError::Corrupt(m.clone()),
            StorageError::Migration(m) => StorageError::Migration(m.clone()),
            StorageError::Thread(m) => StorageError::Thread(m.clone()),
            StorageError::Database(e) => StorageError::Database(DieselError::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(e.to_string()),
            )),
        }
    }

    /// SQLite lock contention: `retry_busy` tries again.
    pub(crate) fn is_sqlite_busy(&self) -> bool {
        self.fault() == Some(Fault::Locked)
    }
}

/// SQLite's own text for each result code (`sqlite3ErrStr`), which diesel hands on as the
/// message of an `Unknown` database error: the code itself is not exposed. These strings have
/// not changed since SQLite 3.6; a unit test pins them against the bundled SQLite.
const SQLITE_FAULTS: &[(&str, Fault)] = &[
    ("database or disk is full", Fault::Full),
    ("attempt to write a readonly database", Fault::ReadOnly),
    ("disk I/O error", Fault::Io),
    ("unable to open database file", Fault::CannotConnect),
    ("database is locked", Fault::Locked),
    ("database table is locked", Fault::Locked),
    ("database schema is locked", Fault::Locked),
];

/// libpq's and the PostgreSQL server's (English) messages for a connection that is gone or
/// cannot be had. diesel reports most lost connections as `ClosedConnection` already; these
/// catch the rest (a failed send, an administrator's shutdown, a server starting up).
const PG_FAULTS: &[(&str, Fault)] = &[
    ("server closed the connection", Fault::ConnectionLost),
    ("no connection to the server", Fault::ConnectionLost),
    ("could not send data to server", Fault::ConnectionLost),
    ("could not receive data from server", Fault::ConnectionLost),
    ("connection to server was lost", Fault::ConnectionLost),
    // 57P01 admin_shutdown, 57P02 crash_shutdown
    ("terminating connection due to", Fault::ConnectionLost),
    // 57P03 cannot_connect_now
    ("the database system is", Fault::CannotConnect),
    ("Connection refused", Fault::CannotConnect),
    ("could not connect to server", Fault::CannotConnect),
    ("connection to server at", Fault::CannotConnect),
    ("read-only transaction", Fault::ReadOnly),
    // 40P01 deadlock_detected (diesel has no kind for it)
    ("deadlock detected", Fault::Conflict),
];

/// The fault a database's error message names, if it names one.
pub(crate) fn fault_in_message(message: &str) -> Option<Fault> {
    SQLITE_FAULTS
        .iter()
        .chain(PG_FAULTS)
        .find(|(text, _)| message.contains(text))
        .map(|(_, fault)| *fault)
}

impl From<DieselError> for StorageError {
    fn from(e: DieselError) -> Self {
        let error = classify(e);
        if matches!(
            error.fault(),
            Some(Fault::ConnectionLost | Fault::CannotConnect)
        ) {
            super::lost_connections::note();
        }
        error
    }
}

/// What a diesel error means for the caller: a constraint, a fault of the database, or a bug.
fn classify(e: DieselError) -> StorageError {
    match e {
        DieselError::DatabaseError(
            DatabaseErrorKind::UniqueViolation
            | DatabaseErrorKind::ForeignKeyViolation
            | DatabaseErrorKind::CheckViolation,
            ref info,
        ) => StorageError::Constraint(info.message().to_owned()),
        DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, ref info) => {
            StorageError::unavailable(Fault::ConnectionLost, info.message())
        }
        // SQLSTATE 40001.
        DieselError::DatabaseError(DatabaseErrorKind::SerializationFailure, ref info) => {
            StorageError::unavailable(Fault::Conflict, info.message())
        }
        // SQLSTATE 25006: a standby, or `default_transaction_read_only`.
        DieselError::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, ref info) => {
            StorageError::unavailable(Fault::ReadOnly, info.message())
        }
        DieselError::DatabaseError(_, ref info) => match fault_in_message(info.message()) {
            Some(fault) => StorageError::unavailable(fault, info.message()),
            None => StorageError::Database(e),
        },
        // A stored value the row's type refuses (a code no enum variant has).
        DieselError::DeserializationError(e) => StorageError::Corrupt(with_causes(e.as_ref())),
        other => StorageError::Database(other),
    }
}

/// An error with its causes, `outer: inner: …` (diesel says which field it could not read,
/// its cause says what the field held).
fn with_causes(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// The pool says only "timed out waiting for connection", followed by the last error of a
/// connection attempt when one failed since: without one, every connection was in use.
impl From<r2d2::Error> for StorageError {
    fn from(e: r2d2::Error) -> Self {
        let message = e.to_string();
        let fault = match message.split_once(": ") {
            None => Fault::PoolExhausted,
            Some((_, cause)) => fault_in_message(cause).unwrap_or(Fault::CannotConnect),
        };
        StorageError::unavailable(fault, message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::connection::SimpleConnection;
    use diesel::Connection;

    fn sqlite_error(setup: &str, statement: &str) -> StorageError {
        let mut conn = diesel::SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute(setup).unwrap();
        StorageError::from(conn.batch_execute(statement).unwrap_err())
    }

    /// The bundled SQLite still words its faults as `SQLITE_FAULTS` expects.
    #[test]
    fn sqlite_faults_are_recognised_from_what_sqlite_says() {
        let full = sqlite_error(
            "CREATE TABLE t (b BLOB); PRAGMA max_page_count = 3;",
            "INSERT INTO t VALUES (zeroblob(100000))",
        );
        assert_eq!(full.fault(), Some(Fault::Full), "{full}");
        let read_only = sqlite_error(
            "CREATE TABLE t (b BLOB); PRAGMA query_only = 1;",
            "INSERT INTO t VALUES (1)",
        );
        assert_eq!(read_only.fault(), Some(Fault::ReadOnly), "{read_only}");
        let constraint = sqlite_error(
            "CREATE TABLE t (b INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);",
            "INSERT INTO t VALUES (1)",
        );
        assert!(matches!(constraint, StorageError::Constraint(_)));
        let syntax = sqlite_error("", "SELEC 1");
        assert!(matches!(syntax, StorageError::Database(_)), "{syntax}");
    }

    #[test]
    fn messages_name_their_fault() {
        for (message, fault) in [
            ("disk I/O error", Fault::Io),
            ("unable to open database file", Fault::CannotConnect),
            ("database is locked", Fault::Locked),
            (
                "server closed the connection unexpectedly\n\tThis probably means…",
                Fault::ConnectionLost,
            ),
            (
                "terminating connection due to administrator command",
                Fault::ConnectionLost,
            ),
            (
                "FATAL:  the database system is starting up",
                Fault::CannotConnect,
            ),
            (
                "cannot execute INSERT in a read-only transaction",
                Fault::ReadOnly,
            ),
            ("deadlock detected", Fault::Conflict),
        ] {
            assert_eq!(fault_in_message(message), Some(fault), "{message}");
        }
        assert_eq!(fault_in_message("syntax error at or near \"SELEC\""), None);
    }

    #[test]
    fn a_pool_timeout_is_exhaustion_unless_a_connection_attempt_failed() {
        let pool = r2d2::Pool::builder()
            .max_size(1)
            .connection_timeout(std::time::Duration::from_millis(50))
            .build(diesel::r2d2::ConnectionManager::<diesel::SqliteConnection>::new(":memory:"))
            .unwrap();
        let _held = pool.get().unwrap();
        let exhausted = StorageError::from(pool.get().err().unwrap());
        assert_eq!(exhausted.fault(), Some(Fault::PoolExhausted), "{exhausted}");

        let unreachable = r2d2::Pool::builder()
            .max_size(1)
            .connection_timeout(std::time::Duration::from_millis(300))
            .build_unchecked(
                diesel::r2d2::ConnectionManager::<diesel::SqliteConnection>::new(
                    "/nonexistent-folder/x.db",
                ),
            );
        let refused = StorageError::from(unreachable.get().err().unwrap());
        assert_eq!(refused.fault(), Some(Fault::CannotConnect), "{refused}");
    }
}
