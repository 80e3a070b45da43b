//! Photo intake and human review, over real HTTP: uploads (good, failing and hostile), the
//! queue, claims and their leases, decisions under concurrency, and what the holder sees.

use crate::helpers::{
    error_code, record, record_with_photo, spawn_app, test_now, Backend, TestApp,
};
use crate::images;
use crate::raw_http::read_response;
use elicence::domain::role::Role;
use elicence::photo::{self, corpus};
use elicence::storage::submissions;
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
    app.upload_photo(path, token, Some(source), bytes, file_name)
        .await
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

/// The holder's photo queued and claimed by a new reviewer: (submission id, reviewer token).
async fn claimed(app: &TestApp, holder: &str) -> (String, String) {
    let id = queued(app, holder).await;
    let reviewer = app.token(Role::Reviewer, None);
    json_of(post(app, &claim_path(&id), &reviewer, json!({})).await, 200).await;
    (id, reviewer)
}

/// The status and JSON body of an answer whose status is not known in advance.
async fn answer(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap())
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
    let (id, reviewer) = claimed(&app, &holder).await;
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
    let mut garbled = images::good_png();
    garbled[29] ^= 0xff; // the IHDR checksum
                         // Progressive with full-resolution chroma: 73 MB of coefficients, past the 64 MiB budget.
    let progressive_444_12mp = corpus::FlatJpeg {
        sampling: vec![(1, 1); 3],
        ..corpus::FlatJpeg::progressive(3024, 4032, 10)
    }
    .encode();
    let deep_estimate = match photo::inspect(&progressive_444_12mp, &Default::default()) {
        Err(photo::PhotoError::TooMuchMemory {
            estimated_bytes, ..
        }) => estimated_bytes,
        other => panic!("{other:?}"),
    };
    let too_big = |side: u32| {
        json!({"cause": "dimensions_too_large", "width": side, "height": side,
            "max_width": 8000, "max_height": 8000})
    };
    // (file, bytes, status, code, the machine-readable cause in error.details)
    let cases: Vec<(&str, Vec<u8>, u16, &str, Value)> = vec![
        (
            "bomb.png",
            corpus::png_header_only(100_000, 100_000, 8, 6),
            422,
            "photo_too_large",
            too_big(100_000),
        ),
        (
            "huge.png",
            images::big_png(20_000),
            422,
            "photo_too_large",
            too_big(20_000),
        ),
        (
            // The 969 KB upload, as far as its headers go.
            "cmyk.jpg",
            corpus::FlatJpeg::cmyk(6500, 6500, true).encode(),
            422,
            "photo_too_large",
            json!({"cause": "too_many_pixels", "kind": "cmyk", "width": 6500,
                "height": 6500, "pixels": 42_250_000, "max_pixels": 4_000_000}),
        ),
        (
            "deep.jpg",
            progressive_444_12mp.clone(),
            422,
            "photo_too_large",
            json!({"cause": "too_much_memory", "width": 3024, "height": 4032,
                "components": 3, "bit_depth": 8, "estimated_bytes": deep_estimate,
                "budget_bytes": 64u64 << 20}),
        ),
        (
            "cut.jpg",
            truncated,
            422,
            "photo_unreadable",
            json!({"cause": "truncated"}),
        ),
        (
            "garbled.png",
            garbled,
            422,
            "photo_unreadable",
            json!({"cause": "corrupt"}),
        ),
        (
            "empty.jpg",
            Vec::new(),
            422,
            "photo_unreadable",
            json!({"cause": "empty"}),
        ),
        (
            "me.svg",
            images::SVG.to_vec(),
            415,
            "unsupported_photo_format",
            Value::Null,
        ),
        (
            "me.gif",
            b"GIF89a\x01\x00\x01\x00\x00\x00\x00;".to_vec(),
            415,
            "unsupported_photo_format",
            Value::Null,
        ),
        (
            "me.html",
            b"<html><body>hi</body></html>".to_vec(),
            415,
            "unsupported_photo_format",
            Value::Null,
        ),
    ];
    for (name, bytes, status, code, cause) in cases {
        let res = upload(&app, APPLY, &holder, "album", bytes, name).await;
        let body = json_of(res, status).await;
        assert_eq!(body["error"]["code"], code, "{name}: {body}");
        assert_eq!(body["error"]["details"], cause, "{name}: {body}");
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

/// Sends a multipart upload over a raw connection with chunked transfer encoding (so there is
/// no Content-Length to refuse it by): `source`, then `photo_len` bytes of photo in 64 KiB
/// chunks, and never the end of the body. Whatever answer comes therefore came while the body
/// was still streaming. Returns the status and the JSON body.
fn unfinished_chunked_upload(
    address: &str,
    path: &str,
    token: &str,
    photo_len: usize,
) -> (u16, Value) {
    use std::io::Write;
    let host = address.trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&host).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let boundary = "elicence-chunked-upload";
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: multipart/form-data; boundary={boundary}\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .unwrap();
    let fields = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\ncamera\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"big.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    );
    let mut writer = stream.try_clone().unwrap();
    let writing = std::thread::spawn(move || -> std::io::Result<()> {
        let mut chunk = |data: &[u8]| -> std::io::Result<()> {
            write!(writer, "{:x}\r\n", data.len())?;
            writer.write_all(data)?;
            writer.write_all(b"\r\n")
        };
        chunk(fields.as_bytes())?;
        let block = vec![0xffu8; 64 * 1024];
        for _ in 0..photo_len.div_ceil(block.len()) {
            chunk(&block)?;
        }
        // No closing boundary, no last chunk: the body is left unfinished.
        Ok(())
    });
    let answer = read_response(&mut stream);
    // Unblocks the writer if the server stopped reading without closing.
    let _ = stream.shutdown(std::net::Shutdown::Both);
    let _ = writing.join().unwrap();
    answer
}

