//! The reviewer console: one server-sent page and its script and style, compiled into the
//! binary. It talks to the review API with the reviewer's token; the page itself needs none.

use actix_web::http::header;
use actix_web::{get, HttpResponse};

const INDEX_HTML: &str = include_str!("../../../assets/review/index.html");
const APP_JS: &str = include_str!("../../../assets/review/app.js");
const APP_CSS: &str = include_str!("../../../assets/review/app.css");

/// Scripts and styles from our origin only, photos from blob URLs the script makes.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

fn asset(content_type: &str, body: &'static str) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header(("referrer-policy", "no-referrer"))
        .body(body)
}

/// The reviewer console (browser page).
#[utoipa::path(tag = "reviewer", operation_id = "getReviewConsole",
    responses((status = 200, content_type = "text/html", description = "The console page")))]
#[get("/review")]
pub async fn page() -> HttpResponse {
    asset("text/html; charset=utf-8", INDEX_HTML)
}

/// The console's script.
#[utoipa::path(tag = "reviewer", operation_id = "getReviewConsoleScript",
    responses((status = 200, content_type = "text/javascript", description = "Script")))]
#[get("/review/app.js")]
pub async fn script() -> HttpResponse {
    asset("text/javascript; charset=utf-8", APP_JS)
}

/// The console's style sheet.
#[utoipa::path(tag = "reviewer", operation_id = "getReviewConsoleStyle",
    responses((status = 200, content_type = "text/css", description = "Style sheet")))]
#[get("/review/app.css")]
pub async fn style() -> HttpResponse {
    asset("text/css; charset=utf-8", APP_CSS)
}
