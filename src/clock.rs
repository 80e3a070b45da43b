//! Time is injected: production reads the system clock, tests set the date they need.

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use std::sync::{Arc, Mutex};

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> DateTime<Utc>;

    /// Today's date where the licences are issued. China keeps one time zone, UTC+8, with no
    /// daylight saving, so a fixed offset is exact (Asia/Shanghai).
    fn today(&self) -> NaiveDate {
        china_date(self.now())
    }
}

pub fn china_date(instant: DateTime<Utc>) -> NaiveDate {
    china_time(instant).date_naive()
}

/// The instant in Beijing time (UTC+8), as shown to people.
pub fn china_time(instant: DateTime<Utc>) -> DateTime<FixedOffset> {
    let offset = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    instant.with_timezone(&offset)
}

/// The UTC instant of a Beijing wall-clock time. China has kept UTC+8 without daylight saving
/// since 1992, so the fixed offset is exact.
pub fn from_china_time(t: NaiveDateTime) -> DateTime<Utc> {
    (t - Duration::hours(8)).and_utc()
}

/// The instant a Beijing day begins (its midnight, UTC+8).
pub fn china_midnight(day: NaiveDate) -> DateTime<Utc> {
    from_china_time(day.and_time(NaiveTime::MIN))
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that shows the instant it was last set to. Clones share the same time.
#[derive(Debug, Clone)]
pub struct FixedClock(Arc<Mutex<DateTime<Utc>>>);

impl FixedClock {
    pub fn at(instant: DateTime<Utc>) -> Self {
        FixedClock(Arc::new(Mutex::new(instant)))
    }

    pub fn set(&self, instant: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = instant;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_date_turns_at_midnight_beijing_time() {
        let before = "2026-11-22T15:59:59Z".parse::<DateTime<Utc>>().unwrap();
        let after = "2026-11-22T16:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(china_date(before).to_string(), "2026-11-22");
        assert_eq!(china_date(after).to_string(), "2026-11-23");
    }

    #[test]
    fn fixed_clock_clones_share_time() {
        let t0 = "2026-01-01T00:00:00Z".parse().unwrap();
        let t1 = "2026-06-01T00:00:00Z".parse().unwrap();
        let clock = FixedClock::at(t0);
        let other = clock.clone();
        clock.set(t1);
        assert_eq!(other.now(), t1);
        assert_eq!(other.today().to_string(), "2026-06-01");
    }
}
