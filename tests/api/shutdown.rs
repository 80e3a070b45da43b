//! Graceful shutdown of a real `elicence serve` process: SIGTERM (and SIGINT) in the middle of
//! a verification load, and a review claim cut short by the shutdown timeout.
//!
//! The load's clients speak HTTP/1.1 by hand on keep-alive connections, so that each outcome
//! is told apart: an answer; a refused connect (the listener is closed: fine); a connection
//! closed before any byte of an answer (the server never read that request: an idle
//! keep-alive connection closed by the drain, or one still in the listener's backlog: fine,
//! and the audit check below shows no such request was verified); an answer cut off part way
//! (never fine).

use crate::helpers::{
    error_code, issued, record_with_photo, scan, spawn_app, test_now, Backend, TestDb, NUMBER,
    OTHER_NUMBER,
};
use crate::processes::Cluster;
use chrono::{DateTime, Utc};
use elicence::domain::licence::LicenceNumber;
use elicence::domain::role::Role;
use elicence::domain::submission::PhotoSource;
use elicence::service::photo_review::{self, Intake, Purpose};
use elicence::service::verification_queue::Drained;
use elicence::storage::{audit, submissions, Database};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The shutdown timeout the load tests run with; the process must exit within it (nothing
/// in flight takes long) plus the grace of the work after the server stopped.
const TIMEOUT_SECS: u64 = 10;

/// What one request on the wire came to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Answered(u16),
    /// The connect was refused: the listener is closed.
    Refused,
    /// Closed (or reset) before any byte of an answer: the server never read the request.
    Unread,
    /// Part of an answer, then the connection ended.
    Incomplete(String),
}

/// A keep-alive client over a raw connection.
struct Client {
    address: String,
    stream: Option<TcpStream>,
}

impl Client {
    fn new(address: &str) -> Client {
        Client {
            address: address.trim_start_matches("http://").to_owned(),
            stream: None,
        }
    }

    fn post(&mut self, path: &str, token: &str, body: &Value) -> Outcome {
        let body = body.to_string();
        let request = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.address,
            body.len()
        );
        if self.stream.is_none() {
            match TcpStream::connect(&self.address) {
                Ok(s) => {
                    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                    self.stream = Some(s);
                }
                Err(e) if e.kind() == ErrorKind::ConnectionRefused => return Outcome::Refused,
                Err(e) => return Outcome::Incomplete(format!("connect: {e}")),
            }
        }
        let stream = self.stream.as_mut().unwrap();
        if stream.write_all(request.as_bytes()).is_err() {
            self.stream = None;
            return Outcome::Unread;
        }
        let (outcome, keep) = read_answer(stream);
        if !keep {
            self.stream = None;
        }
        outcome
    }
}

/// Reads one answer: (outcome, whether the connection may be used again).
fn read_answer(stream: &mut TcpStream) -> (Outcome, bool) {
    let mut buf = Vec::new();
    let mut piece = [0u8; 4096];
    let ended = |buf: &Vec<u8>, why: String| {
        if buf.is_empty() {
            (Outcome::Unread, false)
        } else {
            (
                Outcome::Incomplete(format!("{why} after {} bytes", buf.len())),
                false,
            )
        }
    };
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut piece) {
            Ok(0) => return ended(&buf, "closed".into()),
            Ok(n) => buf.extend_from_slice(&piece[..n]),
            Err(e) => return ended(&buf, e.to_string()),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let status: u16 = head.split(' ').nth(1).unwrap().parse().unwrap();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    let length: usize = header("content-length:")
        .expect("answers carry a Content-Length")
        .parse()
        .unwrap();
    while buf.len() < head_end + length {
        match stream.read(&mut piece) {
            Ok(0) => return ended(&buf, "closed in the body".into()),
            Ok(n) => buf.extend_from_slice(&piece[..n]),
            Err(e) => return ended(&buf, format!("{e} in the body")),
        }
    }
    let keep = header("connection:").as_deref() != Some("close");
    (Outcome::Answered(status), keep)
}

/// What one load client saw, by e-licence for the answers.
#[derive(Debug, Default)]
struct Tally {
    answered: HashMap<u16, usize>,
    refused: usize,
    unread: usize,
    incomplete: Vec<String>,
}

