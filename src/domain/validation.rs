//! Field-level validation errors, collected so that a client sees every problem at once.

use serde::Serialize;
use utoipa::ToSchema;

/// The most errors an answer lists; it counts them all (`error_count`). Enough to fix a
/// file by, few enough that a file of a million bad rows gets a small answer.
pub const MAX_LISTED_ERRORS: usize = 1_000;

/// The first `MAX_LISTED_ERRORS` of `errors`, and how many there were.
pub fn listed(mut errors: Vec<FieldError>) -> (Vec<FieldError>, usize) {
    let count = errors.len();
    errors.truncate(MAX_LISTED_ERRORS);
    (errors, count)
}

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Position of the item in a list of the body, where the field sits in one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Path of the field, such as `values[3].period` or `fokusomrade`.
    pub field: String,
    /// Stable machine-readable code, such as `unknown_code`.
    pub code: String,
    /// Human-readable explanation.
    pub message: String,
    /// For a file: the line the item came from (1 is the header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// For a file: the column of the value, by its header in CSV, by its letter in a
    /// workbook.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// For a workbook: the sheet of the value.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Värden")]
    pub sheet: Option<String>,
    /// For a workbook: the row of the value (1 is the header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub row: Option<u64>,
    /// For a workbook: the cell to fix, as a spreadsheet names it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "Värden!G12")]
    pub cell: Option<String>,
    /// For a workbook made from an older template: the cell's three values, when the sheet
    /// and the database both changed it since the template was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conflict: Option<CellConflict>,
}

/// What a cell held in the template, in the uploaded sheet and in the database now; null
/// for an empty cell.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct CellConflict {
    #[schema(example = "2")]
    pub template: Option<String>,
    #[schema(example = "5")]
    pub sheet: Option<String>,
    #[schema(example = "7")]
    pub stored: Option<String>,
}

impl FieldError {
    pub fn new(field: impl Into<String>, code: &str, message: impl Into<String>) -> Self {
        FieldError {
            index: None,
            field: field.into(),
            code: code.to_string(),
            message: message.into(),
            line: None,
            column: None,
            sheet: None,
            row: None,
            cell: None,
            conflict: None,
        }
    }
}

/// Collects field errors while a request is checked.
#[derive(Debug, Default)]
pub struct Errors(Vec<FieldError>);

impl Errors {
    pub fn new() -> Self {
        Errors(Vec::new())
    }

    pub fn add(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, code, message));
    }

    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(())` when nothing was found, otherwise every error found.
    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.0)
        }
    }
}

/// Checks a required free-text field: not blank, at most `max_chars`, no control characters
/// other than line breaks and tabs.
pub fn check_text(errors: &mut Errors, field: &str, text: &str, max_chars: usize) {
    if text.trim().is_empty() {
        errors.add(field, "required", "must not be empty");
    }
    check_optional_text(errors, field, text, max_chars);
}

/// Checks an optional free-text field: at most `max_chars`, no control characters other than
/// line breaks and tabs.
pub fn check_optional_text(errors: &mut Errors, field: &str, text: &str, max_chars: usize) {
    if text.chars().count() > max_chars {
        errors.add(
            field,
            "too_long",
            format!("must be at most {max_chars} characters"),
        );
    }
    if text
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        errors.add(
            field,
            "control_character",
            "must not contain control characters",
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        let mut errors = Errors::new();
        check_text(&mut errors, "a", "  ", 10);
        check_text(&mut errors, "b", "elva tecken", 10);
        check_text(&mut errors, "c", "nul\u{0}", 10);
        check_text(&mut errors, "d", "rad 1\nrad 2", 20);
        let fields: Vec<_> = errors
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.code.as_str()))
            .collect();
        assert_eq!(
            fields,
            [
                ("a", "required"),
                ("b", "too_long"),
                ("c", "control_character")
            ]
        );
    }
}
