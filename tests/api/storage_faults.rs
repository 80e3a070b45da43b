//! Storage faults, made for real: SQLite full (`--sqlite-max-size-mb`, the same
//! SQLITE_FULL as a full disk) and read-only (`--sqlite-read-only`, SQLite's answer on a
//! write-protected file); PostgreSQL read-only (`default_transaction_read_only` on a database
//! of the test's own) and stopped then started (a private server). Each write is answered 503
//! `storage_unavailable` with `Retry-After`, on every route; `/readyz` says not ready, with
//! the cause, and ready again once writes succeed; nothing needs a restart.

use crate::helpers::{
    error_code, issued, record_with_photo, spawn_app_with, spawn_app_with_settings, Backend,
    TestApp, TestDb, NUMBER, OTHER_NUMBER,
};
use crate::private_pg::{OwnDatabase, PrivateServer};
use elicence::config::{DatabaseUrl, PoolSettings};
use elicence::domain::role::Role;
use elicence::storage::DbConn;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ISSUE: &str = "/api/v1/me/e-licence";
const VERIFY: &str = "/api/v1/verify";

fn events_path() -> String {
    format!("/api/v1/admin/licences/{NUMBER}/events")
}

/// 503 `storage_unavailable`, with the wait the fault asks for.
async fn assert_storage_unavailable(res: reqwest::Response, retry_after: &str) {
    let retry = res.headers().get("retry-after").cloned();
    assert_eq!(error_code(res, 503).await.0, "storage_unavailable");
    assert_eq!(
        retry.as_ref().and_then(|v| v.to_str().ok()),
        Some(retry_after)
    );
}

