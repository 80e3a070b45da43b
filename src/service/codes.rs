//! Display codes: a short-lived signed JWS for the QR code and a one-time numeric token for
//! the barcode, both expiring together. The app fetches a fresh pair each time it shows them.

use crate::domain::code::{CodeClaims, BARCODE_DIGITS, CODE_TYP, ISSUER};
use crate::domain::eligibility::evaluate;
use crate::signing::{jws, KeyRing};
use crate::storage::e_licences::ELicenceRow;
use crate::storage::licences::StoredLicence;
use crate::storage::{barcodes, DbConn, StorageError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rand::Rng;

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
        "ok".to_owned()
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

pub fn issue(
    conn: &mut DbConn,
    ring: &KeyRing,
    e_licence: &ELicenceRow,
    stored: &StoredLicence,
    today: NaiveDate,
    now: DateTime<Utc>,
    ttl: Duration,
) -> Result<DisplayCode, StorageError> {
    let expires_at = now + ttl;
    let l = &stored.licence;
    let claims = CodeClaims {
        iss: ISSUER.to_owned(),
        eid: e_licence.id.clone(),
        sub: l.number.as_str().to_owned(),
        nam: l.name.clone(),
        cls: l.classes.to_codes(),
        vu: l.valid_until,
        st: status_at(stored, today),
        pho: e_licence.photo_sha256.clone(),
        iat: now.timestamp(),
        exp: expires_at.timestamp(),
        jti: super::random_id("", 8),
    };
    let payload = serde_json::to_vec(&claims).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let code = jws::sign(ring, CODE_TYP, &payload);
    let barcode = barcode_token();
    barcodes::insert(conn, &barcode, &e_licence.id, &code, expires_at)?;
    Ok(DisplayCode {
        code,
        barcode,
        expires_at: DateTime::from_timestamp(claims.exp, 0).unwrap_or(expires_at),
    })
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
