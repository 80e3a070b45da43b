//! The claims of a minimal (purpose-bound) code: what a car-rental firm, an insurer or an
//! employer reads. Name, classes, validity, the verdict at signing, the purpose, and the
//! code's own expiry and id: no address, no licence number, no points, no photo, and no
//! e-licence serial (see below).
//!
//! The code must fit QR version 10 at level M (311 alphanumeric characters), which a JWS with
//! our header cannot (docs/code-format.md, "Purposes"). So these claims are a CWT claims set
//! (RFC 8392) in CBOR, signed as a COSE_Sign1 and written in Base45 after the prefix
//! [`MINIMAL_PREFIX`]. Registered claims: `exp` (4) and `cti` (7). Ours sit in one map under
//! the private-use claim key [`ELICENCE_CLAIM`] (RFC 8392 section 9.1 keeps keys below -65536
//! for private use), keyed by small integers that are ours alone: a flat layout would have
//! to squat on the registry's standards-action range (-256..255).
//!
//! No e-licence serial: the offline status list is public, so a serial in a partner's code
//! would let an employer watch that holder's suspensions for good after one check. A code
//! lives three minutes and carries the verdict at signing, which is what the status list
//! would tell a terminal about a code that young; online, the server finds the e-licence from
//! the code's `cti` (kept with the code) and gives the live verdict.

use super::code::{date_number, date_of_number, JTI_BYTES};
use super::licence_class::ClassBits;
use super::purpose::Purpose;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use coset::cbor::value::Value;
use coset::cwt::{ClaimName, ClaimsSet, Timestamp};
use coset::CborSerializable;

/// Before the Base45: says "an e-licence minimal code, format 1". Alphanumeric-mode safe.
pub const MINIMAL_PREFIX: &str = "EL1:";

/// The most characters a minimal code may take: QR version 10 at level M holds 311 in
/// alphanumeric mode (Base45 and the prefix are alphanumeric). A longer name is shortened to
/// fit (see `domain::code::shorten_to_fit`).
pub const MAX_MINIMAL_QR_CHARS: usize = 311;

/// The longest minimal code looked at: a 64-character name of 4-byte characters (the most
/// the registry allows) makes about 700; anything longer is refused before decoding.
pub const MAX_MINIMAL_CODE_CHARS: usize = 1024;

/// The private-use claim key holding our claims.
pub const ELICENCE_CLAIM: i64 = -65537;

/// The keys inside [`ELICENCE_CLAIM`].
pub mod key {
    pub const NAME: i64 = 1;
    pub const CLASSES: i64 = 2;
    pub const VALID_UNTIL: i64 = 3;
    pub const VERDICT: i64 = 4;
    pub const PURPOSE: i64 = 5;
}

/// The verdict claim: the licence may drive (`0`) or may not (`1`), as the registry copy said
/// when the code was signed. Which reason is never said.
pub const VERDICT_VALID: u8 = 0;
pub const VERDICT_NOT_VALID: u8 = 1;

/// The purpose claim's number: 1 rental, 2 insurance, 3 employment (roadside codes are JWS).
pub fn purpose_number(p: Purpose) -> u8 {
    match p {
        Purpose::Roadside => 0,
        Purpose::Rental => 1,
        Purpose::Insurance => 2,
        Purpose::Employment => 3,
    }
}

