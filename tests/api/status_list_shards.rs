//! Sharded status lists: where a new e-licence's entry goes (a random free index of the open
//! list), new lists when the open one is full, the aggregation, a terminal following a code's
//! `e` to its list, and the migration that gave existing e-licences their positions.

use crate::helpers::{
    issue_e_licence, record_with_photo, scan, spawn_app, test_now, Backend, TestApp, NUMBER,
};
use crate::offline_verify::{args, path, text, verify};
use crate::status_list::{entry, serial_of, stock_read, versions, LIST_0};
use elicence::domain::role::Role;
use serde_json::{json, Value};

/// Runs SQL on the test database, as an operator would.
fn exec(app: &TestApp, sql: &str) {
    use diesel::connection::SimpleConnection;
    let mut conn = app.test_db.db.get().unwrap();
    match &mut conn {
        elicence::storage::DbConn::Sqlite(c) => c.batch_execute(sql),
        elicence::storage::DbConn::Pg(c) => c.batch_execute(sql),
    }
    .unwrap();
}

/// One number of the test database.
fn count(app: &TestApp, sql: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let q = diesel::sql_query(sql);
    let mut conn = app.test_db.db.get().unwrap();
    let rows: Vec<N> = match &mut conn {
        elicence::storage::DbConn::Sqlite(c) => q.load(&mut **c),
        elicence::storage::DbConn::Pg(c) => q.load(&mut **c),
    }
    .unwrap();
    rows[0].n
}

/// A licence number of the test registry: 18 digits, the last ones `i`.
fn number(i: usize) -> String {
    format!("1101011990010{i:05}")
}

/// Issues e-licences to `n` new holders; returns their codes.
async fn issue_many(app: &TestApp, n: usize, from: usize) -> Vec<String> {
    let mut codes = Vec::new();
    for i in from..from + n {
        let holder = app.holder(&record_with_photo(&number(i)));
        codes.push(issue_e_licence(app, &holder).await.0);
    }
    codes
}

async fn new_e_licences_get_random_free_indexes_of_the_open_list(backend: Backend) {
    let app = spawn_app(backend).await;
    let codes = issue_many(&app, 8, 0).await;
    let mut es: Vec<u64> = codes.iter().map(|c| serial_of(c)).collect();
    assert!(es.iter().all(|e| *e >> 20 == 0 && *e > 0), "list 0: {es:?}");
    es.sort_unstable();
    es.dedup();
    assert_eq!(es.len(), 8, "each its own index");
    // Drawn at random among 2^20: eight in a row would be one chance in 10^40.
    assert!(
        es.windows(2).any(|w| w[1] - w[0] > 1),
        "not sequential: {es:?}"
    );
    assert_eq!(
        count(
            &app,
            "SELECT CAST(allocated AS BIGINT) AS n FROM status_lists WHERE list_id = 0"
        ),
        8
    );
    // Each VALID e-licence leaves the content as it was: nothing to sign again.
    assert_eq!(versions(&app, 0).0, 0);
}

