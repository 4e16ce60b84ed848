//! The answer to a submission as clients read it.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::submission::Rejection;
use crate::domain::submission::records::{Counts, Outcome};
use crate::domain::validation::{FieldError, MAX_LISTED_ERRORS, listed};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubmissionStatus {
    /// Stored.
    Stored,
    /// Checked and counted in a dry run; nothing stored.
    Validated,
    /// Refused; nothing stored. `errors` says why.
    Rejected,
}

/// The answer to a submission. A rejection (422, or 409 for closed periods, for what would
/// change a signed-off report's figures, and for cells of an older template changed since
/// it was made) has the same shape, as `application/problem+json` with the problem fields `type`, `title` and
/// `detail` added (its `status` stays the submission's).
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionResult {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub problem_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Set when stored.
    pub submission_id: Option<String>,
    pub status: SubmissionStatus,
    pub dry_run: bool,
    pub projects: Counts,
    pub values: Counts,
    pub narratives: Counts,
    /// The first errors found, at most 1,000 (`error_count` counts them all).
    pub errors: Vec<FieldError>,
    /// How many errors were found.
    pub error_count: usize,
}

impl SubmissionResult {
    pub fn counted(
        status: SubmissionStatus,
        dry_run: bool,
        submission_id: Option<String>,
        outcome: Outcome,
    ) -> Self {
        SubmissionResult {
            problem_type: None,
            title: None,
            detail: None,
            submission_id,
            status,
            dry_run,
            projects: outcome.projects,
            values: outcome.values,
            narratives: outcome.narratives,
            errors: Vec::new(),
            error_count: 0,
        }
    }

    pub fn rejected(dry_run: bool, rejection: Rejection) -> (Self, u16) {
        let (slug, title, status, errors) = match rejection {
            Rejection::Invalid(errors) => ("validation", "Invalid submission", 422, errors),
            Rejection::Locked(errors) => {
                ("period-locked", "Period closed for reporting", 409, errors)
            }
            Rejection::Stale(errors) => (
                "stale-template",
                "Changed since the template was made",
                409,
                errors,
            ),
        };
        let (errors, error_count) = listed(errors);
        let result = SubmissionResult {
            problem_type: Some(format!("urn:uppfoljning:problem:{slug}")),
            title: Some(title.to_string()),
            detail: Some(format!(
                "{error_count} item(s) refused{}; nothing was stored",
                listing(error_count, "the first {} are listed")
            )),
            errors,
            error_count,
            ..SubmissionResult::counted(
                SubmissionStatus::Rejected,
                dry_run,
                None,
                Outcome::default(),
            )
        };
        (result, status)
    }

    /// The same answer for a reader who prefers Swedish: the title, detail and messages in
    /// Swedish, the codes unchanged.
    pub fn in_swedish(mut self) -> Self {
        // By the problem type, which is the contract; the English title is prose.
        let title = match self.problem_type.as_deref() {
            Some("urn:uppfoljning:problem:validation") => Some("Ogiltig inrapportering"),
            Some("urn:uppfoljning:problem:period-locked") => {
                Some("Halvåret är stängt för rapportering")
            }
            Some("urn:uppfoljning:problem:stale-template") => Some("Ändrat sedan mallen hämtades"),
            _ => None,
        };
        if let Some(title) = title {
            self.title = Some(title.to_string());
        }
        if self.detail.is_some() {
            self.detail = Some(format!(
                "{} fel{}; ingenting lagrades",
                self.error_count,
                listing(self.error_count, "de första {} visas")
            ));
        }
        crate::views::swedish::translate(&mut self.errors);
        self
    }
}

/// The words saying that only some of `count` errors are listed, if so.
fn listing(count: usize, words: &str) -> String {
    if count > MAX_LISTED_ERRORS {
        format!(", {}", words.replace("{}", &MAX_LISTED_ERRORS.to_string()))
    } else {
        String::new()
    }
}
