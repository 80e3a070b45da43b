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

crate::both_backends!(
    import_command_reports_bad_lines_and_exits_non_zero,
    token_commands_create_list_and_revoke,
    holder_tokens_for_a_file_of_licences_are_all_or_nothing
);
