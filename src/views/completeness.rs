//! How completely each region has reported, as clients read it.

use serde::Serialize;
use utoipa::ToSchema;

use std::collections::BTreeMap;

use crate::domain::completeness::Tally;
use crate::domain::report::ReportState;

#[derive(Serialize, ToSchema)]
pub struct CompletenessRow {
    /// Län code; absent in the national total.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Projects active in the period.
    pub active_projects: u64,
    /// Values their effektkedja and plans require, per open half-year.
    pub required_values: u64,
    pub reported_values: u64,
    pub missing_values: u64,
    /// Reported by the half-year's deadline.
    pub on_time_values: u64,
    /// The region's report of each counted half-year; absent in the national total.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub reports: BTreeMap<String, ReportState>,
}

impl CompletenessRow {
    pub fn new(region: Option<String>, tally: &Tally) -> Self {
        CompletenessRow {
            region,
            active_projects: tally.active_projects,
            required_values: tally.required_values,
            reported_values: tally.reported_values,
            missing_values: tally.missing_values,
            on_time_values: tally.on_time_values,
            reports: BTreeMap::new(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Completeness {
    pub period: String,
    /// The half-years counted: those opened for reporting that have started.
    pub half_years: Vec<String>,
    /// Every region the caller may see (a region token: its own), reporting or not.
    pub regions: Vec<CompletenessRow>,
    pub national: CompletenessRow,
}
