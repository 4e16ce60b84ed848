//! The facts aggregates are computed from: the matched projects and the values of one
//! indicator in a span of half-years, as they are now or as they stood at an instant.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{
    indicator_values, project_codes, project_indicators, projects, value_entities, value_revisions,
};
use crate::domain::aggregate::{ProjectFacts, ValueFact};
use crate::domain::codes::Dimension;
use crate::domain::period::PeriodId;

/// Which projects an aggregate covers. Empty lists do not filter.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    pub regions: Vec<String>,
    pub sakomraden: Vec<String>,
    pub fokusomraden: Vec<String>,
    pub effektkedjor: Vec<String>,
    pub branscher: Vec<String>,
    pub project_types: Vec<String>,
    /// Only projects whose dates overlap this span.
    pub active_between: (NaiveDate, NaiveDate),
    /// Only projects that existed then.
    pub as_of: Option<NaiveDateTime>,
}

/// The project field a derived indicator sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectField {
    GrantedSek,
    TotalBudgetSek,
}

/// The matched projects, with their branscher when `with_branscher`, their target for
/// `target_indicator`, and `field` when given.
pub fn matched_projects(
    conn: &mut DbConnection,
    filter: &ProjectFilter,
    with_branscher: bool,
    target_indicator: Option<&str>,
    field: Option<ProjectField>,
) -> QueryResult<Vec<ProjectFacts>> {
    let (start, end) = filter.active_between;
    let mut query = projects::table
        .filter(
            projects::start_date
                .le(end)
                .and(projects::end_date.ge(start)),
        )
        .into_boxed();
    if !filter.regions.is_empty() {
        query = query.filter(projects::region.eq_any(filter.regions.clone()));
    }
    if !filter.sakomraden.is_empty() {
        query = query.filter(projects::sakomrade.eq_any(filter.sakomraden.clone()));
    }
    if !filter.fokusomraden.is_empty() {
        query = query.filter(projects::fokusomrade.eq_any(filter.fokusomraden.clone()));
    }
    if !filter.effektkedjor.is_empty() {
        query = query.filter(projects::effektkedja.eq_any(filter.effektkedjor.clone()));
    }
    if !filter.project_types.is_empty() {
        query = query.filter(projects::project_type.eq_any(filter.project_types.clone()));
    }
    if !filter.branscher.is_empty() {
        query = query.filter(
            projects::id.eq_any(
                project_codes::table
                    .filter(project_codes::dimension.eq(Dimension::Bransch.as_str()))
                    .filter(project_codes::code.eq_any(filter.branscher.clone()))
                    .select(project_codes::project_id),
            ),
        );
    }
    if let Some(as_of) = filter.as_of {
        query = query.filter(projects::created_at.le(as_of));
    }
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        i64,
        String,
        String,
        Option<String>,
        String,
        String,
        NaiveDate,
        NaiveDate,
        i64,
        i64,
    )> = query
        .select((
            projects::id,
            projects::region,
            projects::sakomrade,
            projects::fokusomrade,
            projects::effektkedja,
            projects::project_type,
            projects::start_date,
            projects::end_date,
            projects::granted_sek,
            projects::total_budget_sek,
        ))
        .load(conn)?;
    let mut branscher: HashMap<i64, Vec<String>> = HashMap::new();
    if with_branscher {
        let codes: Vec<(i64, String)> = project_codes::table
            .filter(project_codes::dimension.eq(Dimension::Bransch.as_str()))
            .select((project_codes::project_id, project_codes::code))
            .load(conn)?;
        for (id, code) in codes {
            branscher.entry(id).or_default().push(code);
        }
    }
    let mut targets: HashMap<i64, i64> = HashMap::new();
    if let Some(indicator) = target_indicator {
        let planned: Vec<(i64, Option<i64>)> = project_indicators::table
            .filter(project_indicators::indicator.eq(indicator))
            .select((project_indicators::project_id, project_indicators::target))
            .load(conn)?;
        targets.extend(
            planned
                .into_iter()
                .filter_map(|(id, target)| Some((id, target?))),
        );
    }
    Ok(rows
        .into_iter()
        .map(
            |(
                id,
                region,
                sakomrade,
                fokusomrade,
                effektkedja,
                project_type,
                start,
                end,
                granted,
                budget,
            )| ProjectFacts {
                id,
                region,
                sakomrade,
                fokusomrade,
                effektkedja,
                project_type,
                branscher: branscher.remove(&id).unwrap_or_default(),
                start,
                end,
                field: match field {
                    Some(ProjectField::GrantedSek) => granted,
                    Some(ProjectField::TotalBudgetSek) => budget,
                    None => 0,
                },
                target: targets.get(&id).copied(),
            },
        )
        .collect())
}

fn period_ids(half_years: &[PeriodId]) -> Vec<String> {
    half_years.iter().map(|h| h.to_string()).collect()
}

