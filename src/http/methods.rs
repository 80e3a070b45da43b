//! Methods the route table does not spell out: `HEAD` on every `GET` route answers like `GET`
//! without the body, and a method a route does not take is a 405 that says, in `Allow`, which
//! it does.

use super::error::ApiError;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use std::collections::HashMap;

/// The methods each route pattern takes, as the `Allow` header spells them.
pub struct RouteMethods(HashMap<String, String>);

impl RouteMethods {
    /// From the OpenAPI document, which is generated from the same route table (and
    /// `tests/api/openapi.rs` holds the two equal): its paths are the routes' patterns.
    pub fn from_doc(doc: &utoipa::openapi::OpenApi) -> RouteMethods {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(pattern, item)| {
                let mut methods = Vec::new();
                if item.get.is_some() {
                    methods.extend(["GET", "HEAD"]);
                }
                for (op, name) in [
                    (&item.post, "POST"),
                    (&item.put, "PUT"),
                    (&item.patch, "PATCH"),
                    (&item.delete, "DELETE"),
                ] {
                    if op.is_some() {
                        methods.push(name);
                    }
                }
                (pattern.clone(), methods.join(", "))
            })
            .collect();
        RouteMethods(routes)
    }

    fn allow(&self, pattern: &str) -> Option<&str> {
        self.0.get(pattern).map(String::as_str)
    }
}

/// Routes `HEAD` as `GET`. The connection remembers that the request was a `HEAD` (actix-http
/// reads it from the request line) and sends no body, so the answer is `GET`'s head: the same
/// status and headers, `Content-Length` included.
pub async fn head_as_get(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    next.call(req).await
}

/// Reached when no route matched: 404, or 405 with `Allow` when the path is a route that
/// takes other methods (routes declared with `#[get]` etc. are method guards, so actix itself
/// would answer 404).
pub async fn unknown_route(req: HttpRequest) -> HttpResponse {
    let Some(pattern) = req.match_pattern() else {
        return ApiError::RouteNotFound.error_response();
    };
    let mut res = ApiError::MethodNotAllowed.error_response();
    let allow = req
        .app_data::<web::Data<RouteMethods>>()
        .and_then(|routes| routes.allow(&pattern))
        .and_then(|allow| header::HeaderValue::from_str(allow).ok());
    if let Some(allow) = allow {
        res.headers_mut().insert(header::ALLOW, allow);
    }
    res
}
