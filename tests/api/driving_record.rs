//! The driving record (驾驶记录) of the secondary page: the points changes and registry states
//! set or cleared in the current scoring cycle, newest first, in both documents that show the
//! secondary page.

use crate::helpers::{
    issue_e_licence, record_with_photo, spawn_app, test_now, Backend, TestApp, NUMBER, OTHER_NUMBER,
};
use elicence::domain::role::Role;
use serde_json::{json, Value};

/// Sends one event about `number` as the admin, with the clock at `at`: a day (at noon in
/// Beijing) or an RFC 3339 instant.
async fn send_on(app: &TestApp, number: &str, at: &str, event: Value) {
    let at = if at.len() == 10 {
        format!("{at}T04:00:00Z")
    } else {
        at.to_owned()
    };
    app.clock.set(at.parse().unwrap());
    let admin = app.token(Role::Admin, None);
    let path = format!("/api/v1/admin/licences/{number}/events");
    let res = app.post_json(&path, &admin, &event).await;
    assert_eq!(res.status(), 200, "{event}");
}

/// The driving record of GET `path` in `lang` (asserting 200).
async fn record_of(app: &TestApp, holder: &str, path: &str, lang: &str) -> Vec<Value> {
    let res = app
        .client
        .get(app.url(path))
        .bearer_auth(holder)
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    let body: Value = res.json().await.unwrap();
    body["secondary_page"]["driving_record"]
        .as_array()
        .unwrap_or_else(|| panic!("{path}: no driving_record in {body}"))
        .clone()
}

/// Points on 2027-03-05 + `points` days: the new cycle's record filling up.
async fn send_points(app: &TestApp, points: i64) {
    let day = format!("2027-03-{:02}", 5 + points);
    send_on(
        app,
        NUMBER,
        &day,
        json!({"type": "points_changed", "points": points}),
    )
    .await
}

const DOCUMENTS: [&str; 2] = ["/api/v1/me/licence", "/api/v1/me/e-licence"];

async fn the_driving_record_lists_the_cycles_points_and_status_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    // The contract record's scoring cycle runs from 2026-03-05.
    let holder = app.holder(&record_with_photo(NUMBER));
    issue_e_licence(&app, &holder).await;
    let other = app.holder(&record_with_photo(OTHER_NUMBER));
    issue_e_licence(&app, &other).await;

    // The last cycle's points, then this cycle's changes; a due date is not on the record.
    // The cycle starts at midnight in Beijing: 16:00 UTC the day before.
    send_on(
        &app,
        NUMBER,
        "2026-02-20",
        json!({"type": "points_changed", "points": 9}),
    )
    .await;
    let detained = json!({"type": "status_set", "status": "detained"});
    send_on(&app, NUMBER, "2026-03-04T15:59:59Z", detained).await;
    let cycle_points = json!({"type": "points_changed", "points": 0});
    send_on(&app, NUMBER, "2026-03-04T16:00:00Z", cycle_points).await;
    send_on(
        &app,
        NUMBER,
        "2026-03-05",
        json!({"type": "status_cleared", "status": "detained"}),
    )
    .await;
    send_on(
        &app,
        NUMBER,
        "2026-06-01",
        json!({"type": "points_changed", "points": 3}),
    )
    .await;
    send_on(
        &app,
        NUMBER,
        "2026-07-10",
        json!({"type": "status_set", "status": "suspended"}),
    )
    .await;
    send_on(
        &app,
        NUMBER,
        "2026-08-01",
        json!({"type": "status_cleared", "status": "suspended"}),
    )
    .await;
    let medical = json!({"type": "medical_due_changed", "medical_due": "2027-01-01"});
    send_on(&app, NUMBER, "2026-09-01", medical).await;
    send_on(
        &app,
        NUMBER,
        "2026-09-15",
        json!({"type": "points_changed", "points": 6}),
    )
    .await;
    app.clock.set(test_now());

    let expected = json!([
        {"date": "2026-09-15", "kind": "points_changed", "points": 6, "status": null,
         "message": "points changed: 6 of 12 in this scoring cycle"},
        {"date": "2026-08-01", "kind": "status_cleared", "points": null, "status": "suspended",
         "message": "status cleared: suspended"},
        {"date": "2026-07-10", "kind": "status_set", "points": null, "status": "suspended",
         "message": "status set: suspended"},
        {"date": "2026-06-01", "kind": "points_changed", "points": 3, "status": null,
         "message": "points changed: 3 of 12 in this scoring cycle"},
        {"date": "2026-03-05", "kind": "status_cleared", "points": null, "status": "detained",
         "message": "status cleared: detained"},
        {"date": "2026-03-05", "kind": "points_changed", "points": 0, "status": null,
         "message": "points changed: 0 of 12 in this scoring cycle"},
    ]);
    for path in DOCUMENTS {
        let record = record_of(&app, &holder, path, "en").await;
        assert_eq!(Value::from(record.clone()), expected, "{path}");
        // Nothing internal: no event ids, no sender's token id.
        for entry in &record {
            let mut keys: Vec<&str> = entry
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                ["date", "kind", "message", "points", "status"],
                "{path}"
            );
        }
        let zh = record_of(&app, &holder, path, "zh-CN").await;
        let messages: Vec<&str> = zh.iter().map(|e| e["message"].as_str().unwrap()).collect();
        assert_eq!(
            messages[..3],
            [
                "记分变更：本记分周期累计 6 分（满分 12 分）",
                "解除暂扣状态",
                "驾驶证状态变更为暂扣"
            ],
            "{path}"
        );
        assert_eq!(
            record_of(&app, &other, path, "en").await,
            Vec::<Value>::new(),
            "{path}"
        );
    }
    // The points line agrees with the newest points change.
    let res = app.get("/api/v1/me/licence", Some(&holder)).await;
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["secondary_page"]["points"]["points"], 6);

    // A new cycle (the registry rolls it over with the points) starts a new record.
    let rollover = json!({"type": "points_changed", "points": 0, "cycle_start": "2027-03-05"});
    send_on(&app, NUMBER, "2027-03-05", rollover).await;
    for points in 1..=9 {
        send_points(&app, points).await;
    }
    let record = record_of(&app, &holder, "/api/v1/me/licence", "en").await;
    assert_eq!(record.len(), 10);
    assert_eq!(
        record[9],
        json!({"date": "2027-03-05", "kind": "points_changed", "points": 0, "status": null,
               "message": "a new scoring cycle from 2027-03-05: 0 of 12 points"})
    );
    // At most ten entries, the newest.
    send_points(&app, 10).await;
    send_points(&app, 11).await;
    let record = record_of(&app, &holder, "/api/v1/me/licence", "en").await;
    let points: Vec<i64> = record
        .iter()
        .map(|e| e["points"].as_i64().unwrap())
        .collect();
    assert_eq!(points, [11, 10, 9, 8, 7, 6, 5, 4, 3, 2]);
    assert_eq!(record[0]["date"], "2027-03-16");
}

crate::both_backends!(the_driving_record_lists_the_cycles_points_and_status_changes);
