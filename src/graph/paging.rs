//! Paging arguments, checked the same way for every list field.

use crate::error::Error;

/// Default page size of every list field.
pub const DEFAULT_LIMIT: i32 = 20;

/// Checks `limit` and `offset` arguments against `max_limit`.
pub fn page_bounds(
    limit: Option<i32>,
    offset: Option<i32>,
    max_limit: i32,
) -> Result<(u32, u32), Error> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(0..=max_limit).contains(&limit) {
        return Err(Error::bad_input(format!(
            "limit must be between 0 and {max_limit}, got {limit}"
        )));
    }
    let offset = offset.unwrap_or(0);
    if offset < 0 {
        return Err(Error::bad_input(format!(
            "offset must not be negative, got {offset}"
        )));
    }
    Ok((limit as u32, offset as u32))
}
