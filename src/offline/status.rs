//! The offline status lists as a check on codes (the [`ClaimCheck`] seam): each list is
//! verified with the terminal's keys, then each code's `e` is looked up in the list it names
//! (`e >> 20`), at its index there (`e & 0xFFFFF`). A list is known by its `sub`, which ends
//! with `/status-lists/{n}`; a list from a server made before the lists were sharded (its
//! `sub` ends otherwise) holds every e-licence at index `e` and is read that way.
//!
//! What it adds to a verdict, after the documented checks:
//! - `revoked`: the entry is INVALID (0x01); `suspended`: SUSPENDED (0x02), unless the code
//!   already carries `suspended` from its status at signing;
//! - `status_unknown`: the terminal holds no list for the code's `e`, the index is past the
//!   end of the list, or its entry holds a value we never write: the draft says no statement
//!   can be made, and the code is refused;
//! - `status_stale`: the list is past its `exp` at the instant of the check. The code is
//!   still looked up, but the list no longer vouches for anything, so the code is refused.

use super::{ClaimCheck, Invalid, KeySet};
use crate::domain::code::CodeClaims;
use crate::status_list::token::{self, TokenError};
use crate::status_list::{Bits, Limits, Position, Status, StatusList};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{PoisonError, RwLock};

/// Which e-licences a list covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// List `n` of the sharded lists: index `e & 0xFFFFF` of the codes whose `e >> 20` is `n`.
    Shard(u32),
    /// The one list of a server made before the lists were sharded: index `e` of every code.
    Whole,
}

impl Scope {
    /// The scope a list's `sub` says: `…/status-lists/{n}` is list `n`.
    pub fn of_sub(sub: &str) -> Scope {
        sub.rsplit_once("/status-lists/")
            .and_then(|(_, n)| n.parse().ok())
            .map_or(Scope::Whole, Scope::Shard)
    }
}

/// What a terminal shows about the list it holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListInfo {
    pub sub: String,
    pub scope: Scope,
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
                scope: Scope::of_sub(&v.claims.sub),
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

    /// The entry of the e-licence whose codes carry `e`, or `None` when this list does not
    /// hold it (another list's, or past the end).
    pub fn status_of(&self, e: i64) -> Option<u8> {
        match self.info.scope {
            Scope::Whole => u64::try_from(e).ok().and_then(|i| self.list.get(i)),
            Scope::Shard(n) => Position::from_e(e)
                .filter(|p| p.list() == n)
                .and_then(|p| self.list.get(u64::from(p.index()))),
        }
    }
}

impl ClaimCheck for StatusListCheck {
    fn check(&self, claims: &CodeClaims, now: DateTime<Utc>, reasons: &mut Vec<Invalid>) {
        check_in(Some(self), claims, now, reasons)
    }
}

/// The lists a terminal holds, by scope; more can be added between checks (a terminal that
/// fetches the lists its codes point to).
#[derive(Debug, Default)]
pub struct StatusListSet {
    lists: RwLock<BTreeMap<Scope, StatusListCheck>>,
}

impl StatusListSet {
    pub fn new() -> StatusListSet {
        StatusListSet::default()
    }

    /// Keeps `list`, in place of any list of the same scope.
    pub fn insert(&self, list: StatusListCheck) {
        self.lists
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(list.info.scope, list);
    }

    pub fn holds(&self, scope: Scope) -> bool {
        self.lists
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .contains_key(&scope)
    }

    pub fn len(&self) -> usize {
        self.lists
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// What the terminal holds, by scope.
    pub fn infos(&self) -> Vec<ListInfo> {
        self.lists
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|l| l.info.clone())
            .collect()
    }
}

impl ClaimCheck for std::sync::Arc<StatusListSet> {
    fn check(&self, claims: &CodeClaims, now: DateTime<Utc>, reasons: &mut Vec<Invalid>) {
        let lists = self.lists.read().unwrap_or_else(PoisonError::into_inner);
        // The shard `e` names; else the whole list of an older server, if that is held.
        let list = Position::from_e(claims.e_licence)
            .and_then(|p| lists.get(&Scope::Shard(p.list())))
            .or_else(|| lists.get(&Scope::Whole));
        check_in(list, claims, now, reasons)
    }
}

/// What the list that should hold the code's entry says of it; no list: `status_unknown`.
fn check_in(
    list: Option<&StatusListCheck>,
    claims: &CodeClaims,
    now: DateTime<Utc>,
    reasons: &mut Vec<Invalid>,
) {
    if list.is_some_and(|l| l.info.is_stale(now)) {
        reasons.push(Invalid::StatusStale);
    }
    let entry = list.and_then(|l| l.status_of(claims.e_licence));
    match entry.map(Status::from_value) {
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
