//! Reading a roadside code from a photo or screenshot of its QR code (PNG or JPEG bytes).
//!
//! The image is decoded under explicit limits, so a hostile file (a tiny PNG that claims to be
//! 100,000 pixels a side) is refused before it can take the terminal's memory.

use image::{ImageError, ImageFormat, ImageReader, Limits};
use rxing::BarcodeFormat;
use std::io::Cursor;

/// Largest width and height accepted.
pub const MAX_SIDE: u32 = 8192;
/// Most memory the image decoder may allocate.
pub const MAX_ALLOC: u64 = 256 << 20;

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("not a PNG or JPEG image")]
    NotAnImage,
    #[error("the image is larger than {MAX_SIDE}×{MAX_SIDE} pixels or {} MiB decoded", MAX_ALLOC >> 20)]
    TooLarge,
    #[error("the image could not be decoded: {0}")]
    Corrupt(String),
    #[error("no {} found in the image", if *.0 == BarcodeFormat::QR_CODE { "QR code" } else { "barcode" })]
    NotFound(BarcodeFormat),
}

fn limits() -> Limits {
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    limits
}

/// The text of the QR code in a PNG or JPEG image.
pub fn decode_qr(bytes: &[u8]) -> Result<String, ScanError> {
    read_symbol(bytes, BarcodeFormat::QR_CODE)
}

/// The text of the first code of `format` in a PNG or JPEG image, read from its luma pixels
/// (the tests read our Code 128 barcodes back this way too).
pub fn read_symbol(bytes: &[u8], format: BarcodeFormat) -> Result<String, ScanError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| ScanError::NotAnImage)?;
    if !matches!(reader.format(), Some(ImageFormat::Png | ImageFormat::Jpeg)) {
        return Err(ScanError::NotAnImage);
    }
    reader.limits(limits());
    let image = reader.decode().map_err(|e| match e {
        ImageError::Limits(_) => ScanError::TooLarge,
        other => ScanError::Corrupt(other.to_string()),
    })?;
    let luma = image.into_luma8();
    let (width, height) = luma.dimensions();
    rxing::helpers::detect_in_luma(luma.into_raw(), width, height, Some(format))
        .map(|found| found.getText().to_owned())
        .map_err(|_| ScanError::NotFound(format))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::qr::QrMatrix;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::GrayImage::from_pixel(width, height, image::Luma([255]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn our_qr_png_reads_back_and_a_jpeg_too() {
        let text = "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        let png = QrMatrix::encode(text).unwrap().png(4).unwrap();
        assert_eq!(decode_qr(&png).unwrap(), text);
        let img = image::load_from_memory(&png).unwrap();
        let mut jpeg = Cursor::new(Vec::new());
        img.write_to(&mut jpeg, ImageFormat::Jpeg).unwrap();
        assert_eq!(decode_qr(jpeg.get_ref()).unwrap(), text);
    }

    #[test]
    fn what_is_not_a_qr_image_says_why() {
        assert!(matches!(decode_qr(b"hello"), Err(ScanError::NotAnImage)));
        assert!(matches!(decode_qr(b""), Err(ScanError::NotAnImage)));
        assert!(matches!(
            decode_qr(&png(50, 50)),
            Err(ScanError::NotFound(BarcodeFormat::QR_CODE))
        ));
        let mut truncated = png(50, 50);
        truncated.truncate(40);
        assert!(matches!(decode_qr(&truncated), Err(ScanError::Corrupt(_))));
    }

    #[test]
    fn an_image_over_the_limits_is_refused_before_it_is_decoded() {
        // One pixel wider than allowed: a few bytes of PNG, refused from its header.
        let huge = png(MAX_SIDE + 1, 1);
        assert!(matches!(decode_qr(&huge), Err(ScanError::TooLarge)));
    }
}
