use super::*;
use crate::config::{DatabaseUrl, PoolSettings};
use crate::storage::{Database, DbConn};

/// A migrated database with its index file, and the path of the database.
fn migrated(dir: &tempfile::TempDir) -> (Database, PathBuf) {
    let path = dir.path().join("audit.db");
    let db =
        Database::connect(&DatabaseUrl::Sqlite(path.clone()), &PoolSettings::default()).unwrap();
    (db, path)
}

/// A connection of the pool: the index file attached, as the server's queries have it.
fn sqlite(db: &Database) -> DbConn {
    db.get().unwrap()
}

fn on<T>(conn: &mut DbConn, work: impl FnOnce(&mut SqliteConnection) -> T) -> T {
    match conn {
        DbConn::Sqlite(c) => work(c),
        DbConn::Pg(_) => unreachable!(),
    }
}

fn append(conn: &mut SqliteConnection, officer: &str, e_licence: Option<&str>) {
    diesel::sql_query(
        "INSERT INTO verification_audit
           (verified_at, officer_token_id, method, e_licence_id, valid, reasons)
         VALUES ('2026-12-03 10:00:00', ?1, 'qr', ?2, 1, '')",
    )
    .bind::<diesel::sql_types::Text, _>(officer)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(e_licence)
    .execute(conn)
    .unwrap();
}

fn lookup(conn: &mut SqliteConnection) -> Vec<(String, String, i64)> {
    verification_audit_lookup::table
        .select((
            verification_audit_lookup::kind,
            verification_audit_lookup::subject,
            verification_audit_lookup::audit_id,
        ))
        .order((
            verification_audit_lookup::kind,
            verification_audit_lookup::subject,
            verification_audit_lookup::audit_id,
        ))
        .load(conn)
        .unwrap()
}

fn entry(kind: &str, subject: &str, id: i64) -> (String, String, i64) {
    (kind.to_string(), subject.to_string(), id)
}

#[test]
fn each_row_is_indexed_once_by_officer_and_by_its_e_licence_in_a_file_of_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let (db, path) = migrated(&dir);
    assert!(file_of(&path).exists(), "{}", file_of(&path).display());
    let mut conn = sqlite(&db);
    on(&mut conn, |c| {
        append(c, "tok_b", Some("el_2"));
        append(c, "tok_a", None);
        append(c, "tok_a", Some("el_1"));
        assert_eq!(catch_up(c).unwrap(), 3);
        assert_eq!(indexed_up_to(c).unwrap(), Some(3));
        // Nothing new: nothing written twice.
        assert_eq!(catch_up(c).unwrap(), 0);
        append(c, "tok_b", Some("el_1"));
        assert_eq!(catch_up(c).unwrap(), 1);
        assert_eq!(
            lookup(c),
            vec![
                entry("e_licence", "el_1", 3),
                entry("e_licence", "el_1", 4),
                entry("e_licence", "el_2", 1),
                entry("officer", "tok_a", 2),
                entry("officer", "tok_a", 3),
                entry("officer", "tok_b", 1),
                entry("officer", "tok_b", 4),
            ]
        );
    });
    // The database itself has no lookup table and no index on the audit but its key.
    let plain = &mut SqliteConnection::establish(&path.to_string_lossy()).unwrap();
    #[derive(QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
    }
    let names: Vec<String> = diesel::sql_query(
        "SELECT name FROM sqlite_schema
          WHERE name LIKE 'verification_audit%' AND type IN ('table', 'index')",
    )
    .load::<Name>(plain)
    .unwrap()
    .into_iter()
    .map(|n| n.name)
    .collect();
    assert_eq!(names, vec!["verification_audit".to_string()]);
}

#[test]
fn a_backlog_is_caught_up_in_steps() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = migrated(&dir);
    let mut conn = sqlite(&db);
    on(&mut conn, |c| {
        let rows = MAX_ROWS_A_STEP + 5;
        c.batch_execute(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO verification_audit
               (verified_at, officer_token_id, method, e_licence_id, valid, reasons)
             SELECT '2026-12-03 10:00:00', 'tok_' || (i % 7), 'qr', 'el_' || i, 1, '' FROM n;"
        ))
        .unwrap();
        assert_eq!(catch_up(c).unwrap(), MAX_ROWS_A_STEP);
        assert_eq!(indexed_up_to(c).unwrap(), Some(MAX_ROWS_A_STEP));
        assert_eq!(catch_up(c).unwrap(), 5);
        assert_eq!(lookup(c).len() as i64, 2 * rows);
    });
}

