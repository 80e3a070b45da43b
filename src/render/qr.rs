use super::{png_from_luma, push_dark_runs, svg_document, RenderError};
use crate::signing::base45;
use qrcode::bits::{encode_auto, Bits};
use qrcode::{Color, EcLevel, QrCode, Version};

/// The QR standard asks for a quiet zone of four modules on every side.
pub const QUIET_MODULES: usize = 4;

pub struct QrMatrix {
    version: i16,
    width: usize,
    dark: Vec<bool>,
}

impl QrMatrix {
    /// Encodes at error-correction level M in the smallest version that holds `text`. Text
    /// entirely in the alphanumeric set (a minimal code: prefix and Base45) is one
    /// alphanumeric segment, 5.5 bits a character.
    pub fn encode(text: &str) -> Result<QrMatrix, RenderError> {
        let data = text.as_bytes();
        let bits = if base45::is_qr_alphanumeric(text) {
            (1..=40)
                .find_map(|v| alphanumeric_mode(data, v))
                .ok_or(RenderError::QrTooLong)?
        } else {
            let auto = encode_auto(data, EcLevel::M).map_err(|_| RenderError::QrTooLong)?;
            // The crate's segmenter pays for mode switches around stray digit runs, so
            // base64url text can land one version above what plain byte mode needs: try that
            // version too.
            match auto.version() {
                Version::Normal(v) if v > 1 => byte_mode(data, v - 1).unwrap_or(auto),
                _ => auto,
            }
        };
        let code = QrCode::with_bits(bits, EcLevel::M).map_err(|_| RenderError::QrTooLong)?;
        let version = match code.version() {
            Version::Normal(v) | Version::Micro(v) => v,
        };
        let dark = code
            .to_colors()
            .into_iter()
            .map(|c| c == Color::Dark)
            .collect();
        Ok(QrMatrix {
            version,
            width: code.width(),
            dark,
        })
    }

    pub fn version(&self) -> i16 {
        self.version
    }

    /// Modules per side, without the quiet zone.
    pub fn width(&self) -> usize {
        self.width
    }

    /// The dark modules as (x, y), without the quiet zone.
    pub fn dark_modules(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.dark
            .iter()
            .enumerate()
            .filter(|(_, dark)| **dark)
            .map(|(i, _)| (i % self.width, i / self.width))
    }

    /// Black on white, `module_px` pixels a module, quiet zone included.
    pub fn png(&self, module_px: u32) -> Result<Vec<u8>, RenderError> {
        let module_px = module_px.clamp(1, 32) as usize;
        let side = (self.width + 2 * QUIET_MODULES) * module_px;
        let mut pixels = vec![255u8; side * side];
        for (x, y) in self.dark_modules() {
            for py in 0..module_px {
                let row = (y + QUIET_MODULES) * module_px + py;
                let start = row * side + (x + QUIET_MODULES) * module_px;
                pixels[start..start + module_px].fill(0);
            }
        }
        png_from_luma(side as u32, side as u32, pixels)
    }

    /// A standalone SVG in module units: one path, horizontal runs merged.
    pub fn svg(&self) -> String {
        let side = self.width + 2 * QUIET_MODULES;
        let mut path = String::new();
        for (y, row) in self.dark.chunks(self.width).enumerate() {
            push_dark_runs(&mut path, row, QUIET_MODULES, y + QUIET_MODULES, 1);
        }
        svg_document(side, side, &path)
    }
}

/// `data` as one alphanumeric segment in `version` at level M, if it fits.
fn alphanumeric_mode(data: &[u8], version: i16) -> Option<Bits> {
    let mut bits = Bits::new(Version::Normal(version));
    bits.push_alphanumeric_data(data).ok()?;
    bits.push_terminator(EcLevel::M).ok()?;
    Some(bits)
}

/// `data` as one byte-mode segment in `version` at level M, if it fits.
fn byte_mode(data: &[u8], version: i16) -> Option<Bits> {
    let mut bits = Bits::new(Version::Normal(version));
    bits.push_byte_data(data).ok()?;
    bits.push_terminator(EcLevel::M).ok()?;
    Some(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_grow_with_the_text() {
        assert_eq!(QrMatrix::encode("a").unwrap().version(), 1);
        // Byte-mode capacities at level M: version 15 holds 412, 17 holds 504, 18 holds 560.
        assert_eq!(QrMatrix::encode(&"a".repeat(412)).unwrap().version(), 15);
        assert_eq!(QrMatrix::encode(&"a".repeat(413)).unwrap().version(), 16);
        assert_eq!(QrMatrix::encode(&"a".repeat(534)).unwrap().version(), 18);
        assert_eq!(
            QrMatrix::encode(&"a".repeat(5000)).err(),
            Some(RenderError::QrTooLong)
        );
    }

    #[test]
    fn alphanumeric_text_is_one_alphanumeric_segment() {
        // Alphanumeric capacities at level M: version 9 holds 262, 10 holds 311. A text of
        // digits and letters would need version 13 in byte mode (311 bytes).
        let text = |n: usize| "EL1:0A%".repeat(50)[..n].to_owned();
        assert_eq!(QrMatrix::encode(&text(262)).unwrap().version(), 9);
        assert_eq!(QrMatrix::encode(&text(263)).unwrap().version(), 10);
        assert_eq!(QrMatrix::encode(&text(311)).unwrap().version(), 10);
        assert_eq!(QrMatrix::encode(&text(312)).unwrap().version(), 11);
        assert_eq!(
            QrMatrix::encode(&"A".repeat(5000)).err(),
            Some(RenderError::QrTooLong)
        );
    }

    #[test]
    fn png_has_the_quiet_zone_and_the_right_size() {
        let qr = QrMatrix::encode("hello").unwrap();
        let png = qr.png(4).unwrap();
        let img = image::load_from_memory(&png).unwrap().to_luma8();
        let side = (qr.width() + 8) as u32 * 4;
        assert_eq!(img.dimensions(), (side, side));
        for i in 0..side {
            for q in 0..16 {
                for (x, y) in [(i, q), (q, i), (i, side - 1 - q), (side - 1 - q, i)] {
                    assert_eq!(img.get_pixel(x, y).0[0], 255, "quiet zone at {x},{y}");
                }
            }
        }
        // The finder pattern's corner module is dark.
        assert_eq!(img.get_pixel(16, 16).0[0], 0);
    }

    #[test]
    fn svg_is_standalone_with_a_viewbox() {
        let svg = QrMatrix::encode("hello").unwrap().svg();
        assert!(
            svg.starts_with("<svg")
                && svg.contains("viewBox=\"0 0 29 29\"")
                && svg.ends_with("</svg>")
        );
    }
}
