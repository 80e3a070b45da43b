//! Repeated identical errors, logged once per interval with a count. A storage fault fails
//! every request until it is put right: logged per request, a full disk wrote 43 MB of log in
//! ten seconds (issue 11), onto the same full disk.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How often one error is logged at most while it repeats.
pub const INTERVAL: Duration = Duration::from_secs(10);

/// Distinct errors followed at once at most: past it, the oldest are forgotten (and logged
/// again when they come back).
const MAX_KEYS: usize = 256;

/// The storage errors of the whole process (every pool, the verifier, the checkpoints).
pub static STORAGE: Repeats = Repeats::new(INTERVAL);

pub struct Repeats {
    interval: Duration,
    seen: Mutex<BTreeMap<String, Seen>>,
}

struct Seen {
    logged_at: Instant,
    /// Occurrences since that line, not logged.
    left_out: u64,
}

impl Repeats {
    pub const fn new(interval: Duration) -> Repeats {
        Repeats {
            interval,
            seen: Mutex::new(BTreeMap::new()),
        }
    }

    /// Should this occurrence of `error` be logged? `Some(n)`: yes, and `n` identical ones
    /// were left out since it was last logged (say so in the line); `None`: it was logged
    /// less than an interval ago.
    pub fn admit(&self, error: &str) -> Option<u64> {
        self.admit_at(error, Instant::now())
    }

    fn admit_at(&self, error: &str, now: Instant) -> Option<u64> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = seen.get_mut(error) {
            if now.duration_since(s.logged_at) < self.interval {
                s.left_out += 1;
                return None;
            }
            let left_out = s.left_out;
            *s = Seen {
                logged_at: now,
                left_out: 0,
            };
            return Some(left_out);
        }
        if seen.len() >= MAX_KEYS {
            let oldest = seen
                .iter()
                .min_by_key(|(_, s)| s.logged_at)
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                seen.remove(&k);
            }
        }
        seen.insert(
            error.to_owned(),
            Seen {
                logged_at: now,
                left_out: 0,
            },
        );
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_is_logged_once_per_interval_with_the_count_left_out() {
        let r = Repeats::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(r.admit_at("disk full", t0), Some(0));
        for i in 1..=1000 {
            assert_eq!(r.admit_at("disk full", t0 + Duration::from_millis(i)), None);
        }
        // Another error is its own.
        assert_eq!(
            r.admit_at("read-only", t0 + Duration::from_secs(1)),
            Some(0)
        );
        assert_eq!(
            r.admit_at("disk full", t0 + Duration::from_secs(10)),
            Some(1000)
        );
        assert_eq!(r.admit_at("disk full", t0 + Duration::from_secs(11)), None);
        assert_eq!(
            r.admit_at("disk full", t0 + Duration::from_secs(20)),
            Some(1)
        );
    }

    #[test]
    fn many_distinct_errors_are_bounded() {
        let r = Repeats::new(Duration::from_secs(10));
        let t0 = Instant::now();
        for i in 0..(MAX_KEYS * 3) {
            assert_eq!(
                r.admit_at(&format!("e{i}"), t0 + Duration::from_millis(i as u64)),
                Some(0)
            );
        }
        assert!(r.seen.lock().unwrap().len() <= MAX_KEYS);
        // The newest is still followed.
        let last = format!("e{}", MAX_KEYS * 3 - 1);
        assert_eq!(r.admit_at(&last, t0 + Duration::from_secs(1)), None);
    }
}
