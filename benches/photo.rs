//! Criterion benchmark of photo intake: a typical phone upload (12 MP, 3024×4032, a ~2 MB
//! JPEG) decoded under limits, fitted to 330×480, pre-checked and re-encoded; and, to show
//! where the time goes, the decode alone and the pre-checks of an already fitted photo.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use elicence::photo::{self, IntakeLimits};
use elicence::registry::portrait;
use image::codecs::jpeg::JpegEncoder;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// The synthetic portrait at phone size with sensor noise, at quality 92: flat shapes alone
/// would compress to a fraction of a real photo's size, the noise brings it to ~2 MB.
fn phone_jpeg() -> Vec<u8> {
    let mut img = portrait::draw(3024, 4032);
    let mut rng = StdRng::seed_from_u64(92);
    for p in img.pixels_mut() {
        let grain: i16 = rng.gen_range(-4..=4);
        for c in &mut p.0 {
            *c = (i16::from(*c) + grain + rng.gen_range(-2..=2)).clamp(0, 255) as u8;
        }
    }
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 92)
        .encode_image(&img)
        .unwrap();
    out
}

fn benches(c: &mut Criterion) {
    let upload = phone_jpeg();
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
    let fitted = photo::fit(&photo::decode(&upload, &limits).unwrap().1);

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
