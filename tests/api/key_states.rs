//! The key states in the database (`signing_keys`), on both backends: rotations at once
//! leave one active key, an existing `keyring.json` is imported once, and a process that
//! lacks the file of a key the states name says so on `/readyz`.

use crate::helpers::{spawn_app, test_now, Backend, TestDb};
use elicence::service::signing_keys::{change, load, states};
use elicence::signing::{states as rules, KeyRing, KeyState, KeySummary};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

async fn concurrent_rotations_leave_exactly_one_active_key(backend: Backend) {
    let db = TestDb::new(backend);
    let keys = tempfile::tempdir().unwrap();
    let dir = keys.path();
    change(&db.db, dir, |k, new| rules::generate(k, test_now(), new)).unwrap();
    let rotations: Vec<String> = std::thread::scope(|s| {
        let threads: Vec<_> = (0..6)
            .map(|_| {
                s.spawn(|| {
                    change(&db.db, dir, |k, new| rules::rotate(k, test_now(), new))
                        .unwrap()
                        .0
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    let stored = states(&mut db.db.get().unwrap()).unwrap();
    let active: Vec<_> = stored
        .iter()
        .filter(|k| k.state == KeyState::Active)
        .collect();
    assert_eq!(active.len(), 1, "{stored:?}");
    assert!(rotations.contains(&active[0].kid));
    assert_eq!(
        stored.len(),
        7,
        "the first key and six rotated in, none lost"
    );
    assert_eq!(
        stored
            .iter()
            .filter(|k| k.state == KeyState::Rotated && k.rotated_at == Some(test_now()))
            .count(),
        6
    );
}

async fn an_existing_manifest_is_imported_once(backend: Backend) {
    let db = TestDb::new(backend);
    let keys = tempfile::tempdir().unwrap();
    let dir = keys.path();
    let first = KeyRing::generate(dir, test_now()).unwrap();
    let next = KeyRing::prepare(dir, test_now()).unwrap();
    // Keys made in the same second are listed by kid.
    let by_kid = |mut keys: Vec<KeySummary>| {
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        keys
    };
    let imported = load(&db.db, dir).unwrap();
    assert_eq!(
        imported,
        by_kid(KeyRing::list(dir).unwrap()),
        "the kids keep their states"
    );
    let mut expected = [(&first, KeyState::Active), (&next, KeyState::Next)];
    expected.sort_by(|a, b| a.0.cmp(b.0));
    assert_eq!(
        imported
            .iter()
            .map(|k| (&k.kid, k.state))
            .collect::<Vec<_>>(),
        expected
    );
    // The manifest is not read again: the database is the one truth now.
    KeyRing::rotate(dir, test_now()).unwrap();
    assert_eq!(load(&db.db, dir).unwrap(), imported);
    assert_eq!(states(&mut db.db.get().unwrap()).unwrap(), imported);
}

async fn until_ready_is(app: &crate::helpers::TestApp, status: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let res = app.get("/readyz", None).await;
        if res.status() == status {
            return res.json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "/readyz is not {status}");
        actix_web::rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A key prepared on another host: until its pem is copied here this process is not ready
/// (it keeps signing and publishing what it has); once copied, it publishes the key.
async fn a_key_named_without_its_file_on_this_host_makes_it_not_ready(backend: Backend) {
    let app = spawn_app(backend).await;
    let other_host = tempfile::tempdir().unwrap();
    let next = change(&app.test_db.db, other_host.path(), |k, new| {
        rules::prepare(k, test_now(), new)
    })
    .unwrap();
    let body = until_ready_is(&app, 503).await;
    assert_eq!(
        body["error"]["details"],
        json!([{"component": "keys", "cause": "key_file_missing"}])
    );
    assert_eq!(app.published_kids().await.len(), 1, "the ring in use stays");
    let pem = format!("{next}.pem");
    std::fs::copy(other_host.path().join(&pem), app.keys_dir.join(&pem)).unwrap();
    until_ready_is(&app, 200).await;
    assert!(app.published_kids().await.contains(&next));
}

crate::both_backends!(
    concurrent_rotations_leave_exactly_one_active_key,
    an_existing_manifest_is_imported_once,
    a_key_named_without_its_file_on_this_host_makes_it_not_ready,
);
