//! Photo review (人工审核): a holder's photo waits in the queue until a reviewer decides it.
//! A submission is made only of a photo that passed intake (normalised, pre-checked); the
//! queue is worked oldest deadline first under leases; a decision is made exactly once, and
//! its effects (the e-licence generated or its photo replaced, the holder told) commit with it.

use crate::auth::Principal;
use crate::domain::eligibility::{evaluate, Reason};
use crate::domain::licence::LicenceNumber;
use crate::domain::photo_rules::RejectReason;
use crate::domain::submission::{PhotoSource, ReviewAction, SubmissionState};
use crate::storage::submissions::{self, Decision, NewSubmission, SubmissionRow};
use crate::storage::{barcodes, e_licences, licences, notifications, photos};
use crate::storage::{DbConn, StorageError};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};

/// How long a claim holds an item for one reviewer before it returns to the queue.
pub const DEFAULT_LEASE: Duration = Duration::minutes(10);

pub use crate::domain::submission::SubmissionPurpose as Purpose;

/// A photo that passed intake, ready to wait for review.
pub struct Intake<'a> {
    /// The normalised JPEG: the only form ever stored or served.
    pub jpeg: &'a [u8],
    /// The automatic pre-check results, as JSON, shown to the reviewer.
    pub prechecks_json: &'a str,
    pub source: PhotoSource,
    pub purpose: Purpose,
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("no such licence")]
    LicenceNotFound,
    #[error("the licence may not get an e-licence now")]
    NotEligible(Vec<Reason>),
    #[error("the licence has an e-licence already: change its photo instead")]
    ELicenceExists,
    #[error("the licence has no e-licence whose photo could change")]
    ELicenceNotFound,
    #[error("no such submission")]
    SubmissionNotFound,
    #[error("the submission is {0}, no longer waiting for review")]
    NotPending(SubmissionState),
    #[error("another reviewer holds this item until {0}")]
    ClaimedByOther(DateTime<Utc>),
    #[error("claim the item before deciding it (or the claim lapsed)")]
    ClaimRequired,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Queues the photo for review, superseding the holder's earlier pending submission.
///
/// The licence row is locked first (`FOR UPDATE` on PostgreSQL; SQLite's write transaction
/// holds the database lock already), so two uploads by one holder at once supersede one
/// after the other instead of both inserting a pending row and one of them tripping the
/// one-pending-per-licence index.
pub fn submit(
    conn: &mut DbConn,
    number: &LicenceNumber,
    intake: &Intake<'_>,
    today: NaiveDate,
    now: DateTime<Utc>,
    deadline: DateTime<Utc>,
) -> Result<SubmissionRow, ReviewError> {
    conn.write_transaction(|conn| {
        let stored =
            licences::find_for_update(conn, number)?.ok_or(ReviewError::LicenceNotFound)?;
        let verdict = evaluate(&stored.licence, today);
        if !verdict.is_eligible() {
            return Err(ReviewError::NotEligible(verdict.reasons().to_vec()));
        }
        let current = e_licences::current_for(conn, number.as_str())?;
        match (intake.purpose, &current) {
            (Purpose::FirstApplication, Some(_)) => return Err(ReviewError::ELicenceExists),
            (Purpose::PhotoChange, None) => return Err(ReviewError::ELicenceNotFound),
            _ => {}
        }
        let sha256 = super::issuance::photo_digest(intake.jpeg);
        photos::put(conn, &sha256, "image/jpeg", intake.jpeg, now)?;
        submissions::supersede_pending(conn, number.as_str())?;
        let id = super::random_id("ps_", 12);
        submissions::insert(
            conn,
            &NewSubmission {
                id: &id,
                licence_number: number.as_str(),
                purpose: intake.purpose,
                source: intake.source,
                photo_sha256: &sha256,
                prechecks: intake.prechecks_json,
                submitted_at: now,
                deadline,
            },
        )?;
        submissions::find(conn, &id)?
            .ok_or_else(|| StorageError::Corrupt(format!("{id} vanished")).into())
    })
}

/// The photo a reviewer compares a submission with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferencePhoto {
    /// Bytes and media type, ready to show.
    Ready(Vec<u8>, String),
    /// The registry's photo on file, never prepared: show it once the caller has normalised
    /// it (`crate::photo::prepare` on the photo pool), so that nothing of the registry's file
    /// but its pixels reaches the reviewer.
    OnFileUnprepared(Vec<u8>),
}

