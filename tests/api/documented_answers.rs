//! The server answers as its OpenAPI document says, for the answers the issue found
//! undocumented or wrong: 401 without a token, refused bodies, parameters off their bounds
//! and patterns, 410 after a licence change, `HEAD`, and 405 with `Allow`. Each answer is
//! checked against the document the server serves (`openapi::assert_documented`).

use crate::helpers::{
    clerk_token, issued, record, record_with_photo, spawn_app, Backend, TestApp, NUMBER,
    OTHER_NUMBER,
};
use crate::openapi::{assert_documented, fetch_doc, operation, operations, PUBLIC};
use elicence::domain::role::Role;
use reqwest::header::{ALLOW, CONTENT_LENGTH, CONTENT_TYPE, WWW_AUTHENTICATE};
use reqwest::{Method, Response};
use serde_json::{json, Value};

/// One token for each role, over a licence with an e-licence (`NUMBER`, the holder's) and an
/// eligible one without (`OTHER_NUMBER`).
struct Callers {
    holder: String,
    applicant: String,
    admin: String,
    reviewer: String,
    officer: String,
    clerk: String,
}

async fn callers(app: &TestApp) -> Callers {
    let (holder, _, _) = issued(app).await;
    Callers {
        holder,
        applicant: app.holder(&record_with_photo(OTHER_NUMBER)),
        admin: app.token(Role::Admin, None),
        reviewer: app.token(Role::Reviewer, None),
        officer: app.token(Role::Officer, None),
        clerk: clerk_token(app, "北京市公安局公安交通管理局").1,
    }
}

impl Callers {
    /// The token of the role the operation is for (its tag).
    fn for_op(&self, op: &Value) -> Option<&str> {
        match op["tags"][0].as_str().unwrap() {
            "holder" => Some(&self.holder),
            "admin" => Some(&self.admin),
            "reviewer" => Some(&self.reviewer),
            "officer" => Some(&self.officer),
            "clerk" => Some(&self.clerk),
            _ => None,
        }
    }
}

/// A concrete path: `{number}` is `number`, `{id}` an id that names nothing.
fn concrete(path: &str, number: &str) -> String {
    path.replace("{number}", number).replace("{id}", "x_0")
}

async fn send(
    app: &TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Response {
    let mut req = app
        .client
        .request(method.to_uppercase().parse().unwrap(), app.url(path));
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    if let Some((content_type, bytes)) = body {
        req = req.header(CONTENT_TYPE, content_type).body(bytes);
    }
    req.send().await.unwrap()
}

/// Asserts the answer is `status` with the error `code`, and that the document says so.
async fn assert_answer(op: &Value, res: Response, status: u16, code: &str) -> Value {
    let what = format!("{} {}", op["operationId"], res.url().path());
    assert_eq!(res.status().as_u16(), status, "{what}");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], code, "{what}: {body}");
    assert_documented(op, status, Some(code));
    body
}

async fn every_secured_operation_answers_401_as_documented(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = fetch_doc(&app).await;
    for (method, path, op) in operations(&doc) {
        if PUBLIC.contains(&(method.as_str(), path.as_str())) {
            continue;
        }
        let target = concrete(&path, NUMBER);
        let res = send(&app, &method, &target, None, None).await;
        let challenge = res.headers()[WWW_AUTHENTICATE].to_str().unwrap().to_owned();
        assert!(challenge.starts_with("Bearer"), "{method} {path}");
        assert_answer(&op, res, 401, "unauthenticated").await;
        // With a body, whether a wrong token or a missing body is answered first is the
        // handler's order; both answers are documented.
        if op["requestBody"].is_null() {
            let res = send(&app, &method, &target, Some("elc_unknown"), None).await;
            assert_answer(&op, res, 401, "invalid_token").await;
        }
    }
}

