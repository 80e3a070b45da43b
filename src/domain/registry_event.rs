//! Live registry changes (登记事项变更): one event at a time as the registry sends it, what it
//! does to the licence, and whether it ends the current e-licence. Pure: the caller loads the
//! licence, applies the event and stores the result (`service::lifecycle`).
//!
//! The wire form is a JSON object tagged by `"type"`. Values arrive as the registry sends them
//! (codes as strings, points as a number) and are validated by [`apply`], which reports every
//! problem with a stable code, as record validation does. An event that changes nothing (a
//! status set that is set already, the same classes again) is not an error: [`apply`] answers
//! `Ok(None)` and the caller reports it as unchanged.

use super::licence::Licence;
use super::licence_class::ClassSet;
use super::record::{err, text, FieldError};
use super::registry_state::RegistryState;
use crate::i18n::Lang;
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use strum::{EnumCount, VariantArray};

/// A nullable field that must still be present (`null` is a value: long-term, no due date).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
    Option::<NaiveDate>::deserialize(d)
}

/// One change the registry sends about one licence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum RegistryEvent {
    /// A registry state is put on the licence (暂扣 suspended, 扣留 detained, 吊销 revoked…).
    StatusSet {
        /// A registry state code, e.g. "suspended".
        #[schema(example = "suspended")]
        status: String,
    },
    /// A registry state is lifted (恢复).
    StatusCleared {
        #[schema(example = "suspended")]
        status: String,
    },
    /// The points of the scoring cycle (记分), and the cycle's new start when it rolled over.
    PointsChanged {
        /// 0 to 99.
        #[schema(minimum = 0, maximum = 99)]
        points: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cycle_start: Option<NaiveDate>,
    },
    /// The licence classes (准驾车型) changed: upgrade, downgrade, a class added or removed.
    ClassesChanged {
        #[schema(example = json!(["B2"]))]
        classes: Vec<String>,
    },
    /// A new validity period (换证); `valid_until` null is long-term (长期).
    Renewed {
        /// Defaults to the current `valid_from`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        valid_from: Option<NaiveDate>,
        #[serde(deserialize_with = "present")]
        #[schema(required = true)]
        valid_until: Option<NaiveDate>,
    },
    /// The issuing authority (发证机关) changed, e.g. after a move within the province.
    AuthorityChanged { authority: String },
    /// The next medical exam (体检) is due on this day; null: none due.
    MedicalDueChanged {
        #[serde(deserialize_with = "present")]
        #[schema(required = true)]
        medical_due: Option<NaiveDate>,
    },
    /// The next periodic review (审验) is due on this day; null: none due.
    ReviewDueChanged {
        #[serde(deserialize_with = "present")]
        #[schema(required = true)]
        review_due: Option<NaiveDate>,
    },
}

super::code_enum! {
    /// Why an event ends the current e-licence: after such a change the holder applies again.
    #[derive(utoipa::ToSchema, strum::EnumCount)]
    pub enum SupersedeReason {
        ClassChanged,
        Renewed,
        AuthorityChanged,
    }
}

impl SupersedeReason {
    pub const ALL: [SupersedeReason; SupersedeReason::COUNT] = super::variants(Self::VARIANTS);

    pub fn parse(code: &str) -> Option<SupersedeReason> {
        code.parse().ok()
    }

    pub fn message(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SupersedeReason::ClassChanged, Lang::Zh) => "准驾车型已变更，请重新申领电子驾驶证",
            (SupersedeReason::ClassChanged, Lang::En) => {
                "the licence classes changed: apply for the e-licence again"
            }
            (SupersedeReason::Renewed, Lang::Zh) => "驾驶证有效期已变更，请重新申领电子驾驶证",
            (SupersedeReason::Renewed, Lang::En) => {
                "the licence was renewed: apply for the e-licence again"
            }
            (SupersedeReason::AuthorityChanged, Lang::Zh) => "发证机关已变更，请重新申领电子驾驶证",
            (SupersedeReason::AuthorityChanged, Lang::En) => {
                "the issuing authority changed: apply for the e-licence again"
            }
        }
    }
}

impl RegistryEvent {
    /// The `type` tag: the event's kind, as stored in `registry_events.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            RegistryEvent::StatusSet { .. } => "status_set",
            RegistryEvent::StatusCleared { .. } => "status_cleared",
            RegistryEvent::PointsChanged { .. } => "points_changed",
            RegistryEvent::ClassesChanged { .. } => "classes_changed",
            RegistryEvent::Renewed { .. } => "renewed",
            RegistryEvent::AuthorityChanged { .. } => "authority_changed",
            RegistryEvent::MedicalDueChanged { .. } => "medical_due_changed",
            RegistryEvent::ReviewDueChanged { .. } => "review_due_changed",
        }
    }
}

