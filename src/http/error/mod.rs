//! The one error type of the HTTP layer, and the one JSON shape every error takes:
//! `{"error":{"code":"stable_snake_case","message":"…","request_id":"…"}}`.
//!
//! Handlers return `ApiError`; `error_response` picks the status and leaves the code, the
//! messages and the details in the response. The `render_errors` middleware (`render`) then
//! writes the body in the caller's language (`messages`) and also rewrites actix's own
//! errors (unknown route, wrong method, bad JSON) into the same shape.

mod doc;
mod messages;
mod render;
mod service;

pub use doc::{ErrorEnvelopeDoc, ERROR_CODES};
pub use render::render_errors;

use crate::auth::AuthError;
use crate::domain::eligibility::Reason;
use crate::domain::record::FieldError;
use crate::http::views::{precheck_view, reason_view};
use crate::i18n::Lang;
use crate::storage::{Fault, StorageError};
use actix_web::body::BoxBody;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use render::{json_body, PendingError};

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
    /// Every reason the licence may not have an e-licence now.
    #[error("not eligible")]
    NotEligible(Vec<Reason>),
    #[error("a photo is required")]
    PhotoRequired,
    /// The codes of the automatic checks the photo on file fails.
    #[error("the photo on file fails the automatic checks")]
    PhotoOnFileUnusable(Vec<&'static str>),
    /// The codes of the automatic checks the uploaded photo fails.
    #[error("the photo fails the automatic checks")]
    PhotoRejected(Vec<&'static str>),
    #[error("the photo is not a JPEG or PNG")]
    UnsupportedPhoto,
    /// Empty, truncated or corrupt; the cause goes to the client in `details`
    /// (`PhotoError::details`).
    #[error("the photo cannot be read: {0}")]
    PhotoUnreadable(crate::photo::PhotoError),
    /// Refused for what decoding it would cost (`PhotoError::is_too_large`): the declared
    /// size, a megapixel cap or the memory budget, with the figures in `details`.
    #[error("the photo is too large: {0}")]
    PhotoTooLarge(crate::photo::PhotoError),
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
    /// The body did not arrive within its deadline (`http::limits::body_deadline`).
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    /// Too many uploads with one token; retry after this many seconds.
    #[error("rate limited for {retry_after_secs} s")]
    RateLimited { retry_after_secs: u64 },
    /// The photo pool and its queue are full; retry after this many seconds.
    #[error("photo processing is busy")]
    Busy { retry_after_secs: u64 },
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// The database cannot take the request now (`storage::Fault` says why): retry later.
    #[error("storage unavailable: {}", .0.code())]
    StorageUnavailable(Fault),
    /// `/readyz`: what keeps this instance from serving, in `details`.
    #[error("not ready")]
    NotReady(Vec<crate::service::readiness::Problem>),
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
            ApiError::PhotoTooLarge(_) => "photo_too_large",
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
            ApiError::RequestTimeout => "request_timeout",
            ApiError::RateLimited { .. } => "rate_limited",
            ApiError::Busy { .. } => "busy",
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::StorageUnavailable(_) => "storage_unavailable",
            ApiError::NotReady(_) => "not_ready",
            ApiError::Internal(_) => "internal_error",
        }
    }

    /// What the client is told beyond the message, in `lang` where it has words: the
    /// reasons travel as domain values and are put in words only here.
    pub(super) fn details(&self, lang: Lang) -> Option<serde_json::Value> {
        match self {
            ApiError::InvalidRecord(errors) | ApiError::InvalidEvent(errors) => {
                serde_json::to_value(errors).ok()
            }
            ApiError::NotEligible(reasons) => {
                let views: Vec<_> = reasons.iter().map(|r| reason_view(r, lang)).collect();
                serde_json::to_value(views).ok()
            }
            ApiError::PhotoRejected(checks) | ApiError::PhotoOnFileUnusable(checks) => {
                let views: Vec<_> = checks.iter().map(|c| precheck_view(c, lang)).collect();
                serde_json::to_value(views).ok()
            }
            ApiError::PhotoUnreadable(e) | ApiError::PhotoTooLarge(e) => Some(e.details()),
            ApiError::NotReady(problems) => serde_json::to_value(problems).ok(),
            ApiError::ELicenceSuperseded(reason) => Some(serde_json::json!({
                "reason": reason.map(|r| r.code()),
                "apply_again": true,
            })),
            _ => None,
        }
    }

    /// Maps an actix status with no `ApiError` behind it (router, extractors) to one.
    pub(super) fn from_status(status: StatusCode) -> ApiError {
        match status {
            StatusCode::NOT_FOUND => ApiError::RouteNotFound,
            StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
            StatusCode::UNAUTHORIZED => ApiError::Unauthenticated,
            StatusCode::FORBIDDEN => ApiError::Forbidden,
            StatusCode::REQUEST_TIMEOUT => ApiError::RequestTimeout,
            StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable(String::new()),
            s if s.is_client_error() => {
                ApiError::InvalidBody(s.canonical_reason().unwrap_or("bad request").to_lowercase())
            }
            _ => ApiError::Internal(status.to_string()),
        }
    }
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
            | ApiError::PhotoUnreadable(_)
            | ApiError::PhotoTooLarge(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::MalformedJson(_) | ApiError::InvalidPath(_) => StatusCode::BAD_REQUEST,
            ApiError::InvalidBody(_) | ApiError::InvalidRecord(_) | ApiError::InvalidEvent(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ApiError::ELicenceSuperseded(_) => StatusCode::GONE,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            ApiError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_)
            | ApiError::StorageUnavailable(_)
            | ApiError::NotReady(_)
            | ApiError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse<BoxBody> {
        let pending = PendingError::of(self);
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, "application/json"));
        match self {
            ApiError::Unauthenticated | ApiError::InvalidToken => {
                res.insert_header((header::WWW_AUTHENTICATE, r#"Bearer realm="elicence""#));
            }
            ApiError::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, "1"));
            }
            ApiError::RateLimited { retry_after_secs } | ApiError::Busy { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, (*retry_after_secs).max(1).to_string()));
            }
            // The rest of a body that came too slowly is not waited for.
            ApiError::RequestTimeout => {
                res.force_close();
            }
            ApiError::StorageUnavailable(fault) => {
                crate::telemetry::metrics::storage_unavailable(*fault);
                res.insert_header((header::RETRY_AFTER, fault.retry_after_secs()));
            }
            ApiError::NotReady(_) => {
                res.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        let zh = pending.in_lang(Lang::Zh);
        let body = json_body(pending.code, &zh.message, zh.details.as_ref(), None);
        let mut response = res.body(body);
        response.extensions_mut().insert(pending);
        response
    }
}

