//! The offline status list as a check on codes (the [`ClaimCheck`] seam): the list is
//! verified with the terminal's keys, then each code's `e` is looked up in it.
//!
//! What it adds to a verdict, after the documented checks:
//! - `revoked`: the entry is INVALID (0x01); `suspended`: SUSPENDED (0x02), unless the code
//!   already carries `suspended` from its status at signing;
//! - `status_unknown`: the serial is past the end of the list (an e-licence newer than the
//!   list, or a list that is not the right one) or its entry holds a value we never write:
//!   the draft says no statement can be made, and the code is refused;
//! - `status_stale`: the list is past its `exp` at the instant of the check. The code is
//!   still looked up, but the list no longer vouches for anything, so the code is refused.

use super::{ClaimCheck, Invalid, KeySet};
use crate::domain::code::CodeClaims;
use crate::status_list::token::{self, TokenError};
use crate::status_list::{Bits, Limits, Status, StatusList};
use chrono::{DateTime, Utc};

/// What a terminal shows about the list it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListInfo {
    pub sub: String,
    pub kid: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ttl_secs: u64,
    pub bits: Bits,
    pub entries: u64,
}

impl ListInfo {
    /// `now` − `iat` (negative when the list claims to come from the future).
    pub fn age(&self, now: DateTime<Utc>) -> chrono::Duration {
        now - self.issued_at
    }

    /// Past its `exp`: good up to, not including, that second.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        now >= self.expires_at
    }
}

/// A verified status list, ready to check codes against.
#[derive(Debug, Clone)]
pub struct StatusListCheck {
    info: ListInfo,
    list: StatusList,
}

impl StatusListCheck {
    /// Verifies a status list token with the published keys (strict, as a code: EdDSA, our
    /// `kid`, typ `statuslist+jwt`) and inflates it under the default limits.
    pub fn from_token(token: &str, keys: &KeySet) -> Result<StatusListCheck, TokenError> {
        let v = token::verify(token, |kid| keys.get(kid), Limits::DEFAULT)?;
        let (Some(issued_at), Some(expires_at)) = (v.claims.issued_at(), v.claims.expires_at())
        else {
            return Err(TokenError::Claims("iat or exp is out of range".into()));
        };
        Ok(StatusListCheck {
            info: ListInfo {
                sub: v.claims.sub,
                kid: v.kid,
                issued_at,
                expires_at,
                ttl_secs: v.claims.ttl,
                bits: v.list.bits(),
                entries: v.list.len(),
            },
            list: v.list,
        })
    }

    pub fn info(&self) -> &ListInfo {
        &self.info
    }

    /// The entry of e-licence `serial`, or `None` past the end of the list.
    pub fn status_of(&self, serial: i64) -> Option<u8> {
        u64::try_from(serial).ok().and_then(|i| self.list.get(i))
    }
}

impl ClaimCheck for StatusListCheck {
    fn check(&self, claims: &CodeClaims, now: DateTime<Utc>, reasons: &mut Vec<Invalid>) {
        if self.info.is_stale(now) {
            reasons.push(Invalid::StatusStale);
        }
        match self.status_of(claims.e_licence).map(Status::from_value) {
            Some(Some(Status::Valid)) => {}
            Some(Some(Status::Invalid)) => reasons.push(Invalid::Revoked),
            Some(Some(Status::Suspended)) => {
                if !reasons
                    .iter()
                    .any(|r| r.code() == Invalid::Suspended.code())
                {
                    reasons.push(Invalid::Suspended);
                }
            }
            Some(None) | None => reasons.push(Invalid::StatusUnknown),
        }
    }
}
