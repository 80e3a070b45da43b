//! Counter issuance (车辆管理所): whoever cannot use the app applies at the office that issued
//! the licence. A clerk, bound to that issuing authority, looks the licence up, takes the photo
//! at the counter (the same intake and pre-checks as an app upload) or uses the one on file,
//! and issues the e-licence on the holder's behalf: the clerk's approval replaces remote
//! review, so nothing is queued. One current e-licence per licence still holds: a counter photo
//! for a licence that has one changes its photo (and re-signs), like an approved 更换照片.
//!
//! Every action is audited in `counter_audit`, in the transaction of the action; a refusal is
//! audited too (committed with nothing else).

use crate::auth::{AuthError, Principal};
use crate::domain::e_licence::{ELicencePhotoSource, IssuedVia};
use crate::domain::eligibility::{evaluate, Reason};
use crate::domain::licence::LicenceNumber;
use crate::domain::submission::SubmissionState;
use crate::service::issuance::{self, IssueError};
use crate::storage::counter_audit::{self, NewCounterAudit};
use crate::storage::e_licences::{self, ELicenceRow};
use crate::storage::licences::{self, StoredLicence};
use crate::storage::submissions::{self, SubmissionRow};
use crate::storage::{barcodes, notifications, DbConn, StorageError};
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{json, Value};

/// The actions in the audit.
pub const LOOKUP: &str = "lookup";
pub const ISSUE: &str = "issue";
pub const PHOTO_CHANGE: &str = "photo_change";

/// The `outcome` of an action that went through.
pub const OK: &str = "ok";

/// A clerk: a token id and the issuing authority it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clerk {
    pub token_id: String,
    pub authority: String,
}

