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
    assert_eq!(decode(&png, BarcodeFormat::QR_CODE), CODE);
}

#[test]
fn barcode_tokens_read_back_exactly_even_and_odd() {
    for digits in [
        "46233088725433696927",
        "00000000000000000001",
        "12345678901234567",
    ] {
        let png = Code128::encode(digits).unwrap().png(3, 80).unwrap();
        assert_eq!(decode(&png, BarcodeFormat::CODE_128), digits);
    }
}
