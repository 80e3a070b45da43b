//! Counter issuance by clerks (车辆管理所), over real HTTP: lookups bound to the clerk's
//! authority, the counter photo through the app's intake, issuance without review, photo
//! changes, superseded remote submissions, concurrent clerks, the audit, and roles both ways.

use crate::helpers::{
    clerk_token, error_code, partner_token, record, record_with_photo, spawn_app, Backend, TestApp,
    NUMBER, OTHER_NUMBER,
};
use crate::images;
use elicence::domain::role::Role;
use serde_json::{json, Value};

const BEIJING: &str = "北京市公安局公安交通管理局";
const SHANGHAI: &str = "上海市公安局交通警察总队";
const AUDIT: &str = "/api/v1/admin/audit/counter";

fn licence_path(number: &str) -> String {
    format!("/api/v1/counter/licences/{number}")
}

fn issue_path(number: &str) -> String {
    format!("/api/v1/counter/licences/{number}/e-licence")
}

/// A licence of Shanghai, with a photo on file.
fn shanghai_record(number: &str) -> Value {
    let mut r = record_with_photo(number);
    r["issuing_authority"] = json!(SHANGHAI);
    r["name"] = json!("李娜");
    r
}

async fn json_of(res: reqwest::Response, status: u16) -> Value {
    let code = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_eq!(code, status, "{body}");
    body
}

/// The counter photo: multipart with the one field `photo`.
async fn counter_upload(
    app: &TestApp,
    number: &str,
    clerk: &str,
    bytes: Vec<u8>,
) -> reqwest::Response {
    app.upload_photo(&issue_path(number), clerk, None, bytes, "counter.jpg")
        .await
}

async fn on_file(app: &TestApp, number: &str, clerk: &str) -> reqwest::Response {
    app.post_json(&issue_path(number), clerk, &json!({"photo": "on_file"}))
        .await
}