/// The streaming limit without a Content-Length to go by: the body is counted as it arrives
/// and refused at the first chunk past 5 MB, before it ends; nothing is stored.
async fn an_oversized_chunked_upload_is_refused_while_it_streams(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(HOLDER_NUMBER));
    let (address, token) = (app.address.clone(), holder.clone());
    let (status, body) = actix_web::rt::task::spawn_blocking(move || {
        unfinished_chunked_upload(&address, APPLY, &token, 5 * 1024 * 1024 + 64 * 1024)
    })
    .await
    .unwrap();
    assert_eq!(status, 413, "{body}");
    assert_eq!(body["error"]["code"], "payload_too_large", "{body}");
    let stored =
        submissions::latest_for(&mut app.test_db.db.get().unwrap(), HOLDER_NUMBER).unwrap();
    assert_eq!(stored, None, "no submission row");
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    queued(&app, &holder).await;
}

/// A reviewer token and its id (the id is what the audit records).
fn reviewer_with_id(app: &TestApp) -> (String, String) {
    let created = elicence::auth::create_token(
        &mut app.test_db.db.get().unwrap(),
        Role::Reviewer,
        None,
        Some("test reviewer"),
        test_now(),
    )
    .unwrap();
    (created.id, created.secret)
}

const REVIEW_AUDIT: &str = "/api/v1/admin/audit/reviews";

/// (reviewer, submission, action, reason, note, at) of each entry of an audit page.
fn audit_rows(page: &Value) -> Vec<(String, String, String, Value, Value, String)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_owned();
            (
                text("reviewer_token_id"),
                text("submission_id"),
                text("action"),
                e["reason"].clone(),
                e["note"].clone(),
                text("at"),
            )
        })
        .collect()
}

