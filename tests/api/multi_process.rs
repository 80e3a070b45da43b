//! The rules of one process, held by three real `elicence serve` processes on one PostgreSQL
//! database, raced through different processes (issue 12, point 1): one e-licence per
//! application, a barcode redeemed once, one decision per review item and leases every
//! process respects, and key rotations by the `elicence keys` CLI that every process follows
//! within its `--keys-reload-ms`.

use crate::helpers::{record, record_with_photo, Backend, TestDb};
use crate::images;
use crate::processes::Cluster;
use crate::verify::kid_of;
use diesel::RunQueryDsl;
use elicence::domain::role::Role;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// `serve`'s default `--keys-reload-ms`: the stated bound for a rotation to reach every
/// process.
const KEYS_RELOAD: Duration = elicence::signing::live::RELOAD_EVERY;
/// Room over the bound for the polls themselves on a loaded 2-core test machine.
const SLACK: Duration = Duration::from_millis(1500);
/// Three connections each: the PostgreSQL server is shared with the other tests.
const ARGS: [&str; 2] = ["--pool-size", "3"];

fn spread<T>(n: usize, of: &[T]) -> &T {
    &of[n % of.len()]
}

async fn status_and_body(res: reqwest::Response) -> (u16, Value) {
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// The kid process `i` signs a fresh display code with now.
async fn signing_kid(cluster: &Cluster, i: usize, holder: &str) -> String {
    let res = cluster
        .client
        .get(cluster.url(i, "/api/v1/me/e-licence/code"))
        .bearer_auth(holder)
        .send()
        .await
        .unwrap();
    let (status, body) = status_and_body(res).await;
    assert_eq!(status, 200, "{body}\n{}", cluster.logs());
    kid_of(body["code"].as_str().unwrap())
}

/// The kids process `i` publishes.
async fn published(cluster: &Cluster, i: usize) -> Vec<String> {
    let jwks: Value = cluster
        .client
        .get(cluster.url(i, "/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut kids: Vec<String> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect();
    kids.sort();
    kids
}

/// How long after `since` each process signs with `kid`; fails past the bound.
async fn until_every_process_signs_with(
    cluster: &Cluster,
    holder: &str,
    kid: &str,
    since: Instant,
) -> Vec<Duration> {
    let mut delays = vec![None; cluster.servers.len()];
    while delays.iter().any(Option::is_none) {
        for (i, delay) in delays.iter_mut().enumerate() {
            if delay.is_none() && signing_kid(cluster, i, holder).await == kid {
                *delay = Some(since.elapsed());
            }
        }
        assert!(
            since.elapsed() < KEYS_RELOAD + SLACK,
            "not every process signs with {kid} after {:?}: {delays:?}\n{}",
            since.elapsed(),
            cluster.logs()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    delays.into_iter().map(Option::unwrap).collect()
}

/// `elicence keys ARGS` to its end: its one line of output, the kid.
fn keys_kid(cluster: &Cluster, args: &[&str]) -> String {
    let out = cluster.keys_command(args).wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "keys {args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn active_keys(db: &TestDb) -> Vec<String> {
    let mut conn = db.db.get().unwrap();
    elicence::service::signing_keys::states(&mut conn)
        .unwrap()
        .into_iter()
        .filter(|k| k.state == elicence::signing::KeyState::Active)
        .map(|k| k.kid)
        .collect()
}

#[cfg_attr(
    not(elicence_pg),
    ignore = "PostgreSQL tests did not run: set ELICENCE_TEST_POSTGRES_URL (see README)"
)]
#[actix_web::test]
async fn issuance_barcodes_and_review_hold_across_processes() {
    let db = TestDb::new(Backend::Postgres);
    let applicant = "110101199001011234";
    db.seed(&record_with_photo(applicant));
    let cluster = Cluster::start(&db, 3, &ARGS).await;
    let n = cluster.servers.len();

    // (a) One application sent to every process at once: one e-licence.
    let holder = db.token(Role::Holder, Some(applicant));
    let applications = (0..12).map(|k| {
        cluster
            .client
            .post(cluster.url(k % n, "/api/v1/me/e-licence"))
            .bearer_auth(&holder)
            .json(&json!({"photo": "on_file"}))
            .send()
    });
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    let mut barcode = String::new();
    for res in futures_util::future::join_all(applications).await {
        let (status, body) = status_and_body(res.unwrap()).await;
        assert!(status == 200 || status == 201, "{status} {body}");
        created += usize::from(status == 201);
        ids.insert(body["e_licence_id"].as_str().unwrap().to_owned());
        barcode = body["display"]["barcode"].as_str().unwrap().to_owned();
    }
    assert_eq!(created, 1, "{}", cluster.logs());
    assert_eq!(ids.len(), 1);

    // (b) A fresh barcode scanned at every process at once: it works once.
    let res = cluster
        .client
        .get(cluster.url(0, "/api/v1/me/e-licence/code"))
        .bearer_auth(&holder)
        .send()
        .await
        .unwrap();
    let (_, pair) = status_and_body(res).await;
    let fresh = pair["barcode"].as_str().unwrap().to_owned();
    assert_ne!(fresh, barcode);
    let officers: Vec<String> = (0..n).map(|_| db.token(Role::Officer, None)).collect();
    let scans = (0..12).map(|k| {
        cluster
            .client
            .post(cluster.url(k % n, "/api/v1/verify"))
            .bearer_auth(spread(k, &officers))
            .json(&json!({"barcode": fresh}))
            .send()
    });
    let mut valid = 0;
    for res in futures_util::future::join_all(scans).await {
        let (status, v) = status_and_body(res.unwrap()).await;
        assert_eq!(status, 200, "{v}");
        if v["valid"] == true {
            valid += 1;
        } else {
            assert_eq!(v["reasons"], json!(["barcode_used"]), "{v}");
        }
    }
    assert_eq!(
        valid, 1,
        "a barcode works once, whichever processes scan it"
    );

    // (c) A claim taken at process 1 holds at process 2 until its lease ends.
    let queued = |number: &'static str| {
        let (db, cluster) = (&db, &cluster);
        async move {
            db.seed(&record(number));
            let holder = db.token(Role::Holder, Some(number));
            let photo = reqwest::multipart::Part::bytes(images::good_jpeg()).file_name("me.jpg");
            let form = reqwest::multipart::Form::new()
                .text("source", "camera")
                .part("photo", photo);
            let res = cluster
                .client
                .post(cluster.url(0, "/api/v1/me/e-licence"))
                .bearer_auth(&holder)
                .multipart(form)
                .send()
                .await
                .unwrap();
            let (status, body) = status_and_body(res).await;
            assert_eq!(status, 202, "{body}");
            body["id"].as_str().unwrap().to_owned()
        }
    };
    let post = |i: usize, path: String, token: String, body: Value| {
        let cluster = &cluster;
        async move {
            let res = cluster
                .client
                .post(cluster.url(i, &path))
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            status_and_body(res).await
        }
    };
    let claim = |id: &str| format!("/api/v1/review/submissions/{id}/claim");
    let decide = |id: &str| format!("/api/v1/review/submissions/{id}/decision");
    let approve = json!({"decision": "approve"});

    let id = queued("310104198505052345").await;
    let (first, second) = (
        db.token(Role::Reviewer, None),
        db.token(Role::Reviewer, None),
    );
    let (status, _) = post(1, claim(&id), first.clone(), json!({})).await;
    assert_eq!(status, 200);
    let (status, body) = post(2, claim(&id), second.clone(), json!({})).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (409, &json!("claimed_by_another")),
        "{body}"
    );
    let (status, _) = post(2, decide(&id), second.clone(), approve.clone()).await;
    assert_eq!(status, 409, "no decision without the claim, at any process");
    // The lease ends (its end moved to a second ago: the processes read the system clock).
    {
        let mut conn = db.db.get().unwrap();
        let elicence::storage::DbConn::Pg(c) = &mut conn else {
            unreachable!("PostgreSQL only")
        };
        diesel::sql_query(
            "UPDATE photo_submissions SET claim_expires_at = \
             (now() AT TIME ZONE 'UTC') - interval '1 second' WHERE id = $1",
        )
        .bind::<diesel::sql_types::Text, _>(&id)
        .execute(&mut **c)
        .unwrap();
    }
    let (status, body) = post(2, claim(&id), second.clone(), json!({})).await;
    assert_eq!(
        status, 200,
        "a lapsed lease is anyone's, at any process: {body}"
    );
    let (status, _) = post(1, decide(&id), first.clone(), approve.clone()).await;
    assert_eq!(
        status, 409,
        "the first reviewer's lease has gone to the second"
    );
    let (status, body) = post(2, decide(&id), second.clone(), approve.clone()).await;
    assert_eq!(status, 200, "{body}");

    // Six reviewers claim and decide one item at once through the three processes.
    let id = queued("440106197707073456").await;
    let reviewers: Vec<String> = (0..6).map(|_| db.token(Role::Reviewer, None)).collect();
    let attempts = reviewers.iter().enumerate().map(|(k, r)| {
        let (claim, decide, post) = (claim(&id), decide(&id), &post);
        let decision = if k % 2 == 0 {
            json!({"decision": "approve"})
        } else {
            json!({"decision": "reject", "reason": "poor_lighting"})
        };
        async move {
            let (claimed, _) = post(k % n, claim, r.clone(), json!({})).await;
            let (decided, _) = post((k + 1) % n, decide, r.clone(), decision).await;
            (claimed, decided)
        }
    });
    let outcomes = futures_util::future::join_all(attempts).await;
    let count = |f: fn(&(u16, u16)) -> bool| outcomes.iter().filter(|o| f(o)).count();
    assert_eq!(count(|o| o.0 == 200), 1, "one claim: {outcomes:?}");
    assert_eq!(count(|o| o.1 == 200), 1, "one decision: {outcomes:?}");
    assert_eq!(
        count(|o| [200, 409].contains(&o.0) && [200, 409].contains(&o.1)),
        6
    );
}

#[cfg_attr(
    not(elicence_pg),
    ignore = "PostgreSQL tests did not run: set ELICENCE_TEST_POSTGRES_URL (see README)"
)]
#[actix_web::test]
async fn key_rotations_by_the_cli_reach_every_process_within_the_reload_interval() {
    let db = TestDb::new(Backend::Postgres);
    let number = "110101199001011234";
    db.seed(&record_with_photo(number));
    // The default --keys-reload-ms: the figure measured is the one the docs state.
    let cluster = Cluster::start(&db, 3, &ARGS).await;
    let n = cluster.servers.len();
    let holder = db.token(Role::Holder, Some(number));
    let res = cluster.apply_on_file(0, &holder).await;
    assert_eq!(res.status(), 201);
    // The keyring.json of the folder was imported once, whichever process started first.
    let first = active_keys(&db);
    assert_eq!(first.len(), 1);
    for i in 0..n {
        assert_eq!(signing_kid(&cluster, i, &holder).await, first[0]);
    }

    // (d) The documented rotation: prepare (every process publishes the next key), then
    // rotate (every process signs with it).
    let next = keys_kid(&cluster, &["prepare"]);
    let mut both = vec![first[0].clone(), next.clone()];
    both.sort();
    let since = Instant::now();
    'published: loop {
        let mut all = true;
        for i in 0..n {
            all &= published(&cluster, i).await == both;
        }
        if all {
            break 'published;
        }
        assert!(since.elapsed() < KEYS_RELOAD + SLACK, "{}", cluster.logs());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        signing_kid(&cluster, 0, &holder).await,
        first[0],
        "next signs nothing yet"
    );
    let rotated = keys_kid(&cluster, &["rotate"]);
    let committed = Instant::now();
    assert_eq!(rotated, next, "the prepared key");
    let delays = until_every_process_signs_with(&cluster, &holder, &next, committed).await;
    let slowest = delays.iter().max().unwrap();
    println!(
        "rotate-to-new-kid delay, 3 processes: {delays:?}, slowest {slowest:?} \
         (--keys-reload-ms {})",
        KEYS_RELOAD.as_millis()
    );
    assert!(*slowest <= KEYS_RELOAD + SLACK);

    // (e) Four rotations at once, from four CLI processes: they take turns, each makes its
    // own key active, and exactly one key is active at the end, the one every process signs
    // with.
    let commands: Vec<_> = (0..4).map(|_| cluster.keys_command(&["rotate"])).collect();
    let mut kids = Vec::new();
    for command in commands {
        let out = command.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        kids.push(String::from_utf8(out.stdout).unwrap().trim().to_owned());
    }
    let done = Instant::now();
    kids.sort();
    kids.dedup();
    assert_eq!(kids.len(), 4, "each rotation made its own key");
    let active = active_keys(&db);
    assert_eq!(active.len(), 1, "exactly one active key: {active:?}");
    assert!(kids.contains(&active[0]));
    until_every_process_signs_with(&cluster, &holder, &active[0], done).await;
    let jwks = published(&cluster, 0).await;
    assert_eq!(
        jwks.len(),
        6,
        "the first, the prepared and four rotated-in keys"
    );
    for i in 1..n {
        assert_eq!(published(&cluster, i).await, jwks, "every process agrees");
    }
}