/// The counter audit as (action, licence, outcome), oldest first.
async fn audit_rows(app: &TestApp, query: &str) -> Vec<(String, String, String)> {
    let admin = app.token(Role::Admin, None);
    let page = json_of(app.get(&format!("{AUDIT}{query}"), Some(&admin)).await, 200).await;
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap().to_owned(),
                e["licence_number"].as_str().unwrap().to_owned(),
                e["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn row(action: &str, number: &str, outcome: &str) -> (String, String, String) {
    (action.to_owned(), number.to_owned(), outcome.to_owned())
}

async fn notifications(app: &TestApp, holder: &str) -> Vec<Value> {
    let page = json_of(app.get("/api/v1/me/notifications", Some(holder)).await, 200).await;
    page["items"].as_array().unwrap().clone()
}

async fn a_clerk_sees_the_licences_of_their_own_authority_only(backend: Backend) {
    let app = spawn_app(backend).await;
    app.seed(&record_with_photo(NUMBER));
    app.seed(&shanghai_record(OTHER_NUMBER));
    let (beijing_id, beijing) = clerk_token(&app, BEIJING);
    let (shanghai_id, shanghai) = clerk_token(&app, SHANGHAI);

    let seen = json_of(app.get(&licence_path(NUMBER), Some(&beijing)).await, 200).await;
    assert_eq!(seen["licence"]["licence_number"], NUMBER);
    assert_eq!(seen["licence"]["name"], "张伟");
    assert_eq!(seen["licence"]["issuing_authority"], BEIJING);
    assert_eq!(seen["eligibility"]["eligible"], true);
    assert_eq!(seen["eligibility"]["reasons"], json!([]));
    assert_eq!(seen["photo_on_file"]["present"], true);
    assert_eq!(seen["photo_on_file"]["prechecks"], "passed");
    assert_eq!(seen["e_licence"], Value::Null);
    assert_eq!(seen["pending_submission"], Value::Null);

    // Another authority's licence: refused, and the refusal says nothing about it.
    let res = app.get(&licence_path(OTHER_NUMBER), Some(&beijing)).await;
    assert_eq!(res.status(), 403);
    let text = res.text().await.unwrap();
    let body: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["error"]["code"], "other_authority");
    for leak in ["李娜", SHANGHAI, "1985", "eligib"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
    let res = on_file(&app, OTHER_NUMBER, &beijing).await;
    assert_eq!(error_code(res, 403).await.0, "other_authority");
    let res = counter_upload(&app, OTHER_NUMBER, &beijing, images::good_jpeg()).await;
    assert_eq!(error_code(res, 403).await.0, "other_authority");
    // The Shanghai clerk is the other way round.
    let seen = json_of(
        app.get(&licence_path(OTHER_NUMBER), Some(&shanghai)).await,
        200,
    )
    .await;
    assert_eq!(seen["licence"]["name"], "李娜");
    let res = app.get(&licence_path(NUMBER), Some(&shanghai)).await;
    assert_eq!(error_code(res, 403).await.0, "other_authority");
    // Unknown and malformed numbers.
    let res = app
        .get(&licence_path("110101200001010000"), Some(&beijing))
        .await;
    assert_eq!(error_code(res, 404).await.0, "licence_not_found");
    let res = app.get(&licence_path("12"), Some(&beijing)).await;
    assert_eq!(error_code(res, 400).await.0, "invalid_path");
    let mut conn = app.test_db.db.get().unwrap();
    let issued = elicence::storage::e_licences::current_for(&mut conn, OTHER_NUMBER).unwrap();
    drop(conn);
    assert!(issued.is_none(), "refused issuances wrote nothing");

    // Every action is audited, refusals too; the admin filters by clerk, licence and time.
    let all = audit_rows(&app, "").await;
    assert_eq!(
        all,
        vec![
            row("lookup", NUMBER, "ok"),
            row("lookup", OTHER_NUMBER, "other_authority"),
            row("issue", OTHER_NUMBER, "other_authority"),
            row("issue", OTHER_NUMBER, "other_authority"),
            row("lookup", OTHER_NUMBER, "ok"),
            row("lookup", NUMBER, "other_authority"),
            row("lookup", "110101200001010000", "licence_not_found"),
        ]
    );
    let admin = app.token(Role::Admin, None);
    let page = json_of(
        app.get(&format!("{AUDIT}?clerk={shanghai_id}"), Some(&admin))
            .await,
        200,
    )
    .await;
    let entries = page["items"].as_array().unwrap();
    assert_eq!(entries.len(), 2);
    assert!(entries
        .iter()
        .all(|e| e["clerk_token_id"] == shanghai_id.as_str() && e["authority"] == SHANGHAI));
    assert_eq!(entries[0]["at"], "2026-11-22T04:00:00Z");
    assert_eq!(
        audit_rows(&app, &format!("?licence={NUMBER}&clerk={beijing_id}")).await,
        vec![row("lookup", NUMBER, "ok")]
    );
    assert_eq!(
        audit_rows(&app, "?from=2026-11-22T04:00:01Z").await,
        vec![],
        "nothing after"
    );
    assert_eq!(audit_rows(&app, "?to=2026-11-22T04:00:01Z").await.len(), 7);
    let first = json_of(
        app.get(&format!("{AUDIT}?limit=3"), Some(&admin)).await,
        200,
    )
    .await;
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let next = first["next"].as_i64().unwrap();
    assert_eq!(audit_rows(&app, &format!("?after={next}")).await.len(), 4);
    let res = app.get(&format!("{AUDIT}?limit=0"), Some(&admin)).await;
    assert_eq!(error_code(res, 400).await.0, "invalid_path");
}

async fn a_counter_photo_issues_at_once_and_supersedes_the_remote_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(NUMBER));
    let (clerk_id, clerk) = clerk_token(&app, BEIJING);
    // The holder had sent a photo from the app; it waits for review.
    let form = reqwest::multipart::Form::new()
        .text("source", "camera")
        .part(
            "photo",
            reqwest::multipart::Part::bytes(images::good_png()).file_name("me.png"),
        );
    let res = app
        .client
        .post(app.url("/api/v1/me/e-licence"))
        .bearer_auth(&holder)
        .multipart(form)
        .send()
        .await
        .unwrap();
    let pending = json_of(res, 202).await["id"].as_str().unwrap().to_owned();
    let seen = json_of(app.get(&licence_path(NUMBER), Some(&clerk)).await, 200).await;
    assert_eq!(seen["photo_on_file"]["prechecks"], "none");
    assert_eq!(seen["pending_submission"]["id"], pending.as_str());
    assert_eq!(seen["pending_submission"]["purpose"], "first_application");
    // Nothing on file: the counter photo is needed.
    let res = on_file(&app, NUMBER, &clerk).await;
    assert_eq!(error_code(res, 409).await.0, "photo_required");

    let res = counter_upload(&app, NUMBER, &clerk, images::good_jpeg()).await;
    let done = json_of(res, 201).await;
    assert_eq!(done["action"], "issue");
    assert_eq!(done["e_licence"]["issued_via"], "counter");
    assert_eq!(done["e_licence"]["issued_by"], clerk_id.as_str());
    assert_eq!(done["e_licence"]["photo_source"], "counter");
    assert_eq!(done["e_licence"]["state"], "current");
    assert_eq!(done["e_licence"]["generated_at"], "2026-11-22T04:00:00Z");
    assert_eq!(done["superseded_submission"], pending.as_str());
    assert!(
        done.get("display").is_none(),
        "the clerk gets no code to show"
    );
    let id = done["e_licence"]["e_licence_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The holder has it, with the counter photo (normalised like an upload), and it verifies.
    let e = json_of(app.get("/api/v1/me/e-licence", Some(&holder)).await, 200).await;
    assert_eq!(e["e_licence_id"], id.as_str());
    assert_eq!(e["photo_source"], "counter");
    let photo = app
        .get("/api/v1/me/e-licence/photo", Some(&holder))
        .await
        .bytes()
        .await
        .unwrap();
    let expected = elicence::photo::normalise(&images::good_jpeg(), &Default::default()).unwrap();
    assert_eq!(
        photo.as_ref(),
        expected.jpeg.as_slice(),
        "the counter photo"
    );
    let officer = app.token(Role::Officer, None);
    let scan = json_of(
        app.post_json(
            "/api/v1/verify",
            &officer,
            &json!({"code": e["display"]["code"]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(scan["valid"], true, "{scan}");
    // The remote submission was decided by the counter: superseded, out of the queue.
    let application = json_of(
        app.get("/api/v1/me/e-licence/application", Some(&holder))
            .await,
        200,
    )
    .await;
    assert_eq!(application["state"], "superseded");
    let reviewer = app.token(Role::Reviewer, None);
    let queue = json_of(app.get("/api/v1/review/queue", Some(&reviewer)).await, 200).await;
    assert_eq!(queue["items"], json!([]));
    let notes = notifications(&app, &holder).await;
    assert_eq!(notes.len(), 1, "{notes:?}");
    assert_eq!(notes[0]["kind"], "e_licence_issued");
    assert_eq!(notes[0]["payload"]["via"], "counter");
    assert_eq!(notes[0]["payload"]["e_licence_id"], id.as_str());

    // A second issuance with the photo on file: there is one already.
    let res = on_file(&app, NUMBER, &clerk).await;
    assert_eq!(error_code(res, 409).await.0, "e_licence_exists");
    let seen = json_of(app.get(&licence_path(NUMBER), Some(&clerk)).await, 200).await;
    assert_eq!(seen["e_licence"]["e_licence_id"], id.as_str());
    assert_eq!(seen["e_licence"]["issued_via"], "counter");
    assert_eq!(seen["pending_submission"], Value::Null);

    let admin = app.token(Role::Admin, None);
    let page = json_of(
        app.get(&format!("{AUDIT}?licence={NUMBER}"), Some(&admin))
            .await,
        200,
    )
    .await;
    let entries = page["items"].as_array().unwrap();
    let outcomes: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e["action"].as_str().unwrap(),
                e["outcome"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("lookup", "ok"),
            ("issue", "photo_required"),
            ("issue", "ok"),
            ("issue", "e_licence_exists"),
            ("lookup", "ok"),
        ]
    );
    assert_eq!(entries[2]["detail"]["e_licence_id"], id.as_str());
    assert_eq!(
        entries[2]["detail"]["superseded_submission"],
        pending.as_str()
    );
    assert_eq!(entries[2]["detail"]["photo_source"], "counter");
}

fn claim_of(code: &str) -> Value {
    use base64::Engine;
    let payload = code.split('.').nth(1).unwrap();
    serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap()
}

async fn on_file_issuance_and_a_photo_change_at_the_counter(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record_with_photo(NUMBER));
    let (clerk_id, clerk) = clerk_token(&app, BEIJING);
    let done = json_of(on_file(&app, NUMBER, &clerk).await, 201).await;
    assert_eq!(done["action"], "issue");
    assert_eq!(done["e_licence"]["photo_source"], "on_file");
    assert_eq!(done["e_licence"]["issued_via"], "counter");
    assert_eq!(done["e_licence"]["issued_by"], clerk_id.as_str());
    assert_eq!(done["superseded_submission"], Value::Null);
    let id = done["e_licence"]["e_licence_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let before = json_of(app.get("/api/v1/me/e-licence", Some(&holder)).await, 200).await;
    assert_eq!(before["photo_source"], "on_file");
    let old_barcode = before["display"]["barcode"].as_str().unwrap().to_owned();
    let old_tag = claim_of(before["display"]["code"].as_str().unwrap())["p"].clone();
    // The app answers its own on-file request with the counter's e-licence (idempotent).
    let res = app
        .post_json(
            "/api/v1/me/e-licence",
            &holder,
            &json!({"photo": "on_file"}),
        )
        .await;
    assert_eq!(json_of(res, 200).await["e_licence_id"], id.as_str());

    // A new photo taken at the counter goes on the same e-licence, re-signed.
    let res = counter_upload(&app, NUMBER, &clerk, images::good_png()).await;
    let changed = json_of(res, 200).await;
    assert_eq!(changed["action"], "photo_change");
    assert_eq!(changed["e_licence"]["e_licence_id"], id.as_str());
    assert_eq!(changed["e_licence"]["photo_source"], "counter");
    let after = json_of(app.get("/api/v1/me/e-licence", Some(&holder)).await, 200).await;
    assert_eq!(after["e_licence_id"], id.as_str());
    assert_eq!(after["photo_source"], "counter");
    let new_tag = claim_of(after["display"]["code"].as_str().unwrap())["p"].clone();
    assert_ne!(new_tag, old_tag, "new codes carry the new photo");
    let officer = app.token(Role::Officer, None);
    let scan = json_of(
        app.post_json("/api/v1/verify", &officer, &json!({"barcode": old_barcode}))
            .await,
        200,
    )
    .await;
    assert_eq!(
        scan["reasons"],
        json!(["expired"]),
        "codes shown before lapse"
    );
    let scan = json_of(
        app.post_json(
            "/api/v1/verify",
            &officer,
            &json!({"code": after["display"]["code"]}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(scan["valid"], true, "{scan}");
    let kinds: Vec<Value> = notifications(&app, &holder)
        .await
        .iter()
        .map(|n| json!([n["kind"], n["payload"]["via"]]))
        .collect();
    assert_eq!(
        kinds,
        [
            json!(["photo_changed", "counter"]),
            json!(["e_licence_issued", "counter"])
        ],
        "newest first"
    );
    assert_eq!(
        audit_rows(&app, "").await,
        vec![
            row("issue", NUMBER, "ok"),
            row("photo_change", NUMBER, "ok")
        ]
    );
}

/// The counter photo goes through the app's intake: the same refusals with the same codes,
/// and nothing is written but the audit of each refusal.
async fn counter_photos_get_the_same_checks_as_app_uploads(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(NUMBER));
    let (_, clerk) = clerk_token(&app, BEIJING);
    let good = images::good_jpeg();
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "bomb",
            images::png_declaring(100_000, 100_000),
            422,
            "photo_too_large",
        ),
        ("huge", images::big_png(20_000), 422, "photo_too_large"),
        (
            "cut",
            good[..good.len() / 2].to_vec(),
            422,
            "photo_unreadable",
        ),
        ("empty", Vec::new(), 422, "photo_unreadable"),
        ("svg", images::SVG.to_vec(), 415, "unsupported_photo_format"),
        (
            "gif",
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
            415,
            "unsupported_photo_format",
        ),
        (
            "grey",
            images::grey_background_jpeg(),
            422,
            "photo_rejected",
        ),
        ("big", vec![0xff; 6 * 1024 * 1024], 413, "payload_too_large"),
    ];
    let mut expected = Vec::new();
    for (name, bytes, status, code) in cases {
        let res = counter_upload(&app, NUMBER, &clerk, bytes).await;
        if code == "photo_rejected" {
            let body = json_of(res, 422).await;
            assert_eq!(body["error"]["code"], code);
            let failed: Vec<&str> = body["error"]["details"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["code"].as_str().unwrap())
                .collect();
            assert!(failed.contains(&"background_not_white"), "{failed:?}");
        } else {
            assert_eq!(error_code(res, status).await.0, code, "{name}");
        }
        expected.push(row("issue", NUMBER, code));
        assert_eq!(app.get("/healthz", None).await.status(), 200);
    }
    // Not multipart and not JSON; a form without the photo; an unknown choice.
    let res = app
        .client
        .post(app.url(&issue_path(NUMBER)))
        .bearer_auth(&clerk)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 415).await.0, "unsupported_media_type");
    let form = reqwest::multipart::Form::new().text("source", "camera");
    let res = app
        .client
        .post(app.url(&issue_path(NUMBER)))
        .bearer_auth(&clerk)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 422).await.0, "invalid_body");
    let res = app
        .post_json(&issue_path(NUMBER), &clerk, &json!({"photo": "scanner"}))
        .await;
    assert_eq!(error_code(res, 422).await.0, "invalid_body");
    expected.extend([
        row("issue", NUMBER, "unsupported_media_type"),
        row("issue", NUMBER, "invalid_body"),
        row("issue", NUMBER, "invalid_body"),
    ]);
    // Nothing was issued, queued or notified.
    let res = app.get("/api/v1/me/e-licence", Some(&holder)).await;
    assert_eq!(error_code(res, 404).await.0, "e_licence_not_found");
    assert!(notifications(&app, &holder).await.is_empty());
    assert_eq!(audit_rows(&app, "").await, expected);
    let admin = app.token(Role::Admin, None);
    let page = json_of(app.get(AUDIT, Some(&admin)).await, 200).await;
    let grey = &page["items"][6];
    assert_eq!(grey["outcome"], "photo_rejected");
    assert!(grey["detail"]["failed_checks"]
        .as_array()
        .unwrap()
        .contains(&json!("background_not_white")));

    // A real photo with extras is taken, stripped of them.
    let res = counter_upload(&app, NUMBER, &clerk, images::jpeg_with_gps_exif()).await;
    json_of(res, 201).await;
    let stored = app
        .get("/api/v1/me/e-licence/photo", Some(&holder))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(&stored[..3], [0xff, 0xd8, 0xff]);
    assert!(!images::has_app1(&stored), "no metadata");
}

