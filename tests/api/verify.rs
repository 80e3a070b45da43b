use crate::helpers::{
    error_code, issued, record_with_photo, scan, spawn_app, test_now, Backend, TestApp, NUMBER,
    OTHER_NUMBER,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use elicence::auth::Principal;
use elicence::domain::role::Role;
use elicence::service::verification::{self, Scan};
use elicence::signing::KeyRing;
use serde_json::{json, Value};

const VERIFY: &str = "/api/v1/verify";

async fn a_fresh_code_verifies_with_the_live_status(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, code, barcode) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(
        v["checks"],
        json!({"signature": "pass", "expiry": "pass", "status": "pass"})
    );
    assert_eq!(v["licence"]["licence_number"], NUMBER);
    assert_eq!(
        v["licence"]["drivable_classes"],
        json!(["C1", "C2", "C3", "C4", "D", "E", "F"])
    );
    assert_eq!(v["live_status"]["eligible"], true);
    assert_eq!(v["reasons"], json!([]));
    let photo = app
        .get(v["photo_url"].as_str().unwrap(), Some(&officer))
        .await;
    assert_eq!(photo.status(), 200);
    assert_eq!(photo.headers()["content-type"], "image/jpeg");

    // The barcode resolves once; a replay is refused.
    let b = scan(&app, &officer, json!({"barcode": barcode})).await;
    assert_eq!(b["valid"], true, "{b}");
    assert_eq!(b["checks"]["signature"], "not_applicable");
    let replay = scan(&app, &officer, json!({"barcode": barcode})).await;
    assert_eq!(replay["valid"], false);
    assert_eq!(replay["reasons"], json!(["barcode_used"]));
    let unknown = scan(&app, &officer, json!({"barcode": "00000000000000000000"})).await;
    assert_eq!(unknown["reasons"], json!(["barcode_unknown"]));
    let junk = scan(&app, &officer, json!({"barcode": "12ab"})).await;
    assert_eq!(junk["reasons"], json!(["malformed"]));
}

async fn an_independent_jose_library_verifies_our_code_from_the_jwks(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, code, _) = issued(&app).await;
    let res = app.get("/.well-known/jwks.json", None).await;
    assert!(res.headers()["cache-control"]
        .to_str()
        .unwrap()
        .contains("max-age"));
    let jwks: jsonwebtoken::jwk::JwkSet = res.json().await.unwrap();
    let header = jsonwebtoken::decode_header(&code).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("elicence+jwt"));
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    // The test clock is fixed in the past; expiry is checked against it below.
    validation.validate_exp = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Value>(&code, &key, &validation).unwrap();
    let c = data.claims;
    assert_eq!(c["sub"], NUMBER);
    assert_eq!(c["n"], "张伟");
    assert_eq!(c["c"], "C1,D");
    assert_eq!(c["v"], 20280305);
    assert_eq!(c["s"], "ok");
    assert!(c["e"].as_i64().unwrap() >= 1, "the e-licence serial");
    assert_eq!(c["exp"].as_i64().unwrap(), test_now().timestamp() + 180);
    assert_eq!(c["jti"].as_str().unwrap().len(), 8);
    // The photo tag is the left half of the SHA-256 of the photo the officer is shown.
    let officer = app.token(Role::Officer, None);
    let v = scan(&app, &officer, json!({"code": code})).await;
    let photo = app
        .get(v["photo_url"].as_str().unwrap(), Some(&officer))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(c["p"], elicence::domain::code::photo_tag(&photo));
    // The roadside QR target: version 15 at level M.
    let qr = elicence::render::qr::QrMatrix::encode(&code).unwrap();
    assert!(
        qr.version() <= 15,
        "{} chars: version {}",
        code.len(),
        qr.version()
    );
    // Private key material never appears in the JWKS.
    let raw = serde_json::to_string(&jwks).unwrap();
    assert!(!raw.contains("\"d\""), "{raw}");
}

async fn forged_tampered_and_expired_codes_are_invalid(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, code, barcode) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let (h, rest) = code.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    claims["sub"] = json!("310104198505052345");
    let tampered = format!(
        "{h}.{}.{s}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
    );
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(h).unwrap()).unwrap();
    let with = |extra: Value| {
        let mut hh = header.clone();
        for (k, v) in extra.as_object().unwrap() {
            hh[k] = v.clone();
        }
        format!(
            "{}.{p}.{s}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&hh).unwrap())
        )
    };
    for (forged, reason) in [
        (tampered, "bad_signature"),
        (with(json!({"alg": "none"})), "unsupported_alg"),
        (
            with(json!({"jku": "https://attacker.example/jwks.json"})),
            "forbidden_header",
        ),
        (with(json!({"kid": "not-ours"})), "unknown_kid"),
        (with(json!({"typ": "JWT"})), "wrong_typ"),
        (format!("{h}.{p}"), "malformed"),
        ("x".repeat(5000), "oversize"),
    ] {
        let v = scan(&app, &officer, json!({"code": forged})).await;
        assert_eq!(v["valid"], false);
        assert_eq!(v["reasons"], json!([reason]));
        assert_eq!(
            v["licence"],
            Value::Null,
            "nothing about the holder for a bad code"
        );
    }
    // Three minutes and one second later both codes have lapsed.
    app.clock.set(test_now() + chrono::Duration::seconds(181));
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["checks"]["expiry"], "fail");
    assert_eq!(v["reasons"], json!(["expired"]));
    let b = scan(&app, &officer, json!({"barcode": barcode})).await;
    assert_eq!(b["reasons"], json!(["expired"]));

    // Neither or both fields is the client's mistake.
    let res = app.post_json(VERIFY, &officer, &json!({})).await;
    assert_eq!(error_code(res, 422).await.0, "invalid_body");
    let res = app
        .post_json(VERIFY, &officer, &json!({"code": "a", "barcode": "1"}))
        .await;
    assert_eq!(error_code(res, 422).await.0, "invalid_body");
}

