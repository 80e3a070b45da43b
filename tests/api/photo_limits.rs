//! One holder must not slow everyone down (issue 11, point 3): photo uploads are limited per
//! token (429 with Retry-After, on the injected clock), and photo work runs on a bounded pool
//! of its own that refuses at once when full (503 busy with Retry-After).

use crate::helpers::{
    clerk_token, error_code, record, record_with_photo, spawn_app_with_settings, test_now, Backend,
    TestApp, TestDb, NUMBER, OTHER_NUMBER,
};
use crate::images;
use std::sync::mpsc;

const APPLY: &str = "/api/v1/me/e-licence";
const BEIJING: &str = "北京市公安局公安交通管理局";

async fn upload(app: &TestApp, token: &str) -> reqwest::Response {
    app.upload_photo(APPLY, token, Some("camera"), images::good_jpeg(), "me.jpg")
        .await
}

async fn counter_upload(app: &TestApp, number: &str, clerk: &str) -> reqwest::Response {
    let path = format!("/api/v1/counter/licences/{number}/e-licence");
    app.upload_photo(&path, clerk, None, images::good_jpeg(), "counter.jpg")
        .await
}

/// One photo thread and no queue.
fn one_photo_thread(settings: &mut elicence::config::Settings) {
    settings.limits.photo_threads = Some(1);
    settings.limits.photo_queue = 0;
}

/// Takes the photo pool's one place until the sender is used; the job ends after that.
fn hold_the_photo_thread(
    app: &TestApp,
) -> (
    mpsc::Sender<()>,
    elicence::photo::pool::PhotoJob<Result<(), mpsc::RecvError>>,
) {
    let (release, hold) = mpsc::channel::<()>();
    let held = app
        .state
        .photos
        .submit(move || hold.recv())
        .expect("the pool is free");
    assert_eq!(app.state.photos.free_places(), 0);
    (release, held)
}

fn retry_after(res: &reqwest::Response) -> String {
    res.headers()["retry-after"].to_str().unwrap().to_owned()
}

/// The serve defaults: 6 uploads a minute, 6 at once.
fn six_a_minute(settings: &mut elicence::config::Settings) {
    let defaults = elicence::config::Limits::default();
    settings.limits.uploads_per_minute = defaults.uploads_per_minute;
    settings.limits.upload_burst = defaults.upload_burst;
}

async fn the_seventh_upload_in_a_minute_is_rate_limited(backend: Backend) {
    let app = spawn_app_with_settings(TestDb::new(backend), six_a_minute).await;
    let holder = app.holder(&record(NUMBER));
    for n in 1..=6 {
        assert_eq!(upload(&app, &holder).await.status(), 202, "upload {n}");
    }
    let res = upload(&app, &holder).await;
    assert_eq!(retry_after(&res), "10", "one upload every 10 s");
    assert_eq!(error_code(res, 429).await.0, "rate_limited");
    // Another holder has a budget of their own.
    let other = app.holder(&record(OTHER_NUMBER));
    assert_eq!(upload(&app, &other).await.status(), 202);
    // Nine seconds on, one more to wait; ten on, the next upload is taken.
    app.clock.set(test_now() + chrono::Duration::seconds(9));
    let res = upload(&app, &holder).await;
    assert_eq!(retry_after(&res), "1");
    assert_eq!(res.status(), 429);
    app.clock.set(test_now() + chrono::Duration::seconds(10));
    assert_eq!(upload(&app, &holder).await.status(), 202);
}

