use super::*;
use proptest::prelude::*;

/// A Beijing wall-clock time, "YYYY-MM-DD HH:MM", as the UTC instant.
fn bj(s: &str) -> DateTime<Utc> {
    crate::clock::from_china_time(
        chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap(),
    )
}

fn d(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn china() -> WorkingCalendar {
    WorkingCalendar::china()
}

/// Asserts one review deadline (1 working day) in Beijing time.
fn one_day(submitted: &str, due: &str) {
    assert_eq!(
        china().deadline(bj(submitted), 1),
        bj(due),
        "submitted {submitted}"
    );
}

#[test]
fn the_embedded_file_covers_2026_officially_and_2027_provisionally() {
    let cal = china();
    assert_eq!(cal.coverage(2026), Coverage::Official);
    assert_eq!(cal.coverage(2027), Coverage::Provisional);
    for year in [2025, 2028] {
        assert_eq!(cal.coverage(year), Coverage::Uncovered);
        assert!(!cal.is_covered(year));
    }
    assert!(cal.is_covered(2026) && cal.is_covered(2027));
}

#[test]
fn holidays_2026_are_those_of_the_state_council_notice() {
    let cal = china();
    let blocks = [
        ("2026-01-01", 3), // 元旦
        ("2026-02-15", 9), // 春节
        ("2026-04-04", 3), // 清明节
        ("2026-05-01", 5), // 劳动节
        ("2026-06-19", 3), // 端午节
        ("2026-09-25", 3), // 中秋节
        ("2026-10-01", 7), // 国庆节
    ];
    let mut off: Vec<NaiveDate> = Vec::new();
    for (first, days) in blocks {
        off.extend(d(first).iter_days().take(days));
    }
    let listed: Vec<NaiveDate> = cal
        .data
        .holidays
        .iter()
        .copied()
        .filter(|d| d.year() == 2026)
        .collect();
    assert_eq!(listed, off);
    assert!(off.iter().all(|&day| !cal.is_working_day(day)));
    // The make-up days, each on the weekday the notice names.
    let make_up = [
        ("2026-01-04", Weekday::Sun),
        ("2026-02-14", Weekday::Sat),
        ("2026-02-28", Weekday::Sat),
        ("2026-05-09", Weekday::Sat),
        ("2026-09-20", Weekday::Sun),
        ("2026-10-10", Weekday::Sat),
    ];
    for (day, weekday) in make_up {
        assert_eq!(d(day).weekday(), weekday, "{day}");
        assert!(cal.is_working_day(d(day)), "{day}");
    }
    let worked_weekends = d("2026-01-01")
        .iter_days()
        .take_while(|d| d.year() == 2026)
        .filter(|&d| matches!(d.weekday(), Weekday::Sat | Weekday::Sun) && cal.is_working_day(d))
        .count();
    assert_eq!(worked_weekends, make_up.len());
    let weekday_holidays = off
        .iter()
        .filter(|d| !matches!(d.weekday(), Weekday::Sat | Weekday::Sun));
    assert_eq!(weekday_holidays.count(), 19, "as the module's doc says");
}

#[test]
fn holidays_2027_are_the_13_statutory_days_without_make_up_days() {
    let cal = china();
    let statutory = [
        "2027-01-01", // 元旦
        "2027-02-05",
        "2027-02-06",
        "2027-02-07",
        "2027-02-08", // 除夕 to 正月初三
        "2027-04-05", // 清明
        "2027-05-01",
        "2027-05-02", // 劳动节
        "2027-06-09", // 端午 (五月初五)
        "2027-09-15", // 中秋 (八月十五)
        "2027-10-01",
        "2027-10-02",
        "2027-10-03", // 国庆节
    ];
    let listed: Vec<NaiveDate> = cal
        .data
        .holidays
        .iter()
        .copied()
        .filter(|d| d.year() == 2027)
        .collect();
    assert_eq!(listed, statutory.map(d).to_vec());
    assert!(cal.data.make_up_days.iter().all(|d| d.year() != 2027));
    // A weekday after the statutory days is worked until the notice says otherwise.
    assert!(cal.is_working_day(d("2027-02-09")));
}

#[test]
fn weekdays_work_and_weekends_do_not() {
    let cal = china();
    assert!(cal.is_working_day(d("2026-03-13")), "a Friday");
    assert!(!cal.is_working_day(d("2026-03-14")), "a Saturday");
    assert!(!cal.is_working_day(d("2026-03-15")), "a Sunday");
    assert!(cal.is_working_day(d("2026-03-16")), "a Monday");
}

#[test]
fn across_a_weekend() {
    one_day("2026-03-13 15:00", "2026-03-16 15:00"); // Fri → Mon
    one_day("2026-03-14 10:00", "2026-03-17 00:00"); // Sat → Mon 24:00
    one_day("2026-03-15 23:59", "2026-03-17 00:00"); // Sun → Mon 24:00
    one_day("2026-03-16 00:00", "2026-03-17 00:00"); // Mon 00:00 → Mon 24:00
    one_day("2026-03-12 23:30", "2026-03-13 23:30"); // Thu → Fri
}

#[test]
fn across_the_2026_spring_festival() {
    // Friday before the block: the make-up Saturday counts.
    one_day("2026-02-13 10:00", "2026-02-14 10:00");
    // On the make-up Saturday itself, the last day before 15–23 February: the block rolls over.
    one_day("2026-02-14 10:00", "2026-02-24 10:00");
    // Inside the block: the first working day after it, whole.
    one_day("2026-02-18 09:00", "2026-02-25 00:00");
    // The second make-up Saturday, 28 February, counts; Sunday 1 March does not.
    one_day("2026-02-27 16:00", "2026-02-28 16:00");
    one_day("2026-02-28 09:00", "2026-03-02 09:00");
}

#[test]
fn make_up_days_and_national_day_2026() {
    one_day("2026-01-03 12:00", "2026-01-05 00:00"); // last day of 元旦 → make-up Sun 4th, whole
    one_day("2026-09-19 12:00", "2026-09-21 00:00"); // Sat → make-up Sun 20th, whole
    one_day("2026-09-30 14:00", "2026-10-08 14:00"); // rolls over 1–7 October
    one_day("2026-10-05 14:00", "2026-10-09 00:00"); // inside the block → Thu 8th, whole
    one_day("2026-10-09 18:00", "2026-10-10 18:00"); // Fri → make-up Sat 10th
    one_day("2026-10-10 18:00", "2026-10-12 18:00"); // make-up Sat → Mon
}

#[test]
fn from_the_end_of_2026_into_2027() {
    // 31 December is a Thursday; 1 January 2027 is a holiday and a Friday.
    one_day("2026-12-31 12:00", "2027-01-04 12:00");
    // The statutory Spring Festival 2027: 除夕 (Fri 5 Feb) to 初三 (Mon 8 Feb).
    one_day("2027-02-04 12:00", "2027-02-09 12:00");
}

#[test]
fn an_uncovered_year_skips_weekends_only() {
    let cal = china();
    assert_eq!(cal.coverage(2030), Coverage::Uncovered);
    // 1 January 2030 would be a holiday, but nothing says so: a Tuesday, worked.
    assert!(cal.is_working_day(d("2030-01-01")));
    one_day("2030-01-01 10:00", "2030-01-02 10:00");
    one_day("2030-01-04 10:00", "2030-01-07 10:00"); // Fri → Mon
}

#[test]
fn several_working_days_zero_days_and_sub_second_instants() {
    let cal = china();
    assert_eq!(
        cal.deadline(bj("2026-03-13 15:00"), 2),
        bj("2026-03-17 15:00")
    );
    assert_eq!(
        cal.deadline(bj("2026-03-14 10:00"), 0),
        bj("2026-03-14 10:00")
    );
    let t = bj("2026-03-13 15:00") + Duration::milliseconds(1_234);
    assert_eq!(
        cal.deadline(t, 1),
        bj("2026-03-16 15:00") + Duration::milliseconds(1_234)
    );
    // Beijing midnight is 16:00 UTC the day before.
    let utc: DateTime<Utc> = "2026-03-13T16:00:00Z".parse().unwrap(); // Sat 00:00 Beijing
    assert_eq!(
        cal.deadline(utc, 1),
        "2026-03-16T16:00:00Z".parse::<DateTime<Utc>>().unwrap()
    );
}

#[test]
fn an_override_file_replaces_the_default() {
    let json = r#"{"years": [{"year": 2030, "provisional": false,
        "holidays": [{"name": "元旦", "from": "2030-01-01"}],
        "working_days": [{"date": "2030-01-05", "for": "元旦"}]}]}"#;
    let cal = WorkingCalendar::from_json(json.as_bytes()).unwrap();
    assert_eq!(cal.coverage(2030), Coverage::Official);
    assert_eq!(cal.coverage(2026), Coverage::Uncovered);
    assert!(!cal.is_working_day(d("2030-01-01")));
    assert!(cal.is_working_day(d("2030-01-05")), "a make-up Saturday");
    assert!(
        cal.is_working_day(d("2026-10-01")),
        "2026 is no longer known"
    );
    assert!(WorkingCalendar::from_json(b"{").is_err());
}

