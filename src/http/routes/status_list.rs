//! The offline status list for terminals (docs/code-format.md, "Status list").

use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::state::AppState;
use crate::status_list::token::MEDIA_TYPE;
use actix_web::http::header::{self, EntityTag, Header, IfNoneMatch};
use actix_web::{get, web, HttpRequest, HttpResponse};

/// The signed status list of every e-licence: a compact JWS of type `statuslist+jwt`
/// (draft-ietf-oauth-status-list) whose `status_list` gives 2 bits per e-licence serial (the
/// `e` claim of its codes): 0 valid, 1 invalid (revoked), 2 suspended. Public, cacheable for
/// what is left of its `ttl`; send the ETag back in `If-None-Match` to get a 304.
#[utoipa::path(tag = "keys", operation_id = "getStatusList", responses(
    (status = 200, content_type = "application/statuslist+jwt", body = String,
        description = "The status list token"),
    (status = 304, description = "Not modified: the list named by If-None-Match is current"),
    (status = 503, body = ErrorEnvelopeDoc, description = "`storage_unavailable`: no list is in memory and none can be built now"),
))]
#[get("/status-list")]
pub async fn status_list(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let list = state.status_lists.current().await?;
    let now = state.clock.now();
    let cache = format!("public, max-age={}", list.max_age(now));
    let etag = (header::ETAG, list.etag.clone());
    let unchanged = match IfNoneMatch::parse(&req) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => {
            let ours: EntityTag = list
                .etag
                .parse()
                .map_err(|_| ApiError::Internal(format!("bad entity tag {}", list.etag)))?;
            tags.iter().any(|t| t.weak_eq(&ours))
        }
        Err(_) => false,
    };
    let mut res = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CACHE_CONTROL, cache))
        .insert_header(etag);
    Ok(if unchanged {
        res.finish()
    } else {
        res.content_type(MEDIA_TYPE).body(list.token.clone())
    })
}
