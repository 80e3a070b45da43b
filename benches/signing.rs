//! Criterion benchmarks of the code path: signing a display code and verifying one.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use elicence::domain::code::{CodeClaims, CODE_TYP, ISSUER};
use elicence::signing::{jws, KeyRing};

fn claims() -> Vec<u8> {
    serde_json::to_vec(&CodeClaims {
        iss: ISSUER.into(),
        eid: "el_b0c2ee1588bf52ebf2f8246a".into(),
        sub: "110101199001010111".into(),
        nam: "张伟".into(),
        cls: "C1".into(),
        vu: Some("2031-03-05".parse().unwrap()),
        st: "ok".into(),
        pho: "G21r79RPZTkj0Js-TTgJS7kaVf5T6rocJOtsmGBV7cc".into(),
        iat: 1_795_396_452,
        exp: 1_795_396_632,
        jti: "03bdcaf19e229710".into(),
    })
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (ring, _) =
        KeyRing::open_or_generate(dir.path(), "2026-11-22T00:00:00Z".parse().unwrap()).unwrap();
    let payload = claims();
    let token = jws::sign(&ring, CODE_TYP, &payload);
    c.bench_function("sign_code", |b| {
        b.iter(|| jws::sign(&ring, CODE_TYP, black_box(&payload)))
    });
    c.bench_function("verify_code", |b| {
        b.iter(|| jws::verify(&ring, black_box(&token), CODE_TYP).unwrap())
    });
}

criterion_group!(signing, benches);
criterion_main!(signing);
