//! Bearer tokens: 256-bit random secrets, stored only as SHA-256 hashes, each with one role.
//! A fast hash is right here: the secret has 256 bits of entropy, so there is nothing for a
//! slow password hash to protect against, and every request pays for the lookup.

use crate::domain::licence::LicenceNumber;
use crate::domain::role::Role;
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
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the token is not known or was revoked")]
    InvalidToken,
    #[error("this route needs the {0:?} role")]
    Forbidden(Role),
    #[error("a holder token needs --licence; other roles take none")]
    LicenceBinding,
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

pub fn create_token(
    conn: &mut DbConn,
    role: Role,
    licence: Option<LicenceNumber>,
    label: Option<&str>,
    now: DateTime<Utc>,
) -> Result<CreatedToken, AuthError> {
    if role.is_bound_to_licence() != licence.is_some() {
        return Err(AuthError::LicenceBinding);
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
    let id = format!("tok_{}", hex(&random_bytes::<6>()));
    tokens::insert(
        conn,
        &tokens::NewToken {
            id: &id,
            token_hash: &hash_secret(&secret),
            role: role.code(),
            licence_number: licence.as_ref().map(LicenceNumber::as_str),
            label,
            created_at: now.naive_utc(),
        },
    )?;
    Ok(CreatedToken { id, secret })
}

/// Resolves a presented secret to its principal. Unknown and revoked tokens look the same to
/// the caller: both are simply not valid.
pub fn authenticate(conn: &mut DbConn, secret: &str) -> Result<Principal, AuthError> {
    // Refuse obviously foreign strings before touching the database.
    if !secret.starts_with(TOKEN_PREFIX) || secret.len() > 128 {
        return Err(AuthError::InvalidToken);
    }
    let row = tokens::find_by_hash(conn, &hash_secret(secret))?.ok_or(AuthError::InvalidToken)?;
    if row.revoked_at.is_some() {
        return Err(AuthError::InvalidToken);
    }
    let role: Role = row
        .role
        .parse()
        .map_err(|e: String| StorageError::Corrupt(format!("token {}: {e}", row.id)))?;
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
    Ok(Principal {
        token_id: row.id,
        role,
        licence,
        label: row.label,
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
        };
        assert!(p.require(Role::Officer).is_ok());
        for other in [Role::Holder, Role::Reviewer, Role::Admin] {
            assert!(matches!(p.require(other), Err(AuthError::Forbidden(_))));
        }
        assert!(p.holder_licence().is_err());
    }
}
