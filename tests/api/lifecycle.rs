//! Live registry changes: each event type's effect on the holder's document, on new codes and
//! on online verification; supersede and re-application; the histories kept; the outbox; the
//! offline status list; the same effects through PUT and import; bad events refused whole.

use crate::helpers::{
    error_code, issue_e_licence, issued, partner_token, record_with_photo, scan, spawn_app,
    test_now, Backend, TestApp, NUMBER,
};
use crate::offline_verify::{args, now_flag, scene, text, verify};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use elicence::domain::role::Role;
use elicence::registry::import::import_ndjson;
use serde_json::{json, Value};

fn events_path() -> String {
    format!("/api/v1/admin/licences/{NUMBER}/events")
}

/// Sends one event as the admin; returns the answer's body (asserting 200).
pub(crate) async fn send(app: &TestApp, event: Value) -> Value {
    let admin = app.token(Role::Admin, None);
    let res = app.post_json(&events_path(), &admin, &event).await;
    assert_eq!(res.status(), 200, "{event}");
    res.json().await.unwrap()
}

/// The claims of a display code, read without verifying (the server issued it).
pub(crate) fn claims(code: &str) -> Value {
    let payload = code.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

/// A code's `s` claim as a terminal prints it: `ok`, or the reasons its bits name.
fn status_text(claims: &Value) -> String {
    serde_json::from_value::<elicence::domain::code::CodeClaims>(claims.clone())
        .expect("the claims of a roadside code")
        .status_text()
}

/// The holder's e-licence document (asserting 200).
pub(crate) async fn document(app: &TestApp, holder: &str) -> Value {
    let res = app.get("/api/v1/me/e-licence", Some(holder)).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// The holder's notifications, oldest first: (kind, payload).
pub(crate) async fn notifications(app: &TestApp, holder: &str) -> Vec<(String, Value)> {
    let body: Value = app
        .get("/api/v1/me/notifications?limit=100", Some(holder))
        .await
        .json()
        .await
        .unwrap();
    let mut items: Vec<_> = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].as_str().unwrap().to_owned(), n["payload"].clone()))
        .collect();
    items.reverse();
    items
}

fn kinds(n: &[(String, Value)]) -> Vec<&str> {
    n.iter().map(|(k, _)| k.as_str()).collect()
}

async fn apply(app: &TestApp, holder: &str) -> reqwest::Response {
    let body = json!({"photo": "on_file"});
    app.post_json("/api/v1/me/e-licence", holder, &body).await
}

