//! The route table. Every route is registered through `utoipa_actix_web`, so the OpenAPI
//! document is generated from the handlers themselves.

pub mod admin;
pub mod audit;
pub mod card_images;
pub mod code_images;
pub mod console;
pub mod counter;
pub mod e_licence;
pub mod health;
pub mod jwks;
pub mod me;
pub mod openapi;
pub mod photo_upload;
pub mod registry_events;
pub mod review;
pub mod review_audit;
pub mod status_list;
pub mod verify;

use super::error::json_error;
use super::limits::token_gate::token_gate;
use actix_web::middleware::from_fn;
use actix_web::web;
use utoipa_actix_web::{scope, service_config::ServiceConfig};

/// JSON bodies are small everywhere except registry records, which may carry a photo.
pub const DEFAULT_JSON_LIMIT: usize = 64 * 1024;
pub const RECORD_JSON_LIMIT: usize = 4 * 1024 * 1024;

pub fn configure(cfg: &mut ServiceConfig) {
    let admin = scope::scope("/admin")
        .app_data(
            web::JsonConfig::default()
                .limit(RECORD_JSON_LIMIT)
                .error_handler(json_error),
        )
        .service(admin::put_licence)
        .service(admin::get_licence)
        .service(registry_events::post_event)
        .service(registry_events::list_events)
        .service(registry_events::list_e_licences)
        .service(audit::verifications)
        .service(review_audit::reviews)
        .service(counter::audit);
    // Every route in here but the public ones (token_gate::PUBLIC_API_PATHS) needs a token:
    // a body is read only once the gate has seen a known one.
    let api = scope::scope("/api/v1")
        .wrap(from_fn(token_gate))
        .service(openapi::openapi_json)
        .service(me::get_licence)
        .service(me::get_eligibility)
        .service(e_licence::issue)
        .service(e_licence::get)
        .service(e_licence::code)
        .service(e_licence::photo)
        .service(code_images::qr_png)
        .service(code_images::qr_svg)
        .service(code_images::barcode_png)
        .service(code_images::barcode_svg)
        .service(card_images::card_png)
        .service(card_images::card_secondary_png)
        .service(photo_upload::change_photo)
        .service(me::notifications)
        .service(me::application)
        .service(review::queue)
        .service(review::claim)
        .service(review::release)
        .service(review::decide)
        .service(review::photo)
        .service(review::reference_photo)
        .service(review::stats)
        .service(review::reject_reasons)
        .service(verify::verify)
        .service(verify::photo)
        .service(status_list::status_list)
        .service(status_list::status_list_aggregation)
        .service(status_list::status_list_shard)
        .service(counter::licence)
        .service(counter::issue)
        .service(admin);
    cfg.service(health::healthz)
        .service(console::page)
        .service(console::script)
        .service(console::style)
        .service(health::readyz)
        .service(jwks::jwks)
        .service(api);
}
