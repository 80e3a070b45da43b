//! Storage: the only module that talks to the database.
//!
//! One binary serves two backends. The backend is chosen from the URL scheme (`config`), each
//! has its own pool and migrations, and query code is written once and expanded for both by
//! the `with_conn!` macro. `DbConn::write_transaction` groups calls in one write transaction.
//! Blocking work runs on the blocking thread pool through `Database::run`, never on the async
//! executor.
//!
//! Diesel prepares each query of a fixed shape once per connection and reuses it, but SQLite
//! prepares a statement again on every run when its plan read a bound value: a bound `LIMIT`
//! (diesel's `.first()` and `.limit(n)`), or a bound value compared with a partial index's
//! condition (`e_licences.state = ?`, `photo_submissions.state = ?`). On the paths run for
//! every request (verification, issuance, the document, display codes) queries avoid both;
//! admin pages and the review queue keep them (measured: a re-prepare costs tens of µs).

pub mod audit;
mod audit_index;
pub mod barcodes;
pub mod bulk_import;
mod checkpoints;
pub use checkpoints::RestartHold;
pub mod counter_audit;
pub mod e_licences;
mod error;
pub mod licences;
mod lost_connections;
mod migrations;
pub mod notifications;
pub mod photos;
mod pool;
pub mod registry_events;
pub mod schema;
pub mod signing_keys;
mod sql_enums;
pub mod status_lists;
pub mod submissions;
pub mod tokens;

pub use error::{Fault, StorageError};
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

pub(crate) use with_conn;
