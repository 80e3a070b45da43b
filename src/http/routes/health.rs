use crate::http::error::ApiError;
use crate::http::state::AppState;
use actix_web::{get, web, HttpResponse};
use serde_json::json;

/// Liveness: the process answers.
#[utoipa::path(tag = "health", responses((status = 200, description = "The process is alive")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// Readiness: the database answers.
#[utoipa::path(tag = "health", responses(
    (status = 200, description = "The database is reachable"),
    (status = 503, description = "The database is not reachable"),
))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let db = state.db.clone();
    let backend = db.backend_name();
    db.run(|_conn| Ok::<_, ApiError>(())).await?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready", "database": backend})))
}
