use crate::helpers::{
    error_code, issued, record_with_photo, scan, spawn_app, test_now, Backend, TestApp, NUMBER,
    OTHER_NUMBER, STATUS_LIST_LIFETIME,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use elicence::domain::role::Role;
use elicence::service::signing_keys::KeysError;
use elicence::service::verification::{self, Scan, ScanRequest};
use elicence::signing::keys::Retirement;
use elicence::signing::{KeyError, KeyRing};
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
    let (holder, shown, _) = issued(&app).await;
    // What a terminal has: the QR code scanned off the phone (our PNG, read by rxing), the
    // JWKS, and a stock JOSE library.
    let png = app
        .get("/api/v1/me/e-licence/qr.png", Some(&holder))
        .await
        .bytes()
        .await
        .unwrap();
    let code = crate::images::read_code(&png, rxing::BarcodeFormat::QR_CODE);
    assert_eq!(code, shown, "the PNG holds the code the app shows");
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
    assert_eq!(
        c["c"], 2080,
        "C1 (bit 5) and D (bit 11) of the documented class table"
    );
    assert_eq!(c["v"], 20280305);
    assert_eq!(c["s"], 0, "no blocking reason at signing");
    assert!(c["e"].as_i64().unwrap() >= 1, "the e-licence serial");
    assert_eq!(c["exp"].as_i64().unwrap(), test_now().timestamp() + 180);
    assert_eq!(c["jti"].as_str().unwrap().len(), 8);
    // The photo tag is the first 96 bits of the SHA-256 of the photo the officer is shown.
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

/// The parts of a compact JWS, and the token put back together from them.
struct Jws {
    header: Value,
    claims: Value,
    h: String,
    p: String,
    s: String,
}

fn b64_json(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
}

impl Jws {
    fn parse(code: &str) -> Jws {
        let parts: Vec<&str> = code.split('.').collect();
        let [h, p, s] = parts[..] else {
            panic!("{code} is not three segments")
        };
        let json = |seg: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(seg).unwrap());
        Jws {
            header: json(h).unwrap(),
            claims: json(p).unwrap(),
            h: h.into(),
            p: p.into(),
            s: s.into(),
        }
    }

    /// The header segment with `changes` merged in.
    fn header_with(&self, changes: Value) -> String {
        let mut header = self.header.clone();
        for (k, v) in changes.as_object().unwrap() {
            header[k] = v.clone();
        }
        b64_json(&header)
    }

    /// The original payload and signature under a header with `changes` merged in.
    fn with_header(&self, changes: Value) -> String {
        format!("{}.{}.{}", self.header_with(changes), self.p, self.s)
    }

    /// The original header and signature over claims with `changes` merged in.
    fn with_claims(&self, changes: Value) -> String {
        let mut claims = self.claims.clone();
        for (k, v) in changes.as_object().unwrap() {
            claims[k] = v.clone();
        }
        format!("{}.{}.{}", self.h, b64_json(&claims), self.s)
    }

    /// The original header and payload signed by `key`, whoever holds it.
    fn signed_by(&self, key: &ed25519_dalek::SigningKey) -> String {
        use ed25519_dalek::Signer;
        let input = format!("{}.{}", self.h, self.p);
        let sig = key.sign(input.as_bytes()).to_bytes();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }
}

/// A page of the verification audit as the admin reads it; `query` is `?…` or empty.
async fn audit_page(app: &TestApp, admin: &str, query: &str) -> Value {
    let res = app
        .get(
            &format!("/api/v1/admin/audit/verifications{query}"),
            Some(admin),
        )
        .await;
    assert_eq!(res.status(), 200, "{query}");
    res.json().await.unwrap()
}

/// A fresh roadside display code, as the app fetches it.
async fn fetch_code(app: &TestApp, holder: &str) -> String {
    fetch_pair(app, holder).await.0
}