/// Every operation with a body refuses a malformed, a mistyped and a misshapen one as it
/// documents, with a token of its role and a path that names something.
async fn refused_bodies_get_their_documented_answers(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = callers(&app).await;
    let doc = fetch_doc(&app).await;
    let mut seen = 0;
    for (method, path, op) in operations(&doc) {
        let content = &op["requestBody"]["content"];
        if !content.is_object() {
            continue;
        }
        seen += 1;
        // The photo change needs an e-licence, a first application and the counter none.
        let (number, token) = match op["operationId"].as_str().unwrap() {
            "applyForELicence" => (NUMBER, who.applicant.as_str()),
            "issueAtCounter" => (OTHER_NUMBER, who.clerk.as_str()),
            _ => (NUMBER, who.for_op(&op).unwrap()),
        };
        let target = concrete(&path, number);
        let call = |body: (&'static str, &'static [u8])| {
            send(
                &app,
                &method,
                &target,
                Some(token),
                Some((body.0, body.1.to_vec())),
            )
        };
        let res = call(("text/plain", b"{}")).await;
        assert_answer(&op, res, 415, "unsupported_media_type").await;
        if content["application/json"].is_object() {
            let res = call(("application/json", b"{")).await;
            assert_answer(&op, res, 400, "malformed_json").await;
            let res = call(("application/json", b"[]")).await;
            let code = if path.ends_with("/events") {
                "invalid_event"
            } else {
                "invalid_body"
            };
            assert_answer(&op, res, 422, code).await;
        }
        if content["multipart/form-data"].is_object() {
            let empty =
                "--b\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\ncamera\r\n--b--\r\n";
            let res = call(("multipart/form-data; boundary=b", empty.as_bytes())).await;
            assert_answer(&op, res, 422, "invalid_body").await;
        }
    }
    assert_eq!(seen, 7, "every operation with a body");
}

/// Paging limits and licence numbers off their documented bounds and pattern are 400, as
/// documented; the bounds themselves are taken.
async fn parameters_off_their_documented_bounds_are_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = callers(&app).await;
    let doc = fetch_doc(&app).await;
    let mut limits = 0;
    for (method, path, op) in operations(&doc) {
        let token = who.for_op(&op);
        let params = op["parameters"].as_array().cloned().unwrap_or_default();
        for param in &params {
            let schema = &param["schema"];
            match param["name"].as_str().unwrap() {
                "limit" => {
                    limits += 1;
                    let (min, max) = (schema["minimum"].as_i64(), schema["maximum"].as_i64());
                    let (min, max) = (min.unwrap(), max.unwrap_or_else(|| panic!("{path}")));
                    let base = concrete(&path, NUMBER);
                    for refused in [min - 1, max + 1, i64::MIN] {
                        let target = format!("{base}?limit={refused}");
                        let res = send(&app, &method, &target, token, None).await;
                        assert_answer(&op, res, 400, "invalid_path").await;
                    }
                    for taken in [min, max] {
                        let target = format!("{base}?limit={taken}");
                        let res = send(&app, &method, &target, token, None).await;
                        assert_eq!(res.status(), 200, "{target}");
                    }
                }
                "number" => {
                    assert_eq!(schema["pattern"], "^[0-9A-Za-z]{6,25}$", "{path}");
                    let too_long = "1".repeat(26);
                    for refused in ["12345", "%20110101199001011234", "1101-0119", &too_long] {
                        let target = concrete(&path, refused);
                        // A body that passes, so that the number is what is refused.
                        let body = match op["operationId"].as_str().unwrap() {
                            "putRegistryLicence" => Some(record(NUMBER)),
                            "postLicenceEvent" => {
                                Some(json!({"type": "status_set", "status": "suspended"}))
                            }
                            "issueAtCounter" => Some(json!({"photo": "on_file"})),
                            _ => None,
                        }
                        .map(|b| ("application/json", b.to_string().into_bytes()));
                        let res = send(&app, &method, &target, token, body).await;
                        assert_answer(&op, res, 400, "invalid_path").await;
                    }
                }
                _ => {}
            }
        }
    }
    assert_eq!(limits, 7, "every paged operation");
    let queue = operation(&doc, "get", "/api/v1/review/queue");
    let target = "/api/v1/review/queue?after=not-a-cursor";
    let res = send(&app, "get", target, Some(&who.reviewer), None).await;
    assert_answer(queue, res, 400, "invalid_path").await;
}

