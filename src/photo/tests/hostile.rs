//! Hostile and broken uploads: every error, and proof that declared sizes are refused before
//! memory is taken (asserted on allocations, never on timing).

use super::alloc_probe::peak_heap_growth;
use super::fixtures::*;
use crate::photo::corpus;
use crate::photo::*;
use crate::registry::portrait;

fn limits() -> IntakeLimits {
    IntakeLimits::default()
}

fn refused(bytes: &[u8]) -> PhotoError {
    normalise(bytes, &limits()).expect_err("should be refused")
}

/// Most the heap may grow while a hostile file is refused: the file itself is copied once by
/// the JPEG decoder, and the decoders keep small buffers.
const REFUSAL_HEAP: usize = 1 << 20;

#[test]
fn empty_and_oversized_files() {
    assert_eq!(refused(b""), PhotoError::Empty);
    let small = IntakeLimits {
        max_bytes: 1000,
        ..limits()
    };
    let bytes = portrait::jpeg(330, 480);
    let err = normalise(&bytes, &small).unwrap_err();
    assert_eq!(
        err,
        PhotoError::TooLargeFile {
            bytes: bytes.len(),
            max: 1000
        }
    );
    assert_eq!(err.code(), "file_too_large");
}

#[test]
fn not_a_jpeg_or_png() {
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg" width="330" height="480"><script>alert(1)</script></svg>"#;
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    let cases: [(&[u8], &str); 4] = [
        (svg, "svg"),
        (gif, "gif"),
        (
            b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0/\0\0\0\x10\x07\x10\x11\x11\x88\x88\xfe\x07\0",
            "webp",
        ),
        (
            b"<!DOCTYPE html><html><body>not a photo</body></html>",
            "html",
        ),
    ];
    for (bytes, what) in cases {
        let err = refused(bytes);
        assert_eq!(err, PhotoError::UnsupportedFormat { detected: what });
        assert_eq!(err.code(), "unsupported_format");
    }
}

#[test]
fn truncated_and_garbled_files_are_told_apart() {
    let jpeg_bytes = portrait::jpeg(330, 480);
    let png_bytes = portrait::png(330, 480);
    let cut: [&[u8]; 4] = [
        &jpeg_bytes[..jpeg_bytes.len() / 2],
        &jpeg_bytes[..20],
        &png_bytes[..png_bytes.len() / 2],
        &png_bytes[..30],
    ];
    for bytes in cut {
        let err = refused(bytes);
        assert!(
            matches!(err, PhotoError::Truncated(_)),
            "{} bytes: {err:?}",
            bytes.len()
        );
        assert_eq!(err.code(), "truncated");
        assert_eq!(err.details(), serde_json::json!({"cause": "truncated"}));
    }
    // Garbage after a JPEG start: the segments run off the end before any image data.
    assert!(matches!(
        refused(b"\xFF\xD8\xFF\xE0 this is not really a JPEG"),
        PhotoError::Truncated(_)
    ));
    // An end-of-image marker in a header segment (an EXIF thumbnail's) does not hide the cut,
    // and fill bytes before a marker are allowed.
    let thumbnail_end = [0xFF, 0xE1, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9];
    assert!(matches!(
        refused(&with_segment(cut[0], &thumbnail_end)),
        PhotoError::Truncated(_)
    ));
    let filled = with_segment(&with_segment(&jpeg_bytes, &thumbnail_end), &[0xFF, 0xFF]);
    assert!(normalise(&filled, &limits()).is_ok());
    // A PNG whose IHDR CRC does not match is not trusted either.
    let mut bad_crc = png_header_only(330, 480, 8, 2);
    bad_crc[29] ^= 0xFF;
    let err = refused(&bad_crc);
    assert!(matches!(err, PhotoError::Corrupt(_)), "{err:?}");
    assert_eq!(err.details(), serde_json::json!({"cause": "corrupt"}));
    assert!(matches!(
        refused(&png_header_only(0, 480, 8, 2)),
        PhotoError::Corrupt(_)
    ));
}

#[test]
fn a_decompression_bomb_is_refused_by_its_declared_size_before_any_pixel() {
    // 61 bytes declaring 100000×100000 RGBA: 40 GB decoded.
    let bomb = png_header_only(100_000, 100_000, 8, 6);
    assert!(bomb.len() < 100);
    let (err, heap) = peak_heap_growth(|| refused(&bomb));
    assert_eq!(
        err,
        PhotoError::TooLargeDimensions {
            width: 100_000,
            height: 100_000,
            max_width: 8000,
            max_height: 8000,
        }
    );
    assert_eq!(err.code(), "dimensions_too_large");
    assert_eq!(
        err.details(),
        serde_json::json!({"cause": "dimensions_too_large", "width": 100_000,
            "height": 100_000, "max_width": 8000, "max_height": 8000})
    );
    assert!(heap < REFUSAL_HEAP, "heap grew {heap} bytes");
}

#[test]
fn a_real_20000_square_png_is_refused_without_allocating_its_pixels() {
    let big = bilevel_png(20_000, 20_000);
    assert!(
        big.len() < 1 << 20,
        "{} bytes of file for 400 M pixels",
        big.len()
    );
    // It is a real PNG: the decoder reads its header and would decode it without limits.
    let reader =
        image::ImageReader::with_format(std::io::Cursor::new(&big), image::ImageFormat::Png);
    assert_eq!(reader.into_dimensions().unwrap(), (20_000, 20_000));
    let (err, heap) = peak_heap_growth(|| refused(&big));
    assert_eq!(
        err,
        PhotoError::TooLargeDimensions {
            width: 20_000,
            height: 20_000,
            max_width: 8000,
            max_height: 8000,
        }
    );
    assert!(heap < REFUSAL_HEAP, "heap grew {heap} bytes");
}

