//! The `elicence` binary itself, run as a user would.

use crate::helpers::{record, Backend, TestDb, NUMBER};
use elicence::storage::licences;
use std::io::Write;
use std::process::{Command, Output, Stdio};

fn elicence(db_url: &str, args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_elicence"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        input.write_all(bytes).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn an_unknown_database_scheme_is_refused_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for url in [
        "mysql://root@localhost/elicence",
        "elicence.db",
        "sqlite:elicence.db",
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_elicence"))
            .args(["migrate", "--database-url", url])
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{url}");
        let err = text(&out.stderr);
        assert!(
            err.contains("sqlite://") && err.contains("postgres://"),
            "{url}: {err}"
        );
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file was created"
    );
}

async fn import_command_reports_bad_lines_and_exits_non_zero(backend: Backend) {
    let t = TestDb::new(backend);
    let url = t.url_string();
    let good = serde_json::to_string(&record(NUMBER)).unwrap();
    let input = format!("{good}\n{{\"oops\": 1}}\n");
    let out = elicence(&url, &["import", "-"], Some(input.as_bytes()));
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("line 2:"), "{err}");
    assert!(text(&out.stdout).contains("imported 1 records, rejected 1 lines"));
    assert_eq!(licences::count(&mut t.db.get().unwrap()).unwrap(), 1);

    // A clean file exits 0.
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("{good}\n")).unwrap();
    let out = elicence(&url, &["import", file.path().to_str().unwrap()], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = elicence(&url, &["import", "/no/such/file.ndjson"], None);
    assert_eq!(out.status.code(), Some(1));
}

async fn token_commands_create_list_and_revoke(backend: Backend) {
    let t = TestDb::new(backend);
    t.seed(&record(NUMBER));
    let url = t.url_string();
    let out = elicence(
        &url,
        &[
            "token",
            "create",
            "--role",
            "holder",
            "--licence",
            NUMBER,
            "--label",
            "phone",
        ],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let secret = stdout.trim();
    assert_eq!(stdout.lines().count(), 1, "the token alone on stdout");
    assert!(
        secret.starts_with("elc_") && secret.len() == 4 + 43,
        "{secret}"
    );

    let out = elicence(&url, &["token", "create", "--role", "holder"], None);
    assert!(!out.status.success(), "a holder token needs a licence");
    let out = elicence(&url, &["token", "create", "--role", "superuser"], None);
    assert_eq!(out.status.code(), Some(2));

    let out = elicence(&url, &["token", "list"], None);
    let listing = text(&out.stdout);
    assert!(
        listing.contains("holder") && listing.contains("phone") && listing.contains("active"),
        "{listing}"
    );
    assert!(!listing.contains(secret), "secrets are never listed");
    let id = listing
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned();
    // 96 random bits: ids stay unique at one token for each of 530 M holders.
    assert!(
        id.strip_prefix("tok_")
            .is_some_and(|hex| hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_hexdigit())),
        "{id}"
    );

    let out = elicence(&url, &["token", "revoke", &id], None);
    assert!(out.status.success());
    let out = elicence(&url, &["token", "revoke", &id], None);
    assert_eq!(out.status.code(), Some(1));
    let listing = text(&elicence(&url, &["token", "list"], None).stdout);
    assert!(listing.contains("revoked"));
}

async fn holder_tokens_for_a_file_of_licences_are_all_or_nothing(backend: Backend) {
    use crate::helpers::OTHER_NUMBER;
    let t = TestDb::new(backend);
    t.seed(&record(NUMBER));
    t.seed(&record(OTHER_NUMBER));
    let url = t.url_string();
    let file = tempfile::NamedTempFile::new().unwrap();
    let create = |numbers: &str| {
        std::fs::write(file.path(), numbers).unwrap();
        let path = file.path().to_str().unwrap();
        elicence(
            &url,
            &[
                "token",
                "create",
                "--role",
                "holder",
                "--licence-file",
                path,
            ],
            None,
        )
    };
    let out = create(&format!("{NUMBER}\n\n{OTHER_NUMBER}\n"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with(&format!("{NUMBER} elc_")),
        "{}",
        lines[0]
    );
    assert!(lines[1].starts_with(&format!("{OTHER_NUMBER} elc_")));
    let tokens_before = text(&elicence(&url, &["token", "list"], None).stdout)
        .lines()
        .count();
    // One unknown licence refuses the whole file; a malformed one is a usage error.
    let out = create(&format!("{NUMBER}\n110101199912319999\n"));
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let out = create("not-a-number\n");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("line 1"));
    let tokens_after = text(&elicence(&url, &["token", "list"], None).stdout)
        .lines()
        .count();
    assert_eq!(tokens_after, tokens_before, "nothing half-created");
}

