//! Photo intake (电子照片): hostile uploads in, one clean 330×480 JPEG out, with the automatic
//! pre-checks a holder sees before the photo goes to a reviewer.
//!
//! Pure: bytes in, bytes and findings out. The upload is trusted for nothing: the format comes
//! from its magic bytes (never its name or content type); what decoding it would allocate is
//! computed from its headers and refused past a budget before a pixel is decoded (a real
//! 16 KB PNG can be 8000×8000, a 1 MB progressive CMYK JPEG 6500×6500: 338 MB of
//! coefficients); the pixels are reduced while they are decoded to what the 330×480 output
//! needs; and the output is re-encoded from pixels, so no metadata (GPS position, camera
//! serial) and no appended payload survives. docs/photo-limits.md has the figures.

mod budget;
pub mod corpus;
mod decode;
mod gate;
mod header;
pub mod pool;
mod precheck;
mod sniff;

#[cfg(test)]
mod tests;

pub use budget::Plan;
pub use decode::{decode, inspect, Decoded};
pub use gate::{in_flight, IN_FLIGHT_BYTES};
pub use header::{Header, JpegColour, JpegComponent, JpegFrame, Layout, PngImage};
pub use pool::{PhotoPool, PoolError};
pub use precheck::{precheck, Check, PrecheckResult};
pub use sniff::{sniff, SourceFormat};

use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::RgbImage;

/// The normalised photo: 22:32 portrait (32 mm × 22 mm, 小一寸) at 15 px/mm.
pub const NORMALISED_WIDTH: u32 = 330;
pub const NORMALISED_HEIGHT: u32 = 480;
/// JPEG quality of the normalised photo: visually lossless for a portrait, ~30–60 KB.
pub const JPEG_QUALITY: u8 = 90;

/// What an upload may cost. The defaults suit phone photos up to 8000 px a side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntakeLimits {
    /// Largest upload accepted, in bytes (a 12 MP phone JPEG is 2–5 MB).
    pub max_bytes: usize,
    /// Largest width and height declared in the header, as stored (before the EXIF
    /// orientation turns it); checked before decoding.
    pub max_width: u32,
    pub max_height: u32,
    /// Most a decode may allocate, estimated from the headers (`budget`): decoder buffers,
    /// conversion to RGB, orientation and the fit. 64 MiB takes a 12 MP progressive phone
    /// photo (about 45 MB of coefficients and buffers) and any baseline JPEG or PNG within the
    /// sides above (DCT scaling and row-by-row averaging keep those under 25 MB).
    pub memory_budget: u64,
    /// Most pixels a progressive JPEG may declare: every coefficient of the image stays in
    /// memory until its last scan (2 bytes a sample), and each scan walks the whole image.
    pub max_progressive_pixels: u64,
    /// Most pixels a CMYK or YCCK JPEG may declare: four full-resolution components, never
    /// what a camera or phone makes (print workflows do).
    pub max_cmyk_pixels: u64,
}

impl Default for IntakeLimits {
    fn default() -> Self {
        IntakeLimits {
            max_bytes: 16 << 20,
            max_width: 8000,
            max_height: 8000,
            memory_budget: 64 << 20,
            max_progressive_pixels: 16_000_000,
            max_cmyk_pixels: 4_000_000,
        }
    }
}

/// The caps on declared pixels that apply to some JPEGs only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelCap {
    Progressive,
    Cmyk,
}

