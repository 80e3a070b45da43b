//! Criterion benchmarks of the offline terminal: verifying codes one by one (strict, as
//! docs/code-format.md describes it) and in bulk (batched signatures), per code.

use chrono::{DateTime, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use elicence::domain::code::CODE_TYP;
use elicence::offline::{KeySet, Verifier, CHUNK};
use elicence::registry::generate::code_claims;
use elicence::signing::{jws, KeyRing};
use rand::rngs::StdRng;
use rand::SeedableRng;

const CODES: usize = 1024;

fn benches(c: &mut Criterion) {
    let now: DateTime<Utc> = "2026-11-22T04:00:00Z".parse().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (ring, _) = KeyRing::open_or_generate(dir.path(), now).unwrap();
    let (keys, _) = KeySet::from_jwks_json(&serde_json::to_vec(&ring.jwks()).unwrap()).unwrap();
    let verifier = Verifier::new(keys);
    let mut rng = StdRng::seed_from_u64(1);
    let exp = now.timestamp() + 180;
    let codes: Vec<String> = (0..CODES as u64)
        .map(|i| {
            let claims = code_claims(&mut rng, i, now.date_naive(), exp);
            jws::sign(&ring, CODE_TYP, &serde_json::to_vec(&claims).unwrap())
        })
        .collect();
    // One forged code per chunk: every batch fails and its chunk is re-checked one by one.
    let mut forged = codes.clone();
    for code in forged.iter_mut().step_by(CHUNK) {
        code.replace_range(code.len() - 3.., "AAA");
    }

    let mut g = c.benchmark_group("offline_verify");
    g.throughput(Throughput::Elements(CODES as u64));
    g.sample_size(20);
    g.bench_function("one_by_one_strict", |b| {
        b.iter(|| {
            codes
                .iter()
                .filter(|code| verifier.verify(black_box(code), now).is_valid())
                .count()
        })
    });
    g.bench_function("batched_1_thread", |b| {
        b.iter(|| verifier.verify_all(black_box(&codes), now, 1))
    });
    g.bench_function("batched_1_thread_1_forgery_per_chunk", |b| {
        b.iter(|| verifier.verify_all(black_box(&forged), now, 1))
    });
    g.finish();
}

criterion_group!(offline, benches);
criterion_main!(offline);
