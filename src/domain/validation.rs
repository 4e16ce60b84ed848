//! Field-level validation errors, collected so that a client sees every problem at once.

use serde::Serialize;
use utoipa::ToSchema;

/// The most errors an answer lists; it counts them all (`error_count`). Enough to fix a
/// file by, few enough that a file of a million bad rows gets a small answer.
pub const MAX_LISTED_ERRORS: usize = 1_000;

/// The first `MAX_LISTED_ERRORS` of `errors`, and how many there were (an error that
/// counts others not kept stands for them).
pub fn listed(mut errors: Vec<FieldError>) -> (Vec<FieldError>, usize) {
    let count = errors.iter().map(|error| error.stands_for).sum();
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
    /// How many errors this one counts: 1, or for the error that closes a list cut at
    /// `MAX_LISTED_ERRORS`, those not kept.
    #[serde(skip)]
    pub stands_for: usize,
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
            stands_for: 1,
        }
    }
}

/// Collects field errors while a request or a file is checked. It keeps what an answer
/// lists and only counts the rest, so that a body or file of a million bad items costs a
/// count, not a million errors: memory per request stays bounded whatever it sends.
#[derive(Debug, Default)]
pub struct Errors {
    kept: Vec<FieldError>,
    not_kept: usize,
}

impl Errors {
    pub fn new() -> Self {
        Errors::default()
    }

    pub fn add(&mut self, field: impl Into<String>, code: &str, message: impl Into<String>) {
        self.push_with(|| FieldError::new(field, code, message));
    }

    pub fn push(&mut self, error: FieldError) {
        self.push_with(|| error);
    }

    /// Whether another error would only be counted: what is worth knowing only for a kept
    /// error need not be worked out then.
    pub fn is_full(&self) -> bool {
        // Room is left for the error that counts the rest.
        self.kept.len() + 1 >= MAX_LISTED_ERRORS
    }

    /// Adds the error `make` builds, built only while there is room to keep it.
    pub fn push_with(&mut self, make: impl FnOnce() -> FieldError) {
        if self.is_full() {
            self.not_kept += 1;
        } else {
            self.kept.push(make());
        }
    }

    pub fn append(&mut self, other: Errors) {
        for error in other.into_vec() {
            let stands_for = error.stands_for;
            self.push(error);
            self.not_kept += stands_for - 1;
        }
    }

    /// How many errors were found, kept or not.
    pub fn len(&self) -> usize {
        self.kept.len() + self.not_kept
    }

    pub fn is_empty(&self) -> bool {
        self.kept.is_empty()
    }

    pub fn sort_by_field(&mut self) {
        self.kept.sort_by(|a, b| a.field.cmp(&b.field));
    }

    /// Every error kept, and one that counts those not kept.
    pub fn into_vec(mut self) -> Vec<FieldError> {
        if self.not_kept > 0 {
            self.kept.push(FieldError {
                stands_for: self.not_kept,
                ..FieldError::new(
                    "errors",
                    "too_many_errors",
                    format!(
                        "{} more errors are not listed; fix these first",
                        self.not_kept
                    ),
                )
            });
        }
        self.kept
    }

    /// `Ok(())` when nothing was found, otherwise every error found.
    pub fn into_result(self) -> Result<(), Vec<FieldError>> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self.into_vec())
        }
    }
}

impl Extend<FieldError> for Errors {
    fn extend<T: IntoIterator<Item = FieldError>>(&mut self, errors: T) {
        for error in errors {
            self.push(error);
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
        let errors = errors.into_vec();
        let fields: Vec<_> = errors
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

    #[test]
    fn errors_past_the_listed_number_are_counted_not_kept() {
        let mut errors = Errors::new();
        for n in 0..MAX_LISTED_ERRORS * 3 {
            errors.add(format!("values[{n}]"), "required", "must not be empty");
        }
        let mut more = Errors::new();
        more.add("narratives[0]", "required", "must not be empty");
        errors.append(more);
        let kept = errors.into_vec();
        assert_eq!(kept.len(), MAX_LISTED_ERRORS);
        let last = kept.last().unwrap();
        assert_eq!(last.code, "too_many_errors");
        assert_eq!(last.stands_for, MAX_LISTED_ERRORS * 2 + 2);
        let (listed, count) = listed(kept);
        assert_eq!(
            (listed.len(), count),
            (MAX_LISTED_ERRORS, MAX_LISTED_ERRORS * 3 + 1)
        );
    }
}
