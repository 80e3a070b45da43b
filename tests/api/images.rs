//! Images made by the tests: a good portrait, failing ones, and hostile files; and the
//! independent decoder (rxing) that reads our codes back off our PNGs.

use elicence::registry::portrait;

/// The text of the QR code or barcode an independent decoder finds in `png`.
pub fn read_code(png: &[u8], format: rxing::BarcodeFormat) -> String {
    elicence::offline::scan::read_symbol(png, format).expect("the decoder finds the code")
}

pub fn good_jpeg() -> Vec<u8> {
    portrait::jpeg(660, 960)
}

pub fn good_png() -> Vec<u8> {
    portrait::png(440, 640)
}

/// A portrait on a grey background: fails `background_not_white`.
pub fn grey_background_jpeg() -> Vec<u8> {
    let mut img = portrait::draw(660, 960);
    for p in img.pixels_mut() {
        if p.0 == [252, 252, 252] {
            p.0 = [120, 130, 140];
        }
    }
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// A PNG whose header declares `width`×`height` and that carries a single row of pixels: a
/// decompression bomb as far as its header goes.
pub fn png_declaring(width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let writer = encoder.write_header().unwrap();
    drop(writer);
    out
}

/// A real 1-bit PNG of `side`×`side` white pixels: a few hundred KB that would take
/// side² bytes (and more) once decoded into an image buffer.
pub fn big_png(side: u32) -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::One);
        encoder.set_compression(png::Compression::Fast);
        let mut writer = encoder.write_header().unwrap();
        let mut stream = writer.stream_writer().unwrap();
        let row = vec![0xffu8; side.div_ceil(8) as usize];
        for _ in 0..side {
            std::io::Write::write_all(&mut stream, &row).unwrap();
        }
        stream.finish().unwrap();
    }
    out
}

/// A good JPEG with an APP1 Exif segment whose IFD0 points at a GPS IFD.
pub fn jpeg_with_gps_exif() -> Vec<u8> {
    let jpeg = good_jpeg();
    let mut tiff: Vec<u8> = b"II*\0".to_vec();
    tiff.extend(8u32.to_le_bytes()); // IFD0 at 8
    tiff.extend(1u16.to_le_bytes()); // one entry
    tiff.extend(0x8825u16.to_le_bytes()); // GPSInfo
    tiff.extend(4u16.to_le_bytes()); // LONG
    tiff.extend(1u32.to_le_bytes());
    tiff.extend(26u32.to_le_bytes()); // GPS IFD at 26
    tiff.extend(0u32.to_le_bytes()); // no next IFD
    tiff.extend(2u16.to_le_bytes()); // two GPS entries
    tiff.extend(0x0001u16.to_le_bytes()); // GPSLatitudeRef
    tiff.extend(2u16.to_le_bytes()); // ASCII
    tiff.extend(2u32.to_le_bytes());
    tiff.extend(*b"N\0\0\0");
    tiff.extend(0x0003u16.to_le_bytes()); // GPSLongitudeRef
    tiff.extend(2u16.to_le_bytes());
    tiff.extend(2u32.to_le_bytes());
    tiff.extend(*b"E\0\0\0");
    tiff.extend(0u32.to_le_bytes());
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend(tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend([0xff, 0xe1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}

/// Does a JPEG carry an APP1 (Exif/XMP) segment?
pub fn has_app1(jpeg: &[u8]) -> bool {
    jpeg.windows(2).any(|w| w == [0xff, 0xe1]) || jpeg.windows(4).any(|w| w == b"Exif")
}

pub const SVG: &[u8] =
    br#"<svg xmlns="http://www.w3.org/2000/svg" width="330" height="480"><script>alert(1)</script></svg>"#;
