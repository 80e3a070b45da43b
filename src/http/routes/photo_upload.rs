//! Photo uploads from the app (手机拍照 / 相册选择): a first application whose photo goes to
//! review, and a change of the photo on an existing e-licence (更换照片). The most hostile
//! input the service takes: the token is checked before the body is read, the body is read
//! under a streaming limit, and the image is decoded only within fixed limits, normalised and
//! pre-checked before anything is stored.

use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::photo_intake::submit_upload;
use crate::http::requests::PhotoUploadDoc;
use crate::http::review_views::ApplicationView;
use crate::http::state::AppState;
use crate::i18n::Lang;
use crate::service::photo_review::Purpose;
use actix_web::{post, web, HttpRequest, HttpResponse};

/// Change the photo of the current e-licence (更换照片): multipart `source` (camera|album)
/// and `photo` (JPEG or PNG, at most 5 MB). The new photo is reviewed like a first one; a
/// newer upload supersedes a pending one.
#[utoipa::path(tag = "holder", operation_id = "changeMyPhoto", security(("bearer" = [])),
    request_body(content((PhotoUploadDoc = "multipart/form-data"))),
    responses(
        (status = 202, body = ApplicationView, description = "Queued for review"),
        (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`: no current e-licence to change the photo of"),
        (status = 415, body = ErrorEnvelopeDoc, description = "`unsupported_photo_format`: the photo is not a JPEG or PNG"),
        (status = 422, body = ErrorEnvelopeDoc, description = "`photo_rejected` (every failed pre-check in `details`), `not_eligible` (every reason in `details`)"),
    ))]
#[post("/me/e-licence/photo")]
pub async fn change_photo(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    submit_upload(state, token, lang, req, payload, Purpose::PhotoChange).await
}
