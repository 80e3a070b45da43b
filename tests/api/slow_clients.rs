//! Slow clients (issue 11, point 1), over raw connections: a body that trickles is cut off
//! at its deadline with 408 and a closed connection; a body on an authenticated route with a
//! missing or unknown token is refused 401 while the body is still unsent, and the connection
//! closed; a known token still gets its body read, and the handler still decides.

use crate::helpers::{
    record, spawn_app_with_settings, test_now, Backend, TestDb, NUMBER, OTHER_NUMBER,
};
use crate::raw_http::{chunked_request, SlowBody, SlowOutcome};
use elicence::domain::role::Role;
use elicence::storage::tokens;
use std::time::Duration;

const JSON_DEADLINE: Duration = Duration::from_secs(1);
const PHOTO_DEADLINE: Duration = Duration::from_secs(2);
/// What the deadline may be late by: the server's linger after an early answer (actix's
/// client_disconnect_timeout, 1 s) and a loaded test machine.
const MARGIN: Duration = Duration::from_secs(3);

fn short_deadlines(settings: &mut elicence::config::Settings) {
    settings.limits.json_body_deadline = JSON_DEADLINE;
    settings.limits.photo_body_deadline = PHOTO_DEADLINE;
}

async fn send(address: &str, request: SlowBody) -> SlowOutcome {
    let address = address.to_owned();
    actix_web::rt::task::spawn_blocking(move || request.send(&address))
        .await
        .unwrap()
}

fn bearer(token: &str) -> String {
    format!("Authorization: Bearer {token}")
}

const BOUNDARY: &str = "elicence-slow";

/// The start of a multipart upload whose photo never ends.
fn multipart_start() -> Vec<u8> {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"source\"\r\n\r\ncamera\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"me.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n"
    )
    .into_bytes()
}

fn multipart_type() -> String {
    format!("Content-Type: multipart/form-data; boundary={BOUNDARY}")
}

/// The answer is `status` and `code` with `Connection: close`, it came no sooner than
/// `not_before`, and the server closed the connection within `closed_within` (both from the
/// request head).
fn assert_answered_and_closed(
    outcome: &SlowOutcome,
    (status, code): (u16, &str),
    not_before: Duration,
    closed_within: Duration,
    what: &str,
) {
    assert_eq!(
        outcome.answer.status, status,
        "{what}: {:?}",
        outcome.answer
    );
    assert_eq!(outcome.answer.code(), code, "{what}");
    assert_eq!(
        outcome.answer.header("connection").as_deref(),
        Some("close"),
        "{what}"
    );
    assert!(
        outcome.answered_after >= not_before,
        "{what}: answered after {:?}, sooner than {not_before:?}",
        outcome.answered_after
    );
    let closed = outcome
        .closed_after
        .unwrap_or_else(|| panic!("{what}: the server did not close the connection"));
    assert!(
        closed <= closed_within,
        "{what}: closed after {closed:?}, not within {closed_within:?}"
    );
}

/// 408 at the deadline (not before), the connection closed soon after.
fn assert_cut_off(outcome: &SlowOutcome, deadline: Duration, what: &str) {
    let timeout = (408, "request_timeout");
    assert_answered_and_closed(outcome, timeout, deadline, deadline + MARGIN, what);
}