async fn a_valid_signature_on_a_licence_suspended_since_is_invalid(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, code, _) = issued(&app).await;
    let mut r = record_with_photo(NUMBER);
    r["statuses"] = json!(["suspended"]);
    app.seed(&r);
    let officer = app.token(Role::Officer, None);
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["valid"], false);
    assert_eq!(
        v["checks"],
        json!({"signature": "pass", "expiry": "pass", "status": "fail"})
    );
    assert_eq!(v["reasons"], json!(["suspended"]));
    assert_eq!(v["live_status"]["reasons"][0]["code"], "suspended");
}

/// Codes signed with our own key but naming what does not exist, or another holder's
/// e-licence: the signature passes, the online checks do not.
async fn a_signed_code_for_the_wrong_e_licence_is_invalid(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let payload = code.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let ring = KeyRing::open(&app.keys_dir).unwrap();
    let resign = |change: Value| {
        let mut c = claims.clone();
        for (k, v) in change.as_object().unwrap() {
            c[k] = v.clone();
        }
        elicence::signing::jws::sign(&ring, "elicence+jwt", &serde_json::to_vec(&c).unwrap())
    };
    let v = scan(
        &app,
        &officer,
        json!({"code": resign(json!({"e": 999_999}))}),
    )
    .await;
    assert_eq!(v["checks"]["signature"], "pass");
    assert_eq!(v["reasons"], json!(["e_licence_unknown"]));
    let v = scan(
        &app,
        &officer,
        json!({"code": resign(json!({"sub": OTHER_NUMBER}))}),
    )
    .await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["reasons"], json!(["licence_mismatch"]));
    let v = scan(
        &app,
        &officer,
        json!({"code": resign(json!({"v": "2028-03-05"}))}),
    )
    .await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["reasons"], json!(["malformed"]));
}

