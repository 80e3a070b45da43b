use crate::helpers::{record, test_now, Backend, TestDb, NUMBER, OTHER_NUMBER};
use elicence::config::PoolSettings;
use elicence::domain::licence::LicenceNumber;
use elicence::registry::import::{import_ndjson, import_ndjson_jobs, ImportOptions, ImportReport};
use elicence::storage::{licences, registry_events};
use serde_json::{json, Value};

fn line(v: &serde_json::Value) -> String {
    serde_json::to_string(v).unwrap()
}

async fn good_duplicate_and_broken_lines(backend: Backend) {
    let t = TestDb::new(backend);
    let mut second = record(OTHER_NUMBER);
    second["name"] = json!("李娜");
    second["sex"] = json!("F");
    let mut newer = record(NUMBER);
    newer["points"] = json!(6);
    let mut bad_class = record("440305199001010018");
    bad_class["classes"] = json!(["Z"]);
    let input = [
        line(&record(NUMBER)),
        "{not json".to_owned(),
        line(&second),
        String::new(),
        line(&bad_class),
        r#"{"number":"110101199001011234"}"#.to_owned(),
        line(&newer), // the same licence again: the last line wins
    ]
    .join("\n");
    let mut heard = Vec::new();
    let report =
        import_ndjson(&t.db, input.as_bytes(), test_now(), |r| heard.push(r.line)).unwrap();
    assert_eq!(report.accepted, 3);
    let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
    assert_eq!(lines, [2, 5, 6]);
    assert_eq!(heard, lines);
    assert!(report.rejected[0].reason.starts_with("invalid JSON"));
    assert!(
        report.rejected[1].reason.contains("classes"),
        "{}",
        report.rejected[1].reason
    );
    assert!(
        report.rejected[2].reason.contains("missing field"),
        "{}",
        report.rejected[2].reason
    );

    let mut conn = t.db.get().unwrap();
    assert_eq!(licences::count(&mut conn).unwrap(), 2);
    let stored = licences::find(&mut conn, &LicenceNumber::parse(NUMBER).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(stored.licence.points, 6);
    assert_eq!(stored.synced_at, test_now());
}

async fn import_is_an_idempotent_upsert_that_records_sync_time(backend: Backend) {
    let t = TestDb::new(backend);
    let input = format!(
        "{}\n{}\n",
        line(&record(NUMBER)),
        line(&record(OTHER_NUMBER))
    );
    import_ndjson(&t.db, input.as_bytes(), test_now(), |_| {}).unwrap();
    let later = test_now() + chrono::Duration::hours(3);
    let report = import_ndjson(&t.db, input.as_bytes(), later, |_| {}).unwrap();
    assert_eq!(report.accepted, 2);
    let mut conn = t.db.get().unwrap();
    assert_eq!(licences::count(&mut conn).unwrap(), 2);
    let stored = licences::find(&mut conn, &LicenceNumber::parse(NUMBER).unwrap())
        .unwrap()
        .unwrap();
    assert_eq!(stored.synced_at, later);
    assert_eq!(stored.licence.name, "张伟");
}

async fn a_large_import_spans_several_batches(backend: Backend) {
    let t = TestDb::new(backend);
    let mut out = Vec::new();
    elicence::registry::generate::write_ndjson(&mut out, 12_345, 3, test_now().date_naive())
        .unwrap();
    let report = import_ndjson(&t.db, out.as_slice(), test_now(), |_| {}).unwrap();
    assert_eq!(report.accepted, 12_345);
    assert!(report.rejected.is_empty());
    assert_eq!(licences::count(&mut t.db.get().unwrap()).unwrap(), 12_345);
}

/// Photos on file are normalised and pre-checked when they arrive, not when a holder applies.
async fn photos_on_file_are_prepared_on_import(backend: Backend) {
    use base64::Engine;
    let t = TestDb::new(backend);
    let mut good = crate::helpers::record_with_photo(NUMBER);
    good["photo_taken"] = json!("2026-05-01");
    let mut grey = record(OTHER_NUMBER);
    grey["photo"] = json!(
        base64::engine::general_purpose::STANDARD.encode(crate::images::grey_background_jpeg())
    );
    let input = format!("{}\n{}\n", line(&good), line(&grey));
    import_ndjson(&t.db, input.as_bytes(), test_now(), |_| {}).unwrap();
    let mut conn = t.db.get().unwrap();
    let number = LicenceNumber::parse(NUMBER).unwrap();
    let (sha, failed) = licences::prepared_photo(&mut conn, &number)
        .unwrap()
        .unwrap();
    assert_eq!(failed.as_deref(), Some(""));
    let (stored, media_type) = elicence::storage::photos::get(&mut conn, &sha.unwrap())
        .unwrap()
        .expect("the normalised copy is stored");
    assert_eq!(media_type, "image/jpeg");
    assert_eq!(image::load_from_memory(&stored).unwrap().width(), 330);
    let other = LicenceNumber::parse(OTHER_NUMBER).unwrap();
    let (_, failed) = licences::prepared_photo(&mut conn, &other)
        .unwrap()
        .unwrap();
    assert_eq!(failed.as_deref(), Some("background_not_white"));
}

/// A class change and an authority change sent as import event lines have the effects they
/// have through the admin route (the same checks, `lifecycle::supersede_and_reapply`), and
/// the fresh e-licences carry the new classes, then the new authority.
async fn class_and_authority_change_event_lines_supersede_as_the_route_does(backend: Backend) {
    use crate::lifecycle::{claims, document, supersede_and_reapply, Via};
    let app = crate::helpers::spawn_app(backend).await;
    let (holder, first_code, _) = crate::helpers::issued(&app).await;
    let officer = app.token(elicence::domain::role::Role::Officer, None);
    let staff = (holder.as_str(), officer.as_str());

    let second_code = supersede_and_reapply(
        &app,
        staff,
        (&first_code, Via::Import),
        json!({"type": "classes_changed", "classes": ["B2", "D"]}),
        "class_changed",
    )
    .await;
    assert_eq!(claims(&second_code)["c"], 2064, "B2 (bit 4) and D (bit 11)");
    let doc = document(&app, &holder).await;
    assert_eq!(doc["front_page"]["classes"], json!(["B2", "D"]));
    assert_eq!(
        doc["secondary_page"]["issuing_authority"],
        "北京市公安局公安交通管理局"
    );

    let authority = "上海市公安局交通警察总队";
    let third_code = supersede_and_reapply(
        &app,
        staff,
        (&second_code, Via::Import),
        json!({"type": "authority_changed", "authority": authority}),
        "authority_changed",
    )
    .await;
    let doc = document(&app, &holder).await;
    assert_eq!(doc["secondary_page"]["issuing_authority"], authority);
    assert_eq!(doc["front_page"]["classes"], json!(["B2", "D"]));
    assert_eq!(claims(&third_code)["c"], 2064);
    // The first code stays refused after both.
    let v = crate::helpers::scan(&app, &officer, json!({"code": first_code})).await;
    assert_eq!(v["reasons"], json!(["superseded"]));
}

/// `count` generated records, one JSON value each.
fn generated(count: u64) -> Vec<Value> {
    let mut out = Vec::new();
    elicence::registry::generate::write_ndjson(&mut out, count, 7, test_now().date_naive())
        .unwrap();
    out.split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .map(|l| serde_json::from_slice(l).unwrap())
        .collect()
}

/// A re-sent registry with something of everything, spanning several batches: records
/// changed (points, classes) and unchanged, event lines, a licence sent twice in a row, and
/// broken lines. Returns the lines and the line numbers of the broken ones.
fn resent(records: &[Value]) -> (Vec<String>, Vec<usize>) {
    let mut lines = Vec::new();
    let mut broken = Vec::new();
    for (i, r) in records.iter().enumerate() {
        let mut r = r.clone();
        if i % 7 == 0 {
            r["points"] = json!((r["points"].as_u64().unwrap() + 1) % 13);
        }
        if i % 11 == 0 {
            r["classes"] = json!(["C1"]);
        }
        lines.push(line(&r));
        if i % 17 == 0 {
            let event = json!({"type": "medical_due_changed", "medical_due": "2027-01-31"});
            lines.push(line(&json!({"number": r["number"], "event": event})));
        }
        if i % 1000 == 500 {
            lines.push("{not json".to_owned());
            broken.push(lines.len());
            r["points"] = json!(3);
            lines.push(line(&r)); // the same licence again, at once
        }
        if i % 2500 == 3 {
            let mut bad = r.clone();
            bad["classes"] = json!(["Z"]);
            lines.push(line(&bad));
            broken.push(lines.len());
        }
    }
    (lines, broken)
}

/// A licence's number, its stored form (debug-printed), and its events (kind, detail).
type LicenceState = (String, String, Vec<(String, String)>);

/// Everything an import leaves of `numbers`: each licence as stored, with its events.
fn end_state(t: &TestDb, numbers: &[String]) -> Vec<LicenceState> {
    let mut conn = t.db.get().unwrap();
    numbers
        .iter()
        .map(|n| {
            let stored = licences::find(&mut conn, &LicenceNumber::parse(n).unwrap())
                .unwrap()
                .unwrap();
            let events = registry_events::for_licence(&mut conn, n, None, 1000)
                .unwrap()
                .into_iter()
                .map(|e| (e.kind, e.detail))
                .collect();
            (n.clone(), format!("{:?}", stored), events)
        })
        .collect()
}

fn import_lines(t: &TestDb, lines: &[String], options: ImportOptions) -> ImportReport {
    let input = lines.join("\n");
    import_ndjson_jobs(&t.db, input.as_bytes(), test_now(), options, |_| {}).unwrap()
}

/// A fresh import, the same file again (nothing recorded), then a re-sent registry with
/// changes, event lines and broken lines: line-numbered rejects in line order, changes
/// recorded as events, and the same end state and report with four writers as with one,
/// and through `COPY` as with multi-row upserts (PostgreSQL).
async fn parallel_writers_leave_what_one_writer_leaves(backend: Backend) {
    let records = generated(12_000);
    let numbers: Vec<String> = records
        .iter()
        .map(|r| r["number"].as_str().unwrap().to_owned())
        .collect();
    let fresh: Vec<String> = records.iter().map(line).collect();
    let (changed, broken) = resent(&records);
    let pool = PoolSettings {
        max_size: 6,
        ..PoolSettings::default()
    };
    let mut outcomes = Vec::new();
    let runs = [
        ImportOptions {
            jobs: 1,
            copy: false,
        },
        ImportOptions::jobs(1),
        ImportOptions::jobs(4),
    ];
    for jobs in runs {
        let t = TestDb::with_pool(backend, pool.clone());
        let first = import_lines(&t, &fresh, jobs);
        assert_eq!(first.accepted, 12_000);
        assert_eq!((first.events_recorded, first.rejected.len()), (0, 0));
        let again = import_lines(&t, &fresh, jobs);
        assert_eq!(again.accepted, 12_000);
        assert_eq!(again.events_recorded, 0, "unchanged records record nothing");
        let report = import_lines(&t, &changed, jobs);
        let lines: Vec<usize> = report.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, broken, "{:?}", &report.rejected[..3]);
        assert_eq!(report.event_lines, 12_000 / 17 + 1);
        // Points on one in 7, classes on one in 11, the due date on one in 17 (unless the
        // licence had it already), the licences sent twice.
        assert!(
            report.events_recorded > 12_000 / 7 + 12_000 / 11,
            "{report:?}"
        );
        outcomes.push((report, end_state(&t, &numbers)));
    }
    let one = &outcomes[0];
    for other in &outcomes[1..] {
        assert_eq!(one.0, other.0);
        assert!(one.1 == other.1, "the end states differ");
    }
    let with_points_events = one
        .1
        .iter()
        .filter(|s| s.2.iter().any(|e| e.0 == "points_changed"))
        .count();
    assert!(with_points_events >= 12_000 / 7);
}

