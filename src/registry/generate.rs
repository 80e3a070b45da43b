//! Generates plausible registry records for load tests and benchmarks
//! (`elicence gen-registry --count N`), and the claims of roadside codes for them
//! (`elicence gen-codes`). Deterministic for a given seed.

use crate::domain::code::{photo_tag, CodeClaims, JTI_BYTES, STATUS_OK};
use crate::domain::licence_class::{ClassBits, ClassSet, LicenceClass};
use crate::domain::record::RegistryRecord;
use crate::domain::registry_state::RegistryState;
use chrono::{Datelike, Duration, Months, NaiveDate};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::io::Write;

const REGIONS: &[(&str, &str, &str)] = &[
    ("110101", "北京市东城区", "北京市公安局公安交通管理局"),
    ("310104", "上海市徐汇区", "上海市公安局交通警察总队"),
    ("440305", "深圳市南山区", "深圳市公安局交通警察支队"),
    ("510107", "成都市武侯区", "成都市公安局交通管理局"),
    ("330106", "杭州市西湖区", "杭州市公安局交通警察支队"),
    ("420106", "武汉市武昌区", "武汉市公安局交通管理局"),
];
const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超",
    "秀英", "建华", "志强", "欣怡",
];
const STREETS: &[&str] = &[
    "人民路",
    "解放路",
    "中山路",
    "建设路",
    "和平街",
    "文化路",
    "青年路",
    "长江路",
];
const CLASS_SETS: &[&[LicenceClass]] = {
    use LicenceClass::*;
    &[
        &[C1],
        &[C1],
        &[C1],
        &[C2],
        &[C1, E],
        &[B2],
        &[A1],
        &[A2],
        &[C1, D],
        &[B1],
        &[C2, F],
    ]
};

/// ISO 7064 MOD 11-2 check character of a resident ID number's first 17 digits.
pub fn id_check_char(first17: &str) -> char {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const MAP: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    MAP[(sum % 11) as usize]
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or(NaiveDate::MIN)
}

/// The `i`-th generated record. Numbers are unique for `i` below 1,000 × 365 × 60 per region.
pub fn record(rng: &mut StdRng, i: u64, today: NaiveDate) -> RegistryRecord {
    let (region, city, authority) = REGIONS[(i % REGIONS.len() as u64) as usize];
    let birth =
        date(1950, 1, 1) + Duration::days(((i / REGIONS.len() as u64 / 1000) % (365 * 55)) as i64);
    let sequence = i / REGIONS.len() as u64 % 1000;
    let first17 = format!("{region}{}{sequence:03}", birth.format("%Y%m%d"));
    let number = format!("{first17}{}", id_check_char(&first17));
    let sex = if sequence % 2 == 1 { "M" } else { "F" };
    let first_issued = birth
        .checked_add_months(Months::new(12 * rng.gen_range(18..40)))
        .unwrap_or(birth);
    let first_issued = first_issued.min(today - Duration::days(30));
    let renewals = ((today - first_issued).num_days() / 365 / 6).min(2);
    let valid_from = first_issued
        .checked_add_months(Months::new(12 * 6 * renewals as u32))
        .unwrap_or(first_issued);
    let valid_until = match renewals {
        0 => valid_from.checked_add_months(Months::new(72)),
        1 => valid_from.checked_add_months(Months::new(120)),
        _ => None,
    };
    let classes = CLASS_SETS[rng.gen_range(0..CLASS_SETS.len())];
    let professional = classes.iter().any(|c| c.is_professional());
    let statuses = if rng.gen_bool(0.02) {
        vec![
            RegistryState::ALL[rng.gen_range(0..RegistryState::ALL.len())]
                .code()
                .to_owned(),
        ]
    } else {
        vec![]
    };
    let anniversary = date(
        today.year(),
        first_issued.month(),
        first_issued.day().min(28),
    );
    let cycle_start = if anniversary > today {
        anniversary
            .checked_sub_months(Months::new(12))
            .unwrap_or(anniversary)
    } else {
        anniversary
    };
    RegistryRecord {
        number,
        name: format!(
            "{}{}",
            SURNAMES[rng.gen_range(0..SURNAMES.len())],
            GIVEN[rng.gen_range(0..GIVEN.len())]
        ),
        sex: sex.to_owned(),
        nationality: "CHN".to_owned(),
        birth_date: birth,
        address: format!(
            "{city}{}{}号",
            STREETS[rng.gen_range(0..STREETS.len())],
            rng.gen_range(1..300)
        ),
        issuing_authority: authority.to_owned(),
        classes: classes.iter().map(|c| c.code().to_owned()).collect(),
        first_issued,
        valid_from,
        valid_until,
        statuses,
        points: if rng.gen_bool(0.01) {
            12
        } else {
            rng.gen_range(0..=6)
        },
        points_cycle_start: cycle_start.max(first_issued),
        medical_due: professional.then(|| today + Duration::days(rng.gen_range(-30..700))),
        review_due: professional.then(|| today + Duration::days(rng.gen_range(-30..365))),
        photo: None,
        photo_taken: None,
    }
}

