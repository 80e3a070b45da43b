//! Photo uploads per token: the app's (`POST /api/v1/me/e-licence` multipart and
//! `/me/e-licence/photo`) and the counter's photos, each token on its own budget. A holder
//! needs one or two uploads; the default (6 a minute, 6 at once) leaves room for retakes and
//! none for a script feeding the photo pool. Past it: 429 `rate_limited` with `Retry-After`,
//! the seconds until the next upload is allowed.
//!
//! governor's GCRA, keyed by the SHA-256 of the token, on the injected `Clock` (tests move
//! time instead of waiting). Only tokens that passed the handler's own check reach it, so
//! its keys are real tokens, and those that have not uploaded for a while are dropped (at
//! most once a minute, on a check) so the store stays the size of the recent uploaders.

use crate::auth::hash_secret;
use crate::clock::Clock;
use crate::http::error::ApiError;
use governor::clock::Clock as GovernorClock;
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::HashMapStateStore;
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often keys that would start afresh anyway are dropped.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The injected clock as governor reads it: time since the Unix epoch (an instant before the
/// epoch reads as the epoch).
#[derive(Clone)]
struct InjectedClock(Arc<dyn Clock>);

impl GovernorClock for InjectedClock {
    type Instant = Duration;

    fn now(&self) -> Duration {
        self.0
            .now()
            .signed_duration_since(chrono::DateTime::UNIX_EPOCH)
            .to_std()
            .unwrap_or_default()
    }
}

type Keyed =
    RateLimiter<String, HashMapStateStore<String>, InjectedClock, NoOpMiddleware<Duration>>;

pub struct UploadLimiter {
    limiter: Keyed,
    clock: InjectedClock,
    last_sweep: Mutex<Duration>,
}

impl UploadLimiter {
    /// `per_minute` uploads a minute per token, `burst` of them at once (each at least one).
    pub fn new(per_minute: u32, burst: u32, clock: Arc<dyn Clock>) -> UploadLimiter {
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::per_minute(per_minute).allow_burst(burst);
        let clock = InjectedClock(clock);
        UploadLimiter {
            limiter: RateLimiter::hashmap_with_clock(quota, clock.clone()),
            last_sweep: Mutex::new(clock.now()),
            clock,
        }
    }

    /// Counts one upload with the token `secret`, or refuses it with when to retry.
    pub fn check(&self, secret: &str) -> Result<(), ApiError> {
        self.sweep();
        self.limiter
            .check_key(&hash_secret(secret))
            .map_err(|not_until| {
                let wait = not_until.wait_time_from(self.clock.now());
                ApiError::RateLimited {
                    retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0),
                }
            })
    }

    fn sweep(&self) {
        let now = self.clock.now();
        let mut last = self.last_sweep.lock().unwrap_or_else(|p| p.into_inner());
        if now.saturating_sub(*last) >= SWEEP_EVERY {
            *last = now;
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
    }

    /// Tokens with an upload budget in use now.
    pub fn tracked(&self) -> usize {
        self.limiter.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use chrono::{DateTime, Utc};

    fn t0() -> DateTime<Utc> {
        "2026-11-22T04:00:00Z".parse().unwrap()
    }

    #[test]
    fn the_seventh_upload_in_a_minute_waits_for_the_next_cell() {
        let clock = FixedClock::at(t0());
        let limiter = UploadLimiter::new(6, 6, Arc::new(clock.clone()));
        for _ in 0..6 {
            limiter.check("elc_holder").unwrap();
        }
        match limiter.check("elc_holder") {
            Err(ApiError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 10),
            other => panic!("{other:?}"),
        }
        // Another token has its own budget.
        limiter.check("elc_other").unwrap();
        clock.set(t0() + chrono::Duration::seconds(9));
        match limiter.check("elc_holder") {
            Err(ApiError::RateLimited { retry_after_secs }) => assert_eq!(retry_after_secs, 1),
            other => panic!("{other:?}"),
        }
        clock.set(t0() + chrono::Duration::seconds(10));
        limiter.check("elc_holder").unwrap();
        assert!(limiter.check("elc_holder").is_err());
    }

    #[test]
    fn idle_tokens_are_dropped_from_the_store() {
        let clock = FixedClock::at(t0());
        let limiter = UploadLimiter::new(6, 6, Arc::new(clock.clone()));
        for i in 0..100 {
            limiter.check(&format!("elc_{i}")).unwrap();
        }
        assert_eq!(limiter.tracked(), 100);
        clock.set(t0() + chrono::Duration::minutes(2));
        limiter.check("elc_now").unwrap();
        assert_eq!(limiter.tracked(), 1);
    }
}
