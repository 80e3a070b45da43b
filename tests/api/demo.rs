use crate::helpers::{spawn_app, Backend};
use elicence::clock::FixedClock;
use elicence::domain::eligibility::evaluate;
use elicence::domain::licence_class::LicenceClass;
use elicence::domain::registry_state::RegistryState;
use elicence::domain::role::Role;
use elicence::registry::demo::{self, DEMO_REGISTRY};
use elicence::registry::import::parse_line;
use serde_json::Value;
use std::collections::BTreeSet;

/// The bundled sample covers every class, every registry state and the date edge cases.
#[test]
fn the_demo_registry_covers_every_class_state_and_edge_case() {
    let today = crate::helpers::test_now().date_naive();
    let records: Vec<_> = DEMO_REGISTRY
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| parse_line(l.as_bytes()).unwrap())
        .collect();
    assert!(
        records.len() >= 18,
        "about twenty licences, got {}",
        records.len()
    );
    let classes: BTreeSet<_> = records
        .iter()
        .flat_map(|r| r.licence.classes.as_slice().to_vec())
        .collect();
    assert_eq!(classes, LicenceClass::ALL.into_iter().collect());
    let states: BTreeSet<_> = records
        .iter()
        .flat_map(|r| r.licence.states.clone())
        .collect();
    assert_eq!(states, RegistryState::ALL.into_iter().collect());
    let codes: BTreeSet<_> = records
        .iter()
        .flat_map(|r| {
            evaluate(&r.licence, today)
                .reasons()
                .iter()
                .map(|x| x.code())
                .collect::<Vec<_>>()
        })
        .collect();
    for needed in [
        "expired",
        "points_limit",
        "overdue_medical",
        "overdue_review",
    ] {
        assert!(codes.contains(needed), "no demo licence shows {needed}");
    }
    assert!(
        records.iter().any(|r| r.licence.valid_until.is_none()),
        "a long-term licence"
    );
    assert!(
        records
            .iter()
            .any(|r| evaluate(&r.licence, today).reasons().len() >= 3),
        "a licence with several reasons"
    );
    assert!(
        evaluate(&records[0].licence, today).is_eligible(),
        "the first holder is the clean default"
    );
}

async fn demo_tokens_answer_the_walk_through(backend: Backend) {
    let app = spawn_app(backend).await;
    let clock = FixedClock::at(crate::helpers::test_now());
    let tokens = demo::load(&app.test_db.db, &clock).unwrap();
    // Loading twice is idempotent for the registry and simply adds fresh tokens.
    let again = demo::load(&app.test_db.db, &clock).unwrap();
    assert_eq!(tokens.len(), again.len());
    for role in [Role::Reviewer, Role::Officer, Role::Admin, Role::Clerk] {
        assert_eq!(tokens.iter().filter(|t| t.role == role).count(), 1);
    }
    let holders: Vec<_> = tokens.iter().filter(|t| t.role == Role::Holder).collect();
    assert_eq!(
        holders.len(),
        DEMO_REGISTRY
            .lines()
            .filter(|l| !l.trim().is_empty())
            .count()
    );
    let mut eligible = 0;
    for t in &holders {
        let res = app.get("/api/v1/me/eligibility", Some(&t.secret)).await;
        assert_eq!(res.status(), 200, "{}", t.label);
        let body: Value = res.json().await.unwrap();
        let verdict = body["eligible"].as_bool().unwrap();
        let says_eligible = t.label.split([' ', ',']).any(|w| w == "eligible");
        assert_eq!(verdict, says_eligible, "{}", t.label);
        eligible += usize::from(verdict);
    }
    assert!(eligible >= 3 && eligible < holders.len());

    // The walk-through: the default holder applies with the photo on file, the officer scans.
    let first = &holders[0].secret;
    let res = app
        .post_json(
            "/api/v1/me/e-licence",
            first,
            &serde_json::json!({"photo": "on_file"}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let doc: Value = res.json().await.unwrap();
    let officer = &tokens
        .iter()
        .find(|t| t.role == Role::Officer)
        .unwrap()
        .secret;
    let v: Value = app
        .post_json(
            "/api/v1/verify",
            officer,
            &serde_json::json!({"code": doc["display"]["code"]}),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(v["valid"], true, "{v}");

    // The demo clerk serves the default holder's authority and sees that e-licence.
    let clerk = &tokens
        .iter()
        .find(|t| t.role == Role::Clerk)
        .unwrap()
        .secret;
    let number = doc["front_page"]["licence_number"].as_str().unwrap();
    let seen: Value = app
        .get(&format!("/api/v1/counter/licences/{number}"), Some(clerk))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        seen["e_licence"]["e_licence_id"], doc["e_licence_id"],
        "{seen}"
    );
}

crate::both_backends!(demo_tokens_answer_the_walk_through);
