//! Purpose-bound codes: a holder shows a car-rental desk, an insurer or an employer a minimal
//! code that carries the qualification only; each verifier accepts its own purpose only.

use crate::helpers::{
    error_code, issued, partner_token, record_with_photo, scan, spawn_app, test_now, Backend,
    TestApp, NUMBER,
};
use crate::offline_verify::{args, now_flag, path, text, verify};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use coset::cbor::value::Value as Cbor;
use ed25519_dalek::{Signature, VerifyingKey};
use elicence::domain::role::Role;
use serde_json::{json, Value};

const CODE: &str = "/api/v1/me/e-licence/code";

/// A fresh display code for `purpose`: (QR text, barcode digits).
async fn code_for(app: &TestApp, holder: &str, purpose: &str) -> (String, String) {
    let res = app
        .get(&format!("{CODE}?purpose={purpose}"), Some(holder))
        .await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["purpose"], purpose);
    let field = |f: &str| body[f].as_str().unwrap().to_owned();
    (field("code"), field("barcode"))
}

/// The verification audit as the authority reads it, oldest first.
async fn audit_entries(app: &TestApp) -> Vec<Value> {
    let admin = app.token(Role::Admin, None);
    let res = app
        .get("/api/v1/admin/audit/verifications", Some(&admin))
        .await;
    assert_eq!(res.status(), 200);
    let page: Value = res.json().await.unwrap();
    page["items"].as_array().unwrap().clone()
}

/// RFC 9285 Base45, written again here so the check below owes nothing to the crate's own.
fn base45(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
    let v: Vec<u32> = text
        .chars()
        .map(|c| ALPHABET.find(c).unwrap() as u32)
        .collect();
    let mut out = Vec::new();
    for g in v.chunks(3) {
        match g {
            [a, b, c] => out.extend_from_slice(&((a + b * 45 + c * 2025) as u16).to_be_bytes()),
            [a, b] => out.push((a + b * 45) as u8),
            _ => panic!("a lone character"),
        }
    }
    out
}

fn cbor(bytes: &[u8]) -> Cbor {
    coset::cbor::de::from_reader(bytes).unwrap()
}

fn to_cbor(v: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    coset::cbor::ser::into_writer(v, &mut out).unwrap();
    out
}

/// The published key of `kid`, from the JWKS document as a partner fetches it.
async fn jwks_key(app: &TestApp, kid: &str) -> VerifyingKey {
    let jwks: Value = serde_json::from_slice(&app.jwks_bytes().await).unwrap();
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == kid)
        .expect("the kid is published");
    let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
    VerifyingKey::from_bytes(&x.try_into().unwrap()).unwrap()
}

fn int(i: i64) -> Cbor {
    Cbor::Integer(i.into())
}

/// The minimal code, opened by hand: prefix, Base45, the tagged COSE_Sign1, its protected
/// header, then the signature over Sig_structure = ["Signature1", protected, h'', payload]
/// with ed25519-dalek and the JWKS key. Returns the claims.
async fn open_by_hand(app: &TestApp, code: &str) -> Cbor {
    let body = code.strip_prefix("EL1:").expect("the prefix");
    let bytes = base45(body);
    let Cbor::Tag(18, sign1) = cbor(&bytes) else {
        panic!("not a tagged COSE_Sign1")
    };
    let Cbor::Array(parts) = *sign1 else {
        panic!("not an array")
    };
    let [Cbor::Bytes(protected), Cbor::Map(unprotected), Cbor::Bytes(payload), Cbor::Bytes(sig)] =
        &parts[..]
    else {
        panic!("not [protected, unprotected, payload, signature]: {parts:?}")
    };
    assert!(unprotected.is_empty());
    let header = cbor(protected);
    let header = header.as_map().unwrap();
    assert_eq!(header[0], (int(1), int(-8)), "alg EdDSA");
    assert_eq!(header[1].0, int(4));
    let kid = String::from_utf8(header[1].1.as_bytes().unwrap().clone()).unwrap();
    let key = jwks_key(app, &kid).await;
    let tbs = to_cbor(&Cbor::Array(vec![
        Cbor::Text("Signature1".into()),
        Cbor::Bytes(protected.clone()),
        Cbor::Bytes(vec![]),
        Cbor::Bytes(payload.clone()),
    ]));
    let sig: [u8; 64] = sig.as_slice().try_into().unwrap();
    key.verify_strict(&tbs, &Signature::from_bytes(&sig))
        .expect("the signature verifies with the published key");
    cbor(payload)
}

