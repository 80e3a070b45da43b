//! Photo intake and human review, over real HTTP: uploads (good, failing and hostile), the
//! queue, claims and their leases, decisions under concurrency, and what the holder sees.

use crate::helpers::{
    error_code, record, record_with_photo, spawn_app, test_now, Backend, TestApp,
};
use crate::images;
use elicence::domain::role::Role;
use serde_json::{json, Value};

const APPLY: &str = "/api/v1/me/e-licence";
const CHANGE: &str = "/api/v1/me/e-licence/photo";
const QUEUE: &str = "/api/v1/review/queue";
const HOLDER_NUMBER: &str = "110101199001011234";

async fn upload(
    app: &TestApp,
    path: &str,
    token: &str,
    source: &str,
    bytes: Vec<u8>,
    file_name: &str,
) -> reqwest::Response {
    let form = reqwest::multipart::Form::new()
        .text("source", source.to_owned())
        .part(
            "photo",
            reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned()),
        );
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn json_of(res: reqwest::Response, status: u16) -> Value {
    let code = res.status().as_u16();
    let body: Value = res.json().await.unwrap();
    assert_eq!(code, status, "{body}");
    body
}

/// A holder with no photo on file, who uploads a good photo: the submission's id.
async fn queued(app: &TestApp, holder: &str) -> String {
    let res = upload(app, APPLY, holder, "camera", images::good_jpeg(), "me.jpg").await;
    json_of(res, 202).await["id"].as_str().unwrap().to_owned()
}

async fn post(app: &TestApp, path: &str, token: &str, body: Value) -> reqwest::Response {
    app.post_json(path, token, &body).await
}

fn claim_path(id: &str) -> String {
    format!("/api/v1/review/submissions/{id}/claim")
}

fn decision_path(id: &str) -> String {
    format!("/api/v1/review/submissions/{id}/decision")
}

