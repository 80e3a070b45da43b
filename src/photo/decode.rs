//! Decoding an upload under explicit limits, in an order that never lets the file choose how
//! much memory it gets: size of the file, then the format from its magic bytes, then the
//! header's declared dimensions, then the decoded size against the allocation budget, and only
//! then the pixels.

use super::{sniff, IntakeLimits, PhotoError, SourceFormat};
use image::error::LimitErrorKind;
use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Limits, RgbImage};
use std::io::Cursor;

/// The upload decoded, oriented as it is meant to be seen (EXIF orientation applied), and
/// flattened to RGB: transparency is composed over white, as a viewer shows it.
pub fn decode(bytes: &[u8], limits: &IntakeLimits) -> Result<(SourceFormat, RgbImage), PhotoError> {
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::TooLargeFile {
            bytes: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    if format == SourceFormat::Jpeg && !jpeg_has_end(bytes) {
        // The JPEG decoder fills a cut-off scan with grey instead of failing: an upload cut
        // short would otherwise come out as half a face.
        return Err(PhotoError::Truncated(
            "the JPEG has no end-of-image marker".into(),
        ));
    }
    // The decoders are meant never to panic, but this is the one place where anybody's bytes
    // meet them: a panic is reported as a corrupt file, not a crashed worker.
    let decoded = std::panic::catch_unwind(|| decode_pixels(bytes, format, limits))
        .unwrap_or_else(|_| {
            Err(PhotoError::Corrupt(
                "the decoder failed on this file".into(),
            ))
        })?;
    Ok((format, decoded))
}

fn decode_pixels(
    bytes: &[u8],
    format: SourceFormat,
    limits: &IntakeLimits,
) -> Result<RgbImage, PhotoError> {
    // The header is read under the allocation limit alone, so that a refusal can name the
    // dimensions the file declares; the full limits apply from the next step on.
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(image_limits(None, limits.max_alloc));
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    if width > limits.max_width || height > limits.max_height {
        return Err(PhotoError::TooLargeDimensions {
            width,
            height,
            max_width: limits.max_width,
            max_height: limits.max_height,
        });
    }
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt(format!("{width}×{height} pixels")));
    }
    let orientation = decoder.orientation().map_err(corrupt)?;

    // What `ImageReader::decode` does, made explicit: the output buffer is reserved against
    // `max_alloc` before it exists, and the decoder gets the full limits.
    let bytes_needed = decoder.total_bytes();
    let mut full = image_limits(
        Some((limits.max_width, limits.max_height)),
        limits.max_alloc,
    );
    let too_much = PhotoError::TooMuchMemory {
        bytes: bytes_needed,
        limit: limits.max_alloc,
    };
    full.reserve(bytes_needed).map_err(|_| too_much.clone())?;
    decoder
        .set_limits(full)
        .map_err(|e| limit_or_corrupt(e, &too_much))?;
    let mut img =
        DynamicImage::from_decoder(decoder).map_err(|e| limit_or_corrupt(e, &too_much))?;

    img.apply_orientation(orientation);
    Ok(if img.color().has_alpha() {
        over_white(img)
    } else {
        img.into_rgb8()
    })
}

/// Whether a JPEG has its end-of-image marker after its first scan. Header segments are
/// skipped by their lengths (an embedded EXIF thumbnail has its own end marker); inside
/// entropy-coded data every 0xFF is followed by 0x00 or a marker, so FF D9 there is the end.
fn jpeg_has_end(bytes: &[u8]) -> bool {
    let mut i = 2;
    while let [0xFF, marker, hi, lo, ..] = bytes[i.min(bytes.len())..] {
        if marker == 0xFF {
            i += 1; // fill byte before a marker
            continue;
        }
        i += 2 + usize::from(u16::from_be_bytes([hi, lo]));
        if marker == 0xDA {
            return bytes
                .get(i..)
                .is_some_and(|scan| scan.windows(2).any(|w| w == [0xFF, 0xD9]));
        }
    }
    false
}

fn image_limits(max_side: Option<(u32, u32)>, max_alloc: u64) -> Limits {
    let mut l = Limits::default();
    l.max_image_width = max_side.map(|s| s.0);
    l.max_image_height = max_side.map(|s| s.1);
    l.max_alloc = Some(max_alloc);
    l
}

fn limit_or_corrupt(e: ImageError, too_much: &PhotoError) -> PhotoError {
    match &e {
        ImageError::Limits(l) if matches!(l.kind(), LimitErrorKind::InsufficientMemory) => {
            too_much.clone()
        }
        _ => corrupt(e),
    }
}

/// A decoder's refusal: a file that ends early (the PNG decoder reads past its end) is
/// truncated, anything else corrupt.
fn corrupt(e: ImageError) -> PhotoError {
    match &e {
        ImageError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated(e.to_string())
        }
        _ => PhotoError::Corrupt(e.to_string()),
    }
}

/// Transparent pixels composed over white. 16-bit channels are reduced to 8 bits first:
/// nothing downstream needs more.
fn over_white(img: DynamicImage) -> RgbImage {
    let rgba = img.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over =
            |c: u8| ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a)) + 127) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}
