//! The reviewer console end to end in headless Chromium, driven over WebDriver (ChromeDriver,
//! named by ELICENCE_TEST_CHROMEDRIVER; `.ci/run` installs Debian's `chromium` and
//! `chromium-driver`): sign in, claim the waiting photo, approve it with one key, and the
//! holder's e-licence exists. Without a ChromeDriver the test is listed as ignored.

use crate::helpers::{record_with_photo, spawn_app, Backend, TestApp};
use crate::images;
use elicence::domain::role::Role;
use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// ChromeDriver on a free port, stopped when dropped.
struct Driver {
    child: Child,
    port: u16,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_driver() -> Driver {
    let path = std::env::var("ELICENCE_TEST_CHROMEDRIVER").expect("ELICENCE_TEST_CHROMEDRIVER");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(path)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    Driver { child, port }
}

async fn browser(driver: &Driver, profile: &std::path::Path) -> Client {
    let binary =
        std::env::var("ELICENCE_TEST_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": binary,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let url = format!("http://127.0.0.1:{}", driver.port);
    for _ in 0..50 {
        match ClientBuilder::native()
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return c,
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    panic!("chromedriver did not accept a session on {url}");
}

/// Waits for `css` to be displayed.
async fn visible(c: &Client, css: &str) -> fantoccini::elements::Element {
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if e.is_displayed().await.unwrap_or(false) {
                return e;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never became visible");
}

async fn text_contains(c: &Client, css: &str, needle: &str) -> String {
    let mut last = String::new();
    for _ in 0..100 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            last = e.text().await.unwrap_or_default();
            if last.contains(needle) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{css} never said {needle:?}; it says {last:?}");
}

async fn upload_photo(app: &TestApp, holder: &str) {
    let form = reqwest::multipart::Form::new()
        .text("source", "camera")
        .part(
            "photo",
            reqwest::multipart::Part::bytes(images::good_jpeg()).file_name("me.jpg"),
        );
    let res = app
        .client
        .post(app.url("/api/v1/me/e-licence"))
        .bearer_auth(holder)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
}

async fn a_reviewer_approves_in_the_browser_and_the_e_licence_appears(backend: Backend) {
    let app = spawn_app(backend).await;
    // A photo on file too, for the reviewer to compare with.
    let holder = app.holder(&record_with_photo("110101199001011234"));
    upload_photo(&app, &holder).await;
    let reviewer = app.token(Role::Reviewer, None);

    let driver = start_driver();
    let profile = tempfile::tempdir().unwrap();
    let c = browser(&driver, profile.path()).await;
    c.goto(&app.url("/review")).await.unwrap();
    visible(&c, "#token")
        .await
        .send_keys(&reviewer)
        .await
        .unwrap();
    c.find(Locator::Css("#sign-in-form button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    visible(&c, "#queue-table tbody tr").await;
    text_contains(&c, "#stats", "待审 1").await;

    // N claims the next photo; both photos and the pre-checks show.
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("n")
        .await
        .unwrap();
    visible(&c, "#item").await;
    text_contains(&c, "#checks tbody", "通过").await;
    for _ in 0..50 {
        let loaded = c
            .execute(
                "return document.getElementById('photo-new').naturalWidth",
                vec![],
            )
            .await
            .unwrap();
        if loaded.as_u64().unwrap_or(0) == 330 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shot = c.screenshot().await.unwrap();
    let shot_path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("review-console.png");
    std::fs::write(&shot_path, shot).unwrap();

    // A approves.
    c.find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("a")
        .await
        .unwrap();
    text_contains(&c, "#message", "已通过").await;
    text_contains(&c, "#stats", "待审 0").await;
    c.close().await.unwrap();

    let res = app.get("/api/v1/me/e-licence", Some(&holder)).await;
    assert_eq!(res.status(), 200, "the approval generated the e-licence");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["photo_source"], "camera");
}

mod sqlite {
    #[cfg_attr(
        not(elicence_browser),
        ignore = "browser test did not run: set ELICENCE_TEST_CHROMEDRIVER (see README)"
    )]
    #[actix_web::test]
    async fn a_reviewer_approves_in_the_browser_and_the_e_licence_appears() {
        super::a_reviewer_approves_in_the_browser_and_the_e_licence_appears(
            crate::helpers::Backend::Sqlite,
        )
        .await
    }
}
