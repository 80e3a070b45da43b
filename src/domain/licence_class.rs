//! Licence classes (准驾车型) and the inclusion rules between them.
//!
//! A licence of a higher class may also drive the classes it covers: A1 covers A3, B1, B2,
//! C1, C2, C3, C4 and M, and so on. The table follows the Ministry of Public Security's
//! 准驾车型及代号 (2022 edition). Coverage is transitive; `covers` computes the closure.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LicenceClass {
    A1,
    A2,
    A3,
    B1,
    B2,
    C1,
    C2,
    C3,
    C4,
    C5,
    C6,
    D,
    E,
    F,
    M,
    N,
    P,
}

use LicenceClass::*;

impl LicenceClass {
    pub const ALL: [LicenceClass; 17] =
        [A1, A2, A3, B1, B2, C1, C2, C3, C4, C5, C6, D, E, F, M, N, P];

    pub fn code(self) -> &'static str {
        match self {
            A1 => "A1",
            A2 => "A2",
            A3 => "A3",
            B1 => "B1",
            B2 => "B2",
            C1 => "C1",
            C2 => "C2",
            C3 => "C3",
            C4 => "C4",
            C5 => "C5",
            C6 => "C6",
            D => "D",
            E => "E",
            F => "F",
            M => "M",
            N => "N",
            P => "P",
        }
    }

    /// The classes this one directly includes, as listed in the regulation.
    fn directly_covers(self) -> &'static [LicenceClass] {
        match self {
            A1 => &[A3, B1, B2, C1, C2, C3, C4, M],
            A2 => &[B1, B2, C1, C2, C3, C4, C6, M],
            A3 => &[C1, C2, C3, C4],
            B1 => &[C1, C2, C3, C4, M],
            B2 => &[C1, C2, C3, C4, M],
            C1 => &[C2, C3],
            C3 => &[C4],
            D => &[E, F],
            E => &[F],
            C2 | C4 | C5 | C6 | F | M | N | P => &[],
        }
    }

    /// May a holder of `self` drive vehicles of class `other`? Every class covers itself.
    pub fn covers(self, other: LicenceClass) -> bool {
        self == other || self.directly_covers().iter().any(|c| c.covers(other))
    }

    /// The class's bit in the codes' class claim ([`ClassBits`]): `1 << i` for
    /// [`LicenceClass::ALL`]`[i]`, A1 = 1 up to P = 65536.
    pub fn bit(self) -> u32 {
        // The variants are declared in the order of `ALL` (a test holds them to it).
        1 << (self as u32)
    }

    /// Professional classes need a periodic review (审验) every year.
    pub fn is_professional(self) -> bool {
        matches!(self, A1 | A2 | A3 | B1 | B2 | N | P)
    }

    pub fn name_zh(self) -> &'static str {
        match self {
            A1 => "大型客车",
            A2 => "重型牵引挂车",
            A3 => "城市公交车",
            B1 => "中型客车",
            B2 => "大型货车",
            C1 => "小型汽车",
            C2 => "小型自动挡汽车",
            C3 => "低速载货汽车",
            C4 => "三轮汽车",
            C5 => "残疾人专用小型自动挡载客汽车",
            C6 => "轻型牵引挂车",
            D => "普通三轮摩托车",
            E => "普通二轮摩托车",
            F => "轻便摩托车",
            M => "轮式专用机械车",
            N => "无轨电车",
            P => "有轨电车",
        }
    }

    pub fn name_en(self) -> &'static str {
        match self {
            A1 => "Large bus",
            A2 => "Tractor-trailer",
            A3 => "City bus",
            B1 => "Medium bus",
            B2 => "Large truck",
            C1 => "Small car",
            C2 => "Small automatic car",
            C3 => "Low-speed truck",
            C4 => "Three-wheeled car",
            C5 => "Automatic car for disabled drivers",
            C6 => "Light trailer combination",
            D => "Three-wheeled motorcycle",
            E => "Two-wheeled motorcycle",
            F => "Light motorcycle",
            M => "Wheeled machinery",
            N => "Trolleybus",
            P => "Tram",
        }
    }
}

impl fmt::Display for LicenceClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown licence class {0:?}")]
pub struct UnknownClass(pub String);

impl FromStr for LicenceClass {
    type Err = UnknownClass;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LicenceClass::ALL
            .into_iter()
            .find(|c| c.code() == s)
            .ok_or_else(|| UnknownClass(s.to_owned()))
    }
}

/// The set of classes one licence carries, in canonical order without duplicates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassSet(Vec<LicenceClass>);

impl ClassSet {
    /// Builds a set; `None` when it would be empty (a licence always has a class).
    pub fn new(classes: impl IntoIterator<Item = LicenceClass>) -> Option<Self> {
        let mut v: Vec<_> = classes.into_iter().collect();
        v.sort();
        v.dedup();
        (!v.is_empty()).then_some(ClassSet(v))
    }

    pub fn as_slice(&self) -> &[LicenceClass] {
        &self.0
    }

