//! Drawing on an RGB canvas for the card images: rectangles, the QR code and barcode at whole
//! pixels a module, and the photo, decoded within fixed limits.

use super::barcode::{self, Code128};
use super::qr::{self, QrMatrix};
use image::imageops::{self, FilterType};
use image::{ImageReader, Limits, Rgb, RgbImage};
use std::io::Cursor;

pub const WHITE: Rgb<u8> = Rgb([255, 255, 255]);
pub const BLACK: Rgb<u8> = Rgb([0, 0, 0]);

/// Photos larger than this on either side, or needing more memory, are refused unread.
pub const PHOTO_MAX_SIDE: u32 = 4096;
pub const PHOTO_MAX_ALLOC: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rect {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

impl Rect {
    pub const fn new(x: u32, y: u32, w: u32, h: u32) -> Rect {
        Rect { x, y, w, h }
    }
}

/// Fills `r`, clipped to the canvas.
pub fn fill(img: &mut RgbImage, r: Rect, color: Rgb<u8>) {
    let (x1, y1) = (
        r.x.saturating_add(r.w).min(img.width()),
        r.y.saturating_add(r.h).min(img.height()),
    );
    for y in r.y..y1 {
        for x in r.x..x1 {
            img.put_pixel(x, y, color);
        }
    }
}

/// A `t` pixel border just inside `r`.
pub fn frame(img: &mut RgbImage, r: Rect, t: u32, color: Rgb<u8>) {
    fill(img, Rect::new(r.x, r.y, r.w, t), color);
    fill(
        img,
        Rect::new(r.x, r.y + r.h.saturating_sub(t), r.w, t),
        color,
    );
    fill(img, Rect::new(r.x, r.y, t, r.h), color);
    fill(
        img,
        Rect::new(r.x + r.w.saturating_sub(t), r.y, t, r.h),
        color,
    );
}

/// The QR code centred in a square of `side` pixels at (`x`, `y`), quiet zone included, at
/// the largest whole number of pixels a module that fits (at least one). Returns its side.
pub fn qr_code(img: &mut RgbImage, qr: &QrMatrix, (x, y): (u32, u32), side: u32) -> u32 {
    let modules = (qr.width() + 2 * qr::QUIET_MODULES) as u32;
    let m = (side / modules).max(1);
    let drawn = modules * m;
    let (x0, y0) = (
        x + side.saturating_sub(drawn) / 2,
        y + side.saturating_sub(drawn) / 2,
    );
    fill(img, Rect::new(x0, y0, drawn, drawn), WHITE);
    let q = qr::QUIET_MODULES as u32;
    for (mx, my) in qr.dark_modules() {
        let (mx, my) = (mx as u32 + q, my as u32 + q);
        fill(img, Rect::new(x0 + mx * m, y0 + my * m, m, m), BLACK);
    }
    drawn
}

/// The barcode centred across `r`, quiet zones included, whole pixels a module.
pub fn barcode(img: &mut RgbImage, code: &Code128, r: Rect) {
    let modules = (code.modules().len() + 2 * barcode::QUIET_MODULES) as u32;
    let m = (r.w / modules).max(1);
    let drawn = modules * m;
    let x0 = r.x + r.w.saturating_sub(drawn) / 2;
    fill(img, Rect::new(x0, r.y, drawn, r.h), WHITE);
    let q = barcode::QUIET_MODULES as u32;
    for (i, bar) in code.modules().iter().enumerate() {
        if *bar == 1 {
            fill(img, Rect::new(x0 + (i as u32 + q) * m, r.y, m, r.h), BLACK);
        }
    }
}

/// Decodes a JPEG or PNG photo within the limits; `None` if it is not one or is too large.
pub fn decode_photo(bytes: &[u8]) -> Option<RgbImage> {
    let mut limits = Limits::default();
    limits.max_image_width = Some(PHOTO_MAX_SIDE);
    limits.max_image_height = Some(PHOTO_MAX_SIDE);
    limits.max_alloc = Some(PHOTO_MAX_ALLOC);
    let decode = || {
        let mut reader = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .ok()?;
        reader.limits(limits);
        reader.decode().ok()
    };
    // The decoders are meant never to panic; a photo from the registry is still not trusted
    // to prove it.
    let decoded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(decode))
        .ok()
        .flatten()?;
    (decoded.width() > 0 && decoded.height() > 0).then(|| decoded.to_rgb8())
}

/// The photo cropped to the box's shape, centred, and scaled to fill `r`. Cropping first
/// keeps the work bounded by the photo's size, whatever its shape (a 4096×1 photo too).
pub fn photo(img: &mut RgbImage, photo: &RgbImage, r: Rect) {
    let (pw, ph) = (photo.width(), photo.height());
    let (cw, ch) = if u64::from(pw) * u64::from(r.h) > u64::from(ph) * u64::from(r.w) {
        ((u64::from(ph) * u64::from(r.w) / u64::from(r.h)) as u32, ph)
    } else {
        (pw, (u64::from(pw) * u64::from(r.h) / u64::from(r.w)) as u32)
    };
    let (cw, ch) = (cw.clamp(1, pw), ch.clamp(1, ph));
    let part = imageops::crop_imm(photo, (pw - cw) / 2, (ph - ch) / 2, cw, ch).to_image();
    let scaled = imageops::resize(&part, r.w, r.h, FilterType::Triangle);
    imageops::replace(img, &scaled, i64::from(r.x), i64::from(r.y));
}
