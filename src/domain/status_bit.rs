//! The status claim's bits: each reason that bars a licence from driving, as the bit the
//! roadside code's `s` carries it in (docs/code-format.md, "Status bits"). Terminals decode
//! with these bits, so they are fixed for good. Which reason has which bit is an exhaustive
//! `match` ([`StatusBit::of`]): a new registry state does not compile until it is given a bit
//! or, explicitly, the documented fallback [`STATUS_OTHER_BIT`]; it can never travel as
//! `other` by accident.

use super::eligibility::Reason;
use super::registry_state::RegistryState;
use strum::VariantArray;

/// The status claim of a licence that may drive: no reason bit set.
pub const STATUS_OK: u32 = 0;

/// Sent for a reason that has no bit of its own ([`StatusBit::of`] gives `None`): the code is
/// barred all the same, and the online check names the reason. Terminals show it, and any
/// bit they have no name for, as [`STATUS_OTHER`].
pub const STATUS_OTHER_BIT: u32 = 1 << 31;

/// What a terminal shows for a reason bit it has no name for.
pub const STATUS_OTHER: &str = "other";

/// A reason the status claim can carry: variant `i` is bit `2^i` and is named by its code.
/// Bits 0 to 15 are all taken, which keeps `s` within five digits however many reasons apply
/// (their names could take 60 bytes of a 154-byte budget); a sixteenth bit costs a digit of
/// every barred code, the fallback costs nothing but the reason's name offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr, strum::VariantArray)]
#[strum(serialize_all = "snake_case")]
pub enum StatusBit {
    NotYetValid = 0,
    Expired = 1,
    Detained = 2,
    Seized = 3,
    Suspended = 4,
    OverdueMedical = 5,
    OverdueReview = 6,
    AnnouncedVoid = 7,
    Revoked = 8,
    Withdrawn = 9,
    Cancelled = 10,
    CancelledRecoverable = 11,
    TransferredOut = 12,
    Locked = 13,
    OverdueRenewal = 14,
    PointsLimit = 15,
}

impl StatusBit {
    /// The bit's value in `s`: `2^i` for bit `i`.
    pub fn value(self) -> u32 {
        1 << self as u32
    }

    /// The reason's code, as terminals show it (`docs/code-format.md`).
    pub fn code(self) -> &'static str {
        self.into()
    }

    /// Every bit that names a reason; any other bit set in `s` reads as [`STATUS_OTHER`].
    pub fn known_mask() -> u32 {
        Self::VARIANTS.iter().fold(0, |mask, b| mask | b.value())
    }

    /// The bit of a blocking reason, or `None` for the documented fallback
    /// ([`STATUS_OTHER_BIT`]; docs/code-format.md names each reason sent so). No reason is
    /// sent so today. Exhaustive on purpose, with no wildcard: see the module's comment.
    pub fn of(reason: &Reason) -> Option<StatusBit> {
        let state = match reason {
            Reason::NotYetValid { .. } => return Some(StatusBit::NotYetValid),
            Reason::Expired { .. } => return Some(StatusBit::Expired),
            Reason::PointsLimit { .. } => return Some(StatusBit::PointsLimit),
            Reason::Registry(state) => state,
        };
        Some(match state {
            RegistryState::Detained => StatusBit::Detained,
            RegistryState::Seized => StatusBit::Seized,
            RegistryState::Suspended => StatusBit::Suspended,
            RegistryState::OverdueMedical => StatusBit::OverdueMedical,
            RegistryState::OverdueReview => StatusBit::OverdueReview,
            RegistryState::AnnouncedVoid => StatusBit::AnnouncedVoid,
            RegistryState::Revoked => StatusBit::Revoked,
            RegistryState::Withdrawn => StatusBit::Withdrawn,
            RegistryState::Cancelled => StatusBit::Cancelled,
            RegistryState::CancelledRecoverable => StatusBit::CancelledRecoverable,
            RegistryState::TransferredOut => StatusBit::TransferredOut,
            RegistryState::Locked => StatusBit::Locked,
            RegistryState::OverdueRenewal => StatusBit::OverdueRenewal,
        })
    }
}

/// The status claim of these blocking reasons (none: [`STATUS_OK`]).
pub fn status_bits<'r>(reasons: impl IntoIterator<Item = &'r Reason>) -> u32 {
    reasons.into_iter().fold(STATUS_OK, |bits, r| {
        bits | StatusBit::of(r).map_or(STATUS_OTHER_BIT, StatusBit::value)
    })
}

/// The reason codes of a status claim, in bit order; empty for [`STATUS_OK`]. Bits without a
/// name read as [`STATUS_OTHER`], once.
pub fn status_reasons(status: u32) -> Vec<&'static str> {
    let mut reasons: Vec<&'static str> = StatusBit::VARIANTS
        .iter()
        .filter(|b| status & b.value() != 0)
        .map(|b| b.code())
        .collect();
    if status & !StatusBit::known_mask() != 0 {
        reasons.push(STATUS_OTHER);
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    const CODE_FORMAT: &str = include_str!("../../docs/code-format.md");

    fn every_reason() -> Vec<Reason> {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let mut every = vec![
            Reason::NotYetValid { from: day },
            Reason::Expired { on: day },
            Reason::PointsLimit { points: 12 },
        ];
        every.extend(RegistryState::ALL.map(Reason::Registry));
        every
    }

    #[test]
    fn every_registry_state_has_its_own_bit_or_the_documented_fallback() {
        for state in RegistryState::ALL {
            match StatusBit::of(&Reason::Registry(state)) {
                Some(bit) => assert_eq!(bit.code(), state.code(), "{state:?}"),
                None => assert!(
                    CODE_FORMAT.contains(&format!("`{}` is sent as bit 31", state.code())),
                    "{state:?} falls back to bit 31: docs/code-format.md must say so"
                ),
            }
        }
    }

    #[test]
    fn every_reason_is_named_by_its_bit() {
        for reason in every_reason() {
            let bit = StatusBit::of(&reason).expect("no reason falls back today");
            assert_eq!(bit.code(), reason.code());
            assert_eq!(status_reasons(status_bits([&reason])), [reason.code()]);
        }
    }

    #[test]
    fn the_bits_are_distinct_in_order_and_the_documented_ones() {
        for (i, bit) in StatusBit::VARIANTS.iter().enumerate() {
            assert_eq!(*bit as usize, i, "{bit:?}: no gap, no repeat");
            let row = format!("| {i} | {} | `{}`", bit.value(), bit.code());
            assert!(
                CODE_FORMAT.contains(&row),
                "docs/code-format.md lacks {row}"
            );
        }
        assert_eq!(StatusBit::known_mask(), 0xFFFF, "five digits at most");
        assert_eq!(StatusBit::known_mask() & STATUS_OTHER_BIT, 0);
        assert_eq!(status_bits(&every_reason()), 0xFFFF);
    }

    #[test]
    fn unnamed_bits_read_as_other_once() {
        let status = StatusBit::Suspended.value() | STATUS_OTHER_BIT | (1 << 20);
        assert_eq!(status_reasons(status), ["suspended", STATUS_OTHER]);
        assert!(status_reasons(STATUS_OK).is_empty());
    }
}
