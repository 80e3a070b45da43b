//! Verification of a scanned QR code or barcode: roadside (officers) or for one minimal
//! purpose (partners: rental, insurance, employment). The signature is checked with our own
//! key ring; the live status comes from the registry copy now, not from the code. A code or
//! barcode made for another purpose than the verifier's is refused (`purpose_mismatch`) and
//! says nothing. Every scan, valid or not, is written to the append-only audit before it is
//! answered.

use crate::auth::{self, AuthError, Principal};
use crate::domain::code::{is_barcode_token, scanned, CodeClaims, CODE_TYP};
use crate::domain::eligibility::{evaluate, Eligibility, Reason};
use crate::domain::licence::LicenceNumber;
use crate::domain::minimal::MINIMAL_PREFIX;
use crate::domain::purpose::Purpose;
use crate::domain::role::Role;
use crate::domain::scan::{ScanKind, ScanMethod};
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
    fn method(&self, purpose: Purpose) -> ScanMethod {
        let kind = match self {
            Scan::Code(_) => ScanKind::Code,
            Scan::Barcode(_) => ScanKind::Barcode,
        };
        ScanMethod::new(kind, purpose)
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
    /// Every reason that made the scan invalid; empty when valid. The registry's reasons
    /// (`live`) come last.
    pub reasons: Vec<ScanReason>,
    /// When the scanned minimal code, or the code a scanned barcode came with, expires.
    pub code_expires_at: Option<DateTime<Utc>>,
}

/// Why a scan is invalid. [`ScanReason::code`] is what the verifier is told and the audit
/// keeps (comma-joined); the codes are the documented ones (docs/code-format.md, "Online").
#[derive(Debug, Clone, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
pub enum ScanReason {
    /// The code itself, named as the offline verifier names it: its form, key or signature
    /// (`bad_signature`, `unknown_kid`, …), its claims (`malformed`), its purpose
    /// (`purpose_mismatch`) or its expiry (`expired`; a barcode lapses with its code).
    Code(Invalid),
    /// Not the digits of a barcode of ours.
    #[strum(serialize = "malformed")]
    MalformedBarcode,
    BarcodeUnknown,
    /// A barcode scanned before: it works once.
    BarcodeUsed,
    /// The code names no e-licence of ours.
    ELicenceUnknown,
    /// The code's licence number is not its e-licence's.
    LicenceMismatch,
    /// The e-licence is no longer its licence's current one.
    Superseded,
    /// The e-licence's licence is not in the registry copy.
    LicenceUnknown,
    /// What stands in the licence's way today, as the registry copy says.
    Registry(Reason),
    /// The one reason a partner learns about the licence itself, whatever the registry says.
    NotValidNow,
}

impl ScanReason {
    pub fn code(&self) -> &str {
        match self {
            ScanReason::Code(why) => why.code(),
            ScanReason::Registry(why) => why.code(),
            other => other.into(),
        }
    }