/// `token create --help` offers a partner the purposes a partner token can have, and the
/// roadside purpose (the officers') is refused before anything is created.
/// docs/configuration.md names every flag and variable `serve` and the global options take,
/// so the reference cannot fall behind the code (it had: half the flags were missing).
#[test]
fn the_configuration_reference_names_every_serve_flag_and_variable() {
    let out = Command::new(env!("CARGO_BIN_EXE_elicence"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&out.stdout);
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/configuration.md"
    ))
    .unwrap();
    // `name` as a whole word: `--pool-size` does not count for `--pool`.
    let names = |doc: &str, name: &str| {
        doc.match_indices(name).any(|(at, _)| {
            doc[at + name.len()..]
                .chars()
                .next()
                .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
        })
    };
    let words = |prefix: &str| -> Vec<String> {
        help.split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .filter(|w| w.starts_with(prefix) && w.len() > prefix.len())
            .map(str::to_owned)
            .collect()
    };
    let mut missing: Vec<String> = words("--")
        .into_iter()
        .filter(|flag| !["--help", "--version"].contains(&flag.as_str()))
        .chain(words("ELICENCE_"))
        .filter(|name| !names(&doc, name))
        .collect();
    missing.sort();
    missing.dedup();
    assert!(
        missing.is_empty(),
        "docs/configuration.md does not name: {missing:?}"
    );
}

#[test]
fn token_create_offers_only_the_partner_purposes() {
    let help = Command::new(env!("CARGO_BIN_EXE_elicence"))
        .args(["token", "create", "--help"])
        .output()
        .unwrap();
    assert!(help.status.success());
    let help = text(&help.stdout);
    let purpose = help
        .split_once("--purpose <PURPOSE>")
        .and_then(|(_, rest)| rest.split_once("--label"))
        .map(|(section, _)| section)
        .unwrap_or_else(|| panic!("no --purpose section: {help}"));
    for offered in ["rental", "insurance", "employment"] {
        assert!(purpose.contains(&format!("- {offered}:")), "{purpose}");
    }
    assert!(!purpose.contains("roadside"), "{purpose}");
    let t = TestDb::new(Backend::Sqlite);
    let partner = |purpose| {
        let args = ["token", "create", "--role", "partner", "--purpose", purpose];
        elicence(&t.url_string(), &args, None)
    };
    let out = partner("roadside");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    assert!(
        text(&out.stderr).contains("possible values: rental, insurance, employment"),
        "{}",
        text(&out.stderr)
    );
    let out = partner("insurance");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

crate::both_backends!(
    import_command_reports_bad_lines_and_exits_non_zero,
    token_commands_create_list_and_revoke,
    holder_tokens_for_a_file_of_licences_are_all_or_nothing
);

/// `elicence keys ARGS --keys-dir DIR` at the instant `now` (RFC 3339), with `env` set and
/// no lifetime settings inherited from the environment running the tests.
/// The database of the key states of a keys folder in these tests: beside the folder, as
/// `serve` in `serve_without_a_usable_key_refuses_to_start_and_says_what_to_do` has it.
fn states_db(keys_dir: &std::path::Path) -> String {
    let parent = keys_dir.parent().unwrap();
    format!("sqlite://{}", parent.join("elicence.db").display())
}

fn keys(dir: &std::path::Path, now: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_elicence"));
    cmd.arg("keys")
        .args(args)
        .arg("--keys-dir")
        .arg(dir)
        .env("DATABASE_URL", states_db(dir))
        .args(["--now", now])
        .env_remove("ELICENCE_CODE_TTL_SECS")
        .env_remove("ELICENCE_STATUS_LIST_LIFETIME_SECS")
        .env_remove("ELICENCE_KEYS_DIR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

/// The one line `keys generate` or `keys rotate` prints: the new kid.
fn new_kid(out: &Output) -> String {
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    stdout.trim().to_owned()
}

/// RFC 7638: the base64url SHA-256 of the required members of the public JWK, in
/// lexicographic order, without whitespace. Computed here from the key file, independently
/// of the signing module.
fn rfc7638_thumbprint(key: &ed25519_dalek::SigningKey) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use sha2::{Digest, Sha256};
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    let jwk = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(jwk.as_bytes()))
}

/// Every form the private key of `pem_path` could leak in: the PEM's base64 lines and the
/// 32-byte seed in base64, base64url and hex.
fn private_forms(pem_path: &std::path::Path) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
    use base64::Engine;
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let pem = std::fs::read_to_string(pem_path).unwrap();
    let seed = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem)
        .unwrap()
        .to_bytes();
    let mut forms: Vec<String> = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::to_owned)
        .collect();
    forms.push(STANDARD.encode(seed));
    forms.push(URL_SAFE_NO_PAD.encode(seed));
    forms.push(seed.iter().map(|b| format!("{b:02x}")).collect());
    forms
}

