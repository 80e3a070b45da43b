//! Configuration: where the database is and how the server behaves. Values come from the
//! command line or the environment (see `cli`).

use std::path::PathBuf;
use std::time::Duration;

pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/elicence.db";

/// Which database to use. The backend comes from the URL scheme, and nothing else: an unknown
/// scheme is refused rather than silently creating a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unsupported database URL {shown:?}: use sqlite://PATH (e.g. {DEFAULT_DATABASE_URL}) \
     or postgres://USER@HOST:PORT/DATABASE"
)]
pub struct UnsupportedDatabaseUrl {
    /// The URL without any password, safe to print.
    shown: String,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<DatabaseUrl, UnsupportedDatabaseUrl> {
        let url = url.trim();
        if let Some(path) = url.strip_prefix("sqlite://") {
            if !path.is_empty() && !path.starts_with(':') {
                return Ok(DatabaseUrl::Sqlite(PathBuf::from(path)));
            }
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        Err(UnsupportedDatabaseUrl { shown: redact(url) })
    }

    pub fn backend_name(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "sqlite",
            DatabaseUrl::Postgres(_) => "postgresql",
        }
    }

    /// A form of the URL fit for logs: any password replaced.
    pub fn redacted(&self) -> String {
        match self {
            DatabaseUrl::Sqlite(p) => format!("sqlite://{}", p.display()),
            DatabaseUrl::Postgres(u) => redact(u),
        }
    }
}

fn redact(url: &str) -> String {
    // scheme://user:password@host → scheme://user:***@host
    if let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@')) {
        let creds = &url[scheme_end + 3..at];
        if let Some(colon) = creds.find(':') {
            return format!(
                "{}{}:***{}",
                &url[..scheme_end + 3],
                &creds[..colon],
                &url[at..]
            );
        }
    }
    url.to_owned()
}

/// Everything `Application::build` needs to run the service: `elicence serve` fills it from
/// its flags and the environment, the tests from a fresh database and a free port. The clock
/// is not a setting: it is handed to `Application::build` beside it.
#[derive(Debug, Clone)]
pub struct Settings {
    pub database: DatabaseUrl,
    pub pool: PoolSettings,
    /// Address to listen on; port 0 takes a free one (`Application::port` tells which).
    pub bind: String,
    /// Address of the Prometheus `/metrics` listener, apart from `bind`; `None` (the
    /// default): no metrics are recorded or served.
    pub metrics_bind: Option<String>,
    /// Where clients reach this service (`https://host`): names the status list. `None`:
    /// http:// and the address bound.
    pub public_url: Option<String>,
    /// HTTP worker threads.
    pub workers: usize,
    /// Blocking threads per worker for database work; `None`: 1 on SQLite, enough on
    /// PostgreSQL to keep every pooled connection busy.
    pub blocking_threads: Option<usize>,
    /// Verifier threads; `None`: 1 on SQLite, half the pool on PostgreSQL.
    pub verifier_threads: Option<usize>,
    /// Folder of the Ed25519 signing keys.
    pub keys_dir: PathBuf,
    /// Generate a first signing key when `keys_dir` has no active one (`--demo`, tests).
    /// Otherwise the service refuses to start without one: a new key would silently
    /// invalidate every outstanding code and every offline terminal's key list.
    pub generate_missing_key: bool,
    /// How often the key states are read again for `keys rotate`/`retire` (the bound within
    /// which every process signs with a rotated key).
    pub keys_reload_every: Duration,
    /// How long a display code stays valid.
    pub code_ttl: chrono::Duration,
    /// Working-day calendar file; `None`: the bundled calendar/china.json.
    pub calendar: Option<PathBuf>,
    /// The status lists' `ttl` and `Cache-Control: max-age`: how long a terminal keeps a
    /// list before asking again.
    pub status_list_ttl: chrono::Duration,
    /// `exp` − `iat` of a status list: how long an offline terminal may rely on one.
    pub status_list_lifetime: chrono::Duration,
    /// How often each process tries to sweep and sign the status lists, and reloads what was
    /// signed: a change is served everywhere within twice this.
    pub status_list_interval: Duration,
    /// Rendered images kept in memory, by count and by bytes.
    pub render_cache_entries: usize,
    pub render_cache_bytes: usize,
    /// What one client may hold or cost: body deadlines, connections, photo work, uploads.
    pub limits: Limits,
    /// After SIGTERM or SIGINT: how long requests in flight have to be answered (actix's
    /// `shutdown_timeout`); the verifier's last batch and the release of unfinished review
    /// claims then get what is left of it, and at least `http::shutdown::AFTER_STOP_GRACE`.
    pub shutdown_timeout: Duration,
}

