use crate::helpers::{error_code, record, spawn_app, Backend, NUMBER, OTHER_NUMBER};
use serde_json::{json, Value};

async fn licence_document_has_both_pages_status_and_sync_time(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.holder(&record(NUMBER));
    let res = app.get("/api/v1/me/licence", Some(&token)).await;
    assert_eq!(res.status(), 200);
    let doc: Value = res.json().await.unwrap();
    let front = &doc["front_page"];
    assert_eq!(front["licence_number"], NUMBER);
    assert_eq!(front["name"], "张伟");
    assert_eq!(front["sex_name"], "男");
    assert_eq!(front["classes"], json!(["C1", "D"]));
    assert_eq!(front["valid_until"], "2028-03-05");
    assert_eq!(front["validity"], "2018-03-05 至 2028-03-05");
    assert_eq!(front["has_photo_on_file"], false);
    let second = &doc["secondary_page"];
    assert_eq!(second["address"], "北京市东城区东四十条12号");
    assert_eq!(second["issuing_authority"], "北京市公安局公安交通管理局");
    assert_eq!(
        second["points"],
        json!({"points": 0, "limit": 12, "cycle_start": "2026-03-05", "cycle_end": "2027-03-04"})
    );
    assert_eq!(
        second["class_explanations"][0],
        json!({"code": "C1", "name": "小型汽车", "also_covers": ["C2", "C3", "C4"]})
    );
    assert_eq!(
        second["class_explanations"][1]["also_covers"],
        json!(["E", "F"])
    );
    assert_eq!(doc["status"]["eligible"], true);
    assert_eq!(doc["status"]["checked_on"], "2026-11-22");
    assert_eq!(doc["synced_at"], "2026-11-22T04:00:00Z");
}

async fn long_term_licence_in_english(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut r = record(NUMBER);
    r["valid_until"] = Value::Null;
    let token = app.holder(&r);
    let res = app
        .client
        .get(app.url("/api/v1/me/licence"))
        .bearer_auth(&token)
        .header("Accept-Language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap();
    let doc: Value = res.json().await.unwrap();
    assert_eq!(doc["front_page"]["valid_until"], Value::Null);
    assert_eq!(doc["front_page"]["validity"], "2018-03-05 to long-term");
    assert_eq!(
        doc["secondary_page"]["class_explanations"][0]["name"],
        "Small car"
    );
}

async fn eligibility_reports_every_reason(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut r = record(NUMBER);
    r["statuses"] = json!(["suspended", "locked"]);
    r["points"] = json!(12);
    r["review_due"] = json!("2026-11-21");
    let token = app.holder(&r);
    let res = app
        .client
        .get(app.url("/api/v1/me/eligibility"))
        .bearer_auth(&token)
        .header("Accept-Language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["eligible"], false);
    let codes: Vec<&str> = body["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        ["suspended", "overdue_review", "locked", "points_limit"]
    );
    assert_eq!(body["reasons"][0]["message"], "the licence is suspended");
    assert_eq!(body["checked_on"], "2026-11-22");
    assert!(body["synced_at"].is_string());
}

async fn eligibility_follows_the_injected_clock(backend: Backend) {
    let app = spawn_app(backend).await;
    let token = app.holder(&record(NUMBER));
    let check = |app: &crate::helpers::TestApp| {
        let req = app
            .client
            .get(app.url("/api/v1/me/eligibility"))
            .bearer_auth(&token);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    // Valid through its last day, Beijing time.
    app.clock.set("2028-03-05T15:59:59Z".parse().unwrap());
    assert_eq!(check(&app).await["eligible"], true);
    app.clock.set("2028-03-05T16:00:00Z".parse().unwrap());
    let body = check(&app).await;
    assert_eq!(body["eligible"], false);
    assert_eq!(body["reasons"][0]["code"], "expired");
    assert_eq!(
        body["reasons"][0]["message"],
        "驾驶证已超过有效期（有效期至2028-03-05）"
    );
}

async fn a_holder_sees_only_their_own_licence(backend: Backend) {
    let app = spawn_app(backend).await;
    let mine = app.holder(&record(NUMBER));
    let mut other = record(OTHER_NUMBER);
    other["name"] = json!("李娜");
    app.seed(&other);
    // No route takes a holder-supplied number; query strings and path tricks change nothing.
    for path in [
        format!("/api/v1/me/licence?number={OTHER_NUMBER}"),
        format!("/api/v1/me/licence/{OTHER_NUMBER}"),
        format!("/api/v1/me/../admin/licences/{OTHER_NUMBER}"),
    ] {
        let res = app.get(&path, Some(&mine)).await;
        let status = res.status().as_u16();
        let text = res.text().await.unwrap();
        assert!(
            !text.contains("李娜") && !text.contains(OTHER_NUMBER),
            "{path} leaked: {text}"
        );
        assert!(matches!(status, 200 | 403 | 404), "{path}: {status}");
    }
    let admin_route = app
        .get(
            &format!("/api/v1/admin/licences/{OTHER_NUMBER}"),
            Some(&mine),
        )
        .await;
    assert_eq!(error_code(admin_route, 403).await.0, "forbidden");
}

crate::both_backends!(
    licence_document_has_both_pages_status_and_sync_time,
    long_term_licence_in_english,
    eligibility_reports_every_reason,
    eligibility_follows_the_injected_clock,
    a_holder_sees_only_their_own_licence,
);