pub(crate) async fn application(app: &TestApp, holder: &str) -> Value {
    let res = app
        .get("/api/v1/me/e-licence/application", Some(holder))
        .await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

pub(crate) async fn admin_list(app: &TestApp, what: &str) -> Vec<Value> {
    let admin = app.token(Role::Admin, None);
    let res = app
        .get(
            &format!("/api/v1/admin/licences/{NUMBER}/{what}"),
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["items"].as_array().unwrap().clone()
}

async fn a_suspension_turns_verification_red_and_clearing_it_green(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let before = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(before["valid"], true);
    let e_licence = before["e_licence_id"].clone();

    let body = send(&app, json!({"type": "status_set", "status": "suspended"})).await;
    assert!(body["id"].as_i64().is_some(), "{body}");
    assert_eq!(
        body["type"],
        json!(null),
        "the event is nested, not flattened"
    );
    assert_eq!(
        body["event"],
        json!({"type": "status_set", "status": "suspended"})
    );
    assert_eq!(body["effects"]["changed"], true);
    assert_eq!(body["effects"]["superseded_e_licence"], json!(null));
    assert_eq!(body["effects"]["notified"], json!(["status_changed"]));
    assert_eq!(body["eligibility"]["eligible"], false);
    assert_eq!(body["eligibility"]["reasons"][0]["code"], "suspended");

    // Online: the code signed before is invalid now, with the live reason.
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["reasons"], json!(["suspended"]));
    assert_eq!(v["live_status"]["reasons"][0]["code"], "suspended");
    // The document shows it, and a new code carries it.
    let doc = document(&app, &holder).await;
    assert_eq!(
        doc["state"], "current",
        "a status does not end the e-licence"
    );
    assert_eq!(doc["status"]["eligible"], false);
    assert_eq!(doc["status"]["registry_states"][0]["code"], "suspended");
    let fresh = doc["display"]["code"].as_str().unwrap();
    assert_eq!(status_text(&claims(fresh)), "suspended");

    // Set again: nothing changes, nothing is recorded.
    let again = send(&app, json!({"type": "status_set", "status": "suspended"})).await;
    assert_eq!(again["id"], json!(null));
    assert_eq!(again["effects"]["changed"], false);

    // Cleared: the same e-licence and the same code verify again.
    let body = send(
        &app,
        json!({"type": "status_cleared", "status": "suspended"}),
    )
    .await;
    assert_eq!(body["eligibility"]["eligible"], true);
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["e_licence_id"], e_licence);
    let doc = document(&app, &holder).await;
    assert_eq!(doc["e_licence_id"], e_licence);
    assert_eq!(
        status_text(&claims(doc["display"]["code"].as_str().unwrap())),
        "ok"
    );

    // Revoked: invalid again, through the barcode too.
    send(&app, json!({"type": "status_set", "status": "revoked"})).await;
    let barcode = document(&app, &holder).await["display"]["barcode"].clone();
    let v = scan(&app, &officer, json!({"barcode": barcode})).await;
    assert_eq!(v["reasons"], json!(["revoked"]));

    let told = notifications(&app, &holder).await;
    let changes: Vec<_> = told
        .iter()
        .filter(|(k, _)| k == "status_changed")
        .map(|(_, p)| (p["status"].clone(), p["change"].clone()))
        .collect();
    assert_eq!(
        changes,
        [
            (json!("suspended"), json!("set")),
            (json!("suspended"), json!("cleared")),
            (json!("revoked"), json!("set")),
        ]
    );
    let recorded = admin_list(&app, "events").await;
    let kinds: Vec<_> = recorded.iter().map(|e| e["kind"].clone()).collect();
    assert_eq!(kinds, ["status_set", "status_cleared", "status_set"]);
    assert_eq!(recorded[2]["source"], "api");
    assert!(recorded[2]["actor"].as_str().is_some());
}

