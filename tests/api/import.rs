use crate::helpers::{record, test_now, Backend, TestDb, NUMBER, OTHER_NUMBER};
use elicence::domain::licence::LicenceNumber;
use elicence::registry::import::import_ndjson;
use elicence::storage::licences;
use serde_json::json;

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

crate::both_backends!(
    class_and_authority_change_event_lines_supersede_as_the_route_does,
    photos_on_file_are_prepared_on_import,
    good_duplicate_and_broken_lines,
    import_is_an_idempotent_upsert_that_records_sync_time,
    a_large_import_spans_several_batches,
);