/// Posts scans of `code` until a connect is refused (or `give_up`).
fn load(address: String, officer: String, code: String, sent: Arc<AtomicUsize>) -> Tally {
    let mut client = Client::new(&address);
    let mut tally = Tally::default();
    let give_up = Instant::now() + Duration::from_secs(120);
    while Instant::now() < give_up {
        match client.post("/api/v1/verify", &officer, &json!({ "code": code })) {
            Outcome::Answered(status) => *tally.answered.entry(status).or_default() += 1,
            Outcome::Refused => {
                tally.refused += 1;
                break;
            }
            Outcome::Unread => tally.unread += 1,
            Outcome::Incomplete(why) => tally.incomplete.push(why),
        }
        sent.fetch_add(1, Ordering::Relaxed);
    }
    tally
}

/// Issues an e-licence through the process; returns (its id, its QR code text).
async fn issue(cluster: &Cluster, db: &TestDb, number: &str) -> (String, String) {
    db.seed(&record_with_photo(number));
    let holder = db.token(Role::Holder, Some(number));
    let res = cluster.apply_on_file(0, &holder).await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    (
        body["e_licence_id"].as_str().unwrap().to_owned(),
        body["display"]["code"].as_str().unwrap().to_owned(),
    )
}

/// Audit rows of scans of `e_licence_id`.
fn audit_rows(db: &TestDb, e_licence_id: &str) -> usize {
    let mut conn = db.db.get().unwrap();
    let filter = audit::AuditFilter {
        e_licence_id: Some(e_licence_id.to_owned()),
        limit: i64::MAX,
        ..Default::default()
    };
    audit::page(&mut conn, &filter).unwrap().len()
}

/// `clients` keep-alive clients scan two e-licences; `signal` is sent once they have had
/// answers for a while; they go on until their connects are refused.
async fn signal_during_load(backend: Backend, signal: libc::c_int, clients: usize) {
    let started = Instant::now();
    let db = TestDb::new(backend);
    let timeout = TIMEOUT_SECS.to_string();
    let mut cluster = Cluster::start(&db, 1, &["--shutdown-timeout-secs", &timeout]).await;
    let licences = [
        issue(&cluster, &db, NUMBER).await,
        issue(&cluster, &db, OTHER_NUMBER).await,
    ];
    let officer = db.token(Role::Officer, None);
    let sent = Arc::new(AtomicUsize::new(0));
    let loads: Vec<_> = (0..clients)
        .map(|i| {
            let (address, officer, sent) = (
                cluster.servers[0].address.clone(),
                officer.clone(),
                sent.clone(),
            );
            let code = licences[i % 2].1.clone();
            std::thread::spawn(move || load(address, officer, code, sent))
        })
        .collect();
    // Under way on every client before the signal.
    while sent.load(Ordering::Relaxed) < 40 * clients {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let before_signal = sent.load(Ordering::Relaxed);
    let server = &mut cluster.servers[0];
    let signalled = Instant::now();
    server.signal(signal);
    let status = server.wait_for_exit(Duration::from_secs(TIMEOUT_SECS + 5));
    let stopped_in = signalled.elapsed();
    let log = server.log();
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status {status:?} after {stopped_in:?}; its log:\n{log}"
    );
    let tallies: Vec<Tally> = loads.into_iter().map(|t| t.join().unwrap()).collect();

    let mut answered = [0, 0];
    for (i, tally) in tallies.iter().enumerate() {
        assert!(tally.incomplete.is_empty(), "client {i}: {tally:?}");
        assert_eq!(tally.refused, 1, "client {i} ends on a refused connect");
        assert_eq!(
            tally.answered.keys().copied().collect::<Vec<_>>(),
            vec![200],
            "client {i}: every answer is a verification: {tally:?}"
        );
        answered[i % 2] += tally.answered[&200];
    }
    for (n, (id, _)) in licences.iter().enumerate() {
        assert_eq!(
            audit_rows(&db, id),
            answered[n],
            "every answered scan of e-licence {n}, and no other, has its audit row"
        );
    }
    assert!(log.contains("shutdown started"), "{log}");
    assert!(log.contains("shutdown complete"), "{log}");
    let unread: usize = tallies.iter().map(|t| t.unread).sum();
    println!(
        "{backend:?}, signal {signal}: {} answered ({before_signal} before the signal), \
         {unread} unread, exit {stopped_in:?} after the signal, test {:?}",
        answered[0] + answered[1],
        started.elapsed()
    );
}

