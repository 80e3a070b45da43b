use super::error::fault_in_message;
use super::{DbConn, StorageError};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgresql");

/// Applies every pending migration; returns the versions applied.
pub(super) fn run_pending(conn: &mut DbConn) -> Result<Vec<String>, StorageError> {
    let applied = match conn {
        DbConn::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map(|v| v.iter().map(ToString::to_string).collect()),
        DbConn::Pg(c) => c
            .run_pending_migrations(POSTGRES)
            .map(|v| v.iter().map(ToString::to_string).collect()),
    };
    applied.map_err(|e| migration_error(e.to_string()))
}

/// A migration that failed because the database is unavailable (read-only, gone) says so:
/// nothing is wrong with the migration.
fn migration_error(message: String) -> StorageError {
    match fault_in_message(&message) {
        Some(fault) => StorageError::unavailable(fault, message),
        None => StorageError::Migration(message),
    }
}

/// Reverts every applied migration, newest first (used by tests to prove each `down.sql`).
pub(super) fn revert_all(conn: &mut DbConn) -> Result<usize, StorageError> {
    let reverted = match conn {
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE).map(|v| v.len()),
        DbConn::Pg(c) => c.revert_all_migrations(POSTGRES).map(|v| v.len()),
    };
    reverted.map_err(|e| StorageError::Migration(e.to_string()))
}

/// Reverts the newest applied migration; returns its version (tests prove that a migration
/// which moves data moves it back).
pub(super) fn revert_last(conn: &mut DbConn) -> Result<String, StorageError> {
    let reverted = match conn {
        DbConn::Sqlite(c) => c.revert_last_migration(SQLITE).map(|v| v.to_string()),
        DbConn::Pg(c) => c.revert_last_migration(POSTGRES).map(|v| v.to_string()),
    };
    reverted.map_err(|e| StorageError::Migration(e.to_string()))
}
