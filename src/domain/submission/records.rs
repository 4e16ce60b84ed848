//! What a checked submission stores (values scaled, code sets sorted), and what storing it
//! changed.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRecord {
    pub project_ref: String,
    pub title: String,
    pub organisation: String,
    pub status: String,
    pub project_type: String,
    pub sakomrade: String,
    pub fokusomrade: Option<String>,
    pub effektkedja: String,
    /// Sorted, without repeats; likewise `verktyg` and `syften`.
    pub branscher: Vec<String>,
    pub verktyg: Vec<String>,
    pub syften: Vec<String>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub granted_sek: i64,
    pub total_budget_sek: i64,
    /// Sorted by indicator.
    pub plans: Vec<PlanRecord>,
}

/// Baseline and target are scaled integers (see `decimal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    pub indicator: String,
    pub baseline: Option<i64>,
    pub baseline_year: Option<i64>,
    pub target: Option<i64>,
    pub goal: Option<String>,
    pub source: Option<String>,
}

/// The value and its parts are scaled integers (see `decimal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueRecord {
    pub project_ref: String,
    pub indicator: String,
    pub period: String,
    pub value: i64,
    /// kvinnor, man, ej_angivet.
    pub by_sex: Option<[i64; 3]>,
    /// Normalised organisationsnummer, sorted, without repeats.
    pub entities: Vec<String>,
    /// None when absent or empty.
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrativeRecord {
    pub project_ref: String,
    pub period: String,
    pub progress: String,
    pub lessons: String,
    pub deviations: String,
}

#[derive(Debug, Default)]
pub struct Checked {
    pub projects: Vec<ProjectRecord>,
    pub values: Vec<ValueRecord>,
    pub narratives: Vec<NarrativeRecord>,
    /// The values' comments are the stored ones, whatever the records hold
    /// (`SubmissionInput::keeps_stored_comments`).
    pub keeps_stored_comments: bool,
}

/// How many items of one kind a submission created, changed and left as they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// What storing a submission did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub projects: Counts,
    pub values: Counts,
    pub narratives: Counts,
}

/// Whether an item is new, different from what is stored, or the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

impl Outcome {
    /// Whether any item was created or updated.
    pub fn changed_anything(&self) -> bool {
        [self.projects, self.values, self.narratives]
            .iter()
            .any(|counts| counts.created + counts.updated > 0)
    }
}

impl Counts {
    pub fn count(&mut self, change: Change) {
        match change {
            Change::Created => self.created += 1,
            Change::Updated => self.updated += 1,
            Change::Unchanged => self.unchanged += 1,
        }
    }
}

/// Compares an item with what is stored under its key.
pub fn change_of<T: PartialEq>(new: &T, stored: Option<&T>) -> Change {
    match stored {
        None => Change::Created,
        Some(old) if old == new => Change::Unchanged,
        Some(_) => Change::Updated,
    }
}
