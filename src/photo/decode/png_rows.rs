//! PNG row by row: png expands each row to 8 bits (palette to RGB, low bit depths to bytes,
//! 16 bits to their high byte, tRNS to alpha), the row is flattened over white, and the pixels
//! of the 22:32 centre crop are averaged into `reduction`-square cells as they arrive. An
//! interlaced file's passes land in the same cells. No full-size buffer ever exists: an
//! 8000×8000 1-bit PNG costs its rows and 688×1000 cells.

use super::super::budget::{Plan, PNG_METADATA_LIMIT};
use super::super::header::{PngImage, ADAM7};
use super::super::PhotoError;
use super::over_white;
use image::RgbImage;
use png::{Adam7Info, BitDepth, InterlaceInfo, Transformations};
use std::io::Cursor;

pub(super) fn decode(bytes: &[u8], image: &PngImage, plan: &Plan) -> Result<RgbImage, PhotoError> {
    let mut decoder = png::Decoder::new_with_limits(
        Cursor::new(bytes),
        png::Limits {
            bytes: PNG_METADATA_LIMIT,
        },
    );
    decoder.set_transformations(Transformations::normalize_to_color8());
    decoder.set_ignore_text_chunk(true);
    decoder.set_ignore_iccp_chunk(true);
    let mut reader = decoder.read_info().map_err(refusal)?;
    let (colour, depth) = reader.output_color_type();
    let width = reader.info().width;
    if depth != BitDepth::Eight || reader.info().interlaced != image.interlaced {
        return Err(PhotoError::Corrupt(format!(
            "the PNG decoder gave {colour:?} at {depth:?}"
        )));
    }
    let channels = colour.samples();
    let mut cells = Cells::new(plan);
    let mut rows = RowPositions::new(width, reader.info().height, image.interlaced);
    while let Some(row) = reader.next_interlaced_row().map_err(refusal)? {
        let position = rows.next().filter(|p| p.matches(row.interlace()));
        let Some(position) = position else {
            return Err(PhotoError::Corrupt(
                "the PNG's rows are out of order".into(),
            ));
        };
        let data = row.data();
        if data.len() != position.samples as usize * channels {
            return Err(PhotoError::Corrupt("a PNG row of the wrong length".into()));
        }
        cells.add_row(&position, data, channels);
    }
    if rows.next().is_some() {
        return Err(PhotoError::Truncated(
            "the PNG ends before its last row".into(),
        ));
    }
    Ok(cells.into_image())
}

/// Where a decoded row's samples lie in the image.
struct RowPosition {
    y: u32,
    /// The first sample's column, and the columns between samples.
    x0: u32,
    step: u32,
    samples: u32,
    /// Adam7 pass and line, to check against the decoder's.
    adam7: Option<(u8, u32)>,
    width: u32,
}

impl RowPosition {
    fn matches(&self, info: &InterlaceInfo) -> bool {
        match (info, self.adam7) {
            (InterlaceInfo::Null(_), None) => true,
            (InterlaceInfo::Adam7(info), Some((pass, line))) => {
                *info == Adam7Info::new(pass, line, self.width)
            }
            _ => false,
        }
    }
}

/// The rows png yields, in its order: top to bottom, or pass by pass (empty passes skipped).
struct RowPositions {
    width: u32,
    height: u32,
    interlaced: bool,
    pass: usize,
    line: u32,
}

impl RowPositions {
    fn new(width: u32, height: u32, interlaced: bool) -> Self {
        RowPositions {
            width,
            height,
            interlaced,
            pass: 0,
            line: 0,
        }
    }
}

impl Iterator for RowPositions {
    type Item = RowPosition;

