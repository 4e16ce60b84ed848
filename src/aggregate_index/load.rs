//! Reading the index from the database: whole at first, then only what each write since
//! changed. Both run in the caller's read transaction, so the index holds exactly the data
//! version that transaction sees.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use diesel::connection::DefaultLoadingMode;
use diesel::prelude::*;

use super::columns::{Index, ProjectRecord, ValueRecord};
use crate::db::DbConnection;
use crate::db::schema::{
    indicator_values, project_codes, project_history, project_indicators, projects, value_entities,
    value_revisions,
};

/// How many ids one `IN` list binds: within both backends' limits on bound parameters.
const IDS_PER_QUERY: usize = 10_000;

/// Projects whose values one query of the load reads (some 13 values each).
const PROJECTS_PER_QUERY: usize = 4_000;

/// Revisions one query of a catch-up reads.
const REVISIONS_PER_QUERY: i64 = 50_000;

type ProjectColumns = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    NaiveDate,
    NaiveDate,
    i64,
    i64,
);

/// Every project, plan and value as they are at `version`, the version the transaction
/// reads.
pub(super) fn everything(conn: &mut DbConnection, version: i64) -> QueryResult<Index> {
    let mut index = Index::empty(version);
    let rows: Vec<ProjectColumns> = projects::table.select(project_columns()).load(conn)?;
    let codes: Vec<(i64, String)> = project_codes::table
        .filter(project_codes::dimension.eq("bransch"))
        .select((project_codes::project_id, project_codes::code))
        .load(conn)?;
    let plans: Vec<(i64, String, Option<i64>)> = project_indicators::table
        .select((
            project_indicators::project_id,
            project_indicators::indicator,
            project_indicators::target,
        ))
        .load(conn)?;
    let mut ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
    ids.sort_unstable();
    put_projects(&mut index, rows, codes, plans);
    // A few thousand projects' values at a time: PostgreSQL's client holds a whole result
    // before its first row is read, and a million values at once would be hundreds of
    // megabytes beside the index.
    for window in ids.chunks(PROJECTS_PER_QUERY) {
        let (first, last) = (window[0], window[window.len() - 1]);
        let values = indicator_values::table
            .filter(indicator_values::project_id.between(first, last))
            .select((
                indicator_values::project_id,
                indicator_values::indicator,
                indicator_values::period,
                indicator_values::value,
                indicator_values::kvinnor,
                indicator_values::man,
                indicator_values::ej_angivet,
            ))
            .load_iter::<(
                i64,
                String,
                String,
                i64,
                Option<i64>,
                Option<i64>,
                Option<i64>,
            ), DefaultLoadingMode>(conn)?;
        for row in values {
            let (project_id, indicator, period, value, kvinnor, man, ej_angivet) = row?;
            index.put_value(ValueRecord {
                project_id,
                indicator: &indicator,
                period: &period,
                value,
                parts: parts(kvinnor, man, ej_angivet),
                entities: &[],
            });
        }
        let entities = value_entities::table
            .filter(value_entities::project_id.between(first, last))
            .select((
                value_entities::project_id,
                value_entities::indicator,
                value_entities::period,
                value_entities::orgnr,
            ))
            .load_iter::<(i64, String, String, String), DefaultLoadingMode>(conn)?;
        for row in entities {
            let (project_id, indicator, period, orgnr) = row?;
            index.add_entity(project_id, &indicator, &period, &orgnr);
        }
    }
    index.shrink();
    Ok(index)
}

