//! The values of one indicator, one fact per value, as they are or as they stood.

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::{
    AttributeColumns, ProjectFilter, accepted_condition, attribute_columns, bransch_join,
    period_ids, project_conditions, projects_source, select_attributes,
};
use crate::db::DbConnection;
use crate::db::binds::Binds;
use crate::db::schema::value_entities;
use crate::domain::aggregate::facts::ValueFact;
use crate::domain::aggregate::question::GroupBy;
use crate::domain::period::PeriodId;

#[derive(QueryableByName)]
struct FactRow {
    #[diesel(embed)]
    keys: AttributeColumns,
    #[diesel(sql_type = BigInt)]
    project_id: i64,
    #[diesel(sql_type = Text)]
    period: String,
    #[diesel(sql_type = BigInt)]
    value: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    kvinnor: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    man: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    ej_angivet: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    entities: Option<String>,
}

fn parts(kvinnor: Option<i64>, man: Option<i64>, ej_angivet: Option<i64>) -> Option<[i64; 3]> {
    Some([kvinnor?, man?, ej_angivet?])
}

/// The values of `indicator` in these half-years for the matched projects, with the
/// projects' attributes for `group_by`: the current values, or with `as_of` the last
/// revision made by then. Enterprises are attached when `with_entities`.
pub fn values(
    conn: &mut DbConnection,
    filter: &ProjectFilter,
    group_by: &[GroupBy],
    indicator: &str,
    half_years: &[PeriodId],
    with_entities: bool,
) -> QueryResult<Vec<ValueFact>> {
    let columns = attribute_columns(group_by);
    let mut binds = Binds::for_connection(conn);
    let indicator_value = binds.text(indicator);
    let periods = binds.texts(&period_ids(half_years));
    let source = match filter.version {
        None => format!(
            "SELECT v.project_id, v.period, v.value, v.kvinnor, v.man, v.ej_angivet, CAST(NULL AS TEXT) AS entities \
             FROM indicator_values v WHERE v.indicator = {indicator_value} AND v.period IN ({periods})"
        ),
        // The last revision per value made by then.
        Some(version) => format!(
            "SELECT r.project_id, r.period, r.new_value AS value, r.new_kvinnor AS kvinnor, r.new_man AS man, \
             r.new_ej_angivet AS ej_angivet, r.new_entities AS entities FROM value_revisions r \
             WHERE r.id IN (SELECT MAX(l.id) FROM value_revisions l WHERE l.indicator = {indicator_value} \
             AND l.period IN ({periods}) AND l.version <= {version} GROUP BY l.project_id, l.period)",
            version = binds.big_int(version)
        ),
    };
    let sql = format!(
        "SELECT {attributes}, f.project_id, f.period, f.value, f.kvinnor, f.man, f.ej_angivet, f.entities \
         FROM ({source}) f JOIN {projects} p ON p.id = f.project_id{bransch} WHERE 1 = 1{conditions}",
        projects = projects_source(filter, &mut binds),
        attributes = select_attributes(&columns),
        bransch = bransch_join(group_by, filter, &mut binds),
        conditions = project_conditions(filter, &mut binds)
            + &accepted_condition(filter, "f.period", &mut binds),
    );
    let rows: Vec<FactRow> = binds.load(conn, sql)?;
    let mut current_entities: HashMap<(i64, String), Vec<String>> = HashMap::new();
    if with_entities && filter.version.is_none() {
        let found: Vec<(i64, String, String)> = value_entities::table
            .filter(value_entities::indicator.eq(indicator))
            .filter(value_entities::period.eq_any(period_ids(half_years)))
            .select((
                value_entities::project_id,
                value_entities::period,
                value_entities::orgnr,
            ))
            .load(conn)?;
        for (project_id, period, orgnr) in found {
            current_entities
                .entry((project_id, period))
                .or_default()
                .push(orgnr);
        }
    }
    let mut facts = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(half_year) = PeriodId::parse(&row.period) else {
            continue;
        };
        let entities = match row.entities {
            Some(json) if with_entities => serde_json::from_str(&json)
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
            _ => current_entities
                .get(&(row.project_id, row.period.clone()))
                .cloned()
                .unwrap_or_default(),
        };
        facts.push(ValueFact {
            attributes: row.keys.take(columns.len()).into(),
            project_id: row.project_id,
            half_year,
            value: row.value,
            parts: parts(row.kvinnor, row.man, row.ej_angivet),
            entities,
        });
    }
    Ok(facts)
}
