//! The licence as the registry knows it, with its validated parts.

use super::licence_class::ClassSet;
use super::registry_state::RegistryState;
use chrono::{Months, NaiveDate};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A licence number: the holder's identity-document number (for PRC residents the 18-character
/// resident ID). Once built it is trimmed, upper-case ASCII alphanumeric, 6 to 25 characters.
/// The check digit is not enforced: the registry is the authority on its own numbers.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct LicenceNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a licence number is {MIN_LEN} to {MAX_LEN} letters or digits")]
pub struct InvalidLicenceNumber;

/// The shortest licence number taken.
pub const MIN_LEN: usize = 6;
/// The longest: a PRC resident ID has 18 characters, other identity documents fewer than 25.
/// Longer numbers, with every other claim at its largest, would leave the roadside code no
/// room for even one character of the name within QR version 15 (docs/code-format.md, Size).
pub const MAX_LEN: usize = 25;

impl LicenceNumber {
    pub fn parse(raw: &str) -> Result<Self, InvalidLicenceNumber> {
        let s = raw.trim().to_ascii_uppercase();
        let ok =
            (MIN_LEN..=MAX_LEN).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric());
        ok.then_some(LicenceNumber(s)).ok_or(InvalidLicenceNumber)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form used in logs: enough to correlate, not enough to identify a person.
    pub fn masked(&self) -> String {
        mask_licence_number(&self.0)
    }
}

/// Masks every character but the first four and the last two: "1101************34".
pub fn mask_licence_number(raw: &str) -> String {
    let chars: Vec<char> = raw.chars().collect();
    if chars.len() <= 6 {
        return "*".repeat(chars.len());
    }
    let (head, rest) = chars.split_at(4);
    let (middle, tail) = rest.split_at(rest.len() - 2);
    format!(
        "{}{}{}",
        head.iter().collect::<String>(),
        "*".repeat(middle.len()),
        tail.iter().collect::<String>()
    )
}

// Debug masks too, so that a `{:?}` in a log line never leaks a full number.
impl fmt::Debug for LicenceNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LicenceNumber({})", self.masked())
    }
}

impl<'de> Deserialize<'de> for LicenceNumber {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        LicenceNumber::parse(&raw).map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    M,
    F,
}

impl Sex {
    pub fn code(self) -> &'static str {
        match self {
            Sex::M => "M",
            Sex::F => "F",
        }
    }

    pub fn parse(s: &str) -> Option<Sex> {
        match s {
            "M" => Some(Sex::M),
            "F" => Some(Sex::F),
            _ => None,
        }
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            Sex::M => "男",
            Sex::F => "女",
        }
    }
}

/// A licence record that passed validation (see `record::RegistryRecord::validate`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Licence {
    pub number: LicenceNumber,
    pub name: String,
    pub sex: Sex,
    pub nationality: String,
    pub birth_date: NaiveDate,
    pub address: String,
    pub issuing_authority: String,
    pub classes: ClassSet,
    pub first_issued: NaiveDate,
    pub valid_from: NaiveDate,
    /// `None` is long-term validity (长期).
    pub valid_until: Option<NaiveDate>,
    /// Registry states, sorted, without duplicates.
    pub states: Vec<RegistryState>,
    pub points: u8,
    pub points_cycle_start: NaiveDate,
    pub medical_due: Option<NaiveDate>,
    pub review_due: Option<NaiveDate>,
}

/// The points a licence can hold in one scoring cycle before it is stopped.
pub const POINTS_LIMIT: u8 = 12;

impl Licence {
    /// Last day of the 12-month scoring cycle that starts on `points_cycle_start`.
    pub fn points_cycle_end(&self) -> NaiveDate {
        self.points_cycle_start
            .checked_add_months(Months::new(12))
            .and_then(|d| d.pred_opt())
            .unwrap_or(NaiveDate::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn licence_numbers_are_normalised_and_checked() {
        assert_eq!(
            LicenceNumber::parse(" 11010119900101123x ")
                .unwrap()
                .as_str(),
            "11010119900101123X"
        );
        assert!(LicenceNumber::parse("12345").is_err());
        assert!(LicenceNumber::parse(&"1".repeat(33)).is_err());
        assert!(LicenceNumber::parse("110101-19900101").is_err());
        assert!(
            LicenceNumber::parse("11010119900101123４").is_err(),
            "full-width digit"
        );
        assert!(LicenceNumber::parse("").is_err());
        assert!(LicenceNumber::parse("../../etc").is_err());
    }

    #[test]
    fn masking_hides_the_middle() {
        assert_eq!(
            mask_licence_number("110101199001011234"),
            "1101************34"
        );
        assert_eq!(mask_licence_number("ABCDEFG"), "ABCD*FG");
        assert_eq!(mask_licence_number("ABCDEF"), "******");
        let n = LicenceNumber::parse("110101199001011234").unwrap();
        assert_eq!(format!("{n:?}"), "LicenceNumber(1101************34)");
    }

    #[test]
    fn sex_codes() {
        assert_eq!(Sex::parse("M"), Some(Sex::M));
        assert_eq!(Sex::parse("F"), Some(Sex::F));
        assert_eq!(Sex::parse("m"), None);
        assert_eq!(Sex::parse("X"), None);
        assert_eq!(Sex::F.name_zh(), "女");
    }
}