/// (valid, reasons, jti) of each entry of an audit page.
fn audit_summary(page: &Value) -> Vec<(bool, String, Value)> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["valid"].as_bool().unwrap(),
                e["reasons"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap())
                    .collect::<Vec<_>>()
                    .join(","),
                e["jti"].clone(),
            )
        })
        .collect()
}

/// Every forgery class, built from a real code, over HTTP: each is a normal answer (200,
/// `valid: false`) with its own reason code, says nothing about the holder, and is audited.
async fn every_forgery_class_is_refused_with_its_reason_and_audited(backend: Backend) {
    use elicence::signing::jws::MAX_TOKEN_BYTES;
    let app = spawn_app(backend).await;
    let (holder, _, barcode) = issued(&app).await;
    let code = fetch_code(&app, &holder).await;
    let jws = Jws::parse(&code);
    let kid = jws.header["kid"].as_str().unwrap().to_owned();
    // Our public key, as anyone reads it from the JWKS.
    let ring = app.key_ring();
    let public_key = ring.verifying_key(&kid).unwrap().as_bytes().to_vec();

    // Key confusion: an HMAC over the header and payload keyed with our public key.
    let hs256 = {
        let header = jsonwebtoken::Header {
            alg: jsonwebtoken::Algorithm::HS256,
            kid: Some(kid.clone()),
            typ: Some("elicence+jwt".into()),
            ..Default::default()
        };
        let key = jsonwebtoken::EncodingKey::from_secret(&public_key);
        jsonwebtoken::encode(&header, &jws.claims, &key).unwrap()
    };
    let alg_none = format!("{}.{}.", jws.header_with(json!({"alg": "none"})), jws.p);
    // An RSA-2048 signature's size.
    let rs256 = format!(
        "{}.{}.{}",
        jws.header_with(json!({"alg": "RS256"})),
        jws.p,
        URL_SAFE_NO_PAD.encode([0x5a; 256])
    );
    let one_bit_off = {
        let mut sig = URL_SAFE_NO_PAD.decode(&jws.s).unwrap();
        sig[10] ^= 0x01;
        format!("{}.{}.{}", jws.h, jws.p, URL_SAFE_NO_PAD.encode(sig))
    };
    // Base64 with padding and the standard alphabet is not base64url.
    let standard_b64_header = {
        use base64::engine::general_purpose::STANDARD;
        // Standard base64 of a header with `??>` in it: the assertion makes sure the text
        // has a character base64url has not (`+`, `/` or the padding `=`).
        let header = jws.header_with(json!({"note": "??>"}));
        let raw = URL_SAFE_NO_PAD.decode(header).unwrap();
        let standard = STANDARD.encode(raw);
        assert!(standard.contains(['+', '/', '=']), "{standard}");
        format!("{standard}.{}.{}", jws.p, jws.s)
    };
    let oversize = jws.with_claims(json!({"pad": "x".repeat(MAX_TOKEN_BYTES)}));
    assert!(oversize.len() > MAX_TOKEN_BYTES);
    let foreign = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let other_x = URL_SAFE_NO_PAD.encode(foreign.verifying_key().as_bytes());
    assert_ne!(
        foreign.verifying_key().as_bytes()[..],
        public_key,
        "a key not ours"
    );

    let cases: Vec<(&str, String, &str)> = vec![
        (
            "jku",
            jws.with_header(json!({"jku": "https://attacker.example/jwks.json"})),
            "forbidden_header",
        ),
        (
            "x5u",
            jws.with_header(json!({"x5u": "https://attacker.example/cert.pem"})),
            "forbidden_header",
        ),
        (
            "jwk",
            jws.with_header(json!({"jwk": {"kty": "OKP", "crv": "Ed25519", "x": other_x}})),
            "forbidden_header",
        ),
        (
            "x5c",
            jws.with_header(json!({"x5c": ["MIIBszCCAVmgAwIBAgIUUm9ndWU="]})),
            "forbidden_header",
        ),
        (
            "crit",
            jws.with_header(json!({"crit": ["exp"]})),
            "forbidden_header",
        ),
        (
            "alg HS256 keyed with our public key",
            hs256,
            "unsupported_alg",
        ),
        ("alg none, no signature", alg_none, "unsupported_alg"),
        ("alg RS256", rs256, "unsupported_alg"),
        (
            "typ JWT",
            jws.with_header(json!({"typ": "JWT"})),
            "wrong_typ",
        ),
        (
            "unknown kid",
            jws.with_header(
                json!({"kid": elicence::signing::thumbprint(&foreign.verifying_key())}),
            ),
            "unknown_kid",
        ),
        (
            "payload tampered: exp a day later",
            jws.with_claims(json!({"exp": jws.claims["exp"].as_i64().unwrap() + 86_400})),
            "bad_signature",
        ),
        (
            "payload tampered: another licence number",
            jws.with_claims(json!({"sub": OTHER_NUMBER})),
            "bad_signature",
        ),
        ("signature: one bit flipped", one_bit_off, "bad_signature"),
        (
            "signed by a key not ours, under our kid",
            jws.signed_by(&foreign),
            "bad_signature",
        ),
        ("2 segments", format!("{}.{}", jws.h, jws.p), "malformed"),
        ("4 segments", format!("{code}.{}", jws.s), "malformed"),
        ("header not base64url", standard_b64_header, "malformed"),
        (
            "signature not base64url",
            format!("{}.{}.{}*", jws.h, jws.p, &jws.s[1..]),
            "malformed",
        ),
        ("empty", String::new(), "malformed"),
        ("oversize", oversize, "oversize"),
    ];

    let officer = app.token(Role::Officer, None);
    for (what, forged, reason) in &cases {
        assert_ne!(forged, &code, "{what}");
        let v = scan(&app, &officer, json!({"code": forged})).await;
        assert_eq!(v["valid"], false, "{what}: {v}");
        assert_eq!(v["reasons"], json!([reason]), "{what}");
        assert_eq!(
            v["checks"],
            json!({"signature": "fail", "expiry": "skipped", "status": "skipped"}),
            "{what}"
        );
        for field in ["licence", "live_status", "e_licence_id", "photo_url"] {
            assert_eq!(v[field], Value::Null, "{what}: nothing about the holder");
        }
    }
    // The genuine code still verifies. At its exp second it has lapsed: its signature is
    // still good, its expiry is not.
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["valid"], true, "{v}");
    let exp = jws.claims["exp"].as_i64().unwrap();
    app.clock
        .set(chrono::DateTime::from_timestamp(exp, 0).unwrap());
    let v = scan(&app, &officer, json!({"code": code})).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["reasons"], json!(["expired"]));
    assert_eq!(v["checks"]["signature"], "pass");
    assert_eq!(v["checks"]["expiry"], "fail");
    let b = scan(&app, &officer, json!({"barcode": barcode})).await;
    assert_eq!(b["reasons"], json!(["expired"]));

    // One audit row a scan, in order, with the reasons the officer was given.
    let scans = cases.len() + 3;
    assert_eq!(audit_rows(&app), scans as i64);
    let admin = app.token(Role::Admin, None);
    let rows = audit_summary(&audit_page(&app, &admin, "?limit=500").await);
    assert_eq!(rows.len(), scans);
    for ((what, _, reason), (valid, reasons, jti)) in cases.iter().zip(&rows) {
        assert!(!valid, "{what}");
        assert_eq!(reasons, reason, "{what}");
        assert_eq!(
            jti,
            &Value::Null,
            "{what}: an unverified jti is not recorded"
        );
    }
    let jti = json!(jws.claims["jti"]);
    assert_eq!(rows[cases.len()], (true, String::new(), jti.clone()));
    assert_eq!(rows[cases.len() + 1], (false, "expired".into(), jti));

    // Neither or both fields is the client's mistake, and a body past the JSON limit is
    // refused before it is read.
    let res = app.post_json(VERIFY, &officer, &json!({})).await;
    assert_eq!(error_code(res, 422).await.0, "invalid_body");
    let res = app
        .post_json(VERIFY, &officer, &json!({"code": "a", "barcode": "1"}))
        .await;
    assert_eq!(error_code(res, 422).await.0, "invalid_body");
    let res = app
        .post_json(VERIFY, &officer, &json!({"code": "x".repeat(100 * 1024)}))
        .await;
    assert_eq!(error_code(res, 413).await.0, "payload_too_large");
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
    let ring = app.key_ring();
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
    let page = audit_page(&app, &admin, "").await;
    let entries = page["items"].as_array().unwrap();
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

    let invalid = audit_page(&app, &admin, "?valid=false").await;
    assert_eq!(invalid["items"].as_array().unwrap().len(), 2);
    let first = audit_page(&app, &admin, "?limit=2").await;
    let next = first["next"].as_i64().unwrap();
    let second = audit_page(&app, &admin, &format!("?limit=2&after={next}")).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
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

