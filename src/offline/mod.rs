//! Offline verification of roadside codes, as a police terminal does it with our published
//! keys and no network: exactly the steps docs/code-format.md gives terminal vendors.
//!
//! No I/O here: keys arrive as JWKS bytes, images as bytes, and the time as an argument.
//! [`Verifier::verify`] checks one code the documented way; [`Verifier::verify_all`]
//! (`batch.rs`) checks many at once with batched signature verification and gives the same
//! verdicts. A status list (`status`) adds the revocations a terminal learned when it was
//! last online.

mod batch;
pub mod keys;
pub mod minimal;
pub mod scan;
pub mod status;

pub use batch::CHUNK;
pub use keys::{JwksError, KeySet};
pub use status::{ListInfo, Scope, StatusListCheck, StatusListSet};

use crate::domain::code::{CodeClaims, CODE_TYP};
use crate::domain::minimal::{MinimalClaims, MINIMAL_PREFIX};
use crate::domain::purpose::Purpose;
use crate::signing::cose::CoseError;
use crate::signing::{jws, JwsError};
use chrono::{DateTime, Utc};

/// Why a code is not valid. `code()` is the reason code, the same one the online check uses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// The header, the key or the signature.
    #[error(transparent)]
    Jws(#[from] JwsError),
    /// The prefix, the Base45, the COSE_Sign1, the key or the signature of a minimal code.
    #[error(transparent)]
    Cose(#[from] CoseError),
    /// A code we signed, for another purpose than the verifier's.
    #[error("the code was made for another purpose")]
    PurposeMismatch,
    /// A minimal code whose verdict at signing was "may not drive" (the reason is not said).
    #[error("the licence was not valid when the code was signed")]
    NotValidAtSigning,
    /// Signed by us, but the claims are not the documented ones.
    #[error("the claims are missing or malformed")]
    Claims,
    #[error("the code has expired")]
    Expired,
    /// A reason the licence could not be driven on when the code was signed (`s`).
    #[error("the licence was barred when the code was signed: {0}")]
    AtSigning(String),
    /// The status list marks the e-licence INVALID.
    #[error("the status list marks the e-licence revoked")]
    Revoked,
    /// The status list marks the e-licence SUSPENDED.
    #[error("the status list marks the e-licence suspended")]
    Suspended,
    /// The status list has no entry for the e-licence, or one we do not understand.
    #[error("the status list says nothing about this e-licence")]
    StatusUnknown,
    /// The status list is past its `exp`.
    #[error("the status list is stale")]
    StatusStale,
}

impl Invalid {
    pub fn code(&self) -> &str {
        match self {
            Invalid::Jws(e) => e.code(),
            Invalid::Cose(e) => e.code(),
            Invalid::PurposeMismatch => "purpose_mismatch",
            Invalid::NotValidAtSigning => "not_valid_now",
            Invalid::Claims => "malformed",
            Invalid::Expired => "expired",
            Invalid::AtSigning(reason) => reason,
            Invalid::Revoked => "revoked",
            Invalid::Suspended => "suspended",
            Invalid::StatusUnknown => "status_unknown",
            Invalid::StatusStale => "status_stale",
        }
    }
}

/// A check of the claims of a code whose signature verified. Checks run in order and push
/// every reason they find. The offline status list (`status::StatusListCheck`) is one more.
pub trait ClaimCheck: Send + Sync {
    fn check(&self, claims: &CodeClaims, now: DateTime<Utc>, reasons: &mut Vec<Invalid>);
}

/// `now < exp` (docs/code-format.md, step 5).
#[derive(Debug, Clone, Copy)]
pub struct NotExpired;

impl ClaimCheck for NotExpired {
    fn check(&self, claims: &CodeClaims, now: DateTime<Utc>, reasons: &mut Vec<Invalid>) {
        if claims.is_expired(now) {
            reasons.push(Invalid::Expired);
        }
    }
}

/// `s` must be `ok`: otherwise the licence was already barred from driving at signing, and
/// each blocking reason is reported (as online, where they are the live ones).
#[derive(Debug, Clone, Copy)]
pub struct DrivableAtSigning;

impl ClaimCheck for DrivableAtSigning {
    fn check(&self, claims: &CodeClaims, _now: DateTime<Utc>, reasons: &mut Vec<Invalid>) {
        reasons.extend(
            claims
                .status_reasons()
                .into_iter()
                .map(|r| Invalid::AtSigning(r.to_owned())),
        );
    }
}

/// What the terminal learns about one code.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Verdict {
    /// The key that signed it: set once the signature verified.
    pub key: Option<usize>,
    /// The claims: set only once the signature verified and the claims parsed, so nothing
    /// about a holder is ever shown from a code we did not sign.
    pub claims: Option<CodeClaims>,
    /// The claims of a minimal code, for a verifier of that purpose (same rule).
    pub minimal: Option<MinimalClaims>,
    /// Every reason the code is not valid; empty when it is.
    pub reasons: Vec<Invalid>,
}

