//! Verification of a scanned QR code or barcode: roadside (officers) or for one minimal
//! purpose (partners: rental, insurance, employment). The signature is checked with our own
//! key ring; the live status comes from the registry copy now, not from the code. A code or
//! barcode made for another purpose than the verifier's is refused (`purpose_mismatch`) and
//! says nothing. Every scan, valid or not, is written to the append-only audit before it is
//! answered.

use crate::auth::Principal;
use crate::domain::code::{is_barcode_token, CodeClaims, CODE_TYP};
use crate::domain::eligibility::{evaluate, Eligibility};
use crate::domain::licence::LicenceNumber;
use crate::domain::minimal::MINIMAL_PREFIX;
use crate::domain::purpose::Purpose;
use crate::offline::{minimal, Invalid};
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
    /// The audit's `method`: what was scanned and, for a partner, the purpose expected.
    fn method(&self, purpose: Purpose) -> &'static str {
        match (self, purpose) {
            (Scan::Code(_), Purpose::Roadside) => "code",
            (Scan::Barcode(_), Purpose::Roadside) => "barcode",
            (Scan::Code(_), Purpose::Rental) => "code:rental",
            (Scan::Barcode(_), Purpose::Rental) => "barcode:rental",
            (Scan::Code(_), Purpose::Insurance) => "code:insurance",
            (Scan::Barcode(_), Purpose::Insurance) => "barcode:insurance",
            (Scan::Code(_), Purpose::Employment) => "code:employment",
            (Scan::Barcode(_), Purpose::Employment) => "barcode:employment",
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
    /// Every reason code that made the scan invalid; empty when valid. The registry's
    /// reasons (`live`) come last.
    pub reasons: Vec<String>,
    /// When a scanned minimal code expires.
    pub code_expires_at: Option<DateTime<Utc>>,
}

/// The one reason a partner learns about the licence itself, whatever the registry says.
pub const NOT_VALID_NOW: &str = "not_valid_now";

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
            code_expires_at: None,
        }
    }

    fn checked(signature: Check, expired: bool, jti: Option<String>) -> Outcome {
        Outcome {
            expiry: if expired { Check::Fail } else { Check::Pass },
            jti,
            reasons: if expired {
                vec!["expired".to_owned()]
            } else {
                vec![]
            },
            ..Outcome::refused(signature, Check::Skipped, "")
        }
    }

    /// The reasons a partner is told: those about the code or barcode as they are, and for
    /// the licence only `not_valid_now` (never suspended, points, revoked and the like).
    pub fn partner_reasons(&self) -> Vec<String> {
        // `live_status` appends the registry's reasons last, or `licence_unknown`.
        let standing = self.live.as_ref().map_or(0, |l| l.reasons().len());
        let (own, registry) = self
            .reasons
            .split_at(self.reasons.len().saturating_sub(standing));
        let mut out: Vec<String> = own
            .iter()
            .filter(|r| *r != "licence_unknown")
            .cloned()
            .collect();
        if !registry.is_empty() || own.len() != out.len() {
            out.push(NOT_VALID_NOW.to_owned());
        }
        out
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
    let outcome = Outcome::checked(
        Check::Pass,
        claims.is_expired(now),
        Some(claims.jti.clone()),
    );
    let e_licence = e_licences::find_by_serial(conn, claims.e_licence)?;
    live_status(conn, outcome, e_licence, Some(&claims.sub), today)
}

/// A refused code: `purpose_mismatch` is a signature that checked out (on a code of ours for
/// another purpose); every other reason is about the signature or what it covers.
fn refused_code(why: Invalid) -> Outcome {
    let signature = match why {
        Invalid::PurposeMismatch => Check::Pass,
        _ => Check::Fail,
    };
    Outcome::refused(signature, Check::Skipped, why.code())
}

