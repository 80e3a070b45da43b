//! A synthetic ID-style portrait (white background, even light, colour, head and dark
//! shoulders, 22:32) for generated registry records, load tests and test fixtures. Nobody's
//! face: shapes only, deterministic for a given size.

use image::{ImageFormat, Rgb, RgbImage};

/// The portrait as a JPEG of `width`×`height` pixels.
pub fn jpeg(width: u32, height: u32) -> Vec<u8> {
    encode(&draw(width, height), ImageFormat::Jpeg)
}

/// A phone camera's upload: the portrait at 12 MP (3024×4032) with sensor noise, as a
/// quality-92 JPEG of about 2 MB (flat shapes alone would compress to a fraction of that).
/// For benchmarks of photo intake.
pub fn phone_jpeg(seed: u64) -> Vec<u8> {
    use rand::{Rng, SeedableRng};
    let mut img = draw(3024, 4032);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    for p in img.pixels_mut() {
        let grain: i16 = rng.gen_range(-4..=4);
        for c in &mut p.0 {
            *c = (i16::from(*c) + grain + rng.gen_range(-2..=2)).clamp(0, 255) as u8;
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .encode_image(&img)
        .expect("encoding an in-memory image cannot fail");
    out
}

/// The portrait as a PNG of `width`×`height` pixels.
pub fn png(width: u32, height: u32) -> Vec<u8> {
    encode(&draw(width, height), ImageFormat::Png)
}

fn encode(img: &RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .expect("encoding an in-memory image cannot fail");
    out.into_inner()
}

/// Draws the portrait: a skin-tone head with dark hair above dark clothing, on white.
pub fn draw(width: u32, height: u32) -> RgbImage {
    let (w, h) = (width.max(1) as f32, height.max(1) as f32);
    let inside = |x: f32, y: f32, cx: f32, cy: f32, rx: f32, ry: f32| {
        let (dx, dy) = ((x - cx) / rx, (y - cy) / ry);
        dx * dx + dy * dy <= 1.0
    };
    RgbImage::from_fn(width.max(1), height.max(1), |px, py| {
        let (x, y) = (px as f32 + 0.5, py as f32 + 0.5);
        let (cx, head_cy) = (w * 0.5, h * 0.40);
        if inside(x, y, cx, h * 1.02, w * 0.46, h * 0.30) {
            Rgb([28, 32, 44]) // shoulders in dark clothing
        } else if inside(x, y, cx, head_cy, w * 0.21, h * 0.20) {
            if y < head_cy - h * 0.10 {
                Rgb([24, 20, 18]) // hair
            } else if inside(x, y, cx - w * 0.075, head_cy, w * 0.025, h * 0.012)
                || inside(x, y, cx + w * 0.075, head_cy, w * 0.025, h * 0.012)
            {
                Rgb([40, 30, 28]) // eyes
            } else {
                Rgb([226, 186, 160]) // skin
            }
        } else if inside(x, y, cx, h * 0.63, w * 0.07, h * 0.08) {
            Rgb([214, 172, 146]) // neck
        } else {
            Rgb([252, 252, 252]) // white background
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_real_images_of_the_asked_size() {
        for (bytes, format) in [
            (jpeg(330, 480), ImageFormat::Jpeg),
            (png(22, 32), ImageFormat::Png),
        ] {
            assert_eq!(image::guess_format(&bytes).unwrap(), format);
            let img = image::load_from_memory(&bytes).unwrap();
            assert!(img.width() == 330 || img.width() == 22);
        }
    }

    #[test]
    fn background_is_white_and_the_centre_is_not() {
        let img = draw(330, 480);
        assert_eq!(img.get_pixel(2, 2).0, [252, 252, 252]);
        assert_eq!(img.get_pixel(327, 2).0, [252, 252, 252]);
        assert_ne!(img.get_pixel(165, 200).0, [252, 252, 252]);
        assert_eq!(img.get_pixel(165, 470).0, [28, 32, 44], "dark shoulders");
    }
}