impl Settings {
    /// The defaults of `elicence serve` over `database`.
    pub fn new(database: DatabaseUrl) -> Settings {
        Settings {
            database,
            pool: PoolSettings::default(),
            bind: "127.0.0.1:8080".into(),
            metrics_bind: None,
            public_url: None,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            blocking_threads: None,
            verifier_threads: None,
            keys_dir: PathBuf::from("keys"),
            generate_missing_key: false,
            keys_reload_every: crate::signing::live::RELOAD_EVERY,
            code_ttl: chrono::Duration::seconds(180),
            calendar: None,
            status_list_ttl: chrono::Duration::seconds(300),
            status_list_lifetime: chrono::Duration::seconds(86_400),
            status_list_interval: Duration::from_secs(1),
            // Four code images and a front card a code, codes live three minutes; secondary
            // cards by content. Cards weigh ~150-400 KB, so bytes bound it too.
            render_cache_entries: 8_192,
            render_cache_bytes: 256 * 1024 * 1024,
            limits: Limits::default(),
            shutdown_timeout: Duration::from_secs(30),
        }
    }
}

/// What one client may hold or cost (docs/limits.md says why each default is what it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The whole of a JSON (or any non-multipart) body must arrive within this, from when
    /// the handler starts reading it; past it: 408 `request_timeout` and the connection
    /// closed (`http::limits::body_deadline`).
    pub json_body_deadline: Duration,
    /// The same for a `multipart/form-data` photo upload (up to 5 MB from a phone).
    pub photo_body_deadline: Duration,
    /// Concurrent connections per worker (actix `max_connections`); past it a worker stops
    /// accepting until one closes. `None`: what the open-files limit allows
    /// (`http::limits::open_files`), at most actix's own 25,000.
    pub max_connections: Option<usize>,
    /// Photos decoded at once (the photo pool's threads). `None`: half the cores, at least 1.
    pub photo_threads: Option<usize>,
    /// Photos waiting for a photo thread; past it: 503 `busy` with `Retry-After`.
    pub photo_queue: usize,
    /// Photo uploads per token, sustained (app uploads and the counter's photos).
    pub uploads_per_minute: u32,
    /// …and at once, before that rate applies.
    pub upload_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            json_body_deadline: Duration::from_secs(10),
            photo_body_deadline: Duration::from_secs(60),
            max_connections: None,
            photo_threads: None,
            photo_queue: 8,
            uploads_per_minute: 6,
            upload_burst: 6,
        }
    }
}

impl Limits {
    /// The photo pool's threads: the setting, or half the cores (at least one), so that
    /// photo work leaves the other half to the HTTP workers and the database.
    pub fn photo_threads(&self) -> usize {
        self.photo_threads
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()) / 2)
            .max(1)
    }
}

/// How the connection pool behaves.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    pub max_size: u32,
    /// How long a request waits for a connection before it is answered 503.
    pub checkout_timeout: Duration,
    /// What every SQLite connection is opened with; ignored on PostgreSQL.
    pub sqlite: SqliteSettings,
}

impl Default for PoolSettings {
    fn default() -> Self {
        PoolSettings {
            max_size: 8,
            checkout_timeout: Duration::from_secs(3),
            sqlite: SqliteSettings::default(),
        }
    }
}

/// SQLite's own settings, applied to every connection of every pool (the verifier's too).
#[derive(Debug, Clone, Default)]
pub struct SqliteSettings {
    /// The database file grows to this many bytes at most (`PRAGMA max_page_count`): a write
    /// that needs more is answered 503 `storage_unavailable` (full) instead of filling the
    /// disk that the log, the keys and the operating system need too. `None`: no cap.
    pub max_bytes: Option<u64>,
    /// Every connection refuses to write (`PRAGMA query_only`), as SQLite does on a
    /// write-protected file or filesystem: reads are served, writes answered 503.
    pub read_only: bool,
    /// How the verifier's audit commits reach the disk.
    pub audit_sync: AuditSync,
}

/// `PRAGMA synchronous` for the verifier's commits, whose scans are answered once they return.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum AuditSync {
    /// Each commit is on disk before any scan of its batch is answered: a power cut loses no
    /// audit row of an answered scan.
    #[default]
    Full,
    /// The log is synced at checkpoints only: a power cut may lose the last commits, whose
    /// scans were answered already. For measuring what `full` costs.
    Normal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_and_postgres_urls_are_accepted() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/elicence.db").unwrap(),
            DatabaseUrl::Sqlite("data/elicence.db".into())
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite("/tmp/x.db".into())
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://postgres@127.0.0.1/test"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
    }

    #[test]
    fn other_schemes_are_refused_with_both_forms_named() {
        for bad in [
            "mysql://root@localhost/db",
            "data/elicence.db",
            "sqlite:",
            "sqlite://",
            "sqlite://:memory:",
            "",
            "http://x",
        ] {
            let e = DatabaseUrl::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("sqlite://") && e.contains("postgres://"),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn passwords_never_reach_messages() {
        let e = DatabaseUrl::parse("mysql://root:hunter2@db/x")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        let pg = DatabaseUrl::parse("postgres://app:s3cret@db:5432/elicence").unwrap();
        assert_eq!(pg.redacted(), "postgres://app:***@db:5432/elicence");
    }
}
