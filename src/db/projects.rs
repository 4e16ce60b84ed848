//! Projects with their multi-valued codes and indicator plans.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::{project_codes, project_indicators, projects};
use super::submissions::Writer;
use super::{DbConnection, history, insert_batch};
use crate::domain::codes::Dimension;
use crate::domain::period::PeriodId;
use crate::domain::submission::records::{PlanRecord, ProjectRecord};

#[derive(Queryable, Selectable)]
#[diesel(table_name = projects)]
pub struct ProjectRow {
    pub id: i64,
    pub region: String,
    pub ref_: String,
    pub title: String,
    pub organisation: String,
    pub status: String,
    pub project_type: String,
    pub sakomrade: String,
    pub fokusomrade: Option<String>,
    pub effektkedja: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub granted_sek: i64,
    pub total_budget_sek: i64,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = project_indicators, treat_none_as_default_value = false)]
pub struct PlanRow {
    pub project_id: i64,
    pub indicator: String,
    pub baseline: Option<i64>,
    pub baseline_year: Option<i64>,
    pub target: Option<i64>,
    pub goal: Option<String>,
    pub source: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = project_codes, treat_none_as_default_value = false)]
struct CodeRow<'a> {
    project_id: i64,
    dimension: &'a str,
    code: &'a str,
}

/// A stored project: its row and its record as a submission would state it.
pub struct StoredProject {
    pub row: ProjectRow,
    pub record: ProjectRecord,
}

/// Every project of a region: ref → (id, start, end).
pub fn dates_of_region(
    conn: &mut DbConnection,
    region: &str,
) -> QueryResult<HashMap<String, (i64, NaiveDate, NaiveDate)>> {
    let rows: Vec<(i64, String, NaiveDate, NaiveDate)> = projects::table
        .filter(projects::region.eq(region))
        .select((
            projects::id,
            projects::ref_,
            projects::start_date,
            projects::end_date,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, project_ref, start, end)| (project_ref, (id, start, end)))
        .collect())
}

/// The stored projects with these ids, with codes and plans, by id.
pub fn load(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<HashMap<i64, StoredProject>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(super::BATCH_ROWS) {
        let rows: Vec<ProjectRow> = projects::table
            .filter(projects::id.eq_any(chunk))
            .select(ProjectRow::as_select())
            .load(conn)?;
        let codes: Vec<(i64, String, String)> = project_codes::table
            .filter(project_codes::project_id.eq_any(chunk))
            .select((
                project_codes::project_id,
                project_codes::dimension,
                project_codes::code,
            ))
            .order((
                project_codes::project_id,
                project_codes::dimension,
                project_codes::code,
            ))
            .load(conn)?;
        let plans: Vec<PlanRow> = project_indicators::table
            .filter(project_indicators::project_id.eq_any(chunk))
            .order((
                project_indicators::project_id,
                project_indicators::indicator,
            ))
            .select(PlanRow::as_select())
            .load(conn)?;
        let mut codes_by_project: HashMap<i64, Vec<(String, String)>> = HashMap::new();
        for (id, dimension, code) in codes {
            codes_by_project
                .entry(id)
                .or_default()
                .push((dimension, code));
        }
        let mut plans_by_project: HashMap<i64, Vec<PlanRecord>> = HashMap::new();
        for plan in plans {
            plans_by_project
                .entry(plan.project_id)
                .or_default()
                .push(plan.into());
        }
        for row in rows {
            let codes = codes_by_project.remove(&row.id).unwrap_or_default();
            let plans = plans_by_project.remove(&row.id).unwrap_or_default();
            let record = record_of(&row, &codes, plans);
            found.insert(row.id, StoredProject { row, record });
        }
    }
    Ok(found)
}

impl From<PlanRow> for PlanRecord {
    fn from(plan: PlanRow) -> PlanRecord {
        PlanRecord {
            indicator: plan.indicator,
            baseline: plan.baseline,
            baseline_year: plan.baseline_year,
            target: plan.target,
            goal: plan.goal,
            source: plan.source,
        }
    }
}

/// The project as a submission would state it, from its row, its (dimension, code) pairs and
/// its plans.
pub fn record_of(
    row: &ProjectRow,
    codes: &[(String, String)],
    plans: Vec<PlanRecord>,
) -> ProjectRecord {
    let of = |dimension: Dimension| -> Vec<String> {
        codes
            .iter()
            .filter(|(d, _)| d == dimension.as_str())
            .map(|(_, code)| code.clone())
            .collect()
    };
    ProjectRecord {
        project_ref: row.ref_.clone(),
        title: row.title.clone(),
        organisation: row.organisation.clone(),
        status: row.status.clone(),
        project_type: row.project_type.clone(),
        sakomrade: row.sakomrade.clone(),
        fokusomrade: row.fokusomrade.clone(),
        effektkedja: row.effektkedja.clone(),
        branscher: of(Dimension::Bransch),
        verktyg: of(Dimension::Verktyg),
        syften: of(Dimension::Syfte),
        start_date: row.start_date,
        end_date: row.end_date,
        granted_sek: row.granted_sek,
        total_budget_sek: row.total_budget_sek,
        plans,
    }
}

