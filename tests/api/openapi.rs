//! The OpenAPI document: every route in it, and what a client generator and a linter need
//! (unique operation ids, summaries, security, servers), and the answers many operations
//! share documented wherever they apply. `documented_answers.rs` holds the server to it.

use crate::helpers::{spawn_app, Backend, TestApp};
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
    ("get", "/api/v1/status-lists"),
    ("get", "/api/v1/status-lists/{list}"),
    ("get", "/api/v1/counter/licences/{number}"),
    ("post", "/api/v1/counter/licences/{number}/e-licence"),
    ("get", "/api/v1/admin/audit/counter"),
];

/// The operations anyone may call, without a token.
pub const PUBLIC: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/.well-known/jwks.json"),
    ("get", "/api/v1/review/reasons"),
    ("get", "/review"),
    ("get", "/review/app.js"),
    ("get", "/review/app.css"),
    ("get", "/api/v1/status-list"),
    ("get", "/api/v1/status-lists"),
    ("get", "/api/v1/status-lists/{list}"),
];

pub async fn fetch_doc(app: &TestApp) -> Value {
    let res = app.get("/api/v1/openapi.json", None).await;
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

/// Every operation of the document: (method, path, operation).
pub fn operations(doc: &Value) -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            all.push((method.clone(), path.clone(), op.clone()));
        }
    }
    all
}

pub fn operation<'a>(doc: &'a Value, method: &str, path: &str) -> &'a Value {
    let op = &doc["paths"][path][method];
    assert!(op.is_object(), "{method} {path} is not in the document");
    op
}

