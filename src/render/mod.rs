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
    let img = image::GrayImage::from_raw(width, height, pixels)
        .ok_or_else(|| RenderError::Png("pixel buffer size".into()))?;
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .map_err(|e| RenderError::Png(e.to_string()))?;
    Ok(out.into_inner())
}
