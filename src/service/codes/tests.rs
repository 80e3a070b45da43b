//! The size guarantee on the codes the server signs, read back as a terminal reads them, and
//! the sizes docs/code-format.md ("Size") lists.

use super::*;
use crate::domain::code::SHORTENED;
use crate::domain::licence_class::LicenceClass;
use crate::domain::record::tests::sample_record;
use crate::domain::registry_state::RegistryState;
use crate::offline::{KeySet, Verifier};
use crate::render::qr::QrMatrix;
use proptest::prelude::*;
use std::sync::OnceLock;

/// One key ring for every case (its folder lives as long as the test binary).
fn ring() -> &'static (tempfile::TempDir, KeyRing, KeySet) {
    static RING: OnceLock<(tempfile::TempDir, KeyRing, KeySet)> = OnceLock::new();
    RING.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (ring, _) =
            KeyRing::open_or_generate(dir.path(), "2026-11-22T00:00:00Z".parse().unwrap()).unwrap();
        let jwks = serde_json::to_vec(&ring.jwks()).unwrap();
        let (keys, _) = KeySet::from_jwks_json(&jwks).unwrap();
        (dir, ring, keys)
    })
}

/// When the codes below are signed; they live ten years, so `exp` has its ten digits.
fn today() -> NaiveDate {
    "2027-01-01".parse().unwrap()
}

/// A licence as the import makes it of a record: `name`, `classes`, a licence number of
/// `number_len` characters, valid until a day (eight digits, where long-term is `null`).
/// Barred, it has every reason a licence can have at once: every registry state, 12 points,
/// overdue examinations, and expired.
fn licence(name: &str, classes: &[LicenceClass], number_len: usize, barred: bool) -> StoredLicence {
    let mut r = sample_record();
    r.number = format!("{:0>width$}", "110101199001010111", width = number_len);
    r.number.truncate(number_len);
    r.name = name.to_owned();
    r.classes = classes.iter().map(|c| c.code().to_owned()).collect();
    if barred {
        r.statuses = RegistryState::ALL
            .iter()
            .map(|s| s.code().to_owned())
            .collect();
        r.points = 12;
        r.medical_due = "2020-01-01".parse().ok();
        r.review_due = "2020-01-01".parse().ok();
        r.valid_until = "2026-12-31".parse().ok();
    }
    let licence = r.validate().expect("a record the import accepts").licence;
    StoredLicence {
        licence,
        has_photo: true,
        synced_at: "2026-11-22T00:00:00Z".parse().unwrap(),
    }
}

/// The e-licence whose codes carry `e` = `serial` (its list and index).
fn e_licence(number: &str, serial: i64) -> ELicenceRow {
    let position = crate::status_list::Position::from_e(serial).unwrap();
    ELicenceRow {
        id: "el_sized".into(),
        licence_number: number.to_owned(),
        state: crate::domain::e_licence::ELicenceState::Current,
        photo_source: crate::domain::e_licence::ELicencePhotoSource::OnFile,
        photo_media_type: "image/jpeg".into(),
        photo_sha256: URL_SAFE_NO_PAD.encode([0xAB; 32]),
        generated_at: chrono::NaiveDateTime::default(),
        superseded_at: None,
        serial,
        superseded_reason: None,
        issued_via: crate::domain::e_licence::IssuedVia::App,
        issued_by: None,
        status_list: position.list() as i32,
        status_index: position.index() as i32,
    }
}

/// A code as the server signs it, measured and read back by a terminal.
#[derive(Debug)]
struct Signed {
    chars: usize,
    version: i16,
    /// The name and classes the terminal reads once the signature checked out.
    name: String,
    classes: ClassBits,
}

fn signed(purpose: Purpose, stored: &StoredLicence, serial: i64) -> Signed {
    let (_, ring, keys) = ring();
    let now = today().and_hms_opt(0, 0, 0).unwrap().and_utc();
    let e = e_licence(stored.licence.number.as_str(), serial);
    let expires = now + Duration::days(3650);
    let (code, _) = signed_code(ring, purpose, &e, stored, today(), expires).unwrap();
    let version = QrMatrix::encode(&code).unwrap().version();
    let v = Verifier::for_purpose(keys.clone(), purpose).verify(&code, now);
    let (name, classes) = match (v.claims, v.minimal) {
        (Some(c), None) => {
            assert_eq!(c.sub, stored.licence.number.as_str());
            assert_eq!(c.e_licence, serial);
            (c.name, c.classes)
        }
        (None, Some(m)) => (m.name, m.classes),
        other => panic!("not our code: {other:?} {:?}", v.reasons),
    };
    Signed {
        chars: code.len(),
        version,
        name,
        classes,
    }
}

