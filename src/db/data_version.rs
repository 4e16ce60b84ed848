//! The data version: the number of the last committed write that changed data. Writers take
//! the version row first (`FOR UPDATE` on PostgreSQL; SQLite's write lock is taken by
//! `BEGIN IMMEDIATE`), so they get versions in commit order; a write that changed something
//! commits as the next version, stamped with the time of its last statement.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::DbConnection;
use super::schema::{data_version, data_versions};

/// The version of the committed data. Read it before reading the data, or in the same read
/// transaction: the data read is then at least as new as the version says.
pub fn current(conn: &mut DbConnection) -> QueryResult<i64> {
    data_version::table
        .select(data_version::version)
        .first(conn)
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = BigInt)]
    version: i64,
}

/// Takes the writers' turn for this transaction and says the version it will commit as if
/// it changes anything.
pub fn begin_write(conn: &mut DbConnection) -> QueryResult<i64> {
    let current = match conn {
        DbConnection::Postgres(_) => {
            diesel::sql_query("SELECT version FROM data_version WHERE id = 1 FOR UPDATE")
                .get_result::<Version>(conn)?
                .version
        }
        DbConnection::Sqlite(_) => current(conn)?,
    };
    Ok(current + 1)
}

/// Commits `version` as the data version, stamped `at`.
pub fn commit(conn: &mut DbConnection, version: i64, at: NaiveDateTime) -> QueryResult<()> {
    diesel::update(data_version::table)
        .set(data_version::version.eq(version))
        .execute(conn)?;
    diesel::insert_into(data_versions::table)
        .values((
            data_versions::version.eq(version),
            data_versions::committed_at.eq(at),
        ))
        .execute(conn)?;
    Ok(())
}

/// The last version committed at or before `time`; 0 before anything was.
pub fn as_of(conn: &mut DbConnection, time: NaiveDateTime) -> QueryResult<i64> {
    let version: Option<i64> = data_versions::table
        .filter(data_versions::committed_at.le(time))
        .select(diesel::dsl::max(data_versions::version))
        .first(conn)?;
    Ok(version.unwrap_or(0))
}

/// The instant `version` committed; the start of time for version 0.
pub fn committed_at(conn: &mut DbConnection, version: i64) -> QueryResult<NaiveDateTime> {
    let stamped: Option<NaiveDateTime> = data_versions::table
        .find(version)
        .select(data_versions::committed_at)
        .first(conn)
        .optional()?;
    Ok(stamped.unwrap_or_default())
}
