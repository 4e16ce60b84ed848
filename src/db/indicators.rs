//! The indicator catalogue and the effektkedja → required indicators mapping.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{indicator_history, indicator_requirements, indicators};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = indicators)]
pub struct IndicatorRow {
    pub code: String,
    pub name_sv: String,
    pub name_en: String,
    pub unit: String,
    pub level: String,
    pub aggregation: String,
    pub numerator: Option<String>,
    pub denominator: Option<String>,
    pub by_sex: bool,
    pub decimals: i64,
    pub derived_from: Option<String>,
    pub active: bool,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Every indicator with the effektkedjor that require it, ordered by code.
pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<(IndicatorRow, Vec<String>)>> {
    let rows: Vec<IndicatorRow> = indicators::table
        .order(indicators::code)
        .select(IndicatorRow::as_select())
        .load(conn)?;
    let requirements: Vec<(String, String)> = indicator_requirements::table
        .select((
            indicator_requirements::indicator,
            indicator_requirements::effektkedja,
        ))
        .order((
            indicator_requirements::indicator,
            indicator_requirements::effektkedja,
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let required_for = requirements
                .iter()
                .filter(|(indicator, _)| *indicator == row.code)
                .map(|(_, effektkedja)| effektkedja.clone())
                .collect();
            (row, required_for)
        })
        .collect())
}

pub fn find(
    conn: &mut DbConnection,
    code: &str,
) -> QueryResult<Option<(IndicatorRow, Vec<String>)>> {
    let Some(row) = indicators::table
        .find(code)
        .select(IndicatorRow::as_select())
        .first(conn)
        .optional()?
    else {
        return Ok(None);
    };
    let required_for = indicator_requirements::table
        .filter(indicator_requirements::indicator.eq(code))
        .select(indicator_requirements::effektkedja)
        .order(indicator_requirements::effektkedja)
        .load(conn)?;
    Ok(Some((row, required_for)))
}

/// The codes of the active indicators, in order.
pub fn active_codes(conn: &mut DbConnection) -> QueryResult<Vec<String>> {
    indicators::table
        .filter(indicators::active.eq(true))
        .order(indicators::code)
        .select(indicators::code)
        .load(conn)
}

/// Each indicator's code and aggregation, for checking references between indicators.
pub fn codes_and_aggregations(conn: &mut DbConnection) -> QueryResult<Vec<(String, String)>> {
    indicators::table
        .select((indicators::code, indicators::aggregation))
        .load(conn)
}

/// Adds an indicator, with its history from `version` on.
pub fn insert(
    conn: &mut DbConnection,
    row: &IndicatorRow,
    required_for: &[String],
    version: i64,
) -> QueryResult<()> {
    diesel::insert_into(indicators::table)
        .values(row)
        .execute(conn)?;
    super::history::record_indicator(conn, row, version)?;
    replace_requirements(conn, &row.code, required_for)
}

/// Replaces an indicator's definition from `version` on; `created_at` is kept, and the
/// earlier definition in its history.
pub fn update(
    conn: &mut DbConnection,
    row: &IndicatorRow,
    required_for: &[String],
    version: i64,
) -> QueryResult<()> {
    super::history::record_indicator(conn, row, version)?;
    diesel::update(indicators::table.find(&row.code))
        .set((
            indicators::name_sv.eq(&row.name_sv),
            indicators::name_en.eq(&row.name_en),
            indicators::unit.eq(&row.unit),
            indicators::level.eq(&row.level),
            indicators::aggregation.eq(&row.aggregation),
            indicators::numerator.eq(&row.numerator),
            indicators::denominator.eq(&row.denominator),
            indicators::by_sex.eq(row.by_sex),
            indicators::decimals.eq(row.decimals),
            indicators::derived_from.eq(&row.derived_from),
            indicators::active.eq(row.active),
            indicators::updated_at.eq(row.updated_at),
        ))
        .execute(conn)?;
    replace_requirements(conn, &row.code, required_for)
}

fn replace_requirements(
    conn: &mut DbConnection,
    code: &str,
    required_for: &[String],
) -> QueryResult<()> {
    diesel::delete(
        indicator_requirements::table.filter(indicator_requirements::indicator.eq(code)),
    )
    .execute(conn)?;
    for effektkedja in required_for {
        diesel::insert_into(indicator_requirements::table)
            .values((
                indicator_requirements::effektkedja.eq(effektkedja),
                indicator_requirements::indicator.eq(code),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Whether any ratio indicator uses `code` as its numerator or denominator.
pub fn is_ratio_part(conn: &mut DbConnection, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        indicators::table.filter(
            indicators::numerator
                .eq(code)
                .or(indicators::denominator.eq(code)),
        ),
    ))
    .get_result(conn)
}

/// Whether any value is stored for the indicator.
pub fn has_values(conn: &mut DbConnection, code: &str) -> QueryResult<bool> {
    use super::schema::indicator_values;
    diesel::select(diesel::dsl::exists(
        indicator_values::table.filter(indicator_values::indicator.eq(code)),
    ))
    .get_result(conn)
}

/// What an indicator's figures depend on, as its history keeps it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = indicator_history)]
pub struct Definition {
    pub code: String,
    pub name_sv: String,
    pub name_en: String,
    pub unit: String,
    pub aggregation: String,
    pub numerator: Option<String>,
    pub denominator: Option<String>,
    pub by_sex: bool,
    pub decimals: i64,
    pub derived_from: Option<String>,
    pub active: bool,
}

/// The indicator's definition as it is (`version` None) or as it stood at a data version:
/// one query for both, on the catalogue's history.
pub fn definition_at(
    conn: &mut DbConnection,
    code: &str,
    version: Option<i64>,
) -> QueryResult<Option<Definition>> {
    let query = indicator_history::table
        .filter(indicator_history::code.eq(code))
        .select(Definition::as_select())
        .into_boxed();
    current_at(query, version).first(conn).optional()
}

/// Every indicator's definition as it is or as it stood, ordered by code.
pub fn definitions_at(
    conn: &mut DbConnection,
    version: Option<i64>,
) -> QueryResult<Vec<Definition>> {
    let query = indicator_history::table
        .order(indicator_history::code)
        .select(Definition::as_select())
        .into_boxed();
    current_at(query, version).load(conn)
}

type HistoryQuery<'a> = indicator_history::BoxedQuery<
    'a,
    <DbConnection as diesel::Connection>::Backend,
    diesel::dsl::AsSelect<Definition, <DbConnection as diesel::Connection>::Backend>,
>;

/// The rows of the history current at `version`, or now.
fn current_at(query: HistoryQuery<'_>, version: Option<i64>) -> HistoryQuery<'_> {
    match version {
        None => query.filter(indicator_history::valid_to.is_null()),
        Some(version) => query.filter(
            indicator_history::valid_from.le(version).and(
                indicator_history::valid_to
                    .is_null()
                    .or(indicator_history::valid_to.gt(version)),
            ),
        ),
    }
}