/// Scans that arrive together are verified in one batch, each as it would be alone: a bad
/// token gets its own 401 or 403 (and no audit row) without touching its batch-mates, a
/// barcode scanned many times at once works exactly once, and a partner's scan of a roadside
/// code is its own purpose_mismatch.
async fn a_burst_of_mixed_scans_gets_each_its_own_answer(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, code, barcode) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let rental = crate::helpers::partner_token(&app, "rental");
    let kinds = ["code", "barcode", "unknown", "holder", "rental"];
    let scans = (0..50).map(|i| {
        let kind = kinds[i % kinds.len()];
        let (token, body) = match kind {
            "code" => (officer.as_str(), json!({"code": code})),
            "barcode" => (officer.as_str(), json!({"barcode": barcode})),
            "unknown" => ("elc_not_a_token", json!({"code": code})),
            "holder" => (holder.as_str(), json!({"code": code})),
            _ => (rental.as_str(), json!({"code": code})),
        };
        let req = app
            .client
            .post(app.url(VERIFY))
            .bearer_auth(token)
            .json(&body);
        async move { (kind, req.send().await.unwrap()) }
    });
    let mut barcodes_valid = 0;
    for (kind, res) in futures_util::future::join_all(scans).await {
        match kind {
            "unknown" => assert_eq!(error_code(res, 401).await.0, "invalid_token"),
            "holder" => assert_eq!(error_code(res, 403).await.0, "forbidden"),
            _ => {
                assert_eq!(res.status(), 200, "{kind}");
                let v: Value = res.json().await.unwrap();
                match kind {
                    "code" => assert_eq!(v["valid"], true, "{v}"),
                    "rental" => assert_eq!(v["reasons"], json!(["purpose_mismatch"]), "{v}"),
                    _ if v["valid"] == true => barcodes_valid += 1,
                    _ => assert_eq!(v["reasons"], json!(["barcode_used"]), "{v}"),
                }
            }
        }
    }
    assert_eq!(
        barcodes_valid, 1,
        "a barcode works once, however many scan it at once"
    );
    assert_eq!(
        audit_rows(&app),
        30,
        "every verified scan, and no refused token"
    );
}