impl Verdict {
    pub fn is_valid(&self) -> bool {
        self.reasons.is_empty()
    }

    fn refused(reason: impl Into<Invalid>) -> Verdict {
        Verdict {
            reasons: vec![reason.into()],
            ..Verdict::default()
        }
    }
}

/// The published keys, the purpose the codes must be for, and the checks applied after the
/// signature of a roadside code.
pub struct Verifier {
    keys: KeySet,
    purpose: Purpose,
    checks: Vec<Box<dyn ClaimCheck>>,
}

impl Verifier {
    /// A roadside verifier with the documented checks: expiry, then the status at signing.
    pub fn new(keys: KeySet) -> Verifier {
        Verifier::for_purpose(keys, Purpose::Roadside)
    }

    /// A verifier of the codes made for `purpose`. For a minimal purpose, the checks after
    /// the signature are fixed: expiry, then the verdict at signing.
    pub fn for_purpose(keys: KeySet, purpose: Purpose) -> Verifier {
        Verifier {
            keys,
            purpose,
            checks: vec![Box::new(NotExpired), Box::new(DrivableAtSigning)],
        }
    }

    pub fn purpose(&self) -> Purpose {
        self.purpose
    }

    /// Adds a check run after the documented ones (the seam for the offline status list).
    pub fn with_check(mut self, check: impl ClaimCheck + 'static) -> Verifier {
        self.checks.push(Box::new(check));
        self
    }

    pub fn keys(&self) -> &KeySet {
        &self.keys
    }

    /// Verifies one code, one step after the other as docs/code-format.md tells vendors:
    /// header (strict), key from our JWKS by `kid`, strict Ed25519 signature, claims, then the
    /// checks at `now`. The time is given, never read here.
    pub fn verify(&self, code: &str, now: DateTime<Utc>) -> Verdict {
        if self.purpose.is_minimal() {
            return self.verify_minimal(code, now);
        }
        if code.starts_with(MINIMAL_PREFIX) {
            return Verdict::refused(minimal::for_roadside(code, |kid| self.keys.get(kid)));
        }
        let verified = match jws::verify_with(code, CODE_TYP, |kid| self.keys.get(kid)) {
            Ok(v) => v,
            Err(e) => return Verdict::refused(e),
        };
        let key = self.keys.index_of(&verified.header.kid);
        self.after_signature(key, &verified.payload, now)
    }

    /// A minimal code, as docs/code-format.md ("Purposes") tells partners: prefix, Base45,
    /// COSE_Sign1 (strict), key by `kid`, signature, claims, purpose, then `now < exp` and the
    /// verdict at signing.
    fn verify_minimal(&self, code: &str, now: DateTime<Utc>) -> Verdict {
        let (kid, claims) = match minimal::read(code, self.purpose, |kid| self.keys.get(kid)) {
            Ok(read) => read,
            Err(e) => return Verdict::refused(e),
        };
        let mut reasons = Vec::new();
        if claims.is_expired(now) {
            reasons.push(Invalid::Expired);
        }
        if !claims.valid_at_signing {
            reasons.push(Invalid::NotValidAtSigning);
        }
        Verdict {
            key: self.keys.index_of(&kid),
            minimal: Some(claims),
            reasons,
            ..Verdict::default()
        }
    }

    /// Everything after a verified signature: the claims and the checks.
    fn after_signature(&self, key: Option<usize>, payload: &[u8], now: DateTime<Utc>) -> Verdict {
        let Ok(claims) = serde_json::from_slice::<CodeClaims>(payload) else {
            return Verdict {
                key,
                ..Verdict::refused(Invalid::Claims)
            };
        };
        let mut reasons = Vec::new();
        for check in &self.checks {
            check.check(&claims, now, &mut reasons);
        }
        Verdict {
            key,
            claims: Some(claims),
            reasons,
            minimal: None,
        }
    }
}

#[cfg(test)]
mod tests;
