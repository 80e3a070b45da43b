//! The one error type of the HTTP layer, and the one JSON shape every error takes:
//! `{"error":{"code":"stable_snake_case","message":"…","request_id":"…"}}`.
//!
//! Handlers return `ApiError`; `error_response` picks the status and stores the payload in the
//! response. The `render_errors` middleware then writes the body in the caller's language and
//! also rewrites actix's own errors (unknown route, wrong method, bad JSON) into the same shape.

use crate::auth::AuthError;
use crate::domain::record::FieldError;
use crate::i18n::Lang;
use crate::storage::StorageError;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, ResponseError};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("missing bearer token")]
    Unauthenticated,
    #[error("invalid bearer token")]
    InvalidToken,
    #[error("forbidden")]
    Forbidden,
    #[error("licence not found")]
    LicenceNotFound,
    #[error("the licence was issued by another authority")]
    OtherAuthority,
    #[error("no e-licence issued")]
    ELicenceNotFound,
    #[error("not eligible")]
    NotEligible(Vec<crate::http::views::ReasonView>),
    #[error("a photo is required")]
    PhotoRequired,
    #[error("the photo on file fails the automatic checks")]
    PhotoOnFileUnusable(Vec<crate::http::views::ReasonView>),
    #[error("the photo fails the automatic checks")]
    PhotoRejected(Vec<crate::http::views::ReasonView>),
    #[error("the photo is not a JPEG or PNG")]
    UnsupportedPhoto,
    /// The cause goes to the client in `details` (`PhotoError::details`).
    #[error("the photo cannot be read: {0}")]
    PhotoUnreadable(crate::photo::PhotoError),
    #[error("an e-licence exists already")]
    ELicenceExists,
    /// The holder's e-licence was superseded by a licence change and none stands now: why,
    /// and apply again.
    #[error("the e-licence was superseded")]
    ELicenceSuperseded(Option<crate::domain::registry_event::SupersedeReason>),
    #[error("invalid registry event")]
    InvalidEvent(Vec<FieldError>),
    #[error("no such photo submission")]
    SubmissionNotFound,
    #[error("no such photo")]
    PhotoNotFound,
    #[error("the submission was decided already: {0}")]
    AlreadyDecided(String),
    #[error("another reviewer holds the item until {0}")]
    ClaimedByOther(chrono::DateTime<chrono::Utc>),
    #[error("claim the item first")]
    ClaimRequired,
    #[error("route not found")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("invalid request body: {0}")]
    InvalidBody(String),
    #[error("invalid path parameter: {0}")]
    InvalidPath(String),
    #[error("invalid registry record")]
    InvalidRecord(Vec<FieldError>),
    #[error("payload too large")]
    PayloadTooLarge,
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::InvalidToken => "invalid_token",
            ApiError::Forbidden => "forbidden",
            ApiError::LicenceNotFound => "licence_not_found",
            ApiError::OtherAuthority => "other_authority",
            ApiError::ELicenceNotFound => "e_licence_not_found",
            ApiError::NotEligible(_) => "not_eligible",
            ApiError::PhotoRequired => "photo_required",
            ApiError::PhotoOnFileUnusable(_) => "photo_on_file_unusable",
            ApiError::PhotoRejected(_) => "photo_rejected",
            ApiError::UnsupportedPhoto => "unsupported_photo_format",
            ApiError::PhotoUnreadable(_) => "photo_unreadable",
            ApiError::ELicenceExists => "e_licence_exists",
            ApiError::ELicenceSuperseded(_) => "e_licence_superseded",
            ApiError::InvalidEvent(_) => "invalid_event",
            ApiError::SubmissionNotFound => "submission_not_found",
            ApiError::PhotoNotFound => "photo_not_found",
            ApiError::AlreadyDecided(_) => "already_decided",
            ApiError::ClaimedByOther(_) => "claimed_by_another",
            ApiError::ClaimRequired => "claim_required",
            ApiError::RouteNotFound => "not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidBody(_) => "invalid_body",
            ApiError::InvalidPath(_) => "invalid_path",
            ApiError::InvalidRecord(_) => "invalid_record",
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::Conflict(_) => "conflict",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// The human message. Client mistakes explain themselves; server faults never show their
    /// internal cause (it goes to the log, with the request id).
    pub fn message(&self, lang: Lang) -> String {
        let (zh, en): (&str, String) = match self {
            ApiError::Unauthenticated => (
                "需要登录：请提供 Bearer 令牌",
                "a bearer token is required".into(),
            ),
            ApiError::InvalidToken => (
                "令牌无效或已吊销",
                "the token is not valid or was revoked".into(),
            ),
            ApiError::Forbidden => ("无权访问此资源", "this token may not use this route".into()),
            ApiError::LicenceNotFound => {
                ("未找到该驾驶证", "no such licence in the registry".into())
            }
            ApiError::OtherAuthority => (
                "该驾驶证不属于本车辆管理所，请到发证机关办理",
                "the licence was issued by another authority: it is served there".into(),
            ),
            ApiError::ELicenceNotFound => (
                "尚未申领电子驾驶证",
                "no e-licence has been issued for this licence".into(),
            ),
            ApiError::NotEligible(_) => (
                "驾驶证当前不符合申领条件，详见 details",
                "the licence may not get an e-licence now; see details".into(),
            ),
            ApiError::PhotoRequired => (
                "没有可用的留存照片，请上传照片",
                "there is no photo on file: submit a photo".into(),
            ),
            ApiError::PhotoOnFileUnusable(_) => (
                "留存照片未通过自动检测，请拍照或从相册上传照片，详见 details",
                "the photo on file fails the automatic checks: submit a new photo; see details"
                    .into(),
            ),
            ApiError::PhotoRejected(_) => (
                "照片未通过自动检测，详见 details",
                "the photo fails the automatic checks; see details".into(),
            ),
            ApiError::UnsupportedPhoto => (
                "照片格式不受支持，请上传 JPEG 或 PNG 照片",
                "unsupported photo format: send a JPEG or PNG".into(),
            ),
            ApiError::PhotoUnreadable(e) => (
                photo_unreadable_zh(e),
                format!("the photo cannot be read ({e}): take or pick it again"),
            ),
            ApiError::ELicenceExists => (
                "已有电子驾驶证，如需更换照片请使用更换照片",
                "an e-licence exists already: change its photo instead".into(),
            ),
            ApiError::ELicenceSuperseded(reason) => (
                match reason {
                    Some(r) => r.message(Lang::Zh),
                    None => "原电子驾驶证已失效，请重新申领电子驾驶证",
                },
                format!(
                    "the e-licence no longer stands: {}",
                    reason.map_or("apply for the e-licence again", |r| r.message(Lang::En))
                ),
            ),
            ApiError::InvalidEvent(_) => (
                "登记事项变更未通过校验，详见 details",
                "the registry event is invalid; see details".into(),
            ),
            ApiError::SubmissionNotFound => {
                ("未找到该照片审核记录", "no such photo submission".into())
            }
            ApiError::PhotoNotFound => ("没有可显示的照片", "there is no such photo".into()),
            ApiError::AlreadyDecided(state) => (
                "该照片已审核完毕或已被替换",
                format!("the submission is no longer waiting for review (it is {state})"),
            ),
            ApiError::ClaimedByOther(until) => (
                "该照片正由其他审核员处理",
                format!(
                    "another reviewer holds this item until {}",
                    until.to_rfc3339()
                ),
            ),
            ApiError::ClaimRequired => (
                "请先领取该照片再作审核决定（或领取已过期）",
                "claim the item before deciding it (or your claim lapsed)".into(),
            ),
            ApiError::RouteNotFound => ("请求的地址不存在", "no such route".into()),
            ApiError::MethodNotAllowed => (
                "不支持该请求方法",
                "this method is not allowed on this route".into(),
            ),
            ApiError::MalformedJson(d) => (
                "请求体不是有效的 JSON",
                format!("the body is not valid JSON: {d}"),
            ),
            ApiError::InvalidBody(d) => (
                "请求体字段不符合要求",
                format!("the body does not match the expected fields: {d}"),
            ),
            ApiError::InvalidPath(d) => (
                "请求地址中的参数无效",
                format!("invalid path parameter: {d}"),
            ),
            ApiError::InvalidRecord(_) => (
                "驾驶证记录未通过校验，详见 details",
                "the licence record is invalid; see details".into(),
            ),
            ApiError::PayloadTooLarge => ("请求体过大", "the request body is too large".into()),
            ApiError::UnsupportedMediaType => (
                "不支持的内容类型，请使用 application/json",
                "unsupported content type: send application/json".into(),
            ),
            // The constraint's own text names tables and indexes: it is logged, never shown.
            ApiError::Conflict(_) => (
                "请求与现有数据冲突（可能是同时提交的另一个请求），请刷新后重试",
                "the request conflicts with existing data (perhaps a request sent at the same time); refresh and retry".into(),
            ),
            ApiError::Unavailable(_) => (
                "服务暂时不可用，请稍后重试",
                "the service is temporarily unavailable; retry shortly".into(),
            ),
            ApiError::Internal(_) => ("服务器内部错误", "internal server error".into()),
        };
        match lang {
            Lang::Zh => {
                // Keep the client-facing detail (e.g. which field) beside the Chinese text.
                match self {
                    ApiError::MalformedJson(d)
                    | ApiError::InvalidBody(d)
                    | ApiError::InvalidPath(d) => {
                        format!("{zh}：{d}")
                    }
                    _ => zh.to_owned(),
                }
            }
            Lang::En => en,
        }
    }

    fn details(&self) -> Option<serde_json::Value> {
        match self {
            ApiError::InvalidRecord(errors) | ApiError::InvalidEvent(errors) => {
                serde_json::to_value(errors).ok()
            }
            ApiError::NotEligible(reasons)
            | ApiError::PhotoRejected(reasons)
            | ApiError::PhotoOnFileUnusable(reasons) => serde_json::to_value(reasons).ok(),
            ApiError::PhotoUnreadable(e) => Some(e.details()),
            ApiError::ELicenceSuperseded(reason) => Some(serde_json::json!({
                "reason": reason.map(|r| r.code()),
                "apply_again": true,
            })),
            _ => None,
        }
    }

    /// Maps an actix status with no `ApiError` behind it (router, extractors) to one.
    fn from_status(status: StatusCode) -> ApiError {
        match status {
            StatusCode::NOT_FOUND => ApiError::RouteNotFound,
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::UNAUTHORIZED => ApiError::Unauthenticated,
            StatusCode::FORBIDDEN => ApiError::Forbidden,
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(String::new()),
            s if s.is_client_error() => {
                ApiError::InvalidBody(s.canonical_reason().unwrap_or("bad request").to_lowercase())
            }
            _ => ApiError::Internal(status.to_string()),
        }
    }
}

