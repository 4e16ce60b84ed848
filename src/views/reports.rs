//! Reports as clients read them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::report::ReportState;

/// Which transitions the caller may make now.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct MayMake {
    pub may_submit: bool,
    pub may_withdraw: bool,
    pub may_accept: bool,
    pub may_return: bool,
}

/// A region's report for a half-year, counted.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportSummary {
    pub region: String,
    pub period: String,
    pub state: ReportState,
    /// Increases with every transition; sent as the `ETag`, taken back in `If-Match`.
    pub revision: i64,
    /// The region's projects active in the half-year.
    pub projects: u64,
    /// Values reported for the half-year.
    pub values: u64,
    /// Required values and narratives not reported.
    pub missing: u64,
    #[serde(flatten)]
    pub may: MayMake,
}

/// What one project lacks for the half-year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MissingItems {
    #[serde(rename = "ref")]
    pub project_ref: String,
    /// Required indicators (its effektkedja's and its plans') without a value.
    pub indicators: Vec<String>,
    /// Whether the half-year's narrative is missing.
    pub narrative: bool,
}

/// One transition of a report, or an admin's change to an accepted report's data
/// (`from` = `to` = `accepted`). Never changed afterwards.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReportEvent {
    pub from: ReportState,
    pub to: ReportState,
    /// The token subject.
    pub by: String,
    pub role: String,
    pub at: DateTime<Utc>,
    pub comment: Option<String>,
    /// What was missing when the region signed off an incomplete report.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<MissingItems>>,
}

/// A report with its history and what is missing now.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    #[serde(flatten)]
    pub summary: ReportSummary,
    pub missing_by_project: Vec<MissingItems>,
    pub history: Vec<ReportEvent>,
}
