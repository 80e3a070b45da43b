//! Eligibility for an e-licence (申领条件): every reason that stands in the way, never just the
//! first. Pure: the caller passes today's date in China (see `crate::clock`).

use super::licence::{Licence, POINTS_LIMIT};
use super::registry_state::RegistryState;
use crate::i18n::Lang;
use chrono::NaiveDate;

/// One reason a licence may not get an e-licence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    NotYetValid {
        from: NaiveDate,
    },
    Expired {
        on: NaiveDate,
    },
    /// A registry state; `OverdueMedical` and `OverdueReview` also come from a passed due date.
    Registry(RegistryState),
    PointsLimit {
        points: u8,
    },
}

impl Reason {
    pub fn code(&self) -> &'static str {
        match self {
            Reason::NotYetValid { .. } => "not_yet_valid",
            Reason::Expired { .. } => "expired",
            Reason::Registry(s) => s.code(),
            Reason::PointsLimit { .. } => "points_limit",
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        use RegistryState::*;
        match (self, lang) {
            (Reason::NotYetValid { from }, Lang::Zh) => format!("驾驶证自{from}起生效，尚未生效"),
            (Reason::NotYetValid { from }, Lang::En) => {
                format!("the licence is not valid before {from}")
            }
            (Reason::Expired { on }, Lang::Zh) => format!("驾驶证已超过有效期（有效期至{on}）"),
            (Reason::Expired { on }, Lang::En) => format!("the licence expired (valid until {on})"),
            (Reason::PointsLimit { points }, Lang::Zh) => {
                format!("本记分周期内已记{points}分，达到{POINTS_LIMIT}分")
            }
            (Reason::PointsLimit { points }, Lang::En) => {
                format!("{points} penalty points in the scoring cycle reach the limit of {POINTS_LIMIT}")
            }
            (Reason::Registry(s), Lang::Zh) => format!("驾驶证处于{}状态", s.name_zh()),
            (Reason::Registry(s), Lang::En) => match s {
                Detained => "the licence is detained by police",
                Seized => "the licence is seized by police",
                Suspended => "the licence is suspended",
                OverdueMedical => "the licence is overdue for its medical exam",
                OverdueReview => "the licence is overdue for its periodic review",
                AnnouncedVoid => "the licence was publicly announced as no longer usable",
                Revoked => "the licence is revoked",
                Withdrawn => "the licence is withdrawn",
                Cancelled => "the licence is cancelled",
                CancelledRecoverable => "the licence is cancelled (recoverable)",
                TransferredOut => "the licence was transferred out to another province",
                Locked => "the licence is locked",
                OverdueRenewal => "the licence is overdue for renewal",
            }
            .to_owned(),
        }
    }
}

/// The verdict for one licence on one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eligibility {
    reasons: Vec<Reason>,
}

impl Eligibility {
    pub fn is_eligible(&self) -> bool {
        self.reasons.is_empty()
    }

    pub fn reasons(&self) -> &[Reason] {
        &self.reasons
    }
}

/// Is an optional due date passed? Due today is not yet overdue.
fn overdue(due: Option<NaiveDate>, today: NaiveDate) -> bool {
    due.is_some_and(|d| d < today)
}

/// The parts of a licence the rules read, and nothing else: what the status list scan loads
/// for each e-licence instead of the whole record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Inputs<'a> {
    pub valid_from: NaiveDate,
    pub valid_until: Option<NaiveDate>,
    /// Registry states, sorted, without duplicates.
    pub states: &'a [RegistryState],
    pub points: u8,
    pub medical_due: Option<NaiveDate>,
    pub review_due: Option<NaiveDate>,
}

impl<'a> From<&'a Licence> for Inputs<'a> {
    fn from(l: &'a Licence) -> Self {
        Inputs {
            valid_from: l.valid_from,
            valid_until: l.valid_until,
            states: &l.states,
            points: l.points,
            medical_due: l.medical_due,
            review_due: l.review_due,
        }
    }
}

/// Every reason, in a fixed order: validity, registry states (in their canonical order), points.
pub fn evaluate(licence: &Licence, today: NaiveDate) -> Eligibility {
    evaluate_inputs(Inputs::from(licence), today)
}

