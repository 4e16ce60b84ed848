//! The facts completeness is counted from: active projects, what their effektkedja and
//! plans require, and when each value was first reported.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{
    data_versions, indicator_requirements, project_indicators, projects, value_revisions,
};
use crate::domain::period::PeriodId;

/// What completeness is counted from.
pub struct Facts {
    /// Projects active in the span: (id, region, effektkedja, start, end).
    pub projects: Vec<(i64, String, String, NaiveDate, NaiveDate)>,
    /// (effektkedja, indicator) pairs that are required.
    pub requirements: Vec<(String, String)>,
    /// (project id, indicator) plans.
    pub plans: Vec<(i64, String)>,
    /// Reported values in the span: (project id, indicator, half-year) → first reported.
    pub reported: HashMap<(i64, String, String), NaiveDateTime>,
}

pub fn facts(
    conn: &mut DbConnection,
    half_years: &[PeriodId],
    start: NaiveDate,
    end: NaiveDate,
) -> QueryResult<Facts> {
    let projects = projects::table
        .filter(
            projects::start_date
                .le(end)
                .and(projects::end_date.ge(start)),
        )
        .select((
            projects::id,
            projects::region,
            projects::effektkedja,
            projects::start_date,
            projects::end_date,
        ))
        .load(conn)?;
    let requirements = indicator_requirements::table
        .select((
            indicator_requirements::effektkedja,
            indicator_requirements::indicator,
        ))
        .load(conn)?;
    let plans = project_indicators::table
        .select((
            project_indicators::project_id,
            project_indicators::indicator,
        ))
        .load(conn)?;
    // When a value was reported is the stamp of the version that first wrote it: the one
    // clock of every instance.
    let first_reports: Vec<(i64, String, String, Option<NaiveDateTime>)> = value_revisions::table
        .inner_join(data_versions::table.on(data_versions::version.eq(value_revisions::version)))
        .filter(value_revisions::period.eq_any(half_years.iter().map(PeriodId::to_string)))
        .group_by((
            value_revisions::project_id,
            value_revisions::indicator,
            value_revisions::period,
        ))
        .select((
            value_revisions::project_id,
            value_revisions::indicator,
            value_revisions::period,
            diesel::dsl::min(data_versions::committed_at),
        ))
        .load(conn)?;
    let reported = first_reports
        .into_iter()
        .filter_map(|(project_id, indicator, period, first)| {
            Some(((project_id, indicator, period), first?))
        })
        .collect();
    Ok(Facts {
        projects,
        requirements,
        plans,
        reported,
    })
}
