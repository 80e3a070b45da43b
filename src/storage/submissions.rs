//! Photo submissions and the review queue. The rules that make review fair and single are in
//! the SQL conditions themselves, so concurrent requests cannot get around them: at most one
//! pending submission per licence (a partial unique index), a claim only on an unclaimed or
//! lapsed item, a decision only by the holder of a live claim on a still-pending item.

use super::schema::{photo_submissions as ps, review_audit};
use super::{with_conn, DbConn, StorageError};
use crate::domain::submission::{PhotoSource, ReviewAction, SubmissionPurpose, SubmissionState};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

const PENDING: SubmissionState = SubmissionState::PendingReview;

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = ps)]
pub struct SubmissionRow {
    pub id: String,
    pub licence_number: String,
    pub purpose: SubmissionPurpose,
    pub source: PhotoSource,
    pub state: SubmissionState,
    pub photo_sha256: String,
    /// JSON array of the automatic pre-check results.
    pub prechecks: String,
    pub submitted_at: NaiveDateTime,
    pub deadline: NaiveDateTime,
    pub claimed_by: Option<String>,
    pub claim_expires_at: Option<NaiveDateTime>,
    pub decided_by: Option<String>,
    pub decided_at: Option<NaiveDateTime>,
    pub decision_reason: Option<String>,
    pub decision_note: Option<String>,
    pub e_licence_id: Option<String>,
}

impl SubmissionRow {
    /// The reviewer whose claim is live at `now`, if any.
    pub fn live_claim(&self, now: DateTime<Utc>) -> Option<&str> {
        match (&self.claimed_by, self.claim_expires_at) {
            (Some(by), Some(until)) if until > now.naive_utc() => Some(by),
            _ => None,
        }
    }
}

pub struct NewSubmission<'a> {
    pub id: &'a str,
    pub licence_number: &'a str,
    pub purpose: SubmissionPurpose,
    pub source: PhotoSource,
    pub photo_sha256: &'a str,
    pub prechecks: &'a str,
    pub submitted_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
}

/// Marks the licence's pending submission, if any, superseded; returns its id.
pub fn supersede_pending(
    conn: &mut DbConn,
    licence_number: &str,
) -> Result<Option<String>, StorageError> {
    let pending: Option<String> = with_conn!(conn, |c| ps::table
        .filter(ps::licence_number.eq(licence_number))
        .filter(ps::state.eq(PENDING))
        .select(ps::id)
        .first(c)
        .optional())?;
    if let Some(id) = &pending {
        with_conn!(conn, |c| diesel::update(ps::table.find(id))
            .filter(ps::state.eq(PENDING))
            .set(ps::state.eq(SubmissionState::Superseded))
            .execute(c))?;
    }
    Ok(pending)
}

pub fn insert(conn: &mut DbConn, s: &NewSubmission<'_>) -> Result<(), StorageError> {
    let values = (
        ps::id.eq(s.id),
        ps::licence_number.eq(s.licence_number),
        ps::purpose.eq(s.purpose),
        ps::source.eq(s.source),
        ps::state.eq(PENDING),
        ps::photo_sha256.eq(s.photo_sha256),
        ps::prechecks.eq(s.prechecks),
        ps::submitted_at.eq(s.submitted_at.naive_utc()),
        ps::deadline.eq(s.deadline.naive_utc()),
    );
    with_conn!(conn, |c| diesel::insert_into(ps::table)
        .values(values)
        .execute(c))?;
    Ok(())
}

pub fn find(conn: &mut DbConn, id: &str) -> Result<Option<SubmissionRow>, StorageError> {
    Ok(with_conn!(conn, |c| ps::table
        .find(id)
        .select(SubmissionRow::as_select())
        .get_result(c)
        .optional())?)
}

/// The holder's current submission: the pending one if there is one, else the newest. (Two
/// uploads in the same instant tie on `submitted_at`; the one that superseded the other is
/// the one still pending.)
pub fn latest_for(
    conn: &mut DbConn,
    licence_number: &str,
) -> Result<Option<SubmissionRow>, StorageError> {
    let pending = with_conn!(conn, |c| ps::table
        .filter(ps::licence_number.eq(licence_number))
        .filter(ps::state.eq(PENDING))
        .select(SubmissionRow::as_select())
        .first(c)
        .optional())?;
    if pending.is_some() {
        return Ok(pending);
    }
    Ok(with_conn!(conn, |c| ps::table
        .filter(ps::licence_number.eq(licence_number))
        .order((ps::submitted_at.desc(), ps::id.desc()))
        .select(SubmissionRow::as_select())
        .first(c)
        .optional())?)
}

