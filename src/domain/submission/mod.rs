//! A submission: projects, values and narratives from one region, checked as a whole so that
//! every problem is reported at once and nothing is stored unless everything is right.
//!
//! - `input`: the submission as a region sends it (JSON today; any reader builds the same);
//! - `check`: the checks of the whole, with `project` and `value` for their items;
//! - `catalogue`: stored plans and values that a catalogue change leaves valid;
//! - `origin`: where each item of a file came from, to name its line or cell;
//! - `records`: what a checked submission stores, and what storing it changed;
//! - `stale`: a workbook from an older template against what changed since it was made;
//! - `touches`: the half-years whose figures a change would move.

mod catalogue;
mod check;
pub mod input;
mod items;
pub mod origin;
mod project;
pub mod records;
pub mod stale;
#[cfg(test)]
mod tests;
pub mod touches;
mod value;

use std::collections::HashMap;

use chrono::NaiveDate;

pub use check::{check, refs_to_compare};
pub use project::is_valid_ref;

use super::codes::Dimension;
use super::indicator::Aggregation;
use super::period::PeriodId;
use super::report::ReportState;
use super::validation::FieldError;

pub const MAX_PROJECTS: usize = 10_000;
pub const MAX_VALUES: usize = 100_000;
pub const MAX_NARRATIVES: usize = 20_000;
pub const MAX_REF_CHARS: usize = 64;
pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_ORGANISATION_CHARS: usize = 300;
pub const MAX_GOAL_CHARS: usize = 2_000;
pub const MAX_SOURCE_CHARS: usize = 500;
pub const MAX_COMMENT_CHARS: usize = 2_000;
pub const MAX_NARRATIVE_CHARS: usize = 10_000;
pub const MAX_ENTITIES: usize = 10_000;
/// Codes in one of a project's lists (branscher, verktyg, syften), and plans of one project:
/// far more than any code list or catalogue holds, few enough that one project's lists cost
/// little to read.
pub const MAX_CODES: usize = 1_000;
pub const MAX_PLANS: usize = 1_000;

/// Every code of every list, with a fokusomrade's sakomrade as its parent.
#[derive(Debug, Default)]
pub struct CodeLists(HashMap<String, HashMap<String, Option<String>>>);

impl CodeLists {
    pub fn insert(&mut self, dimension: String, code: String, parent: Option<String>) {
        self.0.entry(dimension).or_default().insert(code, parent);
    }

    fn has(&self, dimension: Dimension, code: &str) -> bool {
        self.0
            .get(dimension.as_str())
            .is_some_and(|codes| codes.contains_key(code))
    }

    fn parent(&self, dimension: Dimension, code: &str) -> Option<&str> {
        self.0.get(dimension.as_str())?.get(code)?.as_deref()
    }
}

/// What a value must obey, from its indicator.
#[derive(Debug, Clone)]
pub struct IndicatorRule {
    pub aggregation: Aggregation,
    pub by_sex: bool,
    pub decimals: u32,
    pub active: bool,
    /// Computed from a project field, never reported.
    pub derived: bool,
}

/// A half-year that has been opened for reporting.
#[derive(Debug, Clone)]
pub struct PeriodRule {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Closed for the writer: locked or past its deadline (or its year's), with no lock
    /// exception for the region, and the writer is not an admin.
    pub closed: bool,
    /// The state of the region's report of the half-year when it is signed off (submitted
    /// or accepted) and the writer is not an admin: no write may then touch the half-year.
    pub signed_off: Option<ReportState>,
}

/// What the database knows that the checks need.
#[derive(Debug, Default)]
pub struct Context {
    /// The region written to.
    pub region: String,
    pub codes: CodeLists,
    pub indicators: HashMap<String, IndicatorRule>,
    /// Half-years by id.
    pub periods: HashMap<String, PeriodRule>,
    /// The region's stored projects: ref → (start, end).
    pub stored_projects: HashMap<String, (NaiveDate, NaiveDate)>,
    /// The first and last half-years for which a stored project has values or narratives.
    pub reported: HashMap<String, (PeriodId, PeriodId)>,
    pub today: NaiveDate,
    /// The projects (with plans), values and narratives stored for the projects
    /// `refs_to_compare` names; nothing for the others.
    pub stored: stale::Stored,
}

#[derive(Debug, PartialEq)]
pub enum Rejection {
    /// Something is invalid (the list may also name closed periods).
    Invalid(Vec<FieldError>),
    /// Everything is valid, but some items write to periods closed for the writer, or
    /// change figures of a report signed off for the writer.
    Locked(Vec<FieldError>),
    /// Everything is valid, but cells of a workbook made from an older template were changed
    /// in the sheet and in the database since (see `stale`).
    Stale(Vec<FieldError>),
}
