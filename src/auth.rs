//! Bearer tokens: 256-bit random secrets, stored only as SHA-256 hashes, each with one role.
//! A fast hash is right here: the secret has 256 bits of entropy, so there is nothing for a
//! slow password hash to protect against, and every request pays for the lookup.

use crate::domain::licence::LicenceNumber;
use crate::domain::purpose::Purpose;
use crate::domain::role::{Binding, Role};
use crate::storage::licences::StoredLicence;
use crate::storage::tokens::TokenRow;
use crate::storage::{licences, tokens, DbConn, StorageError};
use base64::Engine;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

const TOKEN_PREFIX: &str = "elc_";

/// Who is calling, once their token checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub token_id: String,
    pub role: Role,
    /// Set exactly for holders: the one licence they may see.
    pub licence: Option<LicenceNumber>,
    pub label: Option<String>,
    /// Set exactly for clerks (their issuing authority) and partners (their purpose code).
    pub scope: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not known or was revoked")]
    InvalidToken,
    #[error("this route needs the {0:?} role")]
    Forbidden(Role),
    #[error("a holder token needs --licence; other roles take none")]
    LicenceBinding,
    #[error("a clerk token needs --authority, a partner token --purpose (rental, insurance or employment); other roles take neither")]
    ScopeBinding,
    #[error("no licence {0:?} in the registry")]
    UnknownLicence(LicenceNumber),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A freshly created token. `secret` is shown once and never stored.
#[derive(Debug, Clone)]
pub struct CreatedToken {
    pub id: String,
    pub secret: String,
}

pub fn hash_secret(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// Is `scope` what a token of `role` must carry? An authority is a non-blank name; a purpose
/// is a minimal one (police use officer tokens, never partner ones).
fn scope_fits(role: Role, scope: Option<&str>) -> bool {
    match (role.binding(), scope) {
        (Binding::Authority, Some(a)) => !a.trim().is_empty() && a.len() <= 200,
        (Binding::Purpose, Some(p)) => p.parse::<Purpose>().is_ok_and(Purpose::is_minimal),
        (Binding::None | Binding::Licence, None) => true,
        _ => false,
    }
}

/// What a token is bound to, besides its role.
#[derive(Debug, Clone, Default)]
pub struct TokenBinding<'a> {
    pub licence: Option<LicenceNumber>,
    /// A clerk's issuing authority or a partner's purpose code.
    pub scope: Option<&'a str>,
    pub label: Option<&'a str>,
}

pub fn create_token(
    conn: &mut DbConn,
    role: Role,
    licence: Option<LicenceNumber>,
    label: Option<&str>,
    now: DateTime<Utc>,
) -> Result<CreatedToken, AuthError> {
    create_bound_token(
        conn,
        role,
        TokenBinding {
            licence,
            scope: None,
            label,
        },
        now,
    )
}

pub fn create_bound_token(
    conn: &mut DbConn,
    role: Role,
    binding: TokenBinding<'_>,
    now: DateTime<Utc>,
) -> Result<CreatedToken, AuthError> {
    let TokenBinding {
        licence,
        scope,
        label,
    } = binding;
    if role.is_bound_to_licence() != licence.is_some() {
        return Err(AuthError::LicenceBinding);
    }
    if !scope_fits(role, scope) {
        return Err(AuthError::ScopeBinding);
    }
    if let Some(number) = &licence {
        if !licences::exists(conn, number)? {
            return Err(AuthError::UnknownLicence(number.clone()));
        }
    }
    let secret = format!(
        "{TOKEN_PREFIX}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<32>())
    );
    // 96 bits, as the other ids: with one token for each of 530 M holders, 48 bits would
    // make a collision (a failed creation on the primary key) all but certain.
    let id = format!("tok_{}", hex(&random_bytes::<12>()));
    tokens::insert(
        conn,
        &tokens::NewToken {
            id: &id,
            token_hash: &hash_secret(&secret),
            role: role.code(),
            licence_number: licence.as_ref().map(LicenceNumber::as_str),
            label,
            created_at: now.naive_utc(),
            scope,
        },
    )?;
    Ok(CreatedToken { id, secret })
}

/// Could this string be one of our secrets? Obviously foreign strings are refused before the
/// database is touched.
pub fn may_be_secret(secret: &str) -> bool {
    secret.starts_with(TOKEN_PREFIX) && secret.len() <= 128
}

