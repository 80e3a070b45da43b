//! `elicence verify`, the offline police terminal, run as an officer would: against a code a
//! live server issued, its QR image, and the keys the server publishes.

use crate::helpers::{issued, photo_png, spawn_app, test_now, Backend, TestApp, NUMBER};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs the real binary off the server's runtime (it fetches from that server).
pub(crate) async fn verify(args: Vec<String>, jwks_env: Option<String>) -> Output {
    actix_web::rt::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_elicence"));
        cmd.arg("verify")
            .args(&args)
            .env_remove("ELICENCE_JWKS")
            .env_remove("ELICENCE_STATUS_LIST");
        if let Some(jwks) = jwks_env {
            cmd.env("ELICENCE_JWKS", jwks);
        }
        cmd.output().unwrap()
    })
    .await
    .unwrap()
}

pub(crate) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

pub(crate) fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The server's clock, which is what the codes were signed by.
pub(crate) fn now_flag(offset_secs: i64) -> String {
    (test_now() + chrono::Duration::seconds(offset_secs)).to_rfc3339()
}

pub(crate) struct Scene {
    pub(crate) app: TestApp,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) code: String,
    qr: PathBuf,
    pub(crate) jwks_url: String,
    pub(crate) jwks_file: PathBuf,
}

/// A holder with an e-licence, the QR image their app shows, and the published keys.
pub(crate) async fn scene(backend: Backend) -> Scene {
    let app = spawn_app(backend).await;
    let (holder, code, _) = issued(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let res = app.get("/api/v1/me/e-licence/qr.png", Some(&holder)).await;
    assert_eq!(res.status(), 200);
    let qr = dir.path().join("qr.png");
    std::fs::write(&qr, res.bytes().await.unwrap()).unwrap();
    let jwks_url = app.url("/.well-known/jwks.json");
    let jwks = app.jwks_bytes().await;
    let jwks_file = dir.path().join("jwks.json");
    std::fs::write(&jwks_file, jwks).unwrap();
    Scene {
        app,
        dir,
        code,
        qr,
        jwks_url,
        jwks_file,
    }
}

/// The code with its name claim changed and the signature kept.
fn tampered(code: &str) -> String {
    let (h, rest) = code.split_once('.').unwrap();
    let (p, s) = rest.split_once('.').unwrap();
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap();
    claims["n"] = "李四".into();
    let p = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    format!("{h}.{p}.{s}")
}

async fn the_qr_image_verifies_with_the_published_keys_from_url_or_file(backend: Backend) {
    let s = scene(backend).await;
    let now = now_flag(60);
    let by_url = verify(
        args(&[path(&s.qr), "--jwks", &s.jwks_url, "--now", &now]),
        None,
    )
    .await;
    let stdout = text(&by_url.stdout);
    assert_eq!(
        by_url.status.code(),
        Some(0),
        "{stdout}{}",
        text(&by_url.stderr)
    );
    assert!(stdout.contains("VALID"), "{stdout}");
    assert!(
        stdout.contains("张伟") && stdout.contains(NUMBER),
        "{stdout}"
    );
    assert!(
        stdout.contains("C1,D") && stdout.contains("2028-03-05"),
        "{stdout}"
    );
    let kids = s.app.published_kids().await;
    assert!(stdout.contains(&kids[0]), "{stdout}");

    // The same from a JWKS file named by ELICENCE_JWKS, as a terminal offline keeps it.
    let by_file = verify(
        args(&[path(&s.qr), "--now", &now, "--json"]),
        Some(path(&s.jwks_file).to_owned()),
    )
    .await;
    assert_eq!(by_file.status.code(), Some(0), "{}", text(&by_file.stderr));
    let v: Value = serde_json::from_slice(&by_file.stdout).unwrap();
    assert_eq!(v["valid"], true);
    assert_eq!(v["holder"]["name"], "张伟");
    assert_eq!(v["holder"]["licence_number"], NUMBER);
    assert_eq!(v["holder"]["classes"], serde_json::json!(["C1", "D"]));
    assert_eq!(v["source"], path(&s.qr));

    // The image holds exactly the code the server issued.
    let as_text = verify(
        args(&[
            &s.code,
            "--jwks",
            path(&s.jwks_file),
            "--now",
            &now,
            "--json",
        ]),
        None,
    )
    .await;
    let t: Value = serde_json::from_slice(&as_text.stdout).unwrap();
    assert_eq!(t["holder"], v["holder"]);
}

async fn tampered_and_expired_codes_exit_1_with_their_reason(backend: Backend) {
    let s = scene(backend).await;
    let jwks = path(&s.jwks_file);
    let out = verify(
        args(&[&tampered(&s.code), "--jwks", jwks, "--now", &now_flag(60)]),
        None,
    )
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("INVALID") && stdout.contains("bad_signature"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("李四"),
        "nothing shown from a forged code: {stdout}"
    );

    // The code lives 180 s: at its exp second, the injected clock says it has lapsed.
    let out = verify(
        args(&[path(&s.qr), "--jwks", jwks, "--now", &now_flag(180)]),
        None,
    )
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("INVALID (expired)"), "{stdout}");
    assert!(
        stdout.contains("张伟"),
        "the holder is still shown: {stdout}"
    );
}

