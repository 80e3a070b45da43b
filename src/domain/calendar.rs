//! Working days in China (Asia/Shanghai, UTC+8), for deadlines such as "photos are reviewed
//! within 1 working day". Public holidays fall on weekdays and some weekends are worked
//! (调休), so weekdays alone are wrong on about 25 days a year (2026: 19 weekday holidays,
//! 6 worked weekend days); the State Council publishes
//! each year's dates in a notice late in the year before, so they come from a data file
//! (`calendar/china.json`) that an operator can update without a release.

mod file;

pub use file::{CalendarError, MAX_BLOCK_DAYS, MAX_HOLIDAYS_PER_YEAR};

use crate::clock::{china_time, from_china_time};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Utc, Weekday};
use file::CalendarData;

/// The data file shipped with the release: 2026 from the State Council notice, 2027 with the
/// statutory days only (provisional).
pub const DEFAULT_CHINA_JSON: &str = include_str!("../../calendar/china.json");

/// How far the data file vouches for a year's working days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Coverage {
    /// The year's State Council notice is in the file.
    Official,
    /// Only the statutory holidays: the notice is not out, so bridge days (which would make
    /// deadlines later) and make-up weekends (earlier) are missing: off by a day or two.
    Provisional,
    /// Not in the file: weekends only. The caller should warn.
    Uncovered,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkingCalendar {
    data: CalendarData,
}

impl WorkingCalendar {
    /// The calendar shipped with the release. Parses the embedded file: build it once.
    pub fn china() -> Self {
        Self::from_json(DEFAULT_CHINA_JSON.as_bytes())
            .expect("the embedded calendar is checked by the tests")
    }

    /// A calendar from the bytes of a data file (an operator's override of the default).
    pub fn from_json(bytes: &[u8]) -> Result<Self, CalendarError> {
        file::parse(bytes).map(|data| WorkingCalendar { data })
    }

    pub fn coverage(&self, year: i32) -> Coverage {
        match self.data.provisional.get(&year) {
            Some(false) => Coverage::Official,
            Some(true) => Coverage::Provisional,
            None => Coverage::Uncovered,
        }
    }

    /// Whether the file lists the year at all (official or provisional).
    pub fn is_covered(&self, year: i32) -> bool {
        self.coverage(year) != Coverage::Uncovered
    }

    /// A listed holiday is off even on a weekday; a listed make-up day is worked even on a
    /// weekend; otherwise Monday to Friday.
    pub fn is_working_day(&self, d: NaiveDate) -> bool {
        if self.data.holidays.contains(&d) {
            false
        } else if self.data.make_up_days.contains(&d) {
            true
        } else {
            !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
        }
    }

    /// When `working_days` working days have passed since `submitted_at`.
    ///
    /// The rule: time counts only while it is a working day in Beijing (UTC+8), and every
    /// working day counts whole, midnight to midnight. The deadline is the instant at which
    /// `working_days` × 24 hours of such time have elapsed since submission. So:
    /// - Friday 15:00 → Monday 15:00 (Friday's 9 hours, then 15 hours of Monday);
    /// - Saturday 10:00 → Monday 24:00, i.e. Tuesday 00:00 (nothing counts until Monday);
    /// - on the last day before a holiday block, the whole block is skipped;
    /// - a make-up Saturday (调休上班) counts like any working day.
    ///
    /// Zero working days is the submission instant itself. Past the years in the file only
    /// weekends are skipped: check [`Self::coverage`] for the deadline's year and warn.
    pub fn deadline(&self, submitted_at: DateTime<Utc>, working_days: u32) -> DateTime<Utc> {
        let mut remaining = Duration::days(i64::from(working_days));
        let mut t = china_time(submitted_at).naive_local();
        while remaining > Duration::zero() {
            // Past chrono's last representable day (year 262143): only a nonsense count gets
            // there, and "never" is the honest answer.
            let Some(next_midnight) = t.date().succ_opt().map(|d| d.and_time(NaiveTime::MIN))
            else {
                return DateTime::<Utc>::MAX_UTC;
            };
            if self.is_working_day(t.date()) {
                let left_today = next_midnight - t;
                if remaining <= left_today {
                    return from_china_time(t + remaining);
                }
                remaining -= left_today;
            }
            t = next_midnight;
        }
        from_china_time(t)
    }
}

#[cfg(test)]
mod tests;