async fn only_officers_verify_and_every_scan_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, code, _) = issued(&app).await;
    for role in [Role::Reviewer, Role::Admin] {
        let t = app.token(role, None);
        let res = app.post_json(VERIFY, &t, &json!({"code": code})).await;
        assert_eq!(error_code(res, 403).await.0, "forbidden");
    }
    let res = app.post_json(VERIFY, &holder, &json!({"code": code})).await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");
    let res = app
        .get("/api/v1/e-licences/el_x/photo", Some(&holder))
        .await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");

    let officer = app.token(Role::Officer, None);
    scan(&app, &officer, json!({"code": code})).await;
    scan(&app, &officer, json!({"code": "bogus"})).await;
    scan(&app, &officer, json!({"barcode": "00000000000000000000"})).await;

    let admin = app.token(Role::Admin, None);
    let page: Value = app
        .get("/api/v1/admin/audit/verifications", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let entries = page["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 3, "refused scans are audited too: {page}");
    assert_eq!(entries[0]["valid"], true);
    assert_eq!(entries[0]["method"], "code");
    assert_eq!(entries[0]["terminal_label"], "test");
    assert!(entries[0]["e_licence_id"]
        .as_str()
        .unwrap()
        .starts_with("el_"));
    assert_eq!(entries[0]["jti"].as_str().unwrap().len(), 8);
    assert_eq!(entries[1]["jti"], Value::Null);
    assert_eq!(entries[1]["reasons"], json!(["malformed"]));
    assert_eq!(page["next"], Value::Null);

    let invalid: Value = app
        .get(
            "/api/v1/admin/audit/verifications?valid=false",
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(invalid["entries"].as_array().unwrap().len(), 2);
    let first: Value = app
        .get("/api/v1/admin/audit/verifications?limit=2", Some(&admin))
        .await
        .json()
        .await
        .unwrap();
    let next = first["next"].as_i64().unwrap();
    let second: Value = app
        .get(
            &format!("/api/v1/admin/audit/verifications?limit=2&after={next}"),
            Some(&admin),
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(second["entries"].as_array().unwrap().len(), 1);
    let res = app
        .get("/api/v1/admin/audit/verifications?limit=0", Some(&admin))
        .await;
    assert_eq!(error_code(res, 400).await.0, "invalid_path");
    let res = app
        .get("/api/v1/admin/audit/verifications", Some(&officer))
        .await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");

    // The audit is append-only in the database itself.
    use diesel::RunQueryDsl;
    let mut conn = app.test_db.db.get().unwrap();
    let refused = match &mut conn {
        elicence::storage::DbConn::Sqlite(c) => {
            diesel::sql_query("DELETE FROM verification_audit").execute(&mut **c)
        }
        elicence::storage::DbConn::Pg(c) => {
            diesel::sql_query("UPDATE verification_audit SET valid = true").execute(&mut **c)
        }
    };
    assert!(refused.is_err());
}

fn audit_rows(app: &TestApp) -> i64 {
    use diesel::prelude::*;
    use elicence::storage::schema::verification_audit::dsl::*;
    let mut conn = app.test_db.db.get().unwrap();
    match &mut conn {
        elicence::storage::DbConn::Sqlite(c) => verification_audit.count().get_result(&mut **c),
        elicence::storage::DbConn::Pg(c) => verification_audit.count().get_result(&mut **c),
    }
    .unwrap()
}

/// Scans arriving together share audit transactions, yet each answer comes after its own row
/// is committed: as many rows as answers, each with its code's jti.
async fn concurrent_scans_are_each_audited_before_they_are_answered(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let scans = (0..200).map(|i| {
        let body = if i % 10 == 0 {
            json!({"code": "forged"})
        } else {
            json!({"code": code})
        };
        app.client
            .post(app.url(VERIFY))
            .bearer_auth(&officer)
            .json(&body)
            .send()
    });
    let mut valid = 0;
    for res in futures_util::future::join_all(scans).await {
        let res = res.unwrap();
        assert_eq!(res.status(), 200);
        valid += usize::from(res.json::<Value>().await.unwrap()["valid"] == true);
    }
    assert_eq!(valid, 180);
    assert_eq!(audit_rows(&app), 200);
}

/// When the audit cannot be written the officer gets an error, never an unaudited verdict.
async fn a_scan_that_cannot_be_audited_is_not_answered(backend: Backend) {
    use diesel::connection::SimpleConnection;
    let app = spawn_app(backend).await;
    let (_, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let mut conn = app.test_db.db.get().unwrap();
    match &mut conn {
        elicence::storage::DbConn::Sqlite(c) => c.batch_execute(
            "CREATE TRIGGER sabotage BEFORE INSERT ON verification_audit
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        ),
        elicence::storage::DbConn::Pg(c) => c.batch_execute(
            "CREATE FUNCTION sabotage() RETURNS trigger AS $$
             BEGIN RAISE EXCEPTION 'disk full'; END; $$ LANGUAGE plpgsql;
             CREATE TRIGGER sabotage BEFORE INSERT ON verification_audit
             FOR EACH ROW EXECUTE FUNCTION sabotage();",
        ),
    }
    .unwrap();
    drop(conn);
    let res = app
        .post_json(VERIFY, &officer, &json!({"code": code}))
        .await;
    assert_eq!(error_code(res, 503).await.0, "service_unavailable");
    assert_eq!(audit_rows(&app), 0);
}

async fn codes_outlive_a_rotation_but_not_a_retirement(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, code, _) = issued(&app).await;
    let officer = Principal {
        token_id: "tok_t".into(),
        role: Role::Officer,
        licence: None,
        label: None,
        scope: None,
    };
    let old_kid = KeyRing::open(&app.keys_dir)
        .unwrap()
        .active_kid()
        .to_owned();
    let new_kid = KeyRing::rotate(&app.keys_dir, test_now()).unwrap();
    assert_ne!(old_kid, new_kid);
    let rotated = KeyRing::open(&app.keys_dir).unwrap();
    let check = |ring: &KeyRing| {
        let mut conn = app.test_db.db.get().unwrap();
        verification::verify(
            &mut conn,
            ring,
            &Scan::Code(code.clone()),
            &officer,
            test_now().date_naive(),
            test_now(),
        )
        .unwrap()
        .outcome
    };
    assert!(
        check(&rotated).valid,
        "signed before the rotation, still published"
    );
    KeyRing::retire(&app.keys_dir, &old_kid, test_now()).unwrap();
    let retired = KeyRing::open(&app.keys_dir).unwrap();
    let outcome = check(&retired);
    assert!(!outcome.valid);
    assert_eq!(outcome.reasons, ["unknown_kid"]);
}

crate::both_backends!(
    a_fresh_code_verifies_with_the_live_status,
    an_independent_jose_library_verifies_our_code_from_the_jwks,
    forged_tampered_and_expired_codes_are_invalid,
    a_valid_signature_on_a_licence_suspended_since_is_invalid,
    a_signed_code_for_the_wrong_e_licence_is_invalid,
    only_officers_verify_and_every_scan_is_audited,
    codes_outlive_a_rotation_but_not_a_retirement,
    concurrent_scans_are_each_audited_before_they_are_answered,
    a_scan_that_cannot_be_audited_is_not_answered,
);
