//! The offline verifier against codes signed by a real key ring in a temporary folder.

use super::*;
use crate::domain::code::{example_claims, StatusBit};
use crate::signing::KeyRing;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

const EXP: i64 = 1_795_396_632;

fn at(seconds: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(seconds, 0).unwrap()
}

/// A moment the codes below are live.
fn now() -> DateTime<Utc> {
    at(EXP - 60)
}

struct Fixture {
    _dir: tempfile::TempDir,
    ring: KeyRing,
    verifier: Verifier,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let (ring, _) = KeyRing::open_or_generate(dir.path(), at(EXP - 86_400)).unwrap();
    // The terminal's keys come from the published JWKS document, as in the field.
    let jwks = serde_json::to_vec(&ring.jwks()).unwrap();
    let (keys, ignored) = KeySet::from_jwks_json(&jwks).unwrap();
    assert!(ignored.is_empty());
    Fixture {
        _dir: dir,
        ring,
        verifier: Verifier::new(keys),
    }
}

fn claims(serial: i64) -> CodeClaims {
    CodeClaims {
        e_licence: serial,
        jti: format!("{serial:08}"),
        ..example_claims(EXP)
    }
}

impl Fixture {
    fn sign(&self, claims: &CodeClaims) -> String {
        jws::sign(&self.ring, CODE_TYP, &serde_json::to_vec(claims).unwrap())
    }

    fn sign_raw(&self, payload: &Value) -> String {
        jws::sign(&self.ring, CODE_TYP, &serde_json::to_vec(payload).unwrap())
    }