async fn a_rental_code_carries_the_qualification_only_and_verifies_by_hand(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, _, _) = issued(&app).await;
    let (code, _) = code_for(&app, &holder, "rental").await;
    assert!(code.starts_with("EL1:"), "{code}");
    let claims = open_by_hand(&app, &code).await;

    // Exactly exp, cti and our map; inside, exactly name, classes, validity, verdict, purpose.
    let outer = claims.as_map().unwrap();
    let keys: Vec<&Cbor> = outer.iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [&int(4), &int(7), &int(-65537)]);
    assert_eq!(
        outer[0].1,
        int(test_now().timestamp() + 180),
        "exp: three minutes"
    );
    assert_eq!(outer[1].1.as_bytes().unwrap().len(), 6, "cti");
    let ours = outer[2].1.as_map().unwrap();
    assert_eq!(
        ours.clone(),
        vec![
            (int(1), Cbor::Text("张伟".into())),
            // C1 (bit 5) and D (bit 11) of the documented class table.
            (int(2), int(2080)),
            (int(3), int(20280305)),
            (int(4), int(0)),
            (int(5), int(1)),
        ]
    );
    // No address, no licence number, no points, in any form.
    let record = record_with_photo(NUMBER);
    let raw = base45(&code[4..]);
    for secret in [
        NUMBER,
        &NUMBER[NUMBER.len() - 4..],
        record["address"].as_str().unwrap(),
        "北京",
        record["issuing_authority"].as_str().unwrap(),
    ] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret} is in the code"
        );
    }

    // The rental desk's answer: the qualification and a yes, nothing else.
    let desk = partner_token(&app, "rental");
    let v = scan(&app, &desk, json!({"code": code})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["purpose"], "rental");
    assert_eq!(v["valid_now"], true);
    assert_eq!(
        v["holder"],
        json!({"name": "张伟", "classes": ["C1", "D"],
               "drivable_classes": ["C1", "C2", "C3", "C4", "D", "E", "F"],
               "valid_until": "2028-03-05"})
    );
    assert_eq!(v["code_expires_at"], in_three_minutes());
    let body = v.to_string();
    for leak in [
        NUMBER,
        "licence_number",
        "address",
        "points",
        "photo",
        "e_licence_id",
    ] {
        assert!(!body.contains(leak), "{leak} in {body}");
    }

    // The audit names the partner, the purpose and the code's cti.
    let row = &audit_entries(&app).await[0];
    assert_eq!(row["method"], "code:rental");
    assert_eq!(row["valid"], true);
    assert_eq!(row["terminal_label"], "partner desk");
    assert_eq!(
        row["jti"].as_str().unwrap(),
        URL_SAFE_NO_PAD.encode(outer[1].1.as_bytes().unwrap())
    );
}

async fn codes_for_another_purpose_are_refused_both_ways(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, roadside, _) = issued(&app).await;
    let (rental, _) = code_for(&app, &holder, "rental").await;
    let (insurance, _) = code_for(&app, &holder, "insurance").await;
    let officer = app.token(Role::Officer, None);
    let desk = partner_token(&app, "rental");
    let insurer = partner_token(&app, "insurance");
    for (who, code) in [
        (&officer, &rental),
        (&desk, &roadside),
        (&desk, &insurance),
        (&insurer, &rental),
    ] {
        let v = scan(&app, who, json!({"code": code})).await;
        assert_eq!(v["valid"], false);
        assert_eq!(v["reasons"], json!(["purpose_mismatch"]), "{v}");
        assert_eq!(v["checks"]["signature"], "pass");
        assert_eq!(v["licence"], Value::Null, "{v}");
        assert_eq!(v["holder"], Value::Null, "{v}");
    }
    // Each its own: the officer's answer is still the whole licence.
    let v = scan(&app, &officer, json!({"code": roadside})).await;
    assert_eq!(v["licence"]["licence_number"], NUMBER);
    let v = scan(&app, &insurer, json!({"code": insurance})).await;
    assert_eq!(v["valid"], true, "{v}");
    // Other roles do not verify at all.
    for role in [Role::Reviewer, Role::Admin] {
        let t = app.token(role, None);
        let res = app
            .post_json("/api/v1/verify", &t, &json!({"code": rental}))
            .await;
        assert_eq!(error_code(res, 403).await.0, "forbidden");
    }
    let res = app
        .get(&format!("{CODE}?purpose=police"), Some(&holder))
        .await;
    assert_eq!(error_code(res, 400).await.0, "invalid_path");
}