#[test]
fn a_jpeg_declaring_60000_pixels_a_side_is_refused_from_its_frame_header() {
    let mut bytes = portrait::jpeg(330, 480);
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("baseline frame header");
    bytes[sof + 5..sof + 9].copy_from_slice(&[0xEA, 0x60, 0xEA, 0x60]); // height, width: 60000
    let (err, heap) = peak_heap_growth(|| refused(&bytes));
    assert_eq!(
        err,
        PhotoError::TooLargeDimensions {
            width: 60_000,
            height: 60_000,
            max_width: 8000,
            max_height: 8000,
        }
    );
    assert!(heap < REFUSAL_HEAP, "heap grew {heap} bytes");
}

#[test]
fn within_the_dimensions_but_over_the_memory_budget() {
    // 3024×4032 progressive with full-resolution chroma: inside every size limit and cap, but
    // its coefficients alone (3 components × 2 bytes × 12.2 M samples) are 73 MB.
    let bytes = corpus::FlatJpeg {
        sampling: vec![(1, 1); 3],
        ..corpus::FlatJpeg::progressive(3024, 4032, 10)
    }
    .encode();
    let (err, heap) = peak_heap_growth(|| refused(&bytes));
    let PhotoError::TooMuchMemory {
        estimated_bytes, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert!(estimated_bytes > 3 * 378 * 504 * 128, "{estimated_bytes}");
    assert_eq!(err.code(), "too_much_memory");
    assert_eq!(
        err.details(),
        serde_json::json!({"cause": "too_much_memory", "width": 3024, "height": 4032,
            "components": 3, "bit_depth": 8, "estimated_bytes": estimated_bytes,
            "budget_bytes": 64 << 20})
    );
    assert!(heap < REFUSAL_HEAP, "heap grew {heap} bytes");
    // A real photo under a tighter budget: refused before decoding too.
    let tight = IntakeLimits {
        memory_budget: 100_000,
        ..limits()
    };
    let err = normalise(&portrait::jpeg(330, 480), &tight).unwrap_err();
    assert!(
        matches!(err, PhotoError::TooMuchMemory { width: 330, height: 480, components: 3,
            bit_depth: 8, estimated_bytes, budget_bytes: 100_000 } if estimated_bytes > 330 * 480 * 3),
        "{err:?}"
    );
    let smaller_sides = IntakeLimits {
        max_width: 300,
        ..limits()
    };
    let err = normalise(&portrait::png(330, 480), &smaller_sides).unwrap_err();
    assert_eq!(
        err,
        PhotoError::TooLargeDimensions {
            width: 330,
            height: 480,
            max_width: 300,
            max_height: 8000,
        }
    );
}

#[test]
fn the_probe_sees_a_real_decode() {
    // The control for the assertions above: decoding a 330×480 photo does allocate its pixels.
    let bytes = portrait::png(330, 480);
    let (out, heap) = peak_heap_growth(|| decode(&bytes, &limits()).map(|d| d.image.len()));
    assert_eq!(out, Ok(330 * 480 * 3));
    assert!(heap >= 330 * 480 * 3, "heap grew only {heap} bytes");
}

#[test]
fn error_codes_are_distinct_and_stable() {
    let all = [
        PhotoError::Empty,
        PhotoError::TooLargeFile { bytes: 2, max: 1 },
        PhotoError::UnsupportedFormat { detected: "gif" },
        PhotoError::Truncated("x".into()),
        PhotoError::Corrupt("x".into()),
        PhotoError::TooLargeDimensions {
            width: 1,
            height: 1,
            max_width: 0,
            max_height: 0,
        },
        PhotoError::TooManyPixels {
            kind: PixelCap::Cmyk,
            width: 1,
            height: 1,
            max_pixels: 0,
        },
        PhotoError::TooMuchMemory {
            width: 1,
            height: 1,
            components: 1,
            bit_depth: 8,
            estimated_bytes: 1,
            budget_bytes: 0,
        },
    ];
    let codes: Vec<_> = all.iter().map(PhotoError::code).collect();
    assert_eq!(
        codes,
        [
            "empty",
            "file_too_large",
            "unsupported_format",
            "truncated",
            "corrupt",
            "dimensions_too_large",
            "too_many_pixels",
            "too_much_memory"
        ]
    );
    for e in &all {
        assert_eq!(e.details()["cause"], e.code(), "{e:?}");
        // One HTTP code for "too big", another for "cannot be read".
        let too_large = matches!(
            e.code(),
            "file_too_large" | "dimensions_too_large" | "too_many_pixels" | "too_much_memory"
        );
        assert_eq!(e.is_too_large(), too_large, "{e:?}");
    }
    assert_eq!(
        PhotoError::TooLargeDimensions {
            width: 20000,
            height: 20000,
            max_width: 8000,
            max_height: 8000,
        }
        .to_string(),
        "the photo is 20000×20000 pixels, larger than 8000×8000"
    );
}
