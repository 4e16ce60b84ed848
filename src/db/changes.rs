//! The change feed: every write records what it changed here, in its own transaction
//! (`record`), and readers page through it by place (`after`).
//!
//! Why a table of its own rather than reading the revision and history tables by version:
//! some changes have no history row (codes, report states, publications), the
//! history tables have a shape each (a union of eight, ordered, is a costly page), and a page
//! here is one range of one primary key, whatever writes are added later.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{changes, data_versions};
use super::{DbConnection, Write, insert_batch};
use crate::domain::change::{Change, Cursor};

#[derive(Insertable)]
#[diesel(table_name = changes, treat_none_as_default_value = false)]
struct NewChange<'a> {
    version: i64,
    seq: i64,
    kind: &'a str,
    action: &'a str,
    region: Option<&'a str>,
    project_ref: Option<&'a str>,
    indicator: Option<&'a str>,
    period: Option<&'a str>,
    item: Option<&'a str>,
    changed_by: &'a str,
}

/// Records `recorded` as changes made by `changed_by` in this write, after those it recorded
/// already, and marks the write as changing data: a change always commits as its version.
pub fn record(
    conn: &mut DbConnection,
    write: &mut Write,
    changed_by: &str,
    recorded: &[Change],
) -> QueryResult<()> {
    if recorded.is_empty() {
        return Ok(());
    }
    let first = write.recorded + 1;
    let rows: Vec<NewChange> = recorded
        .iter()
        .zip(first..)
        .map(|(change, seq)| NewChange {
            version: write.version,
            seq,
            kind: change.kind.as_str(),
            action: &change.action,
            region: change.region.as_deref(),
            project_ref: change.project_ref.as_deref(),
            indicator: change.indicator.as_deref(),
            period: change.period.as_deref(),
            item: change.item.as_deref(),
            changed_by,
        })
        .collect();
    insert_batch!(conn, changes::table, rows);
    write.recorded += recorded.len() as i64;
    write.changed();
    Ok(())
}

/// A recorded change as read, with its version's stamp.
#[derive(Queryable)]
pub struct ChangeRow {
    pub version: i64,
    pub seq: i64,
    pub kind: String,
    pub action: String,
    pub region: Option<String>,
    pub project_ref: Option<String>,
    pub indicator: Option<String>,
    pub period: Option<String>,
    pub item: Option<String>,
    pub changed_by: String,
    pub changed_at: NaiveDateTime,
}

/// At most `limit` changes after `cursor`, in commit order. Read them in one read
/// transaction: a version is then seen whole or not at all, and with every version before it.
pub fn after(conn: &mut DbConnection, cursor: Cursor, limit: i64) -> QueryResult<Vec<ChangeRow>> {
    changes::table
        .inner_join(data_versions::table.on(data_versions::version.eq(changes::version)))
        .filter(
            changes::version.gt(cursor.version).or(changes::version
                .eq(cursor.version)
                .and(changes::seq.gt(cursor.seq))),
        )
        .order((changes::version, changes::seq))
        .limit(limit)
        .select((
            changes::version,
            changes::seq,
            changes::kind,
            changes::action,
            changes::region,
            changes::project_ref,
            changes::indicator,
            changes::period,
            changes::item,
            changes::changed_by,
            data_versions::committed_at,
        ))
        .load(conn)
}