async fn the_review_audit_shows_every_claim_release_and_decision(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = queued(&app, &app.holder(&record(HOLDER_NUMBER))).await;
    let second = queued(&app, &app.holder(&record("310104198505052345"))).await;
    let ((r1_id, r1), (r2_id, r2)) = (reviewer_with_id(&app), reviewer_with_id(&app));
    let at = |minutes: i64| test_now() + chrono::Duration::minutes(minutes);
    let stamp = |minutes: i64| at(minutes).to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
    let release = |id: &str| format!("/api/v1/review/submissions/{id}/release");
    let reject = json!({"decision": "reject", "reason": "accessories", "note": "请摘下眼镜"});
    let steps: Vec<(i64, &str, String, Value, u16)> = vec![
        (1, &r1, claim_path(&first), json!({}), 200),
        // Refused actions change nothing and are not audited.
        (1, &r2, claim_path(&first), json!({}), 409),
        (2, &r1, release(&first), json!({}), 204),
        (3, &r2, claim_path(&first), json!({}), 200),
        (
            4,
            &r2,
            decision_path(&first),
            json!({"decision": "approve"}),
            200,
        ),
        (5, &r1, claim_path(&second), json!({}), 200),
        (6, &r1, decision_path(&second), reject, 200),
    ];
    for (minute, token, path, body, status) in steps {
        app.clock.set(at(minute));
        let res = post(&app, &path, token, body).await;
        assert_eq!(res.status().as_u16(), status, "{path}");
    }
    let row = |who: &str, id: &str, action: &str, minute: i64| {
        (
            who.to_owned(),
            id.to_owned(),
            action.to_owned(),
            Value::Null,
            Value::Null,
            stamp(minute),
        )
    };
    let rejected = (
        r1_id.clone(),
        second.clone(),
        "rejected".to_owned(),
        json!("accessories"),
        json!("请摘下眼镜"),
        stamp(6),
    );
    let all = vec![
        row(&r1_id, &first, "claim", 1),
        row(&r1_id, &first, "release", 2),
        row(&r2_id, &first, "claim", 3),
        row(&r2_id, &first, "approved", 4),
        row(&r1_id, &second, "claim", 5),
        rejected.clone(),
    ];
    let admin = app.token(Role::Admin, None);
    let audit = |query: String| {
        let (app, admin) = (&app, &admin);
        async move {
            json_of(
                app.get(&format!("{REVIEW_AUDIT}{query}"), Some(admin))
                    .await,
                200,
            )
            .await
        }
    };
    let page = audit(String::new()).await;
    assert_eq!(audit_rows(&page), all);
    assert_eq!(page["next"], Value::Null);

    let pick = |indices: &[usize]| indices.iter().map(|&i| all[i].clone()).collect::<Vec<_>>();
    let from = stamp(2).replace('+', "%2B");
    let to = stamp(4).replace('+', "%2B");
    for (query, expected) in [
        (format!("?reviewer={r1_id}"), pick(&[0, 1, 4, 5])),
        (format!("?submission={first}"), pick(&[0, 1, 2, 3])),
        ("?action=claim".to_owned(), pick(&[0, 2, 4])),
        ("?action=rejected".to_owned(), vec![rejected]),
        (format!("?from={from}&to={to}"), pick(&[1, 2])),
        (format!("?reviewer={r2_id}&action=approved"), pick(&[3])),
        (format!("?submission={second}&action=release"), vec![]),
    ] {
        assert_eq!(audit_rows(&audit(query.clone()).await), expected, "{query}");
    }
    // Keyset paging: the second page starts right after the first.
    let page = audit("?limit=4".to_owned()).await;
    assert_eq!(audit_rows(&page), pick(&[0, 1, 2, 3]));
    let next = page["next"]
        .as_i64()
        .expect("a full page has a next cursor");
    let rest = audit(format!("?limit=4&after={next}")).await;
    assert_eq!(audit_rows(&rest), pick(&[4, 5]));
    assert_eq!(rest["next"], Value::Null);

    for bad in ["?action=deleted", "?limit=0", "?after=x", "?officer=me"] {
        let res = app.get(&format!("{REVIEW_AUDIT}{bad}"), Some(&admin)).await;
        assert_eq!(error_code(res, 400).await.0, "invalid_path", "{bad}");
    }
    let holder = app.token(Role::Holder, Some(HOLDER_NUMBER));
    for token in [r1, holder, app.token(Role::Officer, None)] {
        let res = app.get(REVIEW_AUDIT, Some(&token)).await;
        assert_eq!(error_code(res, 403).await.0, "forbidden");
    }
    let res = app.get(REVIEW_AUDIT, None).await;
    assert_eq!(error_code(res, 401).await.0, "unauthenticated");
}