async fn sigterm_during_a_verification_load_answers_and_audits_every_accepted_scan(
    backend: Backend,
) {
    signal_during_load(backend, libc::SIGTERM, 8).await;
}

async fn sigint_stops_as_gracefully_as_sigterm(backend: Backend) {
    signal_during_load(backend, libc::SIGINT, 2).await;
}

/// Holds the submission's row (PostgreSQL) or the write lock (SQLite) so that a claim on it
/// waits; dropped, it lets the claim through.
enum Blocker {
    Sqlite(diesel::SqliteConnection),
    Pg(diesel::PgConnection),
}

impl Blocker {
    fn hold(db: &TestDb, submission_id: &str) -> Blocker {
        use diesel::connection::SimpleConnection;
        use diesel::Connection;
        match &db.url {
            elicence::config::DatabaseUrl::Sqlite(path) => {
                let mut c = diesel::SqliteConnection::establish(path.to_str().unwrap()).unwrap();
                c.batch_execute("BEGIN IMMEDIATE").unwrap();
                Blocker::Sqlite(c)
            }
            elicence::config::DatabaseUrl::Postgres(url) => {
                let mut c = diesel::PgConnection::establish(url).unwrap();
                c.batch_execute(&format!(
                    "BEGIN; SELECT id FROM photo_submissions WHERE id = '{submission_id}' FOR UPDATE"
                ))
                .unwrap();
                Blocker::Pg(c)
            }
        }
    }

    fn release(self) {
        use diesel::connection::SimpleConnection;
        match self {
            Blocker::Sqlite(mut c) => c.batch_execute("ROLLBACK").unwrap(),
            Blocker::Pg(mut c) => c.batch_execute("ROLLBACK").unwrap(),
        }
    }
}

/// A photo of the seeded holder `NUMBER` waiting for review, submitted at `now`.
fn pending_submission(db: &Database, now: DateTime<Utc>) -> submissions::SubmissionRow {
    photo_review::submit(
        &mut db.get().unwrap(),
        &LicenceNumber::parse(NUMBER).unwrap(),
        &Intake {
            jpeg: b"a normalised photo",
            prechecks_json: "[]",
            source: PhotoSource::Camera,
            purpose: Purpose::FirstApplication,
        },
        now.date_naive(),
        now,
        now + chrono::Duration::days(1),
    )
    .unwrap()
}

/// The actions of the review audit on `submission_id`, oldest first.
fn review_actions(db: &Database, submission_id: &str) -> Vec<&'static str> {
    submissions::audit_page(
        &mut db.get().unwrap(),
        &submissions::ReviewAuditFilter {
            submission_id: Some(submission_id.to_owned()),
            limit: 10,
            ..Default::default()
        },
    )
    .unwrap()
    .into_iter()
    .map(|r| r.action.code())
    .collect()
}

/// A claim whose request the shutdown timeout cuts short commits after its connection is
/// gone: the reviewer never learns they hold the item. The shutdown gives it back, audited.
async fn a_claim_cut_short_by_the_shutdown_is_released(backend: Backend) {
    let started = Instant::now();
    let db = TestDb::new(backend);
    let mut cluster = Cluster::start(&db, 1, &["--shutdown-timeout-secs", "1"]).await;
    db.seed(&record_with_photo(NUMBER));
    let submission = pending_submission(&db.db, chrono::Utc::now());
    let reviewer = db.token(Role::Reviewer, None);

    let blocker = Blocker::hold(&db, &submission.id);
    let address = cluster.servers[0].address.clone();
    let path = format!("/review/submissions/{}/claim", submission.id);
    let path = format!("/api/v1{path}");
    let claim =
        std::thread::spawn(move || Client::new(&address).post(&path, &reviewer, &json!({})));
    // The claim reaches the server and waits on the database.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let server = &mut cluster.servers[0];
    server.signal(libc::SIGTERM);
    // Past the timeout the connection is closed with the claim still waiting.
    let outcome = claim.join().unwrap();
    assert_eq!(outcome, Outcome::Unread, "{}", server.log());
    blocker.release();
    let status = server.wait_for_exit(Duration::from_secs(10));
    let log = server.log();
    assert!(
        status.is_some_and(|s| s.success()),
        "{status:?}; its log:\n{log}"
    );
    assert!(log.contains("claims_released=1"), "{log}");

    let row = submissions::find(&mut db.db.get().unwrap(), &submission.id)
        .unwrap()
        .unwrap();
    assert_eq!((row.claimed_by, row.claim_expires_at), (None, None));
    assert_eq!(
        review_actions(&db.db, &submission.id),
        ["claim", "release_unfinished"]
    );
    println!(
        "{backend:?}: claim released at shutdown, test {:?}",
        started.elapsed()
    );
}

