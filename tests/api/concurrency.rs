use crate::helpers::{error_code, record, spawn_app, spawn_app_with, Backend, TestDb, NUMBER};
use elicence::config::PoolSettings;
use elicence::domain::role::Role;
use elicence::storage::licences;
use serde_json::json;
use std::time::Duration;

async fn fifty_concurrent_upserts_of_one_licence_leave_one_row(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.token(Role::Admin, None);
    let path = format!("/api/v1/admin/licences/{NUMBER}");
    let requests = (0..50).map(|i| {
        let mut r = record(NUMBER);
        r["points"] = json!(i % 12);
        app.client
            .put(app.url(&path))
            .bearer_auth(&admin)
            .json(&r)
            .send()
    });
    let responses = futures_util::future::join_all(requests).await;
    let mut created = 0;
    for res in responses {
        let res = res.unwrap();
        let status = res.status().as_u16();
        assert!(
            status == 200 || status == 201,
            "status {status}: {}",
            res.text().await.unwrap()
        );
        created += usize::from(status == 201);
    }
    assert_eq!(created, 1, "exactly one request created the licence");
    assert_eq!(
        licences::count(&mut app.test_db.db.get().unwrap()).unwrap(),
        1
    );
}

async fn an_exhausted_pool_answers_503_and_recovers(backend: Backend) {
    let pool = PoolSettings {
        max_size: 1,
        checkout_timeout: Duration::from_millis(300),
        ..PoolSettings::default()
    };
    let app = spawn_app_with(TestDb::with_pool(backend, pool)).await;
    let token = app.holder(&record(NUMBER));
    // Hold the only connection of the server's pool.
    let held = app.state.db.get().unwrap();
    let res = app.get("/api/v1/me/eligibility", Some(&token)).await;
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(error_code(res, 503).await.0, "storage_unavailable");
    let res = app.get("/readyz", None).await;
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_ready");
    assert_eq!(
        body["error"]["details"],
        json!([{"component": "storage", "cause": "pool_exhausted"}])
    );
    drop(held);
    assert_eq!(
        app.get("/api/v1/me/eligibility", Some(&token))
            .await
            .status(),
        200
    );
    assert_eq!(app.get("/readyz", None).await.status(), 200);
}

crate::both_backends!(
    fifty_concurrent_upserts_of_one_licence_leave_one_row,
    an_exhausted_pool_answers_503_and_recovers
);
