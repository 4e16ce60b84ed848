//! The errors of one item of a submission, each named by the item's index and a field path
//! below it, and the checks every item uses (texts, exact decimals).

use rust_decimal::Decimal;

use crate::domain::decimal::{DecimalError, SCALE, to_scaled_non_negative};
use crate::domain::validation::{Errors, FieldError, check_optional_text, check_text};

/// Errors of one item: each is given the item's index and a field path below it.
pub(super) struct ItemErrors<'a> {
    pub(super) list: &'a mut Errors,
    pub(super) prefix: &'static str,
    pub(super) index: usize,
}

impl ItemErrors<'_> {
    pub(super) fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.list.push_with(|| FieldError {
            index: Some(self.index),
            ..FieldError::new(
                format!("{}[{}].{field}", self.prefix, self.index),
                code,
                message,
            )
        });
    }

    /// Runs a text check written for plain field names under this item's prefix.
    pub(super) fn text(&mut self, field: &str, text: &str, max_chars: usize, required: bool) {
        let mut found = Errors::new();
        if required {
            check_text(&mut found, field, text, max_chars);
        } else {
            check_optional_text(&mut found, field, text, max_chars);
        }
        if let Err(errors) = found.into_result() {
            for error in errors {
                self.add(&error.field, &error.code, error.message);
            }
        }
    }

    /// `scaled`, but a number equal to `stored` passes with the places it was stored with:
    /// its indicator's decimals may have been lowered since (see `catalogue`).
    pub(super) fn scaled_as_stored(
        &mut self,
        field: &str,
        value: Decimal,
        decimals: u32,
        stored: Option<i64>,
    ) -> Option<i64> {
        let exact = to_scaled_non_negative(value, SCALE).ok();
        if exact.is_some() && exact == stored {
            return exact;
        }
        self.scaled(field, value, decimals)
    }

    pub(super) fn scaled(&mut self, field: &str, value: Decimal, decimals: u32) -> Option<i64> {
        match to_scaled_non_negative(value, decimals) {
            Ok(scaled) => Some(scaled),
            Err(DecimalError::TooManyDecimals { allowed }) => {
                self.add(
                    field,
                    "too_many_decimals",
                    format!("at most {allowed} decimals"),
                );
                None
            }
            Err(DecimalError::OutOfRange) => {
                self.add(field, "out_of_range", "too large");
                None
            }
            Err(DecimalError::Negative) => {
                self.add(field, "negative", "must not be negative");
                None
            }
        }
    }
}
