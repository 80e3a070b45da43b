//! What a decode will allocate, computed from the headers before any pixel is decoded, for
//! the decoders this module drives (jpeg-decoder with its rayon worker, png row by row), and
//! the refusals that follow: the declared size, the megapixel caps for progressive and CMYK
//! JPEGs, and the memory budget.
//!
//! The estimate is the most the heap holds at once, phase by phase: the decoder's buffers,
//! then the conversion to RGB, then orientation and the fit to 330×480. Each term names the
//! buffer it stands for. `tests/photo_memory.rs` measures the real peak of every file of the
//! hostile corpus with a counting allocator and asserts that it never exceeds the estimate.

use super::header::{transposes, Header, JpegFrame, Layout, PngImage};
use super::{centre_crop, IntakeLimits, PhotoError, PixelCap, NORMALISED_HEIGHT, NORMALISED_WIDTH};

/// How a decode will run and what it will cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Plan {
    /// Each decoded pixel stands for `reduction`×`reduction` stored ones: JPEG by scaled IDCT
    /// (1, 2, 4 or 8), PNG by averaging rows as they arrive (any whole number).
    pub reduction: u32,
    /// The part of the stored image that is decoded (x, y, width, height), before the
    /// orientation: a JPEG's whole frame, a PNG's 22:32 centre crop.
    pub region: (u32, u32, u32, u32),
    /// The decoded image, stored way round: the region reduced.
    pub decoded: (u32, u32),
    /// The most the heap is expected to hold at once while the photo is decoded and fitted.
    pub estimated_bytes: u64,
}

/// Small buffers no term names: Huffman and quantisation tables, the upsampler's line
/// buffers on each rayon thread, error strings, the JPEG encoder's block buffers.
const SLACK: u64 = 1 << 20;
/// What png may allocate besides rows (`png::Limits`): the output line it reserves, and eXIf.
/// Text and ICC chunks are skipped, not stored.
pub const PNG_METADATA_LIMIT: usize = 1 << 20;
/// png's inflate state: the 32 KiB look-back window, fdeflate's tables, and the unfiltering
/// buffer's floor of 128 KiB (it grows to 4 rows past that before shifting back).
const PNG_INFLATE: u64 = 512 << 10;

/// Refuses what costs too much, in the order a client can act on: the declared size, the
/// caps on progressive and CMYK JPEGs, then the estimated memory against the budget.
pub fn check(header: &Header, file_len: usize, limits: &IntakeLimits) -> Result<Plan, PhotoError> {
    let (width, height) = (header.width, header.height);
    if width > limits.max_width || height > limits.max_height {
        return Err(PhotoError::TooLargeDimensions {
            width,
            height,
            max_width: limits.max_width,
            max_height: limits.max_height,
        });
    }
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt(format!("{width}×{height} pixels")));
    }
    let pixels = u64::from(width) * u64::from(height);
    if let Layout::Jpeg(frame) = &header.layout {
        let caps = [
            (
                frame.components.len() == 4,
                PixelCap::Cmyk,
                limits.max_cmyk_pixels,
            ),
            (
                frame.progressive,
                PixelCap::Progressive,
                limits.max_progressive_pixels,
            ),
        ];
        for (applies, kind, max_pixels) in caps {
            if applies && pixels > max_pixels {
                return Err(PhotoError::TooManyPixels {
                    kind,
                    width,
                    height,
                    max_pixels,
                });
            }
        }
    }
    let plan = plan(header, file_len);
    if plan.estimated_bytes > limits.memory_budget {
        return Err(PhotoError::TooMuchMemory {
            width,
            height,
            components: header.components(),
            bit_depth: header.bit_depth(),
            estimated_bytes: plan.estimated_bytes,
            budget_bytes: limits.memory_budget,
        });
    }
    Ok(plan)
}

/// The reduction, the decoded size and the estimate for an upload with these headers.
pub fn plan(header: &Header, file_len: usize) -> Plan {
    let transposed = transposes(header.orientation);
    let (shown_w, shown_h) = header.shown();
    let (_, _, crop_w, crop_h) = centre_crop(shown_w, shown_h);
    // The fit averages the 22:32 crop down to twice 330×480 before its last Lanczos step:
    // decoding at less than that would change the result, decoding at more is waste.
    let most = (crop_w / (2 * NORMALISED_WIDTH))
        .min(crop_h / (2 * NORMALISED_HEIGHT))
        .max(1);
    let (reduction, region, decoding) = match &header.layout {
        Layout::Jpeg(frame) => {
            let reduction = [8, 4, 2, 1].into_iter().find(|d| *d <= most).unwrap_or(1);
            let region = (0, 0, header.width, header.height);
            (
                reduction,
                region,
                jpeg_decoding(header, frame, reduction, file_len),
            )
        }
        Layout::Png(image) => {
            let (w, h) = if transposed {
                (crop_h, crop_w)
            } else {
                (crop_w, crop_h)
            };
            let region = ((header.width - w) / 2, (header.height - h) / 2, w, h);
            (most, region, png_decoding(header, image, most, (w, h)))
        }
    };
    let decoded = (region.2.div_ceil(reduction), region.3.div_ceil(reduction));
    let estimated_bytes = decoding.max(after_decoding(decoded, transposed)) + SLACK;
    Plan {
        reduction,
        region,
        decoded,
        estimated_bytes,
    }
}