/// Ineligible licences and unusable photos on file are refused like on the app, every reason
/// given, before the photo is read.
async fn the_counter_checks_eligibility_and_the_photo_on_file(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut barred = record_with_photo(NUMBER);
    barred["statuses"] = json!(["suspended"]);
    barred["points"] = json!(12);
    let holder = app.holder(&barred);
    let (_, clerk) = clerk_token(&app, BEIJING);
    let seen = json_of(app.get(&licence_path(NUMBER), Some(&clerk)).await, 200).await;
    assert_eq!(seen["eligibility"]["eligible"], false);
    let codes = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        codes(&seen["eligibility"]["reasons"]),
        ["suspended", "points_limit"]
    );
    for res in [
        on_file(&app, NUMBER, &clerk).await,
        counter_upload(&app, NUMBER, &clerk, images::good_jpeg()).await,
    ] {
        let body = json_of(res, 422).await;
        assert_eq!(body["error"]["code"], "not_eligible");
        assert_eq!(
            codes(&body["error"]["details"]),
            ["suspended", "points_limit"]
        );
    }
    let res = app.get("/api/v1/me/e-licence", Some(&holder)).await;
    assert_eq!(error_code(res, 404).await.0, "e_licence_not_found");

    // A photo on file that fails the pre-checks cannot be used; a counter photo can.
    let mut grey = record_with_photo(OTHER_NUMBER);
    grey["photo"] = json!(base64_of(&images::grey_background_jpeg()));
    app.seed(&grey);
    let seen = json_of(
        app.get(&licence_path(OTHER_NUMBER), Some(&clerk)).await,
        200,
    )
    .await;
    assert_eq!(seen["photo_on_file"]["prechecks"], "failed");
    assert!(
        codes(&seen["photo_on_file"]["failed_checks"]).contains(&"background_not_white".to_owned())
    );
    let body = json_of(on_file(&app, OTHER_NUMBER, &clerk).await, 422).await;
    assert_eq!(body["error"]["code"], "photo_on_file_unusable");
    json_of(
        counter_upload(&app, OTHER_NUMBER, &clerk, images::good_jpeg()).await,
        201,
    )
    .await;

    let admin = app.token(Role::Admin, None);
    let page = json_of(app.get(AUDIT, Some(&admin)).await, 200).await;
    let entries = page["items"].as_array().unwrap();
    let outcomes: Vec<&str> = entries
        .iter()
        .map(|e| e["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "ok",
            "not_eligible",
            "not_eligible",
            "ok",
            "photo_on_file_unusable",
            "ok"
        ]
    );
    assert_eq!(
        entries[1]["detail"]["reasons"],
        json!(["suspended", "points_limit"])
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Two clerks at two windows issue for the same holder at once: exactly one e-licence.
async fn concurrent_clerks_make_exactly_one_e_licence(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, first) = clerk_token(&app, BEIJING);
    let (_, second) = clerk_token(&app, BEIJING);
    for round in 0..4 {
        let number = format!("11010119900101{round:04}");
        let holder = app.holder(&record_with_photo(&number));
        let attempts = (0..6).map(|i| {
            let (app, number) = (&app, number.clone());
            let clerk = if i % 2 == 0 { &first } else { &second };
            async move {
                if i < 4 {
                    on_file(app, &number, clerk).await.status().as_u16()
                } else {
                    counter_upload(app, &number, clerk, images::good_jpeg())
                        .await
                        .status()
                        .as_u16()
                }
            }
        });
        let mut statuses = futures_util::future::join_all(attempts).await;
        statuses.sort_unstable();
        assert_eq!(
            statuses.iter().filter(|s| **s == 201).count(),
            1,
            "one creation: {statuses:?}"
        );
        assert!(
            statuses.iter().all(|s| [200, 201, 409].contains(s)),
            "only creations, photo changes and conflicts: {statuses:?}"
        );
        let e = json_of(app.get("/api/v1/me/e-licence", Some(&holder)).await, 200).await;
        let issued = notifications(&app, &holder)
            .await
            .iter()
            .filter(|n| n["kind"] == "e_licence_issued")
            .count();
        assert_eq!(issued, 1, "one e_licence_issued for {}", e["e_licence_id"]);
        let oks = audit_rows(&app, &format!("?licence={number}"))
            .await
            .into_iter()
            .filter(|(action, _, outcome)| action == "issue" && outcome == "ok")
            .count();
        assert_eq!(oks, 1);
    }
}

