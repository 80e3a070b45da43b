//! The hostile decode corpus, made in code (no fixture files, no Python at test time): real,
//! complete JPEGs and PNGs whose pixels are flat so that they are small to make and to ship,
//! while their headers ask for what a hostile upload asks for. The decoders allocate from the
//! headers, not from the content, so a flat 6500×6500 progressive CMYK JPEG costs what the
//! issue's 969 KB photo cost. Used by the photo tests, `tests/photo_memory.rs` and
//! `scripts/hostile-memory.sh`.

use super::header::ADAM7;
use std::io::Write;

/// A JPEG of one flat colour, written by hand: any size, sampling, colour transform, baseline
/// or progressive with any number of scans.
#[derive(Debug, Clone)]
pub struct FlatJpeg {
    pub width: u16,
    pub height: u16,
    /// (horizontal, vertical) sampling factor of each component: 1, 3 or 4 of them.
    pub sampling: Vec<(u8, u8)>,
    /// Each component's sample value (for CMYK as stored: Adobe's inverted ink).
    pub levels: Vec<u8>,
    /// Adobe APP14 colour transform: 0 (RGB or CMYK), 1 (YCbCr), 2 (YCCK).
    pub adobe: Option<u8>,
    pub progressive: bool,
    /// Progressive: scans in all (one DC scan, then AC bands spread over the components).
    pub scans: u32,
    /// Progressive: a component whose AC scans are left out, so it is never finished.
    pub unfinished: Option<usize>,
}

impl FlatJpeg {
    /// Baseline YCbCr 4:2:0, mid grey: what a camera writes, without the detail.
    pub fn baseline(width: u16, height: u16) -> FlatJpeg {
        FlatJpeg {
            width,
            height,
            sampling: vec![(2, 2), (1, 1), (1, 1)],
            levels: vec![128, 128, 128],
            adobe: None,
            progressive: false,
            scans: 1,
            unfinished: None,
        }
    }

    pub fn progressive(width: u16, height: u16, scans: u32) -> FlatJpeg {
        FlatJpeg {
            progressive: true,
            scans,
            ..FlatJpeg::baseline(width, height)
        }
    }

