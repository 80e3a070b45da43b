//! The status lists for offline terminals (docs/status-lists.md, docs/code-format.md "Status
//! list"): each list, the aggregation of them, and the single-list URL of older terminals.

use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::state::AppState;
use crate::service::status_list::Published;
use crate::status_list::token::MEDIA_TYPE;
use actix_web::http::header::{self, EntityTag, Header, IfNoneMatch};
use actix_web::{get, web, HttpRequest, HttpResponse};
use serde::Serialize;

/// Does `If-None-Match` name `etag`?
fn not_modified(req: &HttpRequest, etag: &str) -> Result<bool, ApiError> {
    Ok(match IfNoneMatch::parse(req) {
        Ok(IfNoneMatch::Any) => true,
        Ok(IfNoneMatch::Items(tags)) => {
            let ours: EntityTag = etag
                .parse()
                .map_err(|_| ApiError::Internal(format!("bad entity tag {etag}")))?;
            tags.iter().any(|t| t.weak_eq(&ours))
        }
        Err(_) => false,
    })
}

/// A cacheable answer: 304 when `If-None-Match` names its tag, else 200 with `body`.
fn cacheable(
    req: &HttpRequest,
    etag: &str,
    max_age: i64,
    content_type: &str,
    body: String,
) -> Result<HttpResponse, ApiError> {
    let unchanged = not_modified(req, etag)?;
    let mut res = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    res.insert_header((header::CACHE_CONTROL, format!("public, max-age={max_age}")))
        .insert_header((header::ETAG, etag.to_owned()));
    Ok(if unchanged {
        res.finish()
    } else {
        res.content_type(content_type).body(body)
    })
}

async fn serve_list(
    state: &AppState,
    req: &HttpRequest,
    list: u32,
) -> Result<HttpResponse, ApiError> {
    let published: std::sync::Arc<Published> = state
        .status_lists
        .get(list)
        .await?
        .ok_or(ApiError::RouteNotFound)?;
    let max_age = published.max_age(state.status_lists.settings().ttl, state.clock.now());
    cacheable(
        req,
        &published.etag,
        max_age,
        MEDIA_TYPE,
        published.token.clone(),
    )
}

/// One status list: a compact JWS of type `statuslist+jwt` (draft-ietf-oauth-status-list)
/// whose `status_list` gives 2 bits to each of the list's 2^20 indexes: 0 valid, 1 invalid
/// (revoked), 2 suspended. A code's `e` names its list (`e >> 20`) and index (`e & 0xFFFFF`).
/// Public, cacheable for the list's `ttl`; the ETag is the same in every server process for
/// the same token: send it back in `If-None-Match` to get a 304.
#[utoipa::path(
    tag = "keys",
    operation_id = "getStatusListShard",
    summary = "One status list (2^20 entries)",
    params(("list" = u32, Path, description = "The list number: a code's `e >> 20`")),
    responses(
        (status = 200, content_type = "application/statuslist+jwt", body = String,
            description = "The status list token",
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified: the list named by If-None-Match is current"),
        (status = 404, body = ErrorEnvelopeDoc, description = "No such list (`not_found`)"),
        (status = 503, body = ErrorEnvelopeDoc,
            description = "No list could be read or signed now (`storage_unavailable`)"),
    )
)]
#[get("/status-lists/{list}")]
pub async fn status_list_shard(
    state: web::Data<AppState>,
    req: HttpRequest,
    list: web::Path<u32>,
) -> Result<HttpResponse, ApiError> {
    serve_list(&state, &req, list.into_inner()).await
}

/// The single status list of terminals made before the lists were sharded: list 0, the same
/// token as `/api/v1/status-lists/0` (its `sub` names that URL). Its indexes are the `e` of
/// every code issued before then, which stayed the same; newer e-licences may be in other
/// lists, which a terminal finds through the aggregation (`/api/v1/status-lists`).
#[utoipa::path(
    tag = "keys",
    operation_id = "getStatusList",
    summary = "The first status list, at its former single-list URL",
    responses(
        (status = 200, content_type = "application/statuslist+jwt", body = String,
            description = "The status list token of list 0",
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified: the list named by If-None-Match is current"),
        (status = 503, body = ErrorEnvelopeDoc,
            description = "No list could be read or signed now (`storage_unavailable`)"),
    )
)]
#[get("/status-list")]
pub async fn status_list(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    serve_list(&state, &req, 0).await
}

/// The Status List Aggregation of the draft: the URI of every status list.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Aggregation {
    /// Every list's URI, by list number (`…/status-lists/0`, `…/status-lists/1`, …).
    pub status_lists: Vec<String>,
}

/// Every status list's URI (the draft's `status_list_aggregation_uri` document; each token's
/// `status_list.aggregation_uri` names it). A terminal fetches the lists it lacks and asks
/// for the others with their ETags, so it downloads only what changed.
#[utoipa::path(
    tag = "keys",
    operation_id = "getStatusListAggregation",
    summary = "The URIs of every status list",
    responses(
        (status = 200, body = Aggregation, description = "The aggregation",
            headers(("ETag" = String), ("Cache-Control" = String))),
        (status = 304, description = "Not modified: no list was added"),
        (status = 503, body = ErrorEnvelopeDoc,
            description = "The lists could not be read now (`storage_unavailable`)"),
    )
)]
#[get("/status-lists")]
pub async fn status_list_aggregation(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let body = serde_json::to_string(&Aggregation {
        status_lists: state.status_lists.uris().await?,
    })
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    let etag = crate::service::status_list::maintain::etag_of(&body);
    let max_age = state.status_lists.settings().ttl.num_seconds();
    cacheable(&req, &etag, max_age, "application/json", body)
}