/// A minimal code for `purpose`: the signature and claims (`offline::minimal`, as partners
/// verify offline), expiry, then the e-licence it was issued for, found by its `cti`.
fn check_minimal(
    conn: &mut DbConn,
    ring: &KeyRing,
    text: &str,
    purpose: Purpose,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    let claims = match minimal::read(text, purpose, |kid| ring.verifying_key(kid)) {
        Ok((_, claims)) => claims,
        Err(why) => return Ok(refused_code(why)),
    };
    let jti = claims.jti();
    let mut outcome = Outcome::checked(Check::Pass, claims.is_expired(now), Some(jti.clone()));
    outcome.code_expires_at = claims.expires_at();
    let e_licence = match barcodes::by_jti(conn, &jti)? {
        Some((id, made_for)) if made_for == purpose.code() => e_licences::find(conn, &id)?,
        _ => None,
    };
    live_status(conn, outcome, e_licence, None, today)
}

fn check_barcode(
    conn: &mut DbConn,
    digits: &str,
    purpose: Purpose,
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
    let refused = |reason| Outcome::refused(Check::NotApplicable, Check::Skipped, reason);
    let (id, expiry, reason) = match barcodes::redeem(conn, digits, purpose.code(), now)? {
        Redeemed::Unknown => return Ok(refused("barcode_unknown")),
        Redeemed::OtherPurpose => return Ok(refused("purpose_mismatch")),
        Redeemed::Fresh(id) => (id, Check::Pass, None),
        Redeemed::AlreadyUsed(id) => (id, Check::Fail, Some("barcode_used")),
        Redeemed::Expired(id) => (id, Check::Fail, Some("expired")),
    };
    let outcome = Outcome {
        expiry,
        reasons: reason.map(|r| vec![r.to_owned()]).unwrap_or_default(),
        ..refused("")
    };
    let e_licence = e_licences::find(conn, &id)?;
    live_status(conn, outcome, e_licence, None, today)
}

/// A verified scan and, for a QR code, the audit row still to be appended.
#[derive(Debug, Clone)]
pub struct Verification {
    pub outcome: Outcome,
    /// A QR code scan writes nothing of its own, so its audit row is handed back for the
    /// caller to append (group commit, `storage::AuditLog`) before it answers. A barcode scan
    /// was audited already, in the transaction that redeemed it: `None`.
    pub unwritten_audit: Option<NewAudit>,
}

/// Verifies one roadside scan (see [`verify_for`]).
pub fn verify(
    conn: &mut DbConn,
    ring: &KeyRing,
    scan: &Scan,
    officer: &Principal,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Verification, StorageError> {
    verify_for(conn, ring, scan, officer, Purpose::Roadside, today, now)
}

/// Verifies one scan by a verifier expecting codes made for `purpose`. A barcode is redeemed
/// and audited in one write transaction; a QR code is checked with reads only, and its audit
/// row is returned unwritten.
pub fn verify_for(
    conn: &mut DbConn,
    ring: &KeyRing,
    scan: &Scan,
    verifier: &Principal,
    purpose: Purpose,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Verification, StorageError> {
    let audit_of = |outcome: &Outcome| NewAudit {
        verified_at: now,
        officer_token_id: verifier.token_id.clone(),
        terminal_label: verifier.label.clone(),
        method: scan.method(purpose),
        e_licence_id: outcome.e_licence_id.clone(),
        valid: outcome.valid,
        reasons: outcome.reasons.join(","),
        jti: outcome.jti.clone(),
    };
    match scan {
        Scan::Code(token) => {
            let mut outcome = if purpose.is_minimal() {
                check_minimal(conn, ring, token, purpose, today, now)?
            } else if token.starts_with(MINIMAL_PREFIX) {
                refused_code(minimal::for_roadside(token, |kid| ring.verifying_key(kid)))
            } else {
                check_code(conn, ring, token, today, now)?
            };
            outcome.valid = outcome.reasons.is_empty();
            let audit = audit_of(&outcome);
            Ok(Verification {
                outcome,
                unwritten_audit: Some(audit),
            })
        }
        Scan::Barcode(digits) => conn.write_transaction(|conn| {
            let mut outcome = check_barcode(conn, digits, purpose, today, now)?;
            outcome.valid = outcome.reasons.is_empty();
            audit::insert(conn, &audit_of(&outcome))?;
            Ok(Verification {
                outcome,
                unwritten_audit: None,
            })
        }),
    }
}