/// Why a photo cannot be read, in Chinese: what the holder can do about it.
fn photo_unreadable_zh(e: &crate::photo::PhotoError) -> &'static str {
    use crate::photo::PhotoError as P;
    match e {
        P::Empty => "照片文件为空，请重新拍摄或选择",
        P::Truncated(_) => "照片文件不完整（可能上传中断），请重新拍摄或选择",
        P::TooLargeFile { .. } | P::TooLargeDimensions { .. } | P::TooMuchMemory { .. } => {
            "照片尺寸过大，请重新拍摄或选择较小的照片"
        }
        P::UnsupportedFormat { .. } | P::Corrupt(_) => "照片无法读取，请重新拍摄或选择",
    }
}

/// What `error_response` leaves in the response for `render_errors` to localise.
#[derive(Clone)]
struct PendingError {
    code: &'static str,
    zh: String,
    en: String,
    details: Option<serde_json::Value>,
}

/// The error shape, for the OpenAPI document.
#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorEnvelopeDoc {
    pub error: ErrorBodyDoc,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ErrorBodyDoc {
    /// Stable snake_case code, e.g. `invalid_token`.
    pub code: String,
    /// Human message in zh-CN or English, chosen by `Accept-Language`.
    pub message: String,
    /// Field errors for `invalid_record` and `invalid_event`; `{code, message}` reasons for
    /// `not_eligible`; `{"reason": "class_changed", "apply_again": true}` for
    /// `e_licence_superseded`; for `photo_unreadable` the cause, `{"cause": "empty" |
    /// "truncated" | "corrupt" | "file_too_large" | "dimensions_too_large" |
    /// "too_much_memory", …}` with the declared size and the limit where there is one.
    pub details: Option<Vec<FieldError>>,
    pub request_id: Option<String>,
}