/// jpeg-decoder at IDCT scale 8/`reduction`: the most its buffers hold at once, then the
/// conversion of its output to RGB.
fn jpeg_decoding(header: &Header, frame: &JpegFrame, reduction: u32, file_len: usize) -> u64 {
    let scale = u64::from(8 / reduction);
    let h_max = frame
        .components
        .iter()
        .map(|c| c.horizontal)
        .max()
        .unwrap_or(1);
    let v_max = frame
        .components
        .iter()
        .map(|c| c.vertical)
        .max()
        .unwrap_or(1);
    let mcus_across = u64::from(header.width.div_ceil(8 * u32::from(h_max)));
    let mcus_down = u64::from(header.height.div_ceil(8 * u32::from(v_max)));
    let (mut coefficients, mut unfinished, mut rows, mut planes) = (0, 0, 0, 0);
    for c in &frame.components {
        let across = mcus_across * u64::from(c.horizontal);
        let blocks = across * mcus_down * u64::from(c.vertical);
        // A progressive frame keeps every block's 64 coefficients (i16) until the last scan.
        if frame.progressive {
            coefficients += blocks * 128;
            if !c.finished {
                // Rendered at the end from a copy of all its rows, handed to rayon at once.
                unfinished = unfinished.max(blocks * 128);
            }
        }
        // One MCU row of coefficients being read, and the one being transformed.
        rows += 2 * across * u64::from(c.vertical) * 128;
        // The component's samples after the IDCT, over the padded MCU area, scaled.
        planes += blocks * scale * scale;
    }
    let (out_w, out_h) = (
        u64::from(header.width).div_ceil(u64::from(reduction)),
        u64::from(header.height).div_ceil(u64::from(reduction)),
    );
    let components = frame.components.len() as u64;
    let output = out_w * out_h * components;
    // APP segments (EXIF, ICC, XMP, Photoshop) are copied out of the file: at most all of it.
    let metadata = file_len as u64;
    let decoding = metadata + coefficients + rows.max(unfinished) + planes + output;
    // Grey is widened into a new RGB buffer; RGB is taken as it is; CMYK is narrowed in place.
    let converting = match components {
        1 => output + out_w * out_h * 3,
        _ => output,
    };
    decoding.max(converting)
}

/// png row by row over the whole file, averaging the centre crop into `reduction`-square
/// cells: row buffers and inflate state, sums of the cells, then the RGB image made of them.
fn png_decoding(header: &Header, image: &PngImage, reduction: u32, crop: (u32, u32)) -> u64 {
    let raw_row = image.raw_row_bytes(header.width);
    // After expansion to 8 bits: at most four channels (palette or grey with tRNS gains alpha).
    let expanded_row = u64::from(header.width) * 4;
    let rows = 8 * raw_row + 2 * expanded_row + PNG_INFLATE + PNG_METADATA_LIMIT as u64;
    let cells = u64::from(crop.0.div_ceil(reduction)) * u64::from(crop.1.div_ceil(reduction));
    let image_bytes = if reduction == 1 {
        cells * 3 // written as RGB directly
    } else {
        cells * 3 * 4 + cells * 3 // u32 sums, then the RGB image made from them
    };
    rows + image_bytes
}

/// The decoded RGB image (`decoded`, stored way round) turned upright and fitted to 330×480.
fn after_decoding(decoded: (u32, u32), transposed: bool) -> u64 {
    let rgb = u64::from(decoded.0) * u64::from(decoded.1) * 3;
    // Turning by 90° makes a new image; flips and 180° work in place.
    let orienting = if transposed { 2 * rgb } else { rgb };
    let (shown_w, shown_h) = if transposed {
        (decoded.1, decoded.0)
    } else {
        decoded
    };
    let (_, _, crop_w, _) = centre_crop(shown_w, shown_h);
    let (tw, th) = (u64::from(NORMALISED_WIDTH), u64::from(NORMALISED_HEIGHT));
    // `fit`: a box-filtered copy at twice the target when the crop is larger, then Lanczos3,
    // whose vertical pass holds the source's width × 480 as RGBA f32 (16 bytes a pixel).
    let fitting = if u64::from(crop_w) > 2 * tw {
        4 * tw * th * 3 + 2 * tw * th * 16
    } else {
        u64::from(crop_w) * th * 16
    } + tw * th * 3 * 2;
    orienting.max(rgb + fitting)
}