/// When the audit cannot be written the officer gets an error, never an unaudited verdict:
/// here for a reason that is no storage fault (a trigger refuses the row), so a 500; the
/// storage faults (full, read-only…) are answered 503 (`tests/api/storage_faults.rs`).
async fn a_scan_that_cannot_be_audited_is_not_answered(backend: Backend) {
    use diesel::connection::SimpleConnection;
    let app = spawn_app(backend).await;
    let (_, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let mut conn = app.test_db.db.get().unwrap();
    match &mut conn {
        elicence::storage::DbConn::Sqlite(c) => c.batch_execute(
            "CREATE TRIGGER sabotage BEFORE INSERT ON verification_audit
             BEGIN SELECT RAISE(ABORT, 'audit refused'); END;",
        ),
        elicence::storage::DbConn::Pg(c) => c.batch_execute(
            "CREATE FUNCTION sabotage() RETURNS trigger AS $$
             BEGIN RAISE EXCEPTION 'audit refused'; END; $$ LANGUAGE plpgsql;
             CREATE TRIGGER sabotage BEFORE INSERT ON verification_audit
             FOR EACH ROW EXECUTE FUNCTION sabotage();",
        ),
    }
    .unwrap();
    drop(conn);
    let res = app
        .post_json(VERIFY, &officer, &json!({"code": code}))
        .await;
    assert_eq!(error_code(res, 500).await.0, "internal_error");
    assert_eq!(audit_rows(&app), 0);
}

async fn codes_outlive_a_rotation_but_not_a_retirement(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let old_kid = app.key_ring().active_kid().to_owned();
    let new_kid = app.rotate_key(test_now());
    assert_ne!(old_kid, new_kid);
    let rotated = app.key_ring();
    let check = |ring: &KeyRing| {
        let mut conn = app.test_db.db.get().unwrap();
        let request = ScanRequest {
            token: officer.clone(),
            scan: Scan::Code(code.clone()),
        };
        let mut verdicts = verification::verify_batch(
            &mut conn,
            ring,
            &[request],
            test_now().date_naive(),
            test_now(),
        )
        .unwrap();
        verdicts.pop().unwrap().unwrap().outcome
    };
    assert!(
        check(&rotated).valid,
        "signed before the rotation, still published"
    );
    // Not while codes it signed may be live (the longest lifetime: the status list's).
    let lapse = Retirement::AfterLapse(STATUS_LIST_LIFETIME);
    let early = app.retire_key(&old_kid, test_now(), lapse);
    assert!(
        matches!(early, Err(KeysError::Keys(KeyError::StillInUse { .. }))),
        "{early:?}"
    );
    assert!(check(&app.key_ring()).valid);
    let lapsed = test_now() + STATUS_LIST_LIFETIME;
    app.retire_key(&old_kid, lapsed, lapse).unwrap();
    let retired = app.key_ring();
    let outcome = check(&retired);
    assert!(!outcome.valid);
    let codes: Vec<&str> = outcome.reasons.iter().map(|r| r.code()).collect();
    assert_eq!(codes, ["unknown_kid"]);
}

/// The kids the running server publishes, once they equal `expected`: the server looks at
/// key states again on its own (every 50 ms in tests, 2 s in `serve`); this waits up to 10 s for it.
async fn published_kids_become(app: &TestApp, expected: &[&str]) {
    let mut published = Vec::new();
    // Keys made at the same instant (the test clock) are published in kid order.
    let mut expected = expected.to_vec();
    expected.sort();
    for _ in 0..200 {
        published = app.published_kids().await;
        published.sort();
        if published == expected {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the server publishes {published:?}, not {expected:?}");
}

pub(crate) fn kid_of(jws: &str) -> String {
    let header = jws.split('.').next().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).unwrap()).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

async fn a_running_server_follows_a_rotation_and_a_retirement_without_a_restart(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, old_code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let old_kid = kid_of(&old_code);
    let old_list = app
        .get("/api/v1/status-list", None)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(kid_of(&old_list), old_kid);

    // `elicence keys rotate`, as an operator runs it beside the server.
    let new_kid = app.rotate_key(test_now());
    published_kids_become(&app, &[&old_kid, &new_kid]).await;
    let v = scan(&app, &officer, json!({"code": old_code})).await;
    assert_eq!(
        v["valid"], true,
        "signed before the rotation, still published: {v}"
    );
    // The status list is signed again with the new key by the next pass, not when its
    // lifetime is half over.
    app.state.status_lists.publish_now().await.unwrap();
    let list = app
        .get("/api/v1/status-list", None)
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(kid_of(&list), new_kid);
    // Once the old display code has lapsed, the app's next code is signed with the new key.
    app.clock.set(test_now() + chrono::Duration::minutes(4));
    let res = app.get("/api/v1/me/e-licence/code", Some(&holder)).await;
    assert_eq!(res.status(), 200);
    let fresh: Value = res.json().await.unwrap();
    let fresh = fresh["code"].as_str().unwrap().to_owned();
    assert_eq!(kid_of(&fresh), new_kid);
    let v = scan(&app, &officer, json!({"code": fresh})).await;
    assert_eq!(v["valid"], true, "{v}");

    // `elicence keys retire --force`: what the old key signed stops verifying.
    app.clock.set(test_now());
    app.retire_key(&old_kid, test_now(), Retirement::Forced)
        .unwrap();
    published_kids_become(&app, &[&new_kid]).await;
    let v = scan(&app, &officer, json!({"code": old_code})).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["reasons"], json!(["unknown_kid"]));
}

/// A fresh roadside code and barcode, as the app fetches them.
async fn fetch_pair(app: &TestApp, holder: &str) -> (String, String) {
    let res = app.get("/api/v1/me/e-licence/code", Some(holder)).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    let field = |f: &str| body[f].as_str().unwrap().to_owned();
    (field("code"), field("barcode"))
}

/// Keyboard-wedge scanners type a scan and then Enter, some with a space before it: the ASCII
/// whitespace around a code or barcode is not part of it. Inside a code it still is.
async fn scanner_whitespace_around_a_code_or_barcode_is_ignored(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, code, _) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    for (before, after) in [(" ", ""), ("", "\n"), ("", "\r\n"), ("\t ", " \r\n")] {
        let v = scan(
            &app,
            &officer,
            json!({"code": format!("{before}{code}{after}")}),
        )
        .await;
        assert_eq!(v["valid"], true, "{before:?} {after:?}: {v}");
        assert_eq!(v["licence"]["licence_number"], NUMBER);
        let (_, barcode) = fetch_pair(&app, &holder).await;
        let v = scan(
            &app,
            &officer,
            json!({"barcode": format!("{before}{barcode}{after}")}),
        )
        .await;
        assert_eq!(v["valid"], true, "{before:?} {after:?}: {v}");
        // The same barcode, typed differently, is the same barcode: used now.
        let v = scan(&app, &officer, json!({"barcode": format!("{barcode}\n")})).await;
        assert_eq!(v["reasons"], json!(["barcode_used"]), "{v}");
    }
    let broken = format!("{}\n{}", &code[..10], &code[10..]);
    let v = scan(&app, &officer, json!({"code": broken})).await;
    assert_eq!(v["reasons"], json!(["malformed"]), "{v}");
    let v = scan(&app, &officer, json!({"barcode": "0123456789 0123456789"})).await;
    assert_eq!(v["reasons"], json!(["malformed"]), "{v}");
}