/// Inserts a project with its codes and plans, and its history, and returns its id.
pub fn insert(
    conn: &mut DbConnection,
    region: &str,
    record: &ProjectRecord,
    writer: &Writer<'_>,
) -> QueryResult<i64> {
    let now = writer.now;
    let id = diesel::insert_into(projects::table)
        .values((
            projects::region.eq(region),
            projects::ref_.eq(&record.project_ref),
            fields(record),
            projects::created_at.eq(now),
            projects::updated_at.eq(now),
        ))
        .returning(projects::id)
        .get_result(conn)?;
    insert_codes_and_plans(conn, id, record)?;
    history::record_project(conn, id, region, record, writer, false)?;
    Ok(id)
}

/// Replaces a project's classification, codes and plans, keeping the earlier ones in its
/// history.
pub fn update(
    conn: &mut DbConnection,
    id: i64,
    region: &str,
    record: &ProjectRecord,
    writer: &Writer<'_>,
) -> QueryResult<()> {
    diesel::update(projects::table.find(id))
        .set((fields(record), projects::updated_at.eq(writer.now)))
        .execute(conn)?;
    history::record_project(conn, id, region, record, writer, true)?;
    diesel::delete(project_codes::table.filter(project_codes::project_id.eq(id))).execute(conn)?;
    diesel::delete(project_indicators::table.filter(project_indicators::project_id.eq(id)))
        .execute(conn)?;
    insert_codes_and_plans(conn, id, record)
}

#[allow(clippy::type_complexity)]
fn fields(
    record: &ProjectRecord,
) -> (
    diesel::dsl::Eq<projects::title, &String>,
    diesel::dsl::Eq<projects::organisation, &String>,
    diesel::dsl::Eq<projects::status, &String>,
    diesel::dsl::Eq<projects::project_type, &String>,
    diesel::dsl::Eq<projects::sakomrade, &String>,
    diesel::dsl::Eq<projects::fokusomrade, &Option<String>>,
    diesel::dsl::Eq<projects::effektkedja, &String>,
    diesel::dsl::Eq<projects::start_date, NaiveDate>,
    diesel::dsl::Eq<projects::end_date, NaiveDate>,
    diesel::dsl::Eq<projects::granted_sek, i64>,
    diesel::dsl::Eq<projects::total_budget_sek, i64>,
) {
    (
        projects::title.eq(&record.title),
        projects::organisation.eq(&record.organisation),
        projects::status.eq(&record.status),
        projects::project_type.eq(&record.project_type),
        projects::sakomrade.eq(&record.sakomrade),
        projects::fokusomrade.eq(&record.fokusomrade),
        projects::effektkedja.eq(&record.effektkedja),
        projects::start_date.eq(record.start_date),
        projects::end_date.eq(record.end_date),
        projects::granted_sek.eq(record.granted_sek),
        projects::total_budget_sek.eq(record.total_budget_sek),
    )
}

fn insert_codes_and_plans(
    conn: &mut DbConnection,
    id: i64,
    record: &ProjectRecord,
) -> QueryResult<()> {
    let codes: Vec<CodeRow> = [
        (Dimension::Bransch, &record.branscher),
        (Dimension::Verktyg, &record.verktyg),
        (Dimension::Syfte, &record.syften),
    ]
    .into_iter()
    .flat_map(|(dimension, codes)| {
        codes.iter().map(move |code| CodeRow {
            project_id: id,
            dimension: dimension.as_str(),
            code,
        })
    })
    .collect();
    insert_batch!(conn, project_codes::table, codes);
    let plans: Vec<PlanRow> = record
        .plans
        .iter()
        .map(|plan| PlanRow {
            project_id: id,
            indicator: plan.indicator.clone(),
            baseline: plan.baseline,
            baseline_year: plan.baseline_year,
            target: plan.target,
            goal: plan.goal.clone(),
            source: plan.source.clone(),
        })
        .collect();
    insert_batch!(conn, project_indicators::table, plans);
    Ok(())
}

/// Filters for listing a region's projects, each a code of its dimension.
pub struct ProjectFilter {
    pub status: Option<String>,
    pub project_type: Option<String>,
    pub sakomrade: Option<String>,
    pub fokusomrade: Option<String>,
    pub effektkedja: Option<String>,
    /// Only projects in this bransch (one of their branscher).
    pub bransch: Option<String>,
    /// Only projects whose dates overlap this span.
    pub active_between: Option<(NaiveDate, NaiveDate)>,
}

