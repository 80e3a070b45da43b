//! Verification of a scanned QR code or barcode: roadside (officers) or for one minimal
//! purpose (partners: rental, insurance, employment). The signature is checked with our own
//! key ring; the live status comes from the registry copy now, not from the code. A code or
//! barcode made for another purpose than the verifier's is refused (`purpose_mismatch`) and
//! says nothing. Every scan, valid or not, is written to the append-only audit before it is
//! answered.

use crate::auth::{self, AuthError, Principal};
use crate::domain::code::{is_barcode_token, scanned, CodeClaims, CODE_TYP};
use crate::domain::eligibility::{evaluate, Eligibility};
use crate::domain::licence::LicenceNumber;
use crate::domain::minimal::MINIMAL_PREFIX;
use crate::domain::purpose::Purpose;
use crate::domain::role::Role;
use crate::offline::{minimal, Invalid};
use crate::signing::{jws, JwsError, KeyRing};
use crate::status_list::Position;
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
    /// A scanned QR code's text, without the ASCII whitespace a scanner may add around it.
    pub fn code(text: &str) -> Scan {
        Scan::Code(scanned(text).to_owned())
    }

    /// A scanned barcode's digits, without the ASCII whitespace a scanner may add around them.
    pub fn barcode(digits: &str) -> Scan {
        Scan::Barcode(scanned(digits).to_owned())
    }

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
    /// The e-licence whose barcode was scanned again: for the audit only, never shown (a
    /// replay tells the verifier nothing about the holder).
    pub replay_of: Option<String>,
    /// The `jti` of a scanned code whose signature checked out.
    pub jti: Option<String>,
    pub licence: Option<StoredLicence>,
    pub live: Option<Eligibility>,
    /// Every reason code that made the scan invalid; empty when valid. The registry's
    /// reasons (`live`) come last.
    pub reasons: Vec<String>,
    /// When the scanned minimal code, or the code a scanned barcode came with, expires.
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
            replay_of: None,
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

    /// Whether the scan may speak for the licence as it is now. A replayed barcode, a lapsed
    /// code or one of a superseded e-licence may not: a partner who kept one would otherwise
    /// keep learning whether the holder may drive (and a superseded e-licence's new classes or
    /// validity would tell why it was superseded). Such a scan gets no holder and no verdict.
    pub fn speaks_for_the_licence_now(&self) -> bool {
        // The code's own expiry, not the reason `expired`, which a licence past its validity
        // has too. A lapsed barcode fails its expiry check as well; a replayed one names no
        // licence at all.
        self.expiry != Check::Fail && !self.reasons.iter().any(|r| r == "superseded")
    }

    /// The reasons a partner is told: those about the code or barcode as they are, and for
    /// the licence only `not_valid_now` (never suspended, points, revoked and the like), and
    /// that only while the scan [speaks for the licence](Outcome::speaks_for_the_licence_now).
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
        if (!registry.is_empty() || own.len() != out.len()) && self.speaks_for_the_licence_now() {
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

/// A roadside code, its signature already checked by [`jws::verify_all`] (or [`jws::verify`]).
fn check_code(
    conn: &mut DbConn,
    verified: Result<jws::Verified, JwsError>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Outcome, StorageError> {
    let verified = match verified {
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
    // `e` names a list and an index in it (docs/code-format.md, "Claims").
    let e_licence = match Position::from_e(claims.e_licence) {
        Some(position) => e_licences::find_by_position(conn, position)?,
        None => None,
    };
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
    let (issued, expiry, reason) = match barcodes::redeem(conn, digits, purpose.code(), now)? {
        Redeemed::Unknown => return Ok(refused("barcode_unknown")),
        Redeemed::OtherPurpose => return Ok(refused("purpose_mismatch")),
        // A replay is answered as an unknown barcode is: neither the expiry nor the status
        // was checked (neither failed), and nothing about the holder is said. The audit
        // keeps whose barcode it was.
        Redeemed::AlreadyUsed(issued) => {
            return Ok(Outcome {
                replay_of: Some(issued.e_licence_id),
                ..refused("barcode_used")
            })
        }
        Redeemed::Fresh(issued) => (issued, Check::Pass, None),
        Redeemed::Expired(issued) => (issued, Check::Fail, Some("expired")),
    };
    let outcome = Outcome {
        expiry,
        reasons: reason.map(|r| vec![r.to_owned()]).unwrap_or_default(),
        code_expires_at: Some(issued.expires_at),
        ..refused("")
    };
    let e_licence = e_licences::find(conn, &issued.e_licence_id)?;
    live_status(conn, outcome, e_licence, None, today)
}

/// One scan waiting to be verified: the bearer token that came with it and what was scanned.
#[derive(Debug, Clone)]
pub struct ScanRequest {
    pub token: String,
    pub scan: Scan,
}

/// Why one scan of a batch got no verdict.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The token is unknown, revoked, or not a verifier's.
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A verified scan: the purpose its verifier expects and the outcome, audited.
#[derive(Debug, Clone)]
pub struct Verification {
    pub purpose: Purpose,
    pub outcome: Outcome,
}

/// The purpose a verifier's codes must be made for: roadside for officers, the token's own
/// purpose for partners. Nobody else verifies.
fn expected_purpose(p: &Principal) -> Result<Purpose, AuthError> {
    match p.role {
        Role::Officer => Ok(Purpose::Roadside),
        Role::Partner => p.partner_purpose(),
        _ => Err(AuthError::Forbidden(Role::Officer)),
    }
}

/// A scan whose verifier checked out, on its way through [`verify_batch`].
struct Admitted<'r> {
    slot: usize,
    verifier: Principal,
    purpose: Purpose,
    scan: &'r Scan,
    outcome: Option<Outcome>,
}

/// Verifies scans that arrived together, each as it would be alone, and audits every one that
/// was verified before this returns. A request whose token is unknown, revoked or not a
/// verifier's gets its `AuthError` and no audit row; one whose licence cannot be read gets
/// its `StorageError`, and its batch-mates their verdicts. The whole batch fails with the
/// `StorageError` if a transaction does: then nothing was audited, no barcode was used, and
/// no scan may be answered as verified.
///
/// The work is shared where scans allow it: the tokens and every QR code's licence are read
/// in one snapshot; the signatures of roadside codes are checked in one batch
/// ([`jws::verify_all`]); then one write transaction redeems the barcodes (a barcode works
/// once, so its scan must write) and appends the audit rows of all.
pub fn verify_batch(
    conn: &mut DbConn,
    ring: &KeyRing,
    requests: &[ScanRequest],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Result<Verification, ScanError>>, StorageError> {
    let mut answers: Vec<Option<Result<Verification, ScanError>>> =
        requests.iter().map(|_| None).collect();
    let mut admitted = conn.read_snapshot(|conn| {
        let admitted = admit(conn, requests, &mut answers)?;
        Ok::<_, StorageError>(check_codes(conn, ring, admitted, &mut answers, today, now))
    })?;
    let audit_started = std::time::Instant::now();
    conn.write_transaction(|conn| {
        for a in admitted.iter_mut() {
            if let Scan::Barcode(digits) = a.scan {
                // Under a savepoint: a barcode whose licence cannot be read is not used up,
                // and fails alone.
                match conn.savepoint(|conn| check_barcode(conn, digits, a.purpose, today, now)) {
                    Ok(outcome) => a.outcome = Some(outcome),
                    Err(e) => answers[a.slot] = Some(Err(e.into())),
                }
            }
        }
        let rows: Vec<NewAudit> = admitted
            .iter_mut()
            .filter_map(|a| {
                let outcome = a.outcome.as_mut()?;
                outcome.valid = outcome.reasons.is_empty();
                Some(audit_row(a.scan, &a.verifier, a.purpose, outcome, now))
            })
            .collect();
        audit::insert_many(conn, &rows)
    })?;
    crate::telemetry::metrics::audit_committed(audit_started.elapsed());
    for a in admitted {
        // A barcode that failed under its savepoint has its error answer already.
        if let Some(outcome) = a.outcome {
            answers[a.slot] = Some(Ok(Verification {
                purpose: a.purpose,
                outcome,
            }));
        }
    }
    answers
        .into_iter()
        .map(|a| a.ok_or_else(|| StorageError::Corrupt("a scan left the batch unanswered".into())))
        .collect()
}

/// The scans whose token names a verifier; the others are answered with their `AuthError`.
fn admit<'r>(
    conn: &mut DbConn,
    requests: &'r [ScanRequest],
    answers: &mut [Option<Result<Verification, ScanError>>],
) -> Result<Vec<Admitted<'r>>, StorageError> {
    // The scans of a batch come from a few terminals: each good token is looked up once.
    let mut known: Vec<(&str, Principal, Purpose)> = Vec::new();
    let mut admitted = Vec::with_capacity(requests.len());
    for (slot, r) in requests.iter().enumerate() {
        let found = known.iter().find(|(t, _, _)| *t == r.token);
        let (verifier, purpose) = match found {
            Some((_, p, purpose)) => (p.clone(), *purpose),
            None => match auth::authenticate(conn, &r.token)
                .and_then(|p| expected_purpose(&p).map(|purpose| (p, purpose)))
            {
                Ok((p, purpose)) => {
                    known.push((&r.token, p.clone(), purpose));
                    (p, purpose)
                }
                Err(AuthError::Storage(e)) => return Err(e),
                Err(refused) => {
                    answers[slot] = Some(Err(refused.into()));
                    continue;
                }
            },
        };
        admitted.push(Admitted {
            slot,
            verifier,
            purpose,
            scan: &r.scan,
            outcome: None,
        });
    }
    Ok(admitted)
}

/// What a QR code scan holds for its verifier, decided once.
enum CodeScan<'r> {
    /// A roadside JWS scanned by an officer: its signature is checked in the batch.
    Roadside(&'r str),
    /// A minimal code scanned by an officer: refused, saying only whether it is ours.
    MinimalShownToOfficer(&'r str),
    /// Anything scanned by a partner: checked as a minimal code of the partner's purpose.
    ForPartner(&'r str),
}

impl<'r> CodeScan<'r> {
    fn of(scan: &'r Scan, purpose: Purpose) -> Option<CodeScan<'r>> {
        let Scan::Code(text) = scan else { return None };
        Some(if purpose.is_minimal() {
            CodeScan::ForPartner(text)
        } else if text.starts_with(MINIMAL_PREFIX) {
            CodeScan::MinimalShownToOfficer(text)
        } else {
            CodeScan::Roadside(text)
        })
    }
}

/// The outcome of every QR code scan, with the roadside signatures checked in one batch.
/// A scan whose licence cannot be read leaves the batch with its error.
fn check_codes<'r>(
    conn: &mut DbConn,
    ring: &KeyRing,
    admitted: Vec<Admitted<'r>>,
    answers: &mut [Option<Result<Verification, ScanError>>],
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Vec<Admitted<'r>> {
    let scans: Vec<Option<CodeScan<'r>>> = admitted
        .iter()
        .map(|a| CodeScan::of(a.scan, a.purpose))
        .collect();
    let roadside: Vec<&str> = scans
        .iter()
        .filter_map(|s| match s {
            Some(CodeScan::Roadside(text)) => Some(*text),
            _ => None,
        })
        .collect();
    let mut signatures = jws::verify_all(ring, &roadside, CODE_TYP).into_iter();
    let mut kept = Vec::with_capacity(admitted.len());
    for (mut a, scan) in admitted.into_iter().zip(scans) {
        let outcome = match scan {
            None => None, // a barcode: redeemed in the write transaction
            Some(CodeScan::Roadside(_)) => Some(match signatures.next() {
                Some(verified) => check_code(conn, verified, today, now),
                None => Err(StorageError::Corrupt(
                    "a roadside scan lost its signature".into(),
                )),
            }),
            Some(CodeScan::MinimalShownToOfficer(text)) => {
                Some(Ok(refused_code(minimal::for_roadside(text, |kid| {
                    ring.verifying_key(kid)
                }))))
            }
            Some(CodeScan::ForPartner(text)) => {
                Some(check_minimal(conn, ring, text, a.purpose, today, now))
            }
        };
        match outcome {
            Some(Err(e)) => {
                answers[a.slot] = Some(Err(e.into()));
                continue;
            }
            Some(Ok(o)) => a.outcome = Some(o),
            None => {}
        }
        kept.push(a);
    }
    kept
}

/// The audit row of a verified scan: who scanned what, when, and the verdict.
fn audit_row(
    scan: &Scan,
    verifier: &Principal,
    purpose: Purpose,
    outcome: &Outcome,
    now: DateTime<Utc>,
) -> NewAudit {
    NewAudit {
        verified_at: now,
        officer_token_id: verifier.token_id.clone(),
        terminal_label: verifier.label.clone(),
        method: scan.method(purpose),
        e_licence_id: outcome
            .e_licence_id
            .clone()
            .or_else(|| outcome.replay_of.clone()),
        valid: outcome.valid,
        reasons: outcome.reasons.join(","),
        jti: outcome.jti.clone(),
    }
}