async fn a_barcode_resolves_once_and_only_for_its_purpose(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, _, roadside_barcode) = issued(&app).await;
    let (_, barcode) = code_for(&app, &holder, "employment").await;
    let officer = app.token(Role::Officer, None);
    let employer = partner_token(&app, "employment");
    let desk = partner_token(&app, "rental");
    for who in [&officer, &desk] {
        let v = scan(&app, who, json!({"barcode": barcode})).await;
        assert_eq!(v["reasons"], json!(["purpose_mismatch"]), "{v}");
    }
    // Refused scans did not use it up.
    let v = scan(&app, &employer, json!({"barcode": barcode})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["checks"]["signature"], "not_applicable");
    assert_eq!(v["holder"]["name"], "张伟");
    assert_eq!(
        v["code_expires_at"],
        in_three_minutes(),
        "the expiry of the code it came with"
    );
    // A replay tells nothing: no holder, no verdict, no expiry, no failed check.
    let replay = scan(&app, &employer, json!({"barcode": barcode})).await;
    assert_eq!(
        replay,
        json!({"valid": false, "purpose": "employment",
               "checks": {"signature": "not_applicable", "expiry": "skipped", "status": "skipped"},
               "holder": null, "valid_now": null, "code_expires_at": null,
               "reasons": ["barcode_used"]})
    );
    // A roadside barcode is the officer's only.
    let v = scan(&app, &desk, json!({"barcode": roadside_barcode})).await;
    assert_eq!(v["reasons"], json!(["purpose_mismatch"]));
    let v = scan(&app, &officer, json!({"barcode": roadside_barcode})).await;
    assert_eq!(v["valid"], true, "{v}");
}

/// When a code issued at the test clock expires, as the answers write it.
fn in_three_minutes() -> String {
    (test_now() + chrono::Duration::seconds(180))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// A partner's terminal is a keyboard-wedge scanner too: the whitespace around a minimal code
/// or a barcode is not part of it. A lapsed barcode says when its code expired, and no more.
async fn a_partner_scan_ignores_scanner_whitespace_and_a_lapsed_barcode_says_when(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let (holder, _, _) = issued(&app).await;
    let desk = partner_token(&app, "rental");
    let (code, barcode) = code_for(&app, &holder, "rental").await;
    let v = scan(&app, &desk, json!({"code": format!("{code}\r\n")})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["code_expires_at"], in_three_minutes());
    let v = scan(&app, &desk, json!({"barcode": format!(" {barcode}\n")})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["holder"]["name"], "张伟");
    assert_eq!(v["code_expires_at"], in_three_minutes());

    let (_, lapsed) = code_for(&app, &holder, "rental").await;
    app.clock.set(test_now() + chrono::Duration::seconds(180));
    let v = scan(&app, &desk, json!({"barcode": lapsed})).await;
    assert_eq!(v["reasons"], json!(["expired"]), "{v}");
    assert_eq!(v["checks"]["expiry"], "fail");
    assert_eq!(v["code_expires_at"], in_three_minutes());
    assert_eq!(
        (&v["holder"], &v["valid_now"]),
        (&Value::Null, &Value::Null)
    );
}

async fn broken_expired_and_barred_minimal_codes_say_why_and_no_more(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, _, _) = issued(&app).await;
    let (code, _) = code_for(&app, &holder, "rental").await;
    let desk = partner_token(&app, "rental");
    let bytes = base45(&code[4..]);
    let mut tampered = bytes.clone();
    let at = bytes.windows(3).position(|w| w == "张".as_bytes()).unwrap();
    tampered[at + 2] ^= 1;
    let enc = |b: &[u8]| format!("EL1:{}", elicence::signing::base45::encode(b));
    // A lone last character: never Base45. Not a space (Base45 has one), which the verifier
    // trims as a scanner's would be; no valid code ends with one.
    let mut lone = 4 + (code.len() - 4) / 3 * 3 - 2;
    while code.as_bytes()[lone - 1] == b' ' {
        lone -= 3;
    }
    for (bad, reason) in [
        (enc(&tampered), "bad_signature"),
        (enc(&bytes[..bytes.len() - 4]), "malformed"),
        (code[..lone].to_owned(), "bad_base45"),
        (code.replacen("EL1:", "EL2:", 1), "bad_prefix"),
        (format!("{code}~"), "bad_base45"),
        ("EL1:".to_owned() + &"0".repeat(3000), "oversize"),
    ] {
        let res = app
            .post_json("/api/v1/verify", &desk, &json!({"code": bad}))
            .await;
        assert_eq!(res.status(), 200, "{bad:.40}");
        let v: Value = res.json().await.unwrap();
        assert_eq!(v["reasons"], json!([reason]), "{bad:.40}");
        assert_eq!(v["holder"], Value::Null);
    }
    // Suspended since signing: the partner learns "not valid now", never why.
    let mut r = record_with_photo(NUMBER);
    r["statuses"] = json!(["suspended"]);
    r["points"] = json!(12);
    app.seed(&r);
    let v = scan(&app, &desk, json!({"code": code})).await;
    assert_eq!(v["valid"], false);
    assert_eq!(v["valid_now"], false);
    assert_eq!(v["reasons"], json!(["not_valid_now"]), "{v}");
    assert!(!v.to_string().contains("suspended"), "{v}");
    // A licence past its validity is `expired` too, but the code is fresh: the partner
    // learns it may not drive now, and never that the licence expired.
    let mut r = record_with_photo(NUMBER);
    r["valid_until"] = json!("2026-11-01");
    app.seed(&r);
    let v = scan(&app, &desk, json!({"code": code})).await;
    assert_eq!(v["checks"]["expiry"], "pass");
    assert_eq!(v["reasons"], json!(["not_valid_now"]), "{v}");
    assert_eq!(v["valid_now"], false, "{v}");
    assert_eq!(v["holder"]["name"], "张伟", "{v}");
    // Three minutes later the code has lapsed: it no longer speaks for the licence at all,
    // so a partner who kept it cannot keep watching whether the holder may drive.
    app.clock.set(test_now() + chrono::Duration::seconds(180));
    let v = scan(&app, &desk, json!({"code": code})).await;
    assert_eq!(v["checks"]["expiry"], "fail");
    assert_eq!(v["reasons"], json!(["expired"]), "{v}");
    assert_eq!(v["holder"], Value::Null, "{v}");
    assert_eq!(v["valid_now"], Value::Null, "{v}");
    // Cleared again: still nothing, the code stays lapsed.
    app.seed(&record_with_photo(NUMBER));
    let v = scan(&app, &desk, json!({"code": code})).await;
    assert_eq!(v["reasons"], json!(["expired"]), "{v}");
    assert_eq!(v["holder"], Value::Null, "{v}");
}