async fn what_is_not_a_qr_code_or_no_keys_is_a_usage_error(backend: Backend) {
    let s = scene(backend).await;
    let jwks = path(&s.jwks_file);
    let blank = s.dir.path().join("blank.png");
    std::fs::write(&blank, photo_png()).unwrap();
    let notes = s.dir.path().join("notes.txt");
    std::fs::write(&notes, &s.code).unwrap();
    for (input, message) in [
        (path(&blank), "no QR code found in the image"),
        (path(&notes), "not a PNG or JPEG image"),
        ("/no/such/photo.png", "No such file"),
    ] {
        let out = verify(args(&[input, "--jwks", jwks]), None).await;
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{input}: {stderr}");
        assert!(
            stderr.contains(input) && stderr.contains(message),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // No keys at all, keys that are not a JWKS, a server that is not there.
    let out = verify(args(&[&s.code]), None).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--jwks"),
        "{}",
        text(&out.stderr)
    );
    let not_jwks = verify(args(&[&s.code, "--jwks", path(&notes)]), None).await;
    assert_eq!(not_jwks.status.code(), Some(2));
    assert!(text(&not_jwks.stderr).contains("not a JWKS"));
    let missing = s.app.url("/no/jwks.json");
    let out = verify(args(&[&s.code, "--jwks", &missing]), None).await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("404"), "{}", text(&out.stderr));
    let out = verify(args(&[&s.code, "--jwks", jwks, "--now", "today"]), None).await;
    assert_eq!(out.status.code(), Some(2));
}

async fn a_file_of_codes_is_counted_and_any_forgery_fails_the_run(backend: Backend) {
    let s = scene(backend).await;
    let forged = tampered(&s.code);
    let lines = [
        s.code.as_str(),
        "",
        &s.code,
        &forged,
        "  ",
        &s.code,
        "not-a-code",
        &s.code,
    ];
    let file = s.dir.path().join("codes.txt");
    std::fs::write(&file, lines.join("\n")).unwrap();
    let jwks = path(&s.jwks_file);
    let now = now_flag(60);
    let run = |extra: &[&str]| {
        let mut list = args(&["--file", path(&file), "--jwks", jwks, "--now", &now]);
        list.extend(args(extra));
        verify(list, None)
    };
    for threads in ["1", "2"] {
        let out = run(&["--threads", threads]).await;
        let stdout = text(&out.stdout);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        assert!(stderr.contains("6 codes, 4 valid, 2 invalid"), "{stderr}");
        let verdicts: Vec<&str> = stdout.lines().collect();
        assert_eq!(verdicts.len(), 6, "{stdout}");
        let name = path(&file);
        assert!(
            verdicts[0].starts_with(&format!("{name}:1: VALID")),
            "{stdout}"
        );
        assert!(
            verdicts[2].starts_with(&format!("{name}:4: INVALID bad_signature")),
            "{stdout}"
        );
        assert!(
            verdicts[4].starts_with(&format!("{name}:7: INVALID malformed")),
            "{stdout}"
        );
    }
    let out = run(&["--json"]).await;
    let valid: Vec<bool> = text(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["valid"]
                .as_bool()
                .unwrap()
        })
        .collect();
    assert_eq!(valid, [true, true, false, true, false, true]);

    // Only good codes: exit 0.
    std::fs::write(&file, format!("{}\n{}\n", s.code, s.code)).unwrap();
    let out = run(&[]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("2 codes, 2 valid, 0 invalid"));
}

/// Codes as keyboard-wedge scanners and files hand them over: the ASCII whitespace around a
/// code (an argument, a line of a file with CR LF endings, the text of a QR image) is not
/// part of it.
async fn whitespace_around_a_code_is_not_part_of_it(backend: Backend) {
    let s = scene(backend).await;
    let now = now_flag(60);
    let jwks = path(&s.jwks_file);
    let out = verify(
        args(&[
            &format!(" {}\n", s.code),
            &format!("{}\r\n", s.code),
            "--jwks",
            jwks,
            "--now",
            &now,
        ]),
        None,
    )
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("code 1: VALID") && stdout.contains("code 2: VALID"),
        "{stdout}"
    );

    let file = s.dir.path().join("scanned.txt");
    std::fs::write(&file, format!(" {c}\r\n\t{c} \r\n\r\n{c}\r\n", c = s.code)).unwrap();
    let out = verify(
        args(&[
            "--file",
            path(&file),
            "--jwks",
            jwks,
            "--now",
            &now,
            "--json",
        ]),
        None,
    )
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let valid: Vec<bool> = stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["valid"] == true)
        .collect();
    assert_eq!(valid, [true, true, true], "{stdout}");

    // A QR code whose text ends with CR LF, as some apps encode what they were given.
    let qr = s.dir.path().join("crlf.png");
    let png = elicence::render::qr::QrMatrix::encode(&format!("{}\r\n", s.code))
        .unwrap()
        .png(4)
        .unwrap();
    std::fs::write(&qr, png).unwrap();
    let out = verify(args(&[path(&qr), "--jwks", jwks, "--now", &now]), None).await;
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("VALID"), "{stdout}");
}

crate::both_backends!(
    whitespace_around_a_code_is_not_part_of_it,
    the_qr_image_verifies_with_the_published_keys_from_url_or_file,
    tampered_and_expired_codes_exit_1_with_their_reason,
    what_is_not_a_qr_code_or_no_keys_is_a_usage_error,
    a_file_of_codes_is_counted_and_any_forgery_fails_the_run,
);
