//! Frozen national figures. Rows are inserted once; the only later write is publishing,
//! once, which sets `published_at` and `published_by` and nothing else.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::snapshots;

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = snapshots)]
pub struct SnapshotRow {
    pub id: String,
    pub period: String,
    pub label: String,
    pub as_of: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub created_by: String,
    pub sha256: String,
    pub figures: String,
    /// The data version the figures were computed at.
    pub version: i64,
    /// When it was published; `None`: a draft.
    pub published_at: Option<NaiveDateTime>,
    pub published_by: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &SnapshotRow) -> QueryResult<()> {
    diesel::insert_into(snapshots::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Every snapshot (or only the published ones), newest first, without its figures (left
/// empty: they can be large).
pub fn list(conn: &mut DbConnection, published_only: bool) -> QueryResult<Vec<SnapshotRow>> {
    let mut query = snapshots::table
        .order((snapshots::created_at.desc(), snapshots::id))
        .select((
            snapshots::id,
            snapshots::period,
            snapshots::label,
            snapshots::as_of,
            snapshots::created_at,
            snapshots::created_by,
            snapshots::sha256,
            diesel::dsl::sql::<diesel::sql_types::Text>("''"),
            snapshots::version,
            snapshots::published_at,
            snapshots::published_by,
        ))
        .into_boxed();
    if published_only {
        query = query.filter(snapshots::published_at.is_not_null());
    }
    query.load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SnapshotRow>> {
    snapshots::table
        .find(id)
        .select(SnapshotRow::as_select())
        .first(conn)
        .optional()
}

/// A snapshot's digest and when it was published, if it was, without its figures: what
/// names it for a conditional request.
pub fn identity(
    conn: &mut DbConnection,
    id: &str,
) -> QueryResult<Option<(String, Option<NaiveDateTime>)>> {
    snapshots::table
        .find(id)
        .select((snapshots::sha256, snapshots::published_at))
        .first(conn)
        .optional()
}

/// How many snapshots there are and the id of the newest: snapshots are only ever added, so
/// this names the list.
pub fn newest(conn: &mut DbConnection) -> QueryResult<(i64, Option<String>)> {
    let count: i64 = snapshots::table.count().get_result(conn)?;
    let newest = snapshots::table
        .order((snapshots::created_at.desc(), snapshots::id))
        .select(snapshots::id)
        .first(conn)
        .optional()?;
    Ok((count, newest))
}

/// Every published snapshot with its figures, in the order they were published (oldest
/// first), so that a later one replaces an earlier one's half-years.
pub fn published(conn: &mut DbConnection) -> QueryResult<Vec<SnapshotRow>> {
    snapshots::table
        .filter(snapshots::published_at.is_not_null())
        .order((snapshots::published_at.asc(), snapshots::id))
        .select(SnapshotRow::as_select())
        .load(conn)
}

/// Publishes a draft (a published snapshot is left as it is: run it in the write
/// transaction that found the draft).
pub fn publish(conn: &mut DbConnection, id: &str, at: NaiveDateTime, by: &str) -> QueryResult<()> {
    diesel::update(
        snapshots::table
            .filter(snapshots::id.eq(id))
            .filter(snapshots::published_at.is_null()),
    )
    .set((
        snapshots::published_at.eq(Some(at)),
        snapshots::published_by.eq(Some(by)),
    ))
    .execute(conn)?;
    Ok(())
}
