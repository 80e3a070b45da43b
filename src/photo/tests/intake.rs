//! Good uploads: what comes out, its orientation, and what does not survive the re-encode.

use super::fixtures::*;
use crate::photo::*;
use crate::registry::portrait;
use image::{imageops, DynamicImage, ImageFormat, RgbImage};

fn limits() -> IntakeLimits {
    IntakeLimits::default()
}

fn decoded(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8()
}

#[test]
fn the_synthetic_portrait_comes_out_as_a_330_by_480_jpeg_that_passes_every_check() {
    let out = normalise(&portrait::jpeg(330, 480), &limits()).unwrap();
    assert_eq!(out.source_format, SourceFormat::Jpeg);
    assert_eq!((out.source_width, out.source_height), (330, 480));
    assert_eq!(sniff(&out.jpeg).unwrap(), SourceFormat::Jpeg);
    let img = decoded(&out.jpeg);
    assert_eq!(img.dimensions(), (NORMALISED_WIDTH, NORMALISED_HEIGHT));
    assert!(difference(&img, &portrait::draw(330, 480)) < 3.0);
    assert!(out.passed_all(), "{:#?}", out.checks);
    assert_eq!(out.checks.len(), Check::ALL.len());
}

#[test]
fn larger_photos_and_pngs_are_cropped_to_22_32_and_scaled() {
    // A 3:4 phone-shaped PNG: the crop trims top and bottom, the portrait stays centred.
    let source = portrait::draw(768, 1024);
    let out = normalise(&portrait::png(768, 1024), &limits()).unwrap();
    assert_eq!(out.source_format, SourceFormat::Png);
    assert_eq!((out.source_width, out.source_height), (768, 1024));
    let img = decoded(&out.jpeg);
    assert_eq!(img.dimensions(), (330, 480));
    assert!(out.passed_all(), "{:#?}", out.checks);
    // The crop is 704×1024 at x = 32: its centre column is the source's.
    assert_eq!(fit(&source).dimensions(), (330, 480));
    let crop = imageops::crop_imm(&source, 32, 0, 704, 1024).to_image();
    let expected = imageops::resize(&crop, 330, 480, imageops::FilterType::Lanczos3);
    assert!(difference(&img, &expected) < 3.0);
}

/// The portrait stored the way a camera with orientation `tag` stores it: the inverse of
/// what a viewer then does to show it upright.
fn stored_for(tag: u16, upright: &RgbImage) -> RgbImage {
    match tag {
        1 => upright.clone(),
        2 => imageops::flip_horizontal(upright),
        3 => imageops::rotate180(upright),
        4 => imageops::flip_vertical(upright),
        6 => imageops::rotate270(upright), // shown rotated 90° clockwise
        8 => imageops::rotate90(upright),  // shown rotated 90° counter-clockwise
        _ => unreachable!(),
    }
}

#[test]
fn exif_orientation_is_applied_before_anything_is_measured() {
    let upright = portrait::draw(330, 480);
    for tag in [1, 2, 3, 4, 6, 8] {
        let stored = stored_for(tag, &upright);
        let bytes = with_segment(&jpeg(&stored, 95), &exif_app1(Some(tag), false));
        let img = decode(&bytes, &limits()).unwrap().image;
        assert_eq!(img.dimensions(), (330, 480), "orientation {tag}");
        assert!(difference(&img, &upright) < 3.0, "orientation {tag}");
        let out = normalise(&bytes, &limits()).unwrap();
        assert_eq!((out.source_width, out.source_height), (330, 480));
        assert!(out.passed_all(), "orientation {tag}: {:#?}", out.checks);
    }
    // Without the tag, the sideways photo is measured as it is: landscape, wrong.
    let sideways = jpeg(&stored_for(6, &upright), 95);
    let out = normalise(&sideways, &limits()).unwrap();
    assert_eq!((out.source_width, out.source_height), (480, 330));
    assert!(out
        .checks
        .iter()
        .any(|c| c.code == "wrong_proportions" && !c.passed));
}