/// A barcode scanned again says `barcode_used` and nothing else, exactly as an unknown one
/// says `barcode_unknown`: no holder, no photo, and no check that did not fail reported as
/// failed. The audit still names the e-licence whose barcode was replayed.
async fn a_replayed_barcode_says_barcode_used_and_nothing_about_the_holder(backend: Backend) {
    let app = spawn_app(backend).await;
    let (_, _, barcode) = issued(&app).await;
    let officer = app.token(Role::Officer, None);
    let first = scan(&app, &officer, json!({"barcode": barcode})).await;
    assert_eq!(first["valid"], true, "{first}");
    let e_licence_id = first["e_licence_id"].as_str().unwrap().to_owned();
    let refused = |reason: &str| {
        json!({"valid": false,
               "checks": {"signature": "not_applicable", "expiry": "skipped", "status": "skipped"},
               "e_licence_id": null, "licence": null, "live_status": null, "photo_url": null,
               "reasons": [reason]})
    };
    let replay = scan(&app, &officer, json!({"barcode": barcode})).await;
    assert_eq!(replay, refused("barcode_used"));
    let unknown = scan(&app, &officer, json!({"barcode": "00000000000000000000"})).await;
    assert_eq!(unknown, refused("barcode_unknown"));

    let admin = app.token(Role::Admin, None);
    let page = audit_page(&app, &admin, "").await;
    let entries = page["items"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[1]["method"], "barcode");
    assert_eq!(entries[1]["valid"], false);
    assert_eq!(entries[1]["reasons"], json!(["barcode_used"]));
    assert_eq!(
        entries[1]["e_licence_id"], e_licence_id,
        "the audit keeps whose barcode was replayed"
    );
    assert_eq!(entries[2]["e_licence_id"], Value::Null);
}