/// Asserts that `op` documents `status`, an error answer with `code` named in its
/// description and the error envelope as its body.
pub fn assert_documented(op: &Value, status: u16, code: Option<&str>) {
    let id = op["operationId"].as_str().unwrap_or("?");
    let response = &op["responses"][status.to_string()];
    assert!(
        response.is_object(),
        "{id} answers {status}, undocumented: {}",
        op["responses"]
    );
    if let Some(code) = code {
        let description = response["description"].as_str().unwrap();
        assert!(
            description.contains(&format!("`{code}`")),
            "{id}: {status} does not name `{code}`: {description}"
        );
        assert_eq!(
            response["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorEnvelope",
            "{id}: the body of {status}"
        );
    }
}

async fn every_route_is_documented_and_every_documented_route_exists(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = fetch_doc(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let mut documented: Vec<(String, String)> = operations(&doc)
        .into_iter()
        .map(|(method, path, _)| (method, path))
        .collect();
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

/// What client generators and Redocly's recommended rules need of every operation.
async fn every_operation_has_a_unique_id_a_summary_and_its_security(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = fetch_doc(&app).await;
    assert!(
        !doc["servers"].as_array().unwrap().is_empty(),
        "a servers entry"
    );
    let mut ids = Vec::new();
    for (method, path, op) in operations(&doc) {
        let id = op["operationId"].as_str().unwrap().to_owned();
        assert!(
            id.chars().all(|c| c.is_ascii_alphanumeric()) && id.starts_with(char::is_lowercase),
            "{method} {path}: operationId {id} is not camelCase"
        );
        ids.push(id);
        assert!(
            !op["summary"].as_str().unwrap_or_default().is_empty(),
            "{method} {path}: no summary"
        );
        let security = op["security"]
            .as_array()
            .unwrap_or_else(|| panic!("{method} {path}: security undeclared"));
        let public = PUBLIC.contains(&(method.as_str(), path.as_str()));
        assert_eq!(
            security.is_empty(),
            public,
            "{method} {path}: security {security:?}"
        );
        if !public {
            assert_eq!(security, &vec![serde_json::json!({"bearer": []})]);
        }
    }
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "operationIds are unique");
}

/// The shared answers (`routes/openapi/answers.rs`), restated here from the rules, not from
/// that code: an operation that lacks one of them fails.
async fn shared_answers_are_documented_wherever_they_apply(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = fetch_doc(&app).await;
    for (method, path, op) in operations(&doc) {
        let secured = !PUBLIC.contains(&(method.as_str(), path.as_str()));
        let header = |status: u16, name: &str| {
            let headers = &op["responses"][status.to_string()]["headers"];
            assert!(
                headers[name]["schema"].is_object(),
                "{method} {path}: {status} without {name}"
            );
        };
        if secured {
            assert_documented(&op, 401, Some("unauthenticated"));
            assert_documented(&op, 401, Some("invalid_token"));
            header(401, "WWW-Authenticate");
            assert_documented(&op, 403, Some("forbidden"));
        }
        // The database: through the token on secured operations; readyz and the status
        // list say how themselves. Every 503 says when to retry.
        if secured || path == "/api/v1/status-list" {
            assert_documented(&op, 503, Some("storage_unavailable"));
        }
        if path == "/readyz" {
            assert_documented(&op, 503, Some("not_ready"));
        }
        if op["responses"]["503"].is_object() {
            header(503, "Retry-After");
        }
        if op["parameters"].as_array().is_some_and(|p| !p.is_empty()) {
            assert_documented(&op, 400, Some("invalid_path"));
        }
        let body = &op["requestBody"]["content"];
        if body.is_object() {
            assert_documented(&op, 408, Some("request_timeout"));
            assert_documented(&op, 413, Some("payload_too_large"));
            assert_documented(&op, 415, Some("unsupported_media_type"));
            assert_documented(&op, 422, Some("invalid_body"));
        }
        if body["application/json"].is_object() {
            assert_documented(&op, 400, Some("malformed_json"));
        }
        if body["multipart/form-data"].is_object() {
            assert_documented(&op, 415, Some("unsupported_photo_format"));
            assert_documented(&op, 422, Some("photo_too_large"));
            assert_documented(&op, 422, Some("photo_unreadable"));
            assert_documented(&op, 429, Some("rate_limited"));
            header(429, "Retry-After");
            assert_documented(&op, 503, Some("busy"));
        }
        // Every error answer, the shared ones and the handler's own, is the envelope.
        for (status, response) in op["responses"].as_object().unwrap() {
            if status.starts_with('4') || status.starts_with('5') {
                assert_eq!(
                    response["content"]["application/json"]["schema"]["$ref"],
                    "#/components/schemas/ErrorEnvelope",
                    "{method} {path}: {status}"
                );
            }
        }
    }
}

/// Shapes the issue found documented wrong.
async fn shapes_are_documented_as_they_are_sent(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = fetch_doc(&app).await;
    let schemas = &doc["components"]["schemas"];
    // `details` is one of five shapes, not an array of field errors.
    let details = &schemas["ErrorDetails"]["oneOf"];
    let kinds: Vec<&str> = details
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["array", "array", "object", "object", "array"]);
    assert_eq!(
        schemas["ErrorBody"]["properties"]["details"]["$ref"],
        "#/components/schemas/ErrorDetails"
    );
    let codes = schemas["ErrorCode"]["enum"].as_array().unwrap();
    assert!(codes.contains(&Value::from("not_eligible")));
    // A review queue item's pre-checks are a list.
    assert_eq!(
        schemas["QueueItem"]["properties"]["prechecks"]["type"],
        "array"
    );
    // Every page (a list with a `next` cursor) calls its list `items`.
    let mut pages = 0;
    for (name, schema) in schemas.as_object().unwrap() {
        if schema["properties"]["next"].is_object() {
            pages += 1;
            assert!(
                schema["properties"]["items"]["type"] == "array",
                "{name}: {}",
                schema["properties"]
            );
            assert!(schema["properties"]["entries"].is_null(), "{name}");
        }
    }
    assert_eq!(
        pages, 7,
        "the audits, histories, notifications and the queue"
    );
}

crate::both_backends!(
    every_route_is_documented_and_every_documented_route_exists,
    every_operation_has_a_unique_id_a_summary_and_its_security,
    shared_answers_are_documented_wherever_they_apply,
    shapes_are_documented_as_they_are_sent,
);
