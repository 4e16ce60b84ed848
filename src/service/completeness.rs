//! How completely each region has reported a period: what each active project's
//! effektkedja and plans require per open half-year, against what was reported.

use std::collections::{BTreeSet, HashMap};

use chrono::{Days, NaiveDate, NaiveDateTime, TimeZone};

use crate::auth::{Principal, Role};
use crate::db::{self, DbConnection};
use crate::domain::completeness::{self, OpenHalfYear, ProjectNeeds};
use crate::domain::indicator::Aggregation;
use crate::domain::period::swedish_today;
use crate::domain::period::{PeriodId, PeriodSpan};
use crate::domain::report::ReportState;
use crate::error::AppError;
use crate::views::completeness::{Completeness, CompletenessRow};

/// The completeness for `period` (checked as `span`) of every region `principal` may see,
/// and the nation's. A region's token sees its own region only, as in `/reports`: how far
/// other regions have come, and their report states, are for Tillväxtverket to follow, not
/// for their peers. The national row is a national figure, like an aggregate, for all.
pub fn answer(
    conn: &mut DbConnection,
    principal: &Principal,
    period: String,
    span: &PeriodSpan,
) -> Result<Completeness, AppError> {
    let (needs, first_reported) = project_needs(conn, &span.half_years, span.start(), span.end())?;
    let periods = db::periods::list(conn)?;
    let regions = db::reference::list_regions(conn)?
        .into_iter()
        .filter(|region| match (principal.role, &principal.region) {
            (Role::Region, Some(own)) => own.as_str() == region.code,
            (Role::Region, None) => false,
            _ => true,
        });
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
    let (tallies, national) = completeness::count(&needs, &open, &first_reported);
    let open_ids: Vec<String> = open.iter().map(|h| h.id.to_string()).collect();
    let states = db::reports::states_at(conn, &open_ids, None)?;
    Ok(Completeness {
        period,
        half_years: open.iter().map(|h| h.id.to_string()).collect(),
        regions: regions
            .map(|region| {
                let tally = tallies.get(&region.code).cloned().unwrap_or_default();
                let reports = open_ids
                    .iter()
                    .map(|period| {
                        let state = states
                            .get(&(region.code.clone(), period.clone()))
                            .copied()
                            .unwrap_or(ReportState::Open);
                        (period.clone(), state)
                    })
                    .collect();
                CompletenessRow {
                    reports,
                    ..CompletenessRow::new(Some(region.code), &tally)
                }
            })
            .collect(),
        national: CompletenessRow::new(None, &national),
    })
}

/// The projects active between `start` and `end` with the indicators each must report (its
/// effektkedja's and its plans', a ratio as its parts), and when each (project, indicator,
/// half-year) of `half_years` was first reported.
#[allow(clippy::type_complexity)]
pub fn project_needs(
    conn: &mut DbConnection,
    half_years: &[PeriodId],
    start: NaiveDate,
    end: NaiveDate,
) -> Result<
    (
        Vec<ProjectNeeds>,
        HashMap<(i64, String, String), NaiveDateTime>,
    ),
    AppError,
> {
    let facts = db::completeness::facts(conn, half_years, start, end)?;
    let catalogue = db::indicators::list(conn)?;
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
    Ok((needs, facts.reported))
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