/// [`evaluate`] on the inputs alone.
pub fn evaluate_inputs(licence: Inputs<'_>, today: NaiveDate) -> Eligibility {
    let mut reasons = Vec::new();
    if licence.valid_from > today {
        reasons.push(Reason::NotYetValid {
            from: licence.valid_from,
        });
    }
    if let Some(until) = licence.valid_until.filter(|u| *u < today) {
        reasons.push(Reason::Expired { on: until });
    }
    for state in RegistryState::ALL {
        let applies = licence.states.contains(&state)
            || match state {
                RegistryState::OverdueMedical => overdue(licence.medical_due, today),
                RegistryState::OverdueReview => overdue(licence.review_due, today),
                _ => false,
            };
        if applies {
            reasons.push(Reason::Registry(state));
        }
    }
    if licence.points >= POINTS_LIMIT {
        reasons.push(Reason::PointsLimit {
            points: licence.points,
        });
    }
    Eligibility { reasons }
}

/// The first day after `today` on which the verdict on these inputs can change by the date
/// alone (the registry unchanged): the licence starts (`valid_from`), lapses (the day after
/// `valid_until`), or its medical exam or review becomes overdue (the day after it is due).
/// `None` when no day ahead changes anything. The status list keeps this beside each
/// e-licence's entry, so a sweep re-evaluates only the e-licences due that day.
pub fn next_change_after(licence: Inputs<'_>, today: NaiveDate) -> Option<NaiveDate> {
    let day_after = |d: NaiveDate| d.succ_opt();
    [
        Some(licence.valid_from),
        licence.valid_until.and_then(day_after),
        licence.medical_due.and_then(day_after),
        licence.review_due.and_then(day_after),
    ]
    .into_iter()
    .flatten()
    .filter(|d| *d > today)
    .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::licence::{LicenceNumber, Sex};
    use crate::domain::licence_class::{ClassSet, LicenceClass};
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn clean() -> Licence {
        Licence {
            number: LicenceNumber::parse("110101199001011234").unwrap(),
            name: "张伟".into(),
            sex: Sex::M,
            nationality: "CHN".into(),
            birth_date: d("1990-01-01"),
            address: "北京市东城区东四十条12号".into(),
            issuing_authority: "北京市公安局公安交通管理局".into(),
            classes: ClassSet::new([LicenceClass::C1]).unwrap(),
            first_issued: d("2012-03-05"),
            valid_from: d("2018-03-05"),
            valid_until: Some(d("2028-03-05")),
            states: vec![],
            points: 0,
            points_cycle_start: d("2026-03-05"),
            medical_due: None,
            review_due: None,
        }
    }

    fn codes(l: &Licence, today: &str) -> Vec<&'static str> {
        evaluate(l, d(today))
            .reasons()
            .iter()
            .map(Reason::code)
            .collect()
    }

    const TODAY: &str = "2026-11-22";

    #[test]
    fn a_clean_licence_is_eligible() {
        let e = evaluate(&clean(), d(TODAY));
        assert!(e.is_eligible());
        assert!(e.reasons().is_empty());
    }

    #[test]
    fn expiry_boundaries() {
        let l = clean();
        assert_eq!(codes(&l, "2028-03-04"), Vec::<&str>::new());
        assert_eq!(
            codes(&l, "2028-03-05"),
            Vec::<&str>::new(),
            "valid on its last day"
        );
        assert_eq!(codes(&l, "2028-03-06"), vec!["expired"]);
    }

    #[test]
    fn long_term_never_expires() {
        let mut l = clean();
        l.valid_until = None;
        assert!(evaluate(&l, d("2999-12-31")).is_eligible());
    }

    #[test]
    fn not_yet_valid_boundaries() {
        let l = clean();
        assert_eq!(codes(&l, "2018-03-04"), vec!["not_yet_valid"]);
        assert_eq!(
            codes(&l, "2018-03-05"),
            Vec::<&str>::new(),
            "valid from its first day"
        );
    }

    #[test]
    fn points_limit_boundaries() {
        let mut l = clean();
        l.points = 11;
        assert!(evaluate(&l, d(TODAY)).is_eligible());
        l.points = 12;
        assert_eq!(codes(&l, TODAY), vec!["points_limit"]);
        l.points = 36;
        assert_eq!(codes(&l, TODAY), vec!["points_limit"]);
    }

    #[test]
    fn medical_due_date_boundaries() {
        let mut l = clean();
        l.medical_due = Some(d(TODAY));
        assert!(
            evaluate(&l, d(TODAY)).is_eligible(),
            "due today is not overdue"
        );
        assert_eq!(codes(&l, "2026-11-23"), vec!["overdue_medical"]);
    }

    #[test]
    fn review_due_date_boundaries() {
        let mut l = clean();
        l.review_due = Some(d(TODAY));
        assert!(evaluate(&l, d(TODAY)).is_eligible());
        assert_eq!(codes(&l, "2026-11-23"), vec!["overdue_review"]);
    }

    #[test]
    fn overdue_flag_and_passed_date_give_one_reason() {
        let mut l = clean();
        l.states = vec![RegistryState::OverdueMedical];
        l.medical_due = Some(d("2026-01-01"));
        assert_eq!(codes(&l, TODAY), vec!["overdue_medical"]);
        l.medical_due = Some(d("2030-01-01"));
        assert_eq!(
            codes(&l, TODAY),
            vec!["overdue_medical"],
            "the flag alone is enough"
        );
    }

    #[test]
    fn every_registry_state_blocks_with_its_own_code() {
        for state in RegistryState::ALL {
            let mut l = clean();
            l.states = vec![state];
            assert_eq!(codes(&l, TODAY), vec![state.code()]);
        }
    }

    #[test]
    fn every_reason_is_reported_in_a_fixed_order() {
        let mut l = clean();
        l.states = vec![RegistryState::Suspended, RegistryState::Locked];
        l.points = 12;
        l.review_due = Some(d("2026-01-01"));
        assert_eq!(
            codes(&l, "2028-03-06"),
            vec![
                "expired",
                "suspended",
                "overdue_review",
                "locked",
                "points_limit"
            ]
        );
    }

    #[test]
    fn every_reason_has_messages_in_both_languages() {
        let mut reasons = vec![
            Reason::NotYetValid { from: d(TODAY) },
            Reason::Expired { on: d(TODAY) },
            Reason::PointsLimit { points: 12 },
        ];
        reasons.extend(RegistryState::ALL.map(Reason::Registry));
        for r in reasons {
            let zh = r.message(Lang::Zh);
            let en = r.message(Lang::En);
            assert!(!zh.is_empty() && !en.is_empty() && zh != en, "{}", r.code());
            assert!(!zh.is_ascii(), "zh message is Chinese: {zh}");
        }
    }

    fn arb_date() -> impl Strategy<Value = NaiveDate> {
        (0i64..=8000).prop_map(|n| d("2010-01-01") + chrono::Duration::days(n))
    }

    prop_compose! {
        fn arb_licence()(
            valid_from in arb_date(),
            valid_until in proptest::option::of(arb_date()),
            states in proptest::sample::subsequence(RegistryState::ALL.to_vec(), 0..4),
            points in 0u8..=20,
            medical_due in proptest::option::of(arb_date()),
            review_due in proptest::option::of(arb_date()),
        ) -> Licence {
            Licence { valid_from, valid_until, states, points, medical_due, review_due, ..clean() }
        }
    }

    proptest! {
        /// Eligible exactly when no rule applies, each rule restated independently here.
        #[test]
        fn eligible_exactly_when_no_rule_applies(l in arb_licence(), today in arb_date()) {
            let e = evaluate(&l, today);
            let in_validity = l.valid_from <= today && l.valid_until.is_none_or(|u| today <= u);
            let medical_ok = l.medical_due.is_none_or(|m| today <= m);
            let review_ok = l.review_due.is_none_or(|r| today <= r);
            let expected = in_validity && l.states.is_empty() && l.points < 12 && medical_ok && review_ok;
            prop_assert_eq!(e.is_eligible(), expected);
            prop_assert_eq!(e.is_eligible(), e.reasons().is_empty());
            // Every registry state on the record is reported, and no code appears twice.
            for s in &l.states {
                prop_assert!(e.reasons().contains(&Reason::Registry(*s)));
            }
            let mut seen: Vec<_> = e.reasons().iter().map(Reason::code).collect();
            let n = seen.len();
            seen.sort();
            seen.dedup();
            prop_assert_eq!(seen.len(), n);
        }

        /// The verdict stays the same on every day from `today` up to the day
        /// `next_change_after` names (and on any later day when it names none).
        #[test]
        fn the_verdict_holds_until_the_next_change(l in arb_licence(), today in arb_date(), ahead in 1i64..4000) {
            let now = evaluate(&l, today);
            let next = next_change_after(Inputs::from(&l), today);
            if let Some(next) = next {
                prop_assert!(next > today);
            }
            let day = today + chrono::Duration::days(ahead);
            if next.is_none_or(|n| day < n) {
                prop_assert_eq!(evaluate(&l, day), now);
            }
        }
    }
}