fn assert_no_private_material(output: &str, pem_path: &std::path::Path) {
    assert!(!output.contains("PRIVATE"), "{output}");
    for form in private_forms(pem_path) {
        assert!(!output.contains(&form), "a private key leaked: {output}");
    }
}

const T0: &str = "2026-11-22T04:00:00Z";

#[test]
fn keys_generate_writes_a_private_pkcs8_key_named_by_its_thumbprint() {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let out = keys(&keys_dir, T0, &["generate"], &[]);
    let kid = new_kid(&out);
    let pem_path = keys_dir.join(format!("{kid}.pem"));
    let mode = std::fs::metadata(&pem_path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    let pem = std::fs::read_to_string(&pem_path).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{pem}");
    let key = ed25519_dalek::SigningKey::from_pkcs8_pem(&pem).expect("an Ed25519 PKCS#8 key");
    assert_eq!(rfc7638_thumbprint(&key), kid);
    assert_eq!(kid.len(), 43);
    assert!(
        !keys_dir.join("keyring.json").exists(),
        "the key states are in the database"
    );
    assert_no_private_material(&text(&out.stderr), &pem_path);

    // A second generate is refused: there is an active key, and rotation is how to replace it.
    let again = keys(&keys_dir, T0, &["generate"], &[]);
    assert_eq!(again.status.code(), Some(1));
    let err = text(&again.stderr);
    assert!(err.contains(&kid) && err.contains("keys rotate"), "{err}");
    assert_eq!(
        std::fs::read_dir(&keys_dir).unwrap().count(),
        1,
        "no second key file, and nothing else in the folder"
    );
}

/// The rows of `keys list`: (kid, state), checking no private material is printed.
fn listed(keys_dir: &std::path::Path, now: &str) -> Vec<(String, String)> {
    let out = keys(keys_dir, now, &["list"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    for pem in std::fs::read_dir(keys_dir).unwrap() {
        let path = pem.unwrap().path();
        if path.extension().is_some_and(|e| e == "pem") {
            assert_no_private_material(&stdout, &path);
        }
    }
    stdout
        .lines()
        .skip(1)
        .map(|l| {
            let mut cells = l.split_whitespace();
            let kid = cells.next().unwrap().to_owned();
            (kid, cells.next().unwrap().to_owned())
        })
        .collect()
}

/// The ring the key states in the database of `keys_dir` name, as `serve` loads it.
fn ring(keys_dir: &std::path::Path) -> elicence::signing::KeyRing {
    let url = elicence::config::DatabaseUrl::parse(&states_db(keys_dir)).unwrap();
    let db = elicence::storage::Database::connect(&url, &Default::default()).unwrap();
    let states = elicence::service::signing_keys::load(&db, keys_dir).unwrap();
    elicence::signing::KeyRing::from_states(keys_dir, &states).unwrap()
}

fn published(keys_dir: &std::path::Path) -> Vec<String> {
    ring(keys_dir)
        .jwks()
        .keys
        .into_iter()
        .map(|k| k.kid)
        .collect()
}

#[test]
fn keys_rotate_keeps_the_old_key_published_and_retire_unpublishes_it() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = &dir.path().join("keys");
    let first = new_kid(&keys(keys_dir, T0, &["generate"], &[]));
    let rotated_at = "2026-11-22T05:00:00Z";
    let out = keys(keys_dir, rotated_at, &["rotate"], &[]);
    let second = new_kid(&out);
    assert_ne!(first, second);
    assert!(text(&out.stderr).contains("a running `elicence serve` signs with the new key"));
    assert_eq!(ring(keys_dir).active_kid(), second, "the new key signs");
    assert_eq!(published(keys_dir), [first.clone(), second.clone()]);
    assert_eq!(
        listed(keys_dir, rotated_at),
        [
            (first.clone(), "rotated".to_owned()),
            (second.clone(), "active".to_owned())
        ]
    );
    let listing = text(&keys(keys_dir, rotated_at, &["list"], &[]).stdout);
    assert!(
        listing.contains("2026-11-22 04:00:00") && listing.contains("2026-11-22 05:00:00"),
        "created and rotated at the injected instants: {listing}"
    );

    // The active key cannot be retired, whatever the flags.
    for flags in [
        &["retire", second.as_str()][..],
        &["retire", &second, "--force"],
    ] {
        let out = keys(keys_dir, "2027-01-01T00:00:00Z", flags, &[]);
        assert_eq!(out.status.code(), Some(1));
        let err = text(&out.stderr);
        assert!(
            err.contains(&second) && err.contains("active key") && err.contains("rotate first"),
            "{err}"
        );
    }
    let out = keys(keys_dir, rotated_at, &["retire", "no-such-kid"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no key no-such-kid"));

    // A day after the rotation (the status list's lifetime) the old key may go.
    let out = keys(keys_dir, "2026-11-23T05:00:00Z", &["retire", &first], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).trim(), format!("retired {first}"));
    assert_eq!(published(keys_dir), vec![second.clone()]);
    assert_eq!(
        listed(keys_dir, rotated_at),
        [
            (first.clone(), "retired".to_owned()),
            (second, "active".to_owned())
        ]
    );
}

/// Offline terminals verify with the JWKS of their last sync: `prepare` publishes the next key
/// before it signs, and `rotate` then activates that very key; a rotation without one warns.
#[test]
fn keys_prepare_publishes_the_next_key_before_rotate_activates_it() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = &dir.path().join("keys");
    let first = new_kid(&keys(keys_dir, T0, &["generate"], &[]));
    // A second later: keys are listed by when they were made.
    let out = keys(keys_dir, "2026-11-22T04:00:01Z", &["prepare"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let next = new_kid(&out);
    assert!(text(&out.stderr).contains("keys rotate"));
    assert_eq!(published(keys_dir), [first.clone(), next.clone()]);
    assert_eq!(
        listed(keys_dir, T0),
        [
            (first.clone(), "active".to_owned()),
            (next.clone(), "next".to_owned())
        ]
    );
    let again = keys(keys_dir, T0, &["prepare"], &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(text(&again.stderr).contains(&next));

    let out = keys(keys_dir, "2026-11-29T04:00:00Z", &["rotate"], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(new_kid(&out), next, "the prepared key, not a new one");
    assert!(!text(&out.stderr).contains("no key was prepared"));
    assert_eq!(
        listed(keys_dir, T0),
        [(first, "rotated".to_owned()), (next, "active".to_owned())]
    );
    let out = keys(keys_dir, "2026-11-29T05:00:00Z", &["rotate"], &[]);
    assert!(
        text(&out.stderr).contains("no key was prepared"),
        "{}",
        text(&out.stderr)
    );
}

/// Retiring too early would break codes still in circulation: refused until the longest of
/// the code lifetime and the status-list lifetime has passed since the rotation, unless forced.
#[test]
fn keys_retire_waits_until_what_the_key_signed_has_lapsed() {
    let rotated_at = chrono::DateTime::parse_from_rfc3339("2026-11-22T05:00:00Z").unwrap();
    let at = |secs: i64| (rotated_at + chrono::Duration::seconds(secs)).to_rfc3339();
    let rotated_ring = || {
        let dir = tempfile::tempdir().unwrap();
        let old = new_kid(&keys(&dir.path().join("keys"), T0, &["generate"], &[]));
        new_kid(&keys(&dir.path().join("keys"), &at(0), &["rotate"], &[]));
        (dir, old)
    };
    // (settings, the earliest second after the rotation the old key may be retired)
    let cases: [(&[(&str, &str)], i64); 3] = [
        (&[], 86_400),
        (&[("ELICENCE_STATUS_LIST_LIFETIME_SECS", "60")], 180),
        (
            &[
                ("ELICENCE_CODE_TTL_SECS", "600"),
                ("ELICENCE_STATUS_LIST_LIFETIME_SECS", "300"),
            ],
            600,
        ),
    ];
    for (env, earliest) in cases {
        let (dir, old) = rotated_ring();
        let out = keys(
            &dir.path().join("keys"),
            &at(earliest - 1),
            &["retire", &old],
            env,
        );
        assert_eq!(out.status.code(), Some(1), "{env:?}");
        let err = text(&out.stderr);
        let from = (rotated_at + chrono::Duration::seconds(earliest))
            .format("%Y-%m-%d %H:%M:%S UTC")
            .to_string();
        assert!(
            err.contains(&old)
                && err.contains("2026-11-22 05:00:00 UTC")
                && err.contains(&from)
                && err.contains("--force"),
            "{env:?}: {err}"
        );
        assert!(
            published(&dir.path().join("keys")).contains(&old),
            "still published"
        );
        let out = keys(
            &dir.path().join("keys"),
            &at(earliest),
            &["retire", &old],
            env,
        );
        assert!(out.status.success(), "{env:?}: {}", text(&out.stderr));
        assert!(!published(&dir.path().join("keys")).contains(&old));
    }
    // The flags say the same as the environment.
    let (dir, old) = rotated_ring();
    let flags = [
        "retire",
        &old,
        "--code-ttl-secs",
        "30",
        "--status-list-lifetime-secs",
        "20",
    ];
    assert_eq!(
        keys(&dir.path().join("keys"), &at(29), &flags, &[])
            .status
            .code(),
        Some(1)
    );
    assert!(keys(&dir.path().join("keys"), &at(30), &flags, &[])
        .status
        .success());

    // --force retires at once.
    let (dir, old) = rotated_ring();
    let out = keys(
        &dir.path().join("keys"),
        &at(1),
        &["retire", &old, "--force"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!published(&dir.path().join("keys")).contains(&old));
}

/// `serve --demo` on an empty keys folder makes a first key and says so in its log, which
/// names the key by its kid and never shows the private part.
#[test]
fn serve_demo_on_an_empty_keys_dir_logs_the_first_key_it_generated() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let db = format!("sqlite://{}", dir.path().join("elicence.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_elicence"))
        .args(["serve", "--demo", "--bind", "127.0.0.1:0", "--workers", "1"])
        .arg("--keys-dir")
        .arg(&keys_dir)
        .env("DATABASE_URL", &db)
        .env("RUST_LOG", "info")
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Read the log until the server says it serves (or the log ends), on a thread, so a
    // server that hangs fails the test instead of blocking it.
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut log = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            log.push_str(&line);
            log.push('\n');
            if line.contains("serving HTTP") {
                break;
            }
        }
        let _ = tx.send(log);
    });
    let log = rx.recv_timeout(std::time::Duration::from_secs(60));
    child.kill().unwrap();
    child.wait().unwrap();
    let log = log.expect("serve started within a minute");
    assert!(log.contains("serving HTTP"), "{log}");

    let pems: Vec<_> = std::fs::read_dir(&keys_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pem"))
        .collect();
    assert_eq!(pems.len(), 1, "one key generated");
    let kid = pems[0].file_stem().unwrap().to_str().unwrap().to_owned();
    let line = log
        .lines()
        .find(|l| l.contains("generated a first Ed25519 key"))
        .unwrap_or_else(|| panic!("no generation line in {log}"));
    assert!(line.contains(&kid), "{line}");
    assert_no_private_material(&log, &pems[0]);
}

/// `serve` with no usable key refuses to start and says what to run: a key of its own
/// making would not match any code in circulation nor any offline terminal's key list. A
/// keys folder writable by others is refused with the fix.
#[test]
fn serve_without_a_usable_key_refuses_to_start_and_says_what_to_do() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    let db = format!("sqlite://{}", dir.path().join("elicence.db").display());
    let serve = || {
        Command::new(env!("CARGO_BIN_EXE_elicence"))
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "1"])
            .arg("--keys-dir")
            .arg(&keys_dir)
            .env("DATABASE_URL", &db)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = serve();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "elicence keys generate --keys-dir {}",
            keys_dir.display()
        )),
        "{stderr}"
    );
    assert!(!keys_dir.exists(), "no key was made");

    let generated = keys(&keys_dir, T0, &["generate"], &[]);
    assert!(generated.status.success(), "{}", text(&generated.stderr));
    std::fs::set_permissions(&keys_dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = serve();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("chmod go-w {}", keys_dir.display())),
        "{stderr}"
    );
}