pub fn purpose_of_number(n: u64) -> Option<Purpose> {
    Purpose::ALL
        .into_iter()
        .find(|p| p.is_minimal() && u64::from(purpose_number(*p)) == n)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinimalClaims {
    pub purpose: Purpose,
    /// Holder's name.
    pub name: String,
    /// Licence classes, one bit each as in the roadside code ([`ClassBits`]): a uint, at
    /// most five bytes of CBOR for all 17 where their codes took up to 48.
    pub classes: ClassBits,
    /// Last valid day of the licence, or `None` for long-term (长期).
    pub valid_until: Option<NaiveDate>,
    /// The registry copy let the licence drive when the code was signed.
    pub valid_at_signing: bool,
    /// Expires at, seconds since the epoch.
    pub exp: i64,
    /// The code's id (`cti`): random, kept with the code online.
    pub cti: [u8; JTI_BYTES],
}

/// Why a verified payload is not our claims.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the claims are missing or malformed: {0}")]
pub struct ClaimsError(pub &'static str);

impl MinimalClaims {
    pub fn expires_at(&self) -> Option<DateTime<Utc>> {
        DateTime::from_timestamp(self.exp, 0)
    }

    /// Has the code lapsed at `now`? Good up to, not including, its `exp` second.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        now.timestamp() >= self.exp
    }

    /// The `cti` as the 8-character id stored with the code and in the audit (as a `jti`).
    pub fn jti(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.cti)
    }

    /// The CWT claims set in CBOR: `{4: exp, 7: cti, -65537: {1: name, 2: classes,
    /// 3: valid_until, 4: verdict, 5: purpose}}`.
    pub fn to_cbor(&self) -> Vec<u8> {
        let ours = vec![
            (key::NAME.into(), Value::Text(self.name.clone())),
            (
                key::CLASSES.into(),
                Value::Integer(self.classes.bits().into()),
            ),
            (
                key::VALID_UNTIL.into(),
                self.valid_until
                    .map_or(Value::Null, |d| Value::Integer(date_number(d).into())),
            ),
            (
                key::VERDICT.into(),
                Value::Integer(
                    if self.valid_at_signing {
                        VERDICT_VALID
                    } else {
                        VERDICT_NOT_VALID
                    }
                    .into(),
                ),
            ),
            (
                key::PURPOSE.into(),
                Value::Integer(purpose_number(self.purpose).into()),
            ),
        ];
        ClaimsSet {
            expiration_time: Some(Timestamp::WholeSeconds(self.exp)),
            cwt_id: Some(self.cti.to_vec()),
            rest: vec![(ClaimName::PrivateUse(ELICENCE_CLAIM), Value::Map(ours))],
            ..ClaimsSet::default()
        }
        .to_vec()
        // A claims set of integers, text and bytes always encodes.
        .unwrap_or_default()
    }

    /// Reads a verified payload. Unknown claims are ignored; missing or mistyped ones refused.
    pub fn from_cbor(bytes: &[u8]) -> Result<MinimalClaims, ClaimsError> {
        let set = ClaimsSet::from_slice(bytes).map_err(|_| ClaimsError("not a CWT claims set"))?;
        let exp = match set.expiration_time {
            Some(Timestamp::WholeSeconds(s)) => s,
            _ => return Err(ClaimsError("exp")),
        };
        let cti: [u8; JTI_BYTES] = set
            .cwt_id
            .as_deref()
            .and_then(|c| c.try_into().ok())
            .ok_or(ClaimsError("cti"))?;
        let ours = set
            .rest
            .into_iter()
            .find(|(name, _)| *name == ClaimName::PrivateUse(ELICENCE_CLAIM))
            .and_then(|(_, v)| v.into_map().ok())
            .ok_or(ClaimsError("the e-licence claim"))?;
        let mut fields: [Option<Value>; 5] = Default::default();
        for (k, v) in ours {
            let Some(k) = k.as_integer().and_then(|k| i64::try_from(k).ok()) else {
                continue;
            };
            if let Some(slot) = usize::try_from(k - 1).ok().and_then(|i| fields.get_mut(i)) {
                if slot.replace(v).is_some() {
                    return Err(ClaimsError("a key twice"));
                }
            }
        }
        let [name, classes, valid_until, verdict, purpose] = fields;
        let text = |v: Option<Value>, what| match v {
            Some(Value::Text(t)) if !t.is_empty() => Ok(t),
            _ => Err(ClaimsError(what)),
        };
        let uint = |v: &Value| v.as_integer().and_then(|i| u64::try_from(i).ok());
        let valid_until = match valid_until {
            Some(Value::Null) => None,
            Some(v) => Some(
                uint(&v)
                    .and_then(|n| u32::try_from(n).ok())
                    .and_then(date_of_number)
                    .ok_or(ClaimsError("valid_until"))?,
            ),
            None => return Err(ClaimsError("valid_until")),
        };
        let classes = classes
            .as_ref()
            .and_then(uint)
            .and_then(|n| u32::try_from(n).ok())
            .and_then(ClassBits::from_bits)
            .ok_or(ClaimsError("classes"))?;
        let valid_at_signing = match verdict.as_ref().and_then(uint) {
            Some(n) if n == u64::from(VERDICT_VALID) => true,
            Some(n) if n == u64::from(VERDICT_NOT_VALID) => false,
            _ => return Err(ClaimsError("verdict")),
        };
        let purpose = purpose
            .as_ref()
            .and_then(uint)
            .and_then(purpose_of_number)
            .ok_or(ClaimsError("purpose"))?;
        Ok(MinimalClaims {
            purpose,
            name: text(name, "name")?,
            classes,
            valid_until,
            valid_at_signing,
            exp,
            cti,
        })
    }
}

