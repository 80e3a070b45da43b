//! `/metrics` of a real `elicence serve` process, on its own listener (`--metrics-bind`):
//! known traffic is sent, the page is scraped before and after and parsed with a Prometheus
//! text-format parser, and the counters moved by exactly that traffic. The public port does
//! not serve it. Also: `--log-format json`, and `import --metrics-file`.

use crate::helpers::{record_with_photo, Backend, TestDb, NUMBER};
use crate::processes::Cluster;
use elicence::domain::role::Role;
use prometheus_parse::{Sample, Scrape, Value};
use serde_json::json;
use std::time::{Duration, Instant};

/// Every family `serve` exports (the import's are in its own file).
const FAMILIES: &[&str] = &[
    "elicence_http_requests_total",
    "elicence_http_request_duration_seconds",
    "elicence_verify_scans_total",
    "elicence_verify_batch_size",
    "elicence_verify_audit_commit_seconds",
    "elicence_issuance_total",
    "elicence_issuance_refusals_total",
    "elicence_review_decisions_total",
    "elicence_review_lease_expiries_total",
    "elicence_review_pending",
    "elicence_review_overdue",
    "elicence_review_oldest_deadline_remaining_seconds",
    "elicence_review_lapsed_leases",
    "elicence_status_list_age_seconds",
    "elicence_status_list_entries",
    "elicence_status_list_publish_delay_seconds",
    "elicence_signing_active_key_age_seconds",
    "elicence_signing_published_keys",
    "elicence_signing_key_reloads_total",
    "elicence_signing_key_last_load_ok",
    "elicence_db_pool_connections",
    "elicence_db_pool_waiting",
    "elicence_db_checkout_timeouts_total",
    "elicence_storage_unavailable_total",
    "elicence_sqlite_wal_bytes",
    "elicence_verify_audit_unindexed_rows",
    "elicence_code_ttl_seconds",
];

struct Page {
    text: String,
    samples: Vec<Sample>,
}

impl Page {
    fn parse(text: String) -> Page {
        let lines = text.lines().map(|l| Ok(l.to_owned()));
        let samples = Scrape::parse(lines)
            .expect("the text format parses")
            .samples;
        Page { text, samples }
    }

    /// The sum of the counter or gauge `name` over the series with these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels)
            .map(|s| match s.value {
                Value::Counter(v) | Value::Gauge(v) | Value::Untyped(v) => v,
                _ => panic!("{name} is not a counter or a gauge"),
            })
            .sum()
    }

    /// Observations of the histogram `name` over the series with these labels.
    fn observations(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.matching(name, labels)
            .map(|s| match &s.value {
                Value::Histogram(buckets) => buckets
                    .iter()
                    .find(|b| b.less_than.is_infinite())
                    .map_or(0.0, |b| b.count),
                _ => panic!("{name} is not a histogram"),
            })
            .sum()
    }

    fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&str, &str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| {
            s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v))
        })
    }

    fn has_family(&self, name: &str) -> bool {
        self.text.contains(&format!("# TYPE {name} "))
    }
}