impl PixelCap {
    pub fn code(self) -> &'static str {
        match self {
            PixelCap::Progressive => "progressive",
            PixelCap::Cmyk => "cmyk",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoError {
    #[error("the file is empty")]
    Empty,
    #[error("the file is {bytes} bytes, more than {max}")]
    TooLargeFile { bytes: usize, max: usize },
    /// Not a JPEG or PNG; `detected` names what it looks like ("gif", "heic", "svg", …).
    #[error("only JPEG and PNG photos are accepted (this looks like {detected})")]
    UnsupportedFormat { detected: &'static str },
    /// The file ends before the image does (an upload cut short).
    #[error("the photo is truncated: {0}")]
    Truncated(String),
    #[error("the photo could not be decoded: {0}")]
    Corrupt(String),
    #[error("the photo is {width}×{height} pixels, larger than {max_width}×{max_height}")]
    TooLargeDimensions {
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
    },
    #[error("the photo is a {} JPEG of {width}×{height} pixels, more than {max_pixels}", kind.code())]
    TooManyPixels {
        kind: PixelCap,
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error(
        "decoding the photo ({width}×{height}, {components} components of {bit_depth} bits) \
         would take {estimated_bytes} bytes of memory, more than {budget_bytes}"
    )]
    TooMuchMemory {
        width: u32,
        height: u32,
        /// JPEG components, or PNG channels as stored (a palette index is one).
        components: u8,
        bit_depth: u8,
        estimated_bytes: u64,
        budget_bytes: u64,
    },
}

impl PhotoError {
    /// Stable reason code for clients and logs (`details.cause`).
    pub fn code(&self) -> &'static str {
        match self {
            PhotoError::Empty => "empty",
            PhotoError::TooLargeFile { .. } => "file_too_large",
            PhotoError::UnsupportedFormat { .. } => "unsupported_format",
            PhotoError::Truncated(_) => "truncated",
            PhotoError::Corrupt(_) => "corrupt",
            PhotoError::TooLargeDimensions { .. } => "dimensions_too_large",
            PhotoError::TooManyPixels { .. } => "too_many_pixels",
            PhotoError::TooMuchMemory { .. } => "too_much_memory",
        }
    }

    /// Whether the photo is refused for what it would cost (a smaller one would do), rather
    /// than for what it is: the HTTP layer's `photo_too_large`.
    pub fn is_too_large(&self) -> bool {
        matches!(
            self,
            PhotoError::TooLargeFile { .. }
                | PhotoError::TooLargeDimensions { .. }
                | PhotoError::TooManyPixels { .. }
                | PhotoError::TooMuchMemory { .. }
        )
    }

    /// The machine-readable cause: `{"cause": code}` and the numbers a client can act on
    /// (what the file declared, and the limit it passed). Decoder messages stay out: they
    /// are no contract.
    pub fn details(&self) -> serde_json::Value {
        use serde_json::json;
        let cause = self.code();
        match self {
            PhotoError::TooLargeFile { bytes, max } => {
                json!({"cause": cause, "bytes": bytes, "limit": max})
            }
            PhotoError::UnsupportedFormat { detected } => {
                json!({"cause": cause, "detected": detected})
            }
            PhotoError::TooLargeDimensions {
                width,
                height,
                max_width,
                max_height,
            } => json!({
                "cause": cause,
                "width": width,
                "height": height,
                "max_width": max_width,
                "max_height": max_height,
            }),
            PhotoError::TooManyPixels {
                kind,
                width,
                height,
                max_pixels,
            } => json!({
                "cause": cause,
                "kind": kind.code(),
                "width": width,
                "height": height,
                "pixels": u64::from(*width) * u64::from(*height),
                "max_pixels": max_pixels,
            }),
            PhotoError::TooMuchMemory {
                width,
                height,
                components,
                bit_depth,
                estimated_bytes,
                budget_bytes,
            } => json!({
                "cause": cause,
                "width": width,
                "height": height,
                "components": components,
                "bit_depth": bit_depth,
                "estimated_bytes": estimated_bytes,
                "budget_bytes": budget_bytes,
            }),
            PhotoError::Empty | PhotoError::Truncated(_) | PhotoError::Corrupt(_) => {
                json!({ "cause": cause })
            }
        }
    }
}

/// An accepted upload: the photo to store, and what the pre-checks found.
#[derive(Debug, Clone)]
pub struct Normalised {
    /// The 330×480 baseline JPEG, metadata-free.
    pub jpeg: Vec<u8>,
    pub source_format: SourceFormat,
    /// The upload's size as shown, after its EXIF orientation.
    pub source_width: u32,
    pub source_height: u32,
    pub checks: Vec<PrecheckResult>,
}

impl Normalised {
    /// Whether every pre-check passed (the photo still goes to a reviewer).
    pub fn passed_all(&self) -> bool {
        self.checks.iter().all(|c| c.passed)
    }
}

/// Decodes an upload under `limits`, fits it to 330×480 and re-encodes it, and runs the
/// pre-checks. A failed pre-check is a finding, not an error: the caller decides.
pub fn normalise(bytes: &[u8], limits: &IntakeLimits) -> Result<Normalised, PhotoError> {
    let decoded = decode(bytes, limits)?;
    let fitted = decoded.fitted();
    // The size judged is the photo's own, from its headers, not the reduced decode's.
    let checks = precheck::precheck_fitted((decoded.width, decoded.height), &fitted);
    let (source_format, source_width, source_height) =
        (decoded.format, decoded.width, decoded.height);
    let jpeg = encode_jpeg(&fitted);
    drop(decoded); // and with it the memory reserved for this decode
    Ok(Normalised {
        jpeg,
        source_format,
        source_width,
        source_height,
        checks,
    })
}

/// The photo centre-cropped to 22:32 and scaled to 330×480.
///
/// A large photo is first averaged down (`thumbnail`, a box filter: fast, no aliasing) to
/// twice the target, then Lanczos3 makes the last step, which keeps edges sharp; Lanczos3 over
/// a 12 MP photo directly costs several times more for no visible gain.
pub fn fit(source: &RgbImage) -> RgbImage {
    fit_region(source, centre_crop(source.width(), source.height()))
}

/// [`fit`] of a region already cut to 22:32 (x, y, w, h).
fn fit_region(source: &RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> RgbImage {
    let crop = imageops::crop_imm(source, x, y, w, h);
    let (tw, th) = (NORMALISED_WIDTH, NORMALISED_HEIGHT);
    if w > 2 * tw && h > 2 * th {
        let halfway = imageops::thumbnail(&*crop, 2 * tw, 2 * th);
        imageops::resize(&halfway, tw, th, FilterType::Lanczos3)
    } else {
        imageops::resize(&*crop, tw, th, FilterType::Lanczos3)
    }
}

/// The largest centred 22:32 rectangle in a `width`×`height` image: (x, y, w, h).
fn centre_crop(width: u32, height: u32) -> (u32, u32, u32, u32) {
    let (nw, nh) = (u64::from(NORMALISED_WIDTH), u64::from(NORMALISED_HEIGHT));
    let (w, h) = (u64::from(width), u64::from(height));
    let (cw, ch) = if w * nh > h * nw {
        (h * nw / nh, h) // wider than 22:32: trim the sides
    } else {
        (w, w * nh / nw) // taller: trim top and bottom
    };
    let (cw, ch) = (cw.clamp(1, w.max(1)) as u32, ch.clamp(1, h.max(1)) as u32);
    ((width - cw) / 2, (height - ch) / 2, cw, ch)
}

/// Baseline JPEG from pixels alone. The image crate's encoder writes a JFIF header and nothing
/// else: no EXIF, XMP, ICC profile or comment (the tests prove it).
fn encode_jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::with_capacity(64 << 10);
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(img)
        .expect("encoding a 330×480 RGB image in memory cannot fail");
    out
}

/// SHA-256 of a stored photo, base64url: its key in the photo store and on the e-licence.
pub fn digest(bytes: &[u8]) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(bytes))
}

