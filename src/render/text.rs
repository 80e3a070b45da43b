//! Text on the card images: the bundled font (a subset of Noto Sans CJK SC, see
//! `assets/fonts/README.md`), measured and drawn with `ab_glyph` onto an RGB canvas. Sizes
//! are em sizes in pixels, so one hanzi is about `size` pixels wide. A character the font
//! lacks is drawn as the font's .notdef box; control characters are skipped.

use super::RenderError;
use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use image::{Rgb, RgbImage};
use std::sync::OnceLock;

static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/NotoSansCJKsc-Regular-subset.otf");

/// The bundled font, parsed once.
pub fn font() -> Result<&'static FontRef<'static>, RenderError> {
    static FONT: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    FONT.get_or_init(|| FontRef::try_from_slice(FONT_BYTES).ok())
        .as_ref()
        .ok_or(RenderError::Font)
}

#[derive(Debug, Clone, Copy)]
pub struct Style {
    /// Em size in pixels.
    pub size: f32,
    pub color: Rgb<u8>,
    /// Drawn twice, a fraction of a pixel apart: the font ships one weight only.
    pub bold: bool,
}

impl Style {
    pub const fn new(size: f32, color: Rgb<u8>) -> Style {
        Style {
            size,
            color,
            bold: false,
        }
    }

    pub const fn bold(self) -> Style {
        Style { bold: true, ..self }
    }

    pub const fn sized(self, size: f32) -> Style {
        Style { size, ..self }
    }
}

fn scale(font: &FontRef<'_>, size: f32) -> PxScale {
    PxScale::from(size * font.height_unscaled() / font.units_per_em().unwrap_or(1000.0))
}

/// The glyphs of `text` and the pen position before each, from `x`.
fn layout(font: &FontRef<'_>, size: f32, x: f32, text: &str) -> (Vec<(GlyphId, f32)>, f32) {
    let scaled = font.as_scaled(scale(font, size));
    let mut caret = x;
    let mut prev: Option<GlyphId> = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars().filter(|c| !c.is_control()) {
        let id = font.glyph_id(c);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push((id, caret));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    (glyphs, caret)
}

/// How wide `text` is at `size`, in pixels.
pub fn width(font: &FontRef<'_>, size: f32, text: &str) -> f32 {
    layout(font, size, 0.0, text).1
}

/// Draws `text` with its baseline at `baseline`, starting at `x`; returns the width drawn.
pub fn draw(
    img: &mut RgbImage,
    font: &FontRef<'_>,
    (x, baseline): (f32, f32),
    style: Style,
    text: &str,
) -> f32 {
    let (glyphs, end) = layout(font, style.size, x, text);
    let passes: &[f32] = if style.bold {
        &[0.0, style.size / 24.0]
    } else {
        &[0.0]
    };
    let px = scale(font, style.size);
    for (id, caret) in glyphs {
        for dx in passes {
            let glyph = id.with_scale_and_position(px, point(caret + dx, baseline));
            let Some(outline) = font.outline_glyph(glyph) else {
                continue; // a space
            };
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let px = bounds.min.x as i64 + i64::from(gx);
                let py = bounds.min.y as i64 + i64::from(gy);
                blend(img, px, py, style.color, coverage);
            });
        }
    }
    end - x
}

fn blend(img: &mut RgbImage, x: i64, y: i64, color: Rgb<u8>, coverage: f32) {
    let (Ok(x), Ok(y)) = (u32::try_from(x), u32::try_from(y)) else {
        return;
    };
    if x >= img.width() || y >= img.height() {
        return;
    }
    let a = coverage.clamp(0.0, 1.0);
    let pixel = img.get_pixel_mut(x, y);
    for (dst, src) in pixel.0.iter_mut().zip(color.0) {
        *dst = (f32::from(*dst) * (1.0 - a) + f32::from(src) * a).round() as u8;
    }
}

/// The largest size from `size` down to `min` at which `text` fits `max_width` on one line.
pub fn fit(font: &FontRef<'_>, text: &str, size: f32, min: f32, max_width: f32) -> Option<f32> {
    let mut s = size;
    while s >= min {
        if width(font, s, text) <= max_width {
            return Some(s);
        }
        s -= 1.0;
    }
    None
}

/// Breaks `text` into lines no wider than `max_width` at `size`: between words where the line
/// has spaces (Latin), else between any two characters (Chinese). At most `max_lines` lines;
/// what does not fit ends the last line with "…".
pub fn wrap(
    font: &FontRef<'_>,
    text: &str,
    size: f32,
    max_width: f32,
    max_lines: usize,
) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() && lines.len() < max_lines.max(1) {
        let mut end = rest.len();
        let mut last_space = None;
        for (i, c) in rest.char_indices() {
            let next = i + c.len_utf8();
            if i > 0 && width(font, size, &rest[..next]) > max_width {
                end = last_space.unwrap_or(i);
                break;
            }
            if c == ' ' {
                last_space = Some(i);
            }
        }
        lines.push(rest[..end].trim_end().to_owned());
        rest = rest[end..].trim_start();
    }
    if !rest.is_empty() {
        if let Some(last) = lines.last_mut() {
            while !last.is_empty() && width(font, size, &format!("{last}…")) > max_width {
                last.pop();
            }
            last.push('…');
        }
    }
    lines
}