impl Clerk {
    /// The clerk behind a principal; any other role is refused.
    pub fn of(p: &Principal) -> Result<Clerk, AuthError> {
        Ok(Clerk {
            authority: p.clerk_authority()?.to_owned(),
            token_id: p.token_id.clone(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CounterError {
    #[error("no such licence")]
    LicenceNotFound,
    #[error("the licence was issued by another authority")]
    OtherAuthority,
    #[error("the licence may not get an e-licence now")]
    NotEligible(Vec<Reason>),
    #[error("the licence has an e-licence already")]
    ELicenceExists,
    #[error("there is no photo on file")]
    PhotoRequired,
    #[error("the photo on file fails the automatic checks")]
    PhotoOnFileUnusable(Vec<&'static str>),
    /// See `IssueError::PhotoNotPrepared`: prepare it and ask again.
    #[error("the photo on file was never prepared")]
    PhotoNotPrepared,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl CounterError {
    /// The outcome recorded in the audit: the code the clerk is answered with.
    pub fn code(&self) -> &'static str {
        match self {
            CounterError::LicenceNotFound => "licence_not_found",
            CounterError::OtherAuthority => "other_authority",
            CounterError::NotEligible(_) => "not_eligible",
            CounterError::ELicenceExists => "e_licence_exists",
            CounterError::PhotoRequired => "photo_required",
            CounterError::PhotoOnFileUnusable(_) => "photo_on_file_unusable",
            CounterError::PhotoNotPrepared => "photo_not_prepared",
            CounterError::Storage(_) => "storage_error",
        }
    }

    /// The same refusal once more (a retried transaction meets it again). Storage failures
    /// are not refusals and are never kept to be met again.
    fn again(&self) -> CounterError {
        match self {
            CounterError::LicenceNotFound => CounterError::LicenceNotFound,
            CounterError::OtherAuthority => CounterError::OtherAuthority,
            CounterError::NotEligible(r) => CounterError::NotEligible(r.clone()),
            CounterError::ELicenceExists => CounterError::ELicenceExists,
            CounterError::PhotoRequired => CounterError::PhotoRequired,
            CounterError::PhotoOnFileUnusable(c) => CounterError::PhotoOnFileUnusable(c.clone()),
            CounterError::PhotoNotPrepared => CounterError::PhotoNotPrepared,
            CounterError::Storage(e) => CounterError::Storage(StorageError::Corrupt(e.to_string())),
        }
    }

    /// What the audit keeps of the refusal: the reason codes, where there are some.
    fn detail(&self) -> Option<Value> {
        match self {
            CounterError::NotEligible(reasons) => Some(json!({
                "reasons": reasons.iter().map(Reason::code).collect::<Vec<_>>()
            })),
            CounterError::PhotoOnFileUnusable(codes) => Some(json!({ "failed_checks": codes })),
            _ => None,
        }
    }
}

/// Appends one audit row for `clerk`.
fn audit(
    conn: &mut DbConn,
    clerk: &Clerk,
    number: &LicenceNumber,
    action: &str,
    outcome: &str,
    detail: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    counter_audit::append(
        conn,
        &NewCounterAudit {
            at: now,
            clerk_token_id: &clerk.token_id,
            authority: &clerk.authority,
            action,
            licence_number: number.as_str(),
            outcome,
            detail,
        },
    )
}

/// Records a refusal decided outside a counter transaction (the counter photo failed intake
/// or its pre-checks, the body was malformed): the row alone, committed at once.
pub fn refuse(
    conn: &mut DbConn,
    clerk: &Clerk,
    number: &LicenceNumber,
    action: &str,
    outcome: &str,
    detail: Option<&Value>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    conn.write_transaction(|conn| audit(conn, clerk, number, action, outcome, detail, now))
}

/// The licence, if `clerk` serves it.
fn served(
    conn: &mut DbConn,
    clerk: &Clerk,
    number: &LicenceNumber,
) -> Result<StoredLicence, CounterError> {
    of_clerk(licences::find(conn, number)?, clerk)
}

/// [`served`] inside a write transaction, with the licence's row locked until the commit.
fn served_locked(
    conn: &mut DbConn,
    clerk: &Clerk,
    number: &LicenceNumber,
) -> Result<StoredLicence, CounterError> {
    of_clerk(licences::find_for_update(conn, number)?, clerk)
}

fn of_clerk(stored: Option<StoredLicence>, clerk: &Clerk) -> Result<StoredLicence, CounterError> {
    let stored = stored.ok_or(CounterError::LicenceNotFound)?;
    if stored.licence.issuing_authority != clerk.authority {
        return Err(CounterError::OtherAuthority);
    }
    Ok(stored)
}

fn eligible(stored: &StoredLicence, today: NaiveDate) -> Result<(), CounterError> {
    let verdict = evaluate(&stored.licence, today);
    if verdict.is_eligible() {
        Ok(())
    } else {
        Err(CounterError::NotEligible(verdict.reasons().to_vec()))
    }
}

/// What an action did, for its audit row.
struct Done<T> {
    value: T,
    action: &'static str,
    detail: Value,
}

/// Runs `work` in one write transaction and audits it there: what it did (`ok`) or why it
/// refused (its code). `work` refuses before it writes anything, so a committed refusal holds
/// the audit row alone; a storage failure rolls everything back, the audit row included.
fn audited<T>(
    conn: &mut DbConn,
    clerk: &Clerk,
    number: &LicenceNumber,
    action: &'static str,
    now: DateTime<Utc>,
    work: impl FnOnce(&mut DbConn) -> Result<Done<T>, CounterError>,
) -> Result<T, CounterError> {
    conn.write_transaction(|conn| match work(conn) {
        Ok(done) => {
            audit(
                conn,
                clerk,
                number,
                done.action,
                OK,
                Some(&done.detail),
                now,
            )?;
            Ok(Ok(done.value))
        }
        Err(CounterError::Storage(e)) => Err(e),
        Err(refusal) => {
            let detail = refusal.detail();
            audit(
                conn,
                clerk,
                number,
                action,
                refusal.code(),
                detail.as_ref(),
                now,
            )?;
            Ok(Err(refusal))
        }
    })
    .map_err(CounterError::Storage)?
}

/// The current e-licence and how it was issued.
#[derive(Debug, Clone)]
pub struct CurrentELicence {
    pub row: ELicenceRow,
    /// app | counter
    pub issued_via: IssuedVia,
    /// The clerk's token id when issued at the counter.
    pub issued_by: Option<String>,
}

impl From<ELicenceRow> for CurrentELicence {
    fn from(row: ELicenceRow) -> Self {
        CurrentELicence {
            issued_via: row.issued_via,
            issued_by: row.issued_by.clone(),
            row,
        }
    }
}

/// The photo on file as a clerk needs to know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PhotoOnFile {
    None,
    /// Not prepared yet: it is pre-checked when it is first used.
    NotChecked,
    Passed,
    /// The pre-checks it failed (`unreadable` when it could not be decoded).
    Failed(Vec<&'static str>),
}

/// What the clerk sees of a licence of their authority.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub licence: StoredLicence,
    pub photo_on_file: PhotoOnFile,
    pub e_licence: Option<CurrentELicence>,
    /// The holder's photo waiting for remote review, if any.
    pub pending_submission: Option<SubmissionRow>,
}

/// How the photo on file of `number` stands now (after the caller prepared it).
pub fn photo_on_file_now(
    conn: &mut DbConn,
    number: &LicenceNumber,
) -> Result<PhotoOnFile, StorageError> {
    match licences::find(conn, number)? {
        Some(stored) => photo_on_file(conn, &stored),
        None => Ok(PhotoOnFile::None),
    }
}

fn photo_on_file(conn: &mut DbConn, stored: &StoredLicence) -> Result<PhotoOnFile, StorageError> {
    if !stored.has_photo {
        return Ok(PhotoOnFile::None);
    }
    Ok(
        match licences::prepared_photo(conn, &stored.licence.number)? {
            Some((Some(_), Some(failed))) if failed.is_empty() => PhotoOnFile::Passed,
            Some((Some(_), Some(failed))) => {
                PhotoOnFile::Failed(failed.split(',').map(crate::photo::check_code).collect())
            }
            _ => PhotoOnFile::NotChecked,
        },
    )
}

fn current(
    conn: &mut DbConn,
    number: &LicenceNumber,
) -> Result<Option<CurrentELicence>, StorageError> {
    let Some(row) = e_licences::current_for(conn, number.as_str())? else {
        return Ok(None);
    };
    Ok(Some(CurrentELicence::from(row)))
}

/// Looks a licence up for `clerk`; refused (and audited) for another authority's licence.
pub fn look_up(
    conn: &mut DbConn,
    clerk: &Clerk,
    number: &LicenceNumber,
    now: DateTime<Utc>,
) -> Result<Lookup, CounterError> {
    audited(conn, clerk, number, LOOKUP, now, |conn| {
        let licence = served(conn, clerk, number)?;
        let photo_on_file = photo_on_file(conn, &licence)?;
        let e_licence = current(conn, number)?;
        let pending_submission = submissions::latest_for(conn, number.as_str())?
            .filter(|s| s.state == SubmissionState::PendingReview);
        let detail = json!({
            "e_licence_id": e_licence.as_ref().map(|e| e.row.id.clone()),
            "pending_submission": pending_submission.as_ref().map(|s| s.id.clone()),
        });
        Ok(Done {
            value: Lookup {
                licence,
                photo_on_file,
                e_licence,
                pending_submission,
            },
            action: LOOKUP,
            detail,
        })
    })
}

/// Checks, before a photo is read, that `clerk` may issue for this licence now: it is of their
/// authority and eligible. A refusal is audited (committed) before it is returned.
pub fn admit(
    conn: &mut DbConn,
    clerk: &Clerk,
    number: &LicenceNumber,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), CounterError> {
    let verdict = conn.read_snapshot(|conn| {
        let stored = served(conn, clerk, number)?;
        eligible(&stored, today)
    });
    match verdict {
        Err(CounterError::Storage(e)) => Err(e.into()),
        Err(refusal) => {
            let detail = refusal.detail();
            refuse(
                conn,
                clerk,
                number,
                ISSUE,
                refusal.code(),
                detail.as_ref(),
                now,
            )?;
            Err(refusal)
        }
        Ok(()) => Ok(()),
    }
}

/// The photo for a counter issuance.
#[derive(Debug, Clone)]
pub enum CounterPhoto {
    /// The registry's photo on file (已留存照片), with the same pre-checks as the app path.
    OnFile,
    /// A photo taken at the counter: already through intake (normalised, every pre-check
    /// passed). The clerk's approval replaces remote review.
    Taken { jpeg: Vec<u8> },
}

#[derive(Debug, Clone)]
pub struct CounterIssued {
    pub e_licence: CurrentELicence,
    /// True when generated now; false when a counter photo went on the current one.
    pub created: bool,
    /// The holder's pending remote submission that the counter decided instead.
    pub superseded_submission: Option<String>,
}

/// Issues the e-licence on the holder's behalf, or, with a counter photo for a licence that
/// has one, changes its photo (its live codes end, new ones carry the new photo). A pending
/// remote submission is superseded; the holder is told; the clerk's action is audited: all in
/// one transaction.
pub fn issue(
    conn: &mut DbConn,
    clerk: &Clerk,
    number: &LicenceNumber,
    photo: &CounterPhoto,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<CounterIssued, CounterError> {
    // The photo on file is prepared (if it never was) outside the write transaction, as on
    // the app path; whether it may be used is decided inside, after the licence checks.
    let on_file = match photo {
        CounterPhoto::OnFile => Some(match issuance::usable_photo(conn, number) {
            Ok(jpeg) => Ok(jpeg),
            Err(IssueError::Storage(e)) => return Err(e.into()),
            // Not a refusal: prepared by the caller, who asks again (nothing is audited).
            Err(IssueError::PhotoNotPrepared) => return Err(CounterError::PhotoNotPrepared),
            Err(IssueError::LicenceNotFound) => Err(CounterError::LicenceNotFound),
            Err(IssueError::NotEligible(r)) => Err(CounterError::NotEligible(r)),
            Err(IssueError::PhotoRequired) => Err(CounterError::PhotoRequired),
            Err(IssueError::PhotoOnFileUnusable(c)) => Err(CounterError::PhotoOnFileUnusable(c)),
        }),
        CounterPhoto::Taken { .. } => None,
    };
    let attempt = |conn: &mut DbConn| {
        audited(conn, clerk, number, ISSUE, now, |conn| {
            issue_in_transaction(conn, clerk, number, photo, on_file.as_ref(), today, now)
        })
    };
    let issued = match attempt(conn) {
        // PostgreSQL: another clerk (or the app) created the e-licence between our check and
        // our insert, and the partial unique index refused ours. Once more, now seeing it.
        Err(CounterError::Storage(StorageError::Constraint(_))) => attempt(conn),
        other => other,
    };
    match &issued {
        Ok(i) if i.created => crate::telemetry::metrics::issued("counter"),
        Err(CounterError::PhotoNotPrepared | CounterError::Storage(_)) | Ok(_) => {}
        Err(refusal) => crate::telemetry::metrics::issuance_refused("counter", refusal.code()),
    }
    issued
}

fn issue_in_transaction(
    conn: &mut DbConn,
    clerk: &Clerk,
    number: &LicenceNumber,
    photo: &CounterPhoto,
    on_file: Option<&Result<Vec<u8>, CounterError>>,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Done<CounterIssued>, CounterError> {
    // Checked again under the write lock: the licence may have moved or been barred. Its row
    // locked first, before any row of its e-licences, as every writer of a licence's
    // e-licences does (issuance, review, registry events): writers that lock in one order
    // queue instead of deadlocking on PostgreSQL (a photo change used to update the current
    // e-licence unlocked while an issuance held the licence and waited on that e-licence).
    let stored = served_locked(conn, clerk, number)?;
    eligible(&stored, today)?;
    let existing = current(conn, number)?;
    let (e_licence, created, action) = match (photo, existing) {
        (CounterPhoto::OnFile, Some(_)) => return Err(CounterError::ELicenceExists),
        (CounterPhoto::OnFile, None) => {
            let jpeg = match on_file {
                Some(Ok(jpeg)) => jpeg,
                Some(Err(refusal)) => return Err(refusal.again()),
                None => return Err(CounterError::PhotoRequired),
            };
            let row = issuance::create_at_counter(
                conn,
                number,
                ELicencePhotoSource::OnFile,
                jpeg,
                &clerk.token_id,
                now,
            )?;
            (row, true, ISSUE)
        }
        (CounterPhoto::Taken { jpeg }, None) => {
            let row = issuance::create_at_counter(
                conn,
                number,
                ELicencePhotoSource::Counter,
                jpeg,
                &clerk.token_id,
                now,
            )?;
            (row, true, ISSUE)
        }
        (CounterPhoto::Taken { jpeg }, Some(current)) => {
            let sha256 = issuance::photo_digest(jpeg);
            e_licences::replace_photo(
                conn,
                &current.row.id,
                ELicencePhotoSource::Counter,
                jpeg,
                "image/jpeg",
                &sha256,
                now,
            )?;
            barcodes::expire_live(conn, &current.row.id, now)?;
            let row = e_licences::find(conn, &current.row.id)?
                .ok_or_else(|| StorageError::Corrupt(format!("{} vanished", current.row.id)))?;
            (row, false, PHOTO_CHANGE)
        }
    };
    let superseded_submission = submissions::supersede_pending(conn, number.as_str())?;
    // A new e-licence was announced (`e_licence_issued`, via counter) by `issuance::create`.
    if !created {
        let payload = json!({"e_licence_id": e_licence.id, "via": "counter"});
        notifications::push(conn, number.as_str(), "photo_changed", &payload, now)?;
    }
    let detail = json!({
        "e_licence_id": e_licence.id,
        "photo_source": e_licence.photo_source,
        "photo_sha256": e_licence.photo_sha256,
        "superseded_submission": superseded_submission,
    });
    Ok(Done {
        value: CounterIssued {
            e_licence: CurrentELicence::from(e_licence),
            created,
            superseded_submission,
        },
        action,
        detail,
    })
}
