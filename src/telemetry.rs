//! Logs through `tracing`: one span per request carrying a request id, the HTTP method and the
//! route *pattern* (`/api/v1/admin/licences/{number}`), never the raw path, so licence numbers
//! in paths do not reach the logs. Code that must name a licence logs `LicenceNumber::masked`.
//! Errors that repeat while a fault lasts go through `repeats`. The request's closing line
//! (the access line) carries its status and latency; `--log-format json` writes every line as
//! one JSON object, the request span's fields under `span`. Prometheus metrics: `metrics`
//! (names and recording), `http` (requests by route pattern), `gauges` (read at scrape).

pub mod gauges;
pub mod http;
pub mod metrics;
pub mod repeats;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::HttpMessage;
use std::time::Instant;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// How log lines are written to standard error.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// One line of text each, for people.
    #[default]
    Human,
    /// One JSON object a line, for log shippers.
    Json,
}

/// Installs the global subscriber, human lines, once; later calls (tests) are no-ops.
pub fn init(default_filter: &str) {
    init_with(default_filter, LogFormat::Human);
}

/// Installs the global subscriber once, writing `format`; later calls are no-ops.
pub fn init_with(default_filter: &str, format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Human => subscriber.try_init(),
        // The event's fields at the top level beside `message`; the request's (id, route,
        // method, status) under `span`.
        LogFormat::Json => subscriber
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

/// When the request came in, for its latency in the access line.
#[derive(Clone, Copy)]
struct RequestStart(Instant);

pub struct MaskedRootSpan;

impl RootSpanBuilder for MaskedRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request
            .match_pattern()
            .unwrap_or_else(|| "(unmatched)".to_owned());
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(|id| id.to_string())
            .unwrap_or_default();
        request
            .extensions_mut()
            .insert(RequestStart(Instant::now()));
        tracing::info_span!(
            "request",
            method = %request.method(),
            route = %route,
            request_id = %request_id,
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let (status, error) = match outcome {
            Ok(res) => (res.response().status(), res.response().error()),
            Err(e) => (e.as_response_error().status_code(), Some(e)),
        };
        // Milliseconds with microseconds: a verification takes a few.
        let latency_ms = outcome
            .as_ref()
            .ok()
            .and_then(|res| res.request().extensions().get::<RequestStart>().copied())
            .map_or(0.0, |start| start.0.elapsed().as_micros() as f64 / 1000.0);
        span.record("status", status.as_u16());
        let status_code = status.as_u16();
        match error {
            // A 503 is a fault of the database or an overload, logged (once per interval)
            // where its cause is known: one more line per request would flood the log.
            _ if status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE => {
                tracing::debug!(parent: &span, status = status_code, latency_ms, "request refused")
            }
            Some(e) if status.is_server_error() => {
                tracing::error!(parent: &span, status = status_code, latency_ms, error = ?e, "request failed")
            }
            Some(e) if status.is_client_error() => {
                tracing::warn!(parent: &span, status = status_code, latency_ms, error = ?e, "request refused")
            }
            _ if status.is_server_error() => {
                tracing::warn!(parent: &span, status = status_code, latency_ms, "request failed")
            }
            _ => tracing::debug!(parent: &span, status = status_code, latency_ms, "request done"),
        }
    }
}
