//! The offline status lists: served by a live server, read back with a stock JOSE library and
//! zlib as a terminal vendor would, and used by `elicence verify --status-list`. The sharding
//! itself (positions, the aggregation, new lists) is in `status_list_shards.rs`.

use crate::helpers::{
    issue_e_licence, record_with_photo, spawn_app, test_now, Backend, TestApp, NUMBER,
    OTHER_NUMBER, STATUS_LIST_LIFETIME, STATUS_LIST_TTL,
};
use crate::offline_verify::{args, now_flag, path, scene, text, verify, Scene};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use elicence::domain::role::Role;
use serde_json::{json, Value};
use std::io::Read;

/// The single-list URL of older terminals: list 0, where every test's e-licences are.
const LIST: &str = "/api/v1/status-list";
/// The same list at its own URL.
pub(crate) const LIST_0: &str = "/api/v1/status-lists/0";

/// The `e` claim of a code, read without verifying (the server issued it).
pub(crate) fn serial_of(code: &str) -> u64 {
    let payload = code.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["e"].as_u64().unwrap()
}

/// What a vendor's terminal does with stock parts: jsonwebtoken checks the JWS against the
/// published JWKS (EdDSA, typ, kid), flate2 inflates `lst`. Returns the claims and the bytes.
pub(crate) async fn stock_read(app: &TestApp, token: &str) -> (Value, Vec<u8>) {
    use jsonwebtoken::{decode, decode_header, jwk::JwkSet, Algorithm, DecodingKey, Validation};
    let jwks: JwkSet = serde_json::from_slice(&app.jwks_bytes().await).unwrap();
    let header = decode_header(token).unwrap();
    assert_eq!(header.alg, Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("statuslist+jwt"));
    let jwk = jwks.find(header.kid.as_deref().unwrap()).expect("our kid");
    let mut validation = Validation::new(Algorithm::EdDSA);
    // The test clock is not the wall clock: `exp` is checked against the server's below.
    validation.validate_exp = false;
    validation.set_required_spec_claims(&["sub", "iat", "exp"]);
    let claims = decode::<Value>(token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
        .unwrap()
        .claims;
    let compressed = URL_SAFE_NO_PAD
        .decode(claims["status_list"]["lst"].as_str().unwrap())
        .unwrap();
    let mut bytes = Vec::new();
    flate2::read::ZlibDecoder::new(&compressed[..])
        .read_to_end(&mut bytes)
        .unwrap();
    (claims, bytes)
}

/// The two-bit entry of the code whose `e` is `e`, in its list's bytes: index `e & 0xFFFFF`
/// by the draft's rule, written out independently of ours.
pub(crate) fn entry(bytes: &[u8], e: u64) -> u8 {
    let index = e & 0xFFFFF;
    (bytes[(index / 4) as usize] >> ((index % 4) * 2)) & 0b11
}

pub(crate) async fn fetch(app: &TestApp) -> (reqwest::header::HeaderMap, String) {
    let res = app.get(LIST, None).await;
    assert_eq!(res.status(), 200);
    let headers = res.headers().clone();
    (headers, res.text().await.unwrap())
}

async fn if_none_match(app: &TestApp, url: &str, etag: &str) -> reqwest::Response {
    let req = app.client.get(app.url(url)).header("If-None-Match", etag);
    req.send().await.unwrap()
}

/// The registry record of the issued e-licence's licence, with these registry states.
async fn set_statuses(app: &TestApp, statuses: Value) {
    let admin = app.token(Role::Admin, None);
    let mut record = record_with_photo(NUMBER);
    record["statuses"] = statuses;
    let res = app
        .put_json(&format!("/api/v1/admin/licences/{NUMBER}"), &admin, &record)
        .await;
    assert_eq!(res.status(), 200);
}

/// The list's content version, signed version and number of signatures, from the table.
pub(crate) fn versions(app: &TestApp, list: i32) -> (i64, i64, i64) {
    list_versions(&app.test_db, list)
}

/// [`versions`] of a list in `db`.
pub(crate) fn list_versions(db: &crate::helpers::TestDb, list: i32) -> (i64, i64, i64) {
    use diesel::prelude::*;
    use elicence::storage::schema::status_lists::dsl as l;
    let mut conn = db.db.get().unwrap();
    let q = l::status_lists
        .find(list)
        .select((l::content_version, l::signed_version, l::signings));
    match &mut conn {
        elicence::storage::DbConn::Sqlite(c) => q.get_result(&mut **c),
        elicence::storage::DbConn::Pg(c) => q.get_result(&mut **c),
    }
    .unwrap()
}

async fn the_served_list_follows_the_registry_as_soon_as_it_is_signed(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, code, _) = crate::helpers::issued(&app).await;
    let e = serial_of(&code);
    assert!(e < 1 << 20, "the first list is open: {e}");
    app.state.status_lists.publish_now().await.unwrap();

    let (headers, token) = fetch(&app).await;
    assert_eq!(headers["content-type"], "application/statuslist+jwt");
    assert_eq!(headers["cache-control"], "public, max-age=300");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let (claims, bytes) = stock_read(&app, &token).await;
    assert_eq!(
        claims["sub"],
        app.url(LIST_0),
        "the legacy URL serves list 0"
    );
    assert_eq!(
        claims["status_list"]["aggregation_uri"],
        app.url("/api/v1/status-lists")
    );
    assert_eq!(claims["iat"], test_now().timestamp());
    assert_eq!(
        claims["exp"],
        (test_now() + STATUS_LIST_LIFETIME).timestamp()
    );
    assert_eq!(claims["ttl"], STATUS_LIST_TTL.num_seconds());
    assert_eq!(claims["status_list"]["bits"], 2);
    assert_eq!(entry(&bytes, e), 0, "VALID");
    assert_eq!(bytes.len(), 1 << 18, "every list has 2^20 entries");
    // The same token at the list's own URL, with the same tag.
    let own = app.get(LIST_0, None).await;
    assert_eq!(own.headers()["etag"], etag.as_str());
    assert_eq!(own.text().await.unwrap(), token);

    // The same list again: 304 with its tag, also after passes that found nothing to sign.
    let (content, signed, signings) = versions(&app, 0);
    app.state.status_lists.publish_now().await.unwrap();
    app.state.status_lists.publish_now().await.unwrap();
    assert_eq!(
        versions(&app, 0),
        (content, signed, signings),
        "not signed again"
    );
    for url in [LIST, LIST_0] {
        let res = if_none_match(&app, url, &etag).await;
        assert_eq!(res.status(), 304);
        assert_eq!(res.headers()["etag"], etag.as_str());
        assert!(res.bytes().await.unwrap().is_empty());
    }

    // Suspended through the registry: the content version moved in the same transaction…
    set_statuses(&app, json!(["suspended"])).await;
    assert_eq!(versions(&app, 0).0, content + 1);
    // … and the next pass signs it once: SUSPENDED at the e-licence's index, a new tag.
    app.state.status_lists.publish_now().await.unwrap();
    assert_eq!(versions(&app, 0), (content + 1, content + 1, signings + 1));
    let (headers, rebuilt) = fetch(&app).await;
    assert_ne!(headers["etag"], etag.as_str());
    let (_, bytes) = stock_read(&app, &rebuilt).await;
    assert_eq!(entry(&bytes, e), 2, "SUSPENDED");
    let res = if_none_match(&app, LIST, &etag).await;
    assert_eq!(res.status(), 200, "an old tag gets the new list");

    // Revoked at the registry: INVALID.
    set_statuses(&app, json!(["revoked", "suspended"])).await;
    app.state.status_lists.publish_now().await.unwrap();
    let (_, token) = fetch(&app).await;
    assert_eq!(entry(&stock_read(&app, &token).await.1, e), 1, "INVALID");
    // Cleared at the registry: VALID again.
    set_statuses(&app, json!([])).await;
    app.state.status_lists.publish_now().await.unwrap();
    let (_, token) = fetch(&app).await;
    assert_eq!(entry(&stock_read(&app, &token).await.1, e), 0);
}