/// The current values of `indicator` in these half-years, with their enterprises when
/// `with_entities`.
pub fn current_values(
    conn: &mut DbConnection,
    indicator: &str,
    half_years: &[PeriodId],
    with_entities: bool,
) -> QueryResult<Vec<ValueFact>> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(i64, String, i64, Option<i64>, Option<i64>, Option<i64>)> =
        indicator_values::table
            .filter(indicator_values::indicator.eq(indicator))
            .filter(indicator_values::period.eq_any(period_ids(half_years)))
            .select((
                indicator_values::project_id,
                indicator_values::period,
                indicator_values::value,
                indicator_values::kvinnor,
                indicator_values::man,
                indicator_values::ej_angivet,
            ))
            .load(conn)?;
    let mut entities: HashMap<(i64, String), Vec<String>> = HashMap::new();
    if with_entities {
        let found: Vec<(i64, String, String)> = value_entities::table
            .filter(value_entities::indicator.eq(indicator))
            .filter(value_entities::period.eq_any(period_ids(half_years)))
            .select((
                value_entities::project_id,
                value_entities::period,
                value_entities::orgnr,
            ))
            .load(conn)?;
        for (project_id, period, orgnr) in found {
            entities
                .entry((project_id, period))
                .or_default()
                .push(orgnr);
        }
    }
    Ok(rows
        .into_iter()
        .filter_map(|(project_id, period, value, kvinnor, man, ej_angivet)| {
            let entities = entities
                .remove(&(project_id, period.clone()))
                .unwrap_or_default();
            Some(ValueFact {
                project_id,
                half_year: PeriodId::parse(&period)?,
                value,
                parts: parts(kvinnor, man, ej_angivet),
                entities,
            })
        })
        .collect())
}

fn parts(kvinnor: Option<i64>, man: Option<i64>, ej_angivet: Option<i64>) -> Option<[i64; 3]> {
    Some([kvinnor?, man?, ej_angivet?])
}

/// The values of `indicator` in these half-years as they stood at `as_of`: for each
/// project and half-year the last revision made by then.
pub fn values_as_of(
    conn: &mut DbConnection,
    indicator: &str,
    half_years: &[PeriodId],
    as_of: NaiveDateTime,
) -> QueryResult<Vec<ValueFact>> {
    #[allow(clippy::type_complexity)]
    let rows: Vec<(
        i64,
        String,
        i64,
        Option<i64>,
        Option<i64>,
        Option<i64>,
        Option<String>,
    )> = value_revisions::table
        .filter(value_revisions::indicator.eq(indicator))
        .filter(value_revisions::period.eq_any(period_ids(half_years)))
        .filter(value_revisions::changed_at.le(as_of))
        .order(value_revisions::id)
        .select((
            value_revisions::project_id,
            value_revisions::period,
            value_revisions::new_value,
            value_revisions::new_kvinnor,
            value_revisions::new_man,
            value_revisions::new_ej_angivet,
            value_revisions::new_entities,
        ))
        .load(conn)?;
    let mut last: HashMap<(i64, String), ValueFact> = HashMap::new();
    for (project_id, period, value, kvinnor, man, ej_angivet, entities) in rows {
        let Some(half_year) = PeriodId::parse(&period) else {
            continue;
        };
        let entities: Vec<String> = match entities {
            Some(json) => serde_json::from_str(&json)
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
            None => Vec::new(),
        };
        last.insert(
            (project_id, period),
            ValueFact {
                project_id,
                half_year,
                value,
                parts: parts(kvinnor, man, ej_angivet),
                entities,
            },
        );
    }
    let mut facts: Vec<ValueFact> = last.into_values().collect();
    facts.sort_by_key(|f| (f.project_id, f.half_year));
    Ok(facts)
}

/// What completeness is counted from.
pub struct CompletenessFacts {
    /// Projects active in the span: (id, region, effektkedja, start, end).
    pub projects: Vec<(i64, String, String, NaiveDate, NaiveDate)>,
    /// (effektkedja, indicator) pairs that are required.
    pub requirements: Vec<(String, String)>,
    /// (project id, indicator) plans.
    pub plans: Vec<(i64, String)>,
    /// Reported values in the span: (project id, indicator, half-year) → first reported.
    pub reported: HashMap<(i64, String, String), NaiveDateTime>,
}

pub fn completeness_facts(
    conn: &mut DbConnection,
    half_years: &[PeriodId],
    start: NaiveDate,
    end: NaiveDate,
) -> QueryResult<CompletenessFacts> {
    use super::schema::indicator_requirements;
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
    let first_reports: Vec<(i64, String, String, Option<NaiveDateTime>)> = value_revisions::table
        .filter(value_revisions::period.eq_any(period_ids(half_years)))
        .group_by((
            value_revisions::project_id,
            value_revisions::indicator,
            value_revisions::period,
        ))
        .select((
            value_revisions::project_id,
            value_revisions::indicator,
            value_revisions::period,
            diesel::dsl::min(value_revisions::changed_at),
        ))
        .load(conn)?;
    let reported = first_reports
        .into_iter()
        .filter_map(|(project_id, indicator, period, first)| {
            Some(((project_id, indicator, period), first?))
        })
        .collect();
    Ok(CompletenessFacts {
        projects,
        requirements,
        plans,
        reported,
    })
}