    /// May this licence drive a vehicle of class `wanted`?
    pub fn may_drive(&self, wanted: LicenceClass) -> bool {
        self.0.iter().any(|c| c.covers(wanted))
    }

    /// Every class this licence may drive, its own and the ones they cover.
    pub fn drivable(&self) -> Vec<LicenceClass> {
        LicenceClass::ALL
            .into_iter()
            .filter(|c| self.may_drive(*c))
            .collect()
    }

    /// Storage form: codes joined by commas ("C1,D").
    pub fn to_codes(&self) -> String {
        self.0
            .iter()
            .map(|c| c.code())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn from_codes(s: &str) -> Result<Self, UnknownClass> {
        let classes = s
            .split(',')
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect::<Result<Vec<_>, _>>()?;
        ClassSet::new(classes).ok_or_else(|| UnknownClass(s.to_owned()))
    }
}

/// What a terminal shows for a class bit it has no class for (a class newer than its table).
pub const OTHER_CLASS: &str = "other";

/// A licence's classes as the codes carry them: one bit a class, bit `i` for
/// [`LicenceClass::ALL`]`[i]` (A1 = 1, A2 = 2, …, C1 = 32, …, D = 2048, …, P = 65536), so
/// `C1,D` is 2080. The table is fixed for good (terminals decode with it,
/// docs/code-format.md "Class bits"); a class a future regulation adds takes the next bit.
///
/// A number, because the codes have no room for the codes' text: all 17 classes take six
/// digits where "A1,A2,…,P" takes 48 bytes, and a licence of nine classes or more made a
/// roadside code too large for QR version 15 however short its name was cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct ClassBits(u32);

impl ClassBits {
    pub fn of(set: &ClassSet) -> ClassBits {
        ClassBits(set.as_slice().iter().fold(0, |bits, c| bits | c.bit()))
    }

    /// The bits as a code carries them; `None` for 0 (a licence always has a class).
    pub fn from_bits(bits: u32) -> Option<ClassBits> {
        (bits != 0).then_some(ClassBits(bits))
    }

    pub fn bits(self) -> u32 {
        self.0
    }

    /// The classes of the table whose bits are set, in table order.
    pub fn classes(self) -> Vec<LicenceClass> {
        LicenceClass::ALL
            .into_iter()
            .filter(|c| self.0 & c.bit() != 0)
            .collect()
    }

    /// Is a bit set that names no class of the table?
    pub fn has_unknown(self) -> bool {
        self.0 >> LicenceClass::ALL.len() != 0
    }

    /// The class codes as a terminal shows them: the known ones in table order, then
    /// [`OTHER_CLASS`] once if any bit names no class of the table.
    pub fn codes(self) -> Vec<&'static str> {
        let mut codes: Vec<&'static str> = self.classes().into_iter().map(|c| c.code()).collect();
        if self.has_unknown() {
            codes.push(OTHER_CLASS);
        }
        codes
    }
}

/// The codes comma-separated, as the registry writes them: "C1,D".
impl fmt::Display for ClassBits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.codes().join(","))
    }
}

