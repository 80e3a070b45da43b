//! How a code reached a verifier: what was scanned and, for a partner, the purpose the
//! verifier expects. The audit's `method` column keeps it.

use super::purpose::Purpose;

/// What was scanned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKind {
    /// A QR code.
    Code,
    /// A barcode's digits.
    Barcode,
}

/// The audit's `method`: the kind of scan, with the purpose after a colon for the minimal
/// purposes (`code`, `barcode:rental`, …).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
pub enum ScanMethod {
    #[strum(serialize = "code")]
    Code,
    #[strum(serialize = "barcode")]
    Barcode,
    #[strum(serialize = "code:rental")]
    CodeRental,
    #[strum(serialize = "barcode:rental")]
    BarcodeRental,
    #[strum(serialize = "code:insurance")]
    CodeInsurance,
    #[strum(serialize = "barcode:insurance")]
    BarcodeInsurance,
    #[strum(serialize = "code:employment")]
    CodeEmployment,
    #[strum(serialize = "barcode:employment")]
    BarcodeEmployment,
}

impl ScanMethod {
    pub fn new(kind: ScanKind, purpose: Purpose) -> ScanMethod {
        use ScanKind as K;
        match (kind, purpose) {
            (K::Code, Purpose::Roadside) => ScanMethod::Code,
            (K::Barcode, Purpose::Roadside) => ScanMethod::Barcode,
            (K::Code, Purpose::Rental) => ScanMethod::CodeRental,
            (K::Barcode, Purpose::Rental) => ScanMethod::BarcodeRental,
            (K::Code, Purpose::Insurance) => ScanMethod::CodeInsurance,
            (K::Barcode, Purpose::Insurance) => ScanMethod::BarcodeInsurance,
            (K::Code, Purpose::Employment) => ScanMethod::CodeEmployment,
            (K::Barcode, Purpose::Employment) => ScanMethod::BarcodeEmployment,
        }
    }

    pub fn code(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn each_kind_and_purpose_has_its_method_named_kind_colon_purpose() {
        let mut seen = Vec::new();
        for purpose in Purpose::ALL {
            for (kind, word) in [(ScanKind::Code, "code"), (ScanKind::Barcode, "barcode")] {
                let method = ScanMethod::new(kind, purpose);
                let expected = if purpose.is_minimal() {
                    format!("{word}:{}", purpose.code())
                } else {
                    word.to_owned()
                };
                assert_eq!(method.code(), expected);
                assert_eq!(expected.parse::<ScanMethod>(), Ok(method));
                seen.push(method);
            }
        }
        assert_eq!(seen, ScanMethod::VARIANTS, "every method, each once");
    }
}