/// The open list is full (75 % of it given out): the next e-licence opens list 1, which the
/// aggregation names, the online check finds by its `e`, and the offline terminal fetches
/// through the aggregation or reads from a folder of lists.
async fn a_full_list_opens_the_next_and_terminals_follow_the_aggregation(backend: Backend) {
    let app = spawn_app(backend).await;
    let first = issue_many(&app, 1, 0).await.remove(0);
    exec(
        &app,
        "UPDATE status_lists SET allocated = 786432 WHERE list_id = 0",
    );
    let holder = app.holder(&record_with_photo(NUMBER));
    let (code, _) = issue_e_licence(&app, &holder).await;
    let e = serial_of(&code);
    assert_eq!(e >> 20, 1, "list 1: {e}");
    app.state.status_lists.publish_now().await.unwrap();

    let res = app.get("/api/v1/status-lists", None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    let etag = res.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = res.json().await.unwrap();
    assert_eq!(
        body,
        json!({"status_lists": [app.url(LIST_0), app.url("/api/v1/status-lists/1")]})
    );
    let again = app
        .client
        .get(app.url("/api/v1/status-lists"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let token = app
        .get("/api/v1/status-lists/1", None)
        .await
        .text()
        .await
        .unwrap();
    let (claims, bytes) = stock_read(&app, &token).await;
    assert_eq!(claims["sub"], app.url("/api/v1/status-lists/1"));
    assert_eq!(entry(&bytes, e), 0);
    let missing = app.get("/api/v1/status-lists/2", None).await;
    assert_eq!(
        crate::helpers::error_code(missing, 404).await.0,
        "not_found"
    );

    // Online: the code's `e` finds its e-licence in list 1.
    let officer = app.token(Role::Officer, None);
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["licence"]["licence_number"], NUMBER);

    // Suspended: list 1 changes, list 0 does not.
    let admin = app.token(Role::Admin, None);
    let res = app
        .post_json(
            &format!("/api/v1/admin/licences/{NUMBER}/events"),
            &admin,
            &json!({"type": "status_set", "status": "suspended"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    let list_0 = versions(&app, 0);
    app.state.status_lists.publish_now().await.unwrap();
    assert_eq!(versions(&app, 0), list_0, "list 0 is not signed again");

    // Offline, through the aggregation: the terminal fetches the list each code points to.
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, app.jwks_bytes().await).unwrap();
    let now = (test_now() + chrono::Duration::seconds(30)).to_rfc3339();
    let terminal = |lists: String| {
        let mut a = args(&[&first, &code, "--jwks", path(&jwks), "--status-list"]);
        a.push(lists);
        a.extend(args(&["--now", &now, "--json"]));
        verify(a, None)
    };
    let out = terminal(app.url("/api/v1/status-lists")).await;
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let verdicts: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(verdicts[0]["reasons"], json!([]), "{stderr}");
    assert_eq!(verdicts[1]["reasons"], json!(["suspended"]), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "status list: {}, 1048576 entries",
            app.url(LIST_0)
        )) && stderr.contains("/api/v1/status-lists/1, 1048576 entries"),
        "{stderr}"
    );

    // Offline, from a folder of lists: the same verdicts; without list 1, status_unknown.
    let folder = dir.path().join("lists");
    std::fs::create_dir(&folder).unwrap();
    for n in [0, 1] {
        let token = app
            .get(&format!("/api/v1/status-lists/{n}"), None)
            .await
            .text()
            .await
            .unwrap();
        std::fs::write(folder.join(format!("{n}.jwt")), token).unwrap();
    }
    let out = terminal(path(&folder).to_owned()).await;
    let last: Value = serde_json::from_str(text(&out.stdout).lines().last().unwrap()).unwrap();
    assert_eq!(
        last["reasons"],
        json!(["suspended"]),
        "{}",
        text(&out.stderr)
    );
    std::fs::remove_file(folder.join("1.jwt")).unwrap();
    let out = terminal(path(&folder).to_owned()).await;
    let lines: Vec<Value> = text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["reasons"], json!([]));
    assert_eq!(lines[1]["reasons"], json!(["status_unknown"]));
    // A folder with no list is a mistake, not a terminal that knows nothing.
    std::fs::remove_file(folder.join("0.jwt")).unwrap();
    let out = terminal(path(&folder).to_owned()).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no status list (*.jwt) in it"));
}

/// A terminal that synced before an e-licence was issued holds its entry already: a free
/// index is VALID, so the new e-licence's code passes offline (and is not status_unknown).
async fn a_new_e_licence_reads_valid_in_a_list_signed_before_it(backend: Backend) {
    let app = spawn_app(backend).await;
    issue_many(&app, 1, 0).await;
    app.state.status_lists.publish_now().await.unwrap();
    let before = app.get(LIST_0, None).await.text().await.unwrap();
    let code = issue_many(&app, 1, 1).await.remove(0);
    let dir = tempfile::tempdir().unwrap();
    let (jwks, list) = (dir.path().join("jwks.json"), dir.path().join("0.jwt"));
    std::fs::write(&jwks, app.jwks_bytes().await).unwrap();
    std::fs::write(&list, before).unwrap();
    let mut a = args(&[&code, "--jwks", path(&jwks), "--status-list", path(&list)]);
    a.extend(args(&["--now", &test_now().to_rfc3339()]));
    let out = verify(a, None).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).starts_with("code 1: VALID\n"));
}