async fn scrape(client: &reqwest::Client, metrics: &str) -> Page {
    let res = client
        .get(format!("{metrics}/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    Page::parse(res.text().await.unwrap())
}

async fn counters_move_by_exactly_the_traffic_sent(backend: Backend) {
    let db = TestDb::new(backend);
    db.seed(&record_with_photo(NUMBER));
    let holder = db.token(Role::Holder, Some(NUMBER));
    let officer = db.token(Role::Officer, None);
    let args = [
        "--metrics-bind",
        "127.0.0.1:0",
        "--status-list-interval-ms",
        "100",
        "--pool-size",
        "3",
    ];
    let cluster = Cluster::start(&db, 1, &args).await;
    let (c, url) = (&cluster.client, |p: &str| cluster.url(0, p));
    let metrics = cluster.servers[0]
        .metrics_address()
        .unwrap_or_else(|| panic!("no metrics address logged\n{}", cluster.logs()));

    let before = scrape(c, &metrics).await;
    let issued: serde_json::Value = c
        .post(url("/api/v1/me/e-licence"))
        .bearer_auth(&holder)
        .json(&json!({"photo": "on_file"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let code = issued["display"]["code"].as_str().unwrap();
    let barcode = issued["display"]["barcode"].as_str().unwrap();
    for body in [
        json!({"code": code}),
        json!({"barcode": barcode}),
        json!({"code": "not.a.code"}),
    ] {
        let res = c
            .post(url("/api/v1/verify"))
            .bearer_auth(&officer)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{}", cluster.logs());
    }
    for _ in 0..2 {
        let res = c
            .get(url("/api/v1/me/eligibility"))
            .bearer_auth(&holder)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let res = c.get(url("/no/such/route")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    // Never on the public port (one more unmatched request).
    let res = c.get(url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 404);

    // The status list carrying the new e-licence is signed within a few intervals.
    let started = Instant::now();
    let after = loop {
        let page = scrape(c, &metrics).await;
        if page.observations("elicence_status_list_publish_delay_seconds", &[]) > 0.0 {
            break page;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no status list published\n{}",
            page.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let moved = |name: &str, labels: &[(&str, &str)]| {
        after.value(name, labels) - before.value(name, labels)
    };
    let http = "elicence_http_requests_total";
    let get = |route| [("route", route), ("method", "GET"), ("status_class", "2xx")];
    assert_eq!(moved(http, &get("/api/v1/me/eligibility")), 2.0);
    let verify = [
        ("route", "/api/v1/verify"),
        ("method", "POST"),
        ("status_class", "2xx"),
    ];
    assert_eq!(moved(http, &verify), 3.0);
    assert_eq!(
        moved(http, &[("route", "unmatched"), ("status_class", "4xx")]),
        2.0
    );
    // No raw path ever becomes a label.
    assert_eq!(after.value(http, &[("route", "/no/such/route")]), 0.0);
    assert!(!after.text.contains("/no/such/route"));
    let duration = "elicence_http_request_duration_seconds";
    assert_eq!(
        after.observations(duration, &verify) - before.observations(duration, &verify),
        3.0
    );

    let scans = "elicence_verify_scans_total";
    let scan = |channel, outcome| [("channel", channel), ("outcome", outcome)];
    assert_eq!(moved(scans, &scan("qr", "valid")), 1.0);
    assert_eq!(moved(scans, &scan("barcode", "valid")), 1.0);
    assert_eq!(moved(scans, &scan("qr", "invalid")), 1.0);
    assert_eq!(moved(scans, &[]), 3.0);
    let batches = after.observations("elicence_verify_batch_size", &[])
        - before.observations("elicence_verify_batch_size", &[]);
    assert!((1.0..=3.0).contains(&batches), "{batches} batches");
    // On SQLite every answer waited for a sync of the log, one for the batches committed
    // since the last; PostgreSQL's commits are synced by the server.
    let syncs = after.observations("elicence_verify_audit_sync_seconds", &[])
        - before.observations("elicence_verify_audit_sync_seconds", &[]);
    match backend {
        Backend::Sqlite => assert!((1.0..=batches).contains(&syncs), "{syncs} syncs"),
        Backend::Postgres => assert_eq!(syncs, 0.0),
    }
    let commits = after.observations("elicence_verify_audit_commit_seconds", &[])
        - before.observations("elicence_verify_audit_commit_seconds", &[]);
    assert_eq!(commits, batches, "one audit commit per batch");

    assert_eq!(moved("elicence_issuance_total", &[("channel", "app")]), 1.0);
    assert_eq!(
        moved("elicence_issuance_total", &[("channel", "counter")]),
        0.0
    );
    assert_eq!(moved("elicence_issuance_refusals_total", &[]), 0.0);
    assert_eq!(after.value("elicence_review_pending", &[]), 0.0);
    assert_eq!(
        after.value("elicence_status_list_entries", &[("status", "valid")]),
        1.0
    );
    assert_eq!(after.value("elicence_signing_published_keys", &[]), 1.0);
    assert_eq!(after.value("elicence_code_ttl_seconds", &[]), 180.0);
    assert_eq!(after.value("elicence_signing_key_last_load_ok", &[]), 1.0);
    let wal = after.value("elicence_sqlite_wal_bytes", &[]);
    match backend {
        Backend::Sqlite => assert!(wal > 0.0),
        Backend::Postgres => assert_eq!(wal, 0.0),
    }
    // The three scans above are indexed by the checkpoint thread, a few times a second.
    let unindexed = after.value("elicence_verify_audit_unindexed_rows", &[]);
    match backend {
        Backend::Sqlite => assert!((0.0..=3.0).contains(&unindexed), "{unindexed}"),
        Backend::Postgres => assert_eq!(unindexed, 0.0),
    }
    let missing: Vec<_> = FAMILIES.iter().filter(|f| !after.has_family(f)).collect();
    assert!(missing.is_empty(), "missing {missing:?}\n{}", after.text);
}

/// `--log-format json`: one JSON object a line; a request's closing line carries its id, its
/// route pattern, its status and its latency.
async fn json_logs_carry_the_request_fields(backend: Backend) {
    let db = TestDb::new(backend);
    let cluster = Cluster::start(&db, 1, &["--log-format", "json"]).await;
    let res = cluster
        .client
        .get(cluster.url(0, "/api/v1/me/eligibility"))
        .bearer_auth("not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let started = Instant::now();
    let line = loop {
        let log = cluster.servers[0].log();
        let lines: Vec<serde_json::Value> = log
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let access = lines.into_iter().find(|l| l["span"]["route"].is_string());
        if let Some(line) = access {
            break line;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "no access line:\n{log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(line["span"]["route"], "/api/v1/me/eligibility");
    assert_eq!(line["status"], 401);
    assert!(
        line["latency_ms"].as_f64().is_some_and(|ms| ms > 0.0),
        "{line}"
    );
    let id = line["span"]["request_id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {line}");
}

/// `import --metrics-file`: the import's counters in the text format.
async fn import_writes_its_counters(backend: Backend) {
    let db = TestDb::new(backend);
    let dir = tempfile::tempdir().unwrap();
    let feed = dir.path().join("feed.ndjson");
    let records = [
        record_with_photo(NUMBER).to_string(),
        record_with_photo(crate::helpers::OTHER_NUMBER).to_string(),
        "{not json".to_owned(),
    ];
    std::fs::write(&feed, records.join("\n")).unwrap();
    let out = dir.path().join("import.prom");
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_elicence"))
        .arg("import")
        .arg(&feed)
        .arg("--metrics-file")
        .arg(&out)
        .env("DATABASE_URL", db.url_string())
        .output()
        .unwrap();
    assert!(!status.status.success(), "one line is rejected");
    let page = Page::parse(std::fs::read_to_string(&out).unwrap());
    assert_eq!(
        page.value("elicence_import_rows_total", &[("kind", "record")]),
        2.0
    );
    assert_eq!(page.value("elicence_import_rejects_total", &[]), 1.0);
    assert!(page.value("elicence_import_duration_seconds", &[]) > 0.0);
    assert!(page.value("elicence_import_last_finished_timestamp_seconds", &[]) > 1.7e9);
}

crate::both_backends!(
    counters_move_by_exactly_the_traffic_sent,
    json_logs_carry_the_request_fields,
    import_writes_its_counters
);