/// Pending submissions, oldest deadline first, after the `(deadline, id)` key (keyset
/// paging over the partial index, so a page costs the same at any depth of the queue).
pub fn queue(
    conn: &mut DbConn,
    after: Option<(DateTime<Utc>, String)>,
    limit: i64,
) -> Result<Vec<SubmissionRow>, StorageError> {
    Ok(with_conn!(conn, |c| {
        let mut q = ps::table
            .filter(ps::state.eq(PENDING))
            .select(SubmissionRow::as_select())
            .into_boxed();
        if let Some((deadline, id)) = &after {
            let d = deadline.naive_utc();
            // `deadline >= d` lets the index seek straight to the cursor; the second term
            // skips the rows of that same deadline already shown.
            q = q
                .filter(ps::deadline.ge(d))
                .filter(ps::deadline.gt(d).or(ps::id.gt(id.clone())));
        }
        q.order((ps::deadline.asc(), ps::id.asc()))
            .limit(limit)
            .load(c)
    })?)
}

/// Takes (or renews) the lease on a pending item that nobody else holds at `now`. False when
/// it is not pending or another reviewer's lease is live.
pub fn claim(
    conn: &mut DbConn,
    id: &str,
    reviewer: &str,
    now: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let now = now.naive_utc();
    let n = with_conn!(conn, |c| diesel::update(ps::table.find(id))
        .filter(ps::state.eq(PENDING))
        .filter(
            ps::claimed_by
                .is_null()
                .or(ps::claim_expires_at.le(now))
                .or(ps::claimed_by.eq(reviewer))
        )
        .set((
            ps::claimed_by.eq(reviewer),
            ps::claim_expires_at.eq(until.naive_utc())
        ))
        .execute(c))?;
    Ok(n == 1)
}

/// Gives a claim back before its lease ends. False when `reviewer` held no claim on it.
pub fn release(conn: &mut DbConn, id: &str, reviewer: &str) -> Result<bool, StorageError> {
    let n = with_conn!(conn, |c| diesel::update(ps::table.find(id))
        .filter(ps::state.eq(PENDING))
        .filter(ps::claimed_by.eq(reviewer))
        .set((
            ps::claimed_by.eq(None::<String>),
            ps::claim_expires_at.eq(None::<NaiveDateTime>)
        ))
        .execute(c))?;
    Ok(n == 1)
}

/// Gives back the lease `reviewer` took with a claim that set it to run `until` (the value
/// the claim read back), if it still holds it and it has not lapsed at `now`. False when the
/// reviewer renewed, released or decided it since, or it lapsed.
pub fn release_lease(
    conn: &mut DbConn,
    id: &str,
    reviewer: &str,
    until: NaiveDateTime,
    now: DateTime<Utc>,
) -> Result<bool, StorageError> {
    let n = with_conn!(conn, |c| diesel::update(ps::table.find(id))
        .filter(ps::state.eq(PENDING))
        .filter(ps::claimed_by.eq(reviewer))
        .filter(ps::claim_expires_at.eq(until))
        .filter(ps::claim_expires_at.gt(now.naive_utc()))
        .set((
            ps::claimed_by.eq(None::<String>),
            ps::claim_expires_at.eq(None::<NaiveDateTime>)
        ))
        .execute(c))?;
    Ok(n == 1)
}

pub struct Decision<'a> {
    /// Approved or rejected.
    pub state: SubmissionState,
    pub reason: Option<&'a str>,
    pub note: Option<&'a str>,
}

/// Records the decision, once: only while the item is pending and `reviewer` holds a live
/// lease on it. False otherwise, and nothing changes.
pub fn decide(
    conn: &mut DbConn,
    id: &str,
    reviewer: &str,
    now: DateTime<Utc>,
    d: &Decision<'_>,
) -> Result<bool, StorageError> {
    let at = now.naive_utc();
    let n = with_conn!(conn, |c| diesel::update(ps::table.find(id))
        .filter(ps::state.eq(PENDING))
        .filter(ps::claimed_by.eq(reviewer))
        .filter(ps::claim_expires_at.gt(at))
        .set((
            ps::state.eq(d.state),
            ps::decided_by.eq(reviewer),
            ps::decided_at.eq(at),
            ps::decision_reason.eq(d.reason),
            ps::decision_note.eq(d.note),
        ))
        .execute(c))?;
    Ok(n == 1)
}