    fn reasons(&self, code: &str, now: DateTime<Utc>) -> Vec<String> {
        let one = self.verifier.verify(code, now);
        // The bulk path agrees on every code here, one thread and two.
        for threads in [1, 2] {
            let all = self.verifier.verify_all(&[code], now, threads);
            assert_eq!(all, std::slice::from_ref(&one), "{code}");
        }
        one.reasons.iter().map(|r| r.code().to_owned()).collect()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn segments(code: &str) -> (&str, &str, &str) {
    let mut parts = code.split('.');
    (
        parts.next().unwrap(),
        parts.next().unwrap(),
        parts.next().unwrap(),
    )
}

/// `code` with its header JSON replaced (the signature no longer covers it).
fn with_header(code: &str, header: Value) -> String {
    let (_, p, s) = segments(code);
    format!("{}.{p}.{s}", b64(&serde_json::to_vec(&header).unwrap()))
}

#[test]
fn a_fresh_code_is_valid_and_shows_the_holder() {
    let f = fixture();
    let code = f.sign(&claims(7));
    let v = f.verifier.verify(&code, now());
    assert!(v.is_valid(), "{:?}", v.reasons);
    assert_eq!(v.claims, Some(claims(7)));
    assert_eq!(f.verifier.keys().kid(v.key.unwrap()), f.ring.active_kid());
    assert!(f.reasons(&code, now()).is_empty());
}

#[test]
fn expiry_follows_the_injected_clock() {
    let f = fixture();
    let code = f.sign(&claims(7));
    assert!(f.reasons(&code, at(EXP - 1)).is_empty());
    assert_eq!(f.reasons(&code, at(EXP)), ["expired"]);
    let late = f.verifier.verify(&code, at(EXP + 3600));
    assert_eq!(late.reasons, [Invalid::Expired]);
    assert_eq!(late.claims, Some(claims(7)), "the holder is still shown");
}

#[test]
fn a_licence_barred_at_signing_is_invalid_with_each_reason() {
    let f = fixture();
    let mut barred = claims(7);
    barred.status = StatusBit::Suspended.value() | StatusBit::PointsLimit.value();
    let code = f.sign(&barred);
    assert_eq!(f.reasons(&code, now()), ["suspended", "points_limit"]);
    assert_eq!(
        f.reasons(&code, at(EXP)),
        ["expired", "suspended", "points_limit"]
    );
}

#[test]
fn tampering_and_forged_headers_are_refused_with_their_codes() {
    let f = fixture();
    let code = f.sign(&claims(7));
    let (h, p, s) = segments(&code);
    let kid = f.ring.active_kid().to_owned();
    let mut other = claims(7);
    other.name = "李四".into();
    let mut flipped = URL_SAFE_NO_PAD.decode(s).unwrap();
    flipped[10] ^= 1;
    let cases = [
        (
            format!("{h}.{}.{s}", b64(&serde_json::to_vec(&other).unwrap())),
            "bad_signature",
        ),
        (format!("{h}.{p}.{}", b64(&flipped)), "bad_signature"),
        (
            with_header(&code, json!({"alg": "none", "kid": kid, "typ": CODE_TYP})),
            "unsupported_alg",
        ),
        (
            with_header(&code, json!({"alg": "HS256", "kid": kid, "typ": CODE_TYP})),
            "unsupported_alg",
        ),
        (
            with_header(
                &code,
                json!({"alg": "EdDSA", "kid": kid, "typ": CODE_TYP, "jku": "https://evil.example/jwks.json"}),
            ),
            "forbidden_header",
        ),
        (
            with_header(&code, json!({"alg": "EdDSA", "kid": kid, "typ": "JWT"})),
            "wrong_typ",
        ),
        (
            with_header(
                &code,
                json!({"alg": "EdDSA", "kid": "not-ours", "typ": CODE_TYP}),
            ),
            "unknown_kid",
        ),
        (format!("{h}.{p}"), "malformed"),
        (format!("{h}.{p}.{s}.{s}"), "malformed"),
        (format!("{h}.{p}.{}", &s[..40]), "malformed"),
        (format!("{h}.{p}.{s}="), "malformed"),
        ("not a code at all".to_owned(), "malformed"),
        (String::new(), "malformed"),
        ("a".repeat(5000), "oversize"),
    ];
    for (forged, expected) in cases {
        let v = f.verifier.verify(&forged, now());
        assert_eq!(v.claims, None, "nothing shown from {forged}");
        assert_eq!(f.reasons(&forged, now()), [expected], "{forged}");
    }
}

#[test]
fn a_signed_code_with_bad_claims_is_malformed() {
    let f = fixture();
    let mut c = serde_json::to_value(claims(7)).unwrap();
    c.as_object_mut().unwrap().remove("exp");
    assert_eq!(f.reasons(&f.sign_raw(&c), now()), ["malformed"]);
    let mut c = serde_json::to_value(claims(7)).unwrap();
    c["v"] = json!("2028-03-05");
    assert_eq!(f.reasons(&f.sign_raw(&c), now()), ["malformed"]);
    // Unknown claims are ignored.
    let mut c = serde_json::to_value(claims(7)).unwrap();
    c["later"] = json!(1);
    assert!(f.reasons(&f.sign_raw(&c), now()).is_empty());
}

#[test]
fn a_code_of_another_ring_is_unknown() {
    let f = fixture();
    let stranger = fixture();
    assert_eq!(
        f.reasons(&stranger.sign(&claims(7)), now()),
        ["unknown_kid"]
    );
}

#[test]
fn three_forgeries_in_a_batch_of_300_are_found_and_nothing_else() {
    let f = fixture();
    let mut codes: Vec<String> = (0..300).map(|i| f.sign(&claims(i))).collect();
    let forged = [140, 150, 151];
    // A payload swapped for another code's, a flipped signature bit, a signature moved over.
    let other = codes[7].clone();
    let (_, p_other, s_other) = segments(&other);
    let (h, _, s) = segments(&codes[140]);
    codes[140] = format!("{h}.{p_other}.{s}");
    let (h, p, s) = segments(&codes[150]);
    let mut sig = URL_SAFE_NO_PAD.decode(s).unwrap();
    sig[0] ^= 0x80;
    codes[150] = format!("{h}.{p}.{}", b64(&sig));
    let (h, p, _) = segments(&codes[151]);
    codes[151] = format!("{h}.{p}.{s_other}");

    let one_by_one: Vec<Verdict> = codes.iter().map(|c| f.verifier.verify(c, now())).collect();
    for threads in [1, 2, 4] {
        let all = f.verifier.verify_all(&codes, now(), threads);
        assert_eq!(all, one_by_one, "{threads} threads");
    }
    for (i, v) in one_by_one.iter().enumerate() {
        if forged.contains(&i) {
            assert_eq!(
                v.reasons,
                [Invalid::Jws(JwsError::BadSignature)],
                "code {i}"
            );
        } else {
            assert!(v.is_valid(), "code {i}: {:?}", v.reasons);
            assert_eq!(v.claims.as_ref().unwrap().e_licence, i as i64);
        }
    }
}

#[test]
fn a_batch_mixing_every_kind_of_code_matches_one_by_one() {
    let f = fixture();
    let stranger = fixture();
    let good = f.sign(&claims(1));
    let (h, p, s) = segments(&good);
    let mut barred = claims(2);
    barred.status = StatusBit::Revoked.value();
    let mut codes = vec![
        good.clone(),
        f.sign(&barred),
        stranger.sign(&claims(3)),
        format!("{h}.{p}"),
        format!("{h}.{p}.{}", b64(&[0u8; 64])),
        with_header(&good, json!({"alg": "none", "typ": CODE_TYP})),
        format!("{h}.!!.{s}"),
        String::new(),
    ];
    // Enough to span several chunks, with a second key's header in the mix.
    codes.extend((0..500).map(|i| {
        if i % 50 == 0 {
            stranger.sign(&claims(i))
        } else {
            f.sign(&claims(i))
        }
    }));
    for moment in [now(), at(EXP)] {
        let one_by_one: Vec<Verdict> = codes.iter().map(|c| f.verifier.verify(c, moment)).collect();
        assert_eq!(f.verifier.verify_all(&codes, moment, 2), one_by_one);
    }
}

/// The seam for further checks, such as the offline status list.
#[test]
fn an_added_check_runs_after_the_signature() {
    struct Revoked(i64);
    impl ClaimCheck for Revoked {
        fn check(&self, claims: &CodeClaims, _now: DateTime<Utc>, reasons: &mut Vec<Invalid>) {
            if claims.e_licence == self.0 {
                reasons.push(Invalid::AtSigning("revoked".into()));
            }
        }
    }
    let f = fixture();
    let verifier = f.verifier.with_check(Revoked(9));
    let revoked = verifier.verify(
        &jws::sign(&f.ring, CODE_TYP, &serde_json::to_vec(&claims(9)).unwrap()),
        now(),
    );
    assert_eq!(revoked.reasons.len(), 1);
    assert_eq!(revoked.reasons[0].code(), "revoked");
}

/// The ring's status list: serial 7 VALID, 8 INVALID, 9 SUSPENDED, 10 holding 0x03, the
/// list running to index 15 (four bytes of two bits); issued a day before `now()`, good for
/// two days.
fn status_list_token(f: &Fixture) -> String {
    use crate::status_list::token::{self, StatusListClaims};
    use crate::status_list::{Bits, Status, StatusList};
    let mut list = StatusList::new(Bits::TWO);
    list.set_status(7, Status::Valid).unwrap();
    list.set_status(8, Status::Invalid).unwrap();
    list.set_status(9, Status::Suspended).unwrap();
    list.set(10, 3).unwrap();
    list.set_status(13, Status::Valid).unwrap();
    let iat = now().timestamp() - 86_400;
    token::sign(
        &f.ring,
        &StatusListClaims {
            sub: "https://elicence.example/api/v1/status-list".into(),
            iat,
            exp: iat + 2 * 86_400,
            ttl: 300,
            status_list: list.encode(),
        },
    )
}

fn with_status_list(f: &Fixture) -> Verifier {
    let check = StatusListCheck::from_token(&status_list_token(f), f.verifier.keys()).unwrap();
    assert_eq!(check.info().entries, 16);
    Verifier::new(f.verifier.keys().clone()).with_check(check)
}

#[test]
fn the_status_list_revokes_suspends_and_knows_its_bounds() {
    let f = fixture();
    let verifier = with_status_list(&f);
    let reasons = |serial: i64, moment: DateTime<Utc>| -> Vec<String> {
        let code = f.sign(&claims(serial));
        let one = verifier.verify(&code, moment);
        assert_eq!(
            verifier.verify_all(&[&code], moment, 1),
            std::slice::from_ref(&one)
        );
        one.reasons.iter().map(|r| r.code().to_owned()).collect()
    };
    assert!(reasons(7, now()).is_empty());
    assert_eq!(reasons(8, now()), ["revoked"]);
    assert_eq!(reasons(9, now()), ["suspended"]);
    assert_eq!(reasons(10, now()), ["status_unknown"], "0x03 is not ours");
    assert!(
        reasons(15, now()).is_empty(),
        "the padding of the last byte"
    );
    assert_eq!(reasons(16, now()), ["status_unknown"], "past the end");
    assert_eq!(reasons(-1, now()), ["status_unknown"]);
    // The code's own expiry comes first, and the list is still consulted.
    assert_eq!(reasons(8, at(EXP)), ["expired", "revoked"]);
    // Past the list's exp (a day after now()): every code says so, still looked up.
    let late = now() + chrono::Duration::days(1);
    let mut live = claims(7);
    live.exp = late.timestamp() + 60;
    let code = f.sign(&live);
    let v = verifier.verify(&code, late);
    assert_eq!(v.reasons, [Invalid::StatusStale]);
    assert!(v.claims.is_some(), "the holder is still shown");
    live.e_licence = 9;
    assert_eq!(
        verifier.verify(&f.sign(&live), late).reasons,
        [Invalid::StatusStale, Invalid::Suspended]
    );
}

/// A signed list of 2^20 entries at `sub`, with these (index, status) entries.
fn shard_token(f: &Fixture, sub: &str, entries: &[(u64, crate::status_list::Status)]) -> String {
    use crate::status_list::token::{self, StatusListClaims};
    use crate::status_list::{Bits, StatusList, LIST_SIZE};
    let mut list = StatusList::with_entries(Bits::TWO, u64::from(LIST_SIZE));
    for (i, s) in entries {
        list.set_status(*i, *s).unwrap();
    }
    let iat = now().timestamp() - 60;
    token::sign(
        &f.ring,
        &StatusListClaims {
            sub: sub.into(),
            iat,
            exp: iat + 86_400,
            ttl: 300,
            status_list: list.encode(),
        },
    )
}

/// A code's `e` is looked up in list `e >> 20` at index `e & 0xFFFFF`; a list the terminal
/// does not hold says nothing (`status_unknown`), and lists added later are used at once.
#[test]
fn each_code_is_looked_up_in_the_list_its_e_names() {
    use crate::offline::{Scope, StatusListSet};
    use crate::status_list::Status;
    use std::sync::Arc;
    let f = fixture();
    let keys = f.verifier.keys().clone();
    let base = "https://elicence.example/api/v1/status-lists";
    let list_1 = shard_token(&f, &format!("{base}/1"), &[(9, Status::Invalid)]);
    let list_1 = StatusListCheck::from_token(&list_1, &keys).unwrap();
    assert_eq!(list_1.info().scope, Scope::Shard(1));
    assert_eq!(list_1.info().entries, 1 << 20);
    let set = Arc::new(StatusListSet::new());
    set.insert(list_1);
    let verifier = Verifier::new(keys.clone()).with_check(set.clone());
    let reasons = |e: i64| -> Vec<String> {
        let v = verifier.verify(&f.sign(&claims(e)), now());
        v.reasons.iter().map(|r| r.code().to_owned()).collect()
    };
    assert_eq!(reasons((1 << 20) + 9), ["revoked"]);
    assert!(reasons((1 << 20) + 10).is_empty(), "a free index is VALID");
    assert!(reasons((1 << 20) + 0xFFFFF).is_empty(), "the last index");
    assert_eq!(reasons(9), ["status_unknown"], "list 0 is not held");
    assert_eq!(reasons((2 << 20) + 9), ["status_unknown"]);
    // List 0 arrives (as from an aggregation): its entries count from then on.
    let list_0 = shard_token(&f, &format!("{base}/0"), &[(9, Status::Suspended)]);
    set.insert(StatusListCheck::from_token(&list_0, &keys).unwrap());
    assert_eq!(reasons(9), ["suspended"]);
    assert_eq!(reasons((1 << 20) + 9), ["revoked"]);
    assert_eq!(set.len(), 2);
}

#[test]
fn suspended_at_signing_and_in_the_list_is_said_once() {
    let f = fixture();
    let verifier = with_status_list(&f);
    let mut barred = claims(9);
    barred.status = StatusBit::Suspended.value() | StatusBit::PointsLimit.value();
    let v = verifier.verify(&f.sign(&barred), now());
    let codes: Vec<&str> = v.reasons.iter().map(Invalid::code).collect();
    assert_eq!(codes, ["suspended", "points_limit"]);
}

#[test]
fn a_status_list_not_signed_by_a_published_key_is_refused() {
    use crate::status_list::token::TokenError;
    let f = fixture();
    let stranger = fixture();
    let theirs = status_list_token(&stranger);
    assert_eq!(
        StatusListCheck::from_token(&theirs, f.verifier.keys()).unwrap_err(),
        TokenError::Jws(JwsError::UnknownKey)
    );
    let ours = status_list_token(&f);
    let (h, p, s) = segments(&ours);
    let mut sig = URL_SAFE_NO_PAD.decode(s).unwrap();
    sig[5] ^= 1;
    assert_eq!(
        StatusListCheck::from_token(&format!("{h}.{p}.{}", b64(&sig)), f.verifier.keys())
            .unwrap_err(),
        TokenError::Jws(JwsError::BadSignature)
    );
    // A roadside code where a list belongs.
    assert_eq!(
        StatusListCheck::from_token(&f.sign(&claims(7)), f.verifier.keys()).unwrap_err(),
        TokenError::Jws(JwsError::WrongType)
    );
}

mod minimal_codes {
    use super::*;
    use crate::domain::minimal::{example_minimal, MinimalClaims, MINIMAL_PREFIX};
    use crate::domain::purpose::Purpose;
    use crate::render::qr::QrMatrix;
    use crate::signing::{base45, cose};

    impl Fixture {
        fn sign_minimal(&self, claims: &MinimalClaims) -> String {
            cose::sign_text(&self.ring, MINIMAL_PREFIX, claims.to_cbor())
        }

        fn verifier_for(&self, purpose: Purpose) -> Verifier {
            let jwks = serde_json::to_vec(&self.ring.jwks()).unwrap();
            Verifier::for_purpose(KeySet::from_jwks_json(&jwks).unwrap().0, purpose)
        }
    }

    fn minimal() -> MinimalClaims {
        example_minimal(EXP)
    }

    fn reasons(v: &Verifier, code: &str, now: DateTime<Utc>) -> Vec<String> {
        let one = v.verify(code, now);
        assert_eq!(
            v.verify_all(&[code], now, 2),
            std::slice::from_ref(&one),
            "{code}"
        );
        one.reasons.iter().map(|r| r.code().to_owned()).collect()
    }

    #[test]
    fn a_minimal_code_verifies_for_its_purpose_and_no_other() {
        let f = fixture();
        let code = f.sign_minimal(&minimal());
        let rental = f.verifier_for(Purpose::Rental);
        let v = rental.verify(&code, now());
        assert!(v.is_valid(), "{:?}", v.reasons);
        assert_eq!(v.minimal, Some(minimal()));
        assert_eq!(v.claims, None);
        assert_eq!(rental.keys().kid(v.key.unwrap()), f.ring.active_kid());
        for other in [Purpose::Insurance, Purpose::Employment, Purpose::Roadside] {
            let v = f.verifier_for(other).verify(&code, now());
            assert_eq!(v.reasons, [Invalid::PurposeMismatch], "{other:?}");
            assert_eq!((v.minimal, v.claims), (None, None), "nothing is shown");
        }
        // A roadside code shown to a partner, and a minimal one mixed into an officer's file.
        let roadside = f.sign(&claims(7));
        assert_eq!(reasons(&rental, &roadside, now()), ["purpose_mismatch"]);
        let mixed = vec![roadside.clone(), code.clone(), roadside];
        let all = f.verifier.verify_all(&mixed, now(), 1);
        assert!(all[0].is_valid() && all[2].is_valid());
        assert_eq!(all[1].reasons, [Invalid::PurposeMismatch]);
    }

    #[test]
    fn expiry_and_the_verdict_at_signing_follow_the_claims() {
        let f = fixture();
        let rental = f.verifier_for(Purpose::Rental);
        let code = f.sign_minimal(&minimal());
        assert!(reasons(&rental, &code, at(EXP - 1)).is_empty());
        assert_eq!(reasons(&rental, &code, at(EXP)), ["expired"]);
        let barred = MinimalClaims {
            valid_at_signing: false,
            ..minimal()
        };
        let code = f.sign_minimal(&barred);
        assert_eq!(reasons(&rental, &code, now()), ["not_valid_now"]);
        assert_eq!(
            reasons(&rental, &code, at(EXP + 5)),
            ["expired", "not_valid_now"]
        );
    }

    #[test]
    fn broken_minimal_codes_are_refused_with_their_codes() {
        let f = fixture();
        let stranger = fixture();
        let rental = f.verifier_for(Purpose::Rental);
        let code = f.sign_minimal(&minimal());
        let bytes = base45::decode(&code[MINIMAL_PREFIX.len()..]).unwrap();
        let enc = |b: &[u8]| format!("{MINIMAL_PREFIX}{}", base45::encode(b));
        let mut tampered = bytes.clone();
        // A byte of the name (inside the payload) changed, the signature kept.
        let at_name = bytes.windows(3).position(|w| w == "张".as_bytes()).unwrap();
        tampered[at_name + 2] ^= 1;
        // Signed by us, but claims that are not ours.
        let not_claims = cose::sign_text(&f.ring, MINIMAL_PREFIX, b"\xa0".to_vec());
        for (text, reason) in [
            (enc(&tampered), "bad_signature"),
            (enc(&bytes[..bytes.len() - 1]), "malformed"),
            // Whole Base45 groups, one short.
            (
                code[..4 + (code.len() - 4) / 3 * 3 - 3].to_owned(),
                "malformed",
            ),
            // A length of 1 modulo 3 (a lone character): never Base45.
            (
                code[..4 + (code.len() - 4) / 3 * 3 - 2].to_owned(),
                "bad_base45",
            ),
            (code.replacen("EL1:", "HC1:", 1), "bad_prefix"),
            (code.to_lowercase(), "bad_prefix"),
            (format!("{}a", &code), "bad_base45"),
            ("EL1:".to_owned() + &"0".repeat(2000), "oversize"),
            (String::new(), "bad_prefix"),
            (not_claims, "malformed"),
            (stranger.sign_minimal(&minimal()), "unknown_kid"),
        ] {
            assert_eq!(reasons(&rental, &text, now()), [reason], "{text:.40}");
            // An officer's terminal says the same of a broken minimal code.
            if text.starts_with(MINIMAL_PREFIX) {
                assert_eq!(reasons(&f.verifier, &text, now()), [reason], "{text:.40}");
            }
        }
    }

    /// The QR versions of docs/code-format.md ("Purposes"), measured on signed codes.
    #[test]
    fn the_minimal_code_fits_version_10_and_the_sizes_are_the_documented_ones() {
        let f = fixture();
        let measure = |name: &str, classes: &str, valid_until: Option<&str>| {
            let code = f.sign_minimal(&MinimalClaims {
                name: name.into(),
                classes: crate::domain::code::classes(classes),
                valid_until: valid_until.map(|d| d.parse().unwrap()),
                ..minimal()
            });
            let qr = QrMatrix::encode(&code).unwrap();
            eprintln!(
                "{name} / {classes}: {} chars, version {}",
                code.len(),
                qr.version()
            );
            (code.len(), qr.version())
        };
        let day = Some("2028-03-05");
        let all = "A1,A2,A3,B1,B2,C1,C2,C3,C4,C5,C6,D,E,F,M,N,P";
        let rows = [
            // The typical holder: three Chinese characters, C1.
            ("张小伟".to_owned(), "C1", day),
            ("张小伟".to_owned(), "C1,D", day),
            ("欧阳小伟".to_owned(), "A1,A2,D", day),
            // A 20-character foreign name, with a date and long-term.
            ("MUHAMMAD ALI RAHMANI".to_owned(), "C1", day),
            ("MUHAMMAD ALI RAHMANI".to_owned(), "C1", None),
            // The longest names that still fit version 10 with C1, and one character more.
            ("A".repeat(45), "C1", day),
            ("A".repeat(46), "C1", day),
            ("张".repeat(15), "C1", day),
            ("张".repeat(16), "C1", day),
            // Every class costs 3 bytes more than C1, whatever their number.
            ("张".repeat(14), all, day),
            ("张".repeat(15), all, day),
            // The worst the registry allows, uncut: 64 characters of 3 bytes, every class.
            ("龘".repeat(64), all, day),
        ];
        let measured: Vec<(usize, i16)> = rows
            .iter()
            .map(|(name, classes, until)| measure(name, classes, *until))
            .collect();
        assert_eq!(
            measured,
            [
                (255, 9),
                (256, 9),
                (261, 9),
                (271, 10),
                (265, 10),
                (310, 10),
                (312, 11),
                (310, 10),
                (315, 11),
                (310, 10),
                (315, 11),
                (535, 15),
            ]
        );
    }
}

/// The worked example of docs/code-format.md ("Purposes"), signed by a fixed key: Ed25519 is
/// deterministic, so the code in the document is exactly what we sign and it verifies.
mod documented_example {
    use super::*;
    use crate::domain::minimal::{MinimalClaims, MINIMAL_PREFIX};
    use crate::domain::purpose::Purpose;
    use crate::signing::cose;
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use std::os::unix::fs::PermissionsExt;

    /// A key ring holding only the key of seed 7·32 (a test key, never a real one).
    fn fixed_ring() -> (tempfile::TempDir, KeyRing) {
        let dir = tempfile::tempdir().unwrap();
        let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
        let kid = crate::signing::thumbprint(&key.verifying_key());
        let pem_path = dir.path().join(format!("{kid}.pem"));
        let pem = key
            .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
            .unwrap();
        std::fs::write(&pem_path, pem.as_bytes()).unwrap();
        std::fs::set_permissions(&pem_path, std::fs::Permissions::from_mode(0o600)).unwrap();
        let manifest = json!({"keys": [{"kid": kid, "state": "active",
            "created_at": "2026-11-25T00:00:00Z"}]});
        std::fs::write(dir.path().join("keyring.json"), manifest.to_string()).unwrap();
        let ring = KeyRing::open(dir.path()).unwrap();
        (dir, ring)
    }

    #[test]
    fn the_documented_minimal_code_is_what_we_sign() {
        let (_dir, ring) = fixed_ring();
        let claims = MinimalClaims {
            purpose: Purpose::Rental,
            name: "张伟".into(),
            classes: crate::domain::code::classes("C1,D"),
            valid_until: "2028-03-05".parse().ok(),
            valid_at_signing: true,
            exp: 1_795_598_879,
            cti: *b"zGb3vE",
        };
        let code = cose::sign_text(&ring, MINIMAL_PREFIX, claims.to_cbor());
        let jwks = serde_json::to_string(&ring.jwks()).unwrap();
        let bytes = crate::signing::base45::decode(&code[4..]).unwrap();
        // ZLIB (as the COVID certificate used) would make it longer, not shorter.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut z, &bytes).unwrap();
        assert_eq!((bytes.len(), z.finish().unwrap().len()), (165, 176));
        let (keys, _) = KeySet::from_jwks_json(jwks.as_bytes()).unwrap();
        let v = Verifier::for_purpose(keys, Purpose::Rental).verify(&code, at(1_795_598_800));
        assert!(v.is_valid(), "{:?}", v.reasons);
        assert_eq!(code, DOCUMENTED_CODE);
    }

    const DOCUMENTED_CODE: &str = "EL1:RRQW6BSLK/-4Q6B0W5$%6AY9LUD+1A-PEDJDDFFRQE6C9SDB0ZAQM6Q1C2N8DIA6QDNKE+Y9 8DT2CCRDQ6BHRKDF3-$0N-3.+8419YM6$X8100000V%KG0D3%NB-SQ4KI73524.C33Y65LU500T70H88IMC%ZQAHUYZ1-BEM4U+TQM9H/FRB16/$ULRCW8CCPR .N.PAB CQR7O-QK99%4285BJ+BK.QQC7SGJ2SG:N3.95VLVG+4E0";
}