/// Time alone changes an entry: the sweep finds the e-licence on the day after its licence's
/// last valid day (2028-03-05) and lists it INVALID (expired), with no event at all.
async fn the_sweep_lists_an_e_licence_on_the_day_its_licence_lapses(backend: Backend) {
    let app = spawn_app(backend).await;
    // Only this test's passes: the background one could sweep first once the clock moves,
    // leaving this pass nothing to count (seen on PostgreSQL in a loaded run).
    app.state.status_lists.stop();
    let (_, code, _) = crate::helpers::issued(&app).await;
    let e = serial_of(&code);
    app.state.status_lists.publish_now().await.unwrap();
    // The last valid day, in Beijing: still VALID.
    app.clock.set("2028-03-05T15:00:00Z".parse().unwrap());
    let pass = app.state.status_lists.publish_now().await.unwrap();
    assert_eq!(pass.swept, 0, "{pass:?}");
    let (_, token) = fetch(&app).await;
    assert_eq!(entry(&stock_read(&app, &token).await.1, e), 0);
    // Midnight in Beijing: the recheck day has come.
    app.clock.set("2028-03-05T16:00:00Z".parse().unwrap());
    let pass = app.state.status_lists.publish_now().await.unwrap();
    assert_eq!(pass.swept, 1, "{pass:?}");
    assert!(pass.signed.contains(&0), "{pass:?}");
    let (_, token) = fetch(&app).await;
    assert_eq!(entry(&stock_read(&app, &token).await.1, e), 1, "expired");
    let pass = app.state.status_lists.publish_now().await.unwrap();
    assert_eq!(pass.swept, 0, "nothing more to recheck: {pass:?}");
}

