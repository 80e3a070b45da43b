//! What an upload declares, read from its headers alone, before any decoder runs: the size,
//! the EXIF orientation, and what shapes the decoder's allocations (a JPEG's components,
//! sampling factors, coding process and scans; a PNG's bit depth, colour type and interlace).
//! Nothing here allocates more than a few bytes per scan: the file is walked, not copied.

use super::{PhotoError, SourceFormat};
use image::metadata::Orientation;

/// The headers of an upload.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    /// As stored, before the EXIF orientation turns it.
    pub width: u32,
    pub height: u32,
    pub orientation: Orientation,
    pub layout: Layout,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Layout {
    Jpeg(JpegFrame),
    Png(PngImage),
}

/// A JPEG's frame header (SOF) and what its scan headers (SOS) complete.
#[derive(Debug, Clone, PartialEq)]
pub struct JpegFrame {
    /// SOF2: every coefficient of the image is kept until the last scan.
    pub progressive: bool,
    /// Bits per sample: 8 (12-bit and lossless JPEGs are refused as unsupported).
    pub precision: u8,
    pub components: Vec<JpegComponent>,
    /// Four components: CMYK, or YCCK with Adobe APP14 transform 2.
    pub colour: JpegColour,
    pub scans: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegComponent {
    pub horizontal: u8,
    pub vertical: u8,
    /// Whether scans with a final approximation (Al = 0) deliver all 64 coefficients. A
    /// progressive component that stays unfinished is rendered from a copy of its
    /// coefficients at the end (jpeg-decoder's `decode_planes`).
    pub finished: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JpegColour {
    Grey,
    Colour,
    Cmyk,
    Ycck,
}

/// A PNG's IHDR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PngImage {
    pub bit_depth: u8,
    /// 0 grey, 2 RGB, 3 palette, 4 grey and alpha, 6 RGBA.
    pub colour_type: u8,
    pub interlaced: bool,
}

impl Header {
    /// Components (JPEG) or channels as stored (PNG; a palette index is one).
    pub fn components(&self) -> u8 {
        match &self.layout {
            Layout::Jpeg(f) => f.components.len() as u8,
            Layout::Png(p) => p.channels(),
        }
    }

    pub fn bit_depth(&self) -> u8 {
        match &self.layout {
            Layout::Jpeg(f) => f.precision,
            Layout::Png(p) => p.bit_depth,
        }
    }

    /// The size as shown, after the EXIF orientation.
    pub fn shown(&self) -> (u32, u32) {
        if transposes(self.orientation) {
            (self.height, self.width)
        } else {
            (self.width, self.height)
        }
    }
}

impl PngImage {
    pub fn channels(&self) -> u8 {
        match self.colour_type {
            2 => 3,
            4 => 2,
            6 => 4,
            _ => 1,
        }
    }

