//! What the API answers with: the licence as its two pages, its live status, and the admin
//! view of a registry record. Built from domain values; no logic beyond presentation.

use crate::domain::e_licence::{ELicencePhotoSource, ELicenceState};
use crate::domain::eligibility::{evaluate, Eligibility, Reason};
use crate::domain::licence::{Licence, POINTS_LIMIT};
use crate::domain::licence_class::LicenceClass;
use crate::domain::record::RegistryRecord;
use crate::domain::registry_event::RegistryEvent;
use crate::domain::registry_state::RegistryState;
use crate::i18n::Lang;
use crate::storage::licences::StoredLicence;
use crate::storage::registry_events::EventRow;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReasonView {
    /// Stable reason code, e.g. `expired`, `suspended`, `points_limit`.
    pub code: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EligibilityView {
    pub eligible: bool,
    /// Every reason that applies, not just the first.
    pub reasons: Vec<ReasonView>,
    /// The date (Asia/Shanghai) the rules were applied for.
    pub checked_on: NaiveDate,
    /// When this licence was last synchronised from the registry; the registry may lag.
    pub synced_at: DateTime<Utc>,
}

impl EligibilityView {
    pub fn new(
        e: &Eligibility,
        lang: Lang,
        checked_on: NaiveDate,
        synced_at: DateTime<Utc>,
    ) -> Self {
        EligibilityView {
            eligible: e.is_eligible(),
            reasons: e.reasons().iter().map(|r| reason_view(r, lang)).collect(),
            checked_on,
            synced_at,
        }
    }
}

pub fn reason_view(r: &Reason, lang: Lang) -> ReasonView {
    ReasonView {
        code: r.code(),
        message: r.message(lang),
    }
}

/// An automatic photo check that failed, by its code, in words.
pub fn precheck_view(code: &&'static str, lang: Lang) -> ReasonView {
    ReasonView {
        code,
        message: crate::domain::photo_rules::precheck_message(code, lang).to_owned(),
    }
}

/// 正页: the front page.
#[derive(Debug, Serialize, ToSchema)]
pub struct FrontPage {
    pub licence_number: String,
    pub name: String,
    /// "M" or "F".
    pub sex: &'static str,
    pub sex_name: &'static str,
    pub nationality: String,
    pub birth_date: NaiveDate,
    pub first_issued: NaiveDate,
    pub classes: Vec<&'static str>,
    pub valid_from: NaiveDate,
    /// `null` for long-term validity.
    pub valid_until: Option<NaiveDate>,
    /// "2018-03-05 至 2028-03-05" or "2018-03-05 至 长期" (English: "to", "long-term").
    pub validity: String,
    pub has_photo_on_file: bool,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PointsView {
    pub points: u8,
    pub limit: u8,
    pub cycle_start: NaiveDate,
    pub cycle_end: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClassExplanation {
    pub code: &'static str,
    pub name: &'static str,
    /// Every other class this one allows driving.
    pub also_covers: Vec<&'static str>,
}

/// One entry of the driving record (驾驶记录): the points changed, or a registry state was
/// set or cleared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct DrivingRecordEntry {
    /// The day the change reached us from the registry (Beijing time).
    pub date: NaiveDate,
    /// `points_changed`, `status_set` or `status_cleared`.
    pub kind: &'static str,
    /// The points of the scoring cycle after a `points_changed`.
    pub points: Option<u8>,
    /// The registry state code set or cleared (`suspended`, `detained`…).
    pub status: Option<&'static str>,
    pub message: String,
}

impl DrivingRecordEntry {
    /// The entry for a stored event, or `None` for one the record does not show (or cannot
    /// read: the record is informative, a bad row must not hide the page).
    pub fn new(row: &EventRow, lang: Lang) -> Option<DrivingRecordEntry> {
        use crate::i18n::driving_record as msg;
        let event: RegistryEvent = serde_json::from_str(&row.detail).ok()?;
        let (points, status, message) = match &event {
            RegistryEvent::PointsChanged {
                points,
                cycle_start,
            } => {
                let points = u8::try_from(*points).ok()?;
                let text = msg::points_changed(lang, points, POINTS_LIMIT, *cycle_start);
                (Some(points), None, text)
            }
            RegistryEvent::StatusSet { status } => {
                let s: RegistryState = status.parse().ok()?;
                (None, Some(s), msg::status_set(lang, s.name_zh(), s.code()))
            }
            RegistryEvent::StatusCleared { status } => {
                let s: RegistryState = status.parse().ok()?;
                (
                    None,
                    Some(s),
                    msg::status_cleared(lang, s.name_zh(), s.code()),
                )
            }
            _ => return None,
        };
        Some(DrivingRecordEntry {
            date: crate::clock::china_date(row.recorded_at.and_utc()),
            kind: event.kind(),
            points,
            status: status.map(RegistryState::code),
            message,
        })
    }
}

/// 副页: the secondary page.
#[derive(Debug, Serialize, ToSchema)]
pub struct SecondaryPage {
    pub address: String,
    pub issuing_authority: String,
    pub points: PointsView,
    /// 驾驶记录: the points changes and registry states set or cleared in the current scoring
    /// cycle, newest first, at most ten.
    pub driving_record: Vec<DrivingRecordEntry>,
    pub medical_due: Option<NaiveDate>,
    pub review_due: Option<NaiveDate>,
    /// 准驾车型代号规定 for the classes on this licence.
    pub class_explanations: Vec<ClassExplanation>,
    /// Every class this licence may drive: its own and those they cover.
    pub drivable_classes: Vec<&'static str>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RegistryStateView {
    pub code: &'static str,
    pub name: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiveStatus {
    pub eligible: bool,
    pub reasons: Vec<ReasonView>,
    /// The registry states on the licence as the registry sent them.
    pub registry_states: Vec<RegistryStateView>,
    pub checked_on: NaiveDate,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenceDocument {
    pub front_page: FrontPage,
    pub secondary_page: SecondaryPage,
    pub status: LiveStatus,
    /// When this licence was last synchronised from the registry.
    pub synced_at: DateTime<Utc>,
}

pub fn class_explanation(class: LicenceClass, lang: Lang) -> ClassExplanation {
    ClassExplanation {
        code: class.code(),
        name: lang.pick(class.name_zh(), class.name_en()),
        also_covers: LicenceClass::ALL
            .into_iter()
            .filter(|c| *c != class && class.covers(*c))
            .map(LicenceClass::code)
            .collect(),
    }
}

impl LicenceDocument {
    /// The stored licence as its two pages, with its live status on `today` and its driving
    /// record (`storage::registry_events::driving_record`).
    pub fn new(stored: &StoredLicence, record: &[EventRow], today: NaiveDate, lang: Lang) -> Self {
        let (l, has_photo, synced_at) = (&stored.licence, stored.has_photo, stored.synced_at);
        let e = &evaluate(l, today);
        let until = l.valid_until.map_or_else(
            || lang.pick("长期", "long-term").to_owned(),
            |d| d.to_string(),
        );
        LicenceDocument {
            front_page: FrontPage {
                licence_number: l.number.as_str().to_owned(),
                name: l.name.clone(),
                sex: l.sex.code(),
                sex_name: lang.pick(
                    l.sex.name_zh(),
                    if l.sex.code() == "M" {
                        "male"
                    } else {
                        "female"
                    },
                ),
                nationality: l.nationality.clone(),
                birth_date: l.birth_date,
                first_issued: l.first_issued,
                classes: l.classes.as_slice().iter().map(|c| c.code()).collect(),
                valid_from: l.valid_from,
                valid_until: l.valid_until,
                validity: format!("{} {} {until}", l.valid_from, lang.pick("至", "to")),
                has_photo_on_file: has_photo,
            },
            secondary_page: SecondaryPage {
                address: l.address.clone(),
                issuing_authority: l.issuing_authority.clone(),
                points: PointsView {
                    points: l.points,
                    limit: POINTS_LIMIT,
                    cycle_start: l.points_cycle_start,
                    cycle_end: l.points_cycle_end(),
                },
                driving_record: record
                    .iter()
                    .filter_map(|row| DrivingRecordEntry::new(row, lang))
                    .collect(),
                medical_due: l.medical_due,
                review_due: l.review_due,
                class_explanations: l
                    .classes
                    .as_slice()
                    .iter()
                    .map(|c| class_explanation(*c, lang))
                    .collect(),
                drivable_classes: l
                    .classes
                    .drivable()
                    .into_iter()
                    .map(LicenceClass::code)
                    .collect(),
            },
            status: LiveStatus {
                eligible: e.is_eligible(),
                reasons: e.reasons().iter().map(|r| reason_view(r, lang)).collect(),
                registry_states: l
                    .states
                    .iter()
                    .map(|s| RegistryStateView {
                        code: s.code(),
                        name: s.name_zh(),
                    })
                    .collect(),
                checked_on: today,
            },
            synced_at,
        }
    }
}

/// The admin view of one registry entry.
#[derive(Debug, Serialize, ToSchema)]
pub struct AdminLicenceView {
    pub record: RegistryRecord,
    pub synced_at: DateTime<Utc>,
    pub eligibility: EligibilityView,
}

/// The short-lived codes the app shows: QR text and barcode digits.
#[derive(Debug, Serialize, ToSchema)]
pub struct DisplayCodeView {
    /// The QR text (see docs/code-format.md): a compact JWS for `roadside`, `EL1:` and a
    /// Base45 COSE_Sign1 for a minimal purpose.
    pub code: String,
    /// Numeric one-time token for the Code 128 barcode; resolves online only, for a verifier
    /// of this purpose only.
    pub barcode: String,
    pub expires_at: DateTime<Utc>,
    /// What both were made for: roadside, rental, insurance or employment.
    pub purpose: crate::domain::purpose::Purpose,
}

impl From<crate::service::codes::DisplayCode> for DisplayCodeView {
    fn from(d: crate::service::codes::DisplayCode) -> Self {
        DisplayCodeView {
            code: d.code,
            barcode: d.barcode,
            expires_at: d.expires_at,
            purpose: d.purpose,
        }
    }
}

/// The e-licence: both pages, its generation time, the photo and a fresh display code.
#[derive(Debug, Serialize, ToSchema)]
pub struct ELicenceView {
    pub e_licence_id: String,
    pub state: ELicenceState,
    /// When the e-licence was generated (shown on the front page).
    pub generated_at: DateTime<Utc>,
    pub photo_url: String,
    pub photo_source: ELicencePhotoSource,
    #[serde(flatten)]
    pub document: LicenceDocument,
    pub display: DisplayCodeView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ChecksView {
    /// pass | fail | skipped | not_applicable
    pub signature: &'static str,
    pub expiry: &'static str,
    pub status: &'static str,
}

/// What an officer needs to match the person in front of them.
#[derive(Debug, Serialize, ToSchema)]
pub struct LicenceSummary {
    pub licence_number: String,
    pub name: String,
    pub sex: &'static str,
    pub birth_date: NaiveDate,
    pub classes: Vec<&'static str>,
    pub drivable_classes: Vec<&'static str>,
    pub valid_until: Option<NaiveDate>,
    pub issuing_authority: String,
    pub points: u8,
}

impl LicenceSummary {
    pub fn new(l: &Licence) -> Self {
        LicenceSummary {
            licence_number: l.number.as_str().to_owned(),
            name: l.name.clone(),
            sex: l.sex.code(),
            birth_date: l.birth_date,
            classes: l.classes.as_slice().iter().map(|c| c.code()).collect(),
            drivable_classes: l
                .classes
                .drivable()
                .into_iter()
                .map(LicenceClass::code)
                .collect(),
            valid_until: l.valid_until,
            issuing_authority: l.issuing_authority.clone(),
            points: l.points,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LiveEligibility {
    pub eligible: bool,
    pub reasons: Vec<ReasonView>,
    pub synced_at: DateTime<Utc>,
}

/// What a partner (rental, insurance, employment) learns from a scan: the qualification, never
/// the licence number, address, points, photo or why a licence may not drive.
#[derive(Debug, Serialize, ToSchema)]
pub struct PartnerVerificationView {
    pub valid: bool,
    /// The purpose the partner verifies for; codes made for any other are `purpose_mismatch`.
    pub purpose: crate::domain::purpose::Purpose,
    pub checks: ChecksView,
    /// Set when the code or barcode named a current holder.
    pub holder: Option<QualificationView>,
    /// Set with `holder`: may this licence drive now (the registry copy today)?
    pub valid_now: Option<bool>,
    /// When the scanned QR code, or the code a scanned barcode came with, expires; `null`
    /// when the scan named no code of this purpose (unknown, malformed, another purpose's,
    /// or a barcode used before).
    pub code_expires_at: Option<DateTime<Utc>>,
    /// Every reason the scan is invalid: about the code (`bad_signature`, `expired`,
    /// `purpose_mismatch`, `barcode_used`, …), and `not_valid_now` for the licence.
    pub reasons: Vec<String>,
}

/// The driving qualification, as a partner sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct QualificationView {
    pub name: String,
    pub classes: Vec<&'static str>,
    /// The classes these allow (a C1 licence drives C2, C3 and C4 vehicles too).
    pub drivable_classes: Vec<&'static str>,
    /// `null` is long-term (长期).
    pub valid_until: Option<NaiveDate>,
}

impl QualificationView {
    pub fn new(l: &Licence) -> Self {
        let summary = LicenceSummary::new(l);
        QualificationView {
            name: summary.name,
            classes: summary.classes,
            drivable_classes: summary.drivable_classes,
            valid_until: summary.valid_until,
        }
    }
}

/// The answer to a scan: an officer's, or a partner's minimal one.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum VerifyAnswer {
    Officer(VerificationView),
    Partner(PartnerVerificationView),
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VerificationView {
    pub valid: bool,
    pub checks: ChecksView,
    pub e_licence_id: Option<String>,
    pub licence: Option<LicenceSummary>,
    pub live_status: Option<LiveEligibility>,
    pub photo_url: Option<String>,
    /// Every reason the scan is invalid (signature, expiry, replay, live status).
    pub reasons: Vec<String>,
}