/// `elicence verify` with the keys and the list as a terminal fetches them.
async fn run(s: &Scene, list: &str, now: &str, extra: &[&str]) -> std::process::Output {
    let mut a = args(&[&s.code, "--jwks", &s.jwks_url, "--status-list", list]);
    a.extend(args(&["--now", now]));
    a.extend(args(extra));
    verify(a, None).await
}

async fn the_terminal_refuses_a_suspended_e_licence_from_the_served_list(backend: Backend) {
    let s = scene(backend).await;
    let list_url = s.app.url(LIST);
    let out = run(&s, &list_url, &now_flag(60), &[]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("VALID"), "{stdout}");
    assert!(
        stderr.contains("status list: ") && stderr.contains("(2 bits)"),
        "{stderr}"
    );
    assert!(stderr.contains("(age 1m 0s)"), "{stderr}");

    set_statuses(&s.app, json!(["suspended"])).await;
    s.app.state.status_lists.publish_now().await.unwrap();
    let out = run(&s, &list_url, &now_flag(60), &[]).await;
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains("INVALID (suspended)"), "{stdout}");
    assert!(stdout.contains("status at signing  ok"), "{stdout}");
    let json = run(&s, &list_url, &now_flag(60), &["--json"]).await;
    let v: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["reasons"], json!(["suspended"]));

    // Offline: the list saved to a file, read two days later, past its exp.
    let list_file = s.dir.path().join("status-list.jwt");
    let token = s.app.get(LIST, None).await.text().await.unwrap();
    std::fs::write(&list_file, &token).unwrap();
    let out = run(&s, path(&list_file), &now_flag(2 * 86_400), &["--json"]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("warning: status list is stale (age 2d 0h"),
        "{stderr}"
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["reasons"],
        json!(["expired", "status_stale", "suspended"])
    );

    // A list whose signature does not match is refused outright: usage error, nothing checked.
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(signature).unwrap();
    sig[0] ^= 1;
    std::fs::write(
        &list_file,
        format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(sig)),
    )
    .unwrap();
    let out = run(&s, path(&list_file), &now_flag(60), &[]).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the status list is refused: bad_signature"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());

    // The same list with the e-licence cleared in `lst`, the signature kept.
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let all_valid =
        elicence::status_list::StatusList::from_bytes(elicence::status_list::Bits::TWO, vec![0; 4]);
    claims["status_list"] = serde_json::to_value(all_valid.encode()).unwrap();
    let forged = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    std::fs::write(&list_file, format!("{header}.{forged}.{signature}")).unwrap();
    let out = run(&s, path(&list_file), &now_flag(60), &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("bad_signature"));

    // Another server's list (its own key): not ours.
    let other = spawn_app(backend).await;
    let out = run(&s, &other.url(LIST), &now_flag(60), &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown_kid"),
        "{}",
        text(&out.stderr)
    );
    // The JWKS where the list belongs.
    let out = run(&s, path(&s.jwks_file), &now_flag(60), &[]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not a status list aggregation"),
        "{}",
        text(&out.stderr)
    );
}

