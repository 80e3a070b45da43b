//! Reads a photo upload (`multipart/form-data` with `source` and `photo`) under a size limit
//! enforced while the body streams in: an oversized upload is refused at the first byte over
//! the limit (or at once, from its Content-Length), never buffered whole.

use super::error::ApiError;
use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

/// The largest upload taken: a phone JPEG is 2–4 MB.
pub const MAX_UPLOAD_BYTES: usize = 5 * 1024 * 1024;
/// The `source` field is a short word.
const MAX_SOURCE_BYTES: usize = 16;

pub use crate::domain::submission::PhotoSource;

/// The two fields of an upload.
#[derive(Debug)]
pub struct PhotoUpload {
    pub source: PhotoSource,
    /// The file as sent: untrusted bytes, at most `MAX_UPLOAD_BYTES`.
    pub photo: Vec<u8>,
}

/// Is this request a multipart upload (as opposed to a JSON body)?
pub fn is_multipart(req: &HttpRequest) -> bool {
    is_multipart_content_type(req.headers())
}

/// [`is_multipart`], from the headers alone (for middleware).
pub fn is_multipart_content_type(headers: &header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("multipart/form-data")
        })
}

fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

/// Reads the upload. 413 as soon as the body passes the limit, 415 for another content type,
/// 422 for missing, repeated or unknown fields and a bad `source`.
pub async fn read_photo_upload(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<PhotoUpload, ApiError> {
    let [source, photo] = read_fields(
        req,
        payload,
        [("source", MAX_SOURCE_BYTES), ("photo", MAX_UPLOAD_BYTES)],
    )
    .await?;
    let source = match source.as_deref() {
        Some(b"camera") => PhotoSource::Camera,
        Some(b"album") => PhotoSource::Album,
        Some(_) => {
            return Err(ApiError::InvalidBody(
                "source must be \"camera\" or \"album\"".into(),
            ))
        }
        None => {
            return Err(ApiError::InvalidBody(
                "the \"source\" field is missing".into(),
            ))
        }
    };
    let photo =
        photo.ok_or_else(|| ApiError::InvalidBody("the \"photo\" field is missing".into()))?;
    Ok(PhotoUpload { source, photo })
}

/// Reads a photo taken at the counter: multipart with the one field `photo`, under the same
/// streaming limit and with the same refusals as an app upload.
pub async fn read_counter_photo(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Vec<u8>, ApiError> {
    let [photo] = read_fields(req, payload, [("photo", MAX_UPLOAD_BYTES)]).await?;
    photo.ok_or_else(|| ApiError::InvalidBody("the \"photo\" field is missing".into()))
}

/// Reads the multipart fields named in `fields` (each at most its size, all together at most
/// `MAX_UPLOAD_BYTES`), each at most once, and no other.
async fn read_fields<const N: usize>(
    req: &HttpRequest,
    payload: web::Payload,
    fields: [(&str, usize); N],
) -> Result<[Option<Vec<u8>>; N], ApiError> {
    if !is_multipart(req) {
        return Err(ApiError::UnsupportedMediaType);
    }
    if declared_length(req).is_some_and(|n| n > MAX_UPLOAD_BYTES) {
        return Err(ApiError::PayloadTooLarge);
    }
    let mut form = Multipart::new(req.headers(), payload);
    let mut values: [Option<Vec<u8>>; N] = std::array::from_fn(|_| None);
    let mut total = 0usize;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_owned();
        let Some(index) = fields.iter().position(|(n, _)| *n == name) else {
            let expected: Vec<String> = fields.iter().map(|(n, _)| format!("{n:?}")).collect();
            return Err(ApiError::InvalidBody(format!(
                "unknown field {name:?}: send {}",
                expected.join(" and ")
            )));
        };
        if values[index].is_some() {
            return Err(ApiError::InvalidBody(format!("field {name:?} sent twice")));
        }
        let cap = fields[index].1;
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(multipart_error)?;
            total += chunk.len();
            if total > MAX_UPLOAD_BYTES {
                return Err(ApiError::PayloadTooLarge);
            }
            if bytes.len() + chunk.len() > cap {
                return Err(ApiError::InvalidBody(format!("field {name:?} is too long")));
            }
            bytes.extend_from_slice(&chunk);
        }
        values[index] = Some(bytes);
    }
    Ok(values)
}

fn multipart_error(e: actix_multipart::MultipartError) -> ApiError {
    use actix_multipart::MultipartError as M;
    match e {
        M::Payload(actix_web::error::PayloadError::Overflow) => ApiError::PayloadTooLarge,
        M::Payload(e) if crate::http::limits::body_deadline::is_deadline(&e) => {
            ApiError::RequestTimeout
        }
        M::ContentTypeMissing | M::ContentTypeParse | M::ContentTypeIncompatible => {
            ApiError::UnsupportedMediaType
        }
        other => ApiError::InvalidBody(format!("malformed multipart body: {other}")),
    }
}
