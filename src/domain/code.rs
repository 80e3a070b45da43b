//! The claims of a display code: what a roadside terminal reads after the signature checks.
//! Kept short, because every byte makes the QR code denser (see docs/code-format.md).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The JWS `typ` of every e-licence code.
pub const CODE_TYP: &str = "elicence+jwt";
/// The `iss` of every code we sign.
pub const ISSUER: &str = "elicence";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeClaims {
    /// Issuer: always "elicence".
    pub iss: String,
    /// E-licence id.
    pub eid: String,
    /// Licence number (the holder's ID number).
    pub sub: String,
    /// Holder's name.
    pub nam: String,
    /// Licence classes, e.g. "C1,D".
    pub cls: String,
    /// Last valid day of the licence, or null for long-term.
    pub vu: Option<NaiveDate>,
    /// Status at signing: "ok", or the blocking reason codes joined by commas.
    pub st: String,
    /// SHA-256 (base64url) of the photo on the e-licence.
    pub pho: String,
    /// Issued at, seconds since the epoch.
    pub iat: i64,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// Unique code id.
    pub jti: String,
}

impl CodeClaims {
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.exp, 0)
    }

    /// Has the code lapsed at `now`? A code is good up to, not including, its `exp` second.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now.timestamp() >= self.exp
    }
}

/// A barcode token: 20 decimal digits (about 66 bits), resolvable online only, once.
pub const BARCODE_DIGITS: usize = 20;

pub fn is_barcode_token(s: &str) -> bool {
    s.len() == BARCODE_DIGITS && s.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> CodeClaims {
        CodeClaims {
            iss: ISSUER.into(),
            eid: "el_1".into(),
            sub: "110101199001010111".into(),
            nam: "张伟".into(),
            cls: "C1".into(),
            vu: None,
            st: "ok".into(),
            pho: "x".into(),
            iat: exp - 180,
            exp,
            jti: "j".into(),
        }
    }

    #[test]
    fn expiry_is_exclusive_of_the_exp_second() {
        let c = claims(1_000);
        assert!(!c.is_expired(DateTime::from_timestamp(999, 0).unwrap()));
        assert!(c.is_expired(DateTime::from_timestamp(1_000, 0).unwrap()));
        assert_eq!(c.expires_at().unwrap().timestamp(), 1_000);
    }

    #[test]
    fn unknown_claims_are_tolerated_but_missing_ones_are_not() {
        let mut v = serde_json::to_value(claims(5)).unwrap();
        v["extra"] = 1.into();
        assert!(serde_json::from_value::<CodeClaims>(v.clone()).is_ok());
        v.as_object_mut().unwrap().remove("exp");
        assert!(serde_json::from_value::<CodeClaims>(v).is_err());
    }

    #[test]
    fn barcode_tokens_are_twenty_digits() {
        assert!(is_barcode_token("01234567890123456789"));
        assert!(!is_barcode_token("0123456789012345678"));
        assert!(!is_barcode_token("0123456789012345678a"));
        assert!(!is_barcode_token(""));
    }
}
