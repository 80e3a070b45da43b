//! The states of an issued e-licence. At most one per licence is current; a superseded one
//! stays on file, and its codes verify as `superseded`.

use serde::Serialize;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    utoipa::ToSchema,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum ELicenceState {
    /// The licence's e-licence now: its codes may verify.
    Current,
    /// Ended by a registry event (renewal, new classes, new authority): kept, never valid.
    Superseded,
}

/// Where an e-licence was issued.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    utoipa::ToSchema,
    strum::EnumString,
    strum::IntoStaticStr,
    strum::VariantArray,
)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum IssuedVia {
    /// In the app: the photo on file, or an upload a reviewer approved.
    App,
    /// At the counter (车辆管理所), by a clerk.
    Counter,
}

impl ELicenceState {
    pub fn code(self) -> &'static str {
        self.into()
    }
}

impl IssuedVia {
    pub fn code(self) -> &'static str {
        self.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::VariantArray;

    #[test]
    fn codes_are_the_stored_and_wire_ones() {
        assert_eq!(ELicenceState::Current.code(), "current");
        assert_eq!(ELicenceState::Superseded.code(), "superseded");
        for s in ELicenceState::VARIANTS {
            assert_eq!(s.code().parse::<ELicenceState>(), Ok(*s));
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.code())
            );
        }
        assert!("Current".parse::<ELicenceState>().is_err());
        assert_eq!(IssuedVia::App.code(), "app");
        assert_eq!(IssuedVia::Counter.code(), "counter");
        for v in IssuedVia::VARIANTS {
            assert_eq!(v.code().parse::<IssuedVia>(), Ok(*v));
            assert_eq!(
                serde_json::to_string(v).unwrap(),
                format!("\"{}\"", v.code())
            );
        }
    }
}
