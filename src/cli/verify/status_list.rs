//! `--status-list`: the signed lists of revoked and suspended e-licences, verified with the
//! same keys as the codes before they are used. The flag names one list (a file, or the URL
//! of one list), a folder of lists (every `*.jwt` in it), or the aggregation
//! (`/api/v1/status-lists`, or a file of it): then only the lists the codes point to
//! (`e >> 20`) are fetched, block by block as the codes are read.

use super::source::{self, Source};
use crate::offline::{KeySet, ListInfo, Scope, StatusListCheck, StatusListSet};
use crate::status_list::token::{TokenError, MAX_TOKEN_BYTES, MEDIA_TYPE};
use crate::status_list::Position;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

const STATUS_LIST: Source<'static> = Source {
    max: MAX_TOKEN_BYTES as u64,
    what: "a status list",
    accept: MEDIA_TYPE,
};

/// The most lists an aggregation or a folder may name: 4,096 lists of 2^20 entries are four
/// billion e-licences.
const MAX_LISTS: usize = 4_096;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Source(#[from] source::LoadError),
    #[error("{0}: the status list is refused: {1}")]
    Refused(String, TokenError),
    #[error("{0}: not a status list aggregation: {1}")]
    Aggregation(String, String),
    #[error("{0}: {1}")]
    Folder(String, std::io::Error),
}

/// Where lists not held yet come from.
#[derive(Debug, Default)]
pub struct Feed {
    /// The URI (or path) of each list an aggregation names, by list number.
    aggregation: BTreeMap<u32, String>,
}

/// Opens `source` (a path, a folder or an `http(s)://` URL): the lists it holds, verified
/// with `keys`, and where the lists an aggregation names are fetched from when needed.
pub fn open(source: &str, keys: &KeySet) -> Result<(Arc<StatusListSet>, Feed), LoadError> {
    let set = Arc::new(StatusListSet::new());
    if Path::new(source).is_dir() {
        for path in folder(source)? {
            let name = path.display().to_string();
            set.insert(load_token(&name, keys)?);
        }
        return Ok((set, Feed::default()));
    }
    let bytes = STATUS_LIST.load(source)?;
    let text = String::from_utf8_lossy(&bytes);
    let text = text.trim();
    if !text.starts_with('{') {
        set.insert(verify(source, text, keys)?);
        return Ok((set, Feed::default()));
    }
    #[derive(serde::Deserialize)]
    struct Aggregation {
        status_lists: Vec<String>,
    }
    let refused = |why: String| LoadError::Aggregation(source.to_owned(), why);
    let doc: Aggregation = serde_json::from_str(text).map_err(|e| refused(e.to_string()))?;
    if doc.status_lists.len() > MAX_LISTS {
        return Err(refused(format!("more than {MAX_LISTS} lists")));
    }
    let mut aggregation = BTreeMap::new();
    for uri in doc.status_lists {
        match Scope::of_sub(&uri) {
            Scope::Shard(n) => aggregation.insert(n, uri),
            Scope::Whole => return Err(refused(format!("{uri} is not …/status-lists/N"))),
        };
    }
    Ok((set, Feed { aggregation }))
}

/// The `*.jwt` files of a folder, by name.
fn folder(dir: &str) -> Result<Vec<std::path::PathBuf>, LoadError> {
    let err = |e| LoadError::Folder(dir.to_owned(), e);
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let path = entry.map_err(err)?.path();
        if path.extension().is_some_and(|e| e == "jwt") && path.is_file() {
            paths.push(path);
        }
    }
    if paths.len() > MAX_LISTS {
        return Err(err(std::io::Error::other(format!(
            "more than {MAX_LISTS} lists"
        ))));
    }
    if paths.is_empty() {
        // Every code would be status_unknown: a wrong folder, not a terminal that knows nothing.
        return Err(err(std::io::Error::other("no status list (*.jwt) in it")));
    }
    paths.sort();
    Ok(paths)
}

