use super::checkpoints::{self, Checkpointer, RestartHold, JOURNAL_SIZE_LIMIT_BYTES};
use super::{migrations, StorageError};
use crate::config::{DatabaseUrl, PoolSettings};
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, PooledConnection};
use diesel::{PgConnection, SqliteConnection};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

type PgPool = r2d2::Pool<ConnectionManager<PgConnection>>;

/// A pool of connections to one backend. Cheap to clone.
#[derive(Clone)]
pub enum Database {
    Sqlite(SqlitePool),
    Pg(PgPool),
}

/// The SQLite pool and, when it runs them, the thread that checkpoints its log.
#[derive(Clone)]
pub struct SqlitePool {
    pool: r2d2::Pool<ConnectionManager<SqliteConnection>>,
    path: PathBuf,
    checkout_timeout: Duration,
    checkpointer: Option<Arc<Checkpointer>>,
}

/// WAL is a property of the file, kept once set: it is set here, once, before a pool opens
/// its connections side by side. (Each of them setting it on a new file raced for the lock
/// the change takes, and r2d2 logged "database is locked" for the losers.)
fn set_wal_mode(path: &Path) -> Result<(), StorageError> {
    use diesel::Connection;
    let mut conn = SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| StorageError::Unavailable(format!("{}: {e}", path.display())))?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL;"
    ))?;
    Ok(())
}

fn sqlite_pool(
    path: &Path,
    max_size: u32,
    checkout_timeout: Duration,
    checkpoint_on_commit: bool,
) -> Result<r2d2::Pool<ConnectionManager<SqliteConnection>>, StorageError> {
    let manager = ConnectionManager::<SqliteConnection>::new(path.to_string_lossy());
    Ok(r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(checkout_timeout)
        // A local file does not drop its connection; skip the per-checkout probe.
        .test_on_check_out(false)
        .connection_customizer(Box::new(SqlitePragmas {
            checkpoint_on_commit,
        }))
        .build(manager)?)
}

/// One checked-out connection; returned to the pool when dropped.
pub enum DbConn {
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    Pg(PooledConnection<ConnectionManager<PgConnection>>),
}

/// Set on every new SQLite connection (the file is in WAL mode already, see
/// `set_wal_mode`: readers run beside the writer): the busy timeout makes a writer wait for
/// the lock instead of failing at once, and foreign keys are off by default in SQLite. The
/// connections of [`Database::without_commit_checkpoints`] never checkpoint when they commit.
#[derive(Debug)]
struct SqlitePragmas {
    checkpoint_on_commit: bool,
}

const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;
/// Page cache per connection (the default is 2 MiB). A memory map (`mmap_size`) was tried
/// and measured slower under /verify load: the audit keeps growing the file, and every
/// growth remaps it in every connection.
const SQLITE_CACHE_KIB: u32 = 32 * 1024;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -{SQLITE_CACHE_KIB};
             PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES};
             PRAGMA wal_autocheckpoint = {autocheckpoint};",
            autocheckpoint = if self.checkpoint_on_commit { 1000 } else { 0 }
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

impl Database {
    /// Opens the pool (creating the SQLite file and its folder if needed) and runs pending
    /// migrations, so a pool handed out is always on the current schema.
    pub fn connect(url: &DatabaseUrl, settings: &PoolSettings) -> Result<Database, StorageError> {
        let db = match url {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StorageError::Unavailable(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                set_wal_mode(path)?;
                let pool = sqlite_pool(path, settings.max_size, settings.checkout_timeout, true)?;
                Database::Sqlite(SqlitePool {
                    pool,
                    path: path.clone(),
                    checkout_timeout: settings.checkout_timeout,
                    checkpointer: None,
                })
            }
            DatabaseUrl::Postgres(u) => {
                let manager = ConnectionManager::<PgConnection>::new(u.as_str());
                let pool = r2d2::Pool::builder()
                    .max_size(settings.max_size)
                    .connection_timeout(settings.checkout_timeout)
                    .build(manager)?;
                Database::Pg(pool)
            }
        };
        db.migrate()?;
        Ok(db)
    }

    /// A pool of `max_size` connections of its own to the same database whose commits never
    /// checkpoint the SQLite log, for work that every request waits on (the verifier's
    /// batches): SQLite's own checkpoint runs in the commit that takes the log past 1,000
    /// pages and holds that transaction's answer for milliseconds. While the pool lives, a
    /// thread checkpoints for it (`storage::checkpoints`); the writers of the main pool keep
    /// checkpointing as SQLite does. On PostgreSQL, the same pool.
    pub fn without_commit_checkpoints(&self, max_size: u32) -> Result<Database, StorageError> {
        Ok(match self {
            Database::Sqlite(p) => Database::Sqlite(SqlitePool {
                pool: sqlite_pool(&p.path, max_size, p.checkout_timeout, false)?,
                path: p.path.clone(),
                checkout_timeout: p.checkout_timeout,
                checkpointer: Some(Arc::new(checkpoints::start(&p.path, checkpoints::EVERY)?)),
            }),
            Database::Pg(_) => self.clone(),
        })
    }

