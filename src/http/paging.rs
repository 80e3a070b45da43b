//! Keyset paging, as every audit and history route pages: `limit` 1 to 500 (100 by default)
//! and a `next` cursor that is the last id of a full page.

use super::error::ApiError;

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
