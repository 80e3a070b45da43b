use crate::helpers::{issued, record, seed_into, spawn_app, Backend, TestDb, NUMBER};
use elicence::storage::{licences, DbConn};

async fn every_migration_reverts_and_reapplies(backend: Backend) {
    let t = TestDb::new(backend);
    t.seed(&record(NUMBER));
    let reverted = t.db.revert_all_migrations().unwrap();
    assert!(reverted >= 1);
    assert!(
        licences::count(&mut t.db.get().unwrap()).is_err(),
        "the tables are gone"
    );
    let applied = t.db.migrate().unwrap();
    assert_eq!(applied.len(), reverted);
    assert_eq!(licences::count(&mut t.db.get().unwrap()).unwrap(), 0);
}

/// The bytes of the holder's e-licence photo as served.
async fn served_photo(app: &crate::helpers::TestApp, holder: &str) -> Vec<u8> {
    let res = app.get("/api/v1/me/e-licence/photo", Some(holder)).await;
    assert_eq!(res.status(), 200);
    res.bytes().await.unwrap().to_vec()
}

/// The length of the photo kept in the e-licence row itself (the schema before photos_apart).
fn photo_bytes_in_e_licence_rows(conn: &mut DbConn) -> Vec<i64> {
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;
    #[derive(QueryableByName)]
    struct Len {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let q = diesel::sql_query("SELECT CAST(length(photo) AS BIGINT) AS n FROM e_licences");
    let rows: Vec<Len> = match conn {
        DbConn::Sqlite(c) => q.load(&mut **c),
        DbConn::Pg(c) => q.load(&mut **c),
    }
    .unwrap();
    rows.into_iter().map(|r| r.n).collect()
}

/// The migration that takes photos out of the e-licence rows moves each photo to photo_store
/// and, reverted, back into its row: no e-licence loses its photo either way.
async fn moving_photos_out_of_the_rows_keeps_every_photo(backend: Backend) {
    let app = spawn_app(backend).await;
    let (holder, _, _) = issued(&app).await;
    let photo = served_photo(&app, &holder).await;
    assert!(photo.len() > 1000, "a real photo: {} bytes", photo.len());

    // Back to just before 2026-12-01-000008_photos_apart, newer migrations first.
    let mut reverted = Vec::new();
    while reverted.last().map(String::as_str) != Some("20261201000008") {
        reverted.push(app.test_db.db.revert_last_migration().unwrap());
        assert!(
            reverted.len() < 10,
            "photos_apart was never reverted: {reverted:?}"
        );
    }
    let in_rows = photo_bytes_in_e_licence_rows(&mut app.test_db.db.get().unwrap());
    assert_eq!(
        in_rows,
        vec![photo.len() as i64],
        "the photo is back in its row"
    );

    assert_eq!(app.test_db.db.migrate().unwrap().len(), reverted.len());
    assert_eq!(served_photo(&app, &holder).await, photo);
}

/// A SQLite pragma's value, as read on a connection of `db`'s pool into `T` (whose field is
/// named as the pragma).
fn sqlite_pragma<T>(db: &elicence::storage::Database, name: &str) -> T
where
    T: diesel::QueryableByName<diesel::sqlite::Sqlite> + 'static,
{
    use diesel::RunQueryDsl;
    let mut conn = db.get().unwrap();
    let DbConn::Sqlite(c) = &mut conn else {
        unreachable!()
    };
    diesel::sql_query(format!("PRAGMA {name}"))
        .get_result(&mut **c)
        .unwrap()
}

/// Connections that never checkpoint on commit (the verifier's) leave it to the background
/// thread, and what they write still reaches the database file; the other connections keep
/// SQLite's own checkpoints.
#[test]
fn background_checkpoints_copy_what_commits_that_never_checkpoint_wrote() {
    #[derive(diesel::QueryableByName)]
    struct Auto {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        wal_autocheckpoint: i64,
    }
    let autocheckpoint = |db: &elicence::storage::Database| {
        sqlite_pragma::<Auto>(db, "wal_autocheckpoint").wal_autocheckpoint
    };
    let t = TestDb::new(Backend::Sqlite);
    let elicence::config::DatabaseUrl::Sqlite(path) = &t.url else {
        unreachable!()
    };
    let quiet =
        t.db.without_commit_checkpoints(1, elicence::config::AuditSync::Full)
            .unwrap();
    assert_eq!(autocheckpoint(&quiet), 0, "these commits do not checkpoint");
    assert_eq!(
        autocheckpoint(&t.db),
        1000,
        "SQLite's default for the others"
    );
    // Whatever the migrations left in the log reaches the file first: a checkpoint of our
    // own, so the size below is measured after it, not after the thread's first round.
    {
        let mut conn = t.db.get().unwrap();
        let DbConn::Sqlite(c) = &mut conn else {
            unreachable!()
        };
        diesel::connection::SimpleConnection::batch_execute(
            &mut **c,
            "PRAGMA wal_checkpoint(TRUNCATE)",
        )
        .unwrap();
    }
    let before = std::fs::metadata(path).unwrap().len();
    for i in 0..200 {
        let mut r = record(NUMBER);
        r["number"] = serde_json::json!(format!("1101011990010{:05}", i));
        r["address"] = serde_json::json!("北京市东城区东四十条12号".repeat(8));
        seed_into(&quiet, &r);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::fs::metadata(path).unwrap().len() <= before {
        assert!(
            std::time::Instant::now() < deadline,
            "nothing was checkpointed into {}",
            path.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(licences::count(&mut t.db.get().unwrap()).unwrap(), 200);
}

/// The verifier's audit commits are synced before its scans are answered (a power cut
/// loses no audit row of an answered scan) unless the operator asks otherwise: by the
/// queue's syncer, which syncs the log after the commit (`Database::sync_log`), so SQLite's
/// own commits stay NORMAL, as on the other connections, which in WAL mode sync at
/// checkpoints.
#[test]
fn the_verifiers_audit_commits_are_synced_to_disk() {
    use elicence::config::AuditSync;
    #[derive(diesel::QueryableByName)]
    struct Sync {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        synchronous: i64,
    }
    let synchronous =
        |db: &elicence::storage::Database| sqlite_pragma::<Sync>(db, "synchronous").synchronous;
    const NORMAL: i64 = 1;
    let t = TestDb::new(Backend::Sqlite);
    assert_eq!(synchronous(&t.db), NORMAL);
    assert!(!t.db.commits_synced_by_caller());
    let audit =
        t.db.without_commit_checkpoints(1, AuditSync::default())
            .unwrap();
    assert_eq!(synchronous(&audit), NORMAL);
    assert!(audit.commits_synced_by_caller());
    // A commit on the audit's pool leaves the log unsynced; `sync_log` syncs it.
    seed_into(&audit, &record(NUMBER));
    audit.sync_log().unwrap();
    let measured =
        t.db.without_commit_checkpoints(1, AuditSync::Normal)
            .unwrap();
    assert_eq!(synchronous(&measured), NORMAL);
    assert!(!measured.commits_synced_by_caller());
}

/// On PostgreSQL the append-only tables refuse TRUNCATE as well as UPDATE and DELETE.
#[cfg_attr(
    not(elicence_pg),
    ignore = "PostgreSQL tests did not run: set ELICENCE_TEST_POSTGRES_URL (see README)"
)]
#[test]
fn append_only_tables_refuse_truncate_on_postgres() {
    use diesel::RunQueryDsl;
    let t = TestDb::new(Backend::Postgres);
    let mut conn = t.db.get().unwrap();
    let DbConn::Pg(c) = &mut conn else {
        unreachable!()
    };
    for table in [
        "verification_audit",
        "review_audit",
        "registry_events",
        "counter_audit",
    ] {
        let refused = diesel::sql_query(format!("TRUNCATE {table}")).execute(&mut **c);
        let message = refused.expect_err(table).to_string();
        assert!(message.contains("append-only"), "{table}: {message}");
    }
}

/// The pool does not test connections as it hands them out (no `SELECT 1` a request): a
/// connection whose server process died fails once, as lost, and is then closed instead of
/// going back to the pool. Every connection the pool hands out afterwards works.
#[cfg_attr(
    not(elicence_pg),
    ignore = "PostgreSQL tests did not run: set ELICENCE_TEST_POSTGRES_URL (see README)"
)]
#[test]
fn a_postgres_connection_that_was_lost_is_closed_not_handed_out_again() {
    use diesel::RunQueryDsl;
    use elicence::config::PoolSettings;
    use elicence::storage::Fault;
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    fn pid_of(conn: &mut DbConn) -> Result<i32, elicence::storage::StorageError> {
        let DbConn::Pg(c) = conn else { unreachable!() };
        let row: Pid = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result(&mut **c)?;
        Ok(row.pid)
    }
    let t = TestDb::new(Backend::Postgres);
    let max = PoolSettings::default().max_size as usize;
    // Every connection of the pool open, then all back in it.
    let all: Vec<DbConn> = (0..max).map(|_| t.db.get().unwrap()).collect();
    drop(all);
    let mut doomed = t.db.get().unwrap();
    let pid = pid_of(&mut doomed).unwrap();
    let mut killer = t.db.get().unwrap();
    let DbConn::Pg(k) = &mut killer else {
        unreachable!()
    };
    diesel::sql_query(format!("SELECT pg_terminate_backend({pid})"))
        .execute(&mut **k)
        .unwrap();
    drop(killer);
    let lost = pid_of(&mut doomed).expect_err("its server process is gone");
    assert_eq!(lost.fault(), Some(Fault::ConnectionLost), "{lost:?}");
    drop(doomed);

    // Were it back in the pool, one of these would draw it.
    let mut again: Vec<DbConn> = (0..max).map(|_| t.db.get().unwrap()).collect();
    for conn in &mut again {
        let other = pid_of(conn).expect("every connection handed out works");
        assert_ne!(other, pid);
    }
}

