use super::checkpoints::{self, Checkpointer, RestartHold, JOURNAL_SIZE_LIMIT_BYTES};
use super::{migrations, Fault, StorageError};
use crate::config::{AuditSync, DatabaseUrl, PoolSettings, SqliteSettings};
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
    pragmas: SqlitePragmas,
    checkpointer: Option<Arc<Checkpointer>>,
    /// Its commits are not synced by SQLite: whoever answers on them calls
    /// [`Database::sync_log`] first (the verifier's pool under `AuditSync::Full`).
    synced_by_caller: bool,
}

/// WAL is a property of the file, kept once set: it is set here, once, before a pool opens
/// its connections side by side. (Each of them setting it on a new file raced for the lock
/// the change takes, and r2d2 logged "database is locked" for the losers.) Returns the
/// file's page size. With `audit_index`, the same for the audit's index file
/// (`storage::audit_index`).
fn set_wal_mode(path: &Path, audit_index: bool) -> Result<u64, StorageError> {
    use diesel::{Connection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct PageSize {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        page_size: i64,
    }
    let mut conn = SqliteConnection::establish(&path.to_string_lossy()).map_err(|e| {
        StorageError::unavailable(Fault::CannotConnect, format!("{}: {e}", path.display()))
    })?;
    conn.batch_execute(&format!(
        "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}; PRAGMA journal_mode = WAL;"
    ))?;
    if audit_index {
        conn.batch_execute(&super::audit_index::attach_sql(path))?;
        super::audit_index::set_wal_mode(&mut conn)?;
    }
    let size: PageSize = diesel::sql_query("PRAGMA page_size").get_result(&mut conn)?;
    Ok(size.page_size.max(512) as u64)
}

fn sqlite_pool(
    path: &Path,
    max_size: u32,
    checkout_timeout: Duration,
    pragmas: SqlitePragmas,
) -> Result<r2d2::Pool<ConnectionManager<SqliteConnection>>, StorageError> {
    let manager = ConnectionManager::<SqliteConnection>::new(path.to_string_lossy());
    Ok(r2d2::Pool::builder()
        .max_size(max_size)
        .connection_timeout(checkout_timeout)
        // A local file does not drop its connection; skip the per-checkout probe.
        .test_on_check_out(false)
        .error_handler(Box::new(ConnectErrors))
        .connection_customizer(Box::new(pragmas))
        .build(manager)?)
}

/// r2d2 logs every failed connection attempt, and retries each one every second or so while
/// the server is down: through the repeats filter instead, once per interval with a count.
#[derive(Debug)]
struct ConnectErrors;

impl r2d2::HandleError<diesel::r2d2::Error> for ConnectErrors {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        let message = error.to_string();
        if let Some(repeated) = crate::telemetry::repeats::STORAGE.admit(&message) {
            tracing::warn!(error = %message, repeated, "a database connection failed");
        }
    }
}

/// One checked-out connection; returned to the pool when dropped.
pub enum DbConn {
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    Pg(PooledConnection<ConnectionManager<PgConnection>>),
}

/// A PostgreSQL connection that failed as lost on this thread goes back to the pool marked
/// broken, and is closed instead of being handed out again (`storage::lost_connections`).
impl Drop for DbConn {
    fn drop(&mut self) {
        if super::lost_connections::take() {
            if let DbConn::Pg(c) = self {
                super::lost_connections::mark_broken(c);
            }
        }
    }
}

/// Set on every new SQLite connection (the file is in WAL mode already, see
/// `set_wal_mode`: readers run beside the writer): the busy timeout makes a writer wait for
/// the lock instead of failing at once, and foreign keys are off by default in SQLite.
/// `synchronous = NORMAL`: in WAL mode the log is synced at checkpoints only, so a power cut
/// can drop the last commits but never corrupts the file. The
/// connections of [`Database::without_commit_checkpoints`] never checkpoint when they commit;
/// what they commit is synced by [`Database::sync_log`] when the audit asks for it (see
/// `AuditSync`).
#[derive(Debug, Clone)]
struct SqlitePragmas {
    checkpoint_on_commit: bool,
    /// `--sqlite-max-size-mb` in pages of the file; 0: no cap.
    max_page_count: u64,
    query_only: bool,
    /// The database whose audit index file each connection attaches
    /// (`storage::audit_index`); none on a read-only database, or where no query reads it.
    audit_index_of: Option<Arc<Path>>,
}

impl SqlitePragmas {
    fn new(settings: &SqliteSettings, page_size: u64, path: &Path) -> SqlitePragmas {
        SqlitePragmas {
            audit_index_of: (!settings.read_only).then(|| Arc::from(path)),
            checkpoint_on_commit: true,
            max_page_count: settings.max_bytes.map_or(0, |b| (b / page_size).max(1)),
            query_only: settings.read_only,
        }
    }
}

