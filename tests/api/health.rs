use crate::helpers::{spawn_app, Backend};
use serde_json::Value;

async fn liveness_and_readiness(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.get("/healthz", None).await;
    assert_eq!(res.status(), 200);
    assert!(res.headers().contains_key("x-content-type-options"));
    let res = app.get("/readyz", None).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ready");
    let expected = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgresql",
    };
    assert_eq!(body["database"], expected);
}

/// While the keys folder cannot be loaded (here: made writable by others) the service keeps
/// signing with the ring in use but is not ready; put right, it is ready again.
async fn not_ready_while_the_keys_on_disk_cannot_be_loaded(backend: Backend) {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app(backend).await;
    assert_eq!(app.get("/readyz", None).await.status(), 200);
    let chmod = |mode| {
        std::fs::set_permissions(&app.keys_dir, std::fs::Permissions::from_mode(mode)).unwrap()
    };
    chmod(0o777);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let body = loop {
        let res = app.get("/readyz", None).await;
        if res.status() == 503 {
            break res.json::<Value>().await.unwrap();
        }
        assert!(std::time::Instant::now() < deadline, "still ready");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(body["error"]["code"], "not_ready");
    assert_eq!(
        body["error"]["details"],
        serde_json::json!([{"component": "keys", "cause": "writable_by_others"}])
    );
    assert_eq!(app.get("/.well-known/jwks.json", None).await.status(), 200);
    chmod(0o700);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while app.get("/readyz", None).await.status() != 200 {
        assert!(std::time::Instant::now() < deadline, "never ready again");
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

crate::both_backends!(
    liveness_and_readiness,
    not_ready_while_the_keys_on_disk_cannot_be_loaded
);
