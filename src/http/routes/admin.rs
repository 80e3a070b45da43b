//! Registry administration: one record at a time (bulk loads go through `elicence import`).

use crate::domain::eligibility::evaluate;
use crate::domain::licence::LicenceNumber;
use crate::domain::record::{FieldError, RegistryRecord};
use crate::domain::role::Role;
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::licence_path::{LicencePath, NumberPath};
use crate::http::photo_work::on_photo_pool;
use crate::http::registry_views::AppliedEventView;
use crate::http::state::AppState;
use crate::http::views::{AdminLicenceView, EligibilityView};
use crate::i18n::Lang;
use crate::service::lifecycle::{self, Origin, Source};
use crate::storage::{licences, DbConn};
use actix_web::{get, put, web, HttpResponse};

fn admin_view(
    conn: &mut DbConn,
    number: &LicenceNumber,
    state: &AppState,
    lang: Lang,
) -> Result<AdminLicenceView, ApiError> {
    let stored = licences::find(conn, number)?.ok_or(ApiError::LicenceNotFound)?;
    let photo = licences::find_photo(conn, number)?;
    let today = state.clock.today();
    let eligibility = evaluate(&stored.licence, today);
    Ok(AdminLicenceView {
        record: RegistryRecord::from_licence(&stored.licence, photo.as_ref()),
        synced_at: stored.synced_at,
        eligibility: EligibilityView::new(&eligibility, lang, today, stored.synced_at),
    })
}

/// A record as stored, and the registry events its changes were recorded as.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PutLicenceView {
    #[serde(flatten)]
    pub licence: AdminLicenceView,
    /// What changed on a stored licence, as registry events with their effects (empty for a
    /// new licence or an unchanged record).
    pub events: Vec<AppliedEventView>,
}

/// Inserts or replaces one registry record (the same JSON as an `import` line). Replacing a
/// stored licence records what changed as registry events, with the same effects as
/// `POST /api/v1/admin/licences/{number}/events`.
#[utoipa::path(tag = "admin", operation_id = "putRegistryLicence", security(("bearer" = [])),
    params(NumberPath),
    request_body = RegistryRecord,
    responses(
        (status = 201, body = PutLicenceView, description = "Created"),
        (status = 200, body = PutLicenceView, description = "Replaced"),
        (status = 422, body = ErrorEnvelopeDoc, description = "`invalid_record`: every field the record breaks a rule with (`details`), the number in the body other than the path's included"),
    ))]
#[put("/licences/{number}")]
pub async fn put_licence(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    LicencePath(number): LicencePath,
    body: web::Json<RegistryRecord>,
) -> Result<HttpResponse, ApiError> {
    let record = body.into_inner();
    let mut valid = record.validate().map_err(ApiError::InvalidRecord)?;
    if valid.licence.number != number {
        return Err(ApiError::InvalidRecord(vec![FieldError {
            field: "number",
            code: "inconsistent",
            message: "the number in the body differs from the number in the path".into(),
        }]));
    }
    let now = state.clock.now();
    let app = state.get_ref().clone();
    if valid.photo.is_some() {
        // Made ready for an e-licence now, once, not on the issuance path: on the photo pool,
        // and only for an admin (decoding is work a stranger must not be able to cause). The
        // role is checked again with the write below, which is the authority.
        state
            .authorized_reads(token.clone(), |_, principal| {
                Ok(principal.require(Role::Admin)?)
            })
            .await?;
        valid = on_photo_pool(&state, move || {
            if let Some(photo) = valid.photo.as_mut() {
                photo.prepared = Some(crate::photo::prepare(&photo.bytes));
            }
            valid
        })
        .await?;
    }
    let (created, view) = state
        .authorized(token, move |conn, principal| {
            principal.require(Role::Admin)?;
            let origin = Origin {
                source: Source::AdminPut,
                actor: Some(&principal.token_id),
            };
            let (created, events) = lifecycle::upsert_record(conn, &valid, origin, now)?;
            tracing::info!(licence = %number.masked(), created, events = events.len(), "registry record upserted");
            Ok((
                created,
                PutLicenceView {
                    licence: admin_view(conn, &number, &app, lang)?,
                    events: events.into_iter().map(Into::into).collect(),
                },
            ))
        })
        .await?;
    Ok(if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    }
    .json(view))
}

/// One registry record with its live eligibility and when it was last synchronised.
#[utoipa::path(tag = "admin", operation_id = "getRegistryLicence", security(("bearer" = [])),
    params(NumberPath),
    responses(
        (status = 200, body = AdminLicenceView),
        (status = 404, body = ErrorEnvelopeDoc, description = "`licence_not_found`"),
    ))]
#[get("/licences/{number}")]
pub async fn get_licence(
    state: web::Data<AppState>,
    token: BearerToken,
    lang: Lang,
    LicencePath(number): LicencePath,
) -> Result<web::Json<AdminLicenceView>, ApiError> {
    let app = state.get_ref().clone();
    let view = state
        .authorized(token, move |conn, principal| {
            principal.require(Role::Admin)?;
            admin_view(conn, &number, &app, lang)
        })
        .await?;
    Ok(web::Json(view))
}
