//! What the photo-review routes answer with: the queue as reviewers see it (the photo, the
//! pre-checks and the reference photo, never the holder's other data), the holder's view of
//! an application, and notifications.

use crate::domain::licence::LicenceNumber;
use crate::domain::photo_rules::RejectReason;
use crate::domain::registry_event::SupersedeReason;
use crate::domain::submission::{PhotoSource, SubmissionPurpose};
use crate::i18n::Lang;
use crate::storage::e_licences::ELicenceRow;
use crate::storage::notifications::NotificationRow;
use crate::storage::submissions::SubmissionRow;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct ClaimView {
    /// True when the caller holds the claim.
    pub mine: bool,
    pub until: DateTime<Utc>,
}

/// One automatic pre-check of a photo, as stored with the submission (`photo::PrecheckResult`).
#[derive(ToSchema)]
#[schema(as = Precheck)]
#[allow(dead_code)]
pub struct PrecheckDoc {
    /// The check, e.g. `background_white`.
    code: String,
    passed: bool,
    /// What was measured, and the threshold it was held to.
    measured: f32,
    threshold: f32,
}

/// One waiting photo as a reviewer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct QueueItem {
    pub id: String,
    pub purpose: SubmissionPurpose,
    pub source: PhotoSource,
    pub submitted_at: DateTime<Utc>,
    pub deadline: DateTime<Utc>,
    pub overdue: bool,
    /// The automatic pre-check results, one per check.
    #[schema(value_type = Vec<PrecheckDoc>)]
    pub prechecks: serde_json::Value,
    pub photo_url: String,
    /// The photo to compare with: the current e-licence's, or the one on file.
    pub reference_photo_url: String,
    /// Enough to recognise the file, nothing more: the masked licence number.
    pub licence: String,
    /// Set while a reviewer holds the item.
    pub claim: Option<ClaimView>,
}

impl QueueItem {
    pub fn new(row: SubmissionRow, reviewer: &str, now: DateTime<Utc>) -> Self {
        let claim = match (row.live_claim(now), row.claim_expires_at) {
            (Some(by), Some(until)) => Some(ClaimView {
                mine: by == reviewer,
                until: until.and_utc(),
            }),
            _ => None,
        };
        let licence = LicenceNumber::parse(&row.licence_number)
            .map(|n| n.masked())
            .unwrap_or_else(|_| "?".into());
        QueueItem {
            photo_url: format!("/api/v1/review/submissions/{}/photo", row.id),
            reference_photo_url: format!("/api/v1/review/submissions/{}/reference-photo", row.id),
            overdue: row.deadline.and_utc() < now,
            prechecks: serde_json::from_str(&row.prechecks).unwrap_or_default(),
            id: row.id,
            purpose: row.purpose,
            source: row.source,
            submitted_at: row.submitted_at.and_utc(),
            deadline: row.deadline.and_utc(),
            licence,
            claim,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuePage {
    /// Oldest deadline first.
    pub items: Vec<QueueItem>,
    /// Pass as `after` for the next page; null on the last one.
    pub next: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReviewerDecisions {
    pub reviewer_token_id: String,
    pub approved: i64,
    pub rejected: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStats {
    pub pending: i64,
    /// Pending past their deadline.
    pub overdue: i64,
    pub oldest_deadline: Option<DateTime<Utc>>,
    /// Decisions per reviewer since `since`.
    pub since: DateTime<Utc>,
    pub decisions: Vec<ReviewerDecisions>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ReasonCodeView {
    pub code: &'static str,
    pub message: &'static str,
}

impl ReasonCodeView {
    pub fn new(r: RejectReason, lang: Lang) -> Self {
        ReasonCodeView {
            code: r.code(),
            message: r.message(lang),
        }
    }
}

/// The holder's photo application: where it stands and, once decided, the outcome. After a
/// licence change ended the e-licence, `apply_again` with the reason (the submission fields
/// are then null): a new `POST /api/v1/me/e-licence` issues a fresh e-licence.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApplicationView {
    /// The submission's id; null for `apply_again`.
    pub id: Option<String>,
    pub purpose: Option<SubmissionPurpose>,
    pub source: Option<PhotoSource>,
    /// pending_review | approved | rejected | superseded | apply_again
    pub state: String,
    pub submitted_at: Option<DateTime<Utc>>,
    /// Reviewed within one working day: by this time.
    pub deadline: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    /// Why it was rejected.
    pub rejection: Option<ReasonCodeView>,
    pub note: Option<String>,
    /// The e-licence the approval generated or changed; for `apply_again`, the one that
    /// was superseded.
    pub e_licence_id: Option<String>,
    /// Set for `apply_again`: why the e-licence no longer stands.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub superseded: Option<SupersededView>,
}

/// Why an e-licence stopped standing.
#[derive(Debug, Serialize, ToSchema)]
pub struct SupersededView {
    /// class_changed | renewed | authority_changed
    pub reason: Option<&'static str>,
    pub message: String,
    pub superseded_at: Option<DateTime<Utc>>,
}

impl ApplicationView {
    /// The holder must apply again: `e` was superseded and no e-licence stands.
    pub fn apply_again(e: ELicenceRow, lang: Lang) -> Self {
        let reason = e.superseded_reason;
        ApplicationView {
            id: None,
            purpose: None,
            source: None,
            state: "apply_again".into(),
            submitted_at: None,
            deadline: None,
            decided_at: None,
            rejection: None,
            note: None,
            superseded: Some(SupersededView {
                reason: reason.map(SupersedeReason::code),
                message: reason.map_or_else(
                    || match lang {
                        Lang::Zh => "原电子驾驶证已失效，请重新申领电子驾驶证".to_owned(),
                        Lang::En => "the e-licence no longer stands: apply again".to_owned(),
                    },
                    |r| r.message(lang).to_owned(),
                ),
                superseded_at: e.superseded_at.map(|t| t.and_utc()),
            }),
            e_licence_id: Some(e.id),
        }
    }
}

impl ApplicationView {
    pub fn new(row: SubmissionRow, lang: Lang) -> Self {
        ApplicationView {
            rejection: row
                .decision_reason
                .as_deref()
                .and_then(|r| r.parse().ok())
                .map(|r| ReasonCodeView::new(r, lang)),
            note: row.decision_note,
            id: Some(row.id),
            purpose: Some(row.purpose),
            source: Some(row.source),
            state: row.state.code().to_owned(),
            submitted_at: Some(row.submitted_at.and_utc()),
            deadline: Some(row.deadline.and_utc()),
            decided_at: row.decided_at.map(|d| d.and_utc()),
            e_licence_id: row.e_licence_id,
            superseded: None,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationView {
    pub id: i64,
    /// photo_approved | photo_rejected | …
    pub kind: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl From<NotificationRow> for NotificationView {
    fn from(n: NotificationRow) -> Self {
        NotificationView {
            id: n.id,
            kind: n.kind,
            payload: serde_json::from_str(&n.payload).unwrap_or_default(),
            created_at: n.created_at.and_utc(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationPage {
    /// Newest first.
    pub items: Vec<NotificationView>,
    /// Pass as `before` for older ones; null when there are none.
    pub next: Option<i64>,
}