#[derive(Serialize)]
struct ErrorEnvelope<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
}

fn json_body(
    code: &str,
    message: &str,
    details: Option<&serde_json::Value>,
    request_id: Option<&str>,
) -> String {
    serde_json::to_string(&ErrorEnvelope {
        error: ErrorBody {
            code,
            message,
            details,
            request_id,
        },
    })
    .unwrap_or_else(|_| {
        r#"{"error":{"code":"internal_error","message":"internal server error"}}"#.to_owned()
    })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthenticated | ApiError::InvalidToken => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden | ApiError::OtherAuthority => StatusCode::FORBIDDEN,
            ApiError::LicenceNotFound | ApiError::ELicenceNotFound | ApiError::RouteNotFound => {
                StatusCode::NOT_FOUND
            }
            ApiError::NotEligible(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PhotoRequired
            | ApiError::ELicenceExists
            | ApiError::AlreadyDecided(_)
            | ApiError::ClaimedByOther(_)
            | ApiError::ClaimRequired => StatusCode::CONFLICT,
            ApiError::SubmissionNotFound | ApiError::PhotoNotFound => StatusCode::NOT_FOUND,
            ApiError::UnsupportedPhoto => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PhotoOnFileUnusable(_)
            | ApiError::PhotoRejected(_)
            | ApiError::PhotoUnreadable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::MalformedJson(_) | ApiError::InvalidPath(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidBody(_) | ApiError::InvalidRecord(_) | ApiError::InvalidEvent(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::ELicenceSuperseded(_) => StatusCode::GONE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let pending = PendingError {
            code: self.code(),
            zh: self.message(Lang::Zh),
            en: self.message(Lang::En),
            details: self.details(),
        };
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, "application/json"));
        match self {
            ApiError::Unauthenticated | ApiError::InvalidToken => {
                res.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="elicence""#));
            }
            ApiError::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        let body = json_body(pending.code, &pending.zh, pending.details.as_ref(), None);
        let mut response = res.body(body);
        response.extensions_mut().insert(pending);
        response
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::Unavailable(_) | StorageError::Busy => {
                tracing::warn!(error = %e, "database unavailable");
                ApiError::Unavailable(e.to_string())
            }
            StorageError::Constraint(m) => {
                tracing::warn!(constraint = %m, "a write was refused by a constraint");
                ApiError::Conflict(m)
            }
            other => {
                tracing::error!(error = ?other, "storage failure");
                ApiError::Internal(other.to_string())
            }
        }
    }
}

