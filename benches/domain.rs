//! Criterion benchmarks of the pure rules on the hot paths: parsing and validating one
//! registry line (import), and evaluating eligibility (every holder read).

use chrono::NaiveDate;
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use elicence::domain::eligibility::evaluate;
use elicence::registry::generate::write_ndjson;
use elicence::registry::import::parse_line;

fn benches(c: &mut Criterion) {
    let today = NaiveDate::from_ymd_opt(2026, 11, 22).unwrap();
    let mut out = Vec::new();
    write_ndjson(&mut out, 1_000, 1, today).unwrap();
    let lines: Vec<&[u8]> = out
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    let records: Vec<_> = lines.iter().map(|l| parse_line(l).unwrap()).collect();

    let mut g = c.benchmark_group("registry");
    g.throughput(Throughput::Elements(lines.len() as u64));
    g.bench_function("parse_and_validate_1000_lines", |b| {
        b.iter(|| {
            lines
                .iter()
                .map(|l| parse_line(black_box(l)).is_ok() as usize)
                .sum::<usize>()
        })
    });
    g.bench_function("evaluate_eligibility_1000", |b| {
        b.iter(|| {
            records
                .iter()
                .filter(|r| evaluate(black_box(&r.licence), today).is_eligible())
                .count()
        })
    });
    g.finish();
}

criterion_group!(domain, benches);
criterion_main!(domain);