/// A re-sent record with other classes supersedes the holder's e-licence, as the class
/// change event does; sent again, it changes nothing.
async fn a_record_with_other_classes_supersedes_the_e_licence(backend: Backend) {
    use crate::lifecycle::admin_list;
    let app = crate::helpers::spawn_app(backend).await;
    let (_holder, code, _) = crate::helpers::issued(&app).await;
    let officer = app.token(elicence::domain::role::Role::Officer, None);
    let mut changed = crate::helpers::record_with_photo(NUMBER);
    changed["classes"] = json!(["B2", "D"]);
    let input = format!("{}\n{}\n", line(&changed), line(&record(OTHER_NUMBER)));
    for (round, superseded) in [(1, 1), (2, 0)] {
        let report = import_ndjson(&app.test_db.db, input.as_bytes(), test_now(), |_| {}).unwrap();
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert_eq!(report.accepted, 2);
        assert_eq!(
            (report.events_recorded, report.superseded),
            (superseded, superseded),
            "round {round}"
        );
    }
    let v = crate::helpers::scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["reasons"], json!(["superseded"]));
    let events = admin_list(&app, "events").await;
    assert_eq!(events.len(), 1);
    assert_eq!(events[0]["kind"], "classes_changed");
    assert_eq!(events[0]["source"], "import");
    let history = admin_list(&app, "e-licences").await;
    assert_eq!(history[0]["superseded_reason"], "class_changed");
}

crate::both_backends!(
    class_and_authority_change_event_lines_supersede_as_the_route_does,
    photos_on_file_are_prepared_on_import,
    good_duplicate_and_broken_lines,
    import_is_an_idempotent_upsert_that_records_sync_time,
    a_large_import_spans_several_batches,
    parallel_writers_leave_what_one_writer_leaves,
    a_record_with_other_classes_supersedes_the_e_licence,
);