/// A photo on file made ready for an e-licence: normalised like an upload and pre-checked,
/// once, when the registry sends it.
pub fn prepare(bytes: &[u8]) -> crate::domain::record::PreparedPhoto {
    use crate::domain::record::PreparedPhoto;
    match normalise(bytes, &IntakeLimits::default()) {
        Ok(n) => PreparedPhoto {
            sha256: digest(&n.jpeg),
            failed_checks: n
                .checks
                .iter()
                .filter(|c| !c.passed)
                .map(|c| c.code)
                .collect(),
            jpeg: n.jpeg,
        },
        Err(_) => PreparedPhoto {
            sha256: String::new(),
            jpeg: Vec::new(),
            failed_checks: vec!["unreadable"],
        },
    }
}

/// Prepares the photos on file of `records` on every core: milliseconds each, so an import
/// of thousands spreads them out.
pub fn prepare_all(records: &mut [crate::domain::record::ValidRecord]) {
    let mut photos: Vec<_> = records
        .iter_mut()
        .filter_map(|r| r.photo.as_mut())
        .collect();
    prepare_each(&mut photos);
}

/// [`prepare_all`] for photos picked out of anything (an import batch also holds events).
pub fn prepare_each(photos: &mut [&mut crate::domain::record::RegistryPhoto]) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = photos.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for part in photos.chunks_mut(chunk) {
            scope.spawn(move || {
                for photo in part.iter_mut() {
                    photo.prepared = Some(prepare(&photo.bytes));
                }
            });
        }
    });
}

/// The pre-check code spelled `s` (as stored), or `unreadable` for anything else.
pub fn check_code(s: &str) -> &'static str {
    Check::ALL
        .into_iter()
        .map(Check::code)
        .find(|c| *c == s)
        .unwrap_or("unreadable")
}