/// A typical minimal code's claims for tests elsewhere in the crate: 张小伟, C1, rental.
#[cfg(test)]
pub(crate) fn example_minimal(exp: i64) -> MinimalClaims {
    MinimalClaims {
        purpose: Purpose::Rental,
        name: "张小伟".into(),
        classes: super::code::classes("C1"),
        valid_until: "2028-03-05".parse().ok(),
        valid_at_signing: true,
        exp,
        cti: *b"AbCdEf",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> MinimalClaims {
        example_minimal(1_795_396_632)
    }

    fn value(c: &MinimalClaims) -> Value {
        coset::cbor::de::from_reader(&c.to_cbor()[..]).unwrap()
    }

    fn reencode(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        coset::cbor::ser::into_writer(v, &mut out).unwrap();
        out
    }

    /// `v` with the entry `key` of our claim replaced (or removed when `with` is None).
    fn edited(inner_key: i64, with: Option<Value>) -> Vec<u8> {
        let mut v = value(&claims());
        let outer = v.as_map_mut().unwrap();
        let ours = outer[2].1.as_map_mut().unwrap();
        ours.retain(|(k, _)| *k != Value::Integer(inner_key.into()));
        if let Some(w) = with {
            ours.push((Value::Integer(inner_key.into()), w));
        }
        reencode(&v)
    }

    #[test]
    fn the_wire_form_is_the_documented_one() {
        let bytes = claims().to_cbor();
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            concat!(
                "a3", // map(3)
                "04",
                "1a6b039418", // 4 (exp): 1795396632
                "07",
                "46416243644566", // 7 (cti): h'416243644566' ("AbCdEf")
                "3a00010000",     // -65537
                "a5",             // map(5)
                "01",
                "69e5bca0e5b08fe4bc9f", // 1: "张小伟"
                "02",
                "1820", // 2: 32 (C1)
                "03",
                "1a013573f1", // 3: 20280305
                "04",
                "00", // 4: 0 (valid)
                "05",
                "01", // 5: 1 (rental)
            )
        );
        assert_eq!(bytes.len(), 45);
        assert_eq!(MinimalClaims::from_cbor(&bytes).unwrap(), claims());
        let mut long_term = claims();
        long_term.valid_until = None;
        long_term.valid_at_signing = false;
        long_term.purpose = Purpose::Employment;
        assert_eq!(
            MinimalClaims::from_cbor(&long_term.to_cbor()).unwrap(),
            long_term
        );
        assert_eq!(claims().jti(), "QWJDZEVm");
    }

    #[test]
    fn it_carries_nothing_but_the_documented_keys() {
        let v = value(&claims());
        let outer: Vec<_> = v.as_map().unwrap().iter().map(|(k, _)| k.clone()).collect();
        assert_eq!(
            outer,
            [4, 7, ELICENCE_CLAIM].map(|k| Value::Integer(k.into()))
        );
        let inner: Vec<_> = v.as_map().unwrap()[2]
            .1
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(inner, [1, 2, 3, 4, 5].map(|k| Value::Integer(k.into())));
    }

    #[test]
    fn unknown_claims_are_tolerated_but_missing_or_mistyped_ones_are_not() {
        assert!(MinimalClaims::from_cbor(&edited(9, Some(Value::Bool(true)))).is_ok());
        // A class bit newer than the table is shown as such, not refused.
        let newer = edited(key::CLASSES, Some(Value::Integer((1 << 20 | 32).into())));
        let read = MinimalClaims::from_cbor(&newer).unwrap();
        assert_eq!(read.classes.codes(), ["C1", "other"]);
        for k in 1..=5 {
            assert!(MinimalClaims::from_cbor(&edited(k, None)).is_err(), "{k}");
            assert!(
                MinimalClaims::from_cbor(&edited(k, Some(Value::Bool(true)))).is_err(),
                "{k}"
            );
        }
        for (k, bad) in [
            (key::NAME, Value::Text(String::new())),
            (key::CLASSES, Value::Text("C1".into())),
            (key::CLASSES, Value::Integer(0.into())),
            (key::CLASSES, Value::Integer((1i64 << 32).into())),
            (key::VALID_UNTIL, Value::Integer(20281305.into())),
            (key::VALID_UNTIL, Value::Integer((-1).into())),
            (key::VERDICT, Value::Integer(2.into())),
            (key::PURPOSE, Value::Integer(0.into())),
            (key::PURPOSE, Value::Integer(4.into())),
        ] {
            assert!(
                MinimalClaims::from_cbor(&edited(k, Some(bad))).is_err(),
                "{k}"
            );
        }
        // A key twice in our map.
        let mut v = value(&claims());
        let ours = v.as_map_mut().unwrap()[2].1.as_map_mut().unwrap();
        ours.push((Value::Integer(1.into()), Value::Text("李四".into())));
        assert_eq!(
            MinimalClaims::from_cbor(&reencode(&v)),
            Err(ClaimsError("a key twice"))
        );
        assert!(MinimalClaims::from_cbor(b"\xa0").is_err());
        assert!(MinimalClaims::from_cbor(b"junk").is_err());
    }

    #[test]
    fn purposes_have_distinct_numbers_and_roadside_has_none() {
        for p in Purpose::ALL {
            assert_eq!(
                purpose_of_number(purpose_number(p).into()),
                p.is_minimal().then_some(p)
            );
        }
    }

    #[test]
    fn expiry_is_exclusive_of_the_exp_second() {
        let c = example_minimal(1_000);
        assert!(!c.is_expired(DateTime::from_timestamp(999, 0).unwrap()));
        assert!(c.is_expired(DateTime::from_timestamp(1_000, 0).unwrap()));
    }
}
