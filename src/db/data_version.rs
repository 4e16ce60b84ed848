//! The data version: the number of the last committed write that changed data. Writers take
//! the version row first (`FOR UPDATE` on PostgreSQL; SQLite's write lock is taken by
//! `BEGIN IMMEDIATE`), so they get versions in commit order; a write that changed something
//! commits as the next version, stamped by the database's clock at its last statement: one
//! clock for every instance, whatever their own clocks say.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Timestamp};

use super::DbConnection;
use super::schema::{data_version, data_versions};
use crate::domain::clock::version_stamp;

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

#[derive(QueryableByName)]
struct Clock {
    #[diesel(sql_type = Timestamp)]
    now: NaiveDateTime,
}

/// The database's clock in UTC: the time every instance stamps versions by and judges `as_of`
/// against. SQLite's clock is the clock of the one machine its file is on, in milliseconds.
pub fn database_now(conn: &mut DbConnection) -> QueryResult<NaiveDateTime> {
    let query = match conn {
        DbConnection::Postgres(_) => {
            "SELECT CAST(clock_timestamp() AT TIME ZONE 'UTC' AS TIMESTAMP) AS now"
        }
        DbConnection::Sqlite(_) => "SELECT STRFTIME('%Y-%m-%d %H:%M:%f', 'now') AS now",
    };
    Ok(diesel::sql_query(query).get_result::<Clock>(conn)?.now)
}

/// Commits `version` as the data version, stamped by the database's clock and after every
/// earlier stamp (`domain::clock::version_stamp`). The writer holds the writers' turn, so no
/// other stamp comes between the reading of the latest and this one.
pub fn commit(conn: &mut DbConnection, version: i64) -> QueryResult<()> {
    let latest: Option<NaiveDateTime> = data_versions::table
        .select(diesel::dsl::max(data_versions::committed_at))
        .first(conn)?;
    let at = version_stamp(database_now(conn)?, latest);
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

/// The stamps of these versions, by version.
pub fn stamps(
    conn: &mut DbConnection,
    versions: &[i64],
) -> QueryResult<std::collections::HashMap<i64, NaiveDateTime>> {
    let rows: Vec<(i64, NaiveDateTime)> = data_versions::table
        .filter(data_versions::version.eq_any(versions))
        .select((data_versions::version, data_versions::committed_at))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// The current version, its stamp and the stamp of the version before it (the start of
/// time when there is none): what a conditional request is judged by.
pub struct Validators {
    pub version: i64,
    pub stamp: NaiveDateTime,
    pub previous_stamp: NaiveDateTime,
}

/// The validators of the committed data, read without computing anything.
pub fn validators(conn: &mut DbConnection) -> QueryResult<Validators> {
    let version = current(conn)?;
    let stamped = stamps(conn, &[version, version - 1])?;
    let stamp_of = |v: i64| stamped.get(&v).copied().unwrap_or_default();
    Ok(Validators {
        version,
        stamp: stamp_of(version),
        previous_stamp: stamp_of(version - 1),
    })
}
