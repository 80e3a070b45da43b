//! Decoding an upload in an order that never lets the file choose how much memory it gets:
//! the size of the file, the format from its magic bytes, the headers, the declared size, the
//! caps and the estimated memory against the budget (`budget`), a reservation from the
//! process's gate (`gate`), and only then the pixels, reduced while they are decoded to what
//! the 330×480 fit needs.

mod jpeg_scaled;
mod png_rows;

use super::budget::{self, Plan};
use super::header::{self, Header, Layout};
use super::{gate, sniff, IntakeLimits, PhotoError, SourceFormat};
use image::metadata::Orientation;
use image::{DynamicImage, RgbImage};

/// An upload decoded, turned upright (EXIF orientation applied) and flattened to RGB
/// (transparency composed over white, as a viewer shows it).
#[derive(Debug)]
pub struct Decoded {
    pub format: SourceFormat,
    /// The photo's full size as shown (after its orientation), from its headers: what the
    /// `too_small` and `wrong_proportions` pre-checks judge.
    pub width: u32,
    pub height: u32,
    /// The pixels as shown, reduced by `plan.reduction` (a PNG's to its 22:32 centre crop).
    pub image: RgbImage,
    pub plan: Plan,
    /// Held until the photo is fitted: the estimate covers the fit too.
    _reservation: gate::Reservation,
}

impl Decoded {
    /// The photo fitted to 330×480: its 22:32 centre crop scaled, as [`super::fit`] does
    /// (a PNG is decoded as its crop already, so it is scaled whole).
    pub fn fitted(&self) -> RgbImage {
        let (w, h) = self.image.dimensions();
        match self.format {
            SourceFormat::Png => super::fit_region(&self.image, (0, 0, w, h)),
            SourceFormat::Jpeg => super::fit(&self.image),
        }
    }
}

/// The headers of an upload and the plan for decoding it, or why it is refused: everything
/// [`decode`] checks before it decodes a pixel.
pub fn inspect(bytes: &[u8], limits: &IntakeLimits) -> Result<(Header, Plan), PhotoError> {
    if bytes.len() > limits.max_bytes {
        return Err(PhotoError::TooLargeFile {
            bytes: bytes.len(),
            max: limits.max_bytes,
        });
    }
    let format = sniff(bytes)?;
    let header = header::read(bytes, format)?;
    let plan = budget::check(&header, bytes.len(), limits)?;
    Ok((header, plan))
}

pub fn decode(bytes: &[u8], limits: &IntakeLimits) -> Result<Decoded, PhotoError> {
    let (header, plan) = inspect(bytes, limits)?;
    let reservation = gate::reserve(plan.estimated_bytes);
    // The decoders are meant never to panic, but this is the one place where anybody's bytes
    // meet them: a panic is reported as a corrupt file, not a crashed worker.
    let stored = std::panic::catch_unwind(|| match &header.layout {
        Layout::Jpeg(_) => jpeg_scaled::decode(bytes, &header, &plan),
        Layout::Png(image) => png_rows::decode(bytes, image, &plan),
    })
    .unwrap_or_else(|_| {
        Err(PhotoError::Corrupt(
            "the decoder failed on this file".into(),
        ))
    })?;
    let (width, height) = header.shown();
    Ok(Decoded {
        format: match header.layout {
            Layout::Jpeg(_) => SourceFormat::Jpeg,
            Layout::Png(_) => SourceFormat::Png,
        },
        width,
        height,
        image: upright(stored, header.orientation),
        plan,
        _reservation: reservation,
    })
}

/// The image turned as its orientation says. Turns by 90° make a new image (the budget
/// counts it); flips and 180° work in place.
fn upright(img: RgbImage, orientation: Orientation) -> RgbImage {
    let mut img = DynamicImage::ImageRgb8(img);
    img.apply_orientation(orientation);
    img.into_rgb8()
}

/// Colour over white: what a viewer shows for a pixel of alpha `a`.
fn over_white(c: u8, a: u8) -> u8 {
    ((u16::from(c) * u16::from(a) + 255 * (255 - u16::from(a)) + 127) / 255) as u8
}
