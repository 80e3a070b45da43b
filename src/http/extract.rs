//! Request extractors: the bearer token and the caller's language. Both are pure header
//! parsing; the token is checked against the database together with the handler's own work.

use super::error::ApiError;
use crate::i18n::Lang;
use actix_web::dev::Payload;
use actix_web::http::header::{self, HeaderMap};
use actix_web::{FromRequest, HttpRequest};
use std::future::{ready, Ready};

/// The secret from `Authorization: Bearer <token>`, not yet checked.
#[derive(Clone)]
pub struct BearerToken(pub String);

impl BearerToken {
    /// 401 `unauthenticated` without the header, `invalid_token` for another scheme.
    pub fn from_headers(headers: &HeaderMap) -> Result<BearerToken, ApiError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Err(ApiError::Unauthenticated);
        };
        value
            .to_str()
            .ok()
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| BearerToken(t.to_owned()))
            .ok_or(ApiError::InvalidToken)
    }
}

impl FromRequest for BearerToken {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(BearerToken::from_headers(req.headers()))
    }
}

impl FromRequest for Lang {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let header = req
            .headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        ready(Ok(Lang::from_accept_language(header)))
    }
}
