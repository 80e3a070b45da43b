use super::CliError;
use crate::clock::{Clock, SystemClock};
use crate::config::{AuditSync, DatabaseUrl, PoolSettings, Settings, SqliteSettings};
use crate::http::startup::Application;
use crate::registry::demo;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ELICENCE_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Load the bundled sample registry and print ready-to-use tokens.
    #[arg(long)]
    demo: bool,
    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "ELICENCE_WORKERS")]
    workers: Option<usize>,
    /// Blocking threads per worker for database work (default: 1 on SQLite, pool size /
    /// workers on PostgreSQL).
    #[arg(long, env = "ELICENCE_BLOCKING_THREADS")]
    blocking_threads: Option<usize>,
    /// Database connections in the pool.
    #[arg(long, env = "ELICENCE_POOL_SIZE", default_value_t = 8)]
    pool_size: u32,
    /// Folder of the Ed25519 signing keys (`elicence keys generate` makes the first; only
    /// --demo makes one itself). Neither it nor its keyring.json may be writable by group or
    /// others.
    #[arg(long, env = "ELICENCE_KEYS_DIR", default_value = "keys")]
    keys_dir: std::path::PathBuf,
    /// SQLite: the database file grows to this many MiB at most; a write that needs more is
    /// answered 503 storage_unavailable, before the disk is full. Default: no cap.
    #[arg(long, env = "ELICENCE_SQLITE_MAX_SIZE_MB", value_name = "MIB",
          value_parser = clap::value_parser!(u64).range(1..))]
    sqlite_max_size_mb: Option<u64>,
    /// SQLite: open the database for reading only (as a write-protected file would be):
    /// reads are served, every write (verification's audit included) is answered 503.
    #[arg(long, env = "ELICENCE_SQLITE_READ_ONLY")]
    sqlite_read_only: bool,
    /// SQLite: how the verifier's audit commits reach the disk before the scans are answered.
    /// `full` (the default) loses no audit row of an answered scan in a power cut; `normal`
    /// may lose the last ones, and is there to measure what `full` costs.
    #[arg(long, env = "ELICENCE_SQLITE_AUDIT_SYNC", value_enum, default_value_t = AuditSync::Full)]
    sqlite_audit_sync: AuditSync,
    /// Seconds a display code (QR and barcode) stays valid.
    #[arg(long, env = "ELICENCE_CODE_TTL_SECS", default_value_t = 180)]
    code_ttl_secs: u32,
    /// Seconds a request waits for a database connection before it is answered 503.
    #[arg(long, env = "ELICENCE_POOL_TIMEOUT_SECS", default_value_t = 3)]
    pool_timeout_secs: u64,
    /// Working-day calendar (JSON, see calendar/README.md) for photo-review deadlines;
    /// default: the bundled calendar/china.json.
    #[arg(long, env = "ELICENCE_CALENDAR")]
    calendar: Option<std::path::PathBuf>,
    /// Where clients reach this service (`https://host`); names the status list (its `sub`).
    /// Default: http:// and the --bind address.
    #[arg(long, env = "ELICENCE_PUBLIC_URL", value_name = "URL")]
    public_url: Option<String>,
    /// Seconds the status list is served before it is rebuilt; also its `ttl` for terminals.
    #[arg(long, env = "ELICENCE_STATUS_LIST_TTL_SECS", default_value_t = 300,
          value_parser = clap::value_parser!(u32).range(1..))]
    status_list_ttl_secs: u32,
    /// Seconds an offline terminal may rely on one status list (`exp` − `iat`); after that it
    /// is stale. At least the ttl.
    #[arg(
        long,
        env = "ELICENCE_STATUS_LIST_LIFETIME_SECS",
        default_value_t = 86_400
    )]
    status_list_lifetime_secs: u32,
}

impl ServeArgs {
    /// The settings these flags ask for, over `database`.
    fn settings(self, database: DatabaseUrl) -> Result<Settings, CliError> {
        if self.status_list_lifetime_secs < self.status_list_ttl_secs {
            return Err(CliError::usage(
                "--status-list-lifetime-secs must be at least --status-list-ttl-secs",
            ));
        }
        let mut settings = Settings::new(database);
        settings.pool = PoolSettings {
            max_size: self.pool_size,
            checkout_timeout: Duration::from_secs(self.pool_timeout_secs),
            sqlite: SqliteSettings {
                max_bytes: self
                    .sqlite_max_size_mb
                    .map(|mb| mb.saturating_mul(1024 * 1024)),
                read_only: self.sqlite_read_only,
                audit_sync: self.sqlite_audit_sync,
            },
        };
        settings.bind = self.bind;
        settings.public_url = self.public_url;
        if let Some(workers) = self.workers {
            settings.workers = workers;
        }
        settings.blocking_threads = self.blocking_threads;
        settings.keys_dir = self.keys_dir;
        // A trial needs no setup: --demo makes a key when the folder has none.
        settings.generate_missing_key = self.demo;
        settings.code_ttl = chrono::Duration::seconds(i64::from(self.code_ttl_secs));
        settings.calendar = self.calendar;
        settings.status_list_ttl = chrono::Duration::seconds(i64::from(self.status_list_ttl_secs));
        settings.status_list_lifetime =
            chrono::Duration::seconds(i64::from(self.status_list_lifetime_secs));
        Ok(settings)
    }
}

pub fn run(url: &str, args: ServeArgs) -> Result<(), CliError> {
    let database = DatabaseUrl::parse(url).map_err(CliError::usage)?;
    let demo = args.demo;
    let settings = args.settings(database)?;
    let bind = settings.bind.clone();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(settings, clock.clone())?;
        if demo {
            let tokens = demo::load(&app.state().db, clock.as_ref()).map_err(CliError::new)?;
            print_demo_tokens(&tokens, &bind);
        }
        app.run_until_stopped().await?;
        Ok(())
    })
}

fn print_demo_tokens(tokens: &[demo::DemoToken], bind: &str) {
    println!("\nDemo registry loaded. Tokens (shown once; new ones on every --demo start):\n");
    for t in tokens {
        println!(
            "  {:<9} {}\n            {}",
            t.role.code(),
            t.label,
            t.secret
        );
    }
    if let Some(first) = tokens.first() {
        println!(
            "\nTry:\n  curl -s -H 'Authorization: Bearer {}' http://{bind}/api/v1/me/eligibility\n",
            first.secret
        );
    }
}
