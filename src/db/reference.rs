//! Regions and code lists: reference data seeded by migration.

use diesel::prelude::*;

use super::DbConnection;
use super::schema::{codes, regions};

#[derive(Queryable, Selectable)]
#[diesel(table_name = regions)]
pub struct RegionRow {
    pub code: String,
    pub name: String,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = codes)]
pub struct CodeRow {
    pub dimension: String,
    pub code: String,
    pub label_sv: String,
    pub label_en: String,
    pub parent_code: Option<String>,
}

pub fn list_regions(conn: &mut DbConnection) -> QueryResult<Vec<RegionRow>> {
    regions::table
        .order(regions::code)
        .select(RegionRow::as_select())
        .load(conn)
}

/// Every code of every dimension, in each list's own order.
pub fn list_codes(conn: &mut DbConnection) -> QueryResult<Vec<CodeRow>> {
    codes::table
        .order((codes::dimension, codes::sort_order, codes::code))
        .select(CodeRow::as_select())
        .load(conn)
}

/// The codes of one dimension.
pub fn codes_of(conn: &mut DbConnection, dimension: &str) -> QueryResult<Vec<String>> {
    codes::table
        .filter(codes::dimension.eq(dimension))
        .select(codes::code)
        .load(conn)
}