/// Links an approved submission to the e-licence it produced or changed.
pub fn set_e_licence(conn: &mut DbConn, id: &str, e_licence_id: &str) -> Result<(), StorageError> {
    with_conn!(conn, |c| diesel::update(ps::table.find(id))
        .set(ps::e_licence_id.eq(e_licence_id))
        .execute(c))?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCounts {
    pub pending: i64,
    pub overdue: i64,
    pub oldest_deadline: Option<NaiveDateTime>,
}

pub fn counts(conn: &mut DbConn, now: DateTime<Utc>) -> Result<QueueCounts, StorageError> {
    let now = now.naive_utc();
    let (pending, oldest): (i64, Option<NaiveDateTime>) = with_conn!(conn, |c| ps::table
        .filter(ps::state.eq(PENDING))
        .select((diesel::dsl::count_star(), diesel::dsl::min(ps::deadline)))
        .get_result(c))?;
    let overdue: i64 = with_conn!(conn, |c| ps::table
        .filter(ps::state.eq(PENDING))
        .filter(ps::deadline.lt(now))
        .count()
        .get_result(c))?;
    Ok(QueueCounts {
        pending,
        overdue,
        oldest_deadline: oldest,
    })
}

/// Pending submissions still marked claimed whose lease lapsed before `now` without a
/// decision (the reviewer went away): the metrics' lapsed leases.
pub fn lapsed_leases(conn: &mut DbConn, now: DateTime<Utc>) -> Result<i64, StorageError> {
    let now = now.naive_utc();
    Ok(with_conn!(conn, |c| ps::table
        .filter(ps::state.eq(PENDING))
        .filter(ps::claimed_by.is_not_null())
        .filter(ps::claim_expires_at.le(now))
        .count()
        .get_result(c))?)
}

/// (reviewer token id, decision state, count) for decisions made since `since`.
pub fn decisions_by_reviewer(
    conn: &mut DbConn,
    since: DateTime<Utc>,
) -> Result<Vec<(String, SubmissionState, i64)>, StorageError> {
    let rows: Vec<(Option<String>, SubmissionState, i64)> = with_conn!(conn, |c| ps::table
        .filter(ps::decided_at.ge(since.naive_utc()))
        .group_by((ps::decided_by, ps::state))
        .select((ps::decided_by, ps::state, diesel::dsl::count_star()))
        .order((ps::decided_by.asc(), ps::state.asc()))
        .load(c))?;
    Ok(rows
        .into_iter()
        .filter_map(|(by, state, n)| by.map(|b| (b, state, n)))
        .collect())
}

/// Appends one reviewer action to the append-only review audit.
pub fn audit(
    conn: &mut DbConn,
    at: DateTime<Utc>,
    reviewer_token_id: &str,
    submission_id: &str,
    action: ReviewAction,
    reason: Option<&str>,
    note: Option<&str>,
) -> Result<(), StorageError> {
    let values = (
        review_audit::at.eq(at.naive_utc()),
        review_audit::reviewer_token_id.eq(reviewer_token_id),
        review_audit::submission_id.eq(submission_id),
        review_audit::action.eq(action),
        review_audit::reason.eq(reason),
        review_audit::note.eq(note),
    );
    with_conn!(conn, |c| diesel::insert_into(review_audit::table)
        .values(values)
        .execute(c))?;
    Ok(())
}

#[derive(Debug, Clone, PartialEq, Eq, Queryable, Selectable)]
#[diesel(table_name = review_audit)]
pub struct ReviewAuditRow {
    pub id: i64,
    pub at: NaiveDateTime,
    pub reviewer_token_id: String,
    pub submission_id: String,
    pub action: ReviewAction,
    pub reason: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ReviewAuditFilter {
    pub reviewer_token_id: Option<String>,
    pub submission_id: Option<String>,
    pub action: Option<ReviewAction>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Rows with an id greater than this (keyset paging).
    pub after_id: Option<i64>,
    pub limit: i64,
}

/// The review audit, oldest first, from `after_id`, at most `limit` rows.
pub fn audit_page(
    conn: &mut DbConn,
    f: &ReviewAuditFilter,
) -> Result<Vec<ReviewAuditRow>, StorageError> {
    Ok(with_conn!(conn, |c| {
        let mut q = review_audit::table
            .select(ReviewAuditRow::as_select())
            .into_boxed();
        if let Some(r) = &f.reviewer_token_id {
            q = q.filter(review_audit::reviewer_token_id.eq(r.clone()));
        }
        if let Some(s) = &f.submission_id {
            q = q.filter(review_audit::submission_id.eq(s.clone()));
        }
        if let Some(a) = f.action {
            q = q.filter(review_audit::action.eq(a));
        }
        if let Some(from) = f.from {
            q = q.filter(review_audit::at.ge(from.naive_utc()));
        }
        if let Some(to) = f.to {
            q = q.filter(review_audit::at.lt(to.naive_utc()));
        }
        if let Some(after) = f.after_id {
            q = q.filter(review_audit::id.gt(after));
        }
        q.order(review_audit::id.asc()).limit(f.limit).load(c)
    })?)
}
