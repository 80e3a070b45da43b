//! Who may call what. A token carries exactly one role.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A driver, bound to one licence; sees only that licence.
    Holder,
    /// Traffic police who review submitted photos.
    Reviewer,
    /// A police officer or enforcement terminal verifying codes at the roadside.
    Officer,
    /// Operates the service: registry upserts and audit.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Holder, Role::Reviewer, Role::Officer, Role::Admin];

    pub fn code(self) -> &'static str {
        match self {
            Role::Holder => "holder",
            Role::Reviewer => "reviewer",
            Role::Officer => "officer",
            Role::Admin => "admin",
        }
    }

    /// Holder tokens are bound to a licence; no other role is.
    pub fn is_bound_to_licence(self) -> bool {
        matches!(self, Role::Holder)
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.code() == s)
            .ok_or_else(|| format!("unknown role {s:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for r in Role::ALL {
            assert_eq!(r.code().parse::<Role>().unwrap(), r);
        }
        assert!("root".parse::<Role>().is_err());
        assert!("Admin".parse::<Role>().is_err());
    }

    #[test]
    fn only_holders_are_bound_to_a_licence() {
        let bound: Vec<_> = Role::ALL
            .into_iter()
            .filter(|r| r.is_bound_to_licence())
            .collect();
        assert_eq!(bound, vec![Role::Holder]);
    }
}
