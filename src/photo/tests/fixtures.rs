//! Real encoded images for the tests, made here: JPEGs with hand-written EXIF segments,
//! appended payloads; hand-crafted headers and huge flat files come from `photo::corpus`.

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, Rgb, RgbImage};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

pub use crate::photo::corpus::{bilevel_png, png_header_only};

pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

pub fn encode(img: &image::DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// Mean absolute difference per channel between two images of the same size.
pub fn difference(a: &RgbImage, b: &RgbImage) -> f32 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f32 / a.as_raw().len() as f32
}

/// Every pixel mapped through `f(x, y, [r, g, b])`.
pub fn map(img: &RgbImage, f: impl Fn(u32, u32, [u8; 3]) -> [u8; 3]) -> RgbImage {
    RgbImage::from_fn(img.width(), img.height(), |x, y| {
        Rgb(f(x, y, img.get_pixel(x, y).0))
    })
}

/// What a phone makes of the portrait: sensor noise of ±`noise` per channel, deterministic.
pub fn noisy(img: &RgbImage, noise: i16, seed: u64) -> RgbImage {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = img.clone();
    for p in out.pixels_mut() {
        for c in &mut p.0 {
            *c = (i16::from(*c) + rng.gen_range(-noise..=noise)).clamp(0, 255) as u8;
        }
    }
    out
}

/// An APP1 Exif segment (big-endian TIFF) with an orientation tag and, if asked, a GPS IFD
/// placing the photo in Beijing (39°54'27"N).
pub fn exif_app1(orientation: Option<u16>, gps: bool) -> Vec<u8> {
    let mut ifd0: Vec<[u8; 12]> = Vec::new();
    let entry = |tag: u16, typ: u16, count: u32, value: [u8; 4]| {
        let mut e = [0u8; 12];
        e[0..2].copy_from_slice(&tag.to_be_bytes());
        e[2..4].copy_from_slice(&typ.to_be_bytes());
        e[4..8].copy_from_slice(&count.to_be_bytes());
        e[8..12].copy_from_slice(&value);
        e
    };
    if let Some(o) = orientation {
        let [hi, lo] = o.to_be_bytes();
        ifd0.push(entry(0x0112, 3, 1, [hi, lo, 0, 0])); // Orientation, SHORT
    }
    // Offsets count from the TIFF header: 8 bytes of header, then IFD0.
    let gps_ifd_at = 8 + 2 + 12 * (ifd0.len() as u32 + u32::from(gps)) + 4;
    if gps {
        ifd0.push(entry(0x8825, 4, 1, gps_ifd_at.to_be_bytes())); // GPSInfo IFD pointer, LONG
    }
    let mut tiff = b"MM\0\x2A\0\0\0\x08".to_vec();
    tiff.extend((ifd0.len() as u16).to_be_bytes());
    ifd0.iter().for_each(|e| tiff.extend(e));
    tiff.extend([0, 0, 0, 0]); // no IFD1
    if gps {
        let rationals_at = gps_ifd_at + 2 + 12 * 2 + 4;
        tiff.extend(2u16.to_be_bytes());
        tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0")); // GPSLatitudeRef, ASCII
        tiff.extend(entry(0x0002, 5, 3, rationals_at.to_be_bytes())); // GPSLatitude, RATIONAL×3
        tiff.extend([0, 0, 0, 0]);
        for (num, den) in [(39u32, 1u32), (54, 1), (2700, 100)] {
            tiff.extend(num.to_be_bytes());
            tiff.extend(den.to_be_bytes());
        }
    }
    let mut seg = vec![0xFF, 0xE1];
    seg.extend((2 + 6 + tiff.len() as u16).to_be_bytes());
    seg.extend(b"Exif\0\0");
    seg.extend(tiff);
    seg
}

/// The JPEG with `segment` inserted right after its start-of-image marker.
pub fn with_segment(jpeg: &[u8], segment: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], [0xFF, 0xD8]);
    [&jpeg[..2], segment, &jpeg[2..]].concat()
}

/// The markers of a JPEG's header segments, up to its first start-of-scan.
pub fn header_markers(jpeg: &[u8]) -> Vec<u8> {
    let (mut markers, mut i) = (Vec::new(), 2);
    while i + 4 <= jpeg.len() && jpeg[i] == 0xFF {
        let marker = jpeg[i + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
    }
    markers
}

pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A small but real ZIP archive (one stored file), as a polyglot would append it.
pub fn zip_archive() -> Vec<u8> {
    let (name, data) = (
        b"payload.sh".as_slice(),
        b"#!/bin/sh\necho owned\n".as_slice(),
    );
    let crc = crc32(data).to_le_bytes();
    let (size, name_len) = (
        (data.len() as u32).to_le_bytes(),
        (name.len() as u16).to_le_bytes(),
    );
    let mut z = b"PK\x03\x04\x0A\0\0\0\0\0\0\0\0\0".to_vec();
    z.extend([crc, size, size].concat());
    z.extend([&name_len[..], &[0, 0], name, data].concat());
    let central_at = (z.len() as u32).to_le_bytes();
    let mut central = b"PK\x01\x02\x14\0\x0A\0\0\0\0\0\0\0\0\0".to_vec();
    central.extend([crc, size, size].concat());
    central.extend([&name_len[..], &[0; 12], &[0, 0, 0, 0], name].concat());
    let central_len = (central.len() as u32).to_le_bytes();
    z.extend(&central);
    z.extend(b"PK\x05\x06\0\0\0\0\x01\0\x01\0");
    z.extend([central_len, central_at].concat());
    z.extend([0, 0]);
    z
}
