//! Display codes: a short-lived signed code for the QR code and a one-time numeric token for
//! the barcode, both expiring together. The app fetches a fresh pair each time it shows them.
//! A roadside code is a JWS with the whole licence; a code for a minimal purpose (rental,
//! insurance, employment) is a COSE_Sign1 in Base45 with the qualification only
//! (`domain::minimal`). Each pair is stored with its purpose, which a scan must match.

use crate::domain::code::{
    photo_tag_of_digest, shorten_to_fit, status_bits, CodeClaims, BARCODE_DIGITS, CODE_TYP,
    JTI_BYTES, MAX_ROADSIDE_CODE_CHARS,
};
use crate::domain::eligibility::evaluate;
use crate::domain::licence_class::ClassBits;
use crate::domain::minimal::{MinimalClaims, MAX_MINIMAL_QR_CHARS, MINIMAL_PREFIX};
use crate::domain::purpose::Purpose;
use crate::signing::{cose, jws, KeyRing};
use crate::storage::barcodes::{self, NewDisplayCode};
use crate::storage::e_licences::ELicenceRow;
use crate::storage::licences::StoredLicence;
use crate::storage::{DbConn, StorageError};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::{Rng, RngCore};

#[derive(Debug, Clone)]
pub struct DisplayCode {
    pub code: String,
    pub barcode: String,
    pub expires_at: DateTime<Utc>,
    pub purpose: Purpose,
}

/// The status claim: the bits of the reasons that stand at signing, 0 when none does.
pub fn status_at(stored: &StoredLicence, today: NaiveDate) -> u32 {
    status_bits(
        evaluate(&stored.licence, today)
            .reasons()
            .iter()
            .map(|r| r.code()),
    )
}

fn barcode_token() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..BARCODE_DIGITS)
        .map(|_| char::from(b'0' + rng.gen_range(0..10)))
        .collect()
}

