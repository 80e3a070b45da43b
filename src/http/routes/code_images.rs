//! The display code as images for the app: QR code and barcode, PNG and SVG. They show the
//! code the app shows for the purpose asked (`?purpose=`, roadside by default: the newest
//! live one made for it, else a fresh one), and each code is rendered once.

use crate::http::code_display::{current_display_for, render_blocking};
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::requests::PurposeQuery;
use crate::http::state::AppState;
use crate::render::barcode::Code128;
use crate::render::cache::{CodeImage, ImageKind};
use crate::render::qr::QrMatrix;
use crate::render::RenderError;
use crate::service::codes::DisplayCode;
use actix_web::http::header;
use actix_web::{get, web, HttpResponse};

const QR_MODULE_PX: u32 = 6;
const BARCODE_MODULE_PX: u32 = 3;
const BARCODE_HEIGHT_PX: u32 = 120;

fn render(kind: CodeImage, code: &DisplayCode) -> Result<Vec<u8>, RenderError> {
    match kind {
        CodeImage::QrPng => QrMatrix::encode(&code.code)?.png(QR_MODULE_PX),
        CodeImage::QrSvg => Ok(QrMatrix::encode(&code.code)?.svg().into_bytes()),
        CodeImage::BarcodePng => {
            Code128::encode(&code.barcode)?.png(BARCODE_MODULE_PX, BARCODE_HEIGHT_PX)
        }
        CodeImage::BarcodeSvg => Ok(Code128::encode(&code.barcode)?.svg(40).into_bytes()),
    }
}

async fn image(
    state: web::Data<AppState>,
    token: BearerToken,
    kind: CodeImage,
    query: PurposeQuery,
) -> Result<HttpResponse, ApiError> {
    let app = state.get_ref().clone();
    let purpose = query.purpose();
    let (_, _, code) = state
        .authorized(token, move |conn, p| {
            current_display_for(conn, &app, &p, purpose)
        })
        .await?;
    let cache = state.renders.clone();
    let expires_at = code.expires_at;
    let bytes = render_blocking(move || {
        let key = match kind {
            CodeImage::QrPng | CodeImage::QrSvg => &code.code,
            CodeImage::BarcodePng | CodeImage::BarcodeSvg => &code.barcode,
        };
        cache.get_or_render(ImageKind::Code(kind), key, || render(kind, &code))
    })
    .await?;
    let content_type = match kind {
        CodeImage::QrPng | CodeImage::BarcodePng => "image/png",
        CodeImage::QrSvg | CodeImage::BarcodeSvg => "image/svg+xml",
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header(("x-code-expires-at", expires_at.to_rfc3339()))
        .body(bytes.as_ref().clone()))
}

/// The QR code of the current display code, PNG (6 px a module, 4-module quiet zone).
#[utoipa::path(tag = "holder", operation_id = "getMyQrPng", security(("bearer" = [])), params(PurposeQuery), responses(
    (status = 200, content_type = "image/png", description = "QR code", headers(("x-code-expires-at" = String, description = "When the code shown expires (RFC 3339)"))),
    (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`: none was ever issued"),
    (status = 410, body = ErrorEnvelopeDoc, description = "`e_licence_superseded`: a licence change ended it; apply again (`details`)"),
))]
#[get("/me/e-licence/qr.png")]
pub async fn qr_png(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<PurposeQuery>,
) -> Result<HttpResponse, ApiError> {
    image(state, token, CodeImage::QrPng, query.into_inner()).await
}

/// The QR code of the current display code, SVG.
#[utoipa::path(tag = "holder", operation_id = "getMyQrSvg", security(("bearer" = [])), params(PurposeQuery), responses(
    (status = 200, content_type = "image/svg+xml", description = "QR code", headers(("x-code-expires-at" = String, description = "When the code shown expires (RFC 3339)"))),
    (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`: none was ever issued"),
    (status = 410, body = ErrorEnvelopeDoc, description = "`e_licence_superseded`: a licence change ended it; apply again (`details`)"),
))]
#[get("/me/e-licence/qr.svg")]
pub async fn qr_svg(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<PurposeQuery>,
) -> Result<HttpResponse, ApiError> {
    image(state, token, CodeImage::QrSvg, query.into_inner()).await
}

/// The Code 128 barcode of the current display code, PNG (10-module quiet zones).
#[utoipa::path(tag = "holder", operation_id = "getMyBarcodePng", security(("bearer" = [])), params(PurposeQuery), responses(
    (status = 200, content_type = "image/png", description = "Code 128 barcode", headers(("x-code-expires-at" = String, description = "When the code shown expires (RFC 3339)"))),
    (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`: none was ever issued"),
    (status = 410, body = ErrorEnvelopeDoc, description = "`e_licence_superseded`: a licence change ended it; apply again (`details`)"),
))]
#[get("/me/e-licence/barcode.png")]
pub async fn barcode_png(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<PurposeQuery>,
) -> Result<HttpResponse, ApiError> {
    image(state, token, CodeImage::BarcodePng, query.into_inner()).await
}

/// The Code 128 barcode of the current display code, SVG.
#[utoipa::path(tag = "holder", operation_id = "getMyBarcodeSvg", security(("bearer" = [])), params(PurposeQuery), responses(
    (status = 200, content_type = "image/svg+xml", description = "Code 128 barcode", headers(("x-code-expires-at" = String, description = "When the code shown expires (RFC 3339)"))),
    (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`: none was ever issued"),
    (status = 410, body = ErrorEnvelopeDoc, description = "`e_licence_superseded`: a licence change ended it; apply again (`details`)"),
))]
#[get("/me/e-licence/barcode.svg")]
pub async fn barcode_svg(
    state: web::Data<AppState>,
    token: BearerToken,
    query: web::Query<PurposeQuery>,
) -> Result<HttpResponse, ApiError> {
    image(state, token, CodeImage::BarcodeSvg, query.into_inner()).await
}
