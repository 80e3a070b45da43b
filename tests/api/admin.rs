use crate::helpers::{error_code, record, spawn_app, Backend, NUMBER};
use base64::Engine;
use elicence::domain::role::Role;
use serde_json::{json, Value};

fn path() -> String {
    format!("/api/v1/admin/licences/{NUMBER}")
}

async fn put_creates_then_replaces_and_get_returns_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.token(Role::Admin, None);
    let res = app.put_json(&path(), &admin, &record(NUMBER)).await;
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    assert_eq!(created["record"], record(NUMBER));
    assert_eq!(created["eligibility"]["eligible"], true);

    let mut changed = record(NUMBER);
    changed["statuses"] = json!(["suspended"]);
    changed["classes"] = json!(["B2"]);
    let png = base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\n....");
    changed["photo"] = json!(png);
    changed["photo_taken"] = json!("2026-05-01");
    let res = app.put_json(&path(), &admin, &changed).await;
    assert_eq!(res.status(), 200);

    let res = app.get(&path(), Some(&admin)).await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    assert_eq!(got["record"], changed);
    assert_eq!(got["eligibility"]["eligible"], false);
    assert_eq!(got["eligibility"]["reasons"][0]["code"], "suspended");
    assert_eq!(got["synced_at"], "2026-11-22T04:00:00Z");

    // The holder sees the change at once, including the photo on file.
    let holder = app.token(Role::Holder, Some(NUMBER));
    let doc: Value = app
        .get("/api/v1/me/licence", Some(&holder))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(doc["front_page"]["classes"], json!(["B2"]));
    assert_eq!(doc["front_page"]["has_photo_on_file"], true);
}

async fn get_unknown_licence_is_404(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.token(Role::Admin, None);
    let res = app.get(&path(), Some(&admin)).await;
    assert_eq!(error_code(res, 404).await.0, "licence_not_found");
    let res = app
        .get("/api/v1/admin/licences/not-a-number!", Some(&admin))
        .await;
    assert_eq!(error_code(res, 400).await.0, "invalid_path");
}

async fn invalid_records_are_refused_with_every_field_error(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.token(Role::Admin, None);
    let mut bad = record(NUMBER);
    bad["sex"] = json!("X");
    bad["classes"] = json!(["C1", "Q7"]);
    bad["valid_until"] = json!("2010-01-01");
    let res = app.put_json(&path(), &admin, &bad).await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "invalid_record");
    let fields: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["sex", "classes", "valid_until"]);

    // The body's number must be the path's.
    let res = app
        .put_json(
            "/api/v1/admin/licences/310104198505052345",
            &admin,
            &record(NUMBER),
        )
        .await;
    assert_eq!(error_code(res, 422).await.0, "invalid_record");

    // Nothing was written by any of these.
    let res = app.get(&path(), Some(&admin)).await;
    assert_eq!(res.status(), 404);
}

async fn malformed_bodies_get_clear_errors(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.token(Role::Admin, None);
    let put_raw = |body: Vec<u8>, content_type: &'static str| {
        app.client
            .put(app.url(&path()))
            .bearer_auth(&admin)
            .header("Content-Type", content_type)
            .body(body)
            .send()
    };
    let res = put_raw(b"{\"number\": ".to_vec(), "application/json")
        .await
        .unwrap();
    assert_eq!(error_code(res, 400).await.0, "malformed_json");
    let res = put_raw(b"\xff\xfe not utf8".to_vec(), "application/json")
        .await
        .unwrap();
    assert_eq!(error_code(res, 400).await.0, "malformed_json");

    let mut unknown = record(NUMBER);
    unknown["nickname"] = json!("小张");
    let res = put_raw(serde_json::to_vec(&unknown).unwrap(), "application/json")
        .await
        .unwrap();
    let (code, message) = error_code(res, 422).await;
    assert_eq!(code, "invalid_body");
    assert!(message.contains("nickname"), "{message}");

    let mut wrong_type = record(NUMBER);
    wrong_type["points"] = json!("twelve");
    let res = put_raw(serde_json::to_vec(&wrong_type).unwrap(), "application/json")
        .await
        .unwrap();
    assert_eq!(error_code(res, 422).await.0, "invalid_body");

    let mut missing = record(NUMBER);
    missing.as_object_mut().unwrap().remove("name");
    let res = put_raw(serde_json::to_vec(&missing).unwrap(), "application/json")
        .await
        .unwrap();
    assert_eq!(error_code(res, 422).await.0, "invalid_body");

    let res = put_raw(serde_json::to_vec(&record(NUMBER)).unwrap(), "text/plain")
        .await
        .unwrap();
    assert_eq!(error_code(res, 415).await.0, "unsupported_media_type");

    // 5 MiB of JSON: over the record limit.
    let mut huge = record(NUMBER);
    huge["address"] = json!("路".repeat(5 * 1024 * 1024 / 3));
    let res = put_raw(serde_json::to_vec(&huge).unwrap(), "application/json")
        .await
        .unwrap();
    assert_eq!(error_code(res, 413).await.0, "payload_too_large");

    // A photo within the body limit but over the photo limit is a field error.
    let mut big_photo = record(NUMBER);
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.resize(2 * 1024 * 1024 + 100, 0);
    big_photo["photo"] = json!(base64::engine::general_purpose::STANDARD.encode(&bytes));
    let res = put_raw(serde_json::to_vec(&big_photo).unwrap(), "application/json")
        .await
        .unwrap();
    assert_eq!(error_code(res, 422).await.0, "invalid_record");

    // And the server is still serving, with nothing written.
    let res = app.get(&path(), Some(&admin)).await;
    assert_eq!(error_code(res, 404).await.0, "licence_not_found");
}

crate::both_backends!(
    put_creates_then_replaces_and_get_returns_it,
    get_unknown_licence_is_404,
    invalid_records_are_refused_with_every_field_error,
    malformed_bodies_get_clear_errors,
);
