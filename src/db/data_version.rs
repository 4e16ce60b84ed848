//! The data version: a number every write transaction increases before it commits.

use diesel::prelude::*;

use super::DbConnection;
use super::schema::data_version;

/// The version of the committed data. Read it before reading the data: the data read after
/// is then at least as new as the version says.
pub fn current(conn: &mut DbConnection) -> QueryResult<i64> {
    data_version::table
        .select(data_version::version)
        .first(conn)
}

pub fn increase(conn: &mut DbConnection) -> QueryResult<()> {
    diesel::update(data_version::table)
        .set(data_version::version.eq(data_version::version + 1))
        .execute(conn)
        .map(|_| ())
}
