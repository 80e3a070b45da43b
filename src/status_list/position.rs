//! Where an e-licence's entry is: a list and an index in it, both carried in the one integer
//! claim `e` of its codes (docs/code-format.md, "Claims"), so the roadside code does not grow.
//!
//! `e = list × 2^20 + index`; a terminal splits it with `list = e >> 20` and
//! `index = e & 0xFFFFF`. A nine-digit `e` (what the QR-size guarantee assumes) reaches list
//! 953: with lists given out up to 75 % full, about 750 million e-licences.

/// Bits of `e` that hold the index.
pub const INDEX_BITS: u32 = 20;
/// Entries in every list: 2^20, 256 KiB at two bits before compression.
pub const LIST_SIZE: u32 = 1 << INDEX_BITS;
/// A list takes new e-licences until this many of its indexes are given out (75 %). An index
/// is drawn at random among the free ones, so past this point a draw would need more than
/// four tries on average; and a list with a quarter of its indexes never used keeps anyone
/// from telling which of its indexes are real e-licences.
pub const LIST_FILL: u32 = LIST_SIZE / 4 * 3;

/// A list and an index in it (`index < LIST_SIZE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Position {
    list: u32,
    index: u32,
}

impl Position {
    /// `None` when the index is outside a list or the list past what the database holds.
    pub fn new(list: u32, index: u32) -> Option<Position> {
        (index < LIST_SIZE && i32::try_from(list).is_ok()).then_some(Position { list, index })
    }

    /// The position a code's `e` names; `None` for a negative `e` or a list past the last one
    /// the database can hold.
    pub fn from_e(e: i64) -> Option<Position> {
        let e = u64::try_from(e).ok()?;
        let list = u32::try_from(e >> INDEX_BITS).ok()?;
        Position::new(list, (e & u64::from(LIST_SIZE - 1)) as u32)
    }

    /// The position as stored (two `INTEGER` columns); `None` when out of range.
    pub fn from_columns(list: i32, index: i32) -> Option<Position> {
        Position::new(u32::try_from(list).ok()?, u32::try_from(index).ok()?)
    }

    pub fn list(self) -> u32 {
        self.list
    }

    pub fn index(self) -> u32 {
        self.index
    }

    /// The `e` claim of the e-licence's codes.
    pub fn e(self) -> i64 {
        (i64::from(self.list) << INDEX_BITS) | i64::from(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn e_splits_as_the_documentation_says() {
        let p = Position::from_e(3 * 1_048_576 + 17).unwrap();
        assert_eq!((p.list(), p.index()), (3, 17));
        assert_eq!(p.e(), 3_145_745);
        // Existing codes: `e` was the serial, and stays the same number.
        let p = Position::from_e(1).unwrap();
        assert_eq!((p.list(), p.index()), (0, 1));
        assert_eq!(Position::from_e(-1), None);
        assert_eq!(Position::new(0, LIST_SIZE), None);
        assert_eq!(Position::from_columns(-1, 0), None);
        // The largest nine-digit `e` is in list 953.
        assert_eq!(Position::from_e(999_999_999).unwrap().list(), 953);
        assert_eq!(u64::from(LIST_FILL) * 953, 749_469_696);
    }

    proptest! {
        #[test]
        fn list_and_index_round_trip_through_e(list in 0u32..=i32::MAX as u32, index in 0u32..LIST_SIZE) {
            let p = Position::new(list, index).unwrap();
            prop_assert_eq!(Position::from_e(p.e()), Some(p));
            prop_assert_eq!(p.e() >> 20, i64::from(list));
            prop_assert_eq!(p.e() & 0xFFFFF, i64::from(index));
        }
    }
}