/// Every storage failure is logged here, once per interval while it repeats
/// (`telemetry::repeats`): a fault fails every request until it is put right.
impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        let repeats = &crate::telemetry::repeats::STORAGE;
        match e {
            StorageError::Unavailable { fault, .. } => {
                if let Some(repeated) = repeats.admit(&e.to_string()) {
                    tracing::warn!(error = %e, cause = fault.code(), repeated, "storage unavailable");
                }
                ApiError::StorageUnavailable(fault)
            }
            StorageError::Constraint(m) => {
                tracing::warn!(constraint = %m, "a write was refused by a constraint");
                ApiError::Conflict(m)
            }
            other => {
                if let Some(repeated) = repeats.admit(&other.to_string()) {
                    tracing::error!(error = ?other, repeated, "storage failure");
                }
                ApiError::Internal(other.to_string())
            }
        }
    }
}

/// One code for a photo too large to process, one for a photo that cannot be read, and 415
/// for a file that is no JPEG or PNG.
impl From<crate::photo::PhotoError> for ApiError {
    fn from(e: crate::photo::PhotoError) -> Self {
        match e {
            crate::photo::PhotoError::UnsupportedFormat { .. } => ApiError::UnsupportedPhoto,
            e if e.is_too_large() => ApiError::PhotoTooLarge(e),
            e => ApiError::PhotoUnreadable(e),
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
        J::Payload(e) if crate::http::limits::body_deadline::is_deadline(e) => {
            ApiError::RequestTimeout
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One of each variant. A new variant must be added here, so none goes unexamined.
    fn every_variant() -> Vec<ApiError> {
        vec![
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
            ApiError::PhotoTooLarge(crate::photo::PhotoError::TooLargeFile { bytes: 2, max: 1 }),
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
            ApiError::RequestTimeout,
            ApiError::RateLimited {
                retry_after_secs: 7,
            },
            ApiError::Busy {
                retry_after_secs: 1,
            },
            ApiError::Unavailable("secret cause".into()),
            ApiError::StorageUnavailable(Fault::Full),
            ApiError::NotReady(vec![]),
            ApiError::Internal("secret cause".into()),
        ]
    }

    /// Every variant has a distinct code, a status that matches its kind, and messages in
    /// both languages.
    #[test]
    fn every_variant_is_distinct_and_complete() {
        let all = every_variant();
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

    /// The OpenAPI document lists every code an answer may carry.
    #[test]
    fn every_code_is_in_the_document() {
        for e in every_variant() {
            assert!(
                ERROR_CODES.contains(&e.code()),
                "{} is not in ERROR_CODES",
                e.code()
            );
        }
        let mut sorted = ERROR_CODES.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted, ERROR_CODES, "ERROR_CODES: sorted, each once");
    }

    /// The answers that tell a client to come back later say when, in whole seconds (at
    /// least one), and a body deadline closes the connection.
    #[test]
    fn limits_say_when_to_retry_and_timeouts_close() {
        let header_of = |e: ApiError| {
            let res = e.error_response();
            let value = res.headers().get(header::RETRY_AFTER).cloned();
            (res.status(), value.map(|v| v.to_str().unwrap().to_owned()))
        };
        assert_eq!(
            header_of(ApiError::RateLimited {
                retry_after_secs: 10
            }),
            (StatusCode::TOO_MANY_REQUESTS, Some("10".to_owned()))
        );
        assert_eq!(
            header_of(ApiError::Busy {
                retry_after_secs: 0
            }),
            (StatusCode::SERVICE_UNAVAILABLE, Some("1".to_owned()))
        );
        let timeout = ApiError::RequestTimeout.error_response();
        assert_eq!(timeout.status(), StatusCode::REQUEST_TIMEOUT);
        assert!(timeout.head().connection_type() == actix_web::http::ConnectionType::Close);
        assert!(ApiError::Busy {
            retry_after_secs: 1
        }
        .message(Lang::Zh)
        .contains("繁忙"));
    }

    /// Reasons travel as domain values and are put in words when the answer is written,
    /// in each language: the same error gives both, the codes the same.
    #[test]
    fn reasons_are_put_in_words_in_the_language_of_the_answer() {
        let refused = ApiError::NotEligible(vec![Reason::PointsLimit { points: 12 }]);
        let photo = ApiError::PhotoRejected(vec!["background_not_white"]);
        for (e, code, zh, en) in [
            (&refused, "points_limit", "12", "12"),
            (&photo, "background_not_white", "白色", "white"),
        ] {
            let (in_zh, in_en) = (e.details(Lang::Zh).unwrap(), e.details(Lang::En).unwrap());
            assert_eq!(in_zh[0]["code"], code);
            assert_eq!(in_en[0]["code"], code);
            let (m_zh, m_en) = (
                in_zh[0]["message"].as_str().unwrap(),
                in_en[0]["message"].as_str().unwrap(),
            );
            assert!(m_zh.contains(zh) && !m_zh.is_ascii(), "{m_zh}");
            assert!(m_en.contains(en) && m_en.is_ascii(), "{m_en}");
        }
    }

    #[test]
    fn storage_failures_map_to_the_right_status() {
        for fault in Fault::ALL {
            let e = ApiError::from(StorageError::unavailable(fault, "t"));
            assert_eq!(e.status_code(), StatusCode::SERVICE_UNAVAILABLE);
            assert_eq!(e.code(), "storage_unavailable");
            let res = e.error_response();
            let retry = res
                .headers()
                .get(header::RETRY_AFTER)
                .unwrap()
                .to_str()
                .unwrap();
            assert_eq!(retry, fault.retry_after_secs().to_string());
        }
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
