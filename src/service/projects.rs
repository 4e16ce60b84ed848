//! A region's projects as a list: filtered by their classification in the database,
//! searched by text here, a page at a time.

use crate::db::projects::{ProjectFilter, StoredProject};
use crate::db::{self, DbConnection};
use crate::domain::codes::Dimension;
use crate::domain::search::Search;
use crate::error::AppError;
use crate::service::aggregates::check_filter_codes;

/// One page of a region's projects by ref, and how many match in all.
pub struct ProjectList {
    pub items: Vec<StoredProject>,
    pub total: i64,
}

/// The projects of `region` that `filter` and `search` match, `limit` of them after the
/// first `offset`. The search runs over the filtered projects' ref, title and organisation
/// here rather than in SQL: SQLite folds only ASCII letters to lower case, so `LIKE` would
/// find `Å` in `Åre` on PostgreSQL's `ILIKE` but not on SQLite; a region's projects are a
/// few hundred, read with three short texts each.
pub fn list(
    conn: &mut DbConnection,
    region: &str,
    filter: &ProjectFilter,
    search: Option<&Search>,
    (offset, limit): (i64, i64),
) -> Result<ProjectList, AppError> {
    let codes: Vec<(Dimension, Vec<String>)> = [
        (Dimension::Status, &filter.status),
        (Dimension::ProjectType, &filter.project_type),
        (Dimension::Sakomrade, &filter.sakomrade),
        (Dimension::Fokusomrade, &filter.fokusomrade),
        (Dimension::Effektkedja, &filter.effektkedja),
        (Dimension::Bransch, &filter.bransch),
    ]
    .into_iter()
    .filter_map(|(dimension, code)| Some((dimension, vec![code.clone()?])))
    .collect();
    check_filter_codes(conn, &codes)?;
    let matching: Vec<i64> = db::projects::list(conn, region, filter)?
        .into_iter()
        .filter(|listed| {
            search.is_none_or(|search| {
                search.matches(&[&listed.project_ref, &listed.title, &listed.organisation])
            })
        })
        .map(|listed| listed.id)
        .collect();
    let total = i64::try_from(matching.len())
        .map_err(|_| AppError::Internal("more projects than an i64 counts".into()))?;
    let ids: Vec<i64> = matching
        .into_iter()
        .skip(usize::try_from(offset).unwrap_or(usize::MAX))
        .take(usize::try_from(limit).unwrap_or(0))
        .collect();
    let mut stored = db::projects::load(conn, &ids)?;
    let items = ids.iter().filter_map(|id| stored.remove(id)).collect();
    Ok(ProjectList { items, total })
}