/// The migration that sharded the lists gives each existing e-licence the position its serial
/// names (`e` stays what it was) and leaves its status to the first pass, which runs before
/// the first list is signed: a suspended licence's e-licence is SUSPENDED in that list.
async fn existing_e_licences_keep_their_e_and_the_first_list_is_right(backend: Backend) {
    let app = spawn_app(backend).await;
    app.state.status_lists.stop();
    issue_many(&app, 3, 0).await;
    let admin = app.token(Role::Admin, None);
    let res = app
        .post_json(
            &format!("/api/v1/admin/licences/{}/events", number(1)),
            &admin,
            &json!({"type": "status_set", "status": "suspended"}),
        )
        .await;
    assert_eq!(res.status(), 200);
    // Back to before the sharding migration, the later ones first.
    let mut reverted = app.test_db.db.revert_last_migration().unwrap();
    while reverted != "20261202000012" {
        assert!(reverted.as_str() > "20261202000012", "{reverted}");
        reverted = app.test_db.db.revert_last_migration().unwrap();
    }
    app.test_db.db.migrate().unwrap();
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM e_licences \
             WHERE CAST(status_list AS BIGINT) * 1048576 + status_index <> serial"
        ),
        0,
        "e = serial"
    );
    assert_eq!(
        count(
            &app,
            "SELECT COUNT(*) AS n FROM e_licences WHERE list_status <> 0"
        ),
        0,
        "the placeholder"
    );
    let pass = app.state.status_lists.publish_now().await.unwrap();
    assert_eq!(pass.swept, 3, "{pass:?}");
    let token = app.get(LIST_0, None).await.text().await.unwrap();
    let (_, bytes) = stock_read(&app, &token).await;
    let serial = |n: &str| {
        count(
            &app,
            &format!("SELECT serial AS n FROM e_licences WHERE licence_number = '{n}'"),
        ) as u64
    };
    assert_eq!(entry(&bytes, serial(&number(0))), 0);
    assert_eq!(entry(&bytes, serial(&number(1))), 2, "SUSPENDED");
    assert_eq!(entry(&bytes, serial(&number(2))), 0);
    // New e-licences are drawn among the indexes left free.
    let code = issue_many(&app, 1, 3).await.remove(0);
    assert!(![1, 2, 3].contains(&serial_of(&code)));
}

/// The maintenance lock (PostgreSQL): one session at a time, released only by the session
/// (the pooled connection) that took it, and per schema, so another deployment in the same
/// database (another test here) has its own. On SQLite the one process serialises itself.
async fn the_maintenance_lock_is_one_session_at_a_time_per_schema(backend: Backend) {
    use crate::helpers::TestDb;
    use elicence::storage::status_lists::{try_lock_maintenance, unlock_maintenance};
    let db = TestDb::new(backend);
    let (mut a, mut b) = (db.db.get().unwrap(), db.db.get().unwrap());
    assert!(try_lock_maintenance(&mut a).unwrap());
    if backend == Backend::Sqlite {
        assert!(try_lock_maintenance(&mut b).unwrap());
        return;
    }
    assert!(!try_lock_maintenance(&mut b).unwrap(), "held by a");
    assert!(
        unlock_maintenance(&mut b).is_err(),
        "b cannot release a's lock"
    );
    let other = TestDb::new(backend);
    let mut c = other.db.get().unwrap();
    assert!(
        try_lock_maintenance(&mut c).unwrap(),
        "another schema's own lock"
    );
    unlock_maintenance(&mut c).unwrap();
    unlock_maintenance(&mut a).unwrap();
    assert!(try_lock_maintenance(&mut b).unwrap(), "free again");
    unlock_maintenance(&mut b).unwrap();
}

/// The sweep never writes an entry from a licence another transaction is changing: it skips
/// that licence (whose writer rewrites the entries itself), and sweeps it at a later pass
/// once it is free. PostgreSQL only: on SQLite a writer excludes the sweep altogether.
async fn the_sweep_skips_a_licence_being_written(backend: Backend) {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    if backend == Backend::Sqlite {
        return;
    }
    let app = spawn_app(backend).await;
    app.state.status_lists.stop();
    let code = issue_many(&app, 1, 0).await.remove(0);
    let e = serial_of(&code);
    // The day after the licence lapses: the e-licence is due.
    app.clock.set("2028-03-05T16:00:00Z".parse().unwrap());
    let crate::helpers::TestDb { url, .. } = &app.test_db;
    let elicence::config::DatabaseUrl::Postgres(url) = url else {
        unreachable!()
    };
    let mut writer = diesel::PgConnection::establish(url).unwrap();
    writer
        .batch_execute(&format!(
            "BEGIN; SELECT number FROM licences WHERE number = '{}' FOR UPDATE",
            number(0)
        ))
        .unwrap();
    let pass = app.state.status_lists.publish_now().await.unwrap();
    assert_eq!(pass.swept, 0, "skipped while written: {pass:?}");
    writer.batch_execute("COMMIT").unwrap();
    let pass = app.state.status_lists.publish_now().await.unwrap();
    assert_eq!(pass.swept, 1, "{pass:?}");
    let token = app.get(LIST_0, None).await.text().await.unwrap();
    assert_eq!(entry(&stock_read(&app, &token).await.1, e), 1, "expired");
}

crate::both_backends!(
    new_e_licences_get_random_free_indexes_of_the_open_list,
    the_sweep_skips_a_licence_being_written,
    the_maintenance_lock_is_one_session_at_a_time_per_schema,
    a_full_list_opens_the_next_and_terminals_follow_the_aggregation,
    a_new_e_licence_reads_valid_in_a_list_signed_before_it,
    existing_e_licences_keep_their_e_and_the_first_list_is_right,
);