impl From<crate::service::verification::ScanError> for ApiError {
    fn from(e: crate::service::verification::ScanError) -> Self {
        use crate::service::verification::ScanError;
        match e {
            ScanError::Auth(a) => a.into(),
            ScanError::Storage(s) => s.into(),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidToken => ApiError::InvalidToken,
            AuthError::Forbidden(_) => ApiError::Forbidden,
            AuthError::LicenceBinding | AuthError::ScopeBinding | AuthError::UnknownLicence(_) => {
                ApiError::InvalidBody(e.to_string())
            }
            AuthError::Storage(s) => s.into(),
        }
    }
}

/// Extractor errors for JSON bodies: syntax → 400, shape (types, unknown or missing fields)
/// → 422, size → 413, content type → 415.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let api = match &err {
        J::OverflowKnownLength { .. } | J::Overflow { .. } => ApiError::PayloadTooLarge,
        J::ContentType => ApiError::UnsupportedMediaType,
        J::Deserialize(e) if e.is_data() => ApiError::InvalidBody(e.to_string()),
        J::Deserialize(e) => ApiError::MalformedJson(e.to_string()),
        J::Payload(actix_web::error::PayloadError::Overflow) => ApiError::PayloadTooLarge,
        other => ApiError::MalformedJson(other.to_string()),
    };
    api.into()
}