async fn points_show_at_once_and_twelve_stop_the_licence(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);

    let body = send(&app, json!({"type": "points_changed", "points": 6})).await;
    assert_eq!(body["effects"]["notified"], json!(["points_changed"]));
    assert_eq!(body["eligibility"]["eligible"], true);
    let doc = document(&app, &holder).await;
    assert_eq!(doc["secondary_page"]["points"]["points"], 6);
    assert_eq!(
        scan(&app, &officer, json!({"code": code})).await["valid"],
        true
    );

    send(
        &app,
        json!({"type": "points_changed", "points": 12, "cycle_start": "2026-03-05"}),
    )
    .await;
    let doc = document(&app, &holder).await;
    assert_eq!(doc["secondary_page"]["points"]["points"], 12);
    assert_eq!(
        status_text(&claims(doc["display"]["code"].as_str().unwrap())),
        "points_limit"
    );
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["reasons"], json!(["points_limit"]));

    // A new cycle: back to zero, valid again.
    send(
        &app,
        json!({"type": "points_changed", "points": 0, "cycle_start": "2027-03-05"}),
    )
    .await;
    let doc = document(&app, &holder).await;
    assert_eq!(doc["secondary_page"]["points"]["cycle_start"], "2027-03-05");
    assert_eq!(
        scan(&app, &officer, json!({"code": code})).await["valid"],
        true
    );

    let told = notifications(&app, &holder).await;
    let points: Vec<_> = told
        .iter()
        .filter(|(k, _)| k == "points_changed")
        .map(|(_, p)| {
            (
                p["points"].as_i64().unwrap(),
                p["previous"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(points, [(6, 0), (12, 6), (0, 12)]);
}

/// The field names of a JSON object, sorted.
fn keys_of(v: &Value) -> Vec<&str> {
    let mut keys: Vec<_> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

/// Points below 12 do not bar and are not in the roadside code (it has no points claim), so
/// they show only where the licence is read live: the holder's document and licence, and the
/// officer's verification. A partner never learns them.
async fn points_below_twelve_show_in_every_live_view_and_the_code_stays_valid(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let desk = partner_token(&app, "rental");
    let res = app
        .get("/api/v1/me/e-licence/code?purpose=rental", Some(&holder))
        .await;
    let rental_code = res.json::<Value>().await.unwrap()["code"].clone();
    let before = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(before["licence"]["points"], 0);

    let body = send(&app, json!({"type": "points_changed", "points": 6})).await;
    assert_eq!(body["effects"]["changed"], true);
    assert_eq!(body["eligibility"]["eligible"], true);
    let points =
        json!({"points": 6, "limit": 12, "cycle_start": "2026-03-05", "cycle_end": "2027-03-04"});
    let doc = document(&app, &holder).await;
    assert_eq!(doc["secondary_page"]["points"], points);
    assert_eq!(doc["status"]["eligible"], true);
    let res = app.get("/api/v1/me/licence", Some(&holder)).await;
    assert_eq!(res.status(), 200);
    let licence: Value = res.json().await.unwrap();
    assert_eq!(licence["secondary_page"]["points"], points);
    // A new code: still `ok`, and nothing about points in it.
    let fresh = claims(doc["display"]["code"].as_str().unwrap());
    assert_eq!(status_text(&fresh), "ok");
    assert_eq!(
        keys_of(&fresh),
        ["c", "e", "exp", "jti", "n", "p", "s", "sub", "v"]
    );

    // The officer sees the points now, on the code signed before the change.
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["licence"]["points"], 6);
    assert_eq!(v["live_status"]["eligible"], true);
    let v = scan(&app, &desk, json!({"code": rental_code})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert!(!v.to_string().contains("points"), "{v}");
    assert_eq!(
        keys_of(&v["holder"]),
        ["classes", "drivable_classes", "name", "valid_until"]
    );
}

/// Every registry state blocks: set by an event it turns the same e-licence red in the
/// document, in the `s` claim of a new code, in online verification of a code signed before
/// and in the status list; cleared by an event, all of it is green again.
async fn each_registry_state_set_and_cleared_by_events(backend: Backend) {
    use crate::status_list::{entry, fetch, serial_of, stock_read};
    use elicence::domain::registry_state::RegistryState;
    let app = spawn_app(backend).await;
    let (holder, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let e_licence = document(&app, &holder).await["e_licence_id"].clone();
    let serial = serial_of(&code);
    // The status list's entry: 2 SUSPENDED for what the holder or time can clear, 1 INVALID
    // for what ends the licence.
    let table = [
        ("detained", "扣留", 2),
        ("seized", "扣押", 2),
        ("suspended", "暂扣", 2),
        ("overdue_medical", "逾期未体检", 2),
        ("overdue_review", "逾期未审验", 2),
        ("announced_void", "公告停止使用", 1),
        ("revoked", "吊销", 1),
        ("withdrawn", "撤销", 1),
        ("cancelled", "注销", 1),
        ("cancelled_recoverable", "注销可恢复", 2),
        ("transferred_out", "转出", 1),
        ("locked", "锁定", 2),
        ("overdue_renewal", "逾期未换证", 2),
    ];
    assert_eq!(
        table.len(),
        RegistryState::ALL.len(),
        "every state is in the table"
    );
    async fn listed(app: &TestApp, serial: u64) -> u8 {
        app.state.status_lists.publish_now().await.unwrap();
        let (_, token) = fetch(app).await;
        entry(&stock_read(app, &token).await.1, serial)
    }
    for (status, name, in_list) in table {
        let body = send(&app, json!({"type": "status_set", "status": status})).await;
        assert_eq!(body["effects"]["changed"], true, "{status}");
        assert_eq!(body["effects"]["notified"], json!(["status_changed"]));
        assert_eq!(body["effects"]["superseded_e_licence"], json!(null));
        assert_eq!(body["eligibility"]["reasons"][0]["code"], status);
        let doc = document(&app, &holder).await;
        assert_eq!(doc["e_licence_id"], e_licence, "{status}");
        assert_eq!(doc["state"], "current");
        assert_eq!(doc["status"]["eligible"], false);
        assert_eq!(
            doc["status"]["registry_states"],
            json!([{"code": status, "name": name}])
        );
        let fresh = doc["display"]["code"].as_str().unwrap();
        assert_eq!(status_text(&claims(fresh)), status);
        for shown in [code.as_str(), fresh] {
            let v = scan(&app, &officer, json!({"code": shown})).await;
            assert_eq!(v["valid"], false, "{status}");
            assert_eq!(v["reasons"], json!([status]));
            assert_eq!(v["live_status"]["reasons"][0]["code"], status);
        }
        assert_eq!(listed(&app, serial).await, in_list, "{status}");

        let body = send(&app, json!({"type": "status_cleared", "status": status})).await;
        assert_eq!(body["effects"]["changed"], true, "{status}");
        assert_eq!(body["eligibility"]["eligible"], true);
        let doc = document(&app, &holder).await;
        assert_eq!(doc["e_licence_id"], e_licence);
        assert_eq!(doc["status"]["registry_states"], json!([]));
        assert_eq!(
            status_text(&claims(doc["display"]["code"].as_str().unwrap())),
            "ok"
        );
        let v = scan(&app, &officer, json!({"code": code})).await;
        assert_eq!(v["valid"], true, "{status}: {v}");
        assert_eq!(listed(&app, serial).await, 0, "{status}");
    }

    let told = notifications(&app, &holder).await;
    let expected: Vec<_> = table
        .iter()
        .flat_map(|(s, _, _)| [(json!(s), json!("set")), (json!(s), json!("cleared"))])
        .collect();
    let heard: Vec<_> = told
        .iter()
        .filter(|(k, _)| k == "status_changed")
        .map(|(_, p)| (p["status"].clone(), p["change"].clone()))
        .collect();
    assert_eq!(heard, expected);
    let events = admin_list(&app, "events?limit=100").await;
    assert_eq!(events.len(), 2 * table.len());
    assert!(events.iter().all(|e| e["source"] == "api"));
}

/// A class change supersedes: the old code verifies `superseded`, the holder is told to apply
/// again, and a new application issues a fresh e-licence; the old one is kept.
async fn a_class_change_forces_a_new_application(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, old_code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let old = document(&app, &holder).await;
    let old_id = old["e_licence_id"].as_str().unwrap().to_owned();
    let old_photo = app
        .get("/api/v1/me/e-licence/photo", Some(&holder))
        .await
        .bytes()
        .await
        .unwrap();

    let body = send(
        &app,
        json!({"type": "classes_changed", "classes": ["B2", "D"]}),
    )
    .await;
    assert_eq!(body["effects"]["superseded_e_licence"], old_id.as_str());
    assert_eq!(body["effects"]["superseded_reason"], "class_changed");
    assert_eq!(body["effects"]["notified"], json!(["e_licence_superseded"]));

    let v = scan(&app, &officer, json!({"code": old_code})).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["reasons"], json!(["superseded"]));
    assert_eq!(v["e_licence_id"], old_id.as_str());

    // The holder: 410 with the reason, and apply_again.
    for path in [
        "/api/v1/me/e-licence",
        "/api/v1/me/e-licence/code",
        "/api/v1/me/e-licence/photo",
    ] {
        let res = app.get(path, Some(&holder)).await;
        let (code, message) = error_code(res, 410).await;
        assert_eq!(code, "e_licence_superseded", "{path}");
        assert!(message.contains("重新申领"), "{message}");
    }
    let res = app
        .client
        .get(app.url("/api/v1/me/e-licence"))
        .bearer_auth(&holder)
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body["error"]["details"],
        json!({"reason": "class_changed", "apply_again": true})
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("apply for the e-licence again"));
    let app_view = application(&app, &holder).await;
    assert_eq!(app_view["state"], "apply_again");
    assert_eq!(app_view["superseded"]["reason"], "class_changed");
    assert_eq!(app_view["e_licence_id"], old_id.as_str());

    // Applying again issues a fresh one with the new classes.
    let res = apply(&app, &holder).await;
    assert_eq!(res.status(), 201);
    let fresh: Value = res.json().await.unwrap();
    let new_id = fresh["e_licence_id"].as_str().unwrap();
    assert_ne!(new_id, old_id);
    assert_eq!(fresh["state"], "current");
    let new_code = fresh["display"]["code"].as_str().unwrap();
    assert_eq!(claims(new_code)["c"], 2064, "B2 (bit 4) and D (bit 11)");
    assert_ne!(
        claims(new_code)["e"],
        claims(&old_code)["e"],
        "its own entry"
    );
    assert_eq!(fresh["front_page"]["classes"], json!(["B2", "D"]));
    let v = scan(&app, &officer, json!({"code": new_code})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["e_licence_id"], new_id);
    assert_eq!(
        scan(&app, &officer, json!({"code": old_code})).await["reasons"],
        json!(["superseded"]),
        "the old code stays refused"
    );
    let photo = app.get("/api/v1/me/e-licence/photo", Some(&holder)).await;
    assert_eq!(
        photo.bytes().await.unwrap(),
        old_photo,
        "the same photo on file"
    );
    let res = app
        .get("/api/v1/me/e-licence/application", Some(&holder))
        .await;
    assert_eq!(
        error_code(res, 404).await.0,
        "submission_not_found",
        "no longer apply_again, and nothing was ever submitted"
    );

    // Histories: both e-licences, the event naming what it ended.
    let history = admin_list(&app, "e-licences").await;
    assert_eq!(history.len(), 2);
    assert_eq!(history[0]["e_licence_id"], new_id);
    assert_eq!(history[0]["state"], "current");
    assert_eq!(history[1]["e_licence_id"], old_id.as_str());
    assert_eq!(history[1]["state"], "superseded");
    assert_eq!(history[1]["superseded_reason"], "class_changed");
    assert_eq!(
        history[1]["superseded_at"],
        test_now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let events = admin_list(&app, "events").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["superseded_e_licence"], old_id.as_str());
    assert_eq!(events[0]["event"]["classes"], json!(["B2", "D"]));

    let told = notifications(&app, &holder).await;
    assert_eq!(
        kinds(&told),
        [
            "e_licence_issued",
            "e_licence_superseded",
            "e_licence_issued"
        ]
    );
    assert_eq!(told[0].1["via"], "app");
    assert_eq!(
        told[1].1,
        json!({"e_licence_id": old_id, "reason": "class_changed", "apply_again": true, "withdrawn_submission": null})
    );
    assert_eq!(told[2].1["e_licence_id"], new_id);
}

/// How an event reaches us: the admin route, or an event line of `elicence import`.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Via {
    Route,
    Import,
}

impl Via {
    /// The `source` the event history records.
    fn source(self) -> &'static str {
        match self {
            Via::Route => "api",
            Via::Import => "import",
        }
    }

    /// Delivers one event for the licence that supersedes an e-licence; asserts that it was
    /// recorded and superseded one, for `reason`.
    async fn deliver_superseding(self, app: &TestApp, event: &Value, reason: &str) {
        match self {
            Via::Route => {
                let body = send(app, event.clone()).await;
                assert_eq!(body["effects"]["superseded_reason"], reason);
            }
            Via::Import => {
                let line = json!({"number": NUMBER, "event": event}).to_string();
                let report =
                    import_ndjson(&app.test_db.db, line.as_bytes(), test_now(), |_| {}).unwrap();
                assert!(report.rejected.is_empty(), "{:?}", report.rejected);
                let counts = (
                    report.event_lines,
                    report.events_recorded,
                    report.superseded,
                );
                assert_eq!(counts, (1, 1, 1), "{event}");
            }
        }
    }
}

/// Sends an event that supersedes the holder's current e-licence `via` the route or an
/// import line, and checks every effect: the old code verifies `superseded`, the holder gets
/// 410 and `apply_again` with the reason, the outbox has the notice, both histories name the
/// e-licence it ended; then applies again and checks the new code verifies. Returns the new
/// code.
pub(crate) async fn supersede_and_reapply(
    app: &TestApp,
    (holder, officer): (&str, &str),
    (old_code, via): (&str, Via),
    event: Value,
    reason: &str,
) -> String {
    let old_id = document(app, holder).await["e_licence_id"].clone();
    via.deliver_superseding(app, &event, reason).await;
    let v = scan(app, officer, json!({"code": old_code})).await;
    assert_eq!(v["reasons"], json!(["superseded"]));
    assert_eq!(v["e_licence_id"], old_id);
    let res = app.get("/api/v1/me/e-licence", Some(holder)).await;
    let details = json!({"reason": reason, "apply_again": true});
    assert_eq!(res.status(), 410);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "e_licence_superseded");
    assert_eq!(body["error"]["details"], details);
    let app_view = application(app, holder).await;
    assert_eq!(app_view["state"], "apply_again");
    assert_eq!(app_view["superseded"]["reason"], reason);
    let told = notifications(app, holder).await;
    assert_eq!(
        told.last().unwrap(),
        &(
            "e_licence_superseded".to_owned(),
            json!({"e_licence_id": old_id, "reason": reason, "apply_again": true, "withdrawn_submission": null})
        )
    );
    let recorded = &admin_list(app, "events").await[0];
    assert_eq!(recorded["kind"], event["type"]);
    assert_eq!(recorded["event"], event);
    assert_eq!(recorded["source"], via.source());
    assert_eq!(recorded["superseded_e_licence"], old_id);
    let ended = &admin_list(app, "e-licences").await[0];
    assert_eq!(ended["e_licence_id"], old_id);
    assert_eq!(ended["state"], "superseded");
    assert_eq!(ended["superseded_reason"], reason);

    let (code, _) = issue_e_licence(app, holder).await;
    let v = scan(app, officer, json!({"code": code})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_ne!(v["e_licence_id"], old_id);
    code
}

async fn renewal_and_authority_change_supersede_too(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, first_code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);

    let second_code = supersede_and_reapply(
        &app,
        (&holder, &officer),
        (&first_code, Via::Route),
        json!({"type": "renewed", "valid_until": null}),
        "renewed",
    )
    .await;
    assert_eq!(claims(&second_code)["v"], json!(null), "long-term");
    assert_eq!(
        document(&app, &holder).await["front_page"]["validity"],
        "2018-03-05 至 长期"
    );
    let third_code = supersede_and_reapply(
        &app,
        (&holder, &officer),
        (&second_code, Via::Route),
        json!({"type": "authority_changed", "authority": "上海市公安局交通警察总队"}),
        "authority_changed",
    )
    .await;
    assert_eq!(
        document(&app, &holder).await["secondary_page"]["issuing_authority"],
        "上海市公安局交通警察总队"
    );

    // Due dates change live, without superseding.
    let body = send(
        &app,
        json!({"type": "medical_due_changed", "medical_due": "2026-11-01"}),
    )
    .await;
    assert_eq!(body["effects"]["superseded_e_licence"], json!(null));
    let v = scan(&app, &officer, json!({"code": third_code})).await;
    assert_eq!(v["reasons"], json!(["overdue_medical"]));

    let history = admin_list(&app, "e-licences").await;
    let states: Vec<_> = history.iter().map(|e| e["state"].clone()).collect();
    assert_eq!(states, ["current", "superseded", "superseded"]);
    let admin = app.token(Role::Admin, None);
    let page: Value = app
        .get(
            &format!("/api/v1/admin/licences/{NUMBER}/e-licences?limit=2"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    let next = page["next"].as_i64().expect("a full page has a next");
    let rest: Value = app
        .get(
            &format!("/api/v1/admin/licences/{NUMBER}/e-licences?limit=2&before={next}"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert_eq!(rest["items"][0]["superseded_reason"], "renewed");
}

/// Anti-replay offline: once the status list is rebuilt after the supersede, the terminal
/// refuses the code signed before it.
async fn the_status_list_refuses_a_code_superseded_after_signing(backend: Backend) {
    let s = scene(backend).await;
    let run = |now: String| {
        let mut a = args(&[&s.code, "--jwks", &s.jwks_url, "--status-list"]);
        a.push(s.app.url("/api/v1/status-list"));
        a.extend(args(&["--now", &now]));
        verify(a, None)
    };
    let out = run(now_flag(30)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    send(
        &s.app,
        json!({"type": "classes_changed", "classes": ["A1"]}),
    )
    .await;
    s.app.state.status_lists.publish_now().await.unwrap();
    let out = run(now_flag(60)).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("INVALID (revoked)"), "{stdout}");
    assert!(stdout.contains("status at signing  ok"), "{stdout}");
}

/// A re-sent record (admin PUT) is recorded and acted on as the events of what changed.
async fn a_changed_record_has_the_same_effects_as_its_events(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, code, _) = issued(&app).await;
    let admin = app.token(Role::Admin, None);
    let officer = app.token(Role::Officer, None);
    let mut record = record_with_photo(NUMBER);
    record["statuses"] = json!(["detained"]);
    record["points"] = json!(3);
    record["classes"] = json!(["C1"]);
    // The photo on file is withdrawn: applying again reuses the superseded e-licence's photo.
    record["photo"] = json!(null);
    record["photo_taken"] = json!(null);
    let res = app
        .put_json(&format!("/api/v1/admin/licences/{NUMBER}"), &admin, &record)
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let kinds: Vec<_> = body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["type"].clone())
        .collect();
    assert_eq!(kinds, ["status_set", "points_changed", "classes_changed"]);
    assert_eq!(
        body["events"][2]["effects"]["superseded_reason"],
        "class_changed"
    );
    assert_eq!(body["record"]["classes"], json!(["C1"]));
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["reasons"], json!(["superseded", "detained"]));
    // The same record again: nothing changes.
    let res = app
        .put_json(&format!("/api/v1/admin/licences/{NUMBER}"), &admin, &record)
        .await;
    assert_eq!(res.json::<Value>().await.unwrap()["events"], json!([]));
    let events = admin_list(&app, "events").await;
    assert_eq!(events.len(), 3);
    assert!(events.iter().all(|e| e["source"] == "admin_put"));

    // Detained: no new e-licence; released: a new one, with the photo it had.
    let res = apply(&app, &holder).await;
    assert_eq!(error_code(res, 422).await.0, "not_eligible");
    send(
        &app,
        json!({"type": "status_cleared", "status": "detained"}),
    )
    .await;
    let res = apply(&app, &holder).await;
    assert_eq!(res.status(), 201);
    let fresh: Value = res.json().await.unwrap();
    assert_eq!(fresh["photo_source"], "on_file");
    assert_eq!(fresh["front_page"]["has_photo_on_file"], false);
    let v = scan(&app, &officer, json!({"code": fresh["display"]["code"]})).await;
    assert_eq!(v["valid"], true, "{v}");
}

/// `elicence import` lines: event lines apply in file order beside records; a changed record
/// supersedes like its event; an event line that cannot apply is refused alone.
async fn import_event_lines_and_changed_records(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let line = |v: Value| serde_json::to_string(&v).unwrap();
    let input = [
        line(json!({"number": NUMBER, "event": {"type": "status_set", "status": "suspended"}})),
        line(json!({"number": NUMBER, "event": {"type": "points_changed", "points": 4}})),
        line(json!({"number": NUMBER, "event": {"type": "status_set", "status": "stolen"}})),
        line(json!({"number": "440305199001010018", "event": {"type": "status_set", "status": "locked"}})),
        line(json!({"number": NUMBER, "event": {"type": "teleported"}})),
    ]
    .join("\n");
    let mut heard = Vec::new();
    let report = import_ndjson(&app.test_db.db, input.as_bytes(), test_now(), |r| {
        heard.push((r.line, r.reason.clone()))
    })
    .unwrap();
    assert_eq!(report.accepted, 2);
    assert_eq!(report.event_lines, 2);
    assert_eq!(report.events_recorded, 2);
    let lines: Vec<_> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(
        report.rejected[0].reason.contains("status"),
        "{:?}",
        report.rejected
    );
    assert!(report.rejected[1].reason.contains("no such licence"));
    assert!(
        report.rejected[2].reason.starts_with("invalid event line"),
        "{:?}",
        report.rejected
    );
    heard.sort();
    assert_eq!(heard.len(), 3);
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["reasons"], json!(["suspended"]));
    assert_eq!(
        document(&app, &holder).await["secondary_page"]["points"]["points"],
        4
    );

    // The record with the suspension lifted and a renewal, then an event on top, in order.
    let mut record = record_with_photo(NUMBER);
    record["points"] = json!(4);
    record["valid_from"] = json!("2028-03-05");
    record["valid_until"] = json!("2038-03-05");
    let input = [
        line(record),
        line(json!({"number": NUMBER, "event": {"type": "status_set", "status": "locked"}})),
    ]
    .join("\n");
    let report = import_ndjson(&app.test_db.db, input.as_bytes(), test_now(), |_| {}).unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!((report.accepted, report.event_lines), (2, 1));
    assert_eq!(report.events_recorded, 3, "cleared, renewed, then locked");
    assert_eq!(report.superseded, 1);
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(
        v["reasons"],
        json!(["superseded", "not_yet_valid", "locked"])
    );
    let events = admin_list(&app, "events").await;
    let kinds: Vec<_> = events.iter().rev().map(|e| e["kind"].clone()).collect();
    assert_eq!(
        kinds,
        [
            "status_set",
            "points_changed",
            "status_cleared",
            "renewed",
            "status_set"
        ]
    );
    assert!(events.iter().all(|e| e["source"] == "import"));
    let told = notifications(&app, &holder).await;
    assert_eq!(told.last().unwrap().0, "status_changed");
    assert!(kinds_contains(&told, "e_licence_superseded"));
}