/// Reopens the database at `path` as the server does at start.
fn reopen(path: &Path) -> Database {
    Database::connect(&DatabaseUrl::Sqlite(path.into()), &PoolSettings::default()).unwrap()
}

#[test]
fn lookups_past_the_last_row_of_the_database_are_dropped_when_it_opens() {
    let dir = tempfile::tempdir().unwrap();
    let (db, path) = migrated(&dir);
    let mut conn = sqlite(&db);
    on(&mut conn, |c| {
        for _ in 0..3 {
            append(c, "tok_a", Some("el_1"));
        }
        catch_up(c).unwrap();
    });
    drop((conn, db));
    // The database as a power cut leaves it when its last commit was never synced: the
    // index file (synced at its checkpoints) may still have that commit's rows.
    {
        let c = &mut SqliteConnection::establish(&path.to_string_lossy()).unwrap();
        c.batch_execute(
            "DROP TRIGGER verification_audit_no_delete;
             DELETE FROM verification_audit WHERE id = 3;
             UPDATE sqlite_sequence SET seq = 2 WHERE name = 'verification_audit';",
        )
        .unwrap();
    }
    let db = reopen(&path);
    let mut conn = sqlite(&db);
    on(&mut conn, |c| {
        assert_eq!(indexed_up_to(c).unwrap(), Some(2));
        assert_eq!(
            lookup(c),
            vec![
                entry("e_licence", "el_1", 1),
                entry("e_licence", "el_1", 2),
                entry("officer", "tok_a", 1),
                entry("officer", "tok_a", 2),
            ]
        );
        // The next row takes id 3 again, and is indexed as itself.
        append(c, "tok_b", Some("el_9"));
        catch_up(c).unwrap();
        assert!(lookup(c).contains(&entry("e_licence", "el_9", 3)));
        assert!(!lookup(c).contains(&entry("e_licence", "el_1", 3)));
    });
}

#[test]
fn an_index_file_of_another_state_of_the_database_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let (db, path) = migrated(&dir);
    let mut conn = sqlite(&db);
    on(&mut conn, |c| {
        append(c, "tok_a", Some("el_1"));
        append(c, "tok_a", Some("el_2"));
        catch_up(c).unwrap();
    });
    drop((conn, db));
    // Another database (a backup restored) with its own rows under the same ids.
    let other = dir.path().join("other.db");
    let other_db = reopen(&other);
    let mut conn = sqlite(&other_db);
    on(&mut conn, |c| {
        append(c, "tok_z", Some("el_7"));
        append(c, "tok_z", Some("el_8"));
        append(c, "tok_z", Some("el_9"));
    });
    drop((conn, other_db));
    std::fs::copy(&other, &path).unwrap();
    let _ = std::fs::remove_file(dir.path().join("audit.db-wal"));
    let _ = std::fs::remove_file(dir.path().join("audit.db-shm"));
    let db = reopen(&path);
    let mut conn = sqlite(&db);
    on(&mut conn, |c| {
        assert_eq!(indexed_up_to(c).unwrap(), Some(0));
        while catch_up(c).unwrap() > 0 {}
        let subjects: Vec<String> = lookup(c).into_iter().map(|(_, s, _)| s).collect();
        assert_eq!(
            subjects,
            ["el_7", "el_8", "el_9", "tok_z", "tok_z", "tok_z"]
        );
    });
}

#[test]
fn a_read_only_database_has_no_index_file_and_reads_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ro.db");
    drop(reopen(&path));
    std::fs::remove_file(file_of(&path)).unwrap();
    let mut settings = PoolSettings::default();
    settings.sqlite.read_only = true;
    let db = Database::connect(&DatabaseUrl::Sqlite(path.clone()), &settings).unwrap();
    let mut conn = sqlite(&db);
    on(&mut conn, |c| assert_eq!(indexed_up_to(c).unwrap(), None));
    assert!(!file_of(&path).exists());
}
