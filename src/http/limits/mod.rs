//! What one client may hold or cost, so that no client can starve the others
//! (docs/limits.md):
//! - `body_deadline`: the whole body within a deadline, else 408 and the connection closed;
//! - `token_gate`: a body on an authenticated route is not read for an unknown token;
//! - `upload_rate`: photo uploads per token;
//! - `open_files`: the open-files limit raised at start, and the connections it allows.
//!
//! The photo pool (bounded photo work) is `crate::photo::pool`.

pub mod body_deadline;
pub mod open_files;
pub mod token_gate;
pub mod upload_rate;

use actix_web::body::{BodySize, BoxBody, MessageBody};
use actix_web::http::header::{self, HeaderMap};
use actix_web::web::Bytes;
use actix_web::HttpResponse;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Does this request announce a body? HTTP/1.1 has one exactly when it says its length or
/// that it is chunked.
pub fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

/// A request body refused unread, kept alive until the response that refuses it has been
/// written. actix closes a connection whose request body is still unread when its response
/// ends; one whose body was dropped it drains instead, reading a chunked body to its end
/// however slowly it comes, which is what a slow client wants.
pub struct UnreadBody(#[allow(dead_code)] Box<dyn std::any::Any>);

/// Marks `res` as refusing the unread body `payload` (`render_errors` keeps it with the body).
pub fn close_unread<B>(res: &mut HttpResponse<B>, payload: impl std::any::Any) {
    res.head_mut()
        .set_connection_type(actix_web::http::ConnectionType::Close);
    res.extensions_mut().insert(UnreadBody(Box::new(payload)));
}

/// A response body that holds the unread request body until it has been sent.
pub struct HoldingUnread {
    body: BoxBody,
    _unread: UnreadBody,
}

impl HoldingUnread {
    pub fn new(body: BoxBody, unread: UnreadBody) -> HoldingUnread {
        HoldingUnread {
            body,
            _unread: unread,
        }
    }
}

impl MessageBody for HoldingUnread {
    type Error = Box<dyn std::error::Error>;

    fn size(&self) -> BodySize {
        self.body.size()
    }

    fn poll_next(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Bytes, Self::Error>>> {
        Pin::new(&mut self.get_mut().body).poll_next(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::HeaderValue;

    #[test]
    fn a_body_is_announced_by_its_length_or_chunking() {
        let with = |name, value| {
            let mut h = HeaderMap::new();
            h.insert(name, HeaderValue::from_static(value));
            h
        };
        assert!(!has_body(&HeaderMap::new()));
        assert!(!has_body(&with(header::CONTENT_LENGTH, "0")));
        assert!(has_body(&with(header::CONTENT_LENGTH, "12")));
        assert!(has_body(&with(header::TRANSFER_ENCODING, "chunked")));
    }
}
