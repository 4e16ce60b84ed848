//! The qualitative part per project and half-year.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{data_versions, narrative_revisions, narratives};
use super::{DbConnection, insert_batch};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = narratives, treat_none_as_default_value = false)]
pub struct NarrativeRow {
    pub project_id: i64,
    pub period: String,
    pub progress: String,
    pub lessons: String,
    pub deviations: String,
    pub updated_at: NaiveDateTime,
    pub updated_by: String,
    pub submission_id: Option<String>,
}

/// The stored narratives of these projects, by (project id, period).
pub fn load_for_projects(
    conn: &mut DbConnection,
    ids: &[i64],
) -> QueryResult<HashMap<(i64, String), NarrativeRow>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(super::BATCH_ROWS) {
        let rows: Vec<NarrativeRow> = narratives::table
            .filter(narratives::project_id.eq_any(chunk))
            .select(NarrativeRow::as_select())
            .load(conn)?;
        for row in rows {
            found.insert((row.project_id, row.period.clone()), row);
        }
    }
    Ok(found)
}

/// A narrative's texts as written at one data version, and who wrote them.
#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = narrative_revisions, treat_none_as_default_value = false)]
pub struct NarrativeRevisionRow {
    pub project_id: i64,
    pub period: String,
    pub version: i64,
    pub progress: String,
    pub lessons: String,
    pub deviations: String,
    pub changed_by: String,
}

pub fn insert_revisions(conn: &mut DbConnection, rows: &[NarrativeRevisionRow]) -> QueryResult<()> {
    insert_batch!(conn, narrative_revisions::table, rows);
    Ok(())
}

/// The narratives of these projects as they were at data version `version`, by (project id,
/// period).
pub fn as_of(
    conn: &mut DbConnection,
    ids: &[i64],
    version: i64,
) -> QueryResult<HashMap<(i64, String), NarrativeRevisionRow>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(super::BATCH_ROWS) {
        let rows: Vec<NarrativeRevisionRow> = narrative_revisions::table
            .filter(narrative_revisions::project_id.eq_any(chunk))
            .filter(narrative_revisions::version.le(version))
            .order(narrative_revisions::version)
            .select(NarrativeRevisionRow::as_select())
            .load(conn)?;
        // In version order: the last of a narrative is the one current at `version`.
        for row in rows {
            found.insert((row.project_id, row.period.clone()), row);
        }
    }
    Ok(found)
}

/// Every revision of a project's narratives, in version order, each with the stamp of its
/// data version (every version a revision carries was committed with it).
pub fn history(
    conn: &mut DbConnection,
    project_id: i64,
) -> QueryResult<Vec<(NarrativeRevisionRow, NaiveDateTime)>> {
    narrative_revisions::table
        .inner_join(
            data_versions::table.on(data_versions::version.eq(narrative_revisions::version)),
        )
        .filter(narrative_revisions::project_id.eq(project_id))
        .order((narrative_revisions::version, narrative_revisions::period))
        .select((
            NarrativeRevisionRow::as_select(),
            data_versions::committed_at,
        ))
        .load(conn)
}

pub fn insert(conn: &mut DbConnection, rows: &[NarrativeRow]) -> QueryResult<()> {
    insert_batch!(conn, narratives::table, rows);
    Ok(())
}

pub fn update(conn: &mut DbConnection, row: &NarrativeRow) -> QueryResult<()> {
    diesel::update(narratives::table.find((row.project_id, &row.period)))
        .set((
            narratives::progress.eq(&row.progress),
            narratives::lessons.eq(&row.lessons),
            narratives::deviations.eq(&row.deviations),
            narratives::updated_at.eq(row.updated_at),
            narratives::updated_by.eq(&row.updated_by),
            narratives::submission_id.eq(&row.submission_id),
        ))
        .execute(conn)?;
    Ok(())
}

/// A narrative with its project's region, ref and title.
pub struct NarrativeListing {
    pub region: String,
    pub project_ref: String,
    pub title: String,
    pub row: NarrativeRow,
}

/// Narratives in these half-years (all when empty) of these regions (all when empty), by
/// region, project ref and period.
pub fn list(
    conn: &mut DbConnection,
    periods: &[String],
    regions: &[String],
) -> QueryResult<Vec<NarrativeListing>> {
    use super::schema::projects;
    let mut query = narratives::table.inner_join(projects::table).into_boxed();
    if !periods.is_empty() {
        query = query.filter(narratives::period.eq_any(periods.to_vec()));
    }
    if !regions.is_empty() {
        query = query.filter(projects::region.eq_any(regions.to_vec()));
    }
    let rows: Vec<(String, String, String, NarrativeRow)> = query
        .order((projects::region, projects::ref_, narratives::period))
        .select((
            projects::region,
            projects::ref_,
            projects::title,
            NarrativeRow::as_select(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(region, project_ref, title, row)| NarrativeListing {
            region,
            project_ref,
            title,
            row,
        })
        .collect())
}

/// The narratives as they stood at data version `version`, filtered and ordered as `list`
/// does, each with its project's title then; `updated_at` is the stamp of the version that
/// wrote the texts, and `updated_by` who wrote them.
pub fn list_at(
    conn: &mut DbConnection,
    periods: &[String],
    regions: &[String],
    version: i64,
) -> QueryResult<Vec<NarrativeListing>> {
    use super::schema::{project_history, projects};
    let mut query = narrative_revisions::table
        .inner_join(projects::table.on(projects::id.eq(narrative_revisions::project_id)))
        .inner_join(
            project_history::table.on(project_history::project_id
                .eq(narrative_revisions::project_id)
                .and(project_history::valid_from.le(version))
                .and(
                    project_history::valid_to
                        .is_null()
                        .or(project_history::valid_to.gt(version)),
                )),
        )
        .inner_join(
            data_versions::table.on(data_versions::version.eq(narrative_revisions::version)),
        )
        .filter(narrative_revisions::version.le(version))
        .into_boxed();
    if !periods.is_empty() {
        query = query.filter(narrative_revisions::period.eq_any(periods.to_vec()));
    }
    if !regions.is_empty() {
        query = query.filter(project_history::region.eq_any(regions.to_vec()));
    }
    let rows: Vec<(String, String, String, NarrativeRevisionRow, NaiveDateTime)> = query
        .order((
            project_history::region,
            projects::ref_,
            narrative_revisions::period,
            narrative_revisions::version,
        ))
        .select((
            project_history::region,
            projects::ref_,
            project_history::title,
            NarrativeRevisionRow::as_select(),
            data_versions::committed_at,
        ))
        .load(conn)?;
    let mut listings: Vec<NarrativeListing> = Vec::new();
    for (region, project_ref, title, revision, committed_at) in rows {
        let listing = NarrativeListing {
            region,
            project_ref,
            title,
            row: NarrativeRow {
                project_id: revision.project_id,
                period: revision.period,
                progress: revision.progress,
                lessons: revision.lessons,
                deviations: revision.deviations,
                updated_at: committed_at,
                updated_by: revision.changed_by,
                submission_id: None,
            },
        };
        // In version order within each narrative: a later revision replaces the one before.
        match listings.last_mut() {
            Some(last)
                if last.row.project_id == listing.row.project_id
                    && last.row.period == listing.row.period =>
            {
                *last = listing;
            }
            _ => listings.push(listing),
        }
    }
    Ok(listings)
}