/// Brings `index` from its version to `version`, the version the transaction reads: the
/// projects changed since are read again, and the values' revisions since are applied in
/// data-version order, each a value's whole new state. Returns how many were applied.
pub(super) fn catch_up(
    conn: &mut DbConnection,
    index: &mut Index,
    version: i64,
) -> QueryResult<usize> {
    let since = index.version;
    let changed: BTreeSet<i64> = project_history::table
        .filter(project_history::valid_from.gt(since))
        .select(project_history::project_id)
        .load::<i64>(conn)?
        .into_iter()
        .collect();
    let changed: Vec<i64> = changed.into_iter().collect();
    for ids in changed.chunks(IDS_PER_QUERY) {
        let rows: Vec<ProjectColumns> = projects::table
            .filter(projects::id.eq_any(ids))
            .select(project_columns())
            .load(conn)?;
        let codes: Vec<(i64, String)> = project_codes::table
            .filter(project_codes::project_id.eq_any(ids))
            .filter(project_codes::dimension.eq("bransch"))
            .select((project_codes::project_id, project_codes::code))
            .load(conn)?;
        let plans: Vec<(i64, String, Option<i64>)> = project_indicators::table
            .filter(project_indicators::project_id.eq_any(ids))
            .select((
                project_indicators::project_id,
                project_indicators::indicator,
                project_indicators::target,
            ))
            .load(conn)?;
        put_projects(index, rows, codes, plans);
    }
    // In pages of (version, id), for the reason the load reads a few thousand projects at
    // a time: a catch-up may be the whole portfolio.
    let mut after = (since, i64::MAX);
    let mut applied = 0;
    loop {
        let page = value_revisions::table
            .filter(value_revisions::version.ge(after.0))
            .filter(
                value_revisions::version
                    .gt(after.0)
                    .or(value_revisions::id.gt(after.1)),
            )
            .order((value_revisions::version, value_revisions::id))
            .limit(REVISIONS_PER_QUERY)
            .select((
                value_revisions::version,
                value_revisions::id,
                value_revisions::project_id,
                value_revisions::indicator,
                value_revisions::period,
                value_revisions::new_value,
                value_revisions::new_kvinnor,
                value_revisions::new_man,
                value_revisions::new_ej_angivet,
                value_revisions::new_entities,
            ))
            .load_iter::<(
                i64,
                i64,
                i64,
                String,
                String,
                i64,
                Option<i64>,
                Option<i64>,
                Option<i64>,
                Option<String>,
            ), DefaultLoadingMode>(conn)?;
        let mut read: i64 = 0;
        for row in page {
            let (
                revision_version,
                id,
                project_id,
                indicator,
                period,
                value,
                kvinnor,
                man,
                ej_angivet,
                entities,
            ) = row?;
            read += 1;
            after = (revision_version, id);
            let entities: Vec<String> = match entities {
                Some(list) => serde_json::from_str(&list)
                    .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
                None => Vec::new(),
            };
            index.put_value(ValueRecord {
                project_id,
                indicator: &indicator,
                period: &period,
                value,
                parts: parts(kvinnor, man, ej_angivet),
                entities: &entities,
            });
        }
        applied += read as usize;
        if read < REVISIONS_PER_QUERY {
            break;
        }
    }
    index.shrink();
    index.version = version;
    Ok(applied)
}

#[allow(clippy::type_complexity)]
fn project_columns() -> (
    projects::id,
    projects::region,
    projects::project_type,
    projects::sakomrade,
    projects::fokusomrade,
    projects::effektkedja,
    projects::start_date,
    projects::end_date,
    projects::granted_sek,
    projects::total_budget_sek,
) {
    (
        projects::id,
        projects::region,
        projects::project_type,
        projects::sakomrade,
        projects::fokusomrade,
        projects::effektkedja,
        projects::start_date,
        projects::end_date,
        projects::granted_sek,
        projects::total_budget_sek,
    )
}

fn put_projects(
    index: &mut Index,
    rows: Vec<ProjectColumns>,
    codes: Vec<(i64, String)>,
    plans: Vec<(i64, String, Option<i64>)>,
) {
    let mut branscher: HashMap<i64, Vec<String>> = HashMap::new();
    for (project_id, code) in codes {
        branscher.entry(project_id).or_default().push(code);
    }
    let mut planned: HashMap<i64, Vec<(String, Option<i64>)>> = HashMap::new();
    for (project_id, indicator, target) in plans {
        planned
            .entry(project_id)
            .or_default()
            .push((indicator, target));
    }
    for (
        id,
        region,
        project_type,
        sakomrade,
        fokusomrade,
        effektkedja,
        start,
        end,
        granted_sek,
        total_budget_sek,
    ) in rows
    {
        index.put_project(ProjectRecord {
            id,
            region,
            project_type,
            sakomrade,
            fokusomrade,
            effektkedja,
            start,
            end,
            granted_sek,
            total_budget_sek,
            branscher: branscher.remove(&id).unwrap_or_default(),
            plans: planned.remove(&id).unwrap_or_default(),
        });
    }
}

fn parts(kvinnor: Option<i64>, man: Option<i64>, ej_angivet: Option<i64>) -> Option<[i64; 3]> {
    Some([kvinnor?, man?, ej_angivet?])
}
