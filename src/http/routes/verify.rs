//! Roadside verification by police terminals (role `officer`).

use super::e_licence::photo_response;
use crate::auth::Principal;
use crate::domain::role::Role;
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::state::AppState;
use crate::http::views::{
    reason_view, ChecksView, LicenceSummary, LiveEligibility, VerificationView,
};
use crate::i18n::Lang;
use crate::service::verification::{self, Outcome, Scan};
use crate::storage::{e_licences, DbConn};
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;

/// Exactly one of `code` (the scanned QR text) or `barcode` (the scanned digits).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    pub code: Option<String>,
    pub barcode: Option<String>,
}

fn to_view(o: Outcome, lang: Lang) -> VerificationView {
    VerificationView {
        valid: o.valid,
        checks: ChecksView {
            signature: o.signature.code(),
            expiry: o.expiry.code(),
            status: o.status.code(),
        },
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
        reasons: o.reasons,
    }
}

/// Verify a scanned code online: signature (our keys only), expiry, and the licence's live
/// status. An invalid code is a normal answer (`valid: false` with reasons), not an error.
/// Every scan is audited.
#[utoipa::path(tag = "officer", security(("bearer" = [])), request_body = VerifyRequest, responses(
    (status = 200, body = VerificationView),
    (status = 401, body = ErrorEnvelopeDoc), (status = 403, body = ErrorEnvelopeDoc),
    (status = 422, body = ErrorEnvelopeDoc, description = "neither or both of code and barcode"),
))]
#[post("/verify")]
pub async fn verify(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    body: web::Json<VerifyRequest>,
) -> Result<web::Json<VerificationView>, ApiError> {
    let scan = match body.into_inner() {
        VerifyRequest {
            code: Some(c),
            barcode: None,
        } => Scan::Code(c),
        VerifyRequest {
            code: None,
            barcode: Some(b),
        } => Scan::Barcode(b),
        _ => {
            return Err(ApiError::InvalidBody(
                "send exactly one of \"code\" and \"barcode\"".into(),
            ))
        }
    };
    let app = state.get_ref().clone();
    let reads_only = matches!(scan, Scan::Code(_));
    let work = move |conn: &mut DbConn, p: Principal| {
        p.require(Role::Officer)?;
        Ok(verification::verify(
            conn,
            &app.keys,
            &scan,
            &p,
            app.clock.today(),
            app.clock.now(),
        )?)
    };
    // A QR code scan only reads (its audit row is appended below); a barcode is redeemed.
    let verified = if reads_only {
        state.authorized_reads(token, work).await?
    } else {
        state.authorized(token, work).await?
    };
    // No answer leaves before the scan's audit row is committed.
    if let Some(row) = verified.unwritten_audit {
        state.audit.append(row).await?;
    }
    Ok(web::Json(to_view(verified.outcome, lang)))
}

/// The photo of an e-licence, for the officer to compare with the driver.
#[utoipa::path(tag = "officer", security(("bearer" = [])),
    params(("id" = String, Path, description = "E-licence id from a verification")),
    responses((status = 200, content_type = "image/jpeg", description = "The photo (JPEG or PNG)"), (status = 404, body = ErrorEnvelopeDoc)))]
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
