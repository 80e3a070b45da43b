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
    status_bits(evaluate(&stored.licence, today).reasons())
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
        e_licence: e_licence.position()?.e(),
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
                purpose,
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
    match barcodes::latest_live(conn, &e_licence.id, purpose, at.now)? {
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
mod tests;