async fn roles_keep_clerks_at_the_counter_and_others_out(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record_with_photo(NUMBER));
    let (_, clerk) = clerk_token(&app, BEIJING);
    let others = [
        ("holder", holder.clone()),
        ("officer", app.token(Role::Officer, None)),
        ("reviewer", app.token(Role::Reviewer, None)),
        ("admin", app.token(Role::Admin, None)),
        ("partner", partner_token(&app, "rental")),
    ];
    for (who, token) in &others {
        let res = app.get(&licence_path(NUMBER), Some(token)).await;
        assert_eq!(error_code(res, 403).await.0, "forbidden", "{who}");
        let res = on_file(&app, NUMBER, token).await;
        assert_eq!(error_code(res, 403).await.0, "forbidden", "{who}");
        let res = counter_upload(&app, NUMBER, token, images::good_jpeg()).await;
        assert_eq!(error_code(res, 403).await.0, "forbidden", "{who}");
    }
    assert_eq!(
        audit_rows(&app, "").await,
        vec![],
        "not clerks: no counter actions"
    );
    let res = app.get(&licence_path(NUMBER), None).await;
    assert_eq!(error_code(res, 401).await.0, "unauthenticated");

    for path in [
        "/api/v1/me/licence".to_owned(),
        "/api/v1/me/eligibility".to_owned(),
        "/api/v1/me/e-licence".to_owned(),
        "/api/v1/me/notifications".to_owned(),
        "/api/v1/me/e-licence/application".to_owned(),
        "/api/v1/review/queue".to_owned(),
        "/api/v1/review/stats".to_owned(),
        format!("/api/v1/admin/licences/{NUMBER}"),
        "/api/v1/admin/audit/verifications".to_owned(),
        AUDIT.to_owned(),
    ] {
        let res = app.get(&path, Some(&clerk)).await;
        assert_eq!(error_code(res, 403).await.0, "forbidden", "{path}");
    }
    let res = app
        .post_json("/api/v1/me/e-licence", &clerk, &json!({"photo": "on_file"}))
        .await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");
    let res = app
        .post_json(
            "/api/v1/verify",
            &clerk,
            &json!({"barcode": "12345678901234567890"}),
        )
        .await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");
    let res = app
        .put_json(
            &format!("/api/v1/admin/licences/{NUMBER}"),
            &clerk,
            &record(NUMBER),
        )
        .await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");
    let res = app.get("/api/v1/me/e-licence", Some(&holder)).await;
    assert_eq!(
        error_code(res, 404).await.0,
        "e_licence_not_found",
        "nothing issued"
    );
}

crate::both_backends!(
    a_clerk_sees_the_licences_of_their_own_authority_only,
    a_counter_photo_issues_at_once_and_supersedes_the_remote_one,
    on_file_issuance_and_a_photo_change_at_the_counter,
    counter_photos_get_the_same_checks_as_app_uploads,
    the_counter_checks_eligibility_and_the_photo_on_file,
    concurrent_clerks_make_exactly_one_e_licence,
    roles_keep_clerks_at_the_counter_and_others_out,
);
