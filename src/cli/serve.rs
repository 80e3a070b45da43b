use super::CliError;
use crate::clock::{Clock, SystemClock};
use crate::config::{AuditSync, DatabaseUrl, Limits, PoolSettings, Settings, SqliteSettings};
use crate::http::startup::Application;
use crate::registry::demo;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ELICENCE_BIND", default_value = "127.0.0.1:8080")]
    bind: String,
    /// Serve Prometheus metrics at http://ADDR/metrics, on a listener of its own (never on
    /// --bind). Off by default. Give it 127.0.0.1 or a private interface: the metrics are for
    /// the operator's Prometheus, not for clients (docs/operations.md).
    #[arg(long, env = "ELICENCE_METRICS_BIND", value_name = "ADDR")]
    metrics_bind: Option<String>,
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
    /// Milliseconds between two reads of the key states in the database: every process signs
    /// with a rotated key, and stops publishing a retired one, within this interval.
    #[arg(long, env = "ELICENCE_KEYS_RELOAD_MS", default_value_t = 2000,
          value_parser = clap::value_parser!(u64).range(1..))]
    keys_reload_ms: u64,
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
    /// Seconds a terminal keeps a status list before it asks again (the lists' `ttl` and
    /// `Cache-Control: max-age`).
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
    /// Seconds for the whole of a JSON request body to arrive once the server reads it;
    /// past it: 408 request_timeout and the connection closed (docs/limits.md).
    #[arg(long, env = "ELICENCE_JSON_BODY_DEADLINE_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..))]
    json_body_deadline_secs: u64,
    /// The same for a multipart photo upload.
    #[arg(long, env = "ELICENCE_PHOTO_BODY_DEADLINE_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..))]
    photo_body_deadline_secs: u64,
    /// Connections each worker holds at once; past it, it accepts no more until one closes
    /// (default: what the open-files limit allows, at most 25,000).
    #[arg(long, env = "ELICENCE_MAX_CONNECTIONS")]
    max_connections: Option<usize>,
    /// Photos decoded at once, on threads of their own (default: half the cores, at least 1).
    #[arg(long, env = "ELICENCE_PHOTO_THREADS")]
    photo_threads: Option<usize>,
    /// Photos waiting for a photo thread; past it: 503 busy with Retry-After.
    #[arg(long, env = "ELICENCE_PHOTO_QUEUE", default_value_t = 8)]
    photo_queue: usize,
    /// Photo uploads per token and minute, sustained (app and counter).
    #[arg(long, env = "ELICENCE_UPLOADS_PER_MINUTE", default_value_t = 6,
          value_parser = clap::value_parser!(u32).range(1..))]
    uploads_per_minute: u32,
    /// Photo uploads per token at once, before the rate applies.
    #[arg(long, env = "ELICENCE_UPLOAD_BURST", default_value_t = 6,
          value_parser = clap::value_parser!(u32).range(1..))]
    upload_burst: u32,
    /// Milliseconds between two tries of this process to sweep and sign the status lists
    /// (one process at a time does), and to reload what was signed: a change is served by
    /// every process within twice this.
    #[arg(long, env = "ELICENCE_STATUS_LIST_INTERVAL_MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(10..=3_600_000))]
    status_list_interval_ms: u64,
    /// Seconds a SIGTERM or SIGINT gives the requests in flight to be answered before their
    /// connections are closed; the last scans' audit and the release of unfinished review
    /// claims follow (docs/configuration.md, "Stopping").
    #[arg(long, env = "ELICENCE_SHUTDOWN_TIMEOUT_SECS", default_value_t = 30)]
    shutdown_timeout_secs: u64,
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
        settings.metrics_bind = self.metrics_bind;
        settings.public_url = self.public_url;
        if let Some(workers) = self.workers {
            settings.workers = workers;
        }
        settings.blocking_threads = self.blocking_threads;
        settings.keys_dir = self.keys_dir;
        settings.keys_reload_every = Duration::from_millis(self.keys_reload_ms);
        // A trial needs no setup: --demo makes a key when the folder has none.
        settings.generate_missing_key = self.demo;
        settings.code_ttl = chrono::Duration::seconds(i64::from(self.code_ttl_secs));
        settings.calendar = self.calendar;
        settings.status_list_ttl = chrono::Duration::seconds(i64::from(self.status_list_ttl_secs));
        settings.status_list_lifetime =
            chrono::Duration::seconds(i64::from(self.status_list_lifetime_secs));
        settings.limits = Limits {
            json_body_deadline: Duration::from_secs(self.json_body_deadline_secs),
            photo_body_deadline: Duration::from_secs(self.photo_body_deadline_secs),
            max_connections: self.max_connections,
            photo_threads: self.photo_threads,
            photo_queue: self.photo_queue,
            uploads_per_minute: self.uploads_per_minute,
            upload_burst: self.upload_burst,
        };
        settings.status_list_interval = Duration::from_millis(self.status_list_interval_ms);
        settings.shutdown_timeout = Duration::from_secs(self.shutdown_timeout_secs);
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
        app.stop_on_signals();
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Serve {
        #[command(flatten)]
        args: ServeArgs,
    }

    fn settings(flags: &[&str]) -> Settings {
        let args = Serve::try_parse_from(std::iter::once("serve").chain(flags.iter().copied()))
            .unwrap()
            .args;
        args.settings(DatabaseUrl::Sqlite("x.db".into())).unwrap()
    }

    /// The flags' defaults are the settings' defaults: docs/limits.md gives one of each.
    #[test]
    fn limit_flags_default_to_the_settings_defaults() {
        assert_eq!(settings(&[]).limits, Limits::default());
    }

    #[test]
    fn the_shutdown_timeout_defaults_to_thirty_seconds_and_is_set_by_its_flag() {
        assert_eq!(settings(&[]).shutdown_timeout, Duration::from_secs(30));
        assert_eq!(
            settings(&["--shutdown-timeout-secs", "5"]).shutdown_timeout,
            Duration::from_secs(5)
        );
    }

    #[test]
    fn limit_flags_set_the_limits() {
        let limits = settings(&[
            "--json-body-deadline-secs",
            "3",
            "--photo-body-deadline-secs",
            "30",
            "--max-connections",
            "500",
            "--photo-threads",
            "2",
            "--photo-queue",
            "0",
            "--uploads-per-minute",
            "3",
            "--upload-burst",
            "1",
        ])
        .limits;
        assert_eq!(
            limits,
            Limits {
                json_body_deadline: Duration::from_secs(3),
                photo_body_deadline: Duration::from_secs(30),
                max_connections: Some(500),
                photo_threads: Some(2),
                photo_queue: 0,
                uploads_per_minute: 3,
                upload_burst: 1,
            }
        );
        assert!(Serve::try_parse_from(["serve", "--json-body-deadline-secs", "0"]).is_err());
        assert!(Serve::try_parse_from(["serve", "--uploads-per-minute", "0"]).is_err());
    }
}