/// The same budget for a clerk's counter photos; issuing with the photo on file is not an
/// upload and is not counted.
async fn counter_photos_are_rate_limited_per_clerk(backend: Backend) {
    let app = spawn_app_with_settings(TestDb::new(backend), six_a_minute).await;
    app.seed(&record(NUMBER));
    app.seed(&record_with_photo(OTHER_NUMBER));
    let (_, clerk) = clerk_token(&app, BEIJING);
    assert_eq!(counter_upload(&app, NUMBER, &clerk).await.status(), 201);
    for n in 2..=6 {
        let res = counter_upload(&app, NUMBER, &clerk).await;
        assert_eq!(res.status(), 200, "counter photo {n}: a photo change");
    }
    let res = counter_upload(&app, NUMBER, &clerk).await;
    assert_eq!(retry_after(&res), "10");
    assert_eq!(error_code(res, 429).await.0, "rate_limited");
    let res = app
        .post_json(
            &format!("/api/v1/counter/licences/{OTHER_NUMBER}/e-licence"),
            &clerk,
            &serde_json::json!({"photo": "on_file"}),
        )
        .await;
    assert_eq!(res.status(), 201, "on-file issuance is not an upload");
}

/// One photo thread, no queue, and the thread held by the test: uploads are refused at once
/// with 503 busy, app and counter alike, and taken again once the thread is free.
async fn a_full_photo_pool_answers_busy_at_once(backend: Backend) {
    let app = spawn_app_with_settings(TestDb::new(backend), one_photo_thread).await;
    let holder = app.holder(&record(NUMBER));
    app.seed(&record(OTHER_NUMBER));
    let (_, clerk) = clerk_token(&app, BEIJING);
    let (release, held) = hold_the_photo_thread(&app);

    let res = upload(&app, &holder).await;
    assert_eq!(retry_after(&res), "1");
    assert_eq!(error_code(res, 503).await.0, "busy");
    let res = counter_upload(&app, OTHER_NUMBER, &clerk).await;
    assert_eq!(retry_after(&res), "1");
    assert_eq!(error_code(res, 503).await.0, "busy");
    // Reads never wait for the photo pool.
    let res = app.get("/api/v1/me/eligibility", Some(&holder)).await;
    assert_eq!(res.status(), 200);

    release.send(()).unwrap();
    held.await.unwrap().unwrap();
    assert_eq!(upload(&app, &holder).await.status(), 202);
    assert_eq!(
        counter_upload(&app, OTHER_NUMBER, &clerk).await.status(),
        201
    );
}

/// A photo on file that was never prepared (seeded straight into storage, as rows from
/// before preparation existed) is prepared on the photo pool too, never on the database's
/// threads: while the pool is full, issuing with it and a clerk's lookup of it are busy; then
/// they work, and the preparation is remembered.
async fn a_photo_on_file_is_prepared_on_the_photo_pool(backend: Backend) {
    let app = spawn_app_with_settings(TestDb::new(backend), one_photo_thread).await;
    let holder = app.holder(&record_with_photo(NUMBER));
    app.seed(&record_with_photo(OTHER_NUMBER));
    let (_, clerk) = clerk_token(&app, BEIJING);
    let (release, held) = hold_the_photo_thread(&app);

    let on_file = serde_json::json!({"photo": "on_file"});
    let res = app.post_json(APPLY, &holder, &on_file).await;
    assert_eq!(error_code(res, 503).await.0, "busy");
    let lookup = format!("/api/v1/counter/licences/{OTHER_NUMBER}");
    let res = app.get(&lookup, Some(&clerk)).await;
    assert_eq!(error_code(res, 503).await.0, "busy");

    release.send(()).unwrap();
    held.await.unwrap().unwrap();
    assert_eq!(app.post_json(APPLY, &holder, &on_file).await.status(), 201);
    let seen: serde_json::Value = app.get(&lookup, Some(&clerk)).await.json().await.unwrap();
    assert_eq!(seen["photo_on_file"]["prechecks"], "passed", "{seen}");
    let number = elicence::domain::licence::LicenceNumber::parse(OTHER_NUMBER).unwrap();
    let prepared =
        elicence::storage::licences::prepared_photo(&mut app.test_db.db.get().unwrap(), &number)
            .unwrap();
    assert!(
        matches!(prepared, Some((Some(_), Some(_)))),
        "remembered: {prepared:?}"
    );
}

crate::both_backends!(
    a_photo_on_file_is_prepared_on_the_photo_pool,
    the_seventh_upload_in_a_minute_is_rate_limited,
    counter_photos_are_rate_limited_per_clerk,
    a_full_photo_pool_answers_busy_at_once,
);
