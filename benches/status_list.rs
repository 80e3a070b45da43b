//! Criterion benchmarks of the offline status lists.
//!
//! - `status_list_build/{entries}/{bits}`: one list of 2^20 entries (what every shard is)
//!   with 1 % revoked at random (seeded) indexes: every entry packed, ZLIB at the highest
//!   level, base64url, the claims signed. The sizes (compressed list, token) are printed
//!   before the timings, with those of the former single list of 10 M for comparison.
//! - `status_list_db/…`: signing one shard from a SQLite file as the signer does it: its
//!   entries that are not VALID read from the partial index, packed into the whole list,
//!   compressed and signed (`service::status_list::maintain`). `STATUS_LIST_DB_ROWS` sets how
//!   many e-licences the list holds (default 100,000, at most 2^20; 0 skips it), each with a
//!   photo of `STATUS_LIST_DB_PHOTO_BYTES` (default 16 KiB), `STATUS_LIST_DB_REVOKED_PER_10K`
//!   how many of every 10,000 are not VALID (default 100: 1 %).

use chrono::{DateTime, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use elicence::config::{DatabaseUrl, PoolSettings};
use elicence::registry::generate;
use elicence::service::status_list::{maintain, Settings};
use elicence::signing::KeyRing;
use elicence::status_list::token::{self, StatusListClaims};
use elicence::status_list::{Bits, Position, Status, StatusList, LIST_SIZE};
use elicence::storage::e_licences::{self, NewELicence};
use elicence::storage::{licences, Database, DbConn, StorageError};
use rand::rngs::StdRng;
use rand::seq::index::sample;
use rand::SeedableRng;

fn now() -> DateTime<Utc> {
    "2026-11-22T04:00:00Z".parse().unwrap()
}

/// `n` statuses, `revoked` of every 10,000 not VALID, at seeded random indexes; a
/// `suspended_share` of those SUSPENDED, the rest INVALID.
pub fn statuses(n: usize, revoked_per_10k: usize, suspended_share: f64, seed: u64) -> Vec<Status> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = vec![Status::Valid; n];
    let marked = sample(&mut rng, n, n * revoked_per_10k / 10_000).into_vec();
    let suspended = (marked.len() as f64 * suspended_share) as usize;
    for (k, i) in marked.into_iter().enumerate() {
        out[i] = if k < suspended {
            Status::Suspended
        } else {
            Status::Invalid
        };
    }
    out
}

/// Packs, compresses, encodes and signs: what the server does after the scan.
fn build(ring: &KeyRing, bits: Bits, statuses: &[Status]) -> String {
    let mut list = StatusList::new(bits);
    for (i, s) in statuses.iter().enumerate() {
        list.set_status(i as u64, *s).unwrap();
    }
    let iat = now().timestamp();
    token::sign(
        ring,
        &StatusListClaims {
            sub: "https://elicence.example/api/v1/status-lists/0".into(),
            iat,
            exp: iat + 86_400,
            ttl: 300,
            status_list: list.encode(),
        },
    )
}

