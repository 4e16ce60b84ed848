//! The type-2 history of what figures depend on besides values: projects with their codes
//! and plans, and the indicator catalogue. A row was current from the data version
//! `valid_from` until the version `valid_to` (NULL while current); a change closes the
//! current rows at its version and adds the new ones from it. `as_of` reads the rows current
//! at a version (`db::aggregates`), the live answer the current tables.

use diesel::prelude::*;

use chrono::NaiveDateTime;

use super::indicators::IndicatorRow;
use super::projects::{PlanRow, ProjectRow, record_of};
use super::schema::{
    indicator_history, project_code_history, project_history, project_indicator_history, projects,
};
use super::submissions::Writer;
use super::{DbConnection, insert_batch};
use crate::domain::codes::Dimension;
use crate::domain::submission::records::ProjectRecord;

#[derive(Insertable)]
#[diesel(table_name = project_code_history, treat_none_as_default_value = false)]
struct CodeVersion<'a> {
    project_id: i64,
    dimension: &'a str,
    code: &'a str,
    valid_from: i64,
}

#[derive(Insertable)]
#[diesel(table_name = project_indicator_history, treat_none_as_default_value = false)]
struct PlanVersion<'a> {
    project_id: i64,
    indicator: &'a str,
    baseline: Option<i64>,
    baseline_year: Option<i64>,
    target: Option<i64>,
    goal: Option<&'a str>,
    source: Option<&'a str>,
    valid_from: i64,
}

/// Records `record` as project `id`'s state from the writer's version on; `replaces` when
/// the project had a state before.
pub fn record_project(
    conn: &mut DbConnection,
    id: i64,
    region: &str,
    record: &ProjectRecord,
    writer: &Writer<'_>,
    replaces: bool,
) -> QueryResult<()> {
    let version = writer.version;
    if replaces {
        diesel::update(
            project_history::table
                .filter(project_history::project_id.eq(id))
                .filter(project_history::valid_to.is_null()),
        )
        .set(project_history::valid_to.eq(version))
        .execute(conn)?;
        diesel::update(
            project_code_history::table
                .filter(project_code_history::project_id.eq(id))
                .filter(project_code_history::valid_to.is_null()),
        )
        .set(project_code_history::valid_to.eq(version))
        .execute(conn)?;
        diesel::update(
            project_indicator_history::table
                .filter(project_indicator_history::project_id.eq(id))
                .filter(project_indicator_history::valid_to.is_null()),
        )
        .set(project_indicator_history::valid_to.eq(version))
        .execute(conn)?;
    }
    diesel::insert_into(project_history::table)
        .values((
            project_history::project_id.eq(id),
            project_history::valid_from.eq(version),
            project_history::region.eq(region),
            project_history::title.eq(&record.title),
            project_history::organisation.eq(&record.organisation),
            project_history::status.eq(&record.status),
            project_history::project_type.eq(&record.project_type),
            project_history::sakomrade.eq(&record.sakomrade),
            project_history::fokusomrade.eq(&record.fokusomrade),
            project_history::effektkedja.eq(&record.effektkedja),
            project_history::start_date.eq(record.start_date),
            project_history::end_date.eq(record.end_date),
            project_history::granted_sek.eq(record.granted_sek),
            project_history::total_budget_sek.eq(record.total_budget_sek),
            project_history::changed_at.eq(writer.now),
            project_history::changed_by.eq(writer.subject),
        ))
        .execute(conn)?;
    let codes: Vec<CodeVersion> = [
        (Dimension::Bransch, &record.branscher),
        (Dimension::Verktyg, &record.verktyg),
        (Dimension::Syfte, &record.syften),
    ]
    .into_iter()
    .flat_map(|(dimension, codes)| {
        codes.iter().map(move |code| CodeVersion {
            project_id: id,
            dimension: dimension.as_str(),
            code,
            valid_from: version,
        })
    })
    .collect();
    insert_batch!(conn, project_code_history::table, codes);
    let plans: Vec<PlanVersion> = record
        .plans
        .iter()
        .map(|plan| PlanVersion {
            project_id: id,
            indicator: &plan.indicator,
            baseline: plan.baseline,
            baseline_year: plan.baseline_year,
            target: plan.target,
            goal: plan.goal.as_deref(),
            source: plan.source.as_deref(),
            valid_from: version,
        })
        .collect();
    insert_batch!(conn, project_indicator_history::table, plans);
    Ok(())
}

