//! Logs through `tracing`: one span per request carrying a request id, the HTTP method and the
//! route *pattern* (`/api/v1/admin/licences/{number}`), never the raw path, so licence numbers
//! in paths do not reach the logs. Code that must name a licence logs `LicenceNumber::masked`.
//! Errors that repeat while a fault lasts go through `repeats`.

pub mod repeats;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::HttpMessage;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (tests) are no-ops.
pub fn init(default_filter: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
}

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
        span.record("status", status.as_u16());
        let status_code = status.as_u16();
        match error {
            // A 503 is a fault of the database or an overload, logged (once per interval)
            // where its cause is known: one more line per request would flood the log.
            _ if status == actix_web::http::StatusCode::SERVICE_UNAVAILABLE => {
                tracing::debug!(parent: &span, status = status_code, "request refused")
            }
            Some(e) if status.is_server_error() => {
                tracing::error!(parent: &span, status = status_code, error = ?e, "request failed")
            }
            Some(e) if status.is_client_error() => {
                tracing::warn!(parent: &span, status = status_code, error = ?e, "request refused")
            }
            _ if status.is_server_error() => {
                tracing::warn!(parent: &span, status = status_code, "request failed")
            }
            _ => tracing::debug!(parent: &span, status = status_code, "request done"),
        }
    }
}