/// A fresh roadside code from the holder's app (asserting 200).
async fn fresh_code(app: &TestApp, holder: &str) -> String {
    let res = app.get("/api/v1/me/e-licence/code", Some(holder)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    body["code"].as_str().unwrap().to_owned()
}

/// The whole way of a revocation to the roadside terminal: a `status_set revoked` event sent
/// to the admin route, the served list once it is signed again, saved to a file beside the
/// keys, and the offline CLI refusing a code signed before the revocation, while another
/// holder's code on the same list still passes.
async fn a_revocation_reaches_the_offline_terminal_once_the_list_is_signed(backend: Backend) {
    let app = spawn_app(backend).await;
    let revoked_holder = app.holder(&record_with_photo(NUMBER));
    let clean_holder = app.holder(&record_with_photo(OTHER_NUMBER));
    issue_e_licence(&app, &revoked_holder).await;
    issue_e_licence(&app, &clean_holder).await;
    app.state.status_lists.publish_now().await.unwrap();
    let (_, before) = fetch(&app).await;

    // Both holders show a code a little later, still inside the list's ttl; then the
    // registry revokes one licence.
    let shown_at = test_now() + chrono::Duration::seconds(200);
    app.clock.set(shown_at);
    let revoked_code = fresh_code(&app, &revoked_holder).await;
    let clean_code = fresh_code(&app, &clean_holder).await;
    let (revoked_e, clean_e) = (serial_of(&revoked_code), serial_of(&clean_code));
    assert_ne!(revoked_e, clean_e);
    app.clock.set(shown_at + chrono::Duration::seconds(10));
    let admin = app.token(Role::Admin, None);
    let res = app
        .post_json(
            &format!("/api/v1/admin/licences/{NUMBER}/events"),
            &admin,
            &json!({"type": "status_set", "status": "revoked"}),
        )
        .await;
    assert_eq!(res.status(), 200);

    // Signed again by the next pass.
    let rebuilt_at = shown_at + chrono::Duration::seconds(10);
    app.state.status_lists.publish_now().await.unwrap();
    let (_, rebuilt) = fetch(&app).await;
    let (claims, bytes) = stock_read(&app, &rebuilt).await;
    assert_eq!(claims["iat"], rebuilt_at.timestamp());
    assert_eq!(entry(&bytes, revoked_e), 1, "INVALID");
    assert_eq!(entry(&bytes, clean_e), 0, "VALID");

    // The terminal keeps the keys and the lists as files.
    let dir = tempfile::tempdir().unwrap();
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, app.jwks_bytes().await).unwrap();
    let (old_list, new_list) = (dir.path().join("old.jwt"), dir.path().join("new.jwt"));
    std::fs::write(&old_list, &before).unwrap();
    std::fs::write(&new_list, &rebuilt).unwrap();
    let now = (rebuilt_at + chrono::Duration::seconds(20)).to_rfc3339();
    let offline = |code: &str, list: &std::path::Path, extra: &[&str]| {
        let mut a = args(&[
            code,
            "--jwks",
            path(&jwks_file),
            "--status-list",
            path(list),
        ]);
        a.extend(args(&["--now", &now]));
        a.extend(args(extra));
        verify(a, None)
    };

    // With the list from before the revocation the code still passes: the list is what
    // carries the revocation offline.
    let out = offline(&revoked_code, &old_list, &[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    let out = offline(&revoked_code, &new_list, &[]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.starts_with("code 1: INVALID (revoked)\n"),
        "{stdout}"
    );
    assert!(stdout.contains("status at signing  ok"), "{stdout}");
    let out = offline(&revoked_code, &new_list, &["--json"]).await;
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["valid"], false);
    assert_eq!(v["reasons"], json!(["revoked"]));
    assert_eq!(v["holder"]["licence_number"], NUMBER);

    let out = offline(&clean_code, &new_list, &[]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.starts_with("code 1: VALID\n"), "{stdout}");
    assert!(stdout.contains(OTHER_NUMBER), "{stdout}");
}

/// A signer that fails leaves the last signed list served until its exp; then the failure
/// shows (a missing table is an internal error).
async fn a_failed_signer_leaves_the_last_list_served_until_it_expires(backend: Backend) {
    use diesel::connection::SimpleConnection;
    let app = spawn_app(backend).await;
    crate::helpers::issued(&app).await;
    app.state.status_lists.publish_now().await.unwrap();
    let (_, token) = fetch(&app).await;
    // The e-licences are gone: every pass fails from here on.
    let mut conn = app.test_db.db.get().unwrap();
    let sql = "ALTER TABLE e_licences RENAME TO e_licences_away";
    match &mut conn {
        elicence::storage::DbConn::Sqlite(c) => c.batch_execute(sql),
        elicence::storage::DbConn::Pg(c) => c.batch_execute(sql),
    }
    .unwrap();
    drop(conn);
    assert!(app.state.status_lists.publish_now().await.is_err());
    app.clock
        .set(test_now() + STATUS_LIST_LIFETIME - chrono::Duration::seconds(100));
    let (headers, served) = fetch(&app).await;
    assert_eq!(served, token);
    assert_eq!(
        headers["cache-control"], "public, max-age=100",
        "what is left of it"
    );
    app.clock.set(test_now() + STATUS_LIST_LIFETIME);
    let res = app.get(LIST, None).await;
    assert_eq!(
        crate::helpers::error_code(res, 500).await.0,
        "internal_error"
    );
}

crate::both_backends!(
    the_served_list_follows_the_registry_as_soon_as_it_is_signed,
    the_sweep_lists_an_e_licence_on_the_day_its_licence_lapses,
    a_failed_signer_leaves_the_last_list_served_until_it_expires,
    the_terminal_refuses_a_suspended_e_licence_from_the_served_list,
    a_revocation_reaches_the_offline_terminal_once_the_list_is_signed,
);
