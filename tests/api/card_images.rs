use crate::helpers::{
    error_code, issue_e_licence, record_with_photo, scan, spawn_app, Backend, NUMBER,
};
use crate::images::read_code;
use elicence::domain::role::Role;
use elicence::render::card::{max_secondary_height, FRONT_HEIGHT, RECORD_LINES, WIDTH};
use rxing::BarcodeFormat;
use serde_json::json;

const CARD: &str = "/api/v1/me/e-licence/card.png";
const SECONDARY: &str = "/api/v1/me/e-licence/card-secondary.png";

/// The card's PNG bytes and its (width, height), checking the response is a private PNG.
async fn card(res: reqwest::Response) -> (Vec<u8>, (u32, u32)) {
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/png");
    assert_eq!(res.headers()["cache-control"], "private, no-store");
    let png = res.bytes().await.unwrap().to_vec();
    let img = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
        .expect("a PNG")
        .to_rgb8();
    (png, img.dimensions())
}

/// The front card shows the code the app shows: its QR code and barcode, read back out of
/// the card image, are the display code the holder was given, and they verify.
async fn the_front_card_carries_the_current_display_code(backend: Backend) {
    let app = spawn_app(backend).await;
    let res = app.get(CARD, None).await;
    assert_eq!(error_code(res, 401).await.0, "unauthenticated");

    let holder = app.holder(&record_with_photo(NUMBER));
    for path in [CARD, SECONDARY] {
        let res = app.get(path, Some(&holder)).await;
        assert_eq!(
            error_code(res, 404).await.0,
            "e_licence_not_found",
            "{path}"
        );
    }
    let (code, barcode) = issue_e_licence(&app, &holder).await;

    let res = app.get(CARD, Some(&holder)).await;
    assert_eq!(
        res.headers()["x-code-expires-at"],
        "2026-11-22T04:03:00+00:00"
    );
    let (png, size) = card(res).await;
    assert_eq!(size, (WIDTH, FRONT_HEIGHT));
    assert_eq!(read_code(&png, BarcodeFormat::QR_CODE), code);
    assert_eq!(read_code(&png, BarcodeFormat::CODE_128), barcode);
    let (again, _) = card(app.get(CARD, Some(&holder)).await).await;
    assert_eq!(again, png, "the same code, the same image");

    // An officer scans the barcode read off the card: it is the holder's live licence.
    let officer = app.token(Role::Officer, None);
    let v = scan(&app, &officer, json!({"barcode": barcode})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_eq!(v["licence"]["licence_number"], NUMBER);

    // A scanned barcode is spent: the card moves on to a fresh code, the one qr.png shows.
    let (png, _) = card(app.get(CARD, Some(&holder)).await).await;
    let fresh = read_code(&png, BarcodeFormat::QR_CODE);
    assert_ne!(fresh, code);
    let qr = app
        .get("/api/v1/me/e-licence/qr.png", Some(&holder))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(read_code(&qr, BarcodeFormat::QR_CODE), fresh);
    let v = scan(&app, &officer, json!({"code": fresh})).await;
    assert_eq!(v["valid"], true, "{v}");
    assert_ne!(read_code(&png, BarcodeFormat::CODE_128), barcode);
}

/// The secondary card is rendered from the live licence: new points, a new image.
async fn the_secondary_card_follows_the_licence(backend: Backend) {
    let app = spawn_app(backend).await;
    let mut record = record_with_photo(NUMBER);
    let holder = app.holder(&record);
    issue_e_licence(&app, &holder).await;
    let (first, (width, height)) = card(app.get(SECONDARY, Some(&holder)).await).await;
    assert_eq!(width, WIDTH);
    assert!(height > 900, "{height}");
    let (same, _) = card(app.get(SECONDARY, Some(&holder)).await).await;
    assert_eq!(same, first);

    record["points"] = json!(3);
    app.seed(&record);
    let (after, (_, same_height)) = card(app.get(SECONDARY, Some(&holder)).await).await;
    assert_ne!(after, first, "the points changed, so did the card");
    assert_eq!(
        same_height, height,
        "seeded straight into the table: no event, no record"
    );

    // Each points event is a line of the driving record under the points, up to
    // RECORD_LINES; then one line counts the rest, and the card stays within its bounds.
    let admin = app.token(Role::Admin, None);
    let events = format!("/api/v1/admin/licences/{NUMBER}/events");
    let mut heights = vec![height];
    for points in 4..=13 {
        let event = json!({"type": "points_changed", "points": points});
        assert_eq!(app.post_json(&events, &admin, &event).await.status(), 200);
        let (_, (w, h)) = card(app.get(SECONDARY, Some(&holder)).await).await;
        assert_eq!(w, WIDTH);
        assert!(
            h < max_secondary_height(2),
            "{h}: C1 and D, nothing cut off"
        );
        heights.push(h);
    }
    assert!(
        heights[..=RECORD_LINES].windows(2).all(|w| w[1] > w[0]),
        "{heights:?}"
    );
    let counted = &heights[RECORD_LINES + 1..];
    assert!(
        counted.iter().all(|h| *h == counted[0]),
        "past {RECORD_LINES} entries the card stops growing: {heights:?}"
    );

    let other = app.token(Role::Officer, None);
    let res = app.get(SECONDARY, Some(&other)).await;
    assert_eq!(error_code(res, 403).await.0, "forbidden");
}

crate::both_backends!(
    the_front_card_carries_the_current_display_code,
    the_secondary_card_follows_the_licence,
);
