//! How completely each region has reported a period.

use std::collections::{BTreeSet, HashMap};

use actix_web::{get, web};
use chrono::{Days, TimeZone};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::app::AppState;
use crate::auth::{AnyRole, Authorized};
use crate::db;
use crate::domain::aggregate::PeriodSpan;
use crate::domain::completeness::{self, OpenHalfYear, ProjectNeeds, Tally};
use crate::domain::indicator::Aggregation;
use crate::domain::period::swedish_today;
use crate::error::AppError;

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
}

impl CompletenessRow {
    fn new(region: Option<String>, tally: &Tally) -> Self {
        CompletenessRow {
            region,
            active_projects: tally.active_projects,
            required_values: tally.required_values,
            reported_values: tally.reported_values,
            missing_values: tally.missing_values,
            on_time_values: tally.on_time_values,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct Completeness {
    pub period: String,
    /// The half-years counted: those opened for reporting that have started.
    pub half_years: Vec<String>,
    /// Every region, reporting or not.
    pub regions: Vec<CompletenessRow>,
    pub national: CompletenessRow,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompletenessParams {
    /// `YYYY`, `YYYYH1`, `YYYYH2` or a range.
    pub period: String,
}

/// Per region: active projects, required values, reported, missing and on time.
#[utoipa::path(
    tag = "aggregates",
    security(("bearer" = [])),
    params(CompletenessParams),
    responses((status = 200, description = "Completeness per region", body = Completeness))
)]
#[get("/completeness")]
pub async fn get_completeness(
    _caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    params: web::Query<CompletenessParams>,
) -> Result<web::Json<Completeness>, AppError> {
    let period = params.into_inner().period;
    let span = PeriodSpan::parse(&period).ok_or_else(|| {
        AppError::invalid(
            "period",
            "invalid_period",
            "must be YYYY, YYYYH1, YYYYH2 or a range A..B",
        )
    })?;
    let queried = span.clone();
    let answer = state
        .db(move |conn| {
            let facts = db::aggregates::completeness_facts(
                conn,
                &queried.half_years,
                queried.start(),
                queried.end(),
            )?;
            let catalogue = db::indicators::list(conn)?;
            let periods = db::periods::list(conn)?;
            let regions = db::reference::list_regions(conn)?;
            Ok((facts, catalogue, periods, regions))
        })
        .await?;
    let (facts, catalogue, periods, regions) = answer;
    // What each indicator asks to be reported: a ratio its parts, a derived one nothing.
    let reported_as: HashMap<String, Vec<String>> = catalogue
        .iter()
        .filter(|(row, _)| row.active && row.derived_from.is_none())
        .map(|(row, _)| {
            let parts = match (
                Aggregation::parse(&row.aggregation),
                &row.numerator,
                &row.denominator,
            ) {
                (Some(Aggregation::Ratio), Some(n), Some(d)) => vec![n.clone(), d.clone()],
                _ => vec![row.code.clone()],
            };
            (row.code.clone(), parts)
        })
        .collect();
    let mut required_by_effektkedja: HashMap<&str, Vec<&str>> = HashMap::new();
    for (effektkedja, indicator) in &facts.requirements {
        required_by_effektkedja
            .entry(effektkedja)
            .or_default()
            .push(indicator);
    }
    let mut plans: HashMap<i64, Vec<&str>> = HashMap::new();
    for (project_id, indicator) in &facts.plans {
        plans.entry(*project_id).or_default().push(indicator);
    }
    let needs: Vec<ProjectNeeds> = facts
        .projects
        .iter()
        .map(|(id, region, effektkedja, start, end)| {
            let wanted = required_by_effektkedja
                .get(effektkedja.as_str())
                .into_iter()
                .flatten()
                .chain(plans.get(id).into_iter().flatten());
            let indicators: BTreeSet<String> = wanted
                .flat_map(|code| reported_as.get(*code).cloned().unwrap_or_default())
                .collect();
            ProjectNeeds {
                id: *id,
                region: region.clone(),
                start: *start,
                end: *end,
                indicators,
            }
        })
        .collect();
    let today = swedish_today();
    let open: Vec<OpenHalfYear> = span
        .half_years
        .iter()
        .filter(|h| h.start_date() <= today)
        .filter_map(|h| {
            let (row, _) = periods.iter().find(|(row, _)| row.id == h.to_string())?;
            Some(OpenHalfYear {
                id: *h,
                on_time_until: end_of_swedish_day(row.deadline),
            })
        })
        .collect();
    let (tallies, national) = completeness::count(&needs, &open, &facts.reported);
    Ok(web::Json(Completeness {
        period,
        half_years: open.iter().map(|h| h.id.to_string()).collect(),
        regions: regions
            .into_iter()
            .map(|region| {
                let tally = tallies.get(&region.code).cloned().unwrap_or_default();
                CompletenessRow::new(Some(region.code), &tally)
            })
            .collect(),
        national: CompletenessRow::new(None, &national),
    }))
}

/// The last instant (UTC) of a date in Sweden.
fn end_of_swedish_day(date: chrono::NaiveDate) -> chrono::NaiveDateTime {
    let next_midnight = (date + Days::new(1))
        .and_hms_opt(0, 0, 0)
        .expect("midnight exists");
    let local = chrono_tz::Europe::Stockholm
        .from_local_datetime(&next_midnight)
        .earliest()
        .expect("midnight exists in Sweden");
    local.naive_utc() - chrono::Duration::microseconds(1)
}

#[cfg(test)]
mod tests {
    #[test]
    fn deadlines_end_at_swedish_midnight() {
        let date = chrono::NaiveDate::from_ymd_opt(2026, 9, 30).unwrap();
        assert_eq!(
            super::end_of_swedish_day(date).to_string(),
            "2026-09-30 21:59:59.999999"
        );
        let winter = chrono::NaiveDate::from_ymd_opt(2027, 1, 31).unwrap();
        assert_eq!(
            super::end_of_swedish_day(winter).to_string(),
            "2027-01-31 22:59:59.999999"
        );
    }
}