/// The name a code carries is the whole name, or a non-empty start of it and `…`.
fn is_the_name_or_its_start(shown: &str, name: &str) -> bool {
    shown == name
        || shown
            .strip_suffix(SHORTENED)
            .is_some_and(|kept| !kept.is_empty() && name.starts_with(kept))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    /// Every record the import accepts, with every field at its largest, gives a roadside
    /// code of QR version 15 or less and a minimal code of version 10 or less at level M:
    /// names of 1 to 64 characters (the registry's limit), 1 to 17 classes, every reason,
    /// licence numbers up to 25 characters (docs/code-format.md, "Size"), a nine-digit serial.
    #[test]
    fn every_code_the_server_signs_fits_its_qr_version(
        name in "[\\p{Han}·]{1,64}|[A-Z][A-Z' -]{0,63}|[^\\p{Cc}]{1,64}",
        classes in proptest::sample::subsequence(LicenceClass::ALL.to_vec(), 1..=17),
        number_len in 6usize..=25,
    ) {
        prop_assume!(!name.trim().is_empty());
        let stored = licence(&name, &classes, number_len, true);
        let whole = &stored.licence.name;
        let bits = ClassBits::of(&stored.licence.classes);
        for (purpose, max_version) in [(Purpose::Roadside, 15), (Purpose::Rental, 10)] {
            let s = signed(purpose, &stored, 999_999_999);
            prop_assert!(s.version <= max_version, "{purpose:?}: {s:?}");
            prop_assert!(is_the_name_or_its_start(&s.name, whole), "{purpose:?}: {s:?}");
            prop_assert_eq!(s.classes, bits);
        }
    }
}

/// A row of docs/code-format.md ("Size"): a licence, and what the server signs for it.
struct SizeRow<'a> {
    name: &'a str,
    classes: &'a [LicenceClass],
    serial: i64,
    barred: bool,
    /// Characters, QR version, the name in the code.
    signed: (usize, i16, &'a str),
}

/// The rows of docs/code-format.md ("Size"), with an 18-character licence number throughout.
/// Before the classes were bits, the last three left no room for one character of the name,
/// which was then not cut at all: versions 21, 21 and 18.
#[test]
fn the_documented_roadside_sizes() {
    use LicenceClass::*;
    let all = &LicenceClass::ALL[..];
    let (han, latin) = ("张".repeat(64), "A".repeat(64));
    let row = |name, classes, serial, barred, signed| SizeRow {
        name,
        classes,
        serial,
        barred,
        signed,
    };
    let four = &[A1, A2, D, E][..];
    let rows = [
        row(
            "张小伟",
            &[C1, D][..],
            1_234_567,
            false,
            (394, 15, "张小伟"),
        ),
        row(
            "欧阳小伟",
            &[C1, D],
            1_234_567,
            false,
            (398, 15, "欧阳小伟"),
        ),
        row("张小伟", four, 123_456_789, false, (397, 15, "张小伟")),
        row("张小伟", four, 123_456_789, true, (402, 15, "张小伟")),
        row(
            "ALEXANDRA-MARIA KONSTANTINOPOULOU-PAPADOPOULOU",
            four,
            123_456_789,
            true,
            (412, 15, "ALEXANDRA-MAR…"),
        ),
        row(
            "买买提·艾力·阿不都热依木",
            four,
            123_456_789,
            true,
            (409, 15, "买买提·…"),
        ),
        row("张小伟", all, 123_456_789, true, (405, 15, "张小伟")),
        row("欧阳小伟娜娜", all, 999_999_999, true, (409, 15, "欧阳小…")),
        row(
            &han,
            &all[..9],
            1_234_567,
            false,
            (409, 15, "张张张张张张…"),
        ),
        row(&han, all, 999_999_999, true, (409, 15, "张张张…")),
        row(&latin, all, 999_999_999, true, (412, 15, "AAAAAAAAAAA…")),
    ];
    for r in rows {
        let stored = licence(r.name, r.classes, 18, r.barred);
        let s = signed(Purpose::Roadside, &stored, r.serial);
        assert_eq!(
            (s.chars, s.version, s.name.as_str()),
            r.signed,
            "{}",
            r.name
        );
    }
}

/// The guarantee at its edge: a licence number of the longest length the registry takes
/// (`licence::MAX_LEN`, 25) with every other claim at its largest still leaves room for one
/// character of a name; one character more would not, and the registry refuses it.
#[test]
fn the_longest_licence_number_taken_still_fits_version_15() {
    use crate::domain::licence::{LicenceNumber, MAX_LEN};
    let all = &LicenceClass::ALL[..];
    let s = signed(
        Purpose::Roadside,
        &licence("𠀀𠀁𠀂", all, MAX_LEN, true),
        999_999_999,
    );
    assert_eq!((s.version, s.name.as_str()), (15, "𠀀…"));
    assert!(LicenceNumber::parse(&"1".repeat(MAX_LEN + 1)).is_err());
    // The minimal code carries no licence number: it fits version 10 all the same.
    let s = signed(
        Purpose::Rental,
        &licence(&"𠀀".repeat(64), all, MAX_LEN, true),
        999_999_999,
    );
    assert!(s.version <= 10, "{s:?}");
}
