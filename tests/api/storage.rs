use crate::helpers::{record, Backend, TestDb, NUMBER};
use elicence::storage::licences;

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

crate::both_backends!(every_migration_reverts_and_reapplies);
