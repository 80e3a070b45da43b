//! The calendar data file (`calendar/china.json`, format in `calendar/README.md`): its shape,
//! and the checks that catch an operator's typo before it moves a review deadline.
//!
//! Every error names where it is: serde's own errors carry the line and column, ours name the
//! year and the entry, because a date in the wrong year or a weekday "make-up" day is valid
//! JSON and would otherwise pass silently.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Longest holiday block accepted. The longest on record is 9 days (春节 2026); a longer one is
/// almost surely a mistyped month.
pub const MAX_BLOCK_DAYS: i64 = 14;

/// Most holiday dates one year may list (2026 has 33). Besides catching typos, this guarantees
/// every year keeps working days, so a deadline always arrives.
pub const MAX_HOLIDAYS_PER_YEAR: usize = 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not JSON, or not of the expected shape; serde's message names the line and column.
    #[error("calendar data file: {0}")]
    Syntax(String),
    /// Well-formed, but a date or entry is wrong.
    #[error("calendar data file, year {year}, {field}: {problem}")]
    Invalid {
        year: i32,
        field: String,
        problem: String,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    years: Vec<Year>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Year {
    year: i32,
    /// Required, not defaulted: whoever adds a year must say whether the notice is out.
    provisional: bool,
    #[serde(default)]
    #[allow(dead_code)] // for the operator who reads the file
    source: String,
    holidays: Vec<Holiday>,
    working_days: Vec<MakeUpDay>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Holiday {
    name: String,
    from: NaiveDate,
    /// Last day, inclusive; a one-day holiday may leave it out.
    to: Option<NaiveDate>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MakeUpDay {
    date: NaiveDate,
    #[serde(rename = "for")]
    #[allow(dead_code)] // for the operator who reads the file
    holiday: String,
}

/// What the file says, checked: for each year whether its dates are provisional, and the
/// dates off work and the weekend dates worked across all years.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CalendarData {
    pub provisional: BTreeMap<i32, bool>,
    pub holidays: BTreeSet<NaiveDate>,
    pub make_up_days: BTreeSet<NaiveDate>,
}

pub fn parse(bytes: &[u8]) -> Result<CalendarData, CalendarError> {
    let file: File =
        serde_json::from_slice(bytes).map_err(|e| CalendarError::Syntax(e.to_string()))?;
    let mut data = CalendarData::default();
    for y in &file.years {
        let invalid = |field: String, problem: String| CalendarError::Invalid {
            year: y.year,
            field,
            problem,
        };
        if data.provisional.insert(y.year, y.provisional).is_some() {
            return Err(invalid("year".into(), "listed twice".into()));
        }
        let mut count = 0;
        for (i, h) in y.holidays.iter().enumerate() {
            let field = |f: &str| format!("holidays[{i}] ({}).{f}", h.name);
            let to = h.to.unwrap_or(h.from);
            check_in_year(y.year, h.from).map_err(|p| invalid(field("from"), p))?;
            check_in_year(y.year, to).map_err(|p| invalid(field("to"), p))?;
            let days = (to - h.from).num_days() + 1;
            if days < 1 {
                return Err(invalid(field("to"), format!("{to} is before {}", h.from)));
            }
            if days > MAX_BLOCK_DAYS {
                let problem = format!("{days} days, more than {MAX_BLOCK_DAYS}");
                return Err(invalid(field("to"), problem));
            }
            for day in h.from.iter_days().take(days as usize) {
                if !data.holidays.insert(day) {
                    return Err(invalid(field("from"), format!("{day} is listed twice")));
                }
                count += 1;
            }
        }
        if count > MAX_HOLIDAYS_PER_YEAR {
            let problem = format!("{count} dates, more than {MAX_HOLIDAYS_PER_YEAR}");
            return Err(invalid("holidays".into(), problem));
        }
        for (i, m) in y.working_days.iter().enumerate() {
            let field = format!("working_days[{i}].date");
            check_in_year(y.year, m.date).map_err(|p| invalid(field.clone(), p))?;
            if !matches!(m.date.weekday(), Weekday::Sat | Weekday::Sun) {
                let problem = format!("{} is a {}, a working day anyway", m.date, m.date.weekday());
                return Err(invalid(field, problem));
            }
            if data.holidays.contains(&m.date) {
                return Err(invalid(field, format!("{} is also a holiday", m.date)));
            }
            if !data.make_up_days.insert(m.date) {
                return Err(invalid(field, format!("{} is listed twice", m.date)));
            }
        }
    }
    Ok(data)
}

/// A year's notice may reach back into the December before it: 元旦 2018 was 2017-12-30 to
/// 2018-01-01. Anything further off is a typo.
fn check_in_year(year: i32, d: NaiveDate) -> Result<(), String> {
    let ok = d.year() == year || (d.year() == year - 1 && d.month() == 12);
    if ok {
        Ok(())
    } else {
        Err(format!("{d} is outside {year} (or the December before it)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn year(body: &str) -> String {
        format!(r#"{{"years": [{{"year": 2026, "provisional": false, {body}}}]}}"#)
    }

    fn invalid(json: &str) -> (String, String) {
        match parse(json.as_bytes()) {
            Err(CalendarError::Invalid {
                year,
                field,
                problem,
            }) => {
                assert_eq!(year, 2026);
                (field, problem)
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    fn syntax(json: &str) -> String {
        match parse(json.as_bytes()) {
            Err(e @ CalendarError::Syntax(_)) => e.to_string(),
            other => panic!("expected Syntax, got {other:?}"),
        }
    }

    #[test]
    fn a_minimal_file_parses_and_a_one_day_holiday_needs_no_to() {
        let json = year(
            r#""holidays": [{"name": "元旦", "from": "2026-01-01"}],
               "working_days": [{"date": "2026-01-04", "for": "元旦"}]"#,
        );
        let data = parse(json.as_bytes()).unwrap();
        assert_eq!(data.provisional, BTreeMap::from([(2026, false)]));
        assert_eq!(data.holidays.len(), 1);
        assert!(data.make_up_days.contains(&"2026-01-04".parse().unwrap()));
        assert_eq!(parse(br#"{"years": []}"#).unwrap(), CalendarData::default());
    }

    #[test]
    fn syntax_errors_name_the_line_and_the_field() {
        let broken = "{\"years\": [\n  {\"year\": 2026,\n   \"provisional\": false,,}]}";
        assert!(syntax(broken).contains("line 3"), "{}", syntax(broken));
        let bad_date =
            year(r#""holidays": [{"name": "x", "from": "2026-02-30"}], "working_days": []"#);
        assert!(
            syntax(&bad_date).contains("line 1 column"),
            "{}",
            syntax(&bad_date)
        );
        let typo = year(r#""holidays": [{"name": "x", "form": "2026-02-03"}], "working_days": []"#);
        assert!(
            syntax(&typo).contains("unknown field `form`"),
            "{}",
            syntax(&typo)
        );
        let missing = r#"{"years": [{"year": 2026, "holidays": [], "working_days": []}]}"#;
        assert!(syntax(missing).contains("missing field `provisional`"));
        assert!(syntax("").contains("EOF"));
        assert!(
            syntax("[]").contains("invalid length 0"),
            "{}",
            syntax("[]")
        );
    }

    #[test]
    fn dates_outside_their_year_are_refused_but_the_december_before_is_allowed() {
        let h = |from: &str, to: &str| {
            year(&format!(
                r#""holidays": [{{"name": "x", "from": "{from}", "to": "{to}"}}], "working_days": []"#
            ))
        };
        assert!(parse(h("2025-12-31", "2026-01-01").as_bytes()).is_ok());
        let (field, problem) = invalid(&h("2025-11-30", "2025-12-01"));
        assert_eq!(field, "holidays[0] (x).from");
        assert!(problem.contains("2025-11-30 is outside 2026"), "{problem}");
        assert_eq!(
            invalid(&h("2026-12-31", "2027-01-01")).0,
            "holidays[0] (x).to"
        );
        let (field, problem) = invalid(&h("2026-04-06", "2026-04-04"));
        assert_eq!(
            (field.as_str(), problem.as_str()),
            ("holidays[0] (x).to", "2026-04-04 is before 2026-04-06")
        );
        let (_, problem) = invalid(&h("2026-02-01", "2026-02-15"));
        assert_eq!(problem, "15 days, more than 14");
    }

    #[test]
    fn overlapping_holidays_and_too_many_of_them_are_refused() {
        let overlap = year(
            r#""holidays": [{"name": "a", "from": "2026-10-01", "to": "2026-10-07"},
                            {"name": "b", "from": "2026-10-07", "to": "2026-10-08"}],
               "working_days": []"#,
        );
        assert_eq!(
            invalid(&overlap),
            (
                "holidays[1] (b).from".into(),
                "2026-10-07 is listed twice".into()
            )
        );
        let blocks: Vec<String> = (1..=5)
            .map(|m| format!(r#"{{"name": "m{m}", "from": "2026-0{m}-01", "to": "2026-0{m}-13"}}"#))
            .collect();
        let many = year(&format!(
            r#""holidays": [{}], "working_days": []"#,
            blocks.join(",")
        ));
        assert_eq!(
            invalid(&many),
            ("holidays".into(), "65 dates, more than 60".into())
        );
    }

    #[test]
    fn make_up_days_must_be_weekend_days_not_holidays_and_listed_once() {
        let w = |days: &str| {
            year(&format!(
                r#""holidays": [{{"name": "x", "from": "2026-02-15", "to": "2026-02-23"}}],
                   "working_days": [{days}]"#
            ))
        };
        let weekday = w(r#"{"date": "2026-02-13", "for": "x"}"#);
        assert_eq!(
            invalid(&weekday),
            (
                "working_days[0].date".into(),
                "2026-02-13 is a Fri, a working day anyway".into()
            )
        );
        let holiday = w(r#"{"date": "2026-02-15", "for": "x"}"#);
        assert_eq!(invalid(&holiday).1, "2026-02-15 is also a holiday");
        let twice = w(r#"{"date": "2026-02-14", "for": "x"}, {"date": "2026-02-14", "for": "x"}"#);
        assert_eq!(
            invalid(&twice),
            (
                "working_days[1].date".into(),
                "2026-02-14 is listed twice".into()
            )
        );
        let elsewhere = w(r#"{"date": "2027-02-13", "for": "x"}"#);
        assert!(invalid(&elsewhere).1.contains("outside 2026"));
    }

    #[test]
    fn a_year_listed_twice_is_refused() {
        let one = r#"{"year": 2026, "provisional": false, "holidays": [], "working_days": []}"#;
        let json = format!(r#"{{"years": [{one}, {one}]}}"#);
        assert_eq!(invalid(&json), ("year".into(), "listed twice".into()));
        let err = parse(json.as_bytes()).unwrap_err().to_string();
        assert_eq!(err, "calendar data file, year 2026, year: listed twice");
    }
}
