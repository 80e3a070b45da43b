//! Pages of the SQLite audit, where rows are found through the index file up to where it
//! has them and in the table after it, against the same filters applied to every row.

use super::*;
use crate::config::{DatabaseUrl, PoolSettings};
use crate::storage::Database;
use chrono::{Duration, TimeZone};

fn row(i: i64) -> NewAudit {
    // A fixed spread over three terminals, five e-licences and scans of no e-licence.
    let e_licence = match i % 6 {
        5 => None,
        n => Some(format!("el_{n}")),
    };
    NewAudit {
        verified_at: Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 0).unwrap() + Duration::minutes(i),
        officer_token_id: format!("tok_{}", (i * 7) % 3),
        terminal_label: None,
        method: ScanMethod::Code,
        e_licence_id: e_licence,
        valid: i % 4 != 0,
        reasons: String::new(),
        jti: None,
    }
}

fn matches(r: &AuditRow, f: &AuditFilter) -> bool {
    f.officer_token_id
        .as_ref()
        .is_none_or(|o| &r.officer_token_id == o)
        && f.e_licence_id
            .as_ref()
            .is_none_or(|e| r.e_licence_id.as_ref() == Some(e))
        && f.valid.is_none_or(|v| r.valid == v)
        && f.from.is_none_or(|t| r.verified_at >= t.naive_utc())
        && f.to.is_none_or(|t| r.verified_at < t.naive_utc())
}

/// Every row `f` selects, page after page of `f.limit`.
fn walk(conn: &mut DbConn, f: &AuditFilter) -> Vec<i64> {
    let mut f = f.clone();
    let mut ids = Vec::new();
    loop {
        let page = page(conn, &f).unwrap();
        assert!(page.len() as i64 <= f.limit);
        let Some(last) = page.last() else { break };
        f.after_id = Some(last.id);
        ids.extend(page.iter().map(|r| r.id));
    }
    ids
}

#[test]
fn pages_through_the_index_file_and_past_it_are_the_rows_the_filters_select() {
    let dir = tempfile::tempdir().unwrap();
    let db = Database::connect(
        &DatabaseUrl::Sqlite(dir.path().join("audit.db")),
        &PoolSettings::default(),
    )
    .unwrap();
    let mut conn = db.get().unwrap();
    let rows: Vec<NewAudit> = (1..=60).map(row).collect();
    insert_many(&mut conn, &rows[..35]).unwrap();
    // The first 35 rows are in the index file, the others only in the table.
    let DbConn::Sqlite(c) = &mut conn else {
        unreachable!()
    };
    assert_eq!(crate::storage::audit_index::catch_up(c).unwrap(), 35);
    // So a page finds rows 1-35 only through the lookup: the table is read past 35 alone.
    assert_eq!(
        crate::storage::audit_index::indexed_up_to(c).unwrap(),
        Some(35)
    );
    insert_many(&mut conn, &rows[35..]).unwrap();
    let all = page(
        &mut conn,
        &AuditFilter {
            limit: 1000,
            ..AuditFilter::default()
        },
    )
    .unwrap();
    assert_eq!(all.len(), 60);

    let at = |minutes| Some(Utc.with_ymd_and_hms(2026, 12, 3, 8, minutes, 0).unwrap());
    let mut checked = 0;
    for officer in [None, Some("tok_0"), Some("tok_2")] {
        for e_licence in [None, Some("el_1"), Some("el_4"), Some("el_9")] {
            for valid in [None, Some(true), Some(false)] {
                for (from, to) in [(None, None), (at(20), at(45))] {
                    for limit in [1, 4, 100] {
                        let f = AuditFilter {
                            officer_token_id: officer.map(str::to_string),
                            e_licence_id: e_licence.map(str::to_string),
                            valid,
                            from,
                            to,
                            after_id: None,
                            limit,
                        };
                        let expected: Vec<i64> = all
                            .iter()
                            .filter(|r| matches(r, &f))
                            .map(|r| r.id)
                            .collect();
                        assert_eq!(walk(&mut conn, &f), expected, "{f:?}");
                        checked += usize::from(!expected.is_empty());
                    }
                }
            }
        }
    }
    // Most of the filters above select rows, on both sides of row 35.
    assert!(checked > 60, "{checked}");
}