    /// Four components at full resolution with Adobe's marker (transform 0: CMYK).
    pub fn cmyk(width: u16, height: u16, progressive: bool) -> FlatJpeg {
        FlatJpeg {
            sampling: vec![(1, 1); 4],
            levels: vec![255, 128, 255, 255],
            adobe: Some(0),
            progressive,
            scans: if progressive { 10 } else { 1 },
            ..FlatJpeg::baseline(width, height)
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        if let Some(transform) = self.adobe {
            let mut app14 = b"Adobe\x00\x64\x00\x00\x00\x00".to_vec();
            app14.push(transform);
            segment(&mut out, 0xEE, &app14);
        }
        let mut dqt = vec![0u8];
        dqt.extend([1u8; 64]);
        segment(&mut out, 0xDB, &dqt);
        let mut sof = vec![8];
        sof.extend(self.height.to_be_bytes());
        sof.extend(self.width.to_be_bytes());
        sof.push(self.sampling.len() as u8);
        for (i, (h, v)) in self.sampling.iter().enumerate() {
            sof.extend([i as u8 + 1, h << 4 | v, 0]);
        }
        segment(&mut out, if self.progressive { 0xC2 } else { 0xC0 }, &sof);

        // DC: category 0 is "0"; each other category used is a 4-bit code "1xxx".
        let dc: Vec<i32> = self
            .levels
            .iter()
            .map(|l| 8 * (i32::from(*l) - 128))
            .collect();
        let mut categories: Vec<u8> = dc.iter().map(|v| category(*v)).filter(|c| *c > 0).collect();
        categories.sort_unstable();
        categories.dedup();
        let mut dht = vec![0x00, 1, 0, 0, categories.len() as u8];
        dht.extend([0; 12]);
        dht.push(0);
        dht.extend(&categories);
        // AC, baseline: only end-of-block, "0". Progressive: EOBRUN symbols r<<4 for r in
        // 0..=14, four bits each, the code of r<<4 being r.
        if self.progressive {
            dht.extend([0x10, 0, 0, 0, 15]);
            dht.extend([0; 12]);
            dht.extend((0..15).map(|r| r << 4));
        } else {
            dht.extend([0x10, 1]);
            dht.extend([0; 15]);
            dht.push(0x00);
        }
        segment(&mut out, 0xC4, &dht);

        let dc_code = |c: u8| {
            (
                8 | categories.iter().position(|x| *x == c).unwrap() as u32,
                4,
            )
        };
        let components: Vec<usize> = (0..self.sampling.len()).collect();
        let scan_header = |out: &mut Vec<u8>, comps: &[usize], band: (u8, u8)| {
            let mut sos = vec![comps.len() as u8];
            for c in comps {
                sos.extend([*c as u8 + 1, 0x00]);
            }
            sos.extend([band.0, band.1, 0]);
            segment(out, 0xDA, &sos);
        };
        // The DC scan (with every AC coefficient, when baseline): every block in MCU order.
        scan_header(
            &mut out,
            &components,
            (0, if self.progressive { 0 } else { 63 }),
        );
        let mut bits = Bits::default();
        let mut first = vec![true; components.len()];
        for _ in 0..self.mcus() {
            for (c, &(h, v)) in self.sampling.iter().enumerate() {
                for _ in 0..h * v {
                    if std::mem::take(&mut first[c]) && dc[c] != 0 {
                        let cat = category(dc[c]);
                        let (code, len) = dc_code(cat);
                        bits.put(code, len);
                        let extra = if dc[c] < 0 { dc[c] - 1 } else { dc[c] };
                        bits.put(extra as u32 & ((1 << cat) - 1), cat);
                    } else {
                        bits.put(0, 1);
                    }
                    if !self.progressive {
                        bits.put(0, 1); // end of block
                    }
                }
            }
        }
        bits.flush_into(&mut out);
        if self.progressive {
            let ac_scans = self.scans.saturating_sub(1) as usize;
            for (c, &(h, v)) in self.sampling.iter().enumerate() {
                if self.unfinished == Some(c) {
                    continue;
                }
                let share =
                    ac_scans / components.len() + usize::from(c < ac_scans % components.len());
                let blocks = self.component_blocks(h, v);
                for band in bands(share.clamp(1, 63)) {
                    scan_header(&mut out, &[c], band);
                    let mut bits = Bits::default();
                    let mut left = blocks;
                    while left > 0 {
                        let run = left.min(32767);
                        let r = 31 - run.leading_zeros();
                        bits.put(r, 4);
                        bits.put(run - (1 << r), r as u8);
                        left -= run;
                    }
                    bits.flush_into(&mut out);
                }
            }
        }
        out.extend([0xFF, 0xD9]);
        out
    }

    fn max_sampling(&self) -> (u32, u32) {
        let h = self.sampling.iter().map(|s| s.0).max().unwrap_or(1);
        let v = self.sampling.iter().map(|s| s.1).max().unwrap_or(1);
        (u32::from(h), u32::from(v))
    }

    fn mcus(&self) -> u32 {
        let (h, v) = self.max_sampling();
        if self.sampling.len() == 1 {
            // One component is never interleaved: its blocks are its own.
            return self.component_blocks(self.sampling[0].0, self.sampling[0].1);
        }
        u32::from(self.width).div_ceil(8 * h) * u32::from(self.height).div_ceil(8 * v)
    }

    /// Blocks of a component in a scan of its own (no MCU padding).
    fn component_blocks(&self, h: u8, v: u8) -> u32 {
        let (h_max, v_max) = self.max_sampling();
        let w = (u32::from(self.width) * u32::from(h)).div_ceil(h_max);
        let ht = (u32::from(self.height) * u32::from(v)).div_ceil(v_max);
        w.div_ceil(8) * ht.div_ceil(8)
    }
}

/// The JPEG size category of a DC difference.
fn category(v: i32) -> u8 {
    (32 - v.unsigned_abs().leading_zeros()) as u8
}

/// Coefficients 1–63 cut into `n` spectral bands.
fn bands(n: usize) -> Vec<(u8, u8)> {
    let n = n.clamp(1, 63);
    (0..n)
        .map(|i| ((1 + 63 * i / n) as u8, (63 * (i + 1) / n) as u8))
        .collect()
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend([0xFF, marker]);
    out.extend((body.len() as u16 + 2).to_be_bytes());
    out.extend(body);
}

/// Entropy-coded bits, most significant first, with 0xFF bytes stuffed.
#[derive(Default)]
struct Bits {
    bytes: Vec<u8>,
    acc: u32,
    n: u8,
}

impl Bits {
    fn put(&mut self, value: u32, len: u8) {
        for i in (0..len).rev() {
            self.acc = self.acc << 1 | (value >> i & 1);
            self.n += 1;
            if self.n == 8 {
                self.push(self.acc as u8);
                (self.acc, self.n) = (0, 0);
            }
        }
    }

