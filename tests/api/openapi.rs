use crate::helpers::{spawn_app, Backend};
use serde_json::Value;

/// The routes the service exposes. A route added to the app but missing from the document
/// (or the other way round) fails here.
const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/me/licence"),
    ("get", "/api/v1/me/eligibility"),
    ("put", "/api/v1/admin/licences/{number}"),
    ("get", "/api/v1/admin/licences/{number}"),
    ("post", "/api/v1/admin/licences/{number}/events"),
    ("get", "/api/v1/admin/licences/{number}/events"),
    ("get", "/api/v1/admin/licences/{number}/e-licences"),
    ("get", "/api/v1/admin/audit/verifications"),
    ("get", "/api/v1/admin/audit/reviews"),
    ("get", "/.well-known/jwks.json"),
    ("post", "/api/v1/me/e-licence"),
    ("get", "/api/v1/me/e-licence"),
    ("get", "/api/v1/me/e-licence/code"),
    ("get", "/api/v1/me/e-licence/photo"),
    ("get", "/api/v1/me/e-licence/qr.png"),
    ("get", "/api/v1/me/e-licence/qr.svg"),
    ("get", "/api/v1/me/e-licence/barcode.png"),
    ("get", "/api/v1/me/e-licence/barcode.svg"),
    ("get", "/api/v1/me/e-licence/card.png"),
    ("get", "/api/v1/me/e-licence/card-secondary.png"),
    ("post", "/api/v1/verify"),
    ("get", "/api/v1/e-licences/{id}/photo"),
    ("post", "/api/v1/me/e-licence/photo"),
    ("get", "/api/v1/me/e-licence/application"),
    ("get", "/api/v1/me/notifications"),
    ("get", "/api/v1/review/queue"),
    ("post", "/api/v1/review/submissions/{id}/claim"),
    ("post", "/api/v1/review/submissions/{id}/release"),
    ("post", "/api/v1/review/submissions/{id}/decision"),
    ("get", "/api/v1/review/submissions/{id}/photo"),
    ("get", "/api/v1/review/submissions/{id}/reference-photo"),
    ("get", "/api/v1/review/stats"),
    ("get", "/api/v1/review/reasons"),
    ("get", "/review"),
    ("get", "/review/app.js"),
    ("get", "/review/app.css"),
    ("get", "/api/v1/status-list"),
    ("get", "/api/v1/counter/licences/{number}"),
    ("post", "/api/v1/counter/licences/{number}/e-licence"),
    ("get", "/api/v1/admin/audit/counter"),
];

async fn every_route_is_documented_and_every_documented_route_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc: Value = app
        .get("/api/v1/openapi.json", None)
        .await
        .json()
        .await
        .unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push((method.clone(), path.clone()));
        }
    }
    documented.sort();
    let mut expected: Vec<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    expected.sort();
    assert_eq!(documented, expected);

    // Every documented route is served (no route-level 404/405).
    for (method, path) in &documented {
        let concrete = path
            .replace("{number}", "110101199001011234")
            .replace("{id}", "el_0");
        let req = app
            .client
            .request(method.to_uppercase().parse().unwrap(), app.url(&concrete));
        let res = req.send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or(Value::Null);
        assert_ne!(body["error"]["code"], "not_found", "{method} {path}");
        assert_ne!(status, 405, "{method} {path}");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

crate::both_backends!(every_route_is_documented_and_every_documented_route_exists);
