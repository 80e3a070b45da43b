//! The intake of an uploaded photo, shared by the app's upload routes and the counter: the
//! checks before the body is read, the streamed read, decoding on the photo pool under the
//! limits, normalising and pre-checks, and queueing for review.

use crate::domain::eligibility::evaluate;
use crate::http::error::ApiError;
use crate::http::extract::BearerToken;
use crate::http::photo_work::on_photo_pool;
use crate::http::review_views::ApplicationView;
use crate::http::state::AppState;
use crate::http::upload::{read_photo_upload, PhotoUpload};
use crate::i18n::Lang;
use crate::photo::{IntakeLimits, Normalised};
use crate::service::photo_review::{self, Intake, Purpose};
use crate::storage::{e_licences, licences};
use actix_web::{web, HttpRequest, HttpResponse};

fn failed_checks(n: &Normalised) -> Vec<&'static str> {
    n.checks
        .iter()
        .filter(|c| !c.passed)
        .map(|c| c.code)
        .collect()
}

/// The intake of an uploaded photo, app or counter alike: decoded under the limits, normalised
/// and pre-checked; refused (with every failed check) unless all pass.
pub async fn intake(state: &AppState, photo: Vec<u8>) -> Result<Normalised, ApiError> {
    // Decoding and re-encoding is CPU work of milliseconds (a second for a hostile file): on
    // the photo pool, away from the async executor and from the database's blocking pool.
    let normalised = on_photo_pool(state, move || {
        crate::photo::normalise(&photo, &IntakeLimits::default())
    })
    .await??;
    let failed = failed_checks(&normalised);
    if !failed.is_empty() {
        return Err(ApiError::PhotoRejected(failed));
    }
    Ok(normalised)
}

/// Checks what can be checked before the upload is read: the caller is a holder whose
/// licence may apply now, and has (or has not) an e-licence as `purpose` needs.
async fn precondition(
    state: &web::Data<AppState>,
    token: BearerToken,
    purpose: Purpose,
) -> Result<crate::domain::licence::LicenceNumber, ApiError> {
    let today = state.clock.today();
    state
        .authorized_reads(token, move |conn, p| {
            let number = p.holder_licence()?.clone();
            let stored = licences::find(conn, &number)?.ok_or(ApiError::LicenceNotFound)?;
            let verdict = evaluate(&stored.licence, today);
            if !verdict.is_eligible() {
                return Err(ApiError::NotEligible(verdict.reasons().to_vec()));
            }
            match (purpose, e_licences::current_for(conn, number.as_str())?) {
                (Purpose::FirstApplication, Some(_)) => Err(ApiError::ELicenceExists),
                (Purpose::PhotoChange, None) => Err(ApiError::ELicenceNotFound),
                _ => Ok(number),
            }
        })
        .await
}

/// Reads, normalises, pre-checks and queues an uploaded photo: 202 with the application.
pub async fn submit_upload(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    req: HttpRequest,
    payload: web::Payload,
    purpose: Purpose,
) -> Result<HttpResponse, ApiError> {
    let secret = token.0.clone();
    let number = precondition(&state, token, purpose).await?;
    // Counted before the body is read: every upload costs, whatever becomes of it.
    state.uploads.check(&secret)?;
    let PhotoUpload { source, photo } = read_photo_upload(&req, payload).await?;
    let normalised = intake(&state, photo).await?;
    let prechecks =
        serde_json::to_string(&normalised.checks).map_err(|e| ApiError::Internal(e.to_string()))?;
    let (today, now) = (state.clock.today(), state.clock.now());
    let deadline = state.calendar.deadline(now, 1);
    let row = state
        .db
        .run(move |conn| {
            photo_review::submit(
                conn,
                &number,
                &Intake {
                    jpeg: &normalised.jpeg,
                    prechecks_json: &prechecks,
                    source,
                    purpose,
                },
                today,
                now,
                deadline,
            )
            .map_err(ApiError::from)
        })
        .await?;
    tracing::info!(submission = %row.id, purpose = purpose.code(), "photo queued for review");
    Ok(HttpResponse::Accepted().json(ApplicationView::new(row, lang)))
}