async fn a_camera_photo_is_queued_reviewed_and_becomes_the_e_licence(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(HOLDER_NUMBER));
    let res = upload(
        &app,
        APPLY,
        &holder,
        "camera",
        images::good_jpeg(),
        "me.jpg",
    )
    .await;
    let application = json_of(res, 202).await;
    assert_eq!(application["state"], "pending_review");
    assert_eq!(application["purpose"], "first_application");
    // Submitted Sunday 2026-11-22 12:00 Beijing: one working day is all of Monday.
    assert_eq!(application["deadline"], "2026-11-23T16:00:00Z");
    let id = application["id"].as_str().unwrap().to_owned();
    let res = app.get("/api/v1/me/e-licence", Some(&holder)).await;
    assert_eq!(error_code(res, 404).await.0, "e_licence_not_found");

    let reviewer = app.token(Role::Reviewer, None);
    let queue = json_of(app.get(QUEUE, Some(&reviewer)).await, 200).await;
    let item = &queue["items"][0];
    assert_eq!(item["id"], id.as_str());
    assert!(item["prechecks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["passed"] == true));
    assert!(
        !item["licence"].as_str().unwrap().contains("19900101"),
        "masked"
    );
    let submitted = app
        .get(item["photo_url"].as_str().unwrap(), Some(&reviewer))
        .await;
    assert_eq!(submitted.headers()["content-type"], "image/jpeg");
    assert_eq!(submitted.headers()["x-content-type-options"], "nosniff");
    let submitted = submitted.bytes().await.unwrap();
    let decoded = image::load_from_memory(&submitted).unwrap();
    assert_eq!(
        (decoded.width(), decoded.height()),
        (330, 480),
        "normalised 22:32"
    );
    let res = app
        .get(
            item["reference_photo_url"].as_str().unwrap(),
            Some(&reviewer),
        )
        .await;
    assert_eq!(
        error_code(res, 404).await.0,
        "photo_not_found",
        "nothing on file"
    );

    let res = post(
        &app,
        &decision_path(&id),
        &reviewer,
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(error_code(res, 409).await.0, "claim_required");
    json_of(
        post(&app, &claim_path(&id), &reviewer, json!({})).await,
        200,
    )
    .await;
    let decided = json_of(
        post(
            &app,
            &decision_path(&id),
            &reviewer,
            json!({"decision": "approve"}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(decided["state"], "approved");

    let e = json_of(app.get("/api/v1/me/e-licence", Some(&holder)).await, 200).await;
    assert_eq!(e["photo_source"], "camera");
    assert_eq!(decided["e_licence_id"], e["e_licence_id"]);
    let on_licence = app
        .get("/api/v1/me/e-licence/photo", Some(&holder))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(
        on_licence, submitted,
        "the approved photo is the e-licence's"
    );
    let application = json_of(
        app.get("/api/v1/me/e-licence/application", Some(&holder))
            .await,
        200,
    )
    .await;
    assert_eq!(application["state"], "approved");
    let notes = json_of(
        app.get("/api/v1/me/notifications", Some(&holder)).await,
        200,
    )
    .await;
    assert_eq!(notes["items"][0]["kind"], "photo_approved");

    let res = post(
        &app,
        &decision_path(&id),
        &reviewer,
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(error_code(res, 409).await.0, "already_decided");
    let queue = json_of(app.get(QUEUE, Some(&reviewer)).await, 200).await;
    assert_eq!(queue["items"], json!([]));
}

async fn a_rejection_tells_the_holder_why(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(HOLDER_NUMBER));
    let id = queued(&app, &holder).await;
    let reviewer = app.token(Role::Reviewer, None);
    json_of(
        post(&app, &claim_path(&id), &reviewer, json!({})).await,
        200,
    )
    .await;
    for bad in [
        json!({"decision": "reject"}),
        json!({"decision": "reject", "reason": "ugly"}),
        json!({"decision": "approve", "reason": "accessories"}),
        json!({"decision": "maybe"}),
        json!({"decision": "reject", "reason": "accessories", "note": "x".repeat(501)}),
    ] {
        let res = post(&app, &decision_path(&id), &reviewer, bad.clone()).await;
        assert_eq!(error_code(res, 422).await.0, "invalid_body", "{bad}");
    }
    let body = json!({"decision": "reject", "reason": "accessories", "note": "请摘下眼镜"});
    json_of(post(&app, &decision_path(&id), &reviewer, body).await, 200).await;
    let res = app
        .client
        .get(app.url("/api/v1/me/e-licence/application"))
        .bearer_auth(&holder)
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap();
    let application = json_of(res, 200).await;
    assert_eq!(application["state"], "rejected");
    assert_eq!(application["rejection"]["code"], "accessories");
    assert!(application["rejection"]["message"]
        .as_str()
        .unwrap()
        .contains("sunglasses"));
    assert_eq!(application["note"], "请摘下眼镜");
    let notes = json_of(
        app.get("/api/v1/me/notifications", Some(&holder)).await,
        200,
    )
    .await;
    assert_eq!(notes["items"][0]["kind"], "photo_rejected");
    assert_eq!(notes["items"][0]["payload"]["reason"], "accessories");
    let res = app.get("/api/v1/me/e-licence", Some(&holder)).await;
    assert_eq!(error_code(res, 404).await.0, "e_licence_not_found");
}

async fn two_reviewers_never_decide_the_same_photo(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(HOLDER_NUMBER));
    let id = queued(&app, &holder).await;
    let reviewers: Vec<String> = (0..6).map(|_| app.token(Role::Reviewer, None)).collect();
    // Everyone claims and decides at once; the decisions disagree.
    let attempts = reviewers.iter().enumerate().map(|(i, r)| {
        let (app, id) = (&app, id.clone());
        async move {
            let claimed = post(app, &claim_path(&id), r, json!({}))
                .await
                .status()
                .as_u16();
            let decision = if i % 2 == 0 {
                json!({"decision": "approve"})
            } else {
                json!({"decision": "reject", "reason": "poor_lighting"})
            };
            let decided = post(app, &decision_path(&id), r, decision)
                .await
                .status()
                .as_u16();
            (claimed, decided)
        }
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    assert_eq!(
        outcomes.iter().filter(|(c, _)| *c == 200).count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(
        outcomes.iter().filter(|(_, d)| *d == 200).count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes
        .iter()
        .all(|(c, d)| [200, 409].contains(c) && [200, 409].contains(d)));
    let application = json_of(
        app.get("/api/v1/me/e-licence/application", Some(&holder))
            .await,
        200,
    )
    .await;
    let e = app
        .get("/api/v1/me/e-licence", Some(&holder))
        .await
        .status()
        .as_u16();
    match application["state"].as_str().unwrap() {
        "approved" => assert_eq!(e, 200),
        "rejected" => assert_eq!(e, 404),
        other => panic!("{other}"),
    }
    let notes = json_of(
        app.get("/api/v1/me/notifications", Some(&holder)).await,
        200,
    )
    .await;
    let decisions = notes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] != "e_licence_issued")
        .count();
    assert_eq!(decisions, 1, "one decision, one notice");
}

async fn an_abandoned_claim_returns_to_the_queue(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(HOLDER_NUMBER));
    let id = queued(&app, &holder).await;
    let (first, second) = (
        app.token(Role::Reviewer, None),
        app.token(Role::Reviewer, None),
    );
    let claim = json_of(post(&app, &claim_path(&id), &first, json!({})).await, 200).await;
    assert_eq!(claim["claim"]["mine"], true);
    let res = post(&app, &claim_path(&id), &second, json!({})).await;
    assert_eq!(error_code(res, 409).await.0, "claimed_by_another");
    let queue = json_of(app.get(QUEUE, Some(&second)).await, 200).await;
    assert_eq!(queue["items"][0]["claim"]["mine"], false);
    // Ten minutes later the lease has lapsed: the item is anyone's again.
    app.clock.set(test_now() + chrono::Duration::minutes(11));
    json_of(post(&app, &claim_path(&id), &second, json!({})).await, 200).await;
    let res = post(
        &app,
        &decision_path(&id),
        &first,
        json!({"decision": "approve"}),
    )
    .await;
    assert_eq!(error_code(res, 409).await.0, "claimed_by_another");
    // A claim given back is free at once.
    let res = post(
        &app,
        &format!("/api/v1/review/submissions/{id}/release"),
        &second,
        json!({}),
    )
    .await;
    assert_eq!(res.status(), 204);
    json_of(post(&app, &claim_path(&id), &first, json!({})).await, 200).await;
}

async fn a_new_upload_supersedes_the_pending_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(HOLDER_NUMBER));
    let first = queued(&app, &holder).await;
    let res = upload(&app, APPLY, &holder, "album", images::good_png(), "id.png").await;
    let second = json_of(res, 202).await;
    assert_eq!(second["source"], "album");
    let reviewer = app.token(Role::Reviewer, None);
    let queue = json_of(app.get(QUEUE, Some(&reviewer)).await, 200).await;
    let ids: Vec<&str> = queue["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [second["id"].as_str().unwrap()]);
    let res = post(&app, &claim_path(&first), &reviewer, json!({})).await;
    assert_eq!(error_code(res, 409).await.0, "already_decided");
}

async fn a_photo_change_replaces_the_photo_and_re_signs(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut r = record_with_photo(HOLDER_NUMBER);
    r["photo"] = json!(base64_of(&images::good_png()));
    let holder = app.holder(&r);
    let issued = json_of(
        post(&app, APPLY, &holder, json!({"photo": "on_file"})).await,
        201,
    )
    .await;
    let old_barcode = issued["display"]["barcode"].as_str().unwrap().to_owned();
    let old_tag = claim_of(issued["display"]["code"].as_str().unwrap())["p"].clone();
    // Uploading as a first application is refused now: the photo must be changed instead.
    let res = upload(
        &app,
        APPLY,
        &holder,
        "camera",
        images::good_jpeg(),
        "me.jpg",
    )
    .await;
    assert_eq!(error_code(res, 409).await.0, "e_licence_exists");
    let res = upload(
        &app,
        CHANGE,
        &holder,
        "camera",
        images::good_jpeg(),
        "me.jpg",
    )
    .await;
    let change = json_of(res, 202).await;
    assert_eq!(change["purpose"], "photo_change");
    let id = change["id"].as_str().unwrap();
    let reviewer = app.token(Role::Reviewer, None);
    let item = json_of(post(&app, &claim_path(id), &reviewer, json!({})).await, 200).await;
    let reference = app
        .get(
            item["reference_photo_url"].as_str().unwrap(),
            Some(&reviewer),
        )
        .await;
    assert_eq!(
        reference.status(),
        200,
        "the current e-licence photo to compare with"
    );
    json_of(
        post(
            &app,
            &decision_path(id),
            &reviewer,
            json!({"decision": "approve"}),
        )
        .await,
        200,
    )
    .await;

    let e = json_of(app.get("/api/v1/me/e-licence", Some(&holder)).await, 200).await;
    assert_eq!(
        e["e_licence_id"], issued["e_licence_id"],
        "the same e-licence"
    );
    let new_tag = claim_of(e["display"]["code"].as_str().unwrap())["p"].clone();
    assert_ne!(new_tag, old_tag, "new codes carry the new photo");
    let officer = app.token(Role::Officer, None);
    let scan = json_of(
        post(
            &app,
            "/api/v1/verify",
            &officer,
            json!({"barcode": old_barcode}),
        )
        .await,
        200,
    )
    .await;
    assert_eq!(
        scan["reasons"],
        json!(["expired"]),
        "codes shown before the change lapse"
    );
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
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

async fn photos_that_fail_the_pre_checks_are_refused_at_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(HOLDER_NUMBER));
    let res = upload(
        &app,
        APPLY,
        &holder,
        "camera",
        images::grey_background_jpeg(),
        "me.jpg",
    )
    .await;
    let body = json_of(res, 422).await;
    assert_eq!(body["error"]["code"], "photo_rejected");
    let failed: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"background_not_white"), "{failed:?}");
    // A photo on file that fails them cannot be used without review either.
    let other = "310104198505052345";
    let mut r = record_with_photo(other);
    r["photo"] = json!(base64_of(&images::grey_background_jpeg()));
    let on_file_holder = app.holder(&r);
    let res = post(&app, APPLY, &on_file_holder, json!({"photo": "on_file"})).await;
    let body = json_of(res, 422).await;
    assert_eq!(body["error"]["code"], "photo_on_file_unusable");
    let reviewer = app.token(Role::Reviewer, None);
    let queue = json_of(app.get(QUEUE, Some(&reviewer)).await, 200).await;
    assert_eq!(queue["items"], json!([]), "nothing stored");
}