async fn a_trickling_json_body_gets_408_and_is_closed_at_its_deadline(backend: Backend) {
    let app = spawn_app_with_settings(TestDb::new(backend), short_deadlines).await;
    let officer = app.token(Role::Officer, None);
    let outcome = send(
        &app.address,
        SlowBody {
            method: "POST",
            path: "/api/v1/verify".into(),
            head_lines: vec![bearer(&officer), "Content-Type: application/json".into()],
            declared: Some(4096),
            first: br#"{"barcode":""#.to_vec(),
            trickle: Some(Duration::from_millis(50)),
        },
    )
    .await;
    assert_cut_off(&outcome, JSON_DEADLINE, "trickling JSON");
    // The server is still there for everyone else.
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

/// An upload gets the photo deadline, not the JSON one; a body that stops (rather than
/// trickles) is cut off as well.
async fn a_stalled_photo_upload_gets_408_at_the_photo_deadline(backend: Backend) {
    let app = spawn_app_with_settings(TestDb::new(backend), short_deadlines).await;
    let holder = app.holder(&record(NUMBER));
    let upload = |declared, trickle| SlowBody {
        method: "POST",
        path: "/api/v1/me/e-licence".into(),
        head_lines: vec![bearer(&holder), multipart_type()],
        declared,
        first: multipart_start(),
        trickle,
    };
    let outcome = send(&app.address, upload(Some(1_000_000), None)).await;
    assert_cut_off(&outcome, PHOTO_DEADLINE, "stalled upload");
    // Chunked, with no length to go by: the same.
    let trickle = Some(Duration::from_millis(100));
    let outcome = send(&app.address, upload(None, trickle)).await;
    assert_cut_off(&outcome, PHOTO_DEADLINE, "trickling chunked upload");
}

/// Every route that takes a body, with the content type it takes.
fn body_routes() -> Vec<(&'static str, String, String)> {
    let json = "Content-Type: application/json".to_owned();
    vec![
        ("POST", "/api/v1/verify".into(), json.clone()),
        ("POST", "/api/v1/me/e-licence".into(), json.clone()),
        ("POST", "/api/v1/me/e-licence".into(), multipart_type()),
        (
            "POST",
            "/api/v1/me/e-licence/photo".into(),
            multipart_type(),
        ),
        (
            "POST",
            "/api/v1/review/submissions/sub_x/decision".into(),
            json.clone(),
        ),
        (
            "PUT",
            format!("/api/v1/admin/licences/{NUMBER}"),
            json.clone(),
        ),
        (
            "POST",
            format!("/api/v1/admin/licences/{NUMBER}/events"),
            json.clone(),
        ),
        (
            "POST",
            format!("/api/v1/counter/licences/{NUMBER}/e-licence"),
            json,
        ),
        (
            "POST",
            format!("/api/v1/counter/licences/{NUMBER}/e-licence"),
            multipart_type(),
        ),
    ]
}

/// The deadlines are long here: what answers and closes is the token gate, at once.
async fn a_bad_token_on_a_slow_body_is_refused_before_the_body_ends(backend: Backend) {
    let app = spawn_app_with_settings(TestDb::new(backend), |s| {
        s.limits.json_body_deadline = Duration::from_secs(60);
        s.limits.photo_body_deadline = Duration::from_secs(60);
    })
    .await;
    let unknown = "elc_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let refusals = [
        (None, "unauthenticated"),
        (Some(bearer("x")), "invalid_token"),
        (
            Some("Authorization: Basic dXNlcjpwdw==".to_owned()),
            "invalid_token",
        ),
        (Some(bearer(unknown)), "invalid_token"),
    ];
    // All at once: each connection is held until the server closes it.
    let mut sent = Vec::new();
    for (method, path, content_type) in body_routes() {
        for (auth, code) in &refusals {
            for declared in [Some(10_000), None] {
                let mut head_lines = vec![content_type.clone()];
                head_lines.extend(auth.clone());
                let request = SlowBody {
                    method,
                    path: path.clone(),
                    head_lines,
                    declared,
                    first: b"{\"".to_vec(),
                    trickle: None,
                };
                let address = app.address.clone();
                sent.push((
                    format!("{method} {path} {content_type} {auth:?} {declared:?}"),
                    *code,
                    actix_web::rt::task::spawn_blocking(move || request.send(&address)),
                ));
            }
        }
    }
    for (what, code, outcome) in sent {
        let outcome = outcome.await.unwrap();
        // At once: well before any deadline.
        let at_once = Duration::from_secs(5);
        assert_answered_and_closed(&outcome, (401, code), Duration::ZERO, at_once, &what);
    }
}

/// The gate lets known tokens through (a chunked body as well), whatever their role, and
/// the handler stays the authority: a holder on /verify is forbidden, and a token revoked
/// while the gate still remembers it is refused by the handler at once.
async fn a_known_token_passes_the_gate_and_the_handler_still_decides(backend: Backend) {
    let app = spawn_app_with_settings(TestDb::new(backend), short_deadlines).await;
    let officer = app.token(Role::Officer, None);
    let holder = app.holder(&record(OTHER_NUMBER));
    let scan = |token: &str| {
        let (address, head) = (
            app.address.clone(),
            vec![bearer(token), "Content-Type: application/json".to_owned()],
        );
        actix_web::rt::task::spawn_blocking(move || {
            chunked_request(
                &address,
                "POST",
                "/api/v1/verify",
                &head,
                br#"{"barcode":"1"}"#,
            )
        })
    };
    let answer = scan(&officer).await.unwrap();
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(answer.body["valid"], false);
    let answer = scan(&holder).await.unwrap();
    assert_eq!((answer.status, answer.code()), (403, "forbidden"));

    let mut conn = app.test_db.db.get().unwrap();
    let officer_id = tokens::list(&mut conn)
        .unwrap()
        .into_iter()
        .find(|t| t.role == elicence::domain::role::Role::Officer)
        .unwrap()
        .id;
    assert!(tokens::revoke(&mut conn, &officer_id, test_now()).unwrap());
    drop(conn);
    let res = app
        .post_json(
            "/api/v1/verify",
            &officer,
            &serde_json::json!({"barcode": "1"}),
        )
        .await;
    assert_eq!(res.status(), 401, "revoked: refused by the handler");
}

/// Routes anyone may call are not gated, body or not.
async fn public_routes_are_not_gated(backend: Backend) {
    let app = spawn_app_with_settings(TestDb::new(backend), short_deadlines).await;
    for path in ["/api/v1/status-list", "/api/v1/openapi.json"] {
        let res = app
            .client
            .get(app.url(path))
            .body("{}")
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{path}");
    }
}

crate::both_backends!(
    a_trickling_json_body_gets_408_and_is_closed_at_its_deadline,
    a_stalled_photo_upload_gets_408_at_the_photo_deadline,
    a_bad_token_on_a_slow_body_is_refused_before_the_body_ends,
    a_known_token_passes_the_gate_and_the_handler_still_decides,
    public_routes_are_not_gated,
);