fn arb_submission() -> impl Strategy<Value = DateTime<Utc>> {
    // Whole minutes from December 2025 to January 2028, so every minute lies in one day.
    let start = bj("2025-12-01 00:00");
    (0i64..(26 * 31 * 24 * 60)).prop_map(move |m| start + Duration::minutes(m))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The deadline equals a minute-by-minute count of working minutes, is at least 24 hours
    /// per working day after submission, and its last counted minute is on a working day.
    #[test]
    fn deadline_matches_a_minute_by_minute_count(at in arb_submission(), n in 1u32..=3) {
        let cal = china();
        let due = cal.deadline(at, n);
        let mut t = at;
        let mut counted = 0;
        while counted < i64::from(n) * 24 * 60 {
            if cal.is_working_day(crate::clock::china_date(t)) {
                counted += 1;
            }
            t += Duration::minutes(1);
        }
        prop_assert_eq!(due, t);
        prop_assert!(due - at >= Duration::hours(24 * i64::from(n)));
        prop_assert!(cal.is_working_day(crate::clock::china_date(due - Duration::seconds(1))));
    }
}

#[test]
fn the_readme_example_is_a_valid_file() {
    let readme = include_str!("../../../calendar/README.md");
    let json = readme
        .split("```json")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let cal = WorkingCalendar::from_json(json.as_bytes()).unwrap();
    assert!(cal.is_working_day(d("2026-02-14")));
}