/// After a licence change every holder operation on the e-licence answers 410 with why, as
/// each documents (the issue found it missing on qr.svg, barcode.png and barcode.svg).
async fn a_superseded_e_licence_answers_410_wherever_documented(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = callers(&app).await;
    let doc = fetch_doc(&app).await;
    let event = json!({"type": "classes_changed", "classes": ["B2"]});
    let res = app
        .post_json(
            &format!("/api/v1/admin/licences/{NUMBER}/events"),
            &who.admin,
            &event,
        )
        .await;
    assert_eq!(res.status(), 200);
    let mut seen = 0;
    for (method, path, op) in operations(&doc) {
        let reads_e_licence = path.starts_with("/api/v1/me/e-licence")
            && method == "get"
            && !path.ends_with("/application");
        if !reads_e_licence {
            continue;
        }
        seen += 1;
        let res = send(&app, &method, &path, Some(&who.holder), None).await;
        let body = assert_answer(&op, res, 410, "e_licence_superseded").await;
        assert_eq!(
            body["error"]["details"],
            json!({"reason": "class_changed", "apply_again": true})
        );
    }
    assert_eq!(seen, 9);
}

/// `HEAD` on every `GET` route answers as `GET` does, without the body.
async fn head_answers_like_get_without_a_body(backend: Backend) {
    let app = spawn_app(backend).await;
    let who = callers(&app).await;
    let doc = fetch_doc(&app).await;
    for (method, path, op) in operations(&doc) {
        if method != "get" {
            continue;
        }
        // Bodies of the same length each time: no token (401 or the public answer), and
        // the holder's licence document.
        let mut cases = vec![None];
        if path == "/api/v1/me/licence" {
            cases.push(who.for_op(&op));
        }
        for token in cases {
            let target = concrete(&path, NUMBER);
            let get = send(&app, "get", &target, token, None).await;
            let head = send(&app, "head", &target, token, None).await;
            assert_eq!(head.status(), get.status(), "HEAD {path}");
            for name in [CONTENT_TYPE, CONTENT_LENGTH] {
                assert_eq!(
                    head.headers().get(&name),
                    get.headers().get(&name),
                    "HEAD {path}: {name}"
                );
            }
            assert!(get.headers().contains_key(CONTENT_LENGTH), "GET {path}");
            assert!(
                head.bytes().await.unwrap().is_empty(),
                "HEAD {path}: a body"
            );
            assert!(!get.bytes().await.unwrap().is_empty(), "GET {path}");
        }
    }
}

/// A method a route does not take is a 405 whose `Allow` lists exactly the documented ones.
async fn other_methods_are_405_with_allow(backend: Backend) {
    let app = spawn_app(backend).await;
    let doc = fetch_doc(&app).await;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let mut allowed: Vec<String> = item
            .as_object()
            .unwrap()
            .keys()
            .map(|m| m.to_uppercase())
            .collect();
        if allowed.contains(&"GET".to_owned()) {
            allowed.push("HEAD".to_owned());
        }
        allowed.sort();
        let target = concrete(path, NUMBER);
        for method in ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] {
            if allowed.iter().any(|m| m == method) {
                continue;
            }
            let res = app
                .client
                .request(
                    Method::from_bytes(method.as_bytes()).unwrap(),
                    app.url(&target),
                )
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 405, "{method} {path}");
            let mut allow: Vec<String> = res.headers()[ALLOW]
                .to_str()
                .unwrap()
                .split(',')
                .map(|m| m.trim().to_owned())
                .collect();
            allow.sort();
            assert_eq!(allow, allowed, "{method} {path}: Allow");
            let body: Value = res.json().await.unwrap();
            assert_eq!(body["error"]["code"], "method_not_allowed");
        }
    }
}

crate::both_backends!(
    every_secured_operation_answers_401_as_documented,
    refused_bodies_get_their_documented_answers,
    parameters_off_their_documented_bounds_are_refused,
    a_superseded_e_licence_answers_410_wherever_documented,
    head_answers_like_get_without_a_body,
    other_methods_are_405_with_allow,
);
