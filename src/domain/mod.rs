//! Pure domain rules: no I/O, no clock, no database. Everything here is unit-tested.

/// Declares a closed set of codes: the enum with serde's and strum's derives (`Serialize`,
/// `FromStr`, `Into<&'static str>`, `VARIANTS`), all spelling each variant in snake_case, and
/// `code()`, the one spelling stored and sent. Attributes before `pub enum` (docs, more
/// derives) are kept.
macro_rules! code_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $($(#[$vmeta:meta])* $variant:ident,)+ }
    ) => {
        #[derive(
            Debug,
            Clone,
            Copy,
            PartialEq,
            Eq,
            Hash,
            serde::Serialize,
            strum::EnumString,
            strum::IntoStaticStr,
            strum::VariantArray,
        )]
        $(#[$meta])*
        #[serde(rename_all = "snake_case")]
        #[strum(serialize_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub fn code(self) -> &'static str {
                self.into()
            }
        }
    };
}
pub(crate) use code_enum;

pub mod calendar;
pub mod code;
pub mod e_licence;
pub mod eligibility;
pub mod licence;
pub mod licence_class;
pub mod minimal;
pub mod photo_rules;
pub mod purpose;
pub mod record;
pub mod registry_event;
pub mod registry_state;
pub mod role;
pub mod scan;
pub mod status_bit;
pub mod submission;

/// A closed set's variants as an array, taken from strum's `VariantArray` so that no list is
/// kept by hand: `ALL` stays an array (callers map, index and count it), and a length that is
/// not the number of variants stops the build.
pub(crate) const fn variants<T: Copy, const N: usize>(all: &[T]) -> [T; N] {
    match all.first_chunk::<N>() {
        Some(first) if all.len() == N => *first,
        _ => panic!("an `ALL` array's length is not the number of variants"),
    }
}

#[cfg(test)]
pub(crate) mod code_enum_tests {
    use serde::Serialize;
    use std::fmt::Debug;
    use std::str::FromStr;

    /// The variants' codes are `stored`, in order, and each parses and serialises as itself.
    pub fn assert_codes<T>(variants: &[T], stored: &[&str])
    where
        T: Copy + Debug + PartialEq + Serialize + FromStr + Into<&'static str>,
    {
        let codes: Vec<&'static str> = variants.iter().map(|v| (*v).into()).collect();
        assert_eq!(codes, stored, "the stored codes");
        for (v, code) in variants.iter().zip(stored) {
            assert!(code.parse::<T>().is_ok_and(|p| p == *v), "{code}");
            assert_eq!(serde_json::to_string(v).unwrap(), format!("\"{code}\""));
        }
    }
}