impl<'de> Deserialize<'de> for ClassBits {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bits = u32::deserialize(d)?;
        ClassBits::from_bits(bits)
            .ok_or_else(|| serde::de::Error::custom("a licence has at least one class"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_covers_itself() {
        for c in LicenceClass::ALL {
            assert!(c.covers(c), "{c}");
        }
    }

    #[test]
    fn a1_covers_exactly_the_listed_classes() {
        let covered: Vec<_> = LicenceClass::ALL
            .into_iter()
            .filter(|c| A1.covers(*c))
            .collect();
        assert_eq!(covered, vec![A1, A3, B1, B2, C1, C2, C3, C4, M]);
    }

    #[test]
    fn b2_covers_small_cars_and_machinery() {
        let covered: Vec<_> = LicenceClass::ALL
            .into_iter()
            .filter(|c| B2.covers(*c))
            .collect();
        assert_eq!(covered, vec![B2, C1, C2, C3, C4, M]);
    }

    #[test]
    fn c1_covers_c2_and_c3_and_through_c3_c4() {
        assert!(C1.covers(C2));
        assert!(C1.covers(C3));
        assert!(C1.covers(C4));
        assert!(!C1.covers(C5));
        assert!(!C1.covers(C6));
        assert!(!C1.covers(B2));
    }

    #[test]
    fn a2_covers_light_trailers_but_not_buses() {
        assert!(A2.covers(C6));
        assert!(!A2.covers(A1));
        assert!(!A2.covers(A3));
    }

    #[test]
    fn motorcycles_form_their_own_chain() {
        assert!(D.covers(E) && D.covers(F) && E.covers(F));
        assert!(!E.covers(D) && !F.covers(E));
        assert!(!C1.covers(E), "a car licence does not cover motorcycles");
    }

    #[test]
    fn lower_classes_never_cover_higher_ones() {
        for low in [C1, C2, C3, C4, C5, C6, F, M, N, P] {
            for high in [A1, A2, A3, B1, B2] {
                assert!(!low.covers(high), "{low} must not cover {high}");
            }
        }
    }

    #[test]
    fn leaf_classes_cover_only_themselves() {
        for leaf in [C2, C4, C5, C6, F, M, N, P] {
            let covered: Vec<_> = LicenceClass::ALL
                .into_iter()
                .filter(|c| leaf.covers(*c))
                .collect();
            assert_eq!(covered, vec![leaf]);
        }
    }

    #[test]
    fn coverage_is_transitive_and_antisymmetric() {
        for a in LicenceClass::ALL {
            for b in LicenceClass::ALL {
                if a != b && a.covers(b) {
                    assert!(!b.covers(a), "{a} and {b} cover each other");
                }
                for c in LicenceClass::ALL {
                    if a.covers(b) && b.covers(c) {
                        assert!(a.covers(c), "{a} covers {b} covers {c}");
                    }
                }
            }
        }
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_are_refused() {
        for c in LicenceClass::ALL {
            assert_eq!(c.code().parse::<LicenceClass>().unwrap(), c);
        }
        assert!("c1".parse::<LicenceClass>().is_err());
        assert!("Z".parse::<LicenceClass>().is_err());
        assert!("".parse::<LicenceClass>().is_err());
    }

    #[test]
    fn class_set_is_sorted_deduplicated_and_never_empty() {
        let set = ClassSet::new([D, C1, C1]).unwrap();
        assert_eq!(set.as_slice(), &[C1, D]);
        assert_eq!(set.to_codes(), "C1,D");
        assert_eq!(ClassSet::from_codes("C1,D").unwrap(), set);
        assert!(ClassSet::new([]).is_none());
        assert!(ClassSet::from_codes("").is_err());
        assert!(ClassSet::from_codes("C1,X9").is_err());
    }

    #[test]
    fn class_set_may_drive_through_any_member() {
        let set = ClassSet::new([B2, E]).unwrap();
        assert!(set.may_drive(C1));
        assert!(set.may_drive(F));
        assert!(!set.may_drive(D));
        assert!(!set.may_drive(A1));
        assert_eq!(set.drivable(), vec![B2, C1, C2, C3, C4, E, F, M]);
    }

    #[test]
    fn professional_classes() {
        let pro: Vec<_> = LicenceClass::ALL
            .into_iter()
            .filter(|c| c.is_professional())
            .collect();
        assert_eq!(pro, vec![A1, A2, A3, B1, B2, N, P]);
    }

    #[test]
    fn class_bits_follow_the_fixed_table() {
        for (i, c) in LicenceClass::ALL.into_iter().enumerate() {
            assert_eq!(c.bit(), 1 << i, "{c}");
        }
        // The values docs/code-format.md lists: a change here breaks every terminal.
        let pinned = [
            (A1, 1),
            (A2, 2),
            (B2, 16),
            (C1, 32),
            (C6, 1024),
            (D, 2048),
            (P, 65536),
        ];
        for (c, bit) in pinned {
            assert_eq!(c.bit(), bit, "{c}");
        }
        let c1_d = ClassSet::new([D, C1]).unwrap();
        assert_eq!(ClassBits::of(&c1_d).bits(), 2080);
        assert_eq!(ClassBits::of(&c1_d).to_string(), "C1,D");
        let all = ClassSet::new(LicenceClass::ALL).unwrap();
        assert_eq!(ClassBits::of(&all).bits(), 0x1FFFF, "six digits at most");
    }

    #[test]
    fn class_bits_round_trip_every_set_and_unknown_bits_read_as_other() {
        for bits in 1..(1u32 << LicenceClass::ALL.len()) {
            let b = ClassBits::from_bits(bits).unwrap();
            assert!(!b.has_unknown());
            let set = ClassSet::new(b.classes()).unwrap();
            assert_eq!(ClassBits::of(&set), b);
            assert_eq!(ClassSet::from_codes(&b.to_string()).unwrap(), set);
        }
        assert_eq!(ClassBits::from_bits(0), None);
        let newer = ClassBits::from_bits(C1.bit() | 1 << 17 | 1 << 30).unwrap();
        assert!(newer.has_unknown());
        assert_eq!(newer.classes(), [C1]);
        assert_eq!(newer.codes(), ["C1", OTHER_CLASS], "other once");
        let only_newer = ClassBits::from_bits(1 << 20).unwrap();
        assert_eq!(only_newer.codes(), [OTHER_CLASS]);
    }

    #[test]
    fn class_bits_are_a_positive_json_integer() {
        let b: ClassBits = serde_json::from_str("2080").unwrap();
        assert_eq!(b.to_string(), "C1,D");
        assert_eq!(serde_json::to_string(&b).unwrap(), "2080");
        for bad in ["0", "-1", "\"C1,D\"", "4294967296", "1.5", "null"] {
            assert!(serde_json::from_str::<ClassBits>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_class_has_names() {
        for c in LicenceClass::ALL {
            assert!(!c.name_zh().is_empty() && !c.name_en().is_empty());
        }
    }
}
