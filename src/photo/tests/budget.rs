//! The budget and the caps, and decoding reduced to what the fit needs: scaled IDCT for
//! JPEG, averaging as rows arrive for PNG, with the orientation and the pre-checks intact.

use super::alloc_probe::peak_heap_growth;
use super::fixtures::*;
use crate::photo::corpus::{self, FlatJpeg};
use crate::photo::*;
use crate::registry::portrait;
use image::{imageops, RgbImage};

fn limits() -> IntakeLimits {
    IntakeLimits::default()
}

/// Every pixel of `img` within 2 of `rgb`.
fn flat(img: &RgbImage, rgb: [u8; 3]) -> bool {
    img.pixels()
        .all(|p| p.0.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 2))
}

#[test]
fn the_issues_progressive_cmyk_jpeg_is_refused_by_the_cmyk_cap_before_any_pixel() {
    let bytes = FlatJpeg::cmyk(6500, 6500, true).encode();
    let (header, _) = match inspect(
        &bytes,
        &IntakeLimits {
            max_cmyk_pixels: u64::MAX,
            max_progressive_pixels: u64::MAX,
            memory_budget: u64::MAX,
            ..limits()
        },
    ) {
        Ok(inspected) => inspected,
        Err(e) => panic!("{e:?}"),
    };
    // The headers are read right: 4 progressive components at full resolution, Adobe CMYK.
    let Layout::Jpeg(frame) = &header.layout else {
        panic!("{header:?}")
    };
    assert!(frame.progressive && frame.colour == JpegColour::Cmyk);
    assert_eq!(frame.components.len(), 4);
    assert!(frame.components.iter().all(|c| c.finished));
    let (err, heap) = peak_heap_growth(|| normalise(&bytes, &limits()).unwrap_err());
    assert_eq!(
        err,
        PhotoError::TooManyPixels {
            kind: PixelCap::Cmyk,
            width: 6500,
            height: 6500,
            max_pixels: 4_000_000,
        }
    );
    assert_eq!(
        err.details(),
        serde_json::json!({"cause": "too_many_pixels", "kind": "cmyk", "width": 6500,
            "height": 6500, "pixels": 42_250_000, "max_pixels": 4_000_000})
    );
    assert!(heap < 64 << 10, "heap grew {heap} bytes");
    // Were it allowed, its coefficients alone would be 4 × 813² blocks × 128 bytes.
    let Err(PhotoError::TooMuchMemory {
        estimated_bytes, ..
    }) = inspect(
        &bytes,
        &IntakeLimits {
            max_cmyk_pixels: u64::MAX,
            max_progressive_pixels: u64::MAX,
            ..limits()
        },
    )
    else {
        panic!("over the budget too")
    };
    assert!(estimated_bytes > 4 * 813 * 813 * 128);
}

#[test]
fn progressive_jpegs_over_16_megapixels_are_refused() {
    let bytes = FlatJpeg::progressive(5000, 4000, 3).encode();
    let err = normalise(&bytes, &limits()).unwrap_err();
    assert_eq!(
        err,
        PhotoError::TooManyPixels {
            kind: PixelCap::Progressive,
            width: 5000,
            height: 4000,
            max_pixels: 16_000_000,
        }
    );
    // The same size, baseline, is decoded at an eighth in each direction.
    let baseline = FlatJpeg::baseline(5000, 4000).encode();
    let out = decode(&baseline, &limits()).unwrap();
    assert_eq!(out.plan.reduction, 4);
    assert_eq!((out.width, out.height), (5000, 4000));
    assert_eq!(out.image.dimensions(), (1250, 1000));
}

#[test]
fn a_12_megapixel_phone_photo_is_decoded_at_a_quarter_and_comes_out_the_same() {
    let upload = portrait::phone_jpeg(92);
    let (decoded, heap) = peak_heap_growth(|| decode(&upload, &limits()).unwrap());
    assert_eq!((decoded.width, decoded.height), (3024, 4032));
    assert_eq!(decoded.plan.reduction, 4);
    assert_eq!(decoded.image.dimensions(), (756, 1008));
    assert!(
        heap <= decoded.plan.estimated_bytes as usize,
        "{heap} > {:?}",
        decoded.plan
    );
    // 36 MB of RGB at full size; the scaled decode holds a sixteenth of that and its fit.
    assert!(heap < 12 << 20, "heap grew {heap} bytes");
    // What comes out matches a full-size decode fitted the same way.
    let full = image::load_from_memory(&upload).unwrap().to_rgb8();
    let expected = fit(&full);
    let out = normalise(&upload, &limits()).unwrap();
    let got = image::load_from_memory(&out.jpeg).unwrap().to_rgb8();
    assert!(difference(&got, &expected) < 3.0);
    assert_eq!((out.source_width, out.source_height), (3024, 4032));
    assert!(out.passed_all(), "{:#?}", out.checks);
}

#[test]
fn orientation_is_applied_to_a_scaled_decode_and_the_checks_see_the_full_size() {
    let upright = portrait::draw(1320, 1920);
    let stored = imageops::rotate270(&upright); // shown turned 90° clockwise: EXIF 6
    let bytes = with_segment(&jpeg(&stored, 95), &exif_app1(Some(6), false));
    let decoded = decode(&bytes, &limits()).unwrap();
    assert_eq!(decoded.plan.reduction, 2);
    assert_eq!((decoded.width, decoded.height), (1320, 1920));
    assert_eq!(decoded.image.dimensions(), (660, 960));
    let half = imageops::resize(&upright, 660, 960, imageops::FilterType::Triangle);
    assert!(difference(&decoded.image, &half) < 4.0);
    let out = normalise(&bytes, &limits()).unwrap();
    let too_small = out.checks.iter().find(|c| c.code == "too_small").unwrap();
    assert_eq!(
        too_small.measured, 1320.0,
        "the photo's own width, not the decode's"
    );
    assert!(out.passed_all(), "{:#?}", out.checks);
}

