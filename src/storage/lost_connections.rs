//! PostgreSQL connections whose server went away are dropped from the pool instead of being
//! handed out again.
//!
//! r2d2 can test every connection as it is checked out (`SELECT 1`), but that is a round trip
//! to the server on every request: a third of the statements of a holder's read. The pool
//! skips that test, and a connection is instead discarded once it has failed as lost: the
//! error is seen where diesel's error becomes a `StorageError` (on the thread that used the
//! connection), and when that thread gives the connection back, it is marked broken, so that
//! r2d2 closes it and opens a fresh one on demand. A request that meets a dead connection is
//! answered 503 `storage_unavailable` with `Retry-After` (as on any lost connection); the
//! next one gets a new connection. libpq never reconnects by itself, so without this a dead
//! connection would fail every request that drew it, for ever.

use std::cell::Cell;

thread_local! {
    static LOST_ON_THIS_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// A database error on this thread said the connection is gone.
pub(crate) fn note() {
    LOST_ON_THIS_THREAD.with(|lost| lost.set(true));
}

/// Whether a connection used on this thread was lost since the last call; clears it.
pub(crate) fn take() -> bool {
    LOST_ON_THIS_THREAD.with(|lost| lost.replace(false))
}

/// Marks a PostgreSQL connection broken, so that r2d2's `has_broken` (diesel's
/// `is_broken`, which reads the transaction manager's state) discards it when it comes back.
pub(crate) fn mark_broken(conn: &mut diesel::PgConnection) {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    AnsiTransactionManager::transaction_manager_status_mut(conn).set_in_error();
}
