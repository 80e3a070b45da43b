//! Rendering of the roadside codes: the QR code (ISO/IEC 18004, level M) and the Code 128
//! barcode, as PNG and SVG, each with the quiet zone real scanners need. Pure: bytes in,
//! bytes out.

pub mod barcode;
pub mod cache;
pub mod qr;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the text does not fit a QR code at level M")]
    QrTooLong,
    #[error("a barcode token is 1 to 48 ASCII digits")]
    InvalidBarcodeToken,
    #[error("PNG encoding failed: {0}")]
    Png(String),
}

/// Encodes a greyscale image (0 = black, 255 = white) as PNG.
pub(crate) fn png_from_luma(
    width: u32,
    height: u32,
    pixels: Vec<u8>,
) -> Result<Vec<u8>, RenderError> {
    let img = image::GrayImage::from_raw(width, height, pixels)
        .ok_or_else(|| RenderError::Png("pixel buffer size".into()))?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| RenderError::Png(e.to_string()))?;
    Ok(out.into_inner())
}
