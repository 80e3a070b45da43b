use super::{png_from_luma, push_dark_runs, svg_document, RenderError};

/// Code 128 wants a quiet zone of at least ten modules on each side.
pub const QUIET_MODULES: usize = 10;

pub struct Code128 {
    modules: Vec<u8>,
}

impl Code128 {
    /// Encodes a numeric token. Set C packs two digits a symbol; an odd last digit is
    /// written in set B, so the scan reads back exactly the digits given.
    pub fn encode(digits: &str) -> Result<Code128, RenderError> {
        if !(1..=48).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(RenderError::InvalidBarcodeToken);
        }
        let even = digits.len() - digits.len() % 2;
        // barcoders: "\u{0106}" starts or switches to set C, "\u{0181}" to set B.
        let mut data = String::with_capacity(digits.len() + 4);
        if even > 0 {
            data.push('\u{0106}');
            data.push_str(&digits[..even]);
        }
        if even < digits.len() {
            data.push('\u{0181}');
            data.push_str(&digits[even..]);
        }
        let code = barcoders::sym::code128::Code128::new(data)
            .map_err(|_| RenderError::InvalidBarcodeToken)?;
        Ok(Code128 {
            modules: code.encode(),
        })
    }

    /// Bars (1) and spaces (0), without the quiet zone.
    pub fn modules(&self) -> &[u8] {
        &self.modules
    }

    pub fn png(&self, module_px: u32, height_px: u32) -> Result<Vec<u8>, RenderError> {
        let module_px = module_px.clamp(1, 16) as usize;
        let height = height_px.clamp(8, 1024) as usize;
        let width = (self.modules.len() + 2 * QUIET_MODULES) * module_px;
        let mut row = vec![255u8; width];
        for (i, m) in self.modules.iter().enumerate() {
            if *m == 1 {
                let start = (i + QUIET_MODULES) * module_px;
                row[start..start + module_px].fill(0);
            }
        }
        png_from_luma(width as u32, height as u32, row.repeat(height))
    }

    /// A standalone SVG in module units: one rectangle a bar.
    pub fn svg(&self, height_modules: u32) -> String {
        let width = self.modules.len() + 2 * QUIET_MODULES;
        let height = height_modules.max(1) as usize;
        let bars: Vec<bool> = self.modules.iter().map(|m| *m == 1).collect();
        let mut path = String::new();
        push_dark_runs(&mut path, &bars, QUIET_MODULES, 0, height);
        svg_document(width, height, &path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digit_tokens_are_encoded() {
        for bad in ["", "a", "12a4", "１２", " 12", &"1".repeat(49)] {
            assert_eq!(
                Code128::encode(bad).err(),
                Some(RenderError::InvalidBarcodeToken),
                "{bad}"
            );
        }
        assert!(Code128::encode("7").is_ok());
        assert!(Code128::encode(&"1".repeat(48)).is_ok());
        assert!(Code128::encode("12").is_ok());
        assert!(Code128::encode("123").is_ok());
    }

    #[test]
    fn set_c_is_compact() {
        // Start, 10 symbols, checksum: 12 symbols of 11 modules, plus the 13-module stop.
        assert_eq!(
            Code128::encode(&"7".repeat(20)).unwrap().modules().len(),
            12 * 11 + 13
        );
    }

    #[test]
    fn png_keeps_the_quiet_zone_white() {
        let code = Code128::encode("01234567890123456789").unwrap();
        let img = image::load_from_memory(&code.png(2, 40).unwrap())
            .unwrap()
            .to_luma8();
        assert_eq!(img.width() as usize, (code.modules().len() + 20) * 2);
        for x in (0..20).chain(img.width() - 20..img.width()) {
            assert_eq!(img.get_pixel(x, 10).0[0], 255);
        }
        assert_eq!(
            img.get_pixel(20, 10).0[0],
            0,
            "the start symbol begins with a bar"
        );
        let svg = code.svg(40);
        assert!(svg.starts_with("<svg") && svg.contains("viewBox"));
    }
}