#[test]
fn progressive_cmyk_ycck_grey_and_unfinished_jpegs_decode_to_their_colour() {
    let cmyk = FlatJpeg::cmyk(1200, 1200, true).encode();
    // Stored (Adobe-inverted) C, M, Y, K of 255, 128, 255, 255: magenta ink only.
    assert!(flat(
        &decode(&cmyk, &limits()).unwrap().image,
        [255, 128, 255]
    ));
    let ycck = FlatJpeg {
        adobe: Some(2),
        levels: vec![128, 128, 128, 255],
        ..FlatJpeg::cmyk(800, 800, false)
    };
    assert!(flat(
        &decode(&ycck.encode(), &limits()).unwrap().image,
        [128, 128, 128]
    ));
    let grey = FlatJpeg {
        sampling: vec![(1, 1)],
        levels: vec![200],
        ..FlatJpeg::progressive(1000, 1500, 20)
    };
    assert!(flat(
        &decode(&grey.encode(), &limits()).unwrap().image,
        [200; 3]
    ));
    let many = FlatJpeg::progressive(700, 1000, 99).encode();
    let (header, _) = inspect(&many, &limits()).unwrap();
    assert!(matches!(
        header.layout,
        Layout::Jpeg(JpegFrame { scans: 99, .. })
    ));
    assert!(flat(&decode(&many, &limits()).unwrap().image, [128; 3]));
    let unfinished = FlatJpeg {
        unfinished: Some(0),
        ..FlatJpeg::progressive(700, 1000, 9)
    }
    .encode();
    let (header, _) = inspect(&unfinished, &limits()).unwrap();
    let Layout::Jpeg(frame) = header.layout else {
        unreachable!()
    };
    let finished: Vec<bool> = frame.components.iter().map(|c| c.finished).collect();
    assert_eq!(finished, [false, true, true]);
    assert!(flat(
        &decode(&unfinished, &limits()).unwrap().image,
        [128; 3]
    ));
}

#[test]
fn a_16_kb_8000_square_bilevel_png_is_averaged_down_as_its_rows_arrive() {
    let bytes = bilevel_png(8000, 8000);
    assert!(bytes.len() < 64 << 10, "{} bytes", bytes.len());
    let (decoded, heap) = peak_heap_growth(|| decode(&bytes, &limits()).unwrap());
    // The 22:32 crop is 5500×8000; eight by eight pixels make one.
    assert_eq!(decoded.plan.reduction, 8);
    assert_eq!(decoded.plan.region, (1250, 0, 5500, 8000));
    assert_eq!(decoded.image.dimensions(), (688, 1000));
    assert!(flat(&decoded.image, [0, 0, 0]));
    assert!(heap <= decoded.plan.estimated_bytes as usize);
    assert!(
        heap < 24 << 20,
        "heap grew {heap} bytes (64 MB as 8-bit grey)"
    );
}

#[test]
fn interlaced_16_bit_and_palette_pngs_come_out_as_their_plain_twins() {
    let upright = portrait::draw(1400, 2000);
    let plain = normalise(&portrait::png(1400, 2000), &limits()).unwrap();
    let interlaced = normalise(&corpus::interlaced_png(&upright), &limits()).unwrap();
    assert_eq!(
        interlaced.jpeg, plain.jpeg,
        "the same pixels, in another order"
    );
    let deep = corpus::flat_png(1200, 1800, 16, 2, true, &[], 0x40);
    assert!(flat(&decode(&deep, &limits()).unwrap().image, [0x40; 3]));
    let palette = corpus::flat_png(3000, 3000, 4, 3, true, &[9, 9, 9, 200, 30, 30], 0x11);
    assert!(flat(
        &decode(&palette, &limits()).unwrap().image,
        [200, 30, 30]
    ));
    // Grey and alpha, 16 bits: grey 128 at half opacity over white.
    let grey_alpha = corpus::flat_png(700, 1000, 16, 4, false, &[], 0x80);
    assert!(flat(
        &decode(&grey_alpha, &limits()).unwrap().image,
        [191; 3]
    ));
}

#[test]
fn sixty_five_thousand_pixel_headers_are_refused_before_any_pixel() {
    for bytes in [
        corpus::png_header_only(65_535, 65_535, 16, 6),
        corpus::jpeg_declaring(65_535, 65_535),
    ] {
        let (err, heap) = peak_heap_growth(|| normalise(&bytes, &limits()).unwrap_err());
        assert!(
            matches!(
                err,
                PhotoError::TooLargeDimensions {
                    width: 65_535,
                    height: 65_535,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(heap < 64 << 10, "heap grew {heap} bytes");
    }
}

#[test]
fn the_decoders_reading_of_a_jpeg_must_be_ours() {
    // A second frame header after the first is refused, not decoded under the first's budget.
    let one = FlatJpeg::baseline(64, 64).encode();
    let sof = one.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    let len = usize::from(u16::from_be_bytes([one[sof + 2], one[sof + 3]]));
    let twice = [&one[..sof + 2 + len], &one[sof..]].concat();
    assert!(matches!(refused_with(&twice), PhotoError::Corrupt(_)));
    // A scan before any frame header, and a 12-bit frame.
    let mut twelve = one.clone();
    twelve[sof + 4] = 12;
    assert!(matches!(refused_with(&twelve), PhotoError::Corrupt(_)));
}

fn refused_with(bytes: &[u8]) -> PhotoError {
    normalise(bytes, &limits()).unwrap_err()
}
