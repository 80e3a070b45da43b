//! Roadside verification of a scanned QR code or barcode. The signature is checked with our
//! own key ring; the live status comes from the registry copy now, not from the code. Every
//! scan, valid or not, is written to the append-only audit in the same transaction.

use crate::auth::Principal;
use crate::domain::code::{is_barcode_token, CodeClaims, CODE_TYP};
use crate::domain::eligibility::{evaluate, Eligibility};
use crate::domain::licence::LicenceNumber;
use crate::signing::{jws, KeyRing};
use crate::storage::audit::{self, NewAudit};
use crate::storage::barcodes::{self, Redeemed};
use crate::storage::e_licences::{self, ELicenceRow};
use crate::storage::licences::StoredLicence;
use crate::storage::{licences, DbConn, StorageError};
use chrono::{DateTime, NaiveDate, Utc};

#[derive(Debug, Clone)]
pub enum Scan {
    /// The text of a scanned QR code: a compact JWS.
    Code(String),
    /// The digits of a scanned barcode.
    Barcode(String),
}

impl Scan {
    fn method(&self) -> &'static str {
        match self {
            Scan::Code(_) => "code",
            Scan::Barcode(_) => "barcode",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    Pass,
    Fail,
    /// Not reached, because an earlier check failed.
    Skipped,
    /// Not part of this kind of scan (a barcode carries no signature).
    NotApplicable,
}

impl Check {
    pub fn code(self) -> &'static str {
        match self {
            Check::Pass => "pass",
            Check::Fail => "fail",
            Check::Skipped => "skipped",
            Check::NotApplicable => "not_applicable",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub valid: bool,
    pub signature: Check,
    pub expiry: Check,
    pub status: Check,
    pub e_licence_id: Option<String>,
    /// The `jti` of a scanned code whose signature checked out.
    pub jti: Option<String>,
    pub licence: Option<StoredLicence>,
    pub live: Option<Eligibility>,
    /// Every reason code that made the scan invalid; empty when valid.
    pub reasons: Vec<String>,
}

impl Outcome {
    fn refused(signature: Check, expiry: Check, reason: &str) -> Outcome {
        Outcome {
            valid: false,
            signature,
            expiry,
            status: Check::Skipped,
            e_licence_id: None,
            jti: None,
            licence: None,
            live: None,
            reasons: vec![reason.to_owned()],
        }
    }
}

/// Live status of the e-licence the scan named: the registry's verdict today, and whether
/// the e-licence is still the current one.
fn live_status(
    conn: &mut DbConn,
    mut outcome: Outcome,
    e_licence: Option<ELicenceRow>,
    expected_number: Option<&str>,
    today: NaiveDate,
) -> Result<Outcome, StorageError> {
    let Some(e) = e_licence else {
        outcome.reasons.push("e_licence_unknown".into());
        outcome.status = Check::Fail;
        return Ok(outcome);
    };
    outcome.e_licence_id = Some(e.id.clone());
    if expected_number.is_some_and(|n| n != e.licence_number) {
        outcome.reasons.push("licence_mismatch".into());
    }
    if !e.is_current() {
        outcome.reasons.push("superseded".into());
    }
    let number = LicenceNumber::parse(&e.licence_number)
        .map_err(|_| StorageError::Corrupt(format!("e-licence {}: number", e.id)))?;
    if let Some(stored) = licences::find(conn, &number)? {
        let live = evaluate(&stored.licence, today);
        outcome
            .reasons
            .extend(live.reasons().iter().map(|r| r.code().to_owned()));
        outcome.live = Some(live);
        outcome.licence = Some(stored);
    } else {
        outcome.reasons.push("licence_unknown".into());
    }
    outcome.status = if outcome.reasons.is_empty() {
        Check::Pass
    } else {
        Check::Fail
    };
    Ok(outcome)
}

fn check_code(
    conn: &mut DbConn,
    ring: &KeyRing,
    token: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    let verified = match jws::verify(ring, token, CODE_TYP) {
        Ok(v) => v,
        Err(e) => return Ok(Outcome::refused(Check::Fail, Check::Skipped, e.code())),
    };
    let claims: CodeClaims = match serde_json::from_slice(&verified.payload) {
        Ok(c) => c,
        Err(_) => return Ok(Outcome::refused(Check::Fail, Check::Skipped, "malformed")),
    };
    let expired = claims.is_expired(now);
    let outcome = Outcome {
        valid: false,
        signature: Check::Pass,
        expiry: if expired { Check::Fail } else { Check::Pass },
        status: Check::Skipped,
        e_licence_id: None,
        jti: Some(claims.jti.clone()),
        licence: None,
        live: None,
        reasons: if expired {
            vec!["expired".to_owned()]
        } else {
            vec![]
        },
    };
    let e_licence = e_licences::find_by_serial(conn, claims.e_licence)?;
    live_status(conn, outcome, e_licence, Some(&claims.sub), today)
}

fn check_barcode(
    conn: &mut DbConn,
    digits: &str,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    if !is_barcode_token(digits) {
        return Ok(Outcome::refused(
            Check::NotApplicable,
            Check::Skipped,
            "malformed",
        ));
    }
    let (id, expiry, reason) = match barcodes::redeem(conn, digits, now)? {
        Redeemed::Unknown => {
            return Ok(Outcome::refused(
                Check::NotApplicable,
                Check::Skipped,
                "barcode_unknown",
            ))
        }
        Redeemed::Fresh(id) => (id, Check::Pass, None),
        Redeemed::AlreadyUsed(id) => (id, Check::Fail, Some("barcode_used")),
        Redeemed::Expired(id) => (id, Check::Fail, Some("expired")),
    };
    let outcome = Outcome {
        valid: false,
        signature: Check::NotApplicable,
        expiry,
        status: Check::Skipped,
        e_licence_id: None,
        jti: None,
        licence: None,
        live: None,
        reasons: reason.map(|r| vec![r.to_owned()]).unwrap_or_default(),
    };
    let e_licence = e_licences::find(conn, &id)?;
    live_status(conn, outcome, e_licence, None, today)
}

/// Verifies one scan and audits it, in one transaction.
pub fn verify(
    conn: &mut DbConn,
    ring: &KeyRing,
    scan: &Scan,
    officer: &Principal,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    conn.write_transaction(|conn| {
        let mut outcome = match scan {
            Scan::Code(token) => check_code(conn, ring, token, today, now)?,
            Scan::Barcode(digits) => check_barcode(conn, digits, today, now)?,
        };
        outcome.valid = outcome.reasons.is_empty();
        audit::insert(
            conn,
            &NewAudit {
                verified_at: now,
                officer_token_id: officer.token_id.clone(),
                terminal_label: officer.label.clone(),
                method: scan.method(),
                e_licence_id: outcome.e_licence_id.clone(),
                valid: outcome.valid,
                reasons: outcome.reasons.join(","),
                jti: outcome.jti.clone(),
            },
        )?;
        Ok(outcome)
    })
}
