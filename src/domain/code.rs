//! The claims of a display code: what a roadside terminal reads after the signature checks.
//!
//! Every byte makes the QR code denser, and the roadside code must fit QR version 15 at level
//! M (412 bytes). The header (118 characters with its RFC 7638 `kid`) and the Ed25519
//! signature (86) are fixed, which leaves 154 bytes of claims JSON. So the private claims have
//! one-letter names, the e-licence is named by its serial number, dates are `YYYYMMDD`
//! numbers, the photo is bound by the first 128 bits of its SHA-256, and `iss`/`iat` are left
//! out (the key in our JWKS names the issuer; the server records when each code was signed).
//! docs/code-format.md explains each claim to terminal vendors.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The JWS `typ` of every roadside e-licence code.
pub const CODE_TYP: &str = "elicence+jwt";

/// The status claim of a licence that may drive.
pub const STATUS_OK: &str = "ok";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeClaims {
    /// E-licence serial number: names the e-licence online and indexes the status list.
    #[serde(rename = "e")]
    pub e_licence: i64,
    /// Licence number (the holder's ID number).
    pub sub: String,
    /// Holder's name.
    #[serde(rename = "n")]
    pub name: String,
    /// Licence classes, comma-separated, e.g. "C1,D".
    #[serde(rename = "c")]
    pub classes: String,
    /// Last valid day of the licence as YYYYMMDD, or null for long-term (长期).
    #[serde(rename = "v", with = "yyyymmdd")]
    pub valid_until: Option<NaiveDate>,
    /// Status at signing: "ok", or the blocking reason codes comma-separated.
    #[serde(rename = "s")]
    pub status: String,
    /// The photo's tag: the first 128 bits of its SHA-256, base64url (see [`photo_tag`]).
    #[serde(rename = "p")]
    pub photo: String,
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

    /// The reason codes that stood at signing; empty when the status was "ok".
    pub fn status_reasons(&self) -> Vec<&str> {
        if self.status == STATUS_OK {
            Vec::new()
        } else {
            self.status.split(',').filter(|s| !s.is_empty()).collect()
        }
    }
}

/// The photo tag carried by a code: SHA-256 of the photo bytes, cut to its first 16 bytes
/// (as OpenID Connect's `at_hash` keeps the left half), base64url without padding: 22 chars.
pub fn photo_tag(photo: &[u8]) -> String {
    photo_tag_of_digest(&Sha256::digest(photo).into())
}

/// The photo tag from the photo's full SHA-256, as stored with the e-licence.
pub fn photo_tag_of_digest(sha256: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(&sha256[..16])
}

