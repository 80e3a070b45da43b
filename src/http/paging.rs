//! Keyset paging, as every audit and history route pages: `limit` 1 to 500 (100 by default)
//! and a `next` cursor that is the last id of a full page.

use super::error::ApiError;
use super::extract::BearerToken;
use super::state::AppState;
use crate::domain::role::Role;
use crate::storage::{DbConn, StorageError};

/// The page size asked for: 1 to 500, 100 when not given.
pub fn page_limit(limit: Option<i64>) -> Result<i64, ApiError> {
    let limit = limit.unwrap_or(100);
    if (1..=500).contains(&limit) {
        Ok(limit)
    } else {
        Err(ApiError::InvalidPath("limit is between 1 and 500".into()))
    }
}

/// The `next` cursor of a keyset page: its last id when the page is full, else none.
pub fn next_cursor(last_id: Option<i64>, rows: usize, limit: i64) -> Option<i64> {
    last_id.filter(|_| rows as i64 == limit)
}

/// A page's items and its `next` cursor, for the route to put in its documented page type.
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<i64>,
}

/// One keyset page of an admin listing, as every audit route serves one: the token must be
/// an admin's; `read` gets at most `limit` rows, oldest first, in the token check's read
/// snapshot; each row becomes its wire form (`From`); `id` is the row's cursor.
pub async fn admin_page<R, T>(
    state: &AppState,
    token: BearerToken,
    limit: Option<i64>,
    read: impl FnOnce(&mut DbConn, i64) -> Result<Vec<R>, StorageError> + Send + 'static,
    id: fn(&R) -> i64,
) -> Result<Page<T>, ApiError>
where
    R: Send + 'static,
    T: From<R>,
{
    let limit = page_limit(limit)?;
    let rows = state
        .authorized_reads(token, move |conn, p| {
            p.require(Role::Admin)?;
            Ok(read(conn, limit)?)
        })
        .await?;
    let next = next_cursor(rows.last().map(id), rows.len(), limit);
    Ok(Page {
        items: rows.into_iter().map(T::from).collect(),
        next,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors() {
        assert_eq!(page_limit(None).unwrap(), 100);
        assert_eq!(page_limit(Some(1)).unwrap(), 1);
        assert_eq!(page_limit(Some(500)).unwrap(), 500);
        for bad in [0, 501, -1, i64::MIN, i64::MAX] {
            assert!(page_limit(Some(bad)).is_err(), "{bad}");
        }
        assert_eq!(next_cursor(Some(7), 10, 10), Some(7));
        assert_eq!(next_cursor(Some(7), 9, 10), None);
        assert_eq!(next_cursor(None, 0, 10), None);
    }
}
