//! Builds the application: the route table, the middleware, and the server on a listener.

use super::error::{json_error, path_error, query_error, render_errors, ApiError};
use super::routes::{self, openapi::ApiDoc, openapi::OpenApiJson};
use super::state::AppState;
use crate::telemetry::MaskedRootSpan;
use actix_web::dev::Server;
use actix_web::http::header;
use actix_web::middleware::{from_fn, DefaultHeaders};
use actix_web::{web, App, HttpServer};
use std::net::TcpListener;
use tracing_actix_web::TracingLogger;
use utoipa::OpenApi;
use utoipa_actix_web::AppExt;

/// The OpenAPI document of every route `routes::configure` registers.
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(routes::configure)
        .split_for_parts();
    doc
}

/// Reached when no route matched. A path that exists under another method is a 405: routes
/// declared with `#[get]` etc. are method guards, so actix itself would answer 404.
async fn unknown_route(req: actix_web::HttpRequest) -> Result<actix_web::HttpResponse, ApiError> {
    match req.match_pattern() {
        Some(_) => Err(ApiError::MethodNotAllowed),
        None => Err(ApiError::RouteNotFound),
    }
}

pub struct Application {
    server: Server,
    port: u16,
}

impl Application {
    /// Serves `state` on `listener` (bind port 0 to get a free port, as the tests do).
    ///
    /// `blocking_threads` caps each worker's blocking pool, where all database work runs. A
    /// small cap (about the connection pool's size in all) lets queued work be picked up by
    /// threads that are already awake instead of waking a new thread for every request.
    pub fn build(
        state: AppState,
        listener: TcpListener,
        workers: usize,
        blocking_threads: usize,
    ) -> std::io::Result<Application> {
        let port = listener.local_addr()?.port();
        let state = web::Data::new(state);
        let doc = web::Data::new(OpenApiJson(
            api_doc().to_json().map_err(std::io::Error::other)?,
        ));
        let server = HttpServer::new(move || {
            let (app, _) = App::new()
                .app_data(state.clone())
                .app_data(doc.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(routes::DEFAULT_JSON_LIMIT)
                        .error_handler(json_error),
                )
                .app_data(web::PathConfig::default().error_handler(path_error))
                .app_data(web::QueryConfig::default().error_handler(query_error))
                .wrap(from_fn(render_errors))
                .wrap(
                    DefaultHeaders::new()
                        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
                        .add((header::CACHE_CONTROL, "no-store")),
                )
                .wrap(TracingLogger::<MaskedRootSpan>::new())
                .into_utoipa_app()
                .configure(routes::configure)
                .split_for_parts();
            app.default_service(web::to(unknown_route))
        })
        .workers(workers)
        .worker_max_blocking_threads(blocking_threads.max(1))
        .listen(listener)?
        .run();
        Ok(Application { server, port })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