/// The photo a reviewer compares the submission with: the current e-licence's for a photo
/// change, else the normalised copy of the photo on file (prepared when the registry sent
/// it; for one that arrived before preparation existed, its bytes for the caller to
/// prepare). `None` when there is nothing to compare with, or the photo on file cannot be
/// read.
pub fn reference_photo(
    conn: &mut DbConn,
    submission: &SubmissionRow,
) -> Result<Option<ReferencePhoto>, ReviewError> {
    if let Some(e) = e_licences::current_for(conn, &submission.licence_number)? {
        return Ok(e_licences::photo(conn, &e.id)?.map(|(b, t)| ReferencePhoto::Ready(b, t)));
    }
    let number = LicenceNumber::parse(&submission.licence_number)
        .map_err(|_| StorageError::Corrupt(format!("submission {}: number", submission.id)))?;
    match licences::prepared_photo(conn, &number)? {
        None => Err(ReviewError::LicenceNotFound),
        Some((Some(sha256), _)) if !sha256.is_empty() => {
            Ok(photos::get(conn, &sha256)?.map(|(b, t)| ReferencePhoto::Ready(b, t)))
        }
        // Prepared and found unreadable: there is nothing fit to show.
        Some((Some(_), _)) => Ok(None),
        Some((None, _)) => Ok(licences::find_photo(conn, &number)?
            .map(|on_file| ReferencePhoto::OnFileUnprepared(on_file.bytes))),
    }
}

/// Why a conditional update on `id` changed nothing.
fn explain(
    conn: &mut DbConn,
    id: &str,
    reviewer: &str,
    now: DateTime<Utc>,
) -> Result<ReviewError, StorageError> {
    let Some(row) = submissions::find(conn, id)? else {
        return Ok(ReviewError::SubmissionNotFound);
    };
    if row.state != SubmissionState::PendingReview {
        return Ok(ReviewError::NotPending(row.state));
    }
    match (row.live_claim(now), row.claim_expires_at) {
        (Some(by), Some(until)) if by != reviewer => {
            Ok(ReviewError::ClaimedByOther(until.and_utc()))
        }
        (None, Some(_)) if row.claimed_by.as_deref() == Some(reviewer) => {
            crate::telemetry::metrics::review_lease_expired();
            Ok(ReviewError::ClaimRequired)
        }
        _ => Ok(ReviewError::ClaimRequired),
    }
}

/// Claims an item for `lease`; claiming one's own claim again renews it.
pub fn claim(
    conn: &mut DbConn,
    id: &str,
    reviewer: &Principal,
    now: DateTime<Utc>,
    lease: Duration,
) -> Result<SubmissionRow, ReviewError> {
    conn.write_transaction(|conn| {
        if !submissions::claim(conn, id, &reviewer.token_id, now, now + lease)? {
            return Err(explain(conn, id, &reviewer.token_id, now)?);
        }
        submissions::audit(
            conn,
            now,
            &reviewer.token_id,
            id,
            ReviewAction::Claim,
            None,
            None,
        )?;
        submissions::find(conn, id)?.ok_or(ReviewError::SubmissionNotFound)
    })
}

/// Gives one's claim back to the queue.
pub fn release(
    conn: &mut DbConn,
    id: &str,
    reviewer: &Principal,
    now: DateTime<Utc>,
) -> Result<(), ReviewError> {
    conn.write_transaction(|conn| {
        if !submissions::release(conn, id, &reviewer.token_id)? {
            return Err(explain(conn, id, &reviewer.token_id, now)?);
        }
        submissions::audit(
            conn,
            now,
            &reviewer.token_id,
            id,
            ReviewAction::Release,
            None,
            None,
        )?;
        Ok(())
    })
}