/// A kid is base64url, so one in 64 starts with `-` (this one, of the test key of seed 7·32,
/// with `--`): `keys retire` takes it as the kid, not as a flag.
#[test]
fn keys_retire_takes_a_kid_that_starts_with_a_hyphen() {
    use ed25519_dalek::pkcs8::EncodePrivateKey;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    std::fs::create_dir(&keys_dir).unwrap();
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let kid = rfc7638_thumbprint(&key);
    assert!(kid.starts_with("--"), "{kid}");
    let pem_path = keys_dir.join(format!("{kid}.pem"));
    let pem = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .unwrap();
    std::fs::write(&pem_path, pem.as_bytes()).unwrap();
    std::fs::set_permissions(&pem_path, std::fs::Permissions::from_mode(0o600)).unwrap();
    // A deployment from before the key states moved to the database: its manifest is
    // imported by the first keys command, so the kid keeps its state.
    let manifest = serde_json::json!({"keys": [{"kid": kid, "state": "active", "created_at": T0}]});
    std::fs::write(keys_dir.join("keyring.json"), manifest.to_string()).unwrap();
    let second = new_kid(&keys(&keys_dir, T0, &["rotate"], &[]));
    assert_eq!(
        listed(&keys_dir, T0),
        [
            (kid.clone(), "rotated".to_owned()),
            (second, "active".to_owned())
        ]
    );

    let early = keys(&dir.path().join("keys"), T0, &["retire", &kid], &[]);
    assert_eq!(early.status.code(), Some(1), "{}", text(&early.stderr));
    assert!(text(&early.stderr).contains(&kid));
    let out = keys(
        &dir.path().join("keys"),
        T0,
        &["retire", &kid, "--force"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(!published(&dir.path().join("keys")).contains(&kid));
}

/// With the database of the key states unavailable, a keys command exits 75 (EX_TEMPFAIL)
/// for a script to retry, and makes no key file.
#[test]
fn keys_commands_exit_75_while_the_database_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let keys_dir = dir.path().join("keys");
    // Nothing listens on port 1.
    let gone = [("DATABASE_URL", "postgres://nobody@127.0.0.1:1/elicence")];
    for args in [&["rotate"][..], &["list"]] {
        let out = keys(&keys_dir, T0, args, &gone);
        assert_eq!(out.status.code(), Some(75), "{}", text(&out.stderr));
    }
    assert!(!keys_dir.exists(), "no key file was made");
}
