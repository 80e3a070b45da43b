//! Responses that more than one route writes.

use actix_web::http::header;
use actix_web::HttpResponse;

/// A stored photo (an e-licence's, or one under review): private, never sniffed as another
/// type, kept a few minutes by the app.
pub fn photo_response(bytes: Vec<u8>, media_type: String) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, media_type))
        .insert_header((header::CONTENT_DISPOSITION, "inline"))
        .insert_header((header::CACHE_CONTROL, "private, max-age=300"))
        .body(bytes)
}
