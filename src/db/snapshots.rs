//! Frozen national figures. Rows are inserted once and never updated.

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
}

pub fn insert(conn: &mut DbConnection, row: &SnapshotRow) -> QueryResult<()> {
    diesel::insert_into(snapshots::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Every snapshot, newest first, without its figures (left empty: they can be large).
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<SnapshotRow>> {
    snapshots::table
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
        ))
        .load(conn)
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<SnapshotRow>> {
    snapshots::table
        .find(id)
        .select(SnapshotRow::as_select())
        .first(conn)
        .optional()
}

/// A snapshot's digest and when it was stored, without its figures: what names it for a
/// conditional request.
pub fn identity(conn: &mut DbConnection, id: &str) -> QueryResult<Option<(String, NaiveDateTime)>> {
    snapshots::table
        .find(id)
        .select((snapshots::sha256, snapshots::created_at))
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