fn load_token(source: &str, keys: &KeySet) -> Result<StatusListCheck, LoadError> {
    let bytes = STATUS_LIST.load(source)?;
    // A token is ASCII; anything else fails as a malformed token.
    verify(source, String::from_utf8_lossy(&bytes).trim(), keys)
}

fn verify(source: &str, token: &str, keys: &KeySet) -> Result<StatusListCheck, LoadError> {
    StatusListCheck::from_token(token, keys).map_err(|e| LoadError::Refused(source.to_owned(), e))
}

impl Feed {
    /// Fetches, verifies and adds to `set` the lists of the aggregation that `codes` point
    /// to and `set` lacks; returns what was added, for the terminal to show.
    pub fn fill(
        &self,
        set: &StatusListSet,
        keys: &KeySet,
        codes: &[String],
    ) -> Result<Vec<ListInfo>, LoadError> {
        if self.aggregation.is_empty() {
            return Ok(Vec::new());
        }
        let wanted: BTreeSet<u32> = codes.iter().filter_map(|c| list_of(c)).collect();
        let mut added = Vec::new();
        for n in wanted {
            if set.holds(Scope::Shard(n)) {
                continue;
            }
            // A list the aggregation does not name stays missing: `status_unknown`.
            if let Some(uri) = self.aggregation.get(&n) {
                let list = load_token(uri, keys)?;
                added.push(list.info().clone());
                set.insert(list);
            }
        }
        Ok(added)
    }
}

/// The list a code points to, read from its claims without verifying them: only to know
/// which list to fetch (the code is verified before the list is used for it).
pub fn list_of(code: &str) -> Option<u32> {
    let payload = code.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    #[derive(serde::Deserialize)]
    struct E {
        e: i64,
    }
    let e: E = serde_json::from_slice(&bytes).ok()?;
    Position::from_e(e.e).map(Position::list)
}

/// "3d 4h", "4m 10s", "12s": an age as an officer reads it.
pub fn human(d: Duration) -> String {
    let s = d.num_seconds().unsigned_abs();
    let (days, hours, minutes, seconds) = (s / 86_400, s / 3600 % 24, s / 60 % 60, s % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds}s"),
        (0, 0, _) => format!("{minutes}m {seconds}s"),
        (0, _, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// What the terminal prints about its list at `now`: one line, and a warning when the list
/// is stale or claims to come from the future. `when` shows an instant.
pub fn describe(
    info: &ListInfo,
    now: DateTime<Utc>,
    when: impl Fn(DateTime<Utc>) -> String,
) -> (String, Option<String>) {
    let age = info.age(now);
    let line = format!(
        "status list: {}, {} entries ({} bits), issued {} (age {}), refresh every {}s, \
         valid until {}, key {}",
        info.sub,
        info.entries,
        info.bits.get(),
        when(info.issued_at),
        human(age),
        info.ttl_secs,
        when(info.expires_at),
        info.kid
    );
    let warning = if info.is_stale(now) {
        Some(format!(
            "status list is stale (age {}, expired at {}): every code is INVALID \
             (status_stale) until a fresh list is loaded",
            human(age),
            when(info.expires_at)
        ))
    } else if age < Duration::zero() {
        Some(format!(
            "status list is issued {} in the future: check this terminal's clock",
            human(age)
        ))
    } else {
        None
    };
    (line, warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_as_an_officer_says_them() {
        assert_eq!(human(Duration::seconds(12)), "12s");
        assert_eq!(human(Duration::seconds(250)), "4m 10s");
        assert_eq!(human(Duration::seconds(3 * 3600 + 61)), "3h 1m");
        assert_eq!(human(Duration::seconds(3 * 86_400 + 4 * 3600 + 5)), "3d 4h");
        assert_eq!(human(Duration::seconds(-300)), "5m 0s");
    }
}
