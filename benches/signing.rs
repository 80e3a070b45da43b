//! Criterion benchmarks of the code path: signing a display code and verifying one.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use elicence::domain::code::{photo_tag, CodeClaims, CODE_TYP, STATUS_OK};
use elicence::signing::{jws, KeyRing};

fn claims() -> Vec<u8> {
    serde_json::to_vec(&CodeClaims {
        e_licence: 1_234_567,
        sub: "110101199001010111".into(),
        name: "张小伟".into(),
        classes: "C1,D".into(),
        valid_until: Some("2031-03-05".parse().unwrap()),
        status: STATUS_OK.into(),
        photo: photo_tag(b"photo"),
        exp: 1_795_396_632,
        jti: "A3vKx0_q".into(),
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