fn code_id_bytes() -> [u8; JTI_BYTES] {
    let mut bytes = [0u8; JTI_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes
}

/// The code's text and its `jti` (for a minimal code, its `cti` in base64url).
fn signed_code(
    ring: &KeyRing,
    purpose: Purpose,
    e_licence: &ELicenceRow,
    stored: &StoredLicence,
    today: NaiveDate,
    expires_at: DateTime<Utc>,
) -> Result<(String, String), StorageError> {
    let l = &stored.licence;
    let id = code_id_bytes();
    if purpose.is_minimal() {
        let claims = MinimalClaims {
            purpose,
            name: l.name.clone(),
            classes: ClassBits::of(&l.classes),
            valid_until: l.valid_until,
            valid_at_signing: evaluate(l, today).is_eligible(),
            exp: expires_at.timestamp(),
            cti: id,
        };
        return Ok(signed_minimal_code(ring, claims));
    }
    let photo: [u8; 32] = URL_SAFE_NO_PAD
        .decode(&e_licence.photo_sha256)
        .ok()
        .and_then(|d| d.try_into().ok())
        .ok_or_else(|| {
            StorageError::Corrupt(format!("e-licence {}: photo digest", e_licence.id))
        })?;
    let mut claims = CodeClaims {
        e_licence: e_licence.serial,
        sub: l.number.as_str().to_owned(),
        name: l.name.clone(),
        classes: ClassBits::of(&l.classes),
        valid_until: l.valid_until,
        status: status_at(stored, today),
        photo: photo_tag_of_digest(&photo),
        exp: expires_at.timestamp(),
        jti: URL_SAFE_NO_PAD.encode(id),
    };
    let budget = jws::max_payload_bytes(ring, CODE_TYP, MAX_ROADSIDE_CODE_CHARS);
    let fits = claims.shorten_to_fit(|c| serde_json::to_vec(c).is_ok_and(|j| j.len() <= budget));
    if !fits {
        tracing::warn!(
            e_licence = %e_licence.id,
            "a roadside code too large for QR version 15 even with its name shortened"
        );
    }
    let payload = serde_json::to_vec(&claims).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    Ok((jws::sign(ring, CODE_TYP, &payload), claims.jti))
}

/// A minimal code whose name is shortened, if need be, to fit QR version 10 (every other
/// claim is short and bounded); its text and `jti`.
fn signed_minimal_code(ring: &KeyRing, mut claims: MinimalClaims) -> (String, String) {
    let sign = |c: &MinimalClaims| cose::sign_text(ring, MINIMAL_PREFIX, c.to_cbor());
    let mut code = sign(&claims);
    if code.len() > MAX_MINIMAL_QR_CHARS {
        let mut probe = claims.clone();
        if let Some(cut) = shorten_to_fit(&claims.name, |name| {
            probe.name = name.to_owned();
            sign(&probe).len() <= MAX_MINIMAL_QR_CHARS
        }) {
            if !cut.fits {
                tracing::warn!(
                    "a minimal code too large for QR version 10 even with its name shortened"
                );
            }
            claims.name = cut.text;
            code = sign(&claims);
        }
    }
    (code, claims.jti())
}

/// Random ids collide about never; a collision is still handled by drawing again.
const COLLISION_ATTEMPTS: usize = 4;

/// A roadside display code (the JWS and its barcode).
pub fn issue(
    conn: &mut DbConn,
    ring: &KeyRing,
    e_licence: &ELicenceRow,
    stored: &StoredLicence,
    today: NaiveDate,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<DisplayCode, StorageError> {
    let at = Moment { today, now, ttl };
    issue_for(conn, ring, Purpose::Roadside, e_licence, stored, at)
}

/// When a code is signed and how long it lives.
#[derive(Debug, Clone, Copy)]
pub struct Moment {
    pub today: NaiveDate,
    pub now: DateTime<Utc>,
    pub ttl: Duration,
}

/// A display code for `purpose`: the QR text and a barcode that resolves for that purpose only.
pub fn issue_for(
    conn: &mut DbConn,
    ring: &KeyRing,
    purpose: Purpose,
    e_licence: &ELicenceRow,
    stored: &StoredLicence,
    at: Moment,
) -> Result<DisplayCode, StorageError> {
    let Moment { today, now, ttl } = at;
    // Whole seconds: `exp` is in seconds, and the barcode must not outlive its code.
    let expires_at = DateTime::from_timestamp((now + ttl).timestamp(), 0).unwrap_or(now + ttl);
    for _ in 0..COLLISION_ATTEMPTS {
        let (code, jti) = signed_code(ring, purpose, e_licence, stored, today, expires_at)?;
        let barcode = barcode_token();
        let stored = barcodes::insert(
            conn,
            &NewDisplayCode {
                token: &barcode,
                jti: &jti,
                e_licence_id: &e_licence.id,
                code: &code,
                expires_at,
                purpose: purpose.code(),
            },
        )?;
        if stored {
            return Ok(DisplayCode {
                code,
                barcode,
                expires_at,
                purpose,
            });
        }
    }
    Err(StorageError::Constraint(
        "no free code id after several random draws".into(),
    ))
}

/// The roadside display code the app is showing now: the newest one still unexpired and
/// unscanned, or a fresh one. Lets the image routes render the same code the app shows.
pub fn current_or_issue(
    conn: &mut DbConn,
    ring: &KeyRing,
    e_licence: &ELicenceRow,
    stored: &StoredLicence,
    today: NaiveDate,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<DisplayCode, StorageError> {
    let at = Moment { today, now, ttl };
    current_or_issue_for(conn, ring, Purpose::Roadside, e_licence, stored, at)
}

/// [`current_or_issue`] for `purpose`: the newest live code made for it, or a fresh one.
pub fn current_or_issue_for(
    conn: &mut DbConn,
    ring: &KeyRing,
    purpose: Purpose,
    e_licence: &ELicenceRow,
    stored: &StoredLicence,
    at: Moment,
) -> Result<DisplayCode, StorageError> {
    match barcodes::latest_live(conn, &e_licence.id, purpose.code(), at.now)? {
        Some((barcode, code, expires_at)) => Ok(DisplayCode {
            code,
            barcode,
            expires_at,
            purpose,
        }),
        None => issue_for(conn, ring, purpose, e_licence, stored, at),
    }
}

#[cfg(test)]
mod tests {
    //! The size guarantee on the codes the server signs, read back as a terminal reads them.
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
                KeyRing::open_or_generate(dir.path(), "2026-11-22T00:00:00Z".parse().unwrap())
                    .unwrap();
            let jwks = serde_json::to_vec(&ring.jwks()).unwrap();
            let (keys, _) = KeySet::from_jwks_json(&jwks).unwrap();
            (dir, ring, keys)
        })
    }

    /// A record the import accepts with every field a code carries at its largest but the
    /// name and the classes: a `number_len`-character number, a date of validity (eight
    /// digits, where long-term is `null`), every registry state, 12 points and overdue
    /// examinations (every reason bit a licence can have at once).
    fn largest_record(name: &str, classes: &[LicenceClass], number_len: usize) -> StoredLicence {
        let mut r = sample_record();
        r.number = format!("{:0>width$}", "1", width = number_len);
        r.name = name.to_owned();
        r.classes = classes.iter().map(|c| c.code().to_owned()).collect();
        r.statuses = RegistryState::ALL
            .iter()
            .map(|s| s.code().to_owned())
            .collect();
        r.points = 12;
        r.medical_due = "2020-01-01".parse().ok();
        r.review_due = "2020-01-01".parse().ok();
        let licence = r.validate().expect("a record the import accepts").licence;
        StoredLicence {
            licence,
            has_photo: true,
            synced_at: "2026-11-22T00:00:00Z".parse().unwrap(),
        }
    }

    /// The e-licence with the largest serial the guarantee covers.
    fn e_licence(number: &str) -> ELicenceRow {
        ELicenceRow {
            id: "el_largest".into(),
            licence_number: number.to_owned(),
            state: "current".into(),
            photo_source: "on_file".into(),
            photo_media_type: "image/jpeg".into(),
            photo_sha256: URL_SAFE_NO_PAD.encode([0xAB; 32]),
            generated_at: chrono::NaiveDateTime::default(),
            superseded_at: None,
            serial: 999_999_999,
            superseded_reason: None,
            issued_via: "app".into(),
            issued_by: None,
        }
    }

    /// The code the server signs for `stored` and `purpose`, its QR version at level M, and
    /// the name and classes a terminal reads from it after the signature checked out.
    fn signed(purpose: Purpose, stored: &StoredLicence) -> (String, i16, String, ClassBits) {
        let (_, ring, keys) = ring();
        let today: NaiveDate = "2030-01-01".parse().unwrap();
        let now: DateTime<Utc> = "2030-01-01T00:00:00Z".parse().unwrap();
        let e = e_licence(stored.licence.number.as_str());
        let (code, _) =
            signed_code(ring, purpose, &e, stored, today, now + Duration::days(3650)).unwrap();
        let version = QrMatrix::encode(&code).unwrap().version();
        let v = Verifier::for_purpose(keys.clone(), purpose).verify(&code, now);
        let (name, classes) = match (v.claims, v.minimal) {
            (Some(c), None) => {
                assert_eq!(c.sub, stored.licence.number.as_str());
                assert_eq!(c.status, 0xFFFF - 1, "every reason but not_yet_valid");
                (c.name, c.classes)
            }
            (None, Some(m)) => (m.name, m.classes),
            other => panic!("not our code: {other:?} {:?}", v.reasons),
        };
        (code, version, name, classes)
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
        /// names of 1 to 64 characters (the registry's limit), 1 to 17 classes, licence
        /// numbers up to 25 characters (docs/code-format.md, "Size"), a nine-digit serial.
        #[test]
        fn every_code_the_server_signs_fits_its_qr_version(
            name in "[\\p{Han}·]{1,64}|[A-Z][A-Z' -]{0,63}|[^\\p{Cc}]{1,64}",
            classes in proptest::sample::subsequence(LicenceClass::ALL.to_vec(), 1..=17),
            number_len in 6usize..=25,
        ) {
            prop_assume!(!name.trim().is_empty());
            let stored = largest_record(&name, &classes, number_len);
            let whole = &stored.licence.name;
            let (code, version, shown, bits) = signed(Purpose::Roadside, &stored);
            prop_assert!(version <= 15, "{} chars: version {version}", code.len());
            prop_assert!(is_the_name_or_its_start(&shown, whole), "{shown}");
            prop_assert_eq!(bits, ClassBits::of(&stored.licence.classes));
            let (code, version, shown, bits) = signed(Purpose::Rental, &stored);
            prop_assert!(version <= 10, "{} chars: version {version}", code.len());
            prop_assert!(is_the_name_or_its_start(&shown, whole), "{shown}");
            prop_assert_eq!(bits, ClassBits::of(&stored.licence.classes));
        }
    }

    /// The cases the issue measured (a 64-character name with 9 and 17 classes: versions 20
    /// and 21; 12 classes and a 3-character name: version 16), at the largest of the rest.
    #[test]
    fn the_measured_overflows_fit_now() {
        let nine = &LicenceClass::ALL[..9];
        let twelve = &LicenceClass::ALL[..12];
        let all = &LicenceClass::ALL[..];
        for (name, classes) in [
            ("张".repeat(64), nine),
            ("张".repeat(64), all),
            ("A".repeat(64), all),
            ("张小伟".to_owned(), twelve),
        ] {
            let stored = largest_record(&name, classes, 18);
            let (code, version, shown, _) = signed(Purpose::Roadside, &stored);
            assert!(version <= 15, "{} chars: version {version}", code.len());
            assert!(is_the_name_or_its_start(&shown, &name), "{shown}");
            let (_, version, _, _) = signed(Purpose::Employment, &stored);
            assert!(version <= 10);
        }
        // With all 17 classes and every reason, an 18-character number leaves three Chinese
        // characters of the name.
        let stored = largest_record("欧阳小伟娜娜", all, 18);
        assert_eq!(signed(Purpose::Roadside, &stored).2, "欧阳小…");
    }
}