/// Oldest deadline first, whatever the order of submission, and keyset pages that join up
/// exactly, also where a page ends inside a run of equal deadlines.
async fn the_queue_is_oldest_deadline_first_and_pages_join_up(backend: Backend) {
    let app = spawn_app(backend).await;
    let beijing = |t: &str| {
        chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M")
            .unwrap()
            .and_utc()
            - chrono::Duration::hours(8)
    };
    // Submitted (Beijing time, out of order) and due one working day later.
    let submissions = [
        (
            "11010119900101A001",
            "2026-11-22 12:00",
            "2026-11-23T16:00:00Z",
        ), // Sunday: end of Monday
        (
            "11010119900101A002",
            "2026-11-23 09:00",
            "2026-11-24T01:00:00Z",
        ), // Monday: Tuesday 09:00
        (
            "11010119900101A003",
            "2026-11-20 15:00",
            "2026-11-23T07:00:00Z",
        ), // Friday: Monday 15:00
        (
            "11010119900101A004",
            "2026-11-21 23:00",
            "2026-11-23T16:00:00Z",
        ), // Saturday night
        (
            "11010119900101A005",
            "2026-11-19 15:00",
            "2026-11-20T07:00:00Z",
        ), // Thursday: Friday
        (
            "11010119900101A006",
            "2026-11-21 10:00",
            "2026-11-23T16:00:00Z",
        ), // Saturday morning
    ];
    let mut expected = Vec::new();
    for (number, submitted, due) in submissions {
        app.clock.set(beijing(submitted));
        let res = upload(
            &app,
            APPLY,
            &app.holder(&record(number)),
            "camera",
            images::good_jpeg(),
            "me.jpg",
        )
        .await;
        let application = json_of(res, 202).await;
        assert_eq!(application["deadline"], due, "{number}");
        expected.push((
            due.to_owned(),
            application["id"].as_str().unwrap().to_owned(),
        ));
    }
    expected.sort();
    let reviewer = app.token(Role::Reviewer, None);
    let items = |page: &Value| -> Vec<(String, String)> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                let text = |k: &str| i[k].as_str().unwrap().to_owned();
                (text("deadline"), text("id"))
            })
            .collect()
    };
    let whole = json_of(app.get(QUEUE, Some(&reviewer)).await, 200).await;
    assert_eq!(items(&whole), expected);
    assert_eq!(whole["next"], Value::Null);
    for limit in 1..=6 {
        let mut seen = Vec::new();
        let mut path = format!("{QUEUE}?limit={limit}");
        loop {
            let page = json_of(app.get(&path, Some(&reviewer)).await, 200).await;
            let got = items(&page);
            assert!(got.len() <= limit, "limit {limit}");
            seen.extend(got);
            match page["next"].as_str() {
                Some(next) => path = format!("{QUEUE}?limit={limit}&after={next}"),
                None => break,
            }
        }
        assert_eq!(seen, expected, "pages of {limit}: no duplicates, no gaps");
    }
}

/// The claim holder sends approvals and rejections of one photo at once: one of them is the
/// decision, every other gets 409 `already_decided`, and the effects happen once.
async fn the_claim_holder_racing_decisions_decides_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.token(Role::Admin, None);
    let mixed: Vec<Value> = (0..10)
        .map(|i| {
            if i % 2 == 0 {
                json!({"decision": "approve"})
            } else {
                json!({"decision": "reject", "reason": "poor_lighting"})
            }
        })
        .collect();
    let approvals = vec![json!({"decision": "approve"}); 10];
    for (number, decisions) in [(HOLDER_NUMBER, mixed), ("310104198505052345", approvals)] {
        let holder = app.holder(&record(number));
        let (id, reviewer) = claimed(&app, &holder).await;
        let attempts = decisions.into_iter().map(|d| {
            let (app, path, reviewer) = (&app, decision_path(&id), &reviewer);
            async move { answer(post(app, &path, reviewer, d).await).await }
        });
        let outcomes = futures_util::future::join_all(attempts).await;
        let won: Vec<&Value> = outcomes
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, b)| b)
            .collect();
        assert_eq!(won.len(), 1, "{outcomes:?}");
        for (status, body) in outcomes.iter().filter(|(s, _)| *s != 200) {
            assert_eq!(*status, 409, "{body}");
            assert_eq!(body["error"]["code"], "already_decided", "{body}");
        }
        let state = won[0]["state"].as_str().unwrap();
        let e_licences = json_of(
            app.get(
                &format!("/api/v1/admin/licences/{number}/e-licences"),
                Some(&admin),
            )
            .await,
            200,
        )
        .await;
        let generated = e_licences["items"].as_array().unwrap().len();
        assert_eq!(generated, usize::from(state == "approved"), "{state}");
        let notes = json_of(
            app.get("/api/v1/me/notifications", Some(&holder)).await,
            200,
        )
        .await;
        let decisions: Vec<&str> = notes["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|n| n["kind"].as_str())
            .filter(|k| k.starts_with("photo_"))
            .collect();
        let expected = if state == "approved" {
            "photo_approved"
        } else {
            "photo_rejected"
        };
        assert_eq!(decisions, [expected], "one decision, one notice");
    }
}

