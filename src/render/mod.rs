//! Rendering of the roadside codes: the QR code (ISO/IEC 18004, level M) and the Code 128
//! barcode, as PNG and SVG, each with the quiet zone real scanners need; and the e-licence's
//! two pages as card images (`card`). Pure: bytes in, bytes out.

pub mod barcode;
pub mod cache;
mod canvas;
pub mod card;
pub mod qr;
pub mod text;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the text does not fit a QR code at level M")]
    QrTooLong,
    #[error("a barcode token is 1 to 48 ASCII digits")]
    InvalidBarcodeToken,
    #[error("PNG encoding failed: {0}")]
    Png(String),
    #[error("the bundled font could not be read")]
    Font,
}

/// Appends one rectangle per horizontal run of dark modules in `row` to an SVG path: the row
/// starts `x_offset` modules in, at height `y`, and is `height` modules tall.
pub(crate) fn push_dark_runs(
    path: &mut String,
    row: &[bool],
    x_offset: usize,
    y: usize,
    height: usize,
) {
    use std::fmt::Write;
    let mut x = 0;
    while x < row.len() {
        if row[x] {
            let start = x;
            while x < row.len() && row[x] {
                x += 1;
            }
            let len = x - start;
            let _ = write!(path, "M{} {y}h{len}v{height}h-{len}z", start + x_offset);
        } else {
            x += 1;
        }
    }
}

/// A standalone black-on-white SVG of `path`, in module units.
pub(crate) fn svg_document(width: usize, height: usize, path: &str) -> String {
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" shape-rendering="crispEdges"><rect width="{width}" height="{height}" fill="#fff"/><path fill="#000" d="{path}"/></svg>"##
    )
}

/// Encodes a greyscale image (0 = black, 255 = white) as PNG.
pub(crate) fn png_from_luma(
    width: u32,
    height: u32,
    pixels: Vec<u8>,
) -> Result<Vec<u8>, RenderError> {
    if pixels.len() as u64 != u64::from(width) * u64::from(height) {
        return Err(RenderError::Png("pixel buffer size".into()));
    }
    encode_png(width, height, &pixels, image::ExtendedColorType::L8)
}

/// Encodes an RGB image as PNG.
pub(crate) fn png_from_rgb(img: &image::RgbImage) -> Result<Vec<u8>, RenderError> {
    encode_png(
        img.width(),
        img.height(),
        img.as_raw(),
        image::ExtendedColorType::Rgb8,
    )
}

fn encode_png(
    width: u32,
    height: u32,
    pixels: &[u8],
    color: image::ExtendedColorType,
) -> Result<Vec<u8>, RenderError> {
    use image::ImageEncoder;
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new(&mut out)
        .write_image(pixels, width, height, color)
        .map_err(|e| RenderError::Png(e.to_string()))?;
    Ok(out)
}