fn sizes(ring: &KeyRing, label: &str, bits: Bits, statuses: &[Status]) {
    let token = build(ring, bits, statuses);
    let payload = token.split('.').nth(1).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload)
            .unwrap(),
    )
    .unwrap();
    let lst = claims["status_list"]["lst"].as_str().unwrap();
    let compressed = lst.len() * 3 / 4;
    eprintln!(
        "size {label} bits={}: raw {} B, compressed {compressed} B, lst {} chars, token {} B",
        bits.get(),
        statuses.len().div_ceil(8 / bits.get() as usize),
        lst.len(),
        token.len()
    );
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (ring, _) = KeyRing::open_or_generate(dir.path(), now()).unwrap();
    let mut g = c.benchmark_group("status_list_build");
    g.sample_size(10);
    for n in [LIST_SIZE as usize, 10_000_000] {
        let all_invalid = statuses(n, 100, 0.0, 1);
        let half_suspended = statuses(n, 100, 0.5, 1);
        for bits in [Bits::ONE, Bits::TWO] {
            sizes(&ring, &format!("{n} 1% invalid"), bits, &all_invalid);
        }
        sizes(
            &ring,
            &format!("{n} 1% half suspended"),
            Bits::TWO,
            &half_suspended,
        );
        for bits in [Bits::ONE, Bits::TWO] {
            g.bench_with_input(
                BenchmarkId::new(format!("{n}"), format!("bits={}", bits.get())),
                &all_invalid,
                |b, statuses| b.iter(|| build(&ring, bits, statuses)),
            );
        }
    }
    g.finish();
    database(c, &ring);
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A SQLite file of `rows` generated licences, each with a current e-licence carrying a photo
/// of `photo_bytes`.
fn seeded_database(
    dir: &std::path::Path,
    rows: usize,
    photo_bytes: usize,
    revoked_per_10k: usize,
) -> Database {
    let url = DatabaseUrl::Sqlite(dir.join("status-list-bench.db"));
    let db = Database::connect(&url, &PoolSettings::default()).unwrap();
    let today = now().date_naive();
    let mut rng = StdRng::seed_from_u64(3);
    let photo: Vec<u8> = (0..photo_bytes).map(|i| (i * 31 % 251) as u8).collect();
    let mut conn = db.get().unwrap();
    let marked = statuses(rows, revoked_per_10k, 0.5, 5);
    for start in (0..rows).step_by(10_000) {
        let records: Vec<_> = (start..(start + 10_000).min(rows))
            .map(|i| {
                generate::record(&mut rng, i as u64, today)
                    .validate()
                    .unwrap()
            })
            .collect();
        licences::upsert_many(&mut conn, &records, now()).unwrap();
        conn.write_transaction(|conn| {
            for (k, r) in records.iter().enumerate() {
                let i = start + k;
                let number = r.licence.number.as_str();
                e_licences::insert_current(
                    conn,
                    &NewELicence {
                        id: &format!("el_{number}"),
                        licence_number: number,
                        photo_source: elicence::domain::e_licence::ELicencePhotoSource::OnFile,
                        photo: &photo,
                        photo_media_type: "image/jpeg",
                        photo_sha256: "-",
                        generated_at: now(),
                        issued_via: elicence::domain::e_licence::IssuedVia::App,
                        issued_by: None,
                        position: Position::new(0, i as u32 + 1).unwrap(),
                    },
                )?;
                if marked[i] != Status::Valid {
                    let id = format!("el_{number}");
                    e_licences::set_entry(conn, &id, i16::from(marked[i].value()), None)?;
                }
            }
            Ok::<_, StorageError>(())
        })
        .unwrap();
    }
    db
}

/// Reads one list's entries that are not VALID, packs, compresses and signs it: what the
/// signer does for each list whose content changed.
fn sign_one_list(conn: &mut DbConn, ring: &KeyRing, settings: &Settings) -> (usize, String) {
    let entries = e_licences::listed_entries(conn, 0).unwrap();
    let (list, _, _) = maintain::pack(settings, &entries).unwrap();
    let iat = now().timestamp();
    let token = token::sign(
        ring,
        &StatusListClaims {
            sub: settings.uri_of(0),
            iat,
            exp: iat + 86_400,
            ttl: 300,
            status_list: list.encode(),
        },
    );
    (entries.len(), token)
}

/// One shard signed from SQLite: the sparse read, packing, ZLIB, signature.
fn database(c: &mut Criterion, ring: &KeyRing) {
    let rows = env_usize("STATUS_LIST_DB_ROWS", 100_000).min(LIST_SIZE as usize - 1);
    if rows == 0 {
        return;
    }
    let photo_bytes = env_usize("STATUS_LIST_DB_PHOTO_BYTES", 16 << 10);
    let revoked = env_usize("STATUS_LIST_DB_REVOKED_PER_10K", 100);
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let db = seeded_database(dir.path(), rows, photo_bytes, revoked);
    let file = std::fs::metadata(dir.path().join("status-list-bench.db"))
        .unwrap()
        .len();
    eprintln!(
        "database: {rows} e-licences in list 0 with {photo_bytes}-byte photos, {} MB file, seeded in {:.1} s",
        file >> 20,
        started.elapsed().as_secs_f64()
    );
    let settings = Settings::new(
        "https://elicence.example",
        chrono::Duration::seconds(300),
        chrono::Duration::seconds(86_400),
        std::time::Duration::from_secs(1),
    );
    let mut conn = db.get().unwrap();
    let (listed, token) = sign_one_list(&mut conn, ring, &settings);
    eprintln!(
        "database list: {listed} entries not VALID of {rows}, token {} B",
        token.len()
    );
    let mut g = c.benchmark_group("status_list_db");
    g.sample_size(10);
    g.bench_function(BenchmarkId::new("sqlite_one_shard", rows), |b| {
        b.iter(|| sign_one_list(&mut conn, ring, &settings))
    });
    g.finish();
}

criterion_group!(status_list, benches);
criterion_main!(status_list);
