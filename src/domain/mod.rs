//! Pure domain rules: no I/O, no clock, no database. Everything here is unit-tested.

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