/// Every hostile file is refused with its own code, or (where it is a real photo with
/// extras) accepted with the extras stripped; the server keeps serving throughout.
async fn hostile_uploads_are_refused_or_defused(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(HOLDER_NUMBER));
    let good = images::good_jpeg();
    let truncated = good[..good.len() / 2].to_vec();
    let cases: Vec<(&str, Vec<u8>, &str, u16, &str)> = vec![
        (
            "bomb.png",
            images::png_declaring(100_000, 100_000),
            "image/png",
            422,
            "photo_unreadable",
        ),
        (
            "huge.png",
            images::big_png(20_000),
            "image/png",
            422,
            "photo_unreadable",
        ),
        ("cut.jpg", truncated, "image/jpeg", 422, "photo_unreadable"),
        (
            "empty.jpg",
            Vec::new(),
            "image/jpeg",
            422,
            "photo_unreadable",
        ),
        (
            "me.svg",
            images::SVG.to_vec(),
            "image/svg+xml",
            415,
            "unsupported_photo_format",
        ),
        (
            "me.gif",
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
            "image/gif",
            415,
            "unsupported_photo_format",
        ),
        (
            "me.html",
            b"<html><body>hi</body></html>".to_vec(),
            "text/html",
            415,
            "unsupported_photo_format",
        ),
    ];
    for (name, bytes, _mime, status, code) in cases {
        let res = upload(&app, APPLY, &holder, "album", bytes, name).await;
        assert_eq!(error_code(res, status).await.0, code, "{name}");
        assert_eq!(app.get("/healthz", None).await.status(), 200);
    }
    // Over 5 MB: refused while streaming.
    let res = upload(
        &app,
        APPLY,
        &holder,
        "album",
        vec![0xff; 6 * 1024 * 1024],
        "big.jpg",
    )
    .await;
    assert_eq!(error_code(res, 413).await.0, "payload_too_large");
    // Not multipart, a bad source, a missing field.
    let res = app
        .client
        .post(app.url(APPLY))
        .bearer_auth(&holder)
        .header("content-type", "text/plain")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 415).await.0, "unsupported_media_type");
    let res = upload(&app, APPLY, &holder, "scanner", good.clone(), "me.jpg").await;
    assert_eq!(error_code(res, 422).await.0, "invalid_body");
    let form = reqwest::multipart::Form::new().text("source", "camera");
    let res = app
        .client
        .post(app.url(APPLY))
        .bearer_auth(&holder)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 422).await.0, "invalid_body");

    // Real photos with extras: sniffed from the bytes, re-encoded, nothing else kept.
    let reviewer = app.token(Role::Reviewer, None);
    let mut html_tail = good.clone();
    html_tail.extend(b"<html><script>alert(1)</script></html>");
    let mut zip_tail = good.clone();
    zip_tail.extend(b"PK\x03\x04\x14\x00\x00\x00\x08\x00payload.exe");
    for (name, bytes) in [
        ("png-named.jpg", images::good_png()),
        ("html-tail.jpg", html_tail),
        ("zip-tail.jpg", zip_tail),
        ("gps.jpg", images::jpeg_with_gps_exif()),
    ] {
        let res = upload(&app, APPLY, &holder, "album", bytes, name).await;
        let application = json_of(res, 202).await;
        let queue = json_of(app.get(QUEUE, Some(&reviewer)).await, 200).await;
        assert_eq!(queue["items"][0]["id"], application["id"], "{name}");
        let stored = app
            .get(
                queue["items"][0]["photo_url"].as_str().unwrap(),
                Some(&reviewer),
            )
            .await
            .bytes()
            .await
            .unwrap();
        assert_eq!(&stored[..3], [0xff, 0xd8, 0xff], "{name}: a JPEG");
        assert!(!images::has_app1(&stored), "{name}: no metadata");
        assert!(
            !stored
                .windows(4)
                .any(|w| w == b"<htm" || w == b"PK\x03\x04"),
            "{name}: no tail"
        );
    }
}

