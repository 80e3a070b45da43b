//! Criterion benchmark of photo intake: a typical phone upload (12 MP, 3024×4032, a ~2 MB
//! JPEG) decoded under limits, fitted to 330×480, pre-checked and re-encoded; and, to show
//! where the time goes, the decode alone and the pre-checks of an already fitted photo.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use elicence::photo::{self, IntakeLimits};
use elicence::registry::portrait;

fn benches(c: &mut Criterion) {
    let upload = portrait::phone_jpeg(92);
    let limits = IntakeLimits::default();
    let out = photo::normalise(&upload, &limits).unwrap();
    eprintln!(
        "upload: {} bytes, {}×{}; normalised: {} bytes; pre-checks passed: {}",
        upload.len(),
        out.source_width,
        out.source_height,
        out.jpeg.len(),
        out.passed_all()
    );
    let fitted = photo::fit(&photo::decode(&upload, &limits).unwrap().image);

    let mut g = c.benchmark_group("photo");
    g.sample_size(10);
    g.bench_function("normalise_and_precheck_12mp_2mb_jpeg", |b| {
        b.iter(|| photo::normalise(black_box(&upload), &limits).unwrap())
    });
    g.bench_function("decode_12mp_2mb_jpeg", |b| {
        b.iter(|| photo::decode(black_box(&upload), &limits).unwrap())
    });
    g.bench_function("precheck_330x480", |b| {
        b.iter(|| photo::precheck(black_box(&fitted)))
    });
    g.finish();
}

criterion_group!(photo_intake, benches);
criterion_main!(photo_intake);