crate::both_backends!(
    a_fresh_code_verifies_with_the_live_status,
    an_independent_jose_library_verifies_our_code_from_the_jwks,
    every_forgery_class_is_refused_with_its_reason_and_audited,
    a_valid_signature_on_a_licence_suspended_since_is_invalid,
    a_signed_code_for_the_wrong_e_licence_is_invalid,
    only_officers_verify_and_every_scan_is_audited,
    codes_outlive_a_rotation_but_not_a_retirement,
    a_running_server_follows_a_rotation_and_a_retirement_without_a_restart,
    concurrent_scans_are_each_audited_before_they_are_answered,
    a_burst_of_mixed_scans_gets_each_its_own_answer,
    a_scan_that_cannot_be_audited_is_not_answered,
    scanner_whitespace_around_a_code_or_barcode_is_ignored,
    a_replayed_barcode_says_barcode_used_and_nothing_about_the_holder,
);

/// The fenced block that follows `<!-- worked-example: {name} -->` in `doc`.
fn worked_example_block<'d>(doc: &'d str, name: &str) -> &'d str {
    let marker = format!("<!-- worked-example: {name} -->\n");
    let after = doc
        .split_once(&marker)
        .unwrap_or_else(|| panic!("docs/code-format.md has no {marker:?}"))
        .1;
    let fence = after.lines().next().unwrap();
    assert!(
        fence.starts_with("```"),
        "{name}: a fenced block follows the marker"
    );
    let body = &after[fence.len() + 1..];
    body[..body.find("\n```").expect("the block is closed")].trim()
}

