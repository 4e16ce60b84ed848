//! The current values added up per group by the database.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::{
    AttributeColumns, ProjectFilter, accepted_condition, attribute_columns, bransch_join,
    joined_sum, period_ids, project_conditions, select_attributes, split_sum,
};
use crate::db::DbConnection;
use crate::db::binds::Binds;
use crate::domain::aggregate::facts::Tally;
use crate::domain::aggregate::question::GroupBy;
use crate::domain::period::PeriodId;

/// What the database adds up per group.
#[derive(Debug, Clone, Copy)]
pub enum TallyOf<'a> {
    Sum(&'a str),
    Ratio {
        numerator: &'a str,
        denominator: &'a str,
    },
    Distinct(&'a str),
}

#[derive(QueryableByName)]
struct TallyRow {
    #[diesel(embed)]
    keys: AttributeColumns,
    #[diesel(sql_type = Nullable<Text>)]
    bucket: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    total_high: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    total_low: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    below_high: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    below_low: Option<String>,
    #[diesel(sql_type = BigInt)]
    counted: i64,
    #[diesel(sql_type = BigInt)]
    reporting: i64,
}

/// The current values added up per group of `group_by` (without sex): per `period` bucket
/// when grouping by period (years when `by_year`). With an empty `group_by`, the national
/// tally, one row.
pub fn tallies(
    conn: &mut DbConnection,
    filter: &ProjectFilter,
    group_by: &[GroupBy],
    of: TallyOf<'_>,
    half_years: &[PeriodId],
    by_year: bool,
) -> QueryResult<Vec<Tally>> {
    let columns = attribute_columns(group_by);
    let mut binds = Binds::for_connection(conn);
    let nothing = "CAST(NULL AS TEXT)";
    let (from, indicator, measures) = match of {
        TallyOf::Sum(code) => (
            "indicator_values v".to_string(),
            code,
            format!(
                "{total}, {nothing} AS below_high, {nothing} AS below_low, CAST(0 AS BIGINT) AS counted, \
                 COUNT(DISTINCT v.project_id) AS reporting",
                total = split_sum("v.value", "total"),
            ),
        ),
        // Only the project half-years that reported both parts: the join.
        TallyOf::Ratio {
            numerator,
            denominator,
        } => (
            format!(
                "indicator_values v JOIN indicator_values d ON d.project_id = v.project_id AND d.period = v.period \
                 AND d.indicator = {}",
                binds.text(denominator),
            ),
            numerator,
            format!(
                "{total}, {below}, CAST(0 AS BIGINT) AS counted, COUNT(DISTINCT v.project_id) AS reporting",
                total = split_sum("v.value", "total"),
                below = split_sum("d.value", "below"),
            ),
        ),
        // A value may list no enterprise (a reported zero): the projects reporting are
        // counted from the values, by a `Sum` tally.
        TallyOf::Distinct(code) => (
            "value_entities v".to_string(),
            code,
            format!(
                "{nothing} AS total_high, {nothing} AS total_low, {nothing} AS below_high, \
                 {nothing} AS below_low, COUNT(DISTINCT v.orgnr) AS counted, CAST(0 AS BIGINT) AS reporting"
            ),
        ),
    };
    let indicator = binds.text(indicator);
    let periods = binds.texts(&period_ids(half_years));
    let conditions = project_conditions(filter, &mut binds)
        + &accepted_condition(filter, "v.period", &mut binds);
    // The projects are read only when grouped or filtered by their attributes: every value
    // has its project (its foreign key), every enterprise its value (kept by the one writer,
    // `tests/api/integrity.rs`).
    let projects = if columns.is_empty() && conditions.is_empty() {
        ""
    } else {
        " JOIN projects p ON p.id = v.project_id"
    };
    let by_period = group_by.contains(&GroupBy::Period);
    let bucket = match (by_period, by_year) {
        (false, _) => "CAST(NULL AS TEXT)",
        (true, true) => "SUBSTR(v.period, 1, 4)",
        (true, false) => "v.period",
    };
    let mut group_columns: Vec<&str> = columns.clone();
    if by_period {
        group_columns.push(bucket);
    }
    let sql = format!(
        "SELECT {attributes}, {bucket} AS bucket, {measures} \
         FROM {from}{projects}{bransch} WHERE v.indicator = {indicator} AND v.period IN ({periods}){conditions}{group}",
        attributes = select_attributes(&columns),
        bransch = bransch_join(group_by, filter, &mut binds),
        group = if group_columns.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {}", group_columns.join(", "))
        },
    );
    let rows: Vec<TallyRow> = binds.load(conn, sql)?;
    rows.into_iter()
        .filter(|row| row.reporting > 0 || row.counted > 0)
        .map(|row| {
            Ok(Tally {
                attributes: row.keys.take(columns.len()),
                bucket: row.bucket.as_deref().and_then(PeriodId::parse),
                sum: joined_sum(row.total_high, row.total_low)?.unwrap_or(0),
                denominator: joined_sum(row.below_high, row.below_low)?.unwrap_or(0),
                distinct: row.counted as u64,
                reporting: row.reporting as u64,
            })
        })
        .collect()
}