    /// On a pool of [`Database::without_commit_checkpoints`] over SQLite, keeps its log from
    /// being restarted while the returned hold lives: take it for the whole of a batch of
    /// work (see `storage::checkpoints`). `None` elsewhere.
    pub fn hold_log_restart(&self) -> Option<RestartHold<'_>> {
        match self {
            Database::Sqlite(p) => p.checkpointer.as_ref().map(|c| c.hold_restart()),
            Database::Pg(_) => None,
        }
    }

    pub fn migrate(&self) -> Result<Vec<String>, StorageError> {
        migrations::run_pending(&mut self.get()?)
    }

    pub fn revert_all_migrations(&self) -> Result<usize, StorageError> {
        migrations::revert_all(&mut self.get()?)
    }

    pub fn revert_last_migration(&self) -> Result<String, StorageError> {
        migrations::revert_last(&mut self.get()?)
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            Database::Sqlite(_) => "sqlite",
            Database::Pg(_) => "postgresql",
        }
    }

    /// Checks a connection out, waiting at most the pool's checkout timeout. Blocking.
    pub fn get(&self) -> Result<DbConn, StorageError> {
        Ok(match self {
            Database::Sqlite(p) => DbConn::Sqlite(p.pool.get()?),
            Database::Pg(p) => DbConn::Pg(p.get()?),
        })
    }

    /// Runs blocking database work off the async executor: the checkout and the queries both
    /// happen on the blocking thread pool.
    pub async fn run<T, E, F>(&self, work: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StorageError> + Send + 'static,
    {
        let db = self.clone();
        actix_web::web::block(move || work(&mut db.get()?))
            .await
            .map_err(|_| {
                E::from(StorageError::Unavailable(
                    "the blocking task was cancelled".into(),
                ))
            })?
    }

    /// Is the database reachable now? Used by `/readyz`.
    pub fn ping(&self) -> Result<(), StorageError> {
        let mut conn = self.get()?;
        super::with_conn!(&mut conn, |c| c
            .batch_execute("SELECT 1")
            .map_err(StorageError::from))
    }
}

const BUSY_RETRIES: u32 = 8;

/// Retries work while SQLite reports the database busy, backing off a little each time. The
/// busy timeout already waits inside SQLite; this covers the cases where SQLite gives up at
/// once (a deferred transaction that cannot upgrade its lock, or a checkpoint in progress).
pub(crate) fn retry_busy<T>(
    mut work: impl FnMut() -> Result<T, StorageError>,
) -> Result<T, StorageError> {
    let mut attempt = 0;
    loop {
        match work() {
            Err(e) if e.is_sqlite_busy() => {
                attempt += 1;
                if attempt > BUSY_RETRIES {
                    return Err(StorageError::Busy);
                }
                std::thread::sleep(Duration::from_millis(5 * u64::from(attempt)));
            }
            other => return other,
        }
    }
}

impl DbConn {
    /// Runs `work` in one write transaction over any number of storage calls. On SQLite it
    /// begins with `BEGIN IMMEDIATE`, taking the write lock before the first read, so a
    /// read-then-write can never be overtaken; if SQLite reports the database busy beyond its
    /// timeout, the BEGIN is retried. In WAL mode the commit needs no further lock.
    pub fn write_transaction<T, E>(
        &mut self,
        work: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StorageError>,
    {
        self.transaction(Some("BEGIN IMMEDIATE"), work)
    }

    /// Runs read-only `work` on one snapshot. On SQLite each statement outside a transaction
    /// starts a read transaction of its own, and while another connection keeps committing
    /// (the verifier's audit under load) each start re-validates the page cache: one deferred
    /// transaction pays that once for all the reads of a request. PostgreSQL needs no such
    /// help, and `work` there runs as it is.
    pub fn read_snapshot<T, E>(
        &mut self,
        work: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StorageError>,
    {
        match self {
            DbConn::Sqlite(_) => self.transaction(Some("BEGIN DEFERRED"), work),
            DbConn::Pg(_) => work(self),
        }
    }

    /// Runs `work` under a savepoint of the transaction in progress: if it fails, what it
    /// wrote is undone and the transaction goes on without it (on PostgreSQL a failed
    /// statement would otherwise abort the whole transaction). For one item of a batch.
    pub fn savepoint<T, E>(
        &mut self,
        work: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StorageError>,
    {
        // Inside a transaction, diesel's transaction managers begin a SAVEPOINT.
        self.transaction(None, work)
    }

    /// Begins with `sqlite_begin` on SQLite (a savepoint when `None`, inside a transaction).
    fn transaction<T, E>(
        &mut self,
        sqlite_begin: Option<&str>,
        work: impl FnOnce(&mut DbConn) -> Result<T, E>,
    ) -> Result<T, E>
    where
        E: From<StorageError>,
    {
        use diesel::connection::{AnsiTransactionManager, TransactionManager};
        match self {
            DbConn::Sqlite(c) => retry_busy(|| {
                match sqlite_begin {
                    Some(sql) => AnsiTransactionManager::begin_transaction_sql(&mut **c, sql),
                    None => AnsiTransactionManager::begin_transaction(&mut **c),
                }
                .map_err(StorageError::from)
            })?,
            DbConn::Pg(c) => {
                <PgConnection as diesel::Connection>::TransactionManager::begin_transaction(
                    &mut **c,
                )
                .map_err(StorageError::from)?
            }
        }
        let outcome = work(self);
        let end = match (&outcome, &mut *self) {
            (Ok(_), DbConn::Sqlite(c)) => AnsiTransactionManager::commit_transaction(&mut **c),
            (Ok(_), DbConn::Pg(c)) => {
                <PgConnection as diesel::Connection>::TransactionManager::commit_transaction(
                    &mut **c,
                )
            }
            (Err(_), DbConn::Sqlite(c)) => AnsiTransactionManager::rollback_transaction(&mut **c),
            (Err(_), DbConn::Pg(c)) => {
                <PgConnection as diesel::Connection>::TransactionManager::rollback_transaction(
                    &mut **c,
                )
            }
        };
        match outcome {
            Ok(v) => end.map(|_| v).map_err(|e| E::from(StorageError::from(e))),
            Err(e) => Err(e),
        }
    }
}
