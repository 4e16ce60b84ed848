//! Reading the change feed: a page of changes after a cursor, in commit order.

use crate::db::{self, DbConnection};
use crate::domain::change::{ChangeKind, Cursor};
use crate::error::AppError;
use crate::views::changes::{ChangeEntry, ChangeFeed};

/// At most `limit` changes after `after`, from one consistent state: every version up to
/// the last committed one is there whole, and none after it (versions commit in order).
/// A cursor past the last committed version was not given by this database and is refused.
pub fn page(conn: &mut DbConnection, after: Cursor, limit: i64) -> Result<ChangeFeed, AppError> {
    db::read_transaction(conn, |conn| {
        if after.version > db::data_version::current(conn)? {
            return Err(AppError::BadRequest(
                "the cursor names a change this service has not made; continue from a cursor it gave".into(),
            ));
        }
        let mut rows = db::changes::after(conn, after, limit + 1)?;
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let changes = rows
            .into_iter()
            .map(|row| {
                let kind = ChangeKind::parse(&row.kind).ok_or_else(|| {
                    AppError::Internal(format!("stored change kind '{}'", row.kind))
                })?;
                Ok(ChangeEntry {
                    cursor: Cursor {
                        version: row.version,
                        seq: row.seq,
                    }
                    .to_string(),
                    version: row.version,
                    kind,
                    action: row.action,
                    region: row.region,
                    project_ref: row.project_ref,
                    indicator: row.indicator,
                    period: row.period,
                    item: row.item,
                    changed_by: row.changed_by,
                    changed_at: row.changed_at.and_utc(),
                })
            })
            .collect::<Result<Vec<_>, AppError>>()?;
        let next = changes
            .last()
            .map_or_else(|| after.to_string(), |last| last.cursor.clone());
        Ok(ChangeFeed {
            changes,
            next,
            more,
        })
    })
}
