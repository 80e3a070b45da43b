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

use actix_web::http::header::{self, HeaderMap};

/// Does this request announce a body? HTTP/1.1 has one exactly when it says its length or
/// that it is chunked.
pub fn has_body(headers: &HeaderMap) -> bool {
    headers.contains_key(header::TRANSFER_ENCODING)
        || headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
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