    fn push(&mut self, byte: u8) {
        self.bytes.push(byte);
        if byte == 0xFF {
            self.bytes.push(0x00);
        }
    }

    /// Pads the last byte with ones, as the standard asks.
    fn flush_into(mut self, out: &mut Vec<u8>) {
        if self.n > 0 {
            let byte = (self.acc << (8 - self.n) | (0xFF >> self.n)) as u8;
            self.push(byte);
        }
        out.extend(self.bytes);
    }
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend((data.len() as u32).to_be_bytes());
    out.extend(kind);
    out.extend(data);
    let mut crc = flate2::Crc::new();
    crc.update(kind);
    crc.update(data);
    out.extend(crc.sum().to_be_bytes());
}

/// A PNG that is all header: a valid IHDR (with its CRC) declaring any size, then a token
/// IDAT and IEND. A few dozen bytes that claim gigabytes.
pub fn png_header_only(width: u32, height: u32, bit_depth: u8, colour_type: u8) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1A\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([bit_depth, colour_type, 0, 0, 0]); // deflate, adaptive filters, no interlace
    png_chunk(&mut out, b"IHDR", &ihdr);
    png_chunk(
        &mut out,
        b"IDAT",
        &[0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01],
    );
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// A complete PNG of one flat value (every stored byte `fill`), interlaced or not, with a
/// palette of `palette` (RGB triples) for colour type 3. Rows are compressed as they are made:
/// an 8000×8000 16-bit RGBA file never exists unpacked.
pub fn flat_png(
    width: u32,
    height: u32,
    bit_depth: u8,
    colour_type: u8,
    interlaced: bool,
    palette: &[u8],
    fill: u8,
) -> Vec<u8> {
    let channels: u64 = match colour_type {
        2 => 3,
        4 => 2,
        6 => 4,
        _ => 1,
    };
    let ihdr = (width, height, bit_depth, colour_type, interlaced);
    png_file(ihdr, palette, |row, at| {
        let len = (u64::from(at.samples) * channels * u64::from(bit_depth)).div_ceil(8);
        row.resize(1 + len as usize, fill); // after the filter byte
    })
}

/// `img` as an 8-bit RGB PNG, Adam7-interlaced (png's encoder writes no interlaced files).
pub fn interlaced_png(img: &image::RgbImage) -> Vec<u8> {
    let ihdr = (img.width(), img.height(), 8, 2, true);
    png_file(ihdr, &[], |row, at| {
        for i in 0..at.samples {
            row.extend(img.get_pixel(at.x0 + i * at.step, at.y).0);
        }
    })
}

/// Where a stored row's samples lie: its line, first column, column step and sample count.
struct RowAt {
    y: u32,
    x0: u32,
    step: u32,
    samples: u32,
}

/// A PNG whose rows (unfiltered, each pass of an interlaced file in turn) `row` writes.
fn png_file(
    (width, height, bit_depth, colour_type, interlaced): (u32, u32, u8, u8, bool),
    palette: &[u8],
    mut row: impl FnMut(&mut Vec<u8>, RowAt),
) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1A\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([bit_depth, colour_type, 0, 0, u8::from(interlaced)]);
    png_chunk(&mut out, b"IHDR", &ihdr);
    if colour_type == 3 {
        png_chunk(&mut out, b"PLTE", palette);
    }
    let passes: &[(u32, u32, u32, u32)] = if interlaced { &ADAM7 } else { &[(1, 0, 1, 0)] };
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut line = Vec::new();
    for &(x_step, x0, y_step, y0) in passes {
        let samples = width.saturating_sub(x0).div_ceil(x_step);
        if samples == 0 {
            continue;
        }
        for y in (y0..height).step_by(y_step as usize) {
            line.clear();
            line.push(0); // no filter
            let at = RowAt {
                y,
                x0,
                step: x_step,
                samples,
            };
            row(&mut line, at);
            z.write_all(&line).expect("writing to memory");
        }
    }
    let data = z.finish().expect("writing to memory");
    for part in data.chunks(1 << 20) {
        png_chunk(&mut out, b"IDAT", part);
    }
    png_chunk(&mut out, b"IEND", &[]);
    out
}