async fn roles_keep_reviewers_and_holders_apart(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(HOLDER_NUMBER));
    let id = queued(&app, &holder).await;
    for path in [
        QUEUE.to_owned(),
        format!("/api/v1/review/submissions/{id}/photo"),
        "/api/v1/review/stats".to_owned(),
    ] {
        let res = app.get(&path, Some(&holder)).await;
        assert_eq!(error_code(res, 403).await.0, "forbidden", "{path}");
    }
    let res = post(&app, &claim_path(&id), &holder, json!({})).await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");
    let officer = app.token(Role::Officer, None);
    let res = app.get(QUEUE, Some(&officer)).await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");
    let reviewer = app.token(Role::Reviewer, None);
    for path in [
        "/api/v1/me/licence",
        "/api/v1/me/e-licence",
        "/api/v1/me/notifications",
        "/api/v1/me/e-licence/application",
    ] {
        let res = app.get(path, Some(&reviewer)).await;
        assert_eq!(error_code(res, 403).await.0, "forbidden", "{path}");
    }
    let res = upload(
        &app,
        APPLY,
        &reviewer,
        "camera",
        images::good_jpeg(),
        "me.jpg",
    )
    .await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");
    let res = app.get(QUEUE, None).await;
    assert_eq!(error_code(res, 401).await.0, "unauthenticated");
}