    fn next(&mut self) -> Option<RowPosition> {
        if !self.interlaced {
            let y = self.line;
            self.line += 1;
            return (y < self.height).then_some(RowPosition {
                y,
                x0: 0,
                step: 1,
                samples: self.width,
                adam7: None,
                width: self.width,
            });
        }
        while let Some(&(x_step, x0, y_step, y0)) = ADAM7.get(self.pass) {
            let samples = self.width.saturating_sub(x0).div_ceil(x_step);
            let lines = self.height.saturating_sub(y0).div_ceil(y_step);
            if self.line < lines && samples > 0 {
                let line = self.line;
                self.line += 1;
                return Some(RowPosition {
                    y: y0 + line * y_step,
                    x0,
                    step: x_step,
                    samples,
                    adam7: Some((self.pass as u8 + 1, line)),
                    width: self.width,
                });
            }
            self.pass += 1;
            self.line = 0;
        }
        None
    }
}

/// The crop's pixels summed into cells of `reduction`×`reduction`; with no reduction, the
/// RGB image itself.
struct Cells {
    region: (u32, u32, u32, u32),
    reduction: u32,
    size: (u32, u32),
    sums: Vec<u32>,
    rgb: Vec<u8>,
}

impl Cells {
    fn new(plan: &Plan) -> Self {
        let (w, h) = plan.decoded;
        let n = w as usize * h as usize * 3;
        let (sums, rgb) = if plan.reduction == 1 {
            (Vec::new(), vec![255; n])
        } else {
            (vec![0; n], Vec::new())
        };
        Cells {
            region: plan.region,
            reduction: plan.reduction,
            size: (w, h),
            sums,
            rgb,
        }
    }

    fn add_row(&mut self, row: &RowPosition, data: &[u8], channels: usize) {
        let (left, top, w, h) = self.region;
        if row.y < top || row.y >= top + h {
            return;
        }
        let cell_row = ((row.y - top) / self.reduction) as usize * self.size.0 as usize;
        // The samples whose columns fall inside the crop.
        let first = left.saturating_sub(row.x0).div_ceil(row.step);
        let end = (left + w)
            .saturating_sub(row.x0)
            .div_ceil(row.step)
            .min(row.samples);
        for i in first..end {
            let x = row.x0 + i * row.step - left;
            let px = &data[i as usize * channels..(i as usize + 1) * channels];
            let rgb = match *px {
                [l] => [l; 3],
                [l, a] => [over_white(l, a); 3],
                [r, g, b] => [r, g, b],
                [r, g, b, a] => [over_white(r, a), over_white(g, a), over_white(b, a)],
                _ => unreachable!("png gives 1 to 4 samples a pixel"),
            };
            let at = (cell_row + (x / self.reduction) as usize) * 3;
            if self.reduction == 1 {
                self.rgb[at..at + 3].copy_from_slice(&rgb);
            } else {
                for (sum, c) in self.sums[at..at + 3].iter_mut().zip(rgb) {
                    *sum += u32::from(c);
                }
            }
        }
    }

    /// Each cell's mean (edge cells hold fewer pixels).
    fn into_image(self) -> RgbImage {
        let (w, h) = self.size;
        if self.reduction == 1 {
            return RgbImage::from_raw(w, h, self.rgb).expect("the buffer is w×h×3");
        }
        let (d, (_, _, crop_w, crop_h)) = (self.reduction, self.region);
        let span = |i: u32, len: u32| (len - i * d).min(d);
        let mut rgb = Vec::with_capacity(self.sums.len());
        for y in 0..h {
            for x in 0..w {
                let count = span(x, crop_w) * span(y, crop_h);
                let at = (y as usize * w as usize + x as usize) * 3;
                rgb.extend(
                    self.sums[at..at + 3]
                        .iter()
                        .map(|s| ((s + count / 2) / count) as u8),
                );
            }
        }
        RgbImage::from_raw(w, h, rgb).expect("the buffer is w×h×3")
    }
}

/// A decoder's refusal: a file that ends early is truncated, a limit passed is too much
/// metadata, anything else corrupt.
fn refusal(e: png::DecodingError) -> PhotoError {
    match &e {
        png::DecodingError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            PhotoError::Truncated(e.to_string())
        }
        _ => PhotoError::Corrupt(e.to_string()),
    }
}