/// `Option<NaiveDate>` as a `YYYYMMDD` number, or null.
mod yyyymmdd {
    use chrono::NaiveDate;
    use serde::{de, Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_u32(super::date_number(*d)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        let Some(n) = Option::<u32>::deserialize(d)? else {
            return Ok(None);
        };
        super::date_of_number(n)
            .map(Some)
            .ok_or_else(|| de::Error::custom(format!("{n} is not a YYYYMMDD date")))
    }
}

/// The date a `YYYYMMDD` number names (years 1000-9999), or `None`.
pub fn date_of_number(n: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt((n / 10_000) as i32, n / 100 % 100, n % 100)
        .filter(|d| d.year() >= 1000)
}

/// A date as the `YYYYMMDD` number the codes carry.
pub fn date_number(d: NaiveDate) -> u32 {
    // Licence dates are years 1900-9999: always eight digits.
    d.year().clamp(0, 9999) as u32 * 10_000 + d.month() * 100 + d.day()
}

/// A barcode token: 20 decimal digits (about 66 bits), resolvable online only, once.
pub const BARCODE_DIGITS: usize = 20;

pub fn is_barcode_token(s: &str) -> bool {
    s.len() == BARCODE_DIGITS && s.bytes().all(|b| b.is_ascii_digit())
}

/// A code id: 6 random bytes, base64url (8 characters); unique by the database's index.
pub const JTI_BYTES: usize = 6;

/// A typical code's claims for tests elsewhere in the crate: 张小伟, C1+D, serial 1234567.
#[cfg(test)]
pub(crate) fn example_claims(exp: i64) -> CodeClaims {
    CodeClaims {
        e_licence: 1_234_567,
        sub: "110101199001010111".into(),
        name: "张小伟".into(),
        classes: "C1,D".into(),
        valid_until: "2028-03-05".parse().ok(),
        status: STATUS_OK.into(),
        photo: photo_tag(b"photo"),
        exp,
        jti: "AbCdEfGh".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> CodeClaims {
        example_claims(exp)
    }

    #[test]
    fn expiry_is_exclusive_of_the_exp_second() {
        let c = claims(1_000);
        assert!(!c.is_expired(DateTime::from_timestamp(999, 0).unwrap()));
        assert!(c.is_expired(DateTime::from_timestamp(1_000, 0).unwrap()));
        assert_eq!(c.expires_at().unwrap().timestamp(), 1_000);
    }

    #[test]
    fn the_wire_form_is_the_documented_one() {
        let json = serde_json::to_string(&claims(1_795_396_632)).unwrap();
        assert_eq!(
            json,
            r#"{"e":1234567,"sub":"110101199001010111","n":"张小伟","c":"C1,D","v":20280305,"s":"ok","p":"VcZND81vnV98goCThX4_3w","exp":1795396632,"jti":"AbCdEfGh"}"#
        );
        let mut long_term = claims(5);
        long_term.valid_until = None;
        let v = serde_json::to_value(&long_term).unwrap();
        assert!(v["v"].is_null());
        assert_eq!(serde_json::from_value::<CodeClaims>(v).unwrap(), long_term);
    }

    #[test]
    fn a_typical_roadside_payload_fits_the_version_15_budget() {
        // 412 bytes at version 15-M, less the header (118), signature (86) and two dots.
        const BUDGET_B64: usize = 412 - 118 - 86 - 2;
        let json = serde_json::to_vec(&claims(1_795_396_632)).unwrap();
        let b64 = URL_SAFE_NO_PAD.encode(&json).len();
        assert!(b64 <= BUDGET_B64, "{b64} > {BUDGET_B64}");
    }

    #[test]
    fn dates_round_trip_and_bad_numbers_are_refused() {
        let c = claims(5);
        let back: CodeClaims = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        for bad in ["20281305", "20280230", "0", "99", "\"2028-03-05\"", "-1"] {
            let mut v = serde_json::to_value(&c).unwrap();
            v["v"] = serde_json::from_str(bad).unwrap();
            assert!(serde_json::from_value::<CodeClaims>(v).is_err(), "{bad}");
        }
    }

    #[test]
    fn unknown_claims_are_tolerated_but_missing_ones_are_not() {
        let mut v = serde_json::to_value(claims(5)).unwrap();
        v["extra"] = 1.into();
        assert!(serde_json::from_value::<CodeClaims>(v.clone()).is_ok());
        for required in ["e", "sub", "n", "c", "v", "s", "p", "exp", "jti"] {
            let mut missing = v.clone();
            missing.as_object_mut().unwrap().remove(required);
            assert!(
                serde_json::from_value::<CodeClaims>(missing).is_err(),
                "{required}"
            );
        }
    }

    #[test]
    fn status_reasons_split_the_claim() {
        let mut c = claims(5);
        assert!(c.status_reasons().is_empty());
        c.status = "suspended,points_limit".into();
        assert_eq!(c.status_reasons(), ["suspended", "points_limit"]);
    }

    #[test]
    fn the_photo_tag_is_the_left_half_of_sha256() {
        let tag = photo_tag(b"abc");
        assert_eq!(tag.len(), 22);
        // SHA-256("abc") = ba7816bf 8f01cfea 414140de 5dae2223 …
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&tag).unwrap(),
            [
                0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae,
                0x22, 0x23
            ]
        );
    }

    #[test]
    fn barcode_tokens_are_twenty_digits() {
        assert!(is_barcode_token("01234567890123456789"));
        assert!(!is_barcode_token("0123456789012345678"));
        assert!(!is_barcode_token("0123456789012345678a"));
        assert!(!is_barcode_token(""));
    }
}