/// Writes `count` records as NDJSON.
pub fn write_ndjson(
    out: &mut impl Write,
    count: u64,
    seed: u64,
    today: NaiveDate,
) -> std::io::Result<()> {
    write_ndjson_with_photo(out, count, seed, today, None)
}

/// Writes `count` records as NDJSON, each with `photo` on file (taken a month ago) if given.
pub fn write_ndjson_with_photo(
    out: &mut impl Write,
    count: u64,
    seed: u64,
    today: NaiveDate,
    photo: Option<&[u8]>,
) -> std::io::Result<()> {
    use base64::Engine;
    let photo = photo.map(|p| base64::engine::general_purpose::STANDARD.encode(p));
    let mut rng = StdRng::seed_from_u64(seed);
    for i in 0..count {
        let mut r = record(&mut rng, i, today);
        if let Some(p) = &photo {
            r.photo = Some(p.clone());
            r.photo_taken = Some(today - Duration::days(30));
        }
        serde_json::to_writer(&mut *out, &r)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

/// The claims of a code for the `i`-th generated record, as if it were e-licence `i + 1` and
/// could drive, expiring at `exp`.
pub fn code_claims(rng: &mut StdRng, i: u64, today: NaiveDate, exp: i64) -> CodeClaims {
    use base64::Engine;
    let r = record(rng, i, today);
    let mut jti = [0u8; JTI_BYTES];
    rng.fill(&mut jti[..]);
    CodeClaims {
        e_licence: i as i64 + 1,
        photo: photo_tag(r.number.as_bytes()),
        sub: r.number,
        name: r.name,
        classes: ClassSet::from_codes(&r.classes.join(","))
            .map(|set| ClassBits::of(&set))
            .expect("CLASS_SETS holds known, non-empty sets"),
        valid_until: r.valid_until,
        status: STATUS_OK,
        exp,
        jti: base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(jti),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_characters_match_known_numbers() {
        assert_eq!(id_check_char("11010519491231002"), 'X');
        assert_eq!(id_check_char("44030519900101001"), '8');
    }

    #[test]
    fn generated_records_are_valid_unique_and_deterministic() {
        let today = date(2026, 11, 22);
        let mut out = Vec::new();
        write_ndjson(&mut out, 3_000, 7, today).unwrap();
        let mut again = Vec::new();
        write_ndjson(&mut again, 3_000, 7, today).unwrap();
        assert_eq!(out, again);
        let mut numbers = std::collections::HashSet::new();
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let rec = crate::registry::import::parse_line(line)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(line)));
            assert!(numbers.insert(rec.licence.number.clone()));
        }
        assert_eq!(numbers.len(), 3_000);
    }

    #[test]
    fn records_can_carry_a_photo_on_file() {
        let today = date(2026, 11, 22);
        let photo = crate::registry::portrait::jpeg(66, 96);
        let mut out = Vec::new();
        write_ndjson_with_photo(&mut out, 3, 7, today, Some(&photo)).unwrap();
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let rec = crate::registry::import::parse_line(line).unwrap();
            let on_file = rec.photo.expect("a photo on file");
            assert_eq!(on_file.bytes, photo);
            assert_eq!(on_file.taken, Some(date(2026, 10, 23)));
        }
    }
}
