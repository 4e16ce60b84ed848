//! The answer to an aggregate question, as clients read it and snapshots hash it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::aggregate::question::Per;
use crate::domain::indicator::Aggregation;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IndicatorSummary {
    pub code: String,
    pub name_sv: String,
    pub name_en: String,
    pub unit: String,
    pub aggregation: Aggregation,
    pub decimals: i64,
}

/// One group's figures; the group's codes come first, one field per `group_by` dimension
/// (`null` for projects without that code).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AggregateRow {
    #[serde(flatten)]
    pub groups: BTreeMap<String, Option<String>>,
    /// The indicator's value for the group, as measured by the answer's `per`; null when
    /// nothing is reported (or a ratio's denominator is zero, or per project or per million
    /// kronor the group has no projects or no kronor granted).
    pub value: Option<Decimal>,
    /// For ratios: the sum of the numerator indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator: Option<Decimal>,
    /// For ratios: the sum of the denominator indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<Decimal>,
    /// The sum of the matched projects' targets (not for ratios, nor by period or sex), as
    /// measured by the answer's `per`.
    pub target: Option<Decimal>,
    /// The value as a percentage of the target, both in total whatever the answer's `per`
    /// (a value and its target divided by the same members keep their share), rounded half
    /// away from zero to one decimal place; null when either is missing or the target is 0.
    pub target_share: Option<Decimal>,
    /// `reporting_projects` as a percentage of `projects`, rounded half away from zero to
    /// one decimal place; null when the group has no projects.
    pub reporting_share: Option<Decimal>,
    /// Matched projects active in the period.
    pub projects: u64,
    /// Of those, the ones with a reported value.
    pub reporting_projects: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AggregateStats {
    pub median: Option<Decimal>,
    pub mean: Option<Decimal>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
}

/// What counts: `all` that is stored, or only the region half-years of `accepted` reports
/// (their values, and each project only in its half-years whose report is accepted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ReportBasis {
    All,
    Accepted,
}

/// The reports of the period's half-years (21 regions each) by state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ReportCounts {
    pub basis: ReportBasis,
    pub open: u64,
    pub submitted: u64,
    pub accepted: u64,
    pub returned: u64,
    /// With basis `accepted`: exactly the reports the figures rest on, as `region:half-year`
    /// (`07:2026H1`), in region and half-year order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rests_on: Option<Vec<String>>,
}

/// An indicator aggregated over the matched projects.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Aggregate {
    pub indicator: IndicatorSummary,
    pub period: String,
    pub group_by: Vec<String>,
    /// What every value and target (and so the stats) is divided by: `total` (not
    /// divided), `project` (the group's matched projects, reported or not) or
    /// `granted_msek` (the millions of kronor granted to them). Divided figures are rounded
    /// half away from zero to two places beyond the indicator's decimals.
    #[serde(default)]
    pub per: Per,
    /// The instant the figures describe: the `as_of` asked, or for a live answer the instant
    /// the last write it counts was committed (by the database's clock), so that the same
    /// question asked as of it gives the same figures.
    pub as_of: DateTime<Utc>,
    /// What the figures rest on: which values count, and the regions' reports of the
    /// period's half-years by state, as they stood at `as_of`.
    pub reports: ReportCounts,
    pub rows: Vec<AggregateRow>,
    /// Over everything matched; not the sum of the rows.
    pub national: AggregateRow,
    /// Over the rows' values.
    pub stats: AggregateStats,
}
