//! Each e-licence's entry, kept up to date in the transaction of whatever changes it: its
//! position drawn when it is issued, its status written when its licence changes or it is
//! superseded, and re-evaluated by the sweep on the day time alone can change it.

use crate::clock::china_date;
use crate::domain::e_licence::ELicenceState;
use crate::domain::eligibility::{evaluate_inputs, next_change_after, Inputs};
use crate::domain::registry_state::states_from_codes;
use crate::status_list::standing::{status_of, Standing};
use crate::status_list::{Position, Status, LIST_FILL, LIST_SIZE};
use crate::storage::e_licences::{self, EntryRow};
use crate::storage::{status_lists, DbConn, StorageError};
use chrono::{DateTime, NaiveDate, Utc};
use rand::Rng;
use std::collections::BTreeSet;

/// Indexes drawn and looked up together; at the fill limit (75 % taken) all 16 are taken
/// once in 100 draws, and a second round is rarer still.
const CANDIDATES: usize = 16;
const ROUNDS: usize = 8;

/// A free position for a new e-licence: an index drawn at random among the free ones of the
/// open list (the lowest-numbered one less than [`LIST_FILL`] full), a new list when every
/// list is that full. Random, so an index says nothing about when the e-licence was issued or
/// whose is next to it; free, so the entry a terminal already holds for it reads VALID.
/// Index 0 of list 0 is never given (`e` = 0 was never a serial).
pub fn allocate(conn: &mut DbConn, now: DateTime<Utc>) -> Result<Position, StorageError> {
    let fill = LIST_FILL as i32;
    let list = match status_lists::open_list(conn, fill)? {
        Some(list) => list,
        None => status_lists::add_next(conn, now)?,
    };
    let lowest = if list == 0 { 1 } else { 0 };
    let mut rng = rand::thread_rng();
    for _ in 0..ROUNDS {
        let candidates: Vec<i32> = (0..CANDIDATES)
            .map(|_| rng.gen_range(lowest..LIST_SIZE as i32))
            .collect();
        let taken = e_licences::taken_indexes(conn, list, &candidates)?;
        if let Some(free) = candidates.iter().find(|i| !taken.contains(i)) {
            return Position::from_columns(list, *free)
                .ok_or_else(|| StorageError::Corrupt(format!("status list {list}")));
        }
    }
    Err(StorageError::Corrupt(format!(
        "status list {list}: no free index in {} draws",
        CANDIDATES * ROUNDS
    )))
}

/// An e-licence's entry today and the next day time alone may change it.
fn entry_of(row: &EntryRow, today: NaiveDate) -> (Status, Option<NaiveDate>) {
    if row.state != ELicenceState::Current {
        // Never valid again, whatever happens to its licence: nothing to recheck.
        return (status_of(Standing::Superseded), None);
    }
    // The stored codes parsed as `storage::licences` parses them.
    let parsed = row
        .licence
        .as_ref()
        .map(|r| (r, states_from_codes(&r.statuses), u8::try_from(r.points)));
    let Some((r, Ok(states), Ok(points))) = parsed else {
        // Until the row is repaired, which rewrites the entry.
        return (status_of(Standing::Unreadable), None);
    };
    let inputs = Inputs {
        valid_from: r.valid_from,
        valid_until: r.valid_until,
        states: &states,
        points,
        medical_due: r.medical_due,
        review_due: r.review_due,
    };
    let eligibility = evaluate_inputs(inputs, today);
    (
        status_of(Standing::Current(eligibility.reasons())),
        next_change_after(inputs, today),
    )
}

/// Writes the entries of `rows` as they stand today where they differ from what is stored;
/// returns the lists whose content changed.
fn write_entries(
    conn: &mut DbConn,
    rows: &[EntryRow],
    today: NaiveDate,
) -> Result<BTreeSet<i32>, StorageError> {
    let mut changed = BTreeSet::new();
    for row in rows {
        let (status, recheck_on) = entry_of(row, today);
        let value = i16::from(status.value());
        if (value, recheck_on) != (row.list_status, row.recheck_on) {
            e_licences::set_entry(conn, &row.id, value, recheck_on)?;
        }
        if value != row.list_status {
            changed.insert(row.status_list);
        }
    }
    Ok(changed)
}

/// Brings the entries of every e-licence of these licences up to date, inside the caller's
/// write transaction (after its changes to the licences and e-licences), and marks the lists
/// whose content changed: the signer signs them again. Call it last in the transaction: it
/// locks the lists' rows, in ascending order, until the commit.
pub fn update_for_licences(
    conn: &mut DbConn,
    numbers: &[&str],
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    update_and_count(conn, numbers, None, now)
}

/// [`update_for_licences`], and one more index counted as given out in `allocated_in` (an
/// issuance): every list row this transaction locks is locked in one ascending pass, so two
/// writers never lock two lists in opposite orders.
pub fn update_and_count(
    conn: &mut DbConn,
    numbers: &[&str],
    allocated_in: Option<i32>,
    now: DateTime<Utc>,
) -> Result<(), StorageError> {
    let rows = e_licences::entries_of_licences(conn, numbers)?;
    let changed = write_entries(conn, &rows, china_date(now))?;
    let mut lists = changed.clone();
    lists.extend(allocated_in);
    for list in lists {
        if changed.contains(&list) {
            status_lists::mark_changed(conn, &BTreeSet::from([list]), now)?;
        }
        if allocated_in == Some(list) {
            status_lists::count_allocation(conn, list)?;
        }
    }
    Ok(())
}
