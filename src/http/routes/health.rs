use crate::http::error::ApiError;
use crate::http::state::AppState;
use actix_web::{get, web, HttpResponse};
use serde_json::json;

/// Liveness: the process answers.
#[utoipa::path(tag = "health", operation_id = "checkLiveness",
    responses((status = 200, description = "The process is alive", content_type = "application/json")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database takes writes (a small write is made, at most once a second while
/// it succeeds) and the signing keys on disk load.
#[utoipa::path(tag = "health", operation_id = "checkReadiness", responses(
    (status = 200, description = "Ready: the database takes writes and the signing keys load",
        content_type = "application/json"),
    (status = 503, description = "`not_ready`: `details` lists each cause as \
        `{component, cause}`, e.g. `{\"component\": \"storage\", \"cause\": \"full\"}` or \
        `{\"component\": \"keys\", \"cause\": \"writable_by_others\"}`; \
        `service_unavailable`: the check was cancelled"),
))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let readiness = state.readiness.clone();
    let backend = state.db.backend_name();
    let problems = web::block(move || readiness.problems())
        .await
        .map_err(|_| ApiError::Unavailable("the readiness check was cancelled".into()))?;
    if !problems.is_empty() {
        return Err(ApiError::NotReady(problems));
    }
    Ok(HttpResponse::Ok().json(json!({"status": "ready", "database": backend})))
}
