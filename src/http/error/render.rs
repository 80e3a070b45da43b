//! Writes every error response as the one JSON shape, in the caller's language, with the
//! request id; also for the errors actix answers itself.

use super::ApiError;
use crate::http::limits::HoldingUnread;
use crate::i18n::Lang;
use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::HttpMessage;
use serde::Serialize;

/// What `error_response` leaves in the response for `render_errors`: the code, and the
/// message and details in each language, since the caller's language is only known there.
#[derive(Clone)]
pub(super) struct PendingError {
    pub(super) code: &'static str,
    pub(super) zh: Localised,
    pub(super) en: Localised,
}

/// The human part of an error in one language.
#[derive(Clone)]
pub(super) struct Localised {
    pub(super) message: String,
    pub(super) details: Option<serde_json::Value>,
}

impl PendingError {
    pub(super) fn of(e: &ApiError) -> PendingError {
        let localised = |lang| Localised {
            message: e.message(lang),
            details: e.details(lang),
        };
        PendingError {
            code: e.code(),
            zh: localised(Lang::Zh),
            en: localised(Lang::En),
        }
    }

    pub(super) fn in_lang(&self, lang: Lang) -> &Localised {
        match lang {
            Lang::Zh => &self.zh,
            Lang::En => &self.en,
        }
    }
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

pub(super) fn json_body(
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
    let unread = res
        .response_mut()
        .extensions_mut()
        .remove::<crate::http::limits::UnreadBody>();
    let pending = pending.unwrap_or_else(|| PendingError::of(&ApiError::from_status(status)));
    let localised = pending.in_lang(lang);
    let body = json_body(
        pending.code,
        &localised.message,
        localised.details.as_ref(),
        request_id.as_deref(),
    );
    Ok(res.map_body(|head, _| {
        head.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("application/json"),
        );
        match unread {
            Some(unread) => BoxBody::new(HoldingUnread::new(BoxBody::new(body), unread)),
            None => BoxBody::new(body),
        }
    }))
}
