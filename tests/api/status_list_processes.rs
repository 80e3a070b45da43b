//! Status lists across real `elicence serve` processes on one PostgreSQL database: a change
//! sent to one process is served by every process, with one token, one ETag and one
//! signature per content version, within the stated bound (docs/status-lists.md).

use crate::helpers::{record_with_photo, Backend, TestDb};
use crate::processes::Cluster;
use elicence::domain::role::Role;
use serde_json::json;
use std::time::{Duration, Instant};

/// Each process tries a pass and reloads every 200 ms here (1 s by default).
const INTERVAL_MS: &str = "200";
/// The published bound with the default interval: two intervals (the signer's pass, the
/// other processes' reload) and the time to sign, with room for a loaded test machine.
const BOUND: Duration = Duration::from_secs(5);

/// `(content_version, signed_version, signings)` of list 0.
fn versions(db: &TestDb) -> (i64, i64, i64) {
    crate::status_list::list_versions(db, 0)
}

/// The ETag and token each process serves for list 0.
async fn served(cluster: &Cluster) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for i in 0..cluster.servers.len() {
        let res = cluster
            .client
            .get(cluster.url(i, "/api/v1/status-lists/0"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", cluster.logs());
        let etag = res.headers()["etag"].to_str().unwrap().to_owned();
        out.push((etag, res.text().await.unwrap()));
    }
    out
}

/// Polls every process until all serve one token that `done` accepts; returns it and how
/// long that took. Fails after `BOUND`.
async fn until_all_serve(
    cluster: &Cluster,
    done: impl Fn(&str) -> bool,
) -> ((String, String), Duration) {
    let started = Instant::now();
    loop {
        let now = served(cluster).await;
        if now.iter().all(|s| *s == now[0]) && done(&now[0].0) {
            return (now[0].clone(), started.elapsed());
        }
        assert!(
            started.elapsed() < BOUND,
            "the processes serve {:?} after {BOUND:?}\n{}",
            now.iter().map(|s| &s.0).collect::<Vec<_>>(),
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[cfg_attr(
    not(elicence_pg),
    ignore = "PostgreSQL tests did not run: set ELICENCE_TEST_POSTGRES_URL (see README)"
)]
#[actix_web::test]
async fn a_change_at_one_process_is_served_by_every_process_signed_once() {
    let db = TestDb::new(Backend::Postgres);
    let numbers = [
        "110101199001011234",
        "310104198505052345",
        "440106197707073456",
    ];
    for n in numbers {
        db.seed(&record_with_photo(n));
    }
    // Three connections each: the PostgreSQL server is shared with the other tests.
    let args = ["--status-list-interval-ms", INTERVAL_MS, "--pool-size", "3"];
    let cluster = Cluster::start(&db, 3, &args).await;
    for (i, n) in numbers.iter().enumerate() {
        let holder = db.token(Role::Holder, Some(n));
        let res = cluster.apply_on_file(i, &holder).await;
        assert_eq!(res.status(), 201, "{}", cluster.logs());
    }
    let ((first_etag, _), _) = until_all_serve(&cluster, |_| true).await;
    let (content, signed, signings) = versions(&db);
    assert_eq!(signed, content, "every process serves the signed version");

    // One event, sent to process 1: every process serves the new list within the bound.
    let admin = db.token(Role::Admin, None);
    let event = |i: usize, n: &str| {
        cluster
            .client
            .post(cluster.url(i, &format!("/api/v1/admin/licences/{n}/events")))
            .bearer_auth(&admin)
            .json(&json!({"type": "status_set", "status": "suspended"}))
            .send()
    };
    let sent = Instant::now();
    assert_eq!(event(1, numbers[0]).await.unwrap().status(), 200);
    let ((etag, token), _) = until_all_serve(&cluster, |e| e != first_etag).await;
    let delay = sent.elapsed();
    println!("event-to-published delay across 3 processes: {delay:?} (interval {INTERVAL_MS} ms)");
    assert_eq!(
        versions(&db),
        (content + 1, content + 1, signings + 1),
        "one new version, signed once"
    );
    // A tag from process 0 is current at process 2: 304.
    let res = cluster
        .client
        .get(cluster.url(2, "/api/v1/status-list"))
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 304);
    // Signed with the key of the shared keys folder, whichever process signed it.
    let header = token.split('.').next().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap(),
    )
    .unwrap();
    let kid = header["kid"].as_str().unwrap();
    assert!(cluster.keys_dir().join(format!("{kid}.pem")).is_file());

    // Events on the three processes at once: each process signs only under the lock, so
    // there is never more than one signature per content version, and all end on one.
    let (c0, _, s0) = versions(&db);
    let results = futures_util::future::join_all(
        numbers
            .iter()
            .enumerate()
            .map(|(i, n)| event(i, n))
            .collect::<Vec<_>>(),
    )
    .await;
    for r in results {
        assert_eq!(r.unwrap().status(), 200);
    }
    until_all_serve(&cluster, |e| e != etag).await;
    let deadline = Instant::now() + BOUND;
    let (c1, v1, s1) = loop {
        let v = versions(&db);
        if v.1 == v.0 || Instant::now() > deadline {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(
        c1,
        c0 + 2,
        "two licences changed (the first was suspended already)"
    );
    assert_eq!(v1, c1, "the last version is signed");
    assert!(
        (1..=2).contains(&(s1 - s0)),
        "at most one signature per version: {} for 2",
        s1 - s0
    );
    until_all_serve(&cluster, |_| true).await;
}
