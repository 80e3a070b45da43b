//! Display codes: a short-lived signed JWS for the QR code and a one-time numeric token for
//! the barcode, both expiring together. The app fetches a fresh pair each time it shows them.

use crate::domain::code::{
    photo_tag_of_digest, CodeClaims, BARCODE_DIGITS, CODE_TYP, JTI_BYTES, STATUS_OK,
};
use crate::domain::eligibility::evaluate;
use crate::signing::{jws, KeyRing};
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
}

/// "ok", or the reason codes that stood at signing.
pub fn status_at(stored: &StoredLicence, today: NaiveDate) -> String {
    let e = evaluate(&stored.licence, today);
    if e.is_eligible() {
        STATUS_OK.to_owned()
    } else {
        e.reasons()
            .iter()
            .map(|r| r.code())
            .collect::<Vec<_>>()
            .join(",")
    }
}

fn barcode_token() -> String {
    let mut rng = rand::rngs::OsRng;
    (0..BARCODE_DIGITS)
        .map(|_| char::from(b'0' + rng.gen_range(0..10)))
        .collect()
}

fn code_id() -> String {
    let mut bytes = [0u8; JTI_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Random ids collide about never; a collision is still handled by drawing again.
const COLLISION_ATTEMPTS: usize = 4;

pub fn issue(
    conn: &mut DbConn,
    ring: &KeyRing,
    e_licence: &ELicenceRow,
    stored: &StoredLicence,
    today: NaiveDate,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<DisplayCode, StorageError> {
    // Whole seconds: `exp` is in seconds, and the barcode must not outlive its code.
    let expires_at = DateTime::from_timestamp((now + ttl).timestamp(), 0).unwrap_or(now + ttl);
    let l = &stored.licence;
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
        classes: l.classes.to_codes(),
        valid_until: l.valid_until,
        status: status_at(stored, today),
        photo: photo_tag_of_digest(&photo),
        exp: expires_at.timestamp(),
        jti: String::new(),
    };
    for _ in 0..COLLISION_ATTEMPTS {
        claims.jti = code_id();
        let payload =
            serde_json::to_vec(&claims).map_err(|e| StorageError::Corrupt(e.to_string()))?;
        let code = jws::sign(ring, CODE_TYP, &payload);
        let barcode = barcode_token();
        let stored = barcodes::insert(
            conn,
            &NewDisplayCode {
                token: &barcode,
                jti: &claims.jti,
                e_licence_id: &e_licence.id,
                code: &code,
                expires_at,
            },
        )?;
        if stored {
            return Ok(DisplayCode {
                code,
                barcode,
                expires_at,
            });
        }
    }
    Err(StorageError::Constraint(
        "no free code id after several random draws".into(),
    ))
}

/// The display code the app is showing now: the newest one still unexpired and unscanned,
/// or a fresh one. Lets the image routes render the same code the app shows.
pub fn current_or_issue(
    conn: &mut DbConn,
    ring: &KeyRing,
    e_licence: &ELicenceRow,
    stored: &StoredLicence,
    today: NaiveDate,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<DisplayCode, StorageError> {
    match barcodes::latest_live(conn, &e_licence.id, now)? {
        Some((barcode, code, expires_at)) => Ok(DisplayCode {
            code,
            barcode,
            expires_at,
        }),
        None => issue(conn, ring, e_licence, stored, today, now, ttl),
    }
}
