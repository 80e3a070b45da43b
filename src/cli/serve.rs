use super::{open_database, CliError};
use crate::clock::{Clock, SystemClock};
use crate::config::PoolSettings;
use crate::domain::calendar::{Coverage, WorkingCalendar};
use crate::http::startup::Application;
use crate::http::state::AppState;
use crate::registry::demo;
use crate::render::cache::RenderCache;
use crate::service::status_list::{self, StatusLists};
use crate::signing::{live, LiveKeys};
use chrono::Datelike;

use crate::service::verification_queue::VerificationQueue;
use crate::storage::Database;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

/// Rendered images kept in memory: four code images and a front card a code, codes live
/// three minutes; secondary cards by content. Cards weigh ~150-400 KB, so bytes bound it too.
const RENDER_CACHE_ENTRIES: usize = 8_192;
const RENDER_CACHE_BYTES: usize = 256 * 1024 * 1024;

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
    /// Folder of the Ed25519 signing keys; a first key is generated when it has none.
    #[arg(long, env = "ELICENCE_KEYS_DIR", default_value = "keys")]
    keys_dir: std::path::PathBuf,
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

/// The working-day calendar: the operator's file, or the bundled one. Years it does not
/// cover count weekends only, which is said in the log.
fn load_calendar(
    path: Option<&std::path::Path>,
    this_year: i32,
) -> Result<WorkingCalendar, CliError> {
    let calendar = match path {
        Some(p) => {
            let bytes = std::fs::read(p)
                .map_err(|e| CliError::new(format!("calendar {}: {e}", p.display())))?;
            WorkingCalendar::from_json(&bytes)
                .map_err(|e| CliError::new(format!("calendar {}: {e}", p.display())))?
        }
        None => WorkingCalendar::china(),
    };
    for year in [this_year, this_year + 1] {
        match calendar.coverage(year) {
            Coverage::Official => {}
            Coverage::Provisional => tracing::warn!(
                year,
                "the working-day calendar for the year named is provisional (statutory holidays only, no make-up days): update it when the State Council publishes that year's arrangement"
            ),
            Coverage::Uncovered => tracing::warn!(
                year,
                "the working-day calendar does not cover the year named: its review deadlines count weekends only"
            ),
        }
    }
    Ok(calendar)
}

pub fn run(url: &str, args: ServeArgs) -> Result<(), CliError> {
    if args.status_list_lifetime_secs < args.status_list_ttl_secs {
        return Err(CliError::usage(
            "--status-list-lifetime-secs must be at least --status-list-ttl-secs",
        ));
    }
    let pool = PoolSettings {
        max_size: args.pool_size,
        checkout_timeout: Duration::from_secs(args.pool_timeout_secs),
    };
    let db = open_database(url, &pool)?;
    tracing::info!(
        backend = db.backend_name(),
        "database ready, migrations applied"
    );
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (keys, generated) =
        LiveKeys::open_or_generate(&args.keys_dir, clock.now()).map_err(CliError::new)?;
    match generated {
        Some(kid) => {
            tracing::info!(kid, dir = %args.keys_dir.display(), "no signing key found: generated a first Ed25519 key")
        }
        None => tracing::info!(kid = keys.current().active_kid(), "signing key loaded"),
    }
    if args.demo {
        let tokens = demo::load(&db, clock.as_ref()).map_err(CliError::new)?;
        print_demo_tokens(&tokens, &args.bind);
    }
    let listener = TcpListener::bind(&args.bind)
        .map_err(|e| CliError::new(format!("cannot listen on {}: {e}", args.bind)))?;
    let workers = args
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    // SQLite answers in microseconds from memory: one blocking thread per worker keeps the
    // thread handoffs cheapest (measured: 23.6k against 20.0k req/s with two). PostgreSQL
    // waits on the network, so it gets enough threads to keep every pooled connection busy.
    let blocking_threads = args.blocking_threads.unwrap_or(match db {
        Database::Sqlite(_) => 1,
        Database::Pg(_) => (args.pool_size as usize).div_ceil(workers),
    });
    tracing::info!(address = %args.bind, workers, blocking_threads, "serving HTTP");
    let calendar = load_calendar(args.calendar.as_deref(), clock.today().year())?;
    let keys = Arc::new(keys);
    // `keys rotate` and `keys retire` take effect here within seconds, with no restart.
    keys.watch(live::RELOAD_EVERY)
        .map_err(|e| CliError::new(format!("cannot watch the keys directory: {e}")))?;
    // SQLite takes one writer at a time, and the audit of each batch writes: one verifier
    // thread. On PostgreSQL batches can be verified side by side on half the pool.
    let verifier_threads = match db {
        Database::Sqlite(_) => 1,
        Database::Pg(_) => (args.pool_size as usize / 2).max(1),
    };
    let verifications =
        VerificationQueue::start(&db, keys.clone(), clock.clone(), verifier_threads)
            .map_err(CliError::new)?;
    let public_url = args
        .public_url
        .unwrap_or_else(|| format!("http://{}", args.bind));
    let status_lists = StatusLists::new(
        db.clone(),
        keys.clone(),
        clock.clone(),
        status_list::Settings::new(
            &public_url,
            chrono::Duration::seconds(i64::from(args.status_list_ttl_secs)),
            chrono::Duration::seconds(i64::from(args.status_list_lifetime_secs)),
        ),
    );
    tracing::info!(uri = %status_lists.settings().uri, "status list served");
    actix_web::rt::System::new().block_on(async move {
        let app = Application::build(
            AppState {
                db,
                clock,
                keys,
                code_ttl: chrono::Duration::seconds(i64::from(args.code_ttl_secs)),
                renders: Arc::new(
                    RenderCache::new(RENDER_CACHE_ENTRIES).with_max_bytes(RENDER_CACHE_BYTES),
                ),
                verifications,
                calendar: Arc::new(calendar),
                status_lists,
            },
            listener,
            workers,
            blocking_threads,
        )?;
        app.run_until_stopped().await
    })?;
    Ok(())
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