async fn the_qr_image_of_a_minimal_code_reads_back_and_fits_version_10(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, _, _) = issued(&app).await;
    let (code, _) = code_for(&app, &holder, "insurance").await;
    let res = app
        .get(
            "/api/v1/me/e-licence/qr.png?purpose=insurance",
            Some(&holder),
        )
        .await;
    assert_eq!(res.status(), 200);
    let png = res.bytes().await.unwrap();
    // The image shows the code the app was just given, read back by rxing.
    assert_eq!(elicence::offline::scan::decode_qr(&png).unwrap(), code);
    // 张伟, C1+D: version 9 at level M (53 modules, 4-module quiet zones, 6 px a module).
    let qr = elicence::render::qr::QrMatrix::encode(&code).unwrap();
    assert!(
        qr.version() <= 10,
        "{} chars: version {}",
        code.len(),
        qr.version()
    );
    let side = image::load_from_memory(&png).unwrap().width();
    assert_eq!(side as usize, (qr.width() + 8) * 6);
    assert_eq!(qr.width(), 17 + 4 * qr.version() as usize);
    let svg = app
        .get(
            "/api/v1/me/e-licence/qr.svg?purpose=insurance",
            Some(&holder),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(svg.contains(&format!("viewBox=\"0 0 {0} {0}\"", qr.width() + 8)));
    // The roadside image is still the JWS.
    let roadside = app.get("/api/v1/me/e-licence/qr.png", Some(&holder)).await;
    let text = elicence::offline::scan::decode_qr(&roadside.bytes().await.unwrap()).unwrap();
    assert!(text.starts_with("eyJ"), "{text:.20}");
}

