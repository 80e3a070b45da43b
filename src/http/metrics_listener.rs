//! The Prometheus endpoint, on a listener of its own (`--metrics-bind`) so that it is never
//! reachable on the public port: `GET /metrics` refreshes the gauges read from the database
//! and renders what the recorder holds, in the text format of `metrics-exporter-prometheus`.

use crate::telemetry::gauges::GaugeSources;
use actix_web::dev::Server;
use actix_web::{web, App, HttpResponse, HttpServer};
use metrics_exporter_prometheus::PrometheusHandle;
use std::net::TcpListener;

/// What the one route needs.
#[derive(Clone)]
struct Scrape {
    handle: PrometheusHandle,
    gauges: GaugeSources,
}

/// Serves `/metrics` on `listener` with one worker; it does not handle signals itself: the
/// application stops it when the public server stops.
pub fn metrics_server(
    listener: TcpListener,
    handle: PrometheusHandle,
    gauges: GaugeSources,
) -> std::io::Result<Server> {
    let scrape = web::Data::new(Scrape { handle, gauges });
    Ok(HttpServer::new(move || {
        App::new()
            .app_data(scrape.clone())
            .route("/metrics", web::get().to(metrics))
    })
    .workers(1)
    .disable_signals()
    .listen(listener)?
    .run())
}

async fn metrics(scrape: web::Data<Scrape>) -> HttpResponse {
    let gauges = scrape.gauges.clone();
    // The gauges read the database: on the blocking pool. Should it fail, the counters are
    // still worth serving; the gauges keep their last values and the failure is logged.
    match web::block(move || gauges.refresh()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "metrics: cannot refresh the gauges"),
        Err(e) => tracing::warn!(error = %e, "metrics: the gauges' refresh was cancelled"),
    }
    scrape.handle.run_upkeep();
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(scrape.handle.render())
}
