//! Reporting periods, their locks and lock exceptions.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{period_lock_exceptions, periods};
use crate::domain::period::{Lock, LockMode, PeriodId};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = periods)]
pub struct PeriodRow {
    pub id: String,
    pub kind: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub deadline: NaiveDate,
    pub lock_mode: String,
    pub created_at: NaiveDateTime,
}

/// Every period with the regions that have a lock exception, ordered by start and length.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<(PeriodRow, Vec<String>)>> {
    let rows: Vec<PeriodRow> = periods::table
        .order((periods::start_date, periods::end_date.desc()))
        .select(PeriodRow::as_select())
        .load(conn)?;
    let exceptions: Vec<(String, String)> = period_lock_exceptions::table
        .select((
            period_lock_exceptions::period_id,
            period_lock_exceptions::region,
        ))
        .order((
            period_lock_exceptions::period_id,
            period_lock_exceptions::region,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let regions = exceptions
                .iter()
                .filter(|(period, _)| *period == row.id)
                .map(|(_, region)| region.clone())
                .collect();
            (row, regions)
        })
        .collect())
}

/// Each period's id and lock, from `list`. The schema allows only the three modes; any
/// other would close the period.
pub fn locks(periods: &[(PeriodRow, Vec<String>)]) -> Vec<(PeriodId, Lock)> {
    periods
        .iter()
        .filter_map(|(row, exceptions)| {
            let lock = Lock {
                mode: LockMode::parse(&row.lock_mode).unwrap_or(LockMode::Locked),
                deadline: row.deadline,
                exceptions: exceptions.clone(),
            };
            Some((PeriodId::parse(&row.id)?, lock))
        })
        .collect()
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<(PeriodRow, Vec<String>)>> {
    let Some(row) = periods::table
        .find(id)
        .select(PeriodRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let regions = period_lock_exceptions::table
        .filter(period_lock_exceptions::period_id.eq(id))
        .select(period_lock_exceptions::region)
        .order(period_lock_exceptions::region)
        .load(conn)?;
    Ok(Some((row, regions)))
}

pub fn insert(conn: &mut DbConnection, row: &PeriodRow) -> QueryResult<()> {
    diesel::insert_into(periods::table)
        .values(row)
        .execute(conn)?;
    Ok(())
}

/// Sets how the period is closed and drops its lock exceptions: a fresh lock, or a reopening
/// for everyone, supersedes them.
pub fn set_lock_mode(conn: &mut DbConnection, id: &str, mode: &str) -> QueryResult<()> {
    diesel::update(periods::table.find(id))
        .set(periods::lock_mode.eq(mode))
        .execute(conn)?;
    diesel::delete(period_lock_exceptions::table.filter(period_lock_exceptions::period_id.eq(id)))
        .execute(conn)?;
    Ok(())
}

/// Opens the period again for one region (kept until the next lock).
pub fn add_exception(
    conn: &mut DbConnection,
    id: &str,
    region: &str,
    by: &str,
    now: NaiveDateTime,
) -> QueryResult<()> {
    let exists: bool = diesel::select(diesel::dsl::exists(
        period_lock_exceptions::table.find((id, region)),
    ))
    .get_result(conn)?;
    if !exists {
        diesel::insert_into(period_lock_exceptions::table)
            .values((
                period_lock_exceptions::period_id.eq(id),
                period_lock_exceptions::region.eq(region),
                period_lock_exceptions::created_at.eq(now),
                period_lock_exceptions::created_by.eq(by),
            ))
            .execute(conn)?;
    }
    Ok(())
}