/// The 16 KB PNG: `width`×`height` 1-bit black.
pub fn bilevel_png(width: u32, height: u32) -> Vec<u8> {
    flat_png(width, height, 1, 0, false, &[], 0)
}

/// A JPEG whose frame header declares `width`×`height` (up to 65535) over a 16×16 image's
/// scan: refused from its header, never decodable.
pub fn jpeg_declaring(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = FlatJpeg::baseline(16, 16).encode();
    let sof = bytes
        .windows(2)
        .position(|w| w == [0xFF, 0xC0])
        .expect("a baseline frame header");
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

/// The hostile decode corpus: each file with its name. The first two are the issue's.
pub fn hostile() -> Vec<(&'static str, Vec<u8>)> {
    let mut unfinished = FlatJpeg::progressive(2000, 2000, 12);
    unfinished.sampling = vec![(1, 1); 3];
    unfinished.unfinished = Some(0);
    let mut progressive_444 = FlatJpeg::progressive(3024, 4032, 10);
    progressive_444.sampling = vec![(1, 1); 3];
    let mut ycck = FlatJpeg::cmyk(2000, 2000, false);
    ycck.adobe = Some(2);
    let mut grey = FlatJpeg::baseline(8000, 8000);
    (grey.sampling, grey.levels) = (vec![(1, 1)], vec![200]);
    vec![
        (
            "progressive CMYK 6500x6500 JPEG",
            FlatJpeg::cmyk(6500, 6500, true).encode(),
        ),
        ("1-bit 8000x8000 PNG", bilevel_png(8000, 8000)),
        (
            "99-scan progressive 4000x4000 JPEG",
            FlatJpeg::progressive(4000, 4000, 99).encode(),
        ),
        ("progressive 4:4:4 12 MP JPEG", progressive_444.encode()),
        (
            "progressive JPEG, one component never finished",
            unfinished.encode(),
        ),
        (
            "progressive CMYK 2000x2000 JPEG",
            FlatJpeg::cmyk(2000, 2000, true).encode(),
        ),
        ("YCCK 2000x2000 JPEG", ycck.encode()),
        (
            "baseline 4:2:0 8000x8000 JPEG",
            FlatJpeg::baseline(8000, 8000).encode(),
        ),
        ("greyscale 8000x8000 JPEG", grey.encode()),
        (
            "16-bit RGBA 8000x8000 PNG",
            flat_png(8000, 8000, 16, 6, false, &[], 0x80),
        ),
        (
            "16-bit grey interlaced 8000x8000 PNG",
            flat_png(8000, 8000, 16, 0, true, &[], 0x80),
        ),
        (
            "16-bit RGB interlaced 4000x6000 PNG",
            flat_png(4000, 6000, 16, 2, true, &[], 0x80),
        ),
        (
            "palette interlaced 8000x8000 PNG",
            flat_png(8000, 8000, 8, 3, true, &[200, 30, 30], 0),
        ),
        (
            "palette 2-bit 7999x7999 PNG",
            flat_png(7999, 7999, 2, 3, false, &[1, 2, 3, 4, 5, 6], 0x55),
        ),
        (
            "PNG header declaring 65535x65535",
            png_header_only(65_535, 65_535, 16, 6),
        ),
        (
            "JPEG header declaring 65535x65535",
            jpeg_declaring(65_535, 65_535),
        ),
    ]
}
