//! Criterion benchmarks of a display code's life on the server: issuing one (claims, signature,
//! barcode token, the row in a real SQLite file) and rendering its QR code as PNG; and a
//! minimal (purpose-bound) code signed and verified on its own (CBOR, COSE, Base45, Ed25519).

use chrono::{DateTime, Duration, Utc};
use criterion::{black_box, criterion_group, criterion_main, Criterion};
use elicence::config::{DatabaseUrl, PoolSettings};
use elicence::domain::licence_class::{ClassBits, ClassSet};
use elicence::domain::minimal::{MinimalClaims, MINIMAL_PREFIX};
use elicence::domain::purpose::Purpose;
use elicence::offline::{KeySet, Verifier};
use elicence::registry::generate::write_ndjson_with_photo;
use elicence::registry::import::parse_line;
use elicence::registry::portrait;
use elicence::render::qr::QrMatrix;
use elicence::service::{codes, issuance};
use elicence::signing::{cose, KeyRing};
use elicence::storage::{e_licences, licences, Database};

fn benches(c: &mut Criterion) {
    let now: DateTime<Utc> = "2026-11-22T04:00:00Z".parse().unwrap();
    let today = now.date_naive();
    let dir = tempfile::tempdir().unwrap();
    let (ring, _) = KeyRing::open_or_generate(&dir.path().join("keys"), now).unwrap();
    let url = DatabaseUrl::Sqlite(dir.path().join("bench.db"));
    let db = Database::connect(&url, &PoolSettings::default()).unwrap();
    let mut conn = db.get().unwrap();

    // One eligible holder with a photo on file and an e-licence.
    let photo = portrait::jpeg(330, 480);
    let mut ndjson = Vec::new();
    let mut seed = 1;
    let mut record = loop {
        ndjson.clear();
        write_ndjson_with_photo(&mut ndjson, 1, seed, today, Some(&photo)).unwrap();
        let r = parse_line(ndjson.trim_ascii_end()).unwrap();
        if elicence::domain::eligibility::evaluate(&r.licence, today).is_eligible() {
            break r;
        }
        seed += 1;
    };
    // Prepared as an import prepares it: issuance never decodes on a database connection.
    elicence::photo::prepare_all(std::slice::from_mut(&mut record));
    licences::upsert(&mut conn, &record, now).unwrap();
    let number = &record.licence.number;
    issuance::issue_with_photo_on_file(&mut conn, number, today, now).unwrap();
    let e = e_licences::current_for(&mut conn, number.as_str())
        .unwrap()
        .unwrap();
    let stored = licences::find(&mut conn, number).unwrap().unwrap();

    c.bench_function("issue_display_code_sqlite", |b| {
        b.iter(|| {
            codes::issue(
                &mut conn,
                &ring,
                black_box(&e),
                &stored,
                today,
                now,
                Duration::seconds(180),
            )
            .unwrap()
        })
    });

    let code = codes::issue(
        &mut conn,
        &ring,
        &e,
        &stored,
        today,
        now,
        Duration::seconds(180),
    )
    .unwrap()
    .code;
    c.bench_function("render_qr_png", |b| {
        b.iter(|| QrMatrix::encode(black_box(&code)).unwrap().png(6).unwrap())
    });
    c.bench_function("render_qr_matrix_only", |b| {
        b.iter(|| QrMatrix::encode(black_box(&code)).unwrap())
    });

    let at = codes::Moment {
        today,
        now,
        ttl: Duration::seconds(180),
    };
    c.bench_function("issue_minimal_code_sqlite", |b| {
        b.iter(|| {
            codes::issue_for(
                &mut conn,
                &ring,
                Purpose::Rental,
                black_box(&e),
                &stored,
                at,
            )
            .unwrap()
        })
    });

    // A minimal code alone: 张小伟, C1, rental.
    let claims = MinimalClaims {
        purpose: Purpose::Rental,
        name: "张小伟".into(),
        classes: ClassBits::of(&ClassSet::from_codes("C1").unwrap()),
        valid_until: "2028-03-05".parse().ok(),
        valid_at_signing: true,
        exp: now.timestamp() + 180,
        cti: *b"AbCdEf",
    };
    c.bench_function("minimal_sign", |b| {
        b.iter(|| cose::sign_text(&ring, MINIMAL_PREFIX, black_box(&claims).to_cbor()))
    });
    let minimal = cose::sign_text(&ring, MINIMAL_PREFIX, claims.to_cbor());
    let (keys, _) = KeySet::from_jwks_json(&serde_json::to_vec(&ring.jwks()).unwrap()).unwrap();
    let rental = Verifier::for_purpose(keys, Purpose::Rental);
    c.bench_function("minimal_verify", |b| {
        b.iter(|| assert!(rental.verify(black_box(&minimal), now).is_valid()))
    });
    c.bench_function("render_minimal_qr_png", |b| {
        b.iter(|| {
            QrMatrix::encode(black_box(&minimal))
                .unwrap()
                .png(6)
                .unwrap()
        })
    });
    eprintln!(
        "roadside code: {} chars, QR version {}; minimal code: {} chars, QR version {}",
        code.len(),
        QrMatrix::encode(&code).unwrap().version(),
        minimal.len(),
        QrMatrix::encode(&minimal).unwrap().version()
    );
}

criterion_group!(codes_benches, benches);
criterion_main!(codes_benches);