/// Records `row` as the indicator's definition from `version` on.
pub fn record_indicator(
    conn: &mut DbConnection,
    row: &IndicatorRow,
    version: i64,
) -> QueryResult<()> {
    diesel::update(
        indicator_history::table
            .filter(indicator_history::code.eq(&row.code))
            .filter(indicator_history::valid_to.is_null()),
    )
    .set(indicator_history::valid_to.eq(version))
    .execute(conn)?;
    diesel::insert_into(indicator_history::table)
        .values((
            indicator_history::code.eq(&row.code),
            indicator_history::name_sv.eq(&row.name_sv),
            indicator_history::name_en.eq(&row.name_en),
            indicator_history::unit.eq(&row.unit),
            indicator_history::level.eq(&row.level),
            indicator_history::aggregation.eq(&row.aggregation),
            indicator_history::numerator.eq(&row.numerator),
            indicator_history::denominator.eq(&row.denominator),
            indicator_history::by_sex.eq(row.by_sex),
            indicator_history::decimals.eq(row.decimals),
            indicator_history::derived_from.eq(&row.derived_from),
            indicator_history::active.eq(row.active),
            indicator_history::valid_from.eq(version),
        ))
        .execute(conn)?;
    Ok(())
}

/// When a version of a project began and ended, and who made it.
pub struct VersionOf {
    /// The data version from which it was the project's state.
    pub valid_from: i64,
    /// The data version from which it no longer was; `None` while current.
    pub valid_to: Option<i64>,
    pub changed_at: NaiveDateTime,
    pub changed_by: String,
}

/// Every version of project `id`, oldest first, as a submission would have stated it. A
/// change writes the whole project, so a version's codes and plans are those recorded from
/// its version.
pub fn project_versions(
    conn: &mut DbConnection,
    id: i64,
) -> QueryResult<Vec<(VersionOf, ProjectRecord)>> {
    // Each version read as a project row whose created_at and updated_at are the instant of
    // the change.
    let versions: Vec<(i64, Option<i64>, String, ProjectRow)> = project_history::table
        .inner_join(projects::table)
        .filter(project_history::project_id.eq(id))
        .order(project_history::valid_from)
        .select((
            project_history::valid_from,
            project_history::valid_to,
            project_history::changed_by,
            (
                project_history::project_id,
                project_history::region,
                projects::ref_,
                project_history::title,
                project_history::organisation,
                project_history::status,
                project_history::project_type,
                project_history::sakomrade,
                project_history::fokusomrade,
                project_history::effektkedja,
                project_history::start_date,
                project_history::end_date,
                project_history::granted_sek,
                project_history::total_budget_sek,
                project_history::changed_at,
                project_history::changed_at,
            ),
        ))
        .load(conn)?;
    let codes: Vec<(i64, String, String)> = project_code_history::table
        .filter(project_code_history::project_id.eq(id))
        .order((project_code_history::dimension, project_code_history::code))
        .select((
            project_code_history::valid_from,
            project_code_history::dimension,
            project_code_history::code,
        ))
        .load(conn)?;
    let plans: Vec<(i64, PlanRow)> = project_indicator_history::table
        .filter(project_indicator_history::project_id.eq(id))
        .order(project_indicator_history::indicator)
        .select((
            project_indicator_history::valid_from,
            (
                project_indicator_history::project_id,
                project_indicator_history::indicator,
                project_indicator_history::baseline,
                project_indicator_history::baseline_year,
                project_indicator_history::target,
                project_indicator_history::goal,
                project_indicator_history::source,
            ),
        ))
        .load(conn)?;
    let mut plans = plans;
    Ok(versions
        .into_iter()
        .map(|(valid_from, valid_to, changed_by, row)| {
            let codes_then: Vec<(String, String)> = codes
                .iter()
                .filter(|(from, _, _)| *from == valid_from)
                .map(|(_, dimension, code)| (dimension.clone(), code.clone()))
                .collect();
            let (plans_then, rest): (Vec<_>, Vec<_>) =
                plans.drain(..).partition(|(from, _)| *from == valid_from);
            plans = rest;
            let plans_then = plans_then
                .into_iter()
                .map(|(_, plan)| plan.into())
                .collect();
            let record = record_of(&row, &codes_then, plans_then);
            let version = VersionOf {
                valid_from,
                valid_to,
                changed_at: row.updated_at,
                changed_by,
            };
            (version, record)
        })
        .collect())
}