/// Only the lease the unfinished claim set is given back: not one its reviewer renewed since,
/// nor one that lapsed. The release is audited and the admin's audit route filters on it.
async fn an_unfinished_claim_releases_only_the_lease_it_set(backend: Backend) {
    let app = spawn_app(backend).await;
    app.seed(&record_with_photo(NUMBER));
    let id = pending_submission(&app.state.db, test_now()).id;
    let reviewer = app.token(Role::Reviewer, None);
    let claim = |minute: i64| {
        let (app, reviewer, id) = (&app, &reviewer, &id);
        async move {
            app.clock
                .set(test_now() + chrono::Duration::minutes(minute));
            let path = format!("/api/v1/review/submissions/{id}/claim");
            assert_eq!(
                app.post_json(&path, reviewer, &json!({})).await.status(),
                200
            );
            let row = submissions::find(&mut app.state.db.get().unwrap(), id)
                .unwrap()
                .unwrap();
            (row.claimed_by.unwrap(), row.claim_expires_at.unwrap())
        }
    };
    let release = |who: &str, until, minute: i64| {
        let at = test_now() + chrono::Duration::minutes(minute);
        photo_review::release_unfinished(&mut app.state.db.get().unwrap(), &id, who, until, at)
            .unwrap()
    };
    let (who, first) = claim(1).await;
    let (_, renewed) = claim(2).await;
    assert!(
        !release(&who, first, 3),
        "renewed since: the reviewer knows"
    );
    assert!(
        !release(&who, renewed, 13),
        "lapsed: back in the queue already"
    );
    assert!(release(&who, renewed, 3));
    assert!(!release(&who, renewed, 3), "once");
    let row = submissions::find(&mut app.state.db.get().unwrap(), &id)
        .unwrap()
        .unwrap();
    assert_eq!((row.claimed_by, row.claim_expires_at), (None, None));
    assert_eq!(
        review_actions(&app.state.db, &id),
        ["claim", "claim", "release_unfinished"]
    );
    let admin = app.token(Role::Admin, None);
    let res = app
        .get(
            "/api/v1/admin/audit/reviews?action=release_unfinished",
            Some(&admin),
        )
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
}

/// Once drained, the verifier has stopped: a later scan is refused with a 503, not left
/// waiting.
async fn a_drained_verifier_refuses_later_scans(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    scan(&app, &officer, json!({ "code": code })).await;
    let queue = app.state.verifications.clone();
    let drained =
        actix_web::web::block(move || queue.drain(Instant::now() + Duration::from_secs(10)))
            .await
            .unwrap();
    assert_eq!(
        drained,
        Drained {
            scans: 0,
            stopped: true
        }
    );
    let res = app
        .post_json("/api/v1/verify", &officer, &json!({ "code": code }))
        .await;
    let (code, _) = error_code(res, 503).await;
    assert_eq!(code, "storage_unavailable");
}

crate::both_backends!(
    an_unfinished_claim_releases_only_the_lease_it_set,
    a_drained_verifier_refuses_later_scans,
    sigterm_during_a_verification_load_answers_and_audits_every_accepted_scan,
    sigint_stops_as_gracefully_as_sigterm,
    a_claim_cut_short_by_the_shutdown_is_released,
);
