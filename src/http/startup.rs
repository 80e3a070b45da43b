//! Builds the application from its `Settings`: the database, the signing keys, the
//! verifier, the status list, the route table, the middleware, and the server on its port.
//! `elicence serve` and the tests both start the service through `Application::build`, so a
//! test runs on the wiring production has.

use super::error::{json_error, path_error, query_error, render_errors};
use super::limits::body_deadline::body_deadline;
use super::limits::open_files::{self, connections_per_worker, OpenFiles};
use super::limits::token_gate::ValidTokens;
use super::limits::upload_rate::UploadLimiter;
use super::methods::{head_as_get, unknown_route, RouteMethods};
use super::metrics_listener::metrics_server;
pub use super::routes::openapi::api_doc;
use super::routes::{self, openapi::OpenApiJson};
use super::shutdown::{self, Stopping, AFTER_STOP_GRACE};
use super::state::AppState;
use crate::clock::Clock;
use crate::config::Settings;
use crate::domain::calendar::{CalendarError, Coverage, WorkingCalendar};
use crate::photo::PhotoPool;
use crate::render::cache::RenderCache;
use crate::service::readiness::Readiness;
use crate::service::signing_keys::{self, KeysError};
use crate::service::status_list::{self, StatusLists};
use crate::service::verification_queue::VerificationQueue;
use crate::signing::{KeyError, LiveKeys};
use crate::storage::{Database, StorageError};
use crate::telemetry::gauges::GaugeSources;
use crate::telemetry::http::record_request;
use crate::telemetry::MaskedRootSpan;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use chrono::Datelike;
use metrics_exporter_prometheus::PrometheusHandle;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;
use tracing_actix_web::TracingLogger;
use utoipa_actix_web::AppExt;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("{url}: {source}")]
    Database { url: String, source: StorageError },
    #[error("signing keys in {dir}: {source}")]
    Keys { dir: String, source: KeyError },
    #[error(
        "no signing key in {dir}: run `elicence keys generate --keys-dir {dir}` once, then \
         start again (a key made at every start would invalidate every code in circulation \
         and every offline terminal's key list; `serve --demo` makes one for a trial)"
    )]
    NoSigningKey { dir: String },
    #[error("calendar {path}: {source}")]
    Calendar { path: String, source: CalendarError },
    #[error("cannot read the calendar {path}: {source}")]
    CalendarFile {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {bind}: {source}")]
    Bind {
        bind: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

pub struct Application {
    server: Server,
    /// The `/metrics` listener, when `--metrics-bind` asked for one.
    metrics: Option<Server>,
    port: u16,
    state: AppState,
    stopping: Stopping,
    shutdown_timeout: std::time::Duration,
}

impl Application {
    /// Opens and migrates the database, loads (or, if allowed, generates) the signing keys and watches
    /// them, starts the verifier and the status list, and serves on `settings.bind`. Call it
    /// inside an actix system (`actix_web::rt::System` or an actix test); the server runs
    /// once that system is driven (`run_until_stopped`).
    pub fn build(settings: Settings, clock: Arc<dyn Clock>) -> Result<Application, StartupError> {
        // The recorder first, before anything that records is started: the status-list
        // thread signs its first list at once, and what it recorded before the recorder was
        // installed was lost (a flaky metrics test on PostgreSQL).
        let recorder = settings
            .metrics_bind
            .as_ref()
            .map(|_| crate::telemetry::metrics::install());
        let open_files = raise_open_files();
        let db = Database::connect(&settings.database, &settings.pool).map_err(|source| {
            StartupError::Database {
                url: settings.database.redacted(),
                source,
            }
        })?;
        tracing::info!(
            backend = db.backend_name(),
            "database ready, migrations applied"
        );
        let keys = Arc::new(open_keys(&db, &settings, clock.as_ref())?);
        // `keys rotate` and `keys retire`, run anywhere, take effect within this interval.
        keys.watch(settings.keys_reload_every)?;
        let calendar = load_calendar(settings.calendar.as_deref(), clock.today().year())?;

        // SQLite takes one writer at a time, and the audit of each batch writes: one verifier
        // thread. On PostgreSQL batches can be verified side by side on half the pool.
        let verifier_threads = settings.verifier_threads.unwrap_or(match db {
            Database::Sqlite(_) => 1,
            Database::Pg(_) => (settings.pool.max_size as usize / 2).max(1),
        });
        let verifications = VerificationQueue::start(
            &db,
            keys.clone(),
            clock.clone(),
            verifier_threads,
            settings.pool.sqlite.audit_sync,
        )?;

        let listener = TcpListener::bind(&settings.bind).map_err(|source| StartupError::Bind {
            bind: settings.bind.clone(),
            source,
        })?;
        let address = listener.local_addr()?;
        let public_url = settings
            .public_url
            .clone()
            .unwrap_or_else(|| format!("http://{address}"));
        let status_lists = StatusLists::new(
            db.clone(),
            keys.clone(),
            clock.clone(),
            status_list::Settings::new(
                &public_url,
                settings.status_list_ttl,
                settings.status_list_lifetime,
                settings.status_list_interval,
            ),
        );
        status_lists.start()?;
        tracing::info!(
            aggregation = %status_lists.settings().aggregation_uri,
            every_ms = settings.status_list_interval.as_millis() as u64,
            "status lists maintained and served"
        );

        // SQLite answers in microseconds from memory: one blocking thread per worker keeps
        // the thread handoffs cheapest (measured: 23.6k against 20.0k req/s with two).
        // PostgreSQL waits on the network, so it gets enough threads to keep every pooled
        // connection busy. A small cap lets queued work be picked up by threads that are
        // already awake instead of waking a new thread for every request.
        let workers = settings.workers.max(1);
        let blocking_threads = settings.blocking_threads.unwrap_or(match db {
            Database::Sqlite(_) => 1,
            Database::Pg(_) => (settings.pool.max_size as usize).div_ceil(workers),
        });
        let limits = settings.limits.clone();
        let photos = PhotoPool::start(limits.photo_threads(), limits.photo_queue)?;
        tracing::info!(
            threads = photos.threads(),
            queue = photos.queue(),
            "photo pool started"
        );
        let uploads = Arc::new(UploadLimiter::new(
            limits.uploads_per_minute,
            limits.upload_burst,
            clock.clone(),
        ));
        let valid_tokens = Arc::new(ValidTokens::new(clock.clone()));
        let max_connections = limits
            .max_connections
            .unwrap_or_else(|| connections_per_worker(open_files.soft, workers));
        let state = AppState {
            readiness: Arc::new(Readiness::new(db.clone(), keys.clone())),
            db,
            limits,
            photos,
            uploads,
            valid_tokens,
            clock,
            keys,
            code_ttl: settings.code_ttl,
            renders: Arc::new(
                RenderCache::new(settings.render_cache_entries)
                    .with_max_bytes(settings.render_cache_bytes),
            ),
            verifications,
            calendar: Arc::new(calendar),
            status_lists,
            claims_in_flight: Arc::default(),
        };
        let metrics = match (&settings.metrics_bind, recorder) {
            (Some(bind), Some(handle)) => Some(serve_metrics(bind, handle, &state, &settings)?),
            _ => None,
        };
        tracing::info!(
            %address,
            workers,
            blocking_threads,
            max_connections_per_worker = max_connections,
            "serving HTTP"
        );
        let server = http_server(
            state.clone(),
            listener,
            Threads {
                workers,
                blocking_threads,
                max_connections,
                shutdown_timeout: settings.shutdown_timeout,
            },
        )?;
        Ok(Application {
            server,
            metrics,
            port: address.port(),
            state,
            stopping: Stopping::default(),
            shutdown_timeout: settings.shutdown_timeout,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// What every handler shares: the database, keys, status list… of this server.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// Stops the server gracefully on SIGTERM or SIGINT (`elicence serve`; the tests stop
    /// theirs with the handle). Call it inside the actix system that runs the server.
    pub fn stop_on_signals(&self) {
        actix_web::rt::spawn(shutdown::stop_on_signal(
            self.handle(),
            self.stopping.clone(),
            self.shutdown_timeout,
        ));
    }

    /// Serves until the server stops (a signal, or its handle) and its requests in flight
    /// are answered, then drains what runs beside it (`http::shutdown::drain`): the
    /// status-list thread, the verifier's last scans, the unfinished review claims.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let metrics = self.metrics.map(|m| {
            let handle = m.handle();
            actix_web::rt::spawn(m);
            handle
        });
        let served = self.server.await;
        let began = self.stopping.begin("handle", self.shutdown_timeout);
        let deadline = (began + self.shutdown_timeout).max(Instant::now() + AFTER_STOP_GRACE);
        let state = self.state;
        match web::block(move || shutdown::drain(&state, deadline)).await {
            Ok(drained) => shutdown::log_end(began, &drained),
            Err(error) => tracing::error!(%error, "shutdown: the drain did not run"),
        }
        // Last, so that a final scrape still sees the drain's work.
        if let Some(m) = metrics {
            m.stop(false).await;
        }
        served
    }
}

/// Serves `/metrics` of the installed recorder on `bind`, apart from the public port.
fn serve_metrics(
    bind: &str,
    handle: PrometheusHandle,
    state: &AppState,
    settings: &Settings,
) -> Result<Server, StartupError> {
    crate::telemetry::metrics::code_ttl(settings.code_ttl);
    let listener = TcpListener::bind(bind).map_err(|source| StartupError::Bind {
        bind: bind.to_owned(),
        source,
    })?;
    let address = listener.local_addr()?;
    let gauges = GaugeSources {
        db: state.db.clone(),
        keys: state.keys.clone(),
        clock: state.clock.clone(),
    };
    let server = metrics_server(listener, handle, gauges)?;
    tracing::info!(%address, "serving metrics at /metrics");
    Ok(server)
}

/// The signing keys: their states in `db`, their files in `settings.keys_dir`. Without an
/// active key the service refuses to start, unless `generate_missing_key` (`--demo`, tests)
/// lets it make one.
fn open_keys(
    db: &Database,
    settings: &Settings,
    clock: &dyn Clock,
) -> Result<LiveKeys, StartupError> {
    let dir = &settings.keys_dir;
    let opened = signing_keys::live_keys(db, dir, clock.now(), settings.generate_missing_key);
    let (keys, generated) = opened.map_err(|error| match error {
        KeysError::Storage(source) => StartupError::Storage(source),
        KeysError::Keys(KeyError::NoActiveKey(_)) => StartupError::NoSigningKey {
            dir: dir.display().to_string(),
        },
        KeysError::Keys(source) => StartupError::Keys {
            dir: dir.display().to_string(),
            source,
        },
    })?;
    match generated {
        Some(kid) => {
            tracing::info!(kid, dir = %dir.display(), "no signing key found: generated a first Ed25519 key")
        }
        None => tracing::info!(kid = keys.current().active_kid(), "signing key loaded"),
    }
    Ok(keys)
}

/// The working-day calendar: the operator's file, or the bundled one. Years it does not
/// cover count weekends only, which is said in the log.
fn load_calendar(
    path: Option<&std::path::Path>,
    this_year: i32,
) -> Result<WorkingCalendar, StartupError> {
    let calendar = match path {
        Some(p) => {
            let shown = || p.display().to_string();
            let bytes = std::fs::read(p).map_err(|source| StartupError::CalendarFile {
                path: shown(),
                source,
            })?;
            WorkingCalendar::from_json(&bytes).map_err(|source| StartupError::Calendar {
                path: shown(),
                source,
            })?
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

/// Raises the soft open-files limit to the hard one (every connection is a descriptor), and
/// says what it was and is. Not fatal when it cannot: the limit in force is kept.
fn raise_open_files() -> OpenFiles {
    match open_files::raise_to_hard_limit() {
        Ok(limits) => {
            tracing::info!(
                soft_before = limits.soft_before,
                soft = limits.soft,
                hard = limits.hard,
                "open-files limit (RLIMIT_NOFILE): soft raised to the hard limit"
            );
            limits
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read or raise the open-files limit: assuming 1024");
            OpenFiles {
                soft_before: 1024,
                soft: 1024,
                hard: 1024,
            }
        }
    }
}

/// How many threads and connections the server runs with.
struct Threads {
    workers: usize,
    /// Caps each worker's blocking pool, where all database work runs.
    blocking_threads: usize,
    /// Connections each worker holds at once; past it, it stops accepting until one closes.
    max_connections: usize,
    /// How long a graceful stop waits for the requests in flight.
    shutdown_timeout: std::time::Duration,
}

/// The route table and the middleware over `state`, on `listener`.
fn http_server(
    state: AppState,
    listener: TcpListener,
    threads: Threads,
) -> std::io::Result<Server> {
    let state = web::Data::new(state);
    let api = api_doc();
    let methods = web::Data::new(RouteMethods::from_doc(&api));
    let doc = web::Data::new(OpenApiJson(api.to_json().map_err(std::io::Error::other)?));
    Ok(HttpServer::new(move || {
        let (app, _) = App::new()
            .app_data(state.clone())
            .app_data(doc.clone())
            .app_data(methods.clone())
            .app_data(
                web::JsonConfig::default()
                    .limit(routes::DEFAULT_JSON_LIMIT)
                    .error_handler(json_error),
            )
            .app_data(web::PathConfig::default().error_handler(path_error))
            .app_data(web::QueryConfig::default().error_handler(query_error))
            .wrap(from_fn(head_as_get))
            .wrap(from_fn(body_deadline))
            .wrap(from_fn(render_errors))
            .wrap(
                DefaultHeaders::new()
                    .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                    .add((header::CACHE_CONTROL, "no-store")),
            )
            .wrap(from_fn(record_request))
            .wrap(TracingLogger::<MaskedRootSpan>::new())
            .into_utoipa_app()
            .configure(routes::configure)
            .split_for_parts();
        app.default_service(web::to(unknown_route))
    })
    .workers(threads.workers)
    .worker_max_blocking_threads(threads.blocking_threads.max(1))
    .max_connections(threads.max_connections)
    // SIGTERM and SIGINT are handled by `Application::stop_on_signals`, both gracefully.
    .disable_signals()
    .shutdown_timeout(threads.shutdown_timeout.as_secs())
    .listen(listener)?
    .run())
}