/// An event line supersedes as the route does.
async fn an_import_event_line_supersedes(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let input =
        json!({"number": NUMBER, "event": {"type": "renewed", "valid_until": "2034-03-05"}});
    let report = import_ndjson(
        &app.test_db.db,
        input.to_string().as_bytes(),
        test_now(),
        |_| {},
    )
    .unwrap();
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(
        (
            report.event_lines,
            report.events_recorded,
            report.superseded
        ),
        (1, 1, 1)
    );
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["reasons"], json!(["superseded"]));
    let app_view = application(&app, &holder).await;
    assert_eq!(app_view["superseded"]["reason"], "renewed");
    let history = admin_list(&app, "e-licences").await;
    assert_eq!(history[0]["superseded_reason"], "renewed");
    let (fresh, _) = issue_e_licence(&app, &holder).await;
    assert_eq!(claims(&fresh)["v"], 20340305);
}

fn kinds_contains(n: &[(String, Value)], kind: &str) -> bool {
    n.iter().any(|(k, _)| k == kind)
}

/// Bad events are refused with a stable code and nothing is written; only admins send them.
async fn bad_events_are_refused_whole(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, _, _) = issued(&app).await;
    let admin = app.token(Role::Admin, None);
    let refused = [
        (json!({"type": "teleported"}), "event", "invalid_format"),
        (json!({"status": "suspended"}), "event", "invalid_format"),
        (json!({"type": "renewed"}), "event", "invalid_format"),
        (
            json!({"type": "status_set", "status": "stolen"}),
            "status",
            "unknown_code",
        ),
        (
            json!({"type": "points_changed", "points": 100}),
            "points",
            "out_of_range",
        ),
        (
            json!({"type": "classes_changed", "classes": []}),
            "classes",
            "required",
        ),
        (
            json!({"type": "classes_changed", "classes": ["Z9"]}),
            "classes",
            "unknown_code",
        ),
        (
            json!({"type": "renewed", "valid_until": "2010-01-01"}),
            "valid_until",
            "inconsistent",
        ),
        (
            json!({"type": "authority_changed", "authority": " "}),
            "authority",
            "required",
        ),
    ];
    for (event, field, code) in refused {
        let res = app.post_json(&events_path(), &admin, &event).await;
        assert_eq!(res.status(), 422, "{event}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "invalid_event", "{event}");
        assert_eq!(body["error"]["details"][0]["field"], field, "{event}");
        assert_eq!(body["error"]["details"][0]["code"], code, "{event}");
    }
    let res = app
        .post_json(
            "/api/v1/admin/licences/440305199001010018/events",
            &admin,
            &json!({"type": "status_set", "status": "suspended"}),
        )
        .await;
    assert_eq!(error_code(res, 404).await.0, "licence_not_found");
    let event = json!({"type": "status_set", "status": "suspended"});
    for role in [Role::Officer, Role::Reviewer] {
        let t = app.token(role, None);
        let res = app.post_json(&events_path(), &t, &event).await;
        assert_eq!(error_code(res, 403).await.0, "forbidden");
        let res = app.get(&events_path(), Some(&t)).await;
        assert_eq!(error_code(res, 403).await.0, "forbidden");
    }
    let res = app.post_json(&events_path(), &holder, &event).await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");

    // Nothing was written: no event, the licence as it was, the holder told nothing new.
    assert!(admin_list(&app, "events").await.is_empty());
    assert_eq!(document(&app, &holder).await["status"]["eligible"], true);
    assert_eq!(
        kinds(&notifications(&app, &holder).await),
        ["e_licence_issued"]
    );
    let res = app
        .get(&format!("{}?limit=0", events_path()), Some(&admin))
        .await;
    assert_eq!(res.status(), 400);
}

crate::both_backends!(
    a_suspension_turns_verification_red_and_clearing_it_green,
    points_show_at_once_and_twelve_stop_the_licence,
    points_below_twelve_show_in_every_live_view_and_the_code_stays_valid,
    each_registry_state_set_and_cleared_by_events,
    a_class_change_forces_a_new_application,
    renewal_and_authority_change_supersede_too,
    the_status_list_refuses_a_code_superseded_after_signing,
    a_changed_record_has_the_same_effects_as_its_events,
    import_event_lines_and_changed_records,
    an_import_event_line_supersedes,
    bad_events_are_refused_whole,
);