    /// The reasons' codes as the audit stores them: comma-joined, empty when none.
    pub fn joined(reasons: &[ScanReason]) -> String {
        reasons
            .iter()
            .map(ScanReason::code)
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Outcome {
    /// A scan whose signature and expiry checks are decided and whose status is not checked
    /// (yet): these reasons, nothing about the holder.
    fn stopped(signature: Check, expiry: Check, reasons: Vec<ScanReason>) -> Outcome {
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
            reasons,
            code_expires_at: None,
        }
    }

    fn refused(signature: Check, expiry: Check, reason: ScanReason) -> Outcome {
        Outcome::stopped(signature, expiry, vec![reason])
    }

    fn checked(signature: Check, expired: bool, jti: Option<String>) -> Outcome {
        let (expiry, reasons) = if expired {
            (Check::Fail, vec![ScanReason::Code(Invalid::Expired)])
        } else {
            (Check::Pass, vec![])
        };
        Outcome {
            jti,
            ..Outcome::stopped(signature, expiry, reasons)
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
        self.expiry != Check::Fail && !self.reasons.contains(&ScanReason::Superseded)
    }

    /// The reasons a partner is told: those about the code or barcode as they are, and for
    /// the licence only `not_valid_now` (never suspended, points, revoked and the like), and
    /// that only while the scan [speaks for the licence](Outcome::speaks_for_the_licence_now).
    pub fn partner_reasons(&self) -> Vec<ScanReason> {
        // `live_status` appends the registry's reasons last, or `licence_unknown`.
        let standing = self.live.as_ref().map_or(0, |l| l.reasons().len());
        let (own, registry) = self
            .reasons
            .split_at(self.reasons.len().saturating_sub(standing));
        let mut out: Vec<ScanReason> = own
            .iter()
            .filter(|r| **r != ScanReason::LicenceUnknown)
            .cloned()
            .collect();
        if (!registry.is_empty() || own.len() != out.len()) && self.speaks_for_the_licence_now() {
            out.push(ScanReason::NotValidNow);
        }
        out
    }
}

/// Live status of the e-licence the scan named: the registry's verdict today, and whether
/// the e-licence is still the current one. Reads the e-licence's licence.
fn live_status(
    conn: &mut DbConn,
    outcome: Outcome,
    e_licence: Option<ELicenceRow>,
    expected_number: Option<&str>,
    today: NaiveDate,
) -> Result<Outcome, StorageError> {
    let found = match e_licence {
        None => None,
        Some(e) => {
            let number = LicenceNumber::parse(&e.licence_number)
                .map_err(|_| StorageError::Corrupt(format!("e-licence {}: number", e.id)))?;
            let licence = licences::find(conn, &number)?;
            Some((e, licence))
        }
    };
    Ok(judged(outcome, found, expected_number, today))
}

/// An e-licence a scan named, with its licence when that is stored.
type Found = (ELicenceRow, Option<StoredLicence>);

/// [`live_status`] of an e-licence and licence already read.
fn judged(
    mut outcome: Outcome,
    found: Option<Found>,
    expected_number: Option<&str>,
    today: NaiveDate,
) -> Outcome {
    let Some((e, licence)) = found else {
        outcome.reasons.push(ScanReason::ELicenceUnknown);
        outcome.status = Check::Fail;
        return outcome;
    };
    outcome.e_licence_id = Some(e.id.clone());
    if expected_number.is_some_and(|n| n != e.licence_number) {
        outcome.reasons.push(ScanReason::LicenceMismatch);
    }
    if !e.is_current() {
        outcome.reasons.push(ScanReason::Superseded);
    }
    if let Some(stored) = licence {
        let live = evaluate(&stored.licence, today);
        outcome
            .reasons
            .extend(live.reasons().iter().copied().map(ScanReason::Registry));
        outcome.live = Some(live);
        outcome.licence = Some(stored);
    } else {
        outcome.reasons.push(ScanReason::LicenceUnknown);
    }
    outcome.status = if outcome.reasons.is_empty() {
        Check::Pass
    } else {
        Check::Fail
    };
    outcome
}

/// The claims of a roadside code whose signature [`jws::verify_all`] checked, or why it is
/// refused.
fn roadside_claims(verified: Result<jws::Verified, JwsError>) -> Result<CodeClaims, Invalid> {
    let verified = verified.map_err(Invalid::from)?;
    serde_json::from_slice(&verified.payload).map_err(|_| Invalid::Claims)
}

/// A roadside code with good claims, judged against its e-licence and licence (read for the
/// whole batch by [`e_licences::at_positions_with_licences`]).
fn check_code(
    claims: CodeClaims,
    found: Option<Found>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Outcome {
    let outcome = Outcome::checked(
        Check::Pass,
        claims.is_expired(now),
        Some(claims.jti.clone()),
    );
    judged(outcome, found, Some(&claims.sub), today)
}

/// A refused code: `purpose_mismatch` is a signature that checked out (on a code of ours for
/// another purpose); every other reason is about the signature or what it covers.
fn refused_code(why: Invalid) -> Outcome {
    let signature = match why {
        Invalid::PurposeMismatch => Check::Pass,
        _ => Check::Fail,
    };
    Outcome::refused(signature, Check::Skipped, ScanReason::Code(why))
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
        Some((id, made_for)) if made_for == purpose => e_licences::find(conn, &id)?,
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
            ScanReason::MalformedBarcode,
        ));
    }
    let refused = |reason| Outcome::refused(Check::NotApplicable, Check::Skipped, reason);
    let (issued, expiry, reasons) = match barcodes::redeem(conn, digits, purpose, now)? {
        Redeemed::Unknown => return Ok(refused(ScanReason::BarcodeUnknown)),
        Redeemed::OtherPurpose => return Ok(refused(ScanReason::Code(Invalid::PurposeMismatch))),
        // A replay is answered as an unknown barcode is: neither the expiry nor the status
        // was checked (neither failed), and nothing about the holder is said. The audit
        // keeps whose barcode it was.
        Redeemed::AlreadyUsed(issued) => {
            return Ok(Outcome {
                replay_of: Some(issued.e_licence_id),
                ..refused(ScanReason::BarcodeUsed)
            })
        }
        Redeemed::Fresh(issued) => (issued, Check::Pass, vec![]),
        Redeemed::Expired(issued) => (
            issued,
            Check::Fail,
            vec![ScanReason::Code(Invalid::Expired)],
        ),
    };
    let outcome = Outcome {
        code_expires_at: Some(issued.expires_at),
        ..Outcome::stopped(Check::NotApplicable, expiry, reasons)
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
    // Without barcodes the write is the audit's one multi-row INSERT on PostgreSQL, atomic by
    // itself: no BEGIN and COMMIT round trips around it. SQLite keeps its write transaction
    // (its `BEGIN IMMEDIATE` is where a busy database is waited for and retried), and a
    // barcode's redemption must commit with its audit row.
    let alone = matches!(conn, DbConn::Pg(_))
        && !admitted.iter().any(|a| matches!(a.scan, Scan::Barcode(_)));
    let mut write = |conn: &mut DbConn| {
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
    };
    if alone {
        write(conn)?;
    } else {
        conn.write_transaction(write)?;
    }
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
    let claims: Vec<Result<CodeClaims, Invalid>> = jws::verify_all(ring, &roadside, CODE_TYP)
        .into_iter()
        .map(roadside_claims)
        .collect();
    // `e` names a list and an index in it (docs/code-format.md, "Claims"): every e-licence
    // and licence the batch's roadside codes name, in one statement.
    let positions: Vec<Position> = claims
        .iter()
        .filter_map(|c| Position::from_e(c.as_ref().ok()?.e_licence))
        .collect();
    let found = e_licences::at_positions_with_licences(conn, &positions);
    let mut claims = claims.into_iter();
    let mut kept = Vec::with_capacity(admitted.len());
    for (mut a, scan) in admitted.into_iter().zip(scans) {
        let outcome = match scan {
            None => None, // a barcode: redeemed in the write transaction
            Some(CodeScan::Roadside(_)) => Some(match (claims.next(), &found) {
                (None, _) => Err(StorageError::Corrupt(
                    "a roadside scan lost its signature".into(),
                )),
                (Some(Err(why)), _) => Ok(refused_code(why)),
                (Some(Ok(_)), Err(e)) => Err(e.copy()),
                (Some(Ok(claims)), Ok(found)) => {
                    let at = Position::from_e(claims.e_licence).and_then(|p| found.get(&p));
                    Ok(check_code(claims, at.cloned(), today, now))
                }
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
        reasons: ScanReason::joined(&outcome.reasons),
        jti: outcome.jti.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::registry_state::RegistryState;

    #[test]
    fn reasons_are_named_by_their_documented_codes() {
        let reasons = [
            ScanReason::Code(Invalid::Jws(JwsError::BadSignature)),
            ScanReason::Code(Invalid::Claims),
            ScanReason::Code(Invalid::PurposeMismatch),
            ScanReason::Code(Invalid::Expired),
            ScanReason::MalformedBarcode,
            ScanReason::BarcodeUnknown,
            ScanReason::BarcodeUsed,
            ScanReason::ELicenceUnknown,
            ScanReason::LicenceMismatch,
            ScanReason::Superseded,
            ScanReason::LicenceUnknown,
            ScanReason::Registry(Reason::Registry(RegistryState::Suspended)),
            ScanReason::NotValidNow,
        ];
        assert_eq!(
            ScanReason::joined(&reasons),
            "bad_signature,malformed,purpose_mismatch,expired,malformed,barcode_unknown,\
             barcode_used,e_licence_unknown,licence_mismatch,superseded,licence_unknown,\
             suspended,not_valid_now"
        );
        assert_eq!(ScanReason::joined(&[]), "");
    }
}
