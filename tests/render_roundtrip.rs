//! The renderers checked by an independent decoder (rxing) reading back our PNG bytes.

use elicence::render::barcode::Code128;
use elicence::render::qr::QrMatrix;
use rxing::BarcodeFormat;

fn decode(png: &[u8], format: BarcodeFormat) -> String {
    rxing::helpers::detect_in_buffer(png, Some(format))
        .expect("the decoder finds the code")
        .getText()
        .to_owned()
}

/// A realistic roadside code: a compact JWS as the service signs it (534 characters).
const CODE: &str = "eyJhbGciOiJFZERTQSIsImtpZCI6IkJLcEs1TVd4TUt5WUstdGtJUzFMWk1aNlNYdkszbkFVdkFTa2VNN0VqbE0iLCJ0eXAiOiJlbGljZW5jZStqd3QifQ.eyJpc3MiOiJlbGljZW5jZSIsImVpZCI6ImVsX2IwYzJlZTE1ODhiZjUyZWJmMmY4MjQ2YSIsInN1YiI6IjExMDEwMTE5OTAwMTAxMDExMSIsIm5hbSI6IuW8oOS8nyIsImNscyI6IkMxIiwidnUiOiIyMDMxLTAzLTA1Iiwic3QiOiJvayIsInBobyI6IkcyMXI3OVJQWlRrajBKcy1UVGdKUzdrYVZmNVQ2cm9jSk90c21HQlY3Y2MiLCJpYXQiOjE3OTUzOTY0NTIsImV4cCI6MTc5NTM5NjYzMiwianRpIjoiMDNiZGNhZjE5ZTIyOTcxMCJ9.ytJyUkroNdMA7PIQzdj2mT8d_o61y_Czu1reU8hfcVjiQWAdNb7mu1fxyDFX91J7fQpCaxg9dZN4P2G5Hsd5Dg";

#[test]
fn a_roadside_qr_code_reads_back_exactly() {
    let qr = QrMatrix::encode(CODE).unwrap();
    println!(
        "roadside code: {} characters, QR version {} at level M, {} modules",
        CODE.len(),
        qr.version(),
        qr.width()
    );
    assert_eq!(qr.version(), 18);
    let png = qr.png(4).unwrap();
    println!(
        "PNG {} px a side, {} bytes",
        (qr.width() + 8) * 4,
        png.len()
    );
    assert_eq!(decode(&png, BarcodeFormat::QR_CODE), CODE);
}

/// A compact-JWS-shaped text of exactly `len` characters: three base64url segments joined by
/// dots, filled from a fixed pseudo-random sequence so the QR content is not degenerate.
fn jws_like(len: usize) -> String {
    const B64URL: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|i| {
            if i == 36 || i == len - 87 {
                return '.';
            }
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            B64URL[(state >> 58) as usize] as char
        })
        .collect()
}

#[test]
fn longer_codes_need_larger_versions_and_still_read_back() {
    // Byte mode at level M: version 19 holds 614 bytes, version 24 holds 911.
    for (len, expected) in [(600, 19), (900, 24)] {
        let text = jws_like(len);
        let qr = QrMatrix::encode(&text).unwrap();
        let png = qr.png(4).unwrap();
        println!(
            "{len} characters: QR version {} at level M, {} modules, PNG {} px, {} bytes",
            qr.version(),
            qr.width(),
            (qr.width() + 8) * 4,
            png.len()
        );
        assert_eq!(qr.version(), expected);
        assert_eq!(decode(&png, BarcodeFormat::QR_CODE), text);
    }
}

#[test]
fn barcode_tokens_read_back_exactly_even_and_odd() {
    for digits in [
        "46233088725433696927",
        "00000000000000000001",
        "12345678901234567",
        "7",
    ] {
        let code = Code128::encode(digits).unwrap();
        let png = code.png(3, 80).unwrap();
        println!(
            "{} digits: {} modules, PNG {}x80 px, {} bytes",
            digits.len(),
            code.modules().len(),
            (code.modules().len() + 20) * 3,
            png.len()
        );
        assert_eq!(decode(&png, BarcodeFormat::CODE_128), digits);
    }
}
