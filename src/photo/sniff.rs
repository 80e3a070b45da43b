//! What an upload is, from its first bytes alone. The file name and the declared content type
//! are the sender's claims; the magic bytes are what the decoder will actually parse.

use super::PhotoError;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    Jpeg,
    Png,
}

impl SourceFormat {
    pub fn code(self) -> &'static str {
        match self {
            SourceFormat::Jpeg => "jpeg",
            SourceFormat::Png => "png",
        }
    }
}

const JPEG_MAGIC: &[u8] = &[0xFF, 0xD8, 0xFF];
const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n'];

/// JPEG or PNG from the magic bytes; anything else is refused with a guess at what it is, so
/// the holder can be told (an iPhone's HEIC photo is the common case).
pub fn sniff(bytes: &[u8]) -> Result<SourceFormat, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.starts_with(JPEG_MAGIC) {
        return Ok(SourceFormat::Jpeg);
    }
    if bytes.starts_with(PNG_MAGIC) {
        return Ok(SourceFormat::Png);
    }
    Err(PhotoError::UnsupportedFormat {
        detected: looks_like(bytes),
    })
}

fn looks_like(bytes: &[u8]) -> &'static str {
    let brand = bytes.get(4..12);
    if bytes.starts_with(b"GIF8") {
        "gif"
    } else if bytes.starts_with(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        "webp"
    } else if matches!(brand, Some(b"ftypheic" | b"ftypheix" | b"ftypmif1")) {
        "heic"
    } else if matches!(brand, Some(b"ftypavif")) {
        "avif"
    } else if bytes.starts_with(b"BM") {
        "bmp"
    } else if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        "tiff"
    } else if bytes.starts_with(b"%PDF") {
        "pdf"
    } else if bytes.starts_with(b"PK\x03\x04") {
        "zip"
    } else {
        markup(bytes)
    }
}

/// SVG and HTML are text: skip a byte-order mark and leading space, then look at the tag.
fn markup(bytes: &[u8]) -> &'static str {
    let text = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let start = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(text.len());
    let head = text[start..]
        .iter()
        .take(256)
        .map(u8::to_ascii_lowercase)
        .collect::<Vec<_>>();
    let has = |needle: &[u8]| head.windows(needle.len()).any(|w| w == needle);
    if !head.starts_with(b"<") {
        "unknown"
    } else if has(b"<svg") {
        "svg"
    } else if has(b"<html") || head.starts_with(b"<!doctype html") {
        "html"
    } else if head.starts_with(b"<?xml") {
        "xml"
    } else {
        "markup"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detected(bytes: &[u8]) -> &'static str {
        match sniff(bytes) {
            Err(PhotoError::UnsupportedFormat { detected }) => detected,
            other => panic!("expected UnsupportedFormat, got {other:?}"),
        }
    }

    #[test]
    fn jpeg_and_png_are_known_by_their_magic_bytes_alone() {
        assert_eq!(
            sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(),
            SourceFormat::Jpeg
        );
        assert_eq!(sniff(PNG_MAGIC).unwrap(), SourceFormat::Png);
        // A PNG signature cut short, or a lone JPEG start-of-image marker, is not enough.
        assert_eq!(detected(&PNG_MAGIC[..7]), "unknown");
        assert_eq!(detected(&[0xFF, 0xD8]), "unknown");
        assert_eq!(SourceFormat::Jpeg.code(), "jpeg");
        assert_eq!(
            serde_json::to_string(&SourceFormat::Png).unwrap(),
            "\"png\""
        );
    }

    #[test]
    fn empty_is_its_own_error() {
        assert_eq!(sniff(b""), Err(PhotoError::Empty));
        assert_eq!(PhotoError::Empty.code(), "empty");
    }

    #[test]
    fn other_formats_are_refused_with_what_they_look_like() {
        assert_eq!(detected(b"GIF89a\x01\x00\x01\x00"), "gif");
        assert_eq!(detected(b"RIFF\x24\0\0\0WEBPVP8 "), "webp");
        assert_eq!(detected(b"\0\0\0\x18ftypheic\0\0\0\0"), "heic");
        assert_eq!(detected(b"\0\0\0\x1cftypavif\0\0\0\0"), "avif");
        assert_eq!(detected(b"BM\x36\0\0\0"), "bmp");
        assert_eq!(detected(b"II*\0\x08\0\0\0"), "tiff");
        assert_eq!(detected(b"%PDF-1.7"), "pdf");
        assert_eq!(detected(b"PK\x03\x04\x14\0"), "zip");
        assert_eq!(
            detected(b"\xEF\xBB\xBF  <svg xmlns='http://www.w3.org/2000/svg'/>"),
            "svg"
        );
        assert_eq!(detected(b"<?xml version='1.0'?>\n<svg width='1'/>"), "svg");
        assert_eq!(detected(b"<?xml version='1.0'?><x/>"), "xml");
        assert_eq!(
            detected(b"\n<!DOCTYPE html><script>alert(1)</script>"),
            "html"
        );
        assert_eq!(detected(b"<HTML><body>"), "html");
        assert_eq!(detected(b"<p>hi</p>"), "markup");
        assert_eq!(detected(b"hello"), "unknown");
        assert_eq!(detected(b"   "), "unknown");
    }
}
