//! Verification of scanned codes: roadside by police terminals (role `officer`), and for one
//! minimal purpose by partners (role `partner`: car-rental firms, insurers, employers), who
//! get the minimal answer only.

use crate::domain::purpose::Purpose;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::responses::photo_response;
use crate::http::state::AppState;
use crate::http::views::{
    reason_view, ChecksView, LicenceSummary, LiveEligibility, PartnerVerificationView,
    QualificationView, VerificationView, VerifyAnswer,
};
use crate::i18n::Lang;
use crate::service::verification::{Outcome, Scan, ScanReason, ScanRequest};
use crate::storage::e_licences;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use std::borrow::Cow;
use utoipa::openapi::schema::{AdditionalProperties, AnyOfBuilder, ObjectBuilder, Schema, Type};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// Exactly one of `code` (the scanned QR text) or `barcode` (the scanned digits).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub code: Option<String>,
    pub barcode: Option<String>,
}

fn checks(o: &Outcome) -> ChecksView {
    ChecksView {
        signature: o.signature.code(),
        expiry: o.expiry.code(),
        status: o.status.code(),
    }
}

/// The minimal answer: the qualification and a yes or no, never why.
fn to_partner_view(o: Outcome, purpose: Purpose) -> PartnerVerificationView {
    let licence = o
        .licence
        .as_ref()
        .filter(|_| o.speaks_for_the_licence_now());
    PartnerVerificationView {
        valid: o.valid,
        purpose,
        checks: checks(&o),
        holder: licence.map(|s| QualificationView::new(&s.licence)),
        valid_now: licence.and(o.live.as_ref()).map(|l| l.is_eligible()),
        code_expires_at: o.code_expires_at,
        reasons: codes(&o.partner_reasons()),
    }
}

fn to_view(o: Outcome, lang: Lang) -> VerificationView {
    VerificationView {
        valid: o.valid,
        checks: checks(&o),
        photo_url: o
            .e_licence_id
            .as_ref()
            .map(|id| format!("/api/v1/e-licences/{id}/photo")),
        e_licence_id: o.e_licence_id,
        licence: o.licence.as_ref().map(|s| LicenceSummary::new(&s.licence)),
        live_status: match (&o.live, &o.licence) {
            (Some(live), Some(stored)) => Some(LiveEligibility {
                eligible: live.is_eligible(),
                reasons: live
                    .reasons()
                    .iter()
                    .map(|r| reason_view(r, lang))
                    .collect(),
                synced_at: stored.synced_at,
            }),
            _ => None,
        },
        reasons: codes(&o.reasons),
    }
}

/// The reasons as the answer names them.
fn codes(reasons: &[ScanReason]) -> Vec<String> {
    reasons.iter().map(|r| r.code().to_owned()).collect()
}

/// Verify a scanned code online: signature (our keys only), expiry, purpose, and the
/// licence's live status. An invalid code is a normal answer (`valid: false` with reasons),
/// not an error. Every scan is audited before it is answered. Officers verify roadside codes
/// and get the whole licence; a partner token verifies the codes of its one purpose (rental,
/// insurance or employment) and gets the minimal answer (`PartnerVerificationView`). A code
/// or barcode made for another purpose is `purpose_mismatch`, and a barcode is not used up
/// by it.
#[utoipa::path(tag = "officer", operation_id = "verifyCode", security(("bearer" = [])),
    request_body = VerifyRequestDoc, responses(
    (status = 200, body = VerifyAnswerDoc, description = "VerificationView for an officer, PartnerVerificationView for a partner"),
    (status = 422, body = ErrorEnvelopeDoc, description = "`invalid_body`: neither or both of `code` and `barcode`"),
))]
#[post("/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    body: web::Json<VerifyRequest>,
) -> Result<web::Json<VerifyAnswer>, ApiError> {
    let scan = match body.into_inner() {
        VerifyRequest {
            code: Some(c),
            barcode: None,
        } => Scan::code(&c),
        VerifyRequest {
            code: None,
            barcode: Some(b),
        } => Scan::barcode(&b),
        _ => {
            return Err(ApiError::InvalidBody(
                "send exactly one of \"code\" and \"barcode\"".into(),
            ))
        }
    };
    // Verified in a batch with the scans that arrive beside it (service::verification_queue).
    let verified = state
        .verifications
        .verify(ScanRequest {
            token: token.0,
            scan,
        })
        .await?;
    Ok(web::Json(if verified.purpose.is_minimal() {
        VerifyAnswer::Partner(to_partner_view(verified.outcome, verified.purpose))
    } else {
        VerifyAnswer::Officer(to_view(verified.outcome, lang))
    }))
}

/// The photo of an e-licence, for the officer to compare with the driver.
#[utoipa::path(tag = "officer", operation_id = "getVerifiedPhoto", security(("bearer" = [])),
    params(("id" = String, Path, description = "E-licence id from a verification")),
    responses(
        (status = 200, content(("image/jpeg"), ("image/png")), description = "The photo"),
        (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`"),
    ))]
#[get("/e-licences/{id}/photo")]
pub async fn photo(
    state: web::Data<AppState>,
    token: BearerToken,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    let (bytes, media_type) = state
        .authorized(token, move |conn, p| {
            p.require(Role::Officer)?;
            e_licences::photo(conn, &id)?.ok_or(ApiError::ELicenceNotFound)
        })
        .await?;
    Ok(photo_response(bytes, media_type))
}

/// `VerifyRequest` as the document states it: exactly one of `code` and `barcode` is a
/// string (the other absent or null), which the derived schema cannot say.
pub struct VerifyRequestDoc;

impl utoipa::PartialSchema for VerifyRequestDoc {
    fn schema() -> RefOr<Schema> {
        let one = |present: &str, absent: &str, title: &str, description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .title(Some(title))
                .property(
                    present,
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .description(Some(description)),
                )
                .required(present)
                .property(absent, ObjectBuilder::new().schema_type(Type::Null))
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
        };
        // Exclusive as they stand (each has the other null or absent); `anyOf` because a
        // linter's `oneOf` heuristic asks every variant to require both fields.
        AnyOfBuilder::new()
            .description(Some("Exactly one of `code` and `barcode`."))
            .item(one(
                "code",
                "barcode",
                "ScannedCode",
                "The scanned QR text.",
            ))
            .item(one(
                "barcode",
                "code",
                "ScannedBarcode",
                "The scanned barcode digits.",
            ))
            .into()
    }
}

impl utoipa::ToSchema for VerifyRequestDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("VerifyRequest")
    }
}

/// `VerifyAnswer` as the document states it: an officer's answer or a partner's. `anyOf`,
/// not the derived `oneOf`: a partner's answer has every field an officer's requires.
pub struct VerifyAnswerDoc;

impl utoipa::PartialSchema for VerifyAnswerDoc {
    fn schema() -> RefOr<Schema> {
        AnyOfBuilder::new()
            .item(Ref::from_schema_name(VerificationView::name()))
            .item(Ref::from_schema_name(PartnerVerificationView::name()))
            .into()
    }
}

impl utoipa::ToSchema for VerifyAnswerDoc {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("VerifyAnswer")
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((VerificationView::name().into(), VerificationView::schema()));
        VerificationView::schemas(schemas);
        schemas.push((
            PartnerVerificationView::name().into(),
            PartnerVerificationView::schema(),
        ));
        PartnerVerificationView::schemas(schemas);
    }
}