/// Does this event, once applied, end the current e-licence? Class, validity and authority
/// are printed on the e-licence and signed into its codes; states and points are live.
pub fn supersedes(event: &RegistryEvent) -> Option<SupersedeReason> {
    match event {
        RegistryEvent::ClassesChanged { .. } => Some(SupersedeReason::ClassChanged),
        RegistryEvent::Renewed { .. } => Some(SupersedeReason::Renewed),
        RegistryEvent::AuthorityChanged { .. } => Some(SupersedeReason::AuthorityChanged),
        RegistryEvent::StatusSet { .. }
        | RegistryEvent::StatusCleared { .. }
        | RegistryEvent::PointsChanged { .. }
        | RegistryEvent::MedicalDueChanged { .. }
        | RegistryEvent::ReviewDueChanged { .. } => None,
    }
}

fn state(status: &str) -> Result<RegistryState, Vec<FieldError>> {
    status
        .parse()
        .map_err(|e: super::registry_state::UnknownState| {
            vec![err("status", "unknown_code", e.to_string())]
        })
}

/// The licence after `event`, `Ok(None)` when the event changes nothing, or every problem.
pub fn apply(licence: &Licence, event: &RegistryEvent) -> Result<Option<Licence>, Vec<FieldError>> {
    let mut l = licence.clone();
    match event {
        RegistryEvent::StatusSet { status } => {
            let s = state(status)?;
            if !l.states.contains(&s) {
                l.states.push(s);
                l.states.sort();
            }
        }
        RegistryEvent::StatusCleared { status } => {
            let s = state(status)?;
            l.states.retain(|x| *x != s);
        }
        RegistryEvent::PointsChanged {
            points,
            cycle_start,
        } => {
            let mut errors = Vec::new();
            let p = u8::try_from(*points).ok().filter(|p| *p <= 99);
            if p.is_none() {
                errors.push(err("points", "out_of_range", "points are between 0 and 99"));
            }
            if cycle_start.is_some_and(|c| c < l.first_issued) {
                errors.push(err(
                    "cycle_start",
                    "inconsistent",
                    "the scoring cycle cannot start before first_issued",
                ));
            }
            match p {
                Some(p) if errors.is_empty() => {
                    l.points = p;
                    l.points_cycle_start = cycle_start.unwrap_or(l.points_cycle_start);
                }
                _ => return Err(errors),
            }
        }
        RegistryEvent::ClassesChanged { classes } => l.classes = class_set(classes)?,
        RegistryEvent::Renewed {
            valid_from,
            valid_until,
        } => {
            let from = valid_from.unwrap_or(l.valid_from);
            let mut errors = Vec::new();
            if from < l.first_issued {
                errors.push(err(
                    "valid_from",
                    "inconsistent",
                    "valid_from must not be before first_issued",
                ));
            }
            if valid_until.is_some_and(|u| u <= from) {
                errors.push(err(
                    "valid_until",
                    "inconsistent",
                    "valid_until must be after valid_from",
                ));
            }
            if !errors.is_empty() {
                return Err(errors);
            }
            l.valid_from = from;
            l.valid_until = *valid_until;
        }
        RegistryEvent::AuthorityChanged { authority } => {
            let mut errors = Vec::new();
            let a = text(&mut errors, "authority", authority, 128);
            if !errors.is_empty() {
                return Err(errors);
            }
            l.issuing_authority = a;
        }
        RegistryEvent::MedicalDueChanged { medical_due } => l.medical_due = *medical_due,
        RegistryEvent::ReviewDueChanged { review_due } => l.review_due = *review_due,
    }
    Ok((l != *licence).then_some(l))
}

fn class_set(codes: &[String]) -> Result<ClassSet, Vec<FieldError>> {
    let mut errors = Vec::new();
    match super::record::classes(&mut errors, codes) {
        Some(set) if errors.is_empty() => Ok(set),
        _ => Err(errors),
    }
}