    /// Bytes of one stored row, with its filter byte.
    pub fn raw_row_bytes(&self, width: u32) -> u64 {
        (u64::from(width) * u64::from(self.channels()) * u64::from(self.bit_depth)).div_ceil(8) + 1
    }
}

/// Adam7's seven passes: (column step, first column, row step, first row).
pub(super) const ADAM7: [(u32, u32, u32, u32); 7] = [
    (8, 0, 8, 0),
    (8, 4, 8, 0),
    (4, 0, 8, 4),
    (4, 2, 4, 0),
    (2, 0, 4, 2),
    (2, 1, 2, 0),
    (1, 0, 2, 1),
];

/// Whether the orientation swaps width and height.
pub fn transposes(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

pub fn read(bytes: &[u8], format: SourceFormat) -> Result<Header, PhotoError> {
    match format {
        SourceFormat::Jpeg => read_jpeg(bytes),
        SourceFormat::Png => read_png(bytes),
    }
}

fn truncated(what: &str) -> PhotoError {
    PhotoError::Truncated(what.to_owned())
}

fn corrupt(what: impl Into<String>) -> PhotoError {
    PhotoError::Corrupt(what.into())
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Walks the JPEG's segments by their lengths up to its end-of-image marker, skipping the
/// entropy-coded data after each scan header. A file that ends first is truncated: the
/// decoder would fill the missing part with grey instead of failing, so an upload cut short
/// would come out as half a face.
fn read_jpeg(bytes: &[u8]) -> Result<Header, PhotoError> {
    let mut frame: Option<JpegFrame> = None;
    let (mut ids, mut size) = (Vec::new(), (0, 0));
    let mut coverage = [0u64; 4];
    let (mut orientation, mut adobe) = (Orientation::NoTransforms, None);
    let mut i = 2;
    loop {
        let (Some(&first), Some(&marker)) = (bytes.get(i), bytes.get(i + 1)) else {
            return Err(truncated("the JPEG has no end-of-image marker"));
        };
        if first != 0xFF {
            return Err(corrupt(format!("no JPEG marker at byte {i}")));
        }
        match marker {
            0xFF => {
                i += 1; // fill byte before a marker
                continue;
            }
            0xD9 => break,
            0x01 | 0xD0..=0xD8 => {
                i += 2;
                continue;
            }
            _ => {}
        }
        let len = bytes
            .get(i + 2..i + 4)
            .map(|b| usize::from(be16(b)))
            .ok_or_else(|| truncated("the JPEG ends inside a segment header"))?;
        let segment = bytes
            .get(i + 4..i + 2 + len.max(2))
            .ok_or_else(|| truncated("the JPEG ends inside a segment"))?;
        match marker {
            0xC0..=0xC2 => {
                if frame.is_some() {
                    return Err(corrupt("the JPEG has two frame headers"));
                }
                let (f, declared, component_ids) = read_sof(segment, marker == 0xC2)?;
                (frame, size, ids) = (Some(f), declared, component_ids);
            }
            0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => {
                return Err(corrupt(format!(
                    "lossless, hierarchical and arithmetic-coded JPEGs (SOF{}) are not supported",
                    marker - 0xC0
                )));
            }
            0xE1 if segment.starts_with(b"Exif\0\0") => {
                if let Some(o) = Orientation::from_exif_chunk(&segment[6..]) {
                    orientation = o;
                }
            }
            0xEE if segment.starts_with(b"Adobe") && segment.len() >= 12 => {
                adobe = Some(segment[11])
            }
            0xDA => {
                let f = frame
                    .as_mut()
                    .ok_or_else(|| corrupt("a JPEG scan before its frame header"))?;
                read_sos(segment, &ids, &mut coverage)?;
                f.scans += 1;
                i = skip_entropy_coded(bytes, i + 2 + len)?;
                continue;
            }
            _ => {}
        }
        i += 2 + len;
    }
    let mut frame = frame.ok_or_else(|| corrupt("the JPEG has no frame header"))?;
    for (c, covered) in frame.components.iter_mut().zip(coverage) {
        c.finished = covered == !0;
    }
    frame.colour = match (frame.components.len(), adobe) {
        (1, _) => JpegColour::Grey,
        (4, Some(2)) => JpegColour::Ycck,
        (4, _) => JpegColour::Cmyk,
        _ => JpegColour::Colour,
    };
    Ok(Header {
        width: size.0,
        height: size.1,
        orientation,
        layout: Layout::Jpeg(frame),
    })
}

/// The frame, its size and its component identifiers (which the scans refer to).
type Sof = (JpegFrame, (u32, u32), Vec<u8>);

fn read_sof(s: &[u8], progressive: bool) -> Result<Sof, PhotoError> {
    if s.len() < 6 {
        return Err(corrupt("the JPEG frame header is too short"));
    }
    let (precision, height, width, count) = (s[0], be16(&s[1..]), be16(&s[3..]), s[5]);
    if precision != 8 {
        return Err(corrupt(format!("{precision}-bit JPEGs are not supported")));
    }
    if !matches!(count, 1 | 3 | 4) || s.len() < 6 + 3 * usize::from(count) {
        return Err(corrupt(format!("a JPEG with {count} components")));
    }
    let mut components = Vec::with_capacity(usize::from(count));
    let mut ids = Vec::with_capacity(usize::from(count));
    for c in s[6..6 + 3 * usize::from(count)].chunks_exact(3) {
        let (horizontal, vertical) = (c[1] >> 4, c[1] & 0x0F);
        if !(1..=4).contains(&horizontal) || !(1..=4).contains(&vertical) {
            return Err(corrupt("a JPEG sampling factor outside 1–4"));
        }
        ids.push(c[0]);
        components.push(JpegComponent {
            horizontal,
            vertical,
            finished: false,
        });
    }
    let frame = JpegFrame {
        progressive,
        precision,
        components,
        colour: JpegColour::Colour,
        scans: 0,
    };
    Ok((frame, (u32::from(width), u32::from(height)), ids))
}

/// Marks the coefficients a scan completes, the way jpeg-decoder counts them: a scan with
/// Al = 0 completes its spectral band for each of its components.
fn read_sos(s: &[u8], ids: &[u8], coverage: &mut [u64; 4]) -> Result<(), PhotoError> {
    let count = usize::from(*s.first().unwrap_or(&0));
    let Some(tail) = s.get(1 + 2 * count..1 + 2 * count + 3) else {
        return Err(corrupt("the JPEG scan header is too short"));
    };
    let (start, end, approximation_low) = (tail[0], tail[1], tail[2] & 0x0F);
    if start > end || end > 63 {
        return Err(corrupt("a JPEG scan outside coefficients 0–63"));
    }
    if approximation_low != 0 {
        return Ok(());
    }
    let band = (u64::MAX >> (63 - end)) & (u64::MAX << start);
    for c in s[1..1 + 2 * count].chunks_exact(2) {
        let index = ids
            .iter()
            .position(|id| *id == c[0])
            .ok_or_else(|| corrupt("a JPEG scan names an unknown component"))?;
        coverage[index] |= band;
    }
    Ok(())
}

/// The index of the marker that ends the entropy-coded data starting at `from`. In it every
/// 0xFF is followed by 0x00 (a stuffed byte) or a restart marker.
fn skip_entropy_coded(bytes: &[u8], from: usize) -> Result<usize, PhotoError> {
    let data = bytes.get(from..).unwrap_or_default();
    let mut at = 0;
    while let Some(offset) = data[at..].iter().position(|b| *b == 0xFF) {
        let j = at + offset;
        match data.get(j + 1) {
            None => break,
            Some(0x00 | 0xD0..=0xD7 | 0xFF) => at = j + 1,
            Some(_) => return Ok(from + j),
        }
    }
    Err(truncated("the JPEG has no end-of-image marker"))
}

const PNG_SIGNATURE_LEN: usize = 8;

/// IHDR (its CRC checked: a size from a damaged header is not believed), then the chunks
/// before the image data for an eXIf orientation.
fn read_png(bytes: &[u8]) -> Result<Header, PhotoError> {
    let mut chunks = PngChunks {
        bytes,
        at: PNG_SIGNATURE_LEN,
    };
    let (kind, ihdr) = chunks
        .next()
        .ok_or_else(|| truncated("the PNG ends inside its header"))??;
    if kind != *b"IHDR" || ihdr.len() != 13 {
        return Err(corrupt("the PNG does not start with its IHDR header"));
    }
    let (width, height) = (be32(&ihdr[0..]), be32(&ihdr[4..]));
    let image = PngImage {
        bit_depth: ihdr[8],
        colour_type: ihdr[9],
        interlaced: ihdr[12] == 1,
    };
    let valid_depth = match image.colour_type {
        0 => matches!(image.bit_depth, 1 | 2 | 4 | 8 | 16),
        3 => matches!(image.bit_depth, 1 | 2 | 4 | 8),
        2 | 4 | 6 => matches!(image.bit_depth, 8 | 16),
        _ => false,
    };
    if !valid_depth || ihdr[12] > 1 {
        return Err(corrupt(format!(
            "a PNG of colour type {} at {} bits",
            image.colour_type, image.bit_depth
        )));
    }
    let mut orientation = Orientation::NoTransforms;
    for chunk in chunks {
        let (kind, data) = chunk?;
        match &kind {
            b"IDAT" => break,
            b"eXIf" => {
                if let Some(o) = Orientation::from_exif_chunk(data) {
                    orientation = o;
                }
            }
            _ => {}
        }
    }
    Ok(Header {
        width,
        height,
        orientation,
        layout: Layout::Png(image),
    })
}

/// A PNG's chunks, each checked against its CRC.
struct PngChunks<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Iterator for PngChunks<'a> {
    type Item = Result<([u8; 4], &'a [u8]), PhotoError>;

    fn next(&mut self) -> Option<Self::Item> {
        let head = self.bytes.get(self.at..self.at + 8)?;
        let len = be32(head) as usize;
        let kind = [head[4], head[5], head[6], head[7]];
        let Some(body) = self.bytes.get(self.at + 4..self.at + 8 + len) else {
            self.at = self.bytes.len();
            return Some(Err(truncated("the PNG ends inside a chunk")));
        };
        let Some(crc) = self.bytes.get(self.at + 8 + len..self.at + 12 + len) else {
            self.at = self.bytes.len();
            return Some(Err(truncated("the PNG ends inside a chunk")));
        };
        self.at += 12 + len;
        let mut sum = flate2::Crc::new();
        sum.update(body);
        if sum.sum() != be32(crc) {
            self.at = self.bytes.len();
            return Some(Err(corrupt(format!(
                "the PNG's {} chunk fails its CRC",
                String::from_utf8_lossy(&kind)
            ))));
        }
        Some(Ok((kind, &body[4..])))
    }
}