async fn the_offline_terminal_verifies_a_purpose_and_refuses_the_others(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, roadside, _) = issued(&app).await;
    let (code, _) = code_for(&app, &holder, "rental").await;
    let dir = tempfile::tempdir().unwrap();
    let jwks = dir.path().join("jwks.json");
    std::fs::write(&jwks, app.jwks_bytes().await).unwrap();
    let png = dir.path().join("rental.png");
    let image = app
        .get("/api/v1/me/e-licence/qr.png?purpose=rental", Some(&holder))
        .await;
    std::fs::write(&png, image.bytes().await.unwrap()).unwrap();
    let now = now_flag(60);
    let run = |list: &[&str]| {
        let mut a = args(list);
        a.extend(args(&["--jwks", path(&jwks), "--now", &now]));
        verify(a, None)
    };

    let out = run(&[path(&png), "--purpose", "rental"]).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("VALID") && stdout.contains("张伟"),
        "{stdout}"
    );
    assert!(
        stdout.contains("C1,D") && stdout.contains("rental"),
        "{stdout}"
    );
    assert!(!stdout.contains(NUMBER), "{stdout}");

    let out = run(&[&code, "--purpose", "rental", "--json"]).await;
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["qualification"]["name"], "张伟");
    assert_eq!(v["qualification"]["valid_at_signing"], true);
    assert_eq!(v["holder"], Value::Null);

    // The other purposes, and an officer's default, refuse it; a partner refuses the JWS.
    for (input, purpose) in [
        (&code, "insurance"),
        (&code, "roadside"),
        (&roadside, "rental"),
    ] {
        let out = run(&[input, "--purpose", purpose]).await;
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{stdout}");
        assert!(stdout.contains("INVALID (purpose_mismatch)"), "{stdout}");
        assert!(!stdout.contains("张伟"), "{stdout}");
    }
    let out = run(&[&code]).await;
    assert!(text(&out.stdout).contains("purpose_mismatch"));
    // Expired at its exp second.
    let out = verify(
        args(&[
            &code,
            "--purpose",
            "rental",
            "--jwks",
            path(&jwks),
            "--now",
            &now_flag(180),
        ]),
        None,
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("INVALID (expired)"));
}

/// After a class change the rental code fetched before is refused: the desk learns
/// `superseded` (ask for a fresh code) and nothing else, neither the qualification now (whose
/// new classes would tell why) nor the specific reason, which the audit keeps.
async fn a_superseded_e_licences_rental_code_is_refused_without_the_why(backend: Backend) {
    use crate::lifecycle::send;
    let app = spawn_app(backend).await;
    let (holder, _, _) = issued(&app).await;
    let (code, barcode) = code_for(&app, &holder, "rental").await;
    let desk = partner_token(&app, "rental");
    let v = scan(&app, &desk, json!({"code": code})).await;
    assert_eq!(v["valid"], true, "{v}");

    send(&app, json!({"type": "classes_changed", "classes": ["B2"]})).await;
    let leaks = ["class_changed", "B2", NUMBER, "e_licence", "points", "C1"];
    for shown in [json!({"code": code}), json!({"barcode": barcode})] {
        let v = scan(&app, &desk, shown.clone()).await;
        assert_eq!(v["valid"], false, "{shown}");
        assert_eq!(v["reasons"], json!(["superseded"]), "{v}");
        assert_eq!(v["checks"]["status"], "fail");
        assert_eq!(v["holder"], Value::Null, "{v}");
        assert_eq!(v["valid_now"], Value::Null, "{v}");
        let body = v.to_string();
        for leak in leaks {
            assert!(!body.contains(leak), "{leak} in {body}");
        }
    }
    // Barred as well: an old code says nothing about the licence now, not even
    // `not_valid_now` (a kept code would otherwise keep telling whether the holder may drive).
    send(&app, json!({"type": "status_set", "status": "suspended"})).await;
    let v = scan(&app, &desk, json!({"code": code})).await;
    assert_eq!(v["reasons"], json!(["superseded"]), "{v}");
    assert_eq!(v["valid_now"], Value::Null, "{v}");
    assert!(!v.to_string().contains("suspended"), "{v}");

    // The authority keeps the detail.
    let rows: Vec<_> = audit_entries(&app)
        .await
        .iter()
        .map(|r| (r["method"].clone(), r["reasons"].clone()))
        .collect();
    assert_eq!(
        rows,
        [
            (json!("code:rental"), json!([])),
            (json!("code:rental"), json!(["superseded"])),
            (json!("barcode:rental"), json!(["superseded"])),
            (json!("code:rental"), json!(["superseded", "suspended"])),
        ]
    );
    // The holder applies again: a fresh rental code shows the new qualification.
    send(
        &app,
        json!({"type": "status_cleared", "status": "suspended"}),
    )
    .await;
    crate::helpers::issue_e_licence(&app, &holder).await;
    let (fresh, _) = code_for(&app, &holder, "rental").await;
    let v = scan(&app, &desk, json!({"code": fresh})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["holder"]["classes"], json!(["B2"]));
}

crate::both_backends!(
    a_superseded_e_licences_rental_code_is_refused_without_the_why,
    a_rental_code_carries_the_qualification_only_and_verifies_by_hand,
    codes_for_another_purpose_are_refused_both_ways,
    a_barcode_resolves_once_and_only_for_its_purpose,
    broken_expired_and_barred_minimal_codes_say_why_and_no_more,
    the_qr_image_of_a_minimal_code_reads_back_and_fits_version_10,
    the_offline_terminal_verifies_a_purpose_and_refuses_the_others,
    a_partner_scan_ignores_scanner_whitespace_and_a_lapsed_barcode_says_when,
);
