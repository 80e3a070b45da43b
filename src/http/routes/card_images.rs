//! The e-licence as card images for the app: the front page (with the photo and the code the
//! app shows) and the secondary page. Both are cached in the render cache: the front page by
//! the QR text of its code, so a new code is a new image and a change to the licence shows
//! with the next code (within one code lifetime); the secondary page by a digest of all it
//! shows, so points or a status change render anew at once.

use crate::http::code_display::{current_display, render_blocking};
use crate::http::error::{ApiError, ErrorEnvelopeDoc};
use crate::http::extract::BearerToken;
use crate::http::state::AppState;
use crate::http::views::LicenceDocument;
use crate::i18n::Lang;
use crate::render::cache::ImageKind;
use crate::render::card::{self, ClassLine, FrontCard, RecordLine, SecondaryCard};
use crate::service::codes::DisplayCode;
use crate::service::current_e_licence;
use crate::storage::e_licences::{self, ELicenceRow};
use crate::storage::registry_events;
use actix_web::http::header;
use actix_web::{get, web, HttpResponse, HttpResponseBuilder};
use std::sync::Arc;

/// ISO 3166 alpha-3 as the registry sends it; China's in Chinese, others as the code.
fn nationality(code: &str) -> String {
    match code {
        "CHN" => "中国".to_owned(),
        other => other.to_owned(),
    }
}

fn front_card(
    e: &ELicenceRow,
    doc: LicenceDocument,
    photo: Option<Vec<u8>>,
    code: DisplayCode,
) -> FrontCard {
    let f = doc.front_page;
    FrontCard {
        nationality: nationality(&f.nationality),
        licence_number: f.licence_number,
        name: f.name,
        sex: f.sex_name.to_owned(),
        birth_date: f.birth_date,
        first_issued: f.first_issued,
        classes: f.classes.iter().map(|c| (*c).to_owned()).collect(),
        validity: f.validity,
        photo,
        code: code.code,
        barcode: code.barcode,
        generated_at: e.generated_at_utc(),
    }
}

fn secondary_card(doc: LicenceDocument) -> SecondaryCard {
    let (f, s) = (doc.front_page, doc.secondary_page);
    let codes = |list: &[&str]| list.iter().map(|c| (*c).to_owned()).collect();
    SecondaryCard {
        licence_number: f.licence_number,
        name: f.name,
        address: s.address,
        issuing_authority: s.issuing_authority,
        states: doc
            .status
            .registry_states
            .iter()
            .map(|r| r.name.to_owned())
            .collect(),
        points: s.points.points,
        points_limit: s.points.limit,
        cycle_start: s.points.cycle_start,
        cycle_end: s.points.cycle_end,
        record: s
            .driving_record
            .into_iter()
            .map(|r| RecordLine {
                date: r.date,
                text: r.message,
            })
            .collect(),
        medical_due: s.medical_due,
        review_due: s.review_due,
        classes: s
            .class_explanations
            .iter()
            .map(|c| ClassLine {
                code: c.code.to_owned(),
                name: c.name.to_owned(),
                also_covers: codes(&c.also_covers),
            })
            .collect(),
    }
}

fn png() -> HttpResponseBuilder {
    let mut res = HttpResponse::Ok();
    res.insert_header((header::CONTENT_TYPE, "image/png"))
        // Personal data, and the front changes with every code.
        .insert_header((header::CACHE_CONTROL, "private, no-store"));
    res
}

enum Front {
    Cached(Arc<Vec<u8>>),
    Render(Box<FrontCard>),
}

/// The front page (正页) as a card image, 1000×1450: photo, particulars, the QR code and
/// barcode of the current display code, and when the e-licence was generated.
#[utoipa::path(tag = "holder", operation_id = "getMyCardFront", security(("bearer" = [])), responses(
    (status = 200, content_type = "image/png", description = "Front card", headers(("x-code-expires-at" = String, description = "When the code shown expires (RFC 3339)"))),
    (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`: none was ever issued"),
    (status = 410, body = ErrorEnvelopeDoc, description = "`e_licence_superseded`: a licence change ended it; apply again (`details`)"),
))]
#[get("/me/e-licence/card.png")]
pub async fn card_png(
    state: web::Data<AppState>,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let app = state.get_ref().clone();
    let (expires_at, front) = state
        .authorized(token, move |conn, p| {
            let (e, stored, code) = current_display(conn, &app, &p)?;
            let expires_at = code.expires_at;
            if let Some(hit) = app.renders.get(ImageKind::CardFront, &code.code) {
                return Ok((expires_at, Front::Cached(hit)));
            }
            // Only a code not rendered yet needs the photo read.
            let photo = e_licences::photo(conn, &e.id)?.map(|(bytes, _)| bytes);
            // The front page shows no driving record.
            let doc = LicenceDocument::new(&stored, &[], app.clock.today(), Lang::Zh);
            let card = front_card(&e, doc, photo, code);
            Ok((expires_at, Front::Render(Box::new(card))))
        })
        .await?;
    let bytes = match front {
        Front::Cached(hit) => hit,
        Front::Render(card) => {
            let cache = state.renders.clone();
            render_blocking(move || {
                cache.get_or_render(ImageKind::CardFront, &card.code, || {
                    card::render_front(&card)
                })
            })
            .await?
        }
    };
    Ok(png()
        .insert_header(("x-code-expires-at", expires_at.to_rfc3339()))
        .body(bytes.as_ref().clone()))
}

/// The secondary page (副页) as a card image, 1000 px wide: address, issuing authority,
/// status, points in the current cycle, due dates, and the class-code explanations.
#[utoipa::path(tag = "holder", operation_id = "getMyCardSecondary", security(("bearer" = [])), responses(
    (status = 200, content_type = "image/png", description = "Secondary card"),
    (status = 404, body = ErrorEnvelopeDoc, description = "`e_licence_not_found`: none was ever issued"),
    (status = 410, body = ErrorEnvelopeDoc, description = "`e_licence_superseded`: a licence change ended it; apply again (`details`)"),
))]
#[get("/me/e-licence/card-secondary.png")]
pub async fn card_secondary_png(
    state: web::Data<AppState>,
    token: BearerToken,
) -> Result<HttpResponse, ApiError> {
    let app = state.get_ref().clone();
    let card = state
        .authorized(token, move |conn, p| {
            let (_, stored) = current_e_licence::with_licence(conn, p.holder_licence()?)?;
            let record = registry_events::driving_record(conn, &stored.licence)?;
            let doc = LicenceDocument::new(&stored, &record, app.clock.today(), Lang::Zh);
            Ok(secondary_card(doc))
        })
        .await?;
    let cache = state.renders.clone();
    let bytes = render_blocking(move || {
        cache.get_or_render(ImageKind::CardSecondary, &card.cache_key(), || {
            card::render_secondary(&card)
        })
    })
    .await?;
    Ok(png().body(bytes.as_ref().clone()))
}
