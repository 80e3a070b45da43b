use crate::helpers::{error_code, record, record_with_photo, spawn_app, Backend, NUMBER};
use elicence::domain::role::Role;
use serde_json::{json, Value};

const ISSUE: &str = "/api/v1/me/e-licence";

async fn issuance_with_the_photo_on_file_is_immediate_and_idempotent(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record_with_photo(NUMBER));
    let res = app.get(ISSUE, Some(&holder)).await;
    assert_eq!(error_code(res, 404).await.0, "e_licence_not_found");

    let res = app
        .post_json(ISSUE, &holder, &json!({"photo": "on_file"}))
        .await;
    assert_eq!(res.status(), 201);
    let first: Value = res.json().await.unwrap();
    let id = first["e_licence_id"].as_str().unwrap().to_owned();
    assert_eq!(first["state"], "current");
    assert_eq!(first["generated_at"], "2026-11-22T04:00:00Z");
    assert_eq!(first["front_page"]["name"], "张伟");
    assert_eq!(
        first["secondary_page"]["issuing_authority"],
        "北京市公安局公安交通管理局"
    );
    assert_eq!(first["photo_url"], "/api/v1/me/e-licence/photo");
    assert_eq!(
        first["display"]["code"]
            .as_str()
            .unwrap()
            .split('.')
            .count(),
        3
    );
    assert_eq!(first["display"]["barcode"].as_str().unwrap().len(), 20);
    assert_eq!(first["display"]["expires_at"], "2026-11-22T04:03:00Z");

    let res = app
        .post_json(ISSUE, &holder, &json!({"photo": "on_file"}))
        .await;
    assert_eq!(res.status(), 200);
    let again: Value = res.json().await.unwrap();
    assert_eq!(again["e_licence_id"], id.as_str());

    let got: Value = app.get(ISSUE, Some(&holder)).await.json().await.unwrap();
    assert_eq!(got["e_licence_id"], id.as_str());
    assert_ne!(
        got["display"]["code"], first["display"]["code"],
        "every read signs a fresh code"
    );

    let photo = app.get("/api/v1/me/e-licence/photo", Some(&holder)).await;
    assert_eq!(photo.status(), 200);
    // The photo on file is served as its normalised copy: a 330×480 JPEG.
    assert_eq!(photo.headers()["content-type"], "image/jpeg");
    assert_eq!(photo.headers()["x-content-type-options"], "nosniff");
    let served = image::load_from_memory(&photo.bytes().await.unwrap()).unwrap();
    assert_eq!((served.width(), served.height()), (330, 480));
}

async fn ineligible_or_photoless_licences_get_no_e_licence(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut r = record_with_photo(NUMBER);
    r["statuses"] = json!(["suspended"]);
    r["points"] = json!(12);
    let holder = app.holder(&r);
    let res = app
        .post_json(ISSUE, &holder, &json!({"photo": "on_file"}))
        .await;
    assert_eq!(res.status(), 422);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"]["code"], "not_eligible");
    let codes: Vec<&str> = body["error"]["details"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["suspended", "points_limit"]);

    let other = "310104198505052345";
    let holder = app.holder(&record(other));
    let res = app
        .post_json(ISSUE, &holder, &json!({"photo": "on_file"}))
        .await;
    assert_eq!(error_code(res, 409).await.0, "photo_required");
    let res = app
        .post_json(ISSUE, &holder, &json!({"photo": "selfie"}))
        .await;
    assert_eq!(error_code(res, 422).await.0, "invalid_body");
    let res = app.get("/api/v1/me/e-licence/code", Some(&holder)).await;
    assert_eq!(error_code(res, 404).await.0, "e_licence_not_found");

    // Staff roles cannot apply.
    let officer = app.token(Role::Officer, None);
    let res = app
        .post_json(ISSUE, &officer, &json!({"photo": "on_file"}))
        .await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");
}

async fn fifty_concurrent_applications_create_exactly_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record_with_photo(NUMBER));
    let requests = (0..50).map(|_| {
        app.client
            .post(app.url(ISSUE))
            .bearer_auth(&holder)
            .json(&json!({"photo": "on_file"}))
            .send()
    });
    let mut ids = std::collections::HashSet::new();
    let mut created = 0;
    for res in futures_util::future::join_all(requests).await {
        let res = res.unwrap();
        let status = res.status().as_u16();
        assert!(status == 200 || status == 201, "{status}");
        created += usize::from(status == 201);
        let body: Value = res.json().await.unwrap();
        ids.insert(body["e_licence_id"].as_str().unwrap().to_owned());
    }
    assert_eq!(created, 1);
    assert_eq!(ids.len(), 1);
}

