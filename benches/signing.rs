//! Criterion benchmarks of the code path: signing a display code, verifying one, and
//! verifying the batch the server's verifier takes under load (per batch of 8 and of 64).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use elicence::domain::code::{photo_tag, CodeClaims, CODE_TYP, STATUS_OK};
use elicence::domain::licence_class::{ClassBits, ClassSet};
use elicence::signing::{jws, KeyRing};

fn claims() -> Vec<u8> {
    serde_json::to_vec(&CodeClaims {
        e_licence: 1_234_567,
        sub: "110101199001010111".into(),
        name: "张小伟".into(),
        classes: ClassBits::of(&ClassSet::from_codes("C1,D").unwrap()),
        valid_until: Some("2031-03-05".parse().unwrap()),
        status: STATUS_OK,
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
    let tokens: Vec<String> = (0..64)
        .map(|i| {
            let mut c: CodeClaims = serde_json::from_slice(&payload).unwrap();
            c.e_licence += i;
            jws::sign(&ring, CODE_TYP, &serde_json::to_vec(&c).unwrap())
        })
        .collect();
    let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
    for n in [8, 64] {
        c.bench_function(&format!("verify_all_{n}_codes"), |b| {
            b.iter(|| {
                let verdicts = jws::verify_all(&ring, black_box(&refs[..n]), CODE_TYP);
                assert!(verdicts.iter().all(Result::is_ok));
            })
        });
    }
}

criterion_group!(signing, benches);
criterion_main!(signing);