#[test]
fn the_output_carries_no_metadata_gps_included() {
    let source = jpeg(&portrait::draw(330, 480), 92);
    let tagged = with_segment(&source, &exif_app1(Some(1), true));
    // The fixture is what it claims: the decoder finds the Exif block with its GPS IFD.
    let mut decoder =
        image::ImageReader::with_format(std::io::Cursor::new(&tagged), ImageFormat::Jpeg)
            .into_decoder()
            .unwrap();
    let exif = image::ImageDecoder::exif_metadata(&mut decoder)
        .unwrap()
        .unwrap();
    assert!(
        exif.windows(2).any(|w| w == [0x88, 0x25]),
        "GPSInfo tag present"
    );
    assert!(header_markers(&tagged).contains(&0xE1));

    let out = normalise(&tagged, &limits()).unwrap();
    // Only the JFIF APP0 header, the tables, the frame and the scan: no APP1 (Exif, XMP),
    // APP2 (ICC), other APPn or comment segment.
    let markers = header_markers(&out.jpeg);
    assert_eq!(markers[0], 0xE0, "JFIF first");
    assert!(
        markers[1..]
            .iter()
            .all(|m| matches!(m, 0xDB | 0xC0 | 0xC4 | 0xDA)),
        "{markers:x?}"
    );
    for needle in [b"Exif".as_slice(), b"GPS", b"http://ns.adobe.com"] {
        assert!(!out.jpeg.windows(needle.len()).any(|w| w == needle));
    }
}

#[test]
fn an_appended_html_or_zip_tail_is_dropped_by_the_re_encode() {
    let source = jpeg(&portrait::draw(330, 480), 92);
    let html = b"<html><script>fetch('/steal?c='+document.cookie)</script></html>".as_slice();
    for (tail, marker) in [
        (html, b"<script".as_slice()),
        (&zip_archive(), b"PK\x03\x04"),
    ] {
        let polyglot = [source.as_slice(), tail].concat();
        let out = normalise(&polyglot, &limits()).unwrap();
        assert!(out.passed_all());
        assert!(
            out.jpeg.ends_with(&[0xFF, 0xD9]),
            "ends at its end-of-image marker"
        );
        assert!(!out.jpeg.windows(marker.len()).any(|w| w == marker));
        assert_eq!(
            out.jpeg,
            normalise(&source, &limits()).unwrap().jpeg,
            "as if no tail"
        );
    }
}

#[test]
fn the_file_name_plays_no_part_png_bytes_are_a_png() {
    // There is no name to pass: PNG bytes uploaded as "photo.jpg" are sniffed as PNG.
    let png_bytes = portrait::png(330, 480);
    assert_eq!(sniff(&png_bytes).unwrap(), SourceFormat::Png);
    let out = normalise(&png_bytes, &limits()).unwrap();
    assert_eq!(out.source_format, SourceFormat::Png);
    assert_eq!(sniff(&out.jpeg).unwrap(), SourceFormat::Jpeg);
}

#[test]
fn transparency_is_shown_over_white_and_16_bit_and_grey_pngs_decode() {
    // A cut-out portrait: the background fully transparent (and black underneath).
    let upright = portrait::draw(330, 480);
    let rgba = image::RgbaImage::from_fn(330, 480, |x, y| {
        let [r, g, b] = upright.get_pixel(x, y).0;
        if [r, g, b] == [252, 252, 252] {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([r, g, b, 255])
        }
    });
    let bytes = encode(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png);
    let img = decode(&bytes, &limits()).unwrap().image;
    assert_eq!(img.get_pixel(2, 2).0, [255, 255, 255]);
    assert_eq!(img.get_pixel(165, 470).0, [28, 32, 44]);

    let wide = DynamicImage::ImageRgb8(upright.clone()).into_rgb16();
    let bytes = encode(&DynamicImage::ImageRgb16(wide), ImageFormat::Png);
    assert!(difference(&decode(&bytes, &limits()).unwrap().image, &upright) < 1.0);
    let grey = DynamicImage::ImageRgb8(upright).into_luma8();
    let img = decode(
        &encode(&DynamicImage::ImageLuma8(grey), ImageFormat::Png),
        &limits(),
    )
    .unwrap()
    .image;
    assert_eq!(img.get_pixel(2, 2).0, [252, 252, 252]);
}