async fn queue_statistics_count_pending_overdue_and_decisions(backend: Backend) {
    let app = spawn_app(backend).await;
    let reviewer = app.token(Role::Reviewer, None);
    let mut ids = Vec::new();
    for n in [
        "110101199001011234",
        "310104198505052345",
        "440305197504021350",
    ] {
        let holder = app.holder(&record(n));
        ids.push(queued(&app, &holder).await);
    }
    // Two days on, all three are past Monday's deadline.
    app.clock.set(test_now() + chrono::Duration::days(2));
    for (id, decision) in ids.iter().take(2).zip([
        json!({"decision": "approve"}),
        json!({"decision": "reject", "reason": "unclear"}),
    ]) {
        json_of(post(&app, &claim_path(id), &reviewer, json!({})).await, 200).await;
        json_of(
            post(&app, &decision_path(id), &reviewer, decision).await,
            200,
        )
        .await;
    }
    let stats = json_of(app.get("/api/v1/review/stats", Some(&reviewer)).await, 200).await;
    assert_eq!(stats["pending"], 1);
    assert_eq!(stats["overdue"], 1);
    assert_eq!(stats["oldest_deadline"], "2026-11-23T16:00:00Z");
    assert_eq!(stats["decisions"][0]["approved"], 1);
    assert_eq!(stats["decisions"][0]["rejected"], 1);
    let queue = json_of(app.get(QUEUE, Some(&reviewer)).await, 200).await;
    assert_eq!(queue["items"][0]["overdue"], true);
    let page = json_of(
        app.get(&format!("{QUEUE}?limit=1"), Some(&reviewer)).await,
        200,
    )
    .await;
    assert!(page["next"].is_string());
    let res = app
        .get(&format!("{QUEUE}?after=garbage"), Some(&reviewer))
        .await;
    assert_eq!(error_code(res, 400).await.0, "invalid_path");
}

crate::both_backends!(
    a_camera_photo_is_queued_reviewed_and_becomes_the_e_licence,
    a_rejection_tells_the_holder_why,
    two_reviewers_never_decide_the_same_photo,
    an_abandoned_claim_returns_to_the_queue,
    a_new_upload_supersedes_the_pending_one,
    a_photo_change_replaces_the_photo_and_re_signs,
    photos_that_fail_the_pre_checks_are_refused_at_once,
    hostile_uploads_are_refused_or_defused,
    roles_keep_reviewers_and_holders_apart,
    queue_statistics_count_pending_overdue_and_decisions,
);
