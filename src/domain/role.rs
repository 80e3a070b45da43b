//! Who may call what. A token carries exactly one role.

use serde::Deserialize;
use strum::{EnumCount, VariantArray};

super::code_enum! {
    #[derive(Deserialize, clap::ValueEnum, utoipa::ToSchema, strum::EnumCount)]
    #[strum(parse_err_ty = String, parse_err_fn = unknown_role)]
    pub enum Role {
        /// A driver, bound to one licence; sees only that licence.
        Holder,
        /// Traffic police who review submitted photos.
        Reviewer,
        /// A police officer or enforcement terminal verifying codes at the roadside.
        Officer,
        /// Operates the service: registry upserts and audit.
        Admin,
        /// A clerk at a vehicle administration office (车辆管理所), bound to one issuing
        /// authority: serves holders of that authority's licences at the counter.
        Clerk,
        /// A business that checks a driving qualification (car rental, insurer, employer), bound
        /// to one purpose: verifies that purpose's minimal codes only.
        Partner,
    }
}

/// What a token of a role is bound to, besides the role itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// Nothing: the role alone decides (reviewer, officer, admin).
    None,
    /// One licence (holders).
    Licence,
    /// One issuing authority (clerks), kept in the token's scope.
    Authority,
    /// One minimal purpose (partners), kept in the token's scope.
    Purpose,
}

impl Role {
    pub const ALL: [Role; Role::COUNT] = super::variants(Self::VARIANTS);

    pub fn binding(self) -> Binding {
        match self {
            Role::Holder => Binding::Licence,
            Role::Clerk => Binding::Authority,
            Role::Partner => Binding::Purpose,
            Role::Reviewer | Role::Officer | Role::Admin => Binding::None,
        }
    }

    /// Holder tokens are bound to a licence; no other role is.
    pub fn is_bound_to_licence(self) -> bool {
        self.binding() == Binding::Licence
    }
}

fn unknown_role(s: &str) -> String {
    format!("unknown role {s:?}")
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

    #[test]
    fn clerks_are_bound_to_an_authority_and_partners_to_a_purpose() {
        assert_eq!(Role::Clerk.binding(), Binding::Authority);
        assert_eq!(Role::Partner.binding(), Binding::Purpose);
        for r in [Role::Reviewer, Role::Officer, Role::Admin] {
            assert_eq!(r.binding(), Binding::None);
        }
    }
}