/// A holder's uploads arriving at the same moment supersede one after another: all are
/// accepted, exactly one is left pending, and none meets the one-pending index.
async fn concurrent_uploads_by_one_holder_leave_one_pending(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record(HOLDER_NUMBER));
    let attempts = (0..8).map(|i| {
        let (app, holder) = (&app, &holder);
        let (bytes, name) = if i % 2 == 0 {
            (images::good_jpeg(), "me.jpg")
        } else {
            (images::good_png(), "me.png")
        };
        async move { answer(upload(app, APPLY, holder, "album", bytes, name).await).await }
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    for (status, body) in &outcomes {
        assert_eq!(*status, 202, "{body}");
    }
    let reviewer = app.token(Role::Reviewer, None);
    let queue = json_of(app.get(QUEUE, Some(&reviewer)).await, 200).await;
    let pending = queue["items"].as_array().unwrap();
    assert_eq!(pending.len(), 1, "{queue}");
    let application = json_of(
        app.get("/api/v1/me/e-licence/application", Some(&holder))
            .await,
        200,
    )
    .await;
    assert_eq!(
        application["id"], pending[0]["id"],
        "the newest is the one pending"
    );
    // Every other upload was superseded.
    for (_, body) in &outcomes {
        let id = body["id"].as_str().unwrap();
        let res = post(&app, &claim_path(id), &reviewer, json!({})).await;
        if id == pending[0]["id"] {
            assert_eq!(res.status(), 200);
        } else {
            assert_eq!(error_code(res, 409).await.0, "already_decided");
        }
    }
}

/// For a first application the reviewer compares with the photo on file, served as the
/// normalised copy: 330×480, no metadata, never the registry's file as it came.
async fn the_reference_photo_on_file_is_the_normalised_copy(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.token(Role::Admin, None);
    let reviewer = app.token(Role::Reviewer, None);
    let on_file = images::jpeg_with_gps_exif();
    assert!(images::has_app1(&on_file));
    let mut r = record(HOLDER_NUMBER);
    r["photo"] = json!(base64_of(&on_file));
    r["photo_taken"] = json!("2026-05-01");
    // Sent through the registry route, which prepares the photo on file when it arrives …
    let res = app
        .put_json(
            &format!("/api/v1/admin/licences/{HOLDER_NUMBER}"),
            &admin,
            &r,
        )
        .await;
    assert_eq!(res.status(), 201);
    let prepared = app.token(Role::Holder, Some(HOLDER_NUMBER));
    // … and seeded straight into storage, unprepared.
    let mut r = record("310104198505052345");
    r["photo"] = json!(base64_of(&on_file));
    let unprepared = app.holder(&r);
    for holder in [prepared, unprepared] {
        let id = queued(&app, &holder).await;
        let res = app
            .get(
                &format!("/api/v1/review/submissions/{id}/reference-photo"),
                Some(&reviewer),
            )
            .await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/jpeg");
        let served = res.bytes().await.unwrap();
        assert_ne!(served.as_ref(), on_file.as_slice(), "not the file as sent");
        assert!(!images::has_app1(&served), "no EXIF or XMP");
        assert!(!served.windows(4).any(|w| w == b"GPS\0" || w == b"II*\0"));
        let decoded = image::load_from_memory(&served).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (330, 480));
    }
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
    an_oversized_chunked_upload_is_refused_while_it_streams,
    the_review_audit_shows_every_claim_release_and_decision,
    the_queue_is_oldest_deadline_first_and_pages_join_up,
    the_claim_holder_racing_decisions_decides_once,
    concurrent_uploads_by_one_holder_leave_one_pending,
    the_reference_photo_on_file_is_the_normalised_copy,
);