const SQLITE_BUSY_TIMEOUT_MS: u32 = 5_000;
/// Page cache per connection (the default is 2 MiB). A memory map (`mmap_size`) was tried
/// and measured slower under /verify load: the audit keeps growing the file, and every
/// growth remaps it in every connection.
const SQLITE_CACHE_KIB: u32 = 32 * 1024;

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        // A max_page_count below the file's size leaves it at the size: no write grows it.
        let max_page_count = match self.max_page_count {
            0 => String::new(),
            pages => format!("PRAGMA max_page_count = {pages};"),
        };
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS};
             PRAGMA synchronous = NORMAL;
             PRAGMA foreign_keys = ON;
             PRAGMA cache_size = -{SQLITE_CACHE_KIB};
             PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT_BYTES};
             PRAGMA wal_autocheckpoint = {autocheckpoint};
             PRAGMA query_only = {query_only};
             {max_page_count}",
            autocheckpoint = if self.checkpoint_on_commit { 1000 } else { 0 },
            query_only = u8::from(self.query_only),
        ))
        .map_err(diesel::r2d2::Error::QueryError)?;
        match &self.audit_index_of {
            Some(database) => conn
                .batch_execute(&super::audit_index::attach_sql(database))
                .map_err(diesel::r2d2::Error::QueryError),
            None => Ok(()),
        }
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
                        StorageError::unavailable(
                            Fault::CannotConnect,
                            format!("cannot create {}: {e}", dir.display()),
                        )
                    })?;
                }
                let page_size = set_wal_mode(path, !settings.sqlite.read_only)?;
                let pragmas = SqlitePragmas::new(&settings.sqlite, page_size, path);
                let pool = sqlite_pool(
                    path,
                    settings.max_size,
                    settings.checkout_timeout,
                    pragmas.clone(),
                )?;
                Database::Sqlite(SqlitePool {
                    pool,
                    path: path.clone(),
                    checkout_timeout: settings.checkout_timeout,
                    pragmas,
                    checkpointer: None,
                    synced_by_caller: false,
                })
            }
            DatabaseUrl::Postgres(u) => {
                let manager = ConnectionManager::<PgConnection>::new(u.as_str());
                let pool = r2d2::Pool::builder()
                    .max_size(settings.max_size)
                    .connection_timeout(settings.checkout_timeout)
                    // No `SELECT 1` a checkout: a lost connection is discarded once it has
                    // failed instead (`storage::lost_connections`).
                    .test_on_check_out(false)
                    .error_handler(Box::new(ConnectErrors))
                    .build(manager)?;
                Database::Pg(pool)
            }
        };
        db.migrate()?;
        if let Database::Sqlite(SqlitePool {
            pragmas:
                SqlitePragmas {
                    audit_index_of: Some(_),
                    ..
                },
            ..
        }) = &db
        {
            if let DbConn::Sqlite(c) = &mut db.get()? {
                super::audit_index::prepare(c)?;
            }
        }
        Ok(db)
    }

    /// A pool of `max_size` connections of its own to the same database whose commits never
    /// checkpoint the SQLite log, for work that every request waits on (the verifier's
    /// batches): SQLite's own checkpoint runs in the commit that takes the log past 1,000
    /// pages and holds that transaction's answer for milliseconds. While the pool lives, a
    /// thread checkpoints for it (`storage::checkpoints`); the writers of the main pool keep
    /// checkpointing as SQLite does. Its commits are synced as `sync` says: answers wait on
    /// them. On PostgreSQL, the same pool (whose commits are synced: `synchronous_commit`).
    pub fn without_commit_checkpoints(
        &self,
        max_size: u32,
        sync: AuditSync,
    ) -> Result<Database, StorageError> {
        Ok(match self {
            Database::Sqlite(p) => {
                // Under `Full` the log is synced after the commit, by `sync_log`, on the
                // thread that answers the scans, while the verifier goes on with the next
                // batch: one sync covers every batch committed before it.
                let pragmas = SqlitePragmas {
                    checkpoint_on_commit: false,
                    // The verifier only appends to the audit; its index is the checkpoints'.
                    audit_index_of: None,
                    ..p.pragmas.clone()
                };
                Database::Sqlite(SqlitePool {
                    pool: sqlite_pool(&p.path, max_size, p.checkout_timeout, pragmas.clone())?,
                    path: p.path.clone(),
                    checkout_timeout: p.checkout_timeout,
                    pragmas,
                    checkpointer: Some(Arc::new(checkpoints::start(
                        &p.path,
                        p.pragmas.audit_index_of.is_some(),
                        checkpoints::EVERY,
                    )?)),
                    synced_by_caller: sync == AuditSync::Full,
                })
            }
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

    /// Connections of the pool (in use, idle), for the metrics.
    pub fn pool_state(&self) -> (u32, u32) {
        let state = match self {
            Database::Sqlite(p) => p.pool.state(),
            Database::Pg(p) => p.state(),
        };
        (
            state.connections - state.idle_connections,
            state.idle_connections,
        )
    }

    /// Whether this pool's commits wait for [`Database::sync_log`] to be on disk.
    pub fn commits_synced_by_caller(&self) -> bool {
        matches!(self, Database::Sqlite(p) if p.synced_by_caller)
    }

    /// Makes every commit made so far on this SQLite database durable: syncs its log file,
    /// as `PRAGMA synchronous = FULL` does at the end of each commit (in WAL mode a commit
    /// is durable once its frames in the log are; the log's header is synced by SQLite
    /// itself whenever it starts the log over, and a checkpoint syncs the log before it
    /// copies it). Blocking. Nothing to do on PostgreSQL, whose commits are synced.
    pub fn sync_log(&self) -> Result<(), StorageError> {
        let Some(wal) = self.sqlite_wal_path() else {
            return Ok(());
        };
        // Opened each time rather than kept: a log that SQLite deleted and made anew (the
        // last connection closed) is a new file; one that is gone has been checkpointed.
        match std::fs::File::open(&wal) {
            Ok(file) => file.sync_data(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        }
        .map_err(|e| {
            let fault = match e.kind() {
                std::io::ErrorKind::StorageFull => Fault::Full,
                std::io::ErrorKind::ReadOnlyFilesystem => Fault::ReadOnly,
                _ => Fault::Io,
            };
            StorageError::unavailable(fault, format!("syncing {}: {e}", wal.display()))
        })
    }

    /// The SQLite log file (`…-wal`), whose size the metrics show; none on PostgreSQL.
    pub fn sqlite_wal_path(&self) -> Option<std::path::PathBuf> {
        match self {
            Database::Sqlite(p) => {
                let mut wal = p.path.clone().into_os_string();
                wal.push("-wal");
                Some(wal.into())
            }
            Database::Pg(_) => None,
        }
    }

    /// Checks a connection out, waiting at most the pool's checkout timeout. Blocking.
    pub fn get(&self) -> Result<DbConn, StorageError> {
        match self {
            Database::Sqlite(p) => checkout(&p.pool).map(DbConn::Sqlite),
            Database::Pg(p) => {
                // What a connection given back earlier on this thread met is not this one's.
                super::lost_connections::take();
                checkout(p).map(DbConn::Pg)
            }
        }
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
                E::from(StorageError::unavailable(
                    Fault::Stopping,
                    "the blocking task was cancelled",
                ))
            })?
    }

    /// Can the database take a write now? One write transaction that allocates pages
    /// (a row of 16 KiB) and frees them again, so that it fails as a real write
    /// would: on a full disk or at `--sqlite-max-size-mb`, on a read-only file or server,
    /// with the server gone. Blocking. Used by `/readyz`.
    pub fn write_probe(&self) -> Result<(), StorageError> {
        let mut conn = self.get()?;
        let probe = match conn {
            DbConn::Sqlite(_) => SQLITE_PROBE,
            DbConn::Pg(_) => PG_PROBE,
        };
        conn.write_transaction(|conn| {
            super::with_conn!(conn, |c| c.batch_execute(probe)).map_err(StorageError::from)
        })
    }
}

/// What the write probe writes, 16 KiB: a few pages, more than most writes of the service
/// need, so that it does not succeed on the last free pages while they fail.
const SQLITE_PROBE: &str = "INSERT INTO storage_probe (filler) VALUES (zeroblob(16384));
                            DELETE FROM storage_probe;";
const PG_PROBE: &str =
    "INSERT INTO storage_probe (filler) VALUES (decode(repeat('00', 16384), 'hex'));
                        DELETE FROM storage_probe;";

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
                    return Err(StorageError::unavailable(
                        Fault::Locked,
                        format!("still locked after {BUSY_RETRIES} retries: {e}"),
                    ));
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

/// A checkout that names the cause of a timeout. r2d2 adds the last connection error to its
/// "timed out" only when an attempt failed during the wait; while the server is down it backs
/// off between attempts, so a wait can end with no error to show though nothing was in use.
/// A pool below its size that could not open a connection cannot connect; only a pool with
/// every connection open and checked out is exhausted.
fn checkout<M: r2d2::ManageConnection>(
    pool: &r2d2::Pool<M>,
) -> Result<r2d2::PooledConnection<M>, StorageError> {
    crate::telemetry::metrics::checkout_waiting(1.0);
    let checked_out = pool.get();
    crate::telemetry::metrics::checkout_waiting(-1.0);
    checked_out.map_err(|e| {
        let error = StorageError::from(e);
        crate::telemetry::metrics::checkout_timed_out();
        match error.fault() {
            Some(Fault::PoolExhausted) if pool.state().connections < pool.max_size() => {
                StorageError::unavailable(
                    Fault::CannotConnect,
                    format!("no connection could be opened within the checkout timeout ({error})"),
                )
            }
            _ => error,
        }
    })
}