/// The section of `doc` under `heading` (a line of its own), up to the next heading of the
/// same or a higher level.
fn doc_section<'d>(doc: &'d str, heading: &str) -> &'d str {
    let level = heading.split(' ').next().unwrap();
    let start = doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("no {heading:?}"))
        + heading.len()
        + 2;
    let rest = &doc[start..];
    let end = rest
        .match_indices("\n#")
        .find(|(i, _)| {
            let hashes = rest[i + 1..].chars().take_while(|c| *c == '#').count();
            hashes <= level.len()
        })
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// The cells of each row of the first Markdown table in `section` (header and rule left out).
fn table_rows(section: &str) -> Vec<Vec<String>> {
    section
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().trim_matches('`').to_owned())
                .collect()
        })
        .collect()
}

/// The roadside worked example of docs/code-format.md, read from the file as a vendor would
/// copy it, checked with an independent JOSE library (`jsonwebtoken`) and against the doc's
/// own claims table: the example cannot drift from the format it documents.
#[test]
fn the_worked_example_of_the_code_format_verifies() {
    use sha2::{Digest, Sha256};
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/code-format.md");
    let doc = std::fs::read_to_string(path).unwrap();
    let code = worked_example_block(&doc, "roadside code");
    let header_doc = worked_example_block(&doc, "roadside header");
    let claims_doc = worked_example_block(&doc, "roadside claims");
    let jwks_doc = worked_example_block(&doc, "roadside jwks");
    let example = doc_section(&doc, "## Worked example");
    assert!(
        example.contains(&format!("{} characters", code.chars().count())),
        "the stated length"
    );

    // The header and payload blocks are the segments, byte for byte.
    let segments: Vec<&str> = code.split('.').collect();
    assert_eq!(segments.len(), 3, "{code}");
    let decoded = |s: &str| String::from_utf8(URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
    assert_eq!(decoded(segments[0]), header_doc);
    assert_eq!(decoded(segments[1]), claims_doc);

    // A stock JOSE library verifies the signature with the documented JWKS.
    let jwks: jsonwebtoken::jwk::JwkSet = serde_json::from_str(jwks_doc).unwrap();
    let header = jsonwebtoken::decode_header(code).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::EdDSA);
    assert_eq!(header.typ.as_deref(), Some("elicence+jwt"));
    assert!(header.jku.is_none() && header.x5u.is_none() && header.jwk.is_none());
    let kid = header.kid.as_deref().unwrap();
    let jwk = jwks.find(kid).expect("the kid is in the documented JWKS");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::EdDSA);
    validation.validate_exp = false; // it expired long ago; the doc says when
    validation.required_spec_claims = ["exp", "sub"].map(String::from).into();
    let claims = jsonwebtoken::decode::<Value>(code, &key, &validation)
        .expect("the documented code verifies")
        .claims;
    // A changed byte of the payload does not.
    let forged = code.replacen(".eyJlIjox", ".eyJlIjoy", 1);
    assert_ne!(forged, code);
    assert!(jsonwebtoken::decode::<Value>(&forged, &key, &validation).is_err());

    // The kid is the RFC 7638 thumbprint of the documented key.
    let jwk_json: Value = serde_json::from_str(jwks_doc).unwrap();
    let x = jwk_json["keys"][0]["x"].as_str().unwrap();
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    assert_eq!(URL_SAFE_NO_PAD.encode(Sha256::digest(canonical)), kid);

    // Every claim of the table, with its type, and nothing else.
    let table = table_rows(doc_section(&doc, "### Claims"));
    let names: Vec<&str> = table.iter().map(|row| row[0].as_str()).collect();
    assert_eq!(names, ["e", "sub", "n", "c", "v", "s", "p", "exp", "jti"]);
    let object = claims.as_object().unwrap();
    let mut documented: Vec<&str> = names.clone();
    let mut present: Vec<&str> = object.keys().map(String::as_str).collect();
    documented.sort_unstable();
    present.sort_unstable();
    assert_eq!(
        present, documented,
        "the example carries exactly the documented claims"
    );
    for row in &table {
        let (name, kind) = (&row[0], row[1].as_str());
        let value = &claims[name];
        let fits = match kind {
            "integer" => value.is_i64(),
            "string" => value.is_string(),
            "integer or null" => value.is_i64() || value.is_null(),
            other => panic!("claim {name}: a type the test does not know: {other}"),
        };
        assert!(fits, "claim {name} is {value}, documented as {kind}");
    }
    assert_eq!(claims["sub"].as_str().unwrap().len(), 18);
    assert_eq!(claims["p"].as_str().unwrap().len(), 16);
    assert_eq!(claims["jti"].as_str().unwrap().len(), 8);
    let exp = chrono::DateTime::from_timestamp(claims["exp"].as_i64().unwrap(), 0).unwrap();
    let expired_at = exp.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert!(
        example.contains(&format!("expired at {expired_at}")),
        "{expired_at}"
    );

    // It is today's format too: our own offline terminal takes it, valid before its exp.
    let (keys, ignored) = elicence::offline::KeySet::from_jwks_json(jwks_doc.as_bytes()).unwrap();
    assert!(ignored.is_empty(), "{ignored:?}");
    let verifier = elicence::offline::Verifier::new(keys);
    let v = verifier.verify(code, exp - chrono::Duration::seconds(1));
    assert!(v.is_valid(), "{:?}", v.reasons);
    assert_eq!(
        serde_json::to_value(v.claims.unwrap()).unwrap(),
        claims,
        "our claims type reads every documented claim"
    );
    assert!(!verifier.verify(code, exp).is_valid(), "expired at its exp");

    // The size table's row for it.
    let sizes = table_rows(doc_section(&doc, "## Size"));
    let row = sizes
        .iter()
        .find(|r| r[0].starts_with("the worked example above"))
        .expect("the size table lists the worked example");
    let version = elicence::render::qr::QrMatrix::encode(code)
        .unwrap()
        .version();
    assert_eq!(
        (row[1].as_str(), row[2].as_str()),
        (
            code.len().to_string().as_str(),
            version.to_string().as_str()
        )
    );
}