/// What a listed project is searched by.
#[derive(Queryable)]
pub struct Listed {
    pub id: i64,
    pub project_ref: String,
    pub title: String,
    pub organisation: String,
}

/// Every project of a region that the filter matches, by ref.
pub fn list(
    conn: &mut DbConnection,
    region: &str,
    filter: &ProjectFilter,
) -> QueryResult<Vec<Listed>> {
    let mut query = projects::table
        .filter(projects::region.eq(region))
        .into_boxed();
    if let Some(status) = &filter.status {
        query = query.filter(projects::status.eq(status.clone()));
    }
    if let Some(project_type) = &filter.project_type {
        query = query.filter(projects::project_type.eq(project_type.clone()));
    }
    if let Some(sakomrade) = &filter.sakomrade {
        query = query.filter(projects::sakomrade.eq(sakomrade.clone()));
    }
    if let Some(fokusomrade) = &filter.fokusomrade {
        query = query.filter(projects::fokusomrade.eq(fokusomrade.clone()));
    }
    if let Some(effektkedja) = &filter.effektkedja {
        query = query.filter(projects::effektkedja.eq(effektkedja.clone()));
    }
    if let Some(bransch) = &filter.bransch {
        query = query.filter(
            projects::id.eq_any(
                project_codes::table
                    .filter(project_codes::dimension.eq(Dimension::Bransch.as_str()))
                    .filter(project_codes::code.eq(bransch.clone()))
                    .select(project_codes::project_id),
            ),
        );
    }
    if let Some((start, end)) = filter.active_between {
        query = query.filter(
            projects::start_date
                .le(end)
                .and(projects::end_date.ge(start)),
        );
    }
    query
        .order(projects::ref_)
        .select((
            projects::id,
            projects::ref_,
            projects::title,
            projects::organisation,
        ))
        .load(conn)
}

/// The id of a region's project by ref.
pub fn find_id(
    conn: &mut DbConnection,
    region: &str,
    project_ref: &str,
) -> QueryResult<Option<i64>> {
    projects::table
        .filter(
            projects::region
                .eq(region)
                .and(projects::ref_.eq(project_ref)),
        )
        .select(projects::id)
        .first(conn)
        .optional()
}

/// The first and last half-years for which each of the region's projects `refs` has values
/// or narratives: ref → (first, last). Half-year ids sort as text.
pub fn reported_half_years(
    conn: &mut DbConnection,
    region: &str,
    refs: &[&str],
) -> QueryResult<HashMap<String, (PeriodId, PeriodId)>> {
    let mut reported: HashMap<String, (PeriodId, PeriodId)> = HashMap::new();
    for refs in refs.chunks(super::BATCH_ROWS) {
        for (project_ref, first, last) in reported_in(conn, region, refs)? {
            let (Some(first), Some(last)) = (
                first.as_deref().and_then(PeriodId::parse),
                last.as_deref().and_then(PeriodId::parse),
            ) else {
                continue;
            };
            let span = reported.entry(project_ref).or_insert((first, last));
            *span = (span.0.min(first), span.1.max(last));
        }
    }
    Ok(reported)
}

/// (ref, first, last) of values and then of narratives, for projects `refs`.
#[allow(clippy::type_complexity)]
fn reported_in(
    conn: &mut DbConnection,
    region: &str,
    refs: &[&str],
) -> QueryResult<Vec<(String, Option<String>, Option<String>)>> {
    use super::schema::{indicator_values, narratives};
    let values: Vec<(String, Option<String>, Option<String>)> = indicator_values::table
        .inner_join(projects::table)
        .filter(projects::region.eq(region))
        .filter(projects::ref_.eq_any(refs))
        .group_by(projects::ref_)
        .select((
            projects::ref_,
            diesel::dsl::min(indicator_values::period),
            diesel::dsl::max(indicator_values::period),
        ))
        .load(conn)?;
    let texts: Vec<(String, Option<String>, Option<String>)> = narratives::table
        .inner_join(projects::table)
        .filter(projects::region.eq(region))
        .filter(projects::ref_.eq_any(refs))
        .group_by(projects::ref_)
        .select((
            projects::ref_,
            diesel::dsl::min(narratives::period),
            diesel::dsl::max(narratives::period),
        ))
        .load(conn)?;
    Ok(values.into_iter().chain(texts).collect())
}

/// The refs of the projects `ids`, by id.
pub fn refs_of(conn: &mut DbConnection, ids: &[i64]) -> QueryResult<HashMap<i64, String>> {
    let mut refs = HashMap::new();
    for chunk in ids.chunks(super::BATCH_ROWS) {
        let rows: Vec<(i64, String)> = projects::table
            .filter(projects::id.eq_any(chunk))
            .select((projects::id, projects::ref_))
            .load(conn)?;
        refs.extend(rows);
    }
    Ok(refs)
}