/// Polls `/readyz` until it answers `status` (within 30 s); returns the body.
async fn readiness_becomes(app: &TestApp, status: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let res = app.get("/readyz", None).await;
        let got = res.status().as_u16();
        let body: Value = res.json().await.unwrap();
        if got == status {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "/readyz stayed {got}, not {status}: {body}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Once the fault is put right: ready, and the holder's issuance and the officer's scan
/// succeed, with no restart.
async fn serves_writes_again(app: &TestApp, holder: &str, officer: &str, code: &str) {
    readiness_becomes(app, 200).await;
    let res = app
        .post_json(ISSUE, holder, &json!({"photo": "on_file"}))
        .await;
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let res = app.post_json(VERIFY, officer, &json!({"code": code})).await;
    assert_eq!(res.status(), 200);
}

fn not_ready_causes(body: &Value) -> Vec<(String, String)> {
    assert_eq!(body["error"]["code"], "not_ready", "{body}");
    body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["component"].as_str().unwrap().to_owned(),
                p["cause"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Sends `request(i)` for i = 0, 1, … until an answer is no success, at most `max` times:
/// on a full database, a write is refused once it needs a page, and small rows still fit
/// in the pages their table has. Returns the successes and the first refusal.
async fn until_refused<F, Fut>(max: usize, mut request: F) -> (usize, reqwest::Response)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = reqwest::Response>,
{
    for i in 0..max {
        let res = request(i).await;
        if !res.status().is_success() {
            return (i, res);
        }
    }
    panic!("{max} writes, none refused");
}

/// A status event for the seeded licence, set and cleared in turn: each is recorded.
fn event(i: usize) -> Value {
    let kind = if i % 2 == 0 {
        "status_set"
    } else {
        "status_cleared"
    };
    json!({"type": kind, "status": "suspended"})
}

fn audit_rows(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use elicence::storage::schema::verification_audit::dsl::*;
    let mut conn = app.test_db.db.get().unwrap();
    match &mut conn {
        DbConn::Sqlite(c) => verification_audit.count().get_result(&mut **c),
        DbConn::Pg(c) => verification_audit.count().get_result(&mut **c),
    }
    .unwrap()
}

fn sqlite(conn: &mut DbConn) -> &mut diesel::SqliteConnection {
    match conn {
        DbConn::Sqlite(c) => c,
        DbConn::Pg(_) => unreachable!("a SQLite test"),
    }
}

fn page_count(test_db: &TestDb) -> u64 {
    use diesel::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Pages {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        page_count: i64,
    }
    let mut conn = test_db.db.get().unwrap();
    let pages: Pages = diesel::sql_query("PRAGMA page_count")
        .get_result(sqlite(&mut conn))
        .unwrap();
    pages.page_count as u64
}

/// Fills the database up to `max_pages` with a table of its own, as other data filling
/// the disk would, until not one more page can be had.
fn fill(test_db: &TestDb, max_pages: u64) {
    use diesel::connection::SimpleConnection;
    let mut conn = test_db.db.get().unwrap();
    let c = sqlite(&mut conn);
    c.batch_execute(&format!(
        "PRAGMA max_page_count = {max_pages}; CREATE TABLE filler (b BLOB);"
    ))
    .unwrap();
    for size in [65_536, 4_096, 512, 16] {
        loop {
            match c.batch_execute(&format!("INSERT INTO filler VALUES (zeroblob({size}))")) {
                Ok(()) => {}
                Err(e) if e.to_string().contains("database or disk is full") => break,
                Err(e) => panic!("{e}"),
            }
        }
    }
}

/// SQLite full: every route that writes is refused 503, the scans answered before are
/// audited, /readyz says `full`; space freed, everything works again without a restart.
#[actix_web::test]
async fn a_full_sqlite_database_refuses_writes_with_503_until_space_comes_back() {
    let test_db = TestDb::new(Backend::Sqlite);
    // Room for what the test does before the database is filled.
    let max_pages = page_count(&test_db) + 1_024;
    let app = spawn_app_with_settings(test_db, |s| {
        s.pool.sqlite.max_bytes = Some(max_pages * 4_096);
    })
    .await;
    let (_, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let admin = app.token(Role::Admin, None);
    let other = app.holder(&record_with_photo(OTHER_NUMBER));
    readiness_becomes(&app, 200).await;

    fill(&app.test_db, max_pages);

    let res = app
        .post_json(ISSUE, &other, &json!({"photo": "on_file"}))
        .await;
    assert_storage_unavailable(res, "5").await;
    let (app_ref, admin_ref) = (&app, &admin);
    let (_, refused) = until_refused(2_000, |i| async move {
        app_ref
            .post_json(&events_path(), admin_ref, &event(i))
            .await
    })
    .await;
    assert_storage_unavailable(refused, "5").await;
    let audited = audit_rows(&app);
    let scan = json!({"code": code});
    let (answered, refused) =
        until_refused(5_000, |_| app.post_json(VERIFY, &officer, &scan)).await;
    assert_storage_unavailable(refused, "5").await;
    assert_eq!(
        audit_rows(&app) - audited,
        answered as i64,
        "every scan answered is audited"
    );
    let body = readiness_becomes(&app, 503).await;
    assert_eq!(not_ready_causes(&body), [("storage".into(), "full".into())]);
    // Reads are served.
    let res = app.get("/api/v1/me/eligibility", Some(&other)).await;
    assert_eq!(res.status(), 200);

    // Space comes back (the other data is deleted).
    {
        use diesel::connection::SimpleConnection;
        let mut conn = app.test_db.db.get().unwrap();
        sqlite(&mut conn)
            .batch_execute("DROP TABLE filler")
            .unwrap();
    }
    serves_writes_again(&app, &other, &officer, &code).await;
}

/// SQLite read-only (as on a write-protected file or filesystem): reads are served, writes
/// (a scan's audit too) refused 503, /readyz says `read_only`.
#[actix_web::test]
async fn a_read_only_sqlite_database_serves_reads_and_refuses_writes_with_503() {
    let test_db = TestDb::new(Backend::Sqlite);
    test_db.seed(&record_with_photo(NUMBER));
    let holder = test_db.token(Role::Holder, Some(NUMBER));
    let officer = test_db.token(Role::Officer, None);
    let admin = test_db.token(Role::Admin, None);
    // The key is made while the database takes writes: read-only, nothing could record it.
    let keys = std::sync::Arc::new(tempfile::tempdir().unwrap());
    elicence::service::signing_keys::change(&test_db.db, keys.path(), |k, new| {
        elicence::signing::states::generate(k, crate::helpers::test_now(), new)
    })
    .unwrap();
    let app =
        crate::helpers::spawn_app_configured(test_db, keys, |s| s.pool.sqlite.read_only = true)
            .await;

    let res = app.get("/api/v1/me/eligibility", Some(&holder)).await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(ISSUE, &holder, &json!({"photo": "on_file"}))
        .await;
    assert_storage_unavailable(res, "5").await;
    let res = app.post_json(&events_path(), &admin, &event(0)).await;
    assert_storage_unavailable(res, "5").await;
    let res = app
        .post_json(VERIFY, &officer, &json!({"barcode": "123456789012345678"}))
        .await;
    assert_storage_unavailable(res, "5").await;
    let body = readiness_becomes(&app, 503).await;
    assert_eq!(
        not_ready_causes(&body),
        [("storage".into(), "read_only".into())]
    );
}

/// PostgreSQL read-only (`default_transaction_read_only`, as on a standby): writes refused
/// 503, reads served, /readyz `read_only`, `elicence import` exits 75 (retry later); writable
/// again, everything works without a restart.
#[cfg_attr(
    not(elicence_pg),
    ignore = "PostgreSQL tests did not run: set ELICENCE_TEST_POSTGRES_URL (see README)"
)]
#[actix_web::test]
async fn a_read_only_postgres_database_refuses_writes_with_503_until_writable_again() {
    let own = OwnDatabase::create("ro");
    let pool = PoolSettings {
        checkout_timeout: Duration::from_secs(1),
        ..PoolSettings::default()
    };
    let app = spawn_app_with(TestDb::at(DatabaseUrl::Postgres(own.url.clone()), pool)).await;
    let (_, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let admin = app.token(Role::Admin, None);
    let other = app.holder(&record_with_photo(OTHER_NUMBER));
    readiness_becomes(&app, 200).await;

    own.set_read_only(true);
    let body = readiness_becomes(&app, 503).await;
    assert_eq!(
        not_ready_causes(&body),
        [("storage".into(), "read_only".into())]
    );
    let res = app.get("/api/v1/me/eligibility", Some(&other)).await;
    assert_eq!(res.status(), 200);
    let res = app
        .post_json(ISSUE, &other, &json!({"photo": "on_file"}))
        .await;
    assert_storage_unavailable(res, "5").await;
    let res = app.post_json(&events_path(), &admin, &event(0)).await;
    assert_storage_unavailable(res, "5").await;
    let res = app
        .post_json(VERIFY, &officer, &json!({"code": code}))
        .await;
    assert_storage_unavailable(res, "5").await;

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_elicence"))
        .args(["import", "-"])
        .env("DATABASE_URL", &own.url)
        .env("RUST_LOG", "error")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains("storage unavailable (read_only)") && stderr.contains("retry"),
        "{stderr}"
    );

    own.set_read_only(false);
    serves_writes_again(&app, &other, &officer, &code).await;
}

/// The PostgreSQL server stopped: every request that needs it is answered 503 and /readyz
/// says why; started again, the same service answers again, without a restart.
#[cfg_attr(
    not(elicence_pg_server_binaries),
    ignore = "PostgreSQL's server programs (initdb, pg_ctl under /usr/lib/postgresql) are \
              not installed: apt-get install postgresql"
)]
#[actix_web::test]
async fn a_postgres_server_stopped_and_started_again_is_answered_503_then_served() {
    let server = PrivateServer::start();
    server.create_database("elicence");
    let pool = PoolSettings {
        max_size: 4,
        checkout_timeout: Duration::from_secs(1),
        ..PoolSettings::default()
    };
    let test_db = TestDb::at(DatabaseUrl::Postgres(server.url("elicence")), pool);
    let app = spawn_app_with(test_db).await;
    let (holder, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let other = app.holder(&record_with_photo(OTHER_NUMBER));

    server.stop();
    let res = app
        .post_json(ISSUE, &other, &json!({"photo": "on_file"}))
        .await;
    assert_storage_unavailable(res, "5").await;
    let res = app
        .post_json(VERIFY, &officer, &json!({"code": code}))
        .await;
    assert_storage_unavailable(res, "5").await;
    let res = app.get("/api/v1/me/eligibility", Some(&holder)).await;
    assert_storage_unavailable(res, "5").await;
    let body = readiness_becomes(&app, 503).await;
    let causes = not_ready_causes(&body);
    assert!(
        causes == [("storage".into(), "cannot_connect".into())]
            || causes == [("storage".into(), "connection_lost".into())],
        "{causes:?}"
    );

    server.start_again();
    serves_writes_again(&app, &other, &officer, &code).await;
}
