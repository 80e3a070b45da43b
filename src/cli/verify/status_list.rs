//! `--status-list`: the signed list of revoked and suspended e-licences, from a file or
//! `/api/v1/status-list`, verified with the same keys as the codes before it is used.

use super::source::{self, Source};
use crate::offline::{KeySet, ListInfo, StatusListCheck};
use crate::status_list::token::{TokenError, MAX_TOKEN_BYTES, MEDIA_TYPE};
use chrono::{DateTime, Duration, Utc};

const STATUS_LIST: Source<'static> = Source {
    max: MAX_TOKEN_BYTES as u64,
    what: "a status list",
    accept: MEDIA_TYPE,
};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Source(#[from] source::LoadError),
    #[error("{0}: the status list is refused: {1}")]
    Refused(String, TokenError),
}

/// The list at `source` (a path or an `http(s)://` URL), verified with `keys`.
pub fn load(source: &str, keys: &KeySet) -> Result<StatusListCheck, LoadError> {
    let bytes = STATUS_LIST.load(source)?;
    // A token is ASCII; anything else fails as a malformed token.
    let text = String::from_utf8_lossy(&bytes);
    StatusListCheck::from_token(text.trim(), keys)
        .map_err(|e| LoadError::Refused(source.to_owned(), e))
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
        "status list: {} entries ({} bits), issued {} (age {}), refresh every {}s, \
         valid until {}, key {}",
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