/// Gives back a claim whose request was never answered (the server stopped, or the client
/// went away, before the answer left): its reviewer does not know they hold the item, which
/// would otherwise wait out the lease. Only the lease that claim set, `until`, is released:
/// not one the reviewer renewed or decided since. Audited as `release_unfinished`. True
/// when it released one.
pub fn release_unfinished(
    conn: &mut DbConn,
    id: &str,
    reviewer_token_id: &str,
    until: NaiveDateTime,
    now: DateTime<Utc>,
) -> Result<bool, ReviewError> {
    conn.write_transaction(|conn| {
        if !submissions::release_lease(conn, id, reviewer_token_id, until, now)? {
            return Ok(false);
        }
        submissions::audit(
            conn,
            now,
            reviewer_token_id,
            id,
            ReviewAction::ReleaseUnfinished,
            None,
            None,
        )?;
        Ok(true)
    })
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject {
        reason: RejectReason,
        note: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Decided {
    pub submission: SubmissionRow,
    /// The e-licence generated or changed by an approval.
    pub e_licence_id: Option<String>,
    /// An approved photo of a licence that may no longer have an e-licence: the reasons.
    pub not_issued: Vec<Reason>,
    /// The approval generated a new e-licence (not a new photo on the current one).
    pub issued: bool,
}

/// Decides a claimed item, exactly once, with all its effects in the same transaction.
pub fn decide(
    conn: &mut DbConn,
    id: &str,
    reviewer: &Principal,
    verdict: &Verdict,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Decided, ReviewError> {
    let decided = decide_in_transaction(conn, id, reviewer, verdict, today, now)?;
    // Counted once committed: a rolled-back decision was never made.
    crate::telemetry::metrics::review_decided(match verdict {
        Verdict::Approve => "approved",
        Verdict::Reject { .. } => "rejected",
    });
    if decided.issued {
        crate::telemetry::metrics::issued("review_approval");
    }
    Ok(decided)
}

fn decide_in_transaction(
    conn: &mut DbConn,
    id: &str,
    reviewer: &Principal,
    verdict: &Verdict,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Decided, ReviewError> {
    conn.write_transaction(|conn| {
        let (state, action, reason, note) = match verdict {
            Verdict::Approve => (
                SubmissionState::Approved,
                ReviewAction::Approved,
                None,
                None,
            ),
            Verdict::Reject { reason, note } => (
                SubmissionState::Rejected,
                ReviewAction::Rejected,
                Some(reason.code()),
                note.as_deref(),
            ),
        };
        let decision = Decision {
            state,
            reason,
            note,
        };
        if !submissions::decide(conn, id, &reviewer.token_id, now, &decision)? {
            return Err(explain(conn, id, &reviewer.token_id, now)?);
        }
        submissions::audit(conn, now, &reviewer.token_id, id, action, reason, note)?;
        let submission = submissions::find(conn, id)?.ok_or(ReviewError::SubmissionNotFound)?;
        let mut decided = Decided {
            submission,
            e_licence_id: None,
            not_issued: Vec::new(),
            issued: false,
        };
        match verdict {
            Verdict::Approve => apply_approval(conn, &mut decided, today, now)?,
            Verdict::Reject { reason, note } => notifications::push(
                conn,
                &decided.submission.licence_number,
                "photo_rejected",
                &serde_json::json!({
                    "submission_id": id,
                    "reason": reason.code(),
                    "message_zh": reason.message_zh(),
                    "message_en": reason.message_en(),
                    "note": note,
                }),
                now,
            )?,
        }
        Ok(decided)
    })
}

/// Generates the e-licence with the approved photo, or puts the photo on the current one;
/// the holder is told either way.
fn apply_approval(
    conn: &mut DbConn,
    decided: &mut Decided,
    today: NaiveDate,
    now: DateTime<Utc>,
) -> Result<(), ReviewError> {
    let s = &decided.submission;
    let number = LicenceNumber::parse(&s.licence_number)
        .map_err(|_| StorageError::Corrupt(format!("submission {}: number", s.id)))?;
    let (photo, media_type) = photos::get(conn, &s.photo_sha256)?
        .ok_or_else(|| StorageError::Corrupt(format!("submission {}: photo", s.id)))?;
    let stored = licences::find(conn, &number)?.ok_or(ReviewError::LicenceNotFound)?;
    let verdict = evaluate(&stored.licence, today);
    let e_licence_id = if !verdict.is_eligible() {
        // The photo is good, but the licence was barred since it was submitted.
        decided.not_issued = verdict.reasons().to_vec();
        None
    } else if let Some(current) = e_licences::current_for(conn, number.as_str())? {
        e_licences::replace_photo(
            conn,
            &current.id,
            s.source.into(),
            &photo,
            &media_type,
            &s.photo_sha256,
            now,
        )?;
        barcodes::expire_live(conn, &current.id, now)?;
        Some(current.id)
    } else {
        // The licence's row locked before its e-licence is written, as every writer of a
        // licence's e-licences does.
        licences::find_for_update(conn, &number)?;
        let created = super::issuance::create(
            conn,
            &number,
            s.source.into(),
            &photo,
            &media_type,
            super::issuance::Channel::App,
            now,
        )?;
        decided.issued = true;
        Some(created.id)
    };
    if let Some(e) = &e_licence_id {
        submissions::set_e_licence(conn, &s.id, e)?;
    }
    notifications::push(
        conn,
        &s.licence_number,
        "photo_approved",
        &serde_json::json!({
            "submission_id": s.id,
            "purpose": s.purpose,
            "e_licence_id": e_licence_id,
            "not_issued_reasons": decided.not_issued.iter().map(|r| r.code()).collect::<Vec<_>>(),
        }),
        now,
    )?;
    decided.submission.e_licence_id = e_licence_id.clone();
    decided.e_licence_id = e_licence_id;
    Ok(())
}