/// Two transactions that lock two rows in opposite orders: PostgreSQL aborts one with
/// 40P01, which is a transient conflict (503 `storage_unavailable`, Retry-After 1), not a
/// 500. The other commits.
#[cfg_attr(
    not(elicence_pg),
    ignore = "PostgreSQL tests did not run: set ELICENCE_TEST_POSTGRES_URL (see README)"
)]
#[test]
fn a_deadlock_on_postgres_is_a_transient_conflict() {
    use diesel::RunQueryDsl;
    use elicence::storage::{Fault, StorageError};
    use std::sync::{Arc, Barrier};
    let t = TestDb::new(Backend::Postgres);
    let mut setup = t.db.get().unwrap();
    let DbConn::Pg(c) = &mut setup else {
        unreachable!()
    };
    diesel::sql_query("CREATE TABLE lock_order (id INT PRIMARY KEY, v INT NOT NULL)")
        .execute(&mut **c)
        .unwrap();
    diesel::sql_query("INSERT INTO lock_order VALUES (1, 0), (2, 0)")
        .execute(&mut **c)
        .unwrap();
    let both_hold_one = Arc::new(Barrier::new(2));
    let outcomes: Vec<Result<(), StorageError>> = std::thread::scope(|s| {
        let runs: Vec<_> = [(1, 2), (2, 1)]
            .into_iter()
            .map(|(first, second)| {
                let (db, barrier) = (&t.db, both_hold_one.clone());
                s.spawn(move || {
                    let mut conn = db.get().unwrap();
                    conn.write_transaction(|conn| {
                        let DbConn::Pg(c) = conn else { unreachable!() };
                        let lock = |c: &mut diesel::PgConnection, id: i32| {
                            diesel::sql_query(format!(
                                "UPDATE lock_order SET v = v + 1 WHERE id = {id}"
                            ))
                            .execute(c)
                            .map(|_| ())
                            .map_err(StorageError::from)
                        };
                        lock(c, first)?;
                        barrier.wait();
                        lock(c, second)
                    })
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().unwrap()).collect()
    });
    let refused: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().err()).collect();
    assert_eq!(refused.len(), 1, "one of the two is aborted: {outcomes:?}");
    assert_eq!(
        refused[0].fault(),
        Some(Fault::Conflict),
        "{:?}",
        refused[0]
    );
    assert_eq!(Fault::Conflict.retry_after_secs(), 1);
}

#[test]
fn sqlite_connections_use_wal_foreign_keys_and_a_busy_timeout() {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Text};
    #[derive(QueryableByName)]
    struct Mode {
        #[diesel(sql_type = Text)]
        journal_mode: String,
    }
    #[derive(QueryableByName)]
    struct Num {
        #[diesel(sql_type = BigInt)]
        v: i64,
    }
    let t = TestDb::new(Backend::Sqlite);
    let mut conn = t.db.get().unwrap();
    let elicence::storage::DbConn::Sqlite(c) = &mut conn else {
        unreachable!()
    };
    let mode: Mode = diesel::sql_query("PRAGMA journal_mode")
        .get_result(&mut **c)
        .unwrap();
    assert_eq!(mode.journal_mode, "wal");
    let fk: Num = diesel::sql_query("SELECT foreign_keys AS v FROM pragma_foreign_keys")
        .get_result(&mut **c)
        .unwrap();
    assert_eq!(fk.v, 1);
    let busy: Num = diesel::sql_query("SELECT timeout AS v FROM pragma_busy_timeout")
        .get_result(&mut **c)
        .unwrap();
    assert!(busy.v >= 1000);
}

crate::both_backends!(
    every_migration_reverts_and_reapplies,
    moving_photos_out_of_the_rows_keeps_every_photo
);
