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

pub fn code_exists(conn: &mut DbConnection, dimension: &str, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        codes::table.filter(codes::dimension.eq(dimension).and(codes::code.eq(code))),
    ))
    .get_result(conn)
}

/// Appends a code at the end of its list.
pub fn insert_code(conn: &mut DbConnection, row: &CodeRow) -> QueryResult<()> {
    let last: Option<i64> = codes::table
        .filter(codes::dimension.eq(&row.dimension))
        .select(diesel::dsl::max(codes::sort_order))
        .first(conn)?;
    diesel::insert_into(codes::table)
        .values((
            codes::dimension.eq(&row.dimension),
            codes::code.eq(&row.code),
            codes::label_sv.eq(&row.label_sv),
            codes::label_en.eq(&row.label_en),
            codes::parent_code.eq(&row.parent_code),
            codes::sort_order.eq(last.unwrap_or(0) + 1),
        ))
        .execute(conn)?;
    Ok(())
}