/// The images show the code the app shows, and read back exactly with an independent decoder.
async fn code_images_show_the_current_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let holder = app.holder(&record_with_photo(NUMBER));
    let res = app.get("/api/v1/me/e-licence/qr.png", Some(&holder)).await;
    assert_eq!(error_code(res, 404).await.0, "e_licence_not_found");
    let issued: Value = app
        .post_json(ISSUE, &holder, &json!({"photo": "on_file"}))
        .await
        .json()
        .await
        .unwrap();
    let decode = crate::images::read_code;

    let res = app.get("/api/v1/me/e-licence/qr.png", Some(&holder)).await;
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(
        res.headers()["x-code-expires-at"],
        "2026-11-22T04:03:00+00:00"
    );
    let png = res.bytes().await.unwrap();
    assert_eq!(
        decode(&png, rxing::BarcodeFormat::QR_CODE),
        issued["display"]["code"].as_str().unwrap()
    );
    let png = app
        .get("/api/v1/me/e-licence/barcode.png", Some(&holder))
        .await
        .bytes()
        .await
        .unwrap();
    let barcode = issued["display"]["barcode"].as_str().unwrap();
    assert_eq!(decode(&png, rxing::BarcodeFormat::CODE_128), barcode);
    for path in [
        "/api/v1/me/e-licence/qr.svg",
        "/api/v1/me/e-licence/barcode.svg",
    ] {
        let res = app.get(path, Some(&holder)).await;
        assert_eq!(res.headers()["content-type"], "image/svg+xml");
        assert!(res.text().await.unwrap().starts_with("<svg"));
    }

    // Once the barcode is scanned, the images move on to a fresh code.
    let officer = app.token(Role::Officer, None);
    app.post_json("/api/v1/verify", &officer, &json!({"barcode": barcode}))
        .await;
    let png = app
        .get("/api/v1/me/e-licence/barcode.png", Some(&holder))
        .await
        .bytes()
        .await
        .unwrap();
    assert_ne!(decode(&png, rxing::BarcodeFormat::CODE_128), barcode);
}

/// Long names are shortened in the codes (and only there) so that every code fits its QR
/// version: a roadside code version 15, a minimal code version 10, at level M. The document
/// keeps the whole name; the code's name is its start and "…".
async fn long_names_are_shortened_in_the_codes_to_fit_their_qr_versions(backend: Backend) {
    use elicence::domain::purpose::Purpose;
    use elicence::offline::{KeySet, Verifier};
    use elicence::render::qr::QrMatrix;
    let app = spawn_app(backend).await;
    let jwks = app.jwks_bytes().await;
    let keys = || KeySet::from_jwks_json(&jwks).unwrap().0;
    let now = crate::helpers::test_now();
    for name in [
        "张伟",
        "欧阳娜娜",
        "买买提·艾力·阿不都热依木",
        "ALEXANDRA-MARIA KONSTANTINOPOULOU-PAPADOPOULOU",
    ] {
        let mut r = record_with_photo(NUMBER);
        r["name"] = json!(name);
        r["classes"] = json!(["A1", "A2", "D", "E"]);
        let holder = app.holder(&r);
        app.post_json(ISSUE, &holder, &json!({"photo": "on_file"}))
            .await;
        // Barred since: the status claim carries every reason and still fits.
        r["statuses"] = json!(["suspended", "locked"]);
        r["points"] = json!(12);
        app.seed(&r);
        let doc: Value = app.get(ISSUE, Some(&holder)).await.json().await.unwrap();
        assert_eq!(
            doc["front_page"]["name"], name,
            "the document keeps the whole name"
        );
        let roadside = doc["display"]["code"].as_str().unwrap().to_owned();
        let qr = QrMatrix::encode(&roadside).unwrap();
        assert!(qr.version() <= 15, "{name}: version {}", qr.version());
        let verdict = Verifier::new(keys()).verify(&roadside, now);
        let claims = verdict.claims.expect("our signature");
        assert_eq!(claims.status_text(), "suspended,locked,points_limit");
        let shown = claims.name.trim_end_matches('…');
        assert!(
            name.starts_with(shown) && !shown.is_empty(),
            "{}",
            claims.name
        );
        assert!(
            claims.name == name || claims.name.ends_with('…'),
            "{}",
            claims.name
        );
        if name.chars().count() > 10 {
            assert_ne!(claims.name, name, "too long for version 15 whole");
        }

        let rental: Value = app
            .get("/api/v1/me/e-licence/code?purpose=rental", Some(&holder))
            .await
            .json()
            .await
            .unwrap();
        let minimal = rental["code"].as_str().unwrap();
        let qr = QrMatrix::encode(minimal).unwrap();
        assert!(qr.version() <= 10, "{name}: version {}", qr.version());
        let verdict = Verifier::for_purpose(keys(), Purpose::Rental).verify(minimal, now);
        let m = verdict.minimal.expect("our signature");
        let shown = m.name.trim_end_matches('…');
        assert!(name.starts_with(shown) && !shown.is_empty(), "{}", m.name);
        assert!(m.name == name || m.name.ends_with('…'), "{}", m.name);
        println!(
            "{name}: roadside {} characters (name {:?}), rental {} characters (name {:?})",
            roadside.len(),
            claims.name,
            minimal.len(),
            m.name
        );
    }
}

crate::both_backends!(
    long_names_are_shortened_in_the_codes_to_fit_their_qr_versions,
    code_images_show_the_current_code,
    issuance_with_the_photo_on_file_is_immediate_and_idempotent,
    ineligible_or_photoless_licences_get_no_e_licence,
    fifty_concurrent_applications_create_exactly_one,
);
