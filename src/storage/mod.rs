//! Storage: the only module that talks to the database.
//!
//! One binary serves two backends. The backend is chosen from the URL scheme (`config`), each
//! has its own pool and migrations, and query code is written once and expanded for both by
//! the `with_conn!` / `write_transaction!` macros. Blocking work runs on the blocking thread
//! pool through `Database::run`, never on the async executor.

pub mod audit;
pub mod barcodes;
pub mod e_licences;
mod error;
pub mod licences;
mod migrations;
mod pool;
pub mod schema;
pub mod tokens;

pub use error::StorageError;
pub use pool::{Database, DbConn};

/// Runs `$body` with `$c` bound to the backend's own connection (`&mut SqliteConnection` or
/// `&mut PgConnection`), so backend-specific query builders (upserts) can be used.
macro_rules! with_conn {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::storage::DbConn::Sqlite($c) => {
                let $c: &mut diesel::SqliteConnection = &mut *$c;
                $body
            }
            $crate::storage::DbConn::Pg($c) => {
                let $c: &mut diesel::PgConnection = &mut *$c;
                $body
            }
        }
    };
}

/// A read-then-write transaction. On SQLite it is `BEGIN IMMEDIATE` (the write lock is taken
/// up front, so two writers never deadlock upgrading a read lock) and is retried while SQLite
/// reports the database busy; `$body` must therefore be safe to run again.
macro_rules! write_transaction {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::storage::DbConn::Sqlite(conn) => {
                let conn: &mut diesel::SqliteConnection = &mut *conn;
                $crate::storage::pool::retry_busy(|| {
                    conn.immediate_transaction(|$c| -> Result<_, $crate::storage::StorageError> {
                        $body
                    })
                })
            }
            $crate::storage::DbConn::Pg(conn) => {
                let conn: &mut diesel::PgConnection = &mut *conn;
                conn.transaction(|$c| -> Result<_, $crate::storage::StorageError> { $body })
            }
        }
    };
}

pub(crate) use {with_conn, write_transaction};
