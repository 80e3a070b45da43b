//! Pure domain rules: no I/O, no clock, no database. Everything here is unit-tested.

pub mod calendar;
pub mod code;
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
