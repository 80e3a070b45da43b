//! JPEG with jpeg-decoder, scaled in the IDCT (8×8, 4×4, 2×2 or 1×1 samples a block) as the
//! plan says: a 12 MP phone photo comes out at 756×1008 without a full-size buffer.

use super::super::budget::Plan;
use super::super::header::Header;
use super::super::PhotoError;
use image::RgbImage;
use jpeg_decoder::{Decoder, PixelFormat};

pub(super) fn decode(bytes: &[u8], header: &Header, plan: &Plan) -> Result<RgbImage, PhotoError> {
    let mut decoder = Decoder::new(bytes);
    decoder.read_info().map_err(refusal)?;
    let declared = decoder
        .info()
        .map(|i| (u32::from(i.width), u32::from(i.height)));
    if declared != Some((header.width, header.height)) {
        // Our walk and the decoder's read different frames: decode nothing we did not budget.
        return Err(PhotoError::Corrupt(
            "the JPEG's frame header is ambiguous".into(),
        ));
    }
    let (width, height) = plan.decoded;
    if plan.reduction > 1 {
        // The decoder picks the smallest of its scales that still gives this size.
        let scaled = decoder
            .scale(width as u16, height as u16)
            .map_err(refusal)?;
        if (u32::from(scaled.0), u32::from(scaled.1)) != (width, height) {
            return Err(PhotoError::Corrupt(format!(
                "the JPEG decoder scaled to {}×{}, not {width}×{height}",
                scaled.0, scaled.1
            )));
        }
    }
    let pixels = decoder.decode().map_err(refusal)?;
    let format = decoder.info().map(|i| i.pixel_format);
    // Its coefficients and tables go before the conversion allocates.
    drop(decoder);
    let expected = |channels: usize| width as usize * height as usize * channels;
    let rgb = match format {
        Some(PixelFormat::RGB24) if pixels.len() == expected(3) => pixels,
        Some(PixelFormat::L8) if pixels.len() == expected(1) => {
            let mut rgb = Vec::with_capacity(expected(3));
            rgb.extend(pixels.iter().flat_map(|&l| [l, l, l]));
            rgb
        }
        Some(PixelFormat::CMYK32) if pixels.len() == expected(4) => cmyk_to_rgb(pixels),
        _ => {
            return Err(PhotoError::Corrupt(format!(
                "the JPEG decoded to {format:?} ({} bytes)",
                pixels.len()
            )))
        }
    };
    RgbImage::from_raw(width, height, rgb)
        .ok_or_else(|| PhotoError::Corrupt("the JPEG decoded to the wrong size".into()))
}

/// CMYK (ink amounts: jpeg-decoder undoes Adobe's inversion) to RGB, in the same buffer:
/// each pixel's three bytes are written at or before where its four were read.
fn cmyk_to_rgb(mut px: Vec<u8>) -> Vec<u8> {
    let n = px.len() / 4;
    for i in 0..n {
        let [c, m, y, k] = [px[4 * i], px[4 * i + 1], px[4 * i + 2], px[4 * i + 3]];
        let white = 255 - u16::from(k);
        let channel = |ink: u8| ((255 - u16::from(ink)) * white / 255) as u8;
        px[3 * i] = channel(c);
        px[3 * i + 1] = channel(m);
        px[3 * i + 2] = channel(y);
    }
    px.truncate(3 * n);
    px
}

/// A decoder's refusal: a file that ends early is truncated, anything else corrupt.
fn refusal(e: jpeg_decoder::Error) -> PhotoError {
    match &e {
        jpeg_decoder::Error::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated(e.to_string())
        }
        _ => PhotoError::Corrupt(e.to_string()),
    }
}