/// Resolves a presented secret to its principal. Unknown and revoked tokens look the same to
/// the caller: both are simply not valid.
pub fn authenticate(conn: &mut DbConn, secret: &str) -> Result<Principal, AuthError> {
    if !may_be_secret(secret) {
        return Err(AuthError::InvalidToken);
    }
    let row = tokens::find_by_hash(conn, &hash_secret(secret))?.ok_or(AuthError::InvalidToken)?;
    principal_of(row)
}

/// [`authenticate`], and the licence the token names when it names one that is stored: one
/// statement (the holder routes' reads of their own licence).
pub fn authenticate_with_licence(
    conn: &mut DbConn,
    secret: &str,
) -> Result<(Principal, Option<StoredLicence>), AuthError> {
    if !may_be_secret(secret) {
        return Err(AuthError::InvalidToken);
    }
    let (row, licence) = tokens::find_by_hash_with_licence(conn, &hash_secret(secret))?
        .ok_or(AuthError::InvalidToken)?;
    Ok((principal_of(row)?, licence))
}

/// Who a stored token speaks for, unless it is revoked.
fn principal_of(row: TokenRow) -> Result<Principal, AuthError> {
    if row.revoked_at.is_some() {
        return Err(AuthError::InvalidToken);
    }
    let role = row.role;
    let licence = row
        .licence_number
        .as_deref()
        .map(LicenceNumber::parse)
        .transpose()
        .map_err(|_| StorageError::Corrupt(format!("token {}: licence number", row.id)))?;
    if role.is_bound_to_licence() && licence.is_none() {
        return Err(
            StorageError::Corrupt(format!("token {}: holder without licence", row.id)).into(),
        );
    }
    if !scope_fits(role, row.scope.as_deref()) {
        return Err(StorageError::Corrupt(format!("token {}: scope", row.id)).into());
    }
    Ok(Principal {
        token_id: row.id,
        role,
        licence,
        label: row.label,
        scope: row.scope,
    })
}

impl Principal {
    /// Access fails closed: exactly the named role passes.
    pub fn require(&self, role: Role) -> Result<(), AuthError> {
        if self.role == role {
            Ok(())
        } else {
            Err(AuthError::Forbidden(role))
        }
    }

    /// The holder's own licence; only holders have one.
    pub fn holder_licence(&self) -> Result<&LicenceNumber, AuthError> {
        self.require(Role::Holder)?;
        self.licence
            .as_ref()
            .ok_or(AuthError::Forbidden(Role::Holder))
    }

    /// A clerk's issuing authority; only clerks have one.
    pub fn clerk_authority(&self) -> Result<&str, AuthError> {
        self.require(Role::Clerk)?;
        self.scope
            .as_deref()
            .ok_or(AuthError::Forbidden(Role::Clerk))
    }

    /// A partner's purpose; only partners have one.
    pub fn partner_purpose(&self) -> Result<Purpose, AuthError> {
        self.require(Role::Partner)?;
        self.scope
            .as_deref()
            .and_then(|s| s.parse().ok())
            .ok_or(AuthError::Forbidden(Role::Partner))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_sha256_hex() {
        assert_eq!(
            hash_secret("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn principals_fail_closed() {
        let p = Principal {
            token_id: "t".into(),
            role: Role::Officer,
            licence: None,
            label: None,
            scope: None,
        };
        assert!(p.require(Role::Officer).is_ok());
        assert!(p.clerk_authority().is_err());
        assert!(p.partner_purpose().is_err());
        for other in [
            Role::Holder,
            Role::Reviewer,
            Role::Admin,
            Role::Clerk,
            Role::Partner,
        ] {
            assert!(matches!(p.require(other), Err(AuthError::Forbidden(_))));
        }
        assert!(p.holder_licence().is_err());
    }

    #[test]
    fn scopes_fit_their_roles_only() {
        assert!(scope_fits(Role::Clerk, Some("北京市公安局公安交通管理局")));
        assert!(!scope_fits(Role::Clerk, Some("  ")));
        assert!(!scope_fits(Role::Clerk, None));
        assert!(scope_fits(Role::Partner, Some("rental")));
        assert!(!scope_fits(Role::Partner, Some("roadside")));
        assert!(!scope_fits(Role::Partner, Some("police")));
        assert!(!scope_fits(Role::Partner, None));
        for r in [Role::Holder, Role::Reviewer, Role::Officer, Role::Admin] {
            assert!(scope_fits(r, None));
            assert!(!scope_fits(r, Some("rental")));
        }
    }
}