pub fn path_error(
    err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::InvalidPath(err.to_string()).into()
}

pub fn query_error(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::InvalidPath(err.to_string()).into()
}

/// Sets `x-request-id` on every response, and writes every error response as the JSON shape,
/// in the caller's language, with the request id. Successful bodies pass through untouched.
pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let lang = Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let mut res = next.call(req).await?;
    let request_id = res
        .request()
        .extensions()
        .get::<tracing_actix_web::RequestId>()
        .map(|id| id.to_string());
    if let Some(value) = request_id
        .as_deref()
        .and_then(|id| header::HeaderValue::from_str(id).ok())
    {
        res.headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), value);
    }
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(res.map_into_boxed_body());
    }
    let pending = res.response().extensions().get::<PendingError>().cloned();
    let pending = pending.unwrap_or_else(|| {
        let e = ApiError::from_status(status);
        PendingError {
            code: e.code(),
            zh: e.message(Lang::Zh),
            en: e.message(Lang::En),
            details: None,
        }
    });
    let message = match lang {
        Lang::Zh => &pending.zh,
        Lang::En => &pending.en,
    };
    let body = json_body(
        pending.code,
        message,
        pending.details.as_ref(),
        request_id.as_deref(),
    );
    Ok(res.map_body(|head, _| {
        head.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        BoxBody::new(body)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variant has a distinct code, a status that matches its kind, and messages in
    /// both languages. A new variant must be added here, so none goes unexamined.
    #[test]
    fn every_variant_is_distinct_and_complete() {
        let all = [
            ApiError::Unauthenticated,
            ApiError::InvalidToken,
            ApiError::Forbidden,
            ApiError::LicenceNotFound,
            ApiError::OtherAuthority,
            ApiError::ELicenceNotFound,
            ApiError::NotEligible(vec![]),
            ApiError::PhotoRequired,
            ApiError::PhotoOnFileUnusable(vec![]),
            ApiError::PhotoRejected(vec![]),
            ApiError::UnsupportedPhoto,
            ApiError::PhotoUnreadable(crate::photo::PhotoError::Empty),
            ApiError::ELicenceExists,
            ApiError::ELicenceSuperseded(None),
            ApiError::InvalidEvent(vec![]),
            ApiError::SubmissionNotFound,
            ApiError::PhotoNotFound,
            ApiError::AlreadyDecided("x".into()),
            ApiError::ClaimedByOther(chrono::DateTime::UNIX_EPOCH),
            ApiError::ClaimRequired,
            ApiError::RouteNotFound,
            ApiError::MethodNotAllowed,
            ApiError::MalformedJson("x".into()),
            ApiError::InvalidBody("x".into()),
            ApiError::InvalidPath("x".into()),
            ApiError::InvalidRecord(vec![]),
            ApiError::PayloadTooLarge,
            ApiError::UnsupportedMediaType,
            ApiError::Conflict("secret cause".into()),
            ApiError::Unavailable("secret cause".into()),
            ApiError::Internal("secret cause".into()),
        ];
        let mut codes: Vec<_> = all.iter().map(ApiError::code).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        for e in &all {
            assert!(e
                .code()
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert!(!e.message(Lang::Zh).is_empty() && !e.message(Lang::En).is_empty());
            for lang in [Lang::En, Lang::Zh] {
                assert!(
                    !e.message(lang).contains("secret cause"),
                    "internal causes stay internal: {e:?}"
                );
            }
        }
    }

    #[test]
    fn storage_failures_map_to_the_right_status() {
        assert_eq!(
            ApiError::from(StorageError::Busy).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            ApiError::from(StorageError::Unavailable("t".into())).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        assert_eq!(
            ApiError::from(StorageError::Constraint("u".into())).status_code(),
            StatusCode::CONFLICT
        );
        assert_eq!(
            ApiError::from(StorageError::Corrupt("c".into())).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
