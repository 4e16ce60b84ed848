//! Page-based pagination with a bounded page size, as the list endpoints share it.

use crate::error::AppError;

pub const DEFAULT_PAGE_SIZE: i64 = 50;
pub const MAX_PAGE_SIZE: i64 = 500;

/// A checked `page` (from 1) and `page_size` (1 to `MAX_PAGE_SIZE`).
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub page: i64,
    pub size: i64,
}

impl Page {
    pub fn checked(page: Option<i64>, size: Option<i64>) -> Result<Page, AppError> {
        let page = page.unwrap_or(1);
        let size = size.unwrap_or(DEFAULT_PAGE_SIZE);
        if page < 1 {
            return Err(AppError::invalid(
                "page",
                "out_of_range",
                "must be at least 1",
            ));
        }
        if !(1..=MAX_PAGE_SIZE).contains(&size) {
            return Err(AppError::invalid(
                "page_size",
                "out_of_range",
                format!("must be 1 to {MAX_PAGE_SIZE}"),
            ));
        }
        Ok(Page { page, size })
    }

    /// How many items come before this page.
    pub fn offset(self) -> i64 {
        (self.page - 1).saturating_mul(self.size)
    }
}
