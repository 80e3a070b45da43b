//! The renderers checked by an independent decoder (rxing) reading back our PNG bytes.

use elicence::render::barcode::Code128;
use elicence::render::qr::QrMatrix;
use rxing::BarcodeFormat;

fn decode(png: &[u8], format: BarcodeFormat) -> String {
    elicence::offline::scan::read_symbol(png, format).expect("the decoder finds the code")
}

/// A roadside code as the demo server signed it for 张伟 (380 characters; the worked example
/// of docs/code-format.md).
const CODE: &str = "eyJhbGciOiJFZERTQSIsImtpZCI6InhtdTUxYkxJY0ttdUJ1RzlrNTdUT2FCLUlTTTRpaUU1eGRtYjNnc2pFR0UiLCJ0eXAiOiJlbGljZW5jZStqd3QifQ.eyJlIjoxLCJzdWIiOiIxMTAxMDExOTkwMDEwMTAxMTEiLCJuIjoi5byg5LyfIiwiYyI6MzIsInYiOjIwMzEwMzA1LCJzIjowLCJwIjoiZ2FKVFU2anptekVNcjFrcCIsImV4cCI6MTc5NjIyNzY5NSwianRpIjoiT1BxVi1oY00ifQ.be-Hve2z6tQlAcDOydDc4cl9Hu_oXwCGrTE_eBmgL6tQC3bamc6ukFJ0Pg7fwHzh28vOez_dxZuYwHTrSp7-Bg";

#[test]
fn a_roadside_qr_code_reads_back_exactly() {
    let qr = QrMatrix::encode(CODE).unwrap();
    println!(
        "roadside code: {} characters, QR version {} at level M, {} modules",
        CODE.len(),
        qr.version(),
        qr.width()
    );
    assert_eq!(qr.version(), 15);
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
    // Byte mode at level M: version 15 holds 412 bytes, version 16 450, version 19 614,
    // version 24 911.
    for (len, expected) in [(412, 15), (413, 16), (600, 19), (900, 24)] {
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
