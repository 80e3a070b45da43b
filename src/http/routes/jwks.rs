use crate::http::state::AppState;
use crate::signing::Jwks;
use actix_web::http::header;
use actix_web::{get, web, HttpResponse};

/// The public keys that verify our codes (RFC 8037 OKP / Ed25519), for terminals that verify
/// offline. Retired keys are not listed.
#[utoipa::path(tag = "keys", operation_id = "getJwks", responses((status = 200, body = Jwks)))]
#[get("/.well-known/jwks.json")]
pub async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(state.keys.current().jwks())
}