/// The events that turn `old` into `new` as far as events reach (states, points, classes,
/// validity, authority, due dates), in an order whose [`apply`] one by one ends at `new`.
/// A full record sent again (admin PUT, `import`) is recorded and acted on through these.
pub fn derive(old: &Licence, new: &Licence) -> Vec<RegistryEvent> {
    let mut events = Vec::new();
    for s in old.states.iter().filter(|s| !new.states.contains(s)) {
        events.push(RegistryEvent::StatusCleared {
            status: s.code().to_owned(),
        });
    }
    for s in new.states.iter().filter(|s| !old.states.contains(s)) {
        events.push(RegistryEvent::StatusSet {
            status: s.code().to_owned(),
        });
    }
    if old.points != new.points || old.points_cycle_start != new.points_cycle_start {
        events.push(RegistryEvent::PointsChanged {
            points: i64::from(new.points),
            cycle_start: (old.points_cycle_start != new.points_cycle_start)
                .then_some(new.points_cycle_start),
        });
    }
    if old.classes != new.classes {
        events.push(RegistryEvent::ClassesChanged {
            classes: new
                .classes
                .as_slice()
                .iter()
                .map(|c| c.code().to_owned())
                .collect(),
        });
    }
    if old.valid_from != new.valid_from || old.valid_until != new.valid_until {
        events.push(RegistryEvent::Renewed {
            valid_from: (old.valid_from != new.valid_from).then_some(new.valid_from),
            valid_until: new.valid_until,
        });
    }
    if old.issuing_authority != new.issuing_authority {
        events.push(RegistryEvent::AuthorityChanged {
            authority: new.issuing_authority.clone(),
        });
    }
    if old.medical_due != new.medical_due {
        events.push(RegistryEvent::MedicalDueChanged {
            medical_due: new.medical_due,
        });
    }
    if old.review_due != new.review_due {
        events.push(RegistryEvent::ReviewDueChanged {
            review_due: new.review_due,
        });
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::licence_class::LicenceClass;
    use crate::domain::record::tests::sample_record;
    use proptest::prelude::*;
    use serde_json::json;

    fn d(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn licence() -> Licence {
        sample_record().validate().unwrap().licence
    }

    fn event(v: serde_json::Value) -> RegistryEvent {
        serde_json::from_value(v).unwrap()
    }

    fn codes(l: &Licence, e: &RegistryEvent) -> Vec<(&'static str, &'static str)> {
        apply(l, e)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.code))
            .collect()
    }

    #[test]
    fn the_wire_form_is_tagged_by_type_and_round_trips() {
        let cases = [
            json!({"type": "status_set", "status": "suspended"}),
            json!({"type": "status_cleared", "status": "suspended"}),
            json!({"type": "points_changed", "points": 6}),
            json!({"type": "points_changed", "points": 0, "cycle_start": "2027-03-05"}),
            json!({"type": "classes_changed", "classes": ["B2"]}),
            json!({"type": "renewed", "valid_until": null}),
            json!({"type": "renewed", "valid_from": "2028-03-05", "valid_until": "2038-03-05"}),
            json!({"type": "authority_changed", "authority": "上海市公安局交通警察总队"}),
            json!({"type": "medical_due_changed", "medical_due": "2027-01-01"}),
            json!({"type": "review_due_changed", "review_due": null}),
        ];
        for v in cases {
            let e = event(v.clone());
            assert_eq!(e.kind(), v["type"]);
            assert_eq!(serde_json::to_value(&e).unwrap(), v);
        }
    }

    #[test]
    fn malformed_events_are_refused_by_the_parser() {
        for bad in [
            json!({"type": "stolen"}),
            json!({"status": "suspended"}),
            json!({"type": "status_set"}),
            json!({"type": "status_set", "status": "suspended", "extra": 1}),
            json!({"type": "points_changed", "points": "six"}),
            // A renewal must say its end: null (long-term) is a value, a missing field is not.
            json!({"type": "renewed"}),
            json!({"type": "medical_due_changed"}),
            json!({"type": "renewed", "valid_until": "tomorrow"}),
        ] {
            assert!(
                serde_json::from_value::<RegistryEvent>(bad.clone()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn status_set_and_cleared_keep_states_sorted_and_are_idempotent() {
        let l = licence();
        let locked = apply(&l, &event(json!({"type":"status_set","status":"locked"})))
            .unwrap()
            .unwrap();
        let both = apply(
            &locked,
            &event(json!({"type":"status_set","status":"suspended"})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            both.states,
            vec![RegistryState::Suspended, RegistryState::Locked]
        );
        assert_eq!(
            apply(
                &both,
                &event(json!({"type":"status_set","status":"suspended"}))
            ),
            Ok(None),
            "set again: no change"
        );
        let cleared = apply(
            &both,
            &event(json!({"type":"status_cleared","status":"suspended"})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(cleared, locked);
        assert_eq!(
            apply(
                &l,
                &event(json!({"type":"status_cleared","status":"suspended"}))
            ),
            Ok(None),
            "cleared when not set: no change"
        );
        assert_eq!(
            codes(&l, &event(json!({"type":"status_set","status":"stolen"}))),
            vec![("status", "unknown_code")]
        );
        assert_eq!(
            codes(
                &l,
                &event(json!({"type":"status_cleared","status":"SUSPENDED"}))
            ),
            vec![("status", "unknown_code")]
        );
    }

    #[test]
    fn points_change_within_range_and_cycle() {
        let l = licence();
        let six = apply(&l, &event(json!({"type":"points_changed","points":6})))
            .unwrap()
            .unwrap();
        assert_eq!(six.points, 6);
        assert_eq!(six.points_cycle_start, l.points_cycle_start);
        let rolled = apply(
            &six,
            &event(json!({"type":"points_changed","points":0,"cycle_start":"2027-03-05"})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (rolled.points, rolled.points_cycle_start),
            (0, d("2027-03-05"))
        );
        assert_eq!(
            apply(&six, &event(json!({"type":"points_changed","points":6}))),
            Ok(None)
        );
        for bad in [-1, 100, i64::MAX] {
            assert_eq!(
                codes(&l, &event(json!({"type":"points_changed","points":bad}))),
                vec![("points", "out_of_range")]
            );
        }
        assert_eq!(
            codes(
                &l,
                &event(json!({"type":"points_changed","points":200,"cycle_start":"2000-01-01"}))
            ),
            vec![("points", "out_of_range"), ("cycle_start", "inconsistent")]
        );
    }

    #[test]
    fn classes_change_is_validated_and_canonical() {
        let l = licence();
        let up = apply(
            &l,
            &event(json!({"type":"classes_changed","classes":["D","B2"]})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(up.classes.to_codes(), "B2,D");
        assert_eq!(
            apply(
                &l,
                &event(json!({"type":"classes_changed","classes":["D","C1"]}))
            ),
            Ok(None),
            "the same set in another order changes nothing"
        );
        assert_eq!(
            codes(&l, &event(json!({"type":"classes_changed","classes":[]}))),
            vec![("classes", "required")]
        );
        assert_eq!(
            codes(
                &l,
                &event(json!({"type":"classes_changed","classes":["C1","Z9","C1"]}))
            ),
            vec![("classes", "unknown_code"), ("classes", "duplicate")]
        );
    }

    #[test]
    fn renewal_sets_a_new_validity() {
        let l = licence();
        let ten = apply(
            &l,
            &event(json!({"type":"renewed","valid_from":"2028-03-05","valid_until":"2038-03-05"})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            (ten.valid_from, ten.valid_until),
            (d("2028-03-05"), Some(d("2038-03-05")))
        );
        let long = apply(&l, &event(json!({"type":"renewed","valid_until":null})))
            .unwrap()
            .unwrap();
        assert_eq!((long.valid_from, long.valid_until), (l.valid_from, None));
        assert_eq!(
            apply(
                &l,
                &event(json!({"type":"renewed","valid_until":"2028-03-05"}))
            ),
            Ok(None)
        );
        assert_eq!(
            codes(
                &l,
                &event(json!({"type":"renewed","valid_until":"2018-03-05"}))
            ),
            vec![("valid_until", "inconsistent")]
        );
        assert_eq!(
            codes(
                &l,
                &event(
                    json!({"type":"renewed","valid_from":"2001-01-01","valid_until":"2000-01-01"})
                )
            ),
            vec![
                ("valid_from", "inconsistent"),
                ("valid_until", "inconsistent")
            ]
        );
    }

    #[test]
    fn authority_change_is_trimmed_text() {
        let l = licence();
        let moved = apply(
            &l,
            &event(json!({"type":"authority_changed","authority":" 上海市公安局交通警察总队 "})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(moved.issuing_authority, "上海市公安局交通警察总队");
        for (bad, code) in [
            ("  ", "required"),
            ("局\u{7}", "invalid_format"),
            (&"局".repeat(129)[..], "too_long"),
        ] {
            assert_eq!(
                codes(
                    &l,
                    &event(json!({"type":"authority_changed","authority":bad}))
                ),
                vec![("authority", code)]
            );
        }
        assert_eq!(
            apply(
                &l,
                &event(json!({"type":"authority_changed","authority":l.issuing_authority}))
            ),
            Ok(None)
        );
    }

    #[test]
    fn due_dates_change() {
        let l = licence();
        let m = apply(
            &l,
            &event(json!({"type":"medical_due_changed","medical_due":"2027-01-01"})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(m.medical_due, Some(d("2027-01-01")));
        let r = apply(
            &m,
            &event(json!({"type":"review_due_changed","review_due":"2027-06-01"})),
        )
        .unwrap()
        .unwrap();
        assert_eq!(r.review_due, Some(d("2027-06-01")));
        assert_eq!(
            apply(
                &l,
                &event(json!({"type":"review_due_changed","review_due":null}))
            ),
            Ok(None)
        );
    }

    #[test]
    fn exactly_class_validity_and_authority_supersede() {
        let expect = [
            (json!({"type":"status_set","status":"suspended"}), None),
            (json!({"type":"status_cleared","status":"suspended"}), None),
            (json!({"type":"points_changed","points":3}), None),
            (
                json!({"type":"classes_changed","classes":["B2"]}),
                Some(SupersedeReason::ClassChanged),
            ),
            (
                json!({"type":"renewed","valid_until":null}),
                Some(SupersedeReason::Renewed),
            ),
            (
                json!({"type":"authority_changed","authority":"x"}),
                Some(SupersedeReason::AuthorityChanged),
            ),
            (
                json!({"type":"medical_due_changed","medical_due":null}),
                None,
            ),
            (json!({"type":"review_due_changed","review_due":null}), None),
        ];
        for (v, reason) in expect {
            assert_eq!(supersedes(&event(v.clone())), reason, "{v}");
        }
        for r in SupersedeReason::ALL {
            assert_eq!(SupersedeReason::parse(r.code()), Some(r));
            assert_eq!(serde_json::to_value(r).unwrap(), r.code());
            assert!(r.message(Lang::Zh).contains("重新申领"));
            assert!(r.message(Lang::En).contains("apply"));
        }
        assert_eq!(SupersedeReason::parse("bogus"), None);
    }

    #[test]
    fn derive_of_the_same_licence_is_empty() {
        assert!(derive(&licence(), &licence()).is_empty());
    }

    #[test]
    fn derive_names_each_change() {
        let old = licence();
        let mut new = old.clone();
        new.states = vec![RegistryState::Suspended];
        new.points = 9;
        new.classes = ClassSet::new([LicenceClass::B2]).unwrap();
        new.valid_until = None;
        new.issuing_authority = "上海市公安局交通警察总队".into();
        let kinds: Vec<_> = derive(&old, &new).iter().map(|e| e.kind()).collect();
        assert_eq!(
            kinds,
            [
                "status_set",
                "points_changed",
                "classes_changed",
                "renewed",
                "authority_changed"
            ]
        );
    }

    fn arb_licence() -> impl Strategy<Value = Licence> {
        let states = proptest::sample::subsequence(RegistryState::ALL.to_vec(), 0..4);
        let classes = proptest::sample::subsequence(LicenceClass::ALL.to_vec(), 1..4);
        (
            states,
            classes,
            0u8..=99,
            0u32..400,
            0u32..4000,
            proptest::option::of(1u32..4000),
            prop_oneof!["北京市公安局公安交通管理局", "上海市公安局交通警察总队"],
            proptest::option::of(0u32..900),
            proptest::option::of(0u32..900),
        )
            .prop_map(
                |(states, classes, points, cycle, from, len, auth, med, rev)| {
                    let base = d("2012-03-05");
                    let day = |n: u32| base + chrono::Days::new(u64::from(n));
                    let mut l = licence();
                    l.states = states;
                    l.classes = ClassSet::new(classes).unwrap();
                    l.points = points;
                    l.points_cycle_start = day(cycle);
                    l.valid_from = day(from);
                    l.valid_until = len.map(|n| day(from + n));
                    l.issuing_authority = auth.to_owned();
                    l.medical_due = med.map(day);
                    l.review_due = rev.map(day);
                    l
                },
            )
    }

    proptest! {
        /// A record sent again turns into events that, applied one by one, give that record;
        /// each of them changes something, and only class, validity and authority supersede.
        #[test]
        fn applying_the_derived_events_gives_the_new_licence(
            old in arb_licence(),
            new in arb_licence(),
        ) {
            let mut l = old.clone();
            for e in derive(&old, &new) {
                // Through the wire form, as import lines and the admin route carry them.
                let wire: RegistryEvent =
                    serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
                prop_assert_eq!(&wire, &e);
                l = apply(&l, &e).unwrap().expect("a derived event changes something");
            }
            prop_assert_eq!(&l, &new);
        }
    }
}
