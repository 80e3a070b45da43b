use diesel::result::{DatabaseErrorKind, Error as DieselError};

/// Everything the storage layer can fail with. Mapped to HTTP once, in `http::error`.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// No connection could be had in time: the pool is exhausted or the server is down.
    #[error("no database connection available: {0}")]
    Unavailable(String),
    /// SQLite stayed locked by other writers through every retry.
    #[error("the database stayed busy through every retry")]
    Busy,
    /// A uniqueness or reference rule of the schema refused the write.
    #[error("constraint violated: {0}")]
    Constraint(String),
    /// Stored data that no longer parses: a bug or a hand edit, never the client's fault.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migration(String),
    #[error(transparent)]
    Database(DieselError),
}

impl From<DieselError> for StorageError {
    fn from(e: DieselError) -> Self {
        match e {
            DieselError::DatabaseError(
                DatabaseErrorKind::UniqueViolation
                | DatabaseErrorKind::ForeignKeyViolation
                | DatabaseErrorKind::CheckViolation,
                ref info,
            ) => StorageError::Constraint(info.message().to_owned()),
            DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, ref info) => {
                StorageError::Unavailable(info.message().to_owned())
            }
            other => StorageError::Database(other),
        }
    }
}

impl From<r2d2::Error> for StorageError {
    fn from(e: r2d2::Error) -> Self {
        StorageError::Unavailable(e.to_string())
    }
}

impl StorageError {
    /// SQLite reports lock contention as an unknown database error whose message names it.
    pub(crate) fn is_sqlite_busy(&self) -> bool {
        match self {
            StorageError::Busy => true,
            StorageError::Database(DieselError::DatabaseError(_, info)) => {
                let m = info.message();
                m.contains("database is locked")
                    || m.contains("database table is locked")
                    || m.contains("busy")
            }
            _ => false,
        }
    }
}
