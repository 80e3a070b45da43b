use crate::helpers::{error_code, spawn_app, Backend};
use serde_json::Value;

async fn actix_own_errors_take_the_json_shape(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.get("/no/such/route", None).await;
    assert_eq!(error_code(res, 404).await.0, "not_found");
    let res = app
        .client
        .delete(app.url("/api/v1/me/licence"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 405).await.0, "method_not_allowed");
    let res = app
        .client
        .delete(app.url("/api/v1/admin/licences/110101199001011234"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_code(res, 405).await.0, "method_not_allowed");
    let res = app.client.post(app.url("/healthz")).send().await.unwrap();
    assert_eq!(error_code(res, 405).await.0, "method_not_allowed");
}

async fn messages_follow_accept_language_and_carry_a_request_id(backend: Backend) {
    let app = spawn_app(backend).await;
    let zh: Value = app
        .get("/api/v1/me/licence", None)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(zh["error"]["message"], "需要登录：请提供 Bearer 令牌");
    let en: Value = app
        .client
        .get(app.url("/api/v1/me/licence"))
        .header("Accept-Language", "en-US")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(en["error"]["code"], "unauthenticated");
    assert_eq!(en["error"]["message"], "a bearer token is required");
    let id = en["error"]["request_id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    // Every response names its request id, successes included.
    let ok = app.get("/healthz", None).await;
    assert_eq!(ok.headers()["x-request-id"].len(), 36);
}

crate::both_backends!(
    actix_own_errors_take_the_json_shape,
    messages_follow_accept_language_and_carry_a_request_id
);
