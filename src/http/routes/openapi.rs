//! The OpenAPI document: generated from the handlers' annotations (`routes::configure`), then
//! completed by `answers` with the answers many operations share.

mod answers;

use crate::http::error::ErrorEnvelopeDoc;
use actix_web::{get, web, App, HttpResponse};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use answers::CommonAnswers;

#[derive(OpenApi)]
#[openapi(
    info(title = "elicence", description = "Electronic driving licences (电子驾驶证): registry, status and issuance."),
    servers((url = "/", description = "The server that serves this document")),
    components(schemas(ErrorEnvelopeDoc)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The OpenAPI document of every route `routes::configure` registers, with the answers they
/// share (`CommonAnswers`).
pub fn api_doc() -> utoipa::openapi::OpenApi {
    let (_, mut doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(super::configure)
        .split_for_parts();
    // After the routes are in: `ApiDoc`'s own modifiers run before any route is added.
    CommonAnswers.modify(&mut doc);
    doc
}

/// The OpenAPI document, rendered once at start-up.
pub struct OpenApiJson(pub String);

/// This document: every route of the service, generated from the handlers.
#[utoipa::path(tag = "meta", operation_id = "getOpenApi",
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json")))]
#[get("/openapi.json")]
pub async fn openapi_json(doc: web::Data<OpenApiJson>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(doc.0.clone())
}
