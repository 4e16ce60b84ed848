//! Actual values, the enterprises behind distinct values, and the revision history.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{data_versions, indicator_values, value_entities, value_revisions};
use super::{DbConnection, insert_batch};

#[derive(Queryable, Selectable, Insertable, Clone)]
#[diesel(table_name = indicator_values, treat_none_as_default_value = false)]
pub struct ValueRow {
    pub project_id: i64,
    pub indicator: String,
    pub period: String,
    pub value: i64,
    pub kvinnor: Option<i64>,
    pub man: Option<i64>,
    pub ej_angivet: Option<i64>,
    pub comment: Option<String>,
    pub updated_at: NaiveDateTime,
    pub updated_by: String,
    pub submission_id: Option<String>,
}

#[derive(Insertable)]
#[diesel(table_name = value_entities, treat_none_as_default_value = false)]
pub struct EntityRow {
    pub project_id: i64,
    pub indicator: String,
    pub period: String,
    pub orgnr: String,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = value_revisions, treat_none_as_default_value = false)]
pub struct RevisionRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub project_id: i64,
    pub indicator: String,
    pub period: String,
    pub old_value: Option<i64>,
    pub new_value: i64,
    pub new_kvinnor: Option<i64>,
    pub new_man: Option<i64>,
    pub new_ej_angivet: Option<i64>,
    pub new_entities: Option<String>,
    pub comment: Option<String>,
    pub changed_at: NaiveDateTime,
    pub changed_by: String,
    pub submission_id: Option<String>,
    pub version: i64,
}

/// The key of a value: project id, indicator, half-year.
pub type ValueKey = (i64, String, String);

/// A stored value with its enterprises (sorted).
pub struct StoredValue {
    pub row: ValueRow,
    pub entities: Vec<String>,
}

/// The stored values of these projects, by key.
pub fn load_for_projects(
    conn: &mut DbConnection,
    ids: &[i64],
) -> QueryResult<HashMap<ValueKey, StoredValue>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(super::BATCH_ROWS) {
        let rows: Vec<ValueRow> = indicator_values::table
            .filter(indicator_values::project_id.eq_any(chunk))
            .select(ValueRow::as_select())
            .load(conn)?;
        for row in rows {
            let key = (row.project_id, row.indicator.clone(), row.period.clone());
            found.insert(
                key,
                StoredValue {
                    row,
                    entities: Vec::new(),
                },
            );
        }
        let entities: Vec<(i64, String, String, String)> = value_entities::table
            .filter(value_entities::project_id.eq_any(chunk))
            .select((
                value_entities::project_id,
                value_entities::indicator,
                value_entities::period,
                value_entities::orgnr,
            ))
            .order(value_entities::orgnr)
            .load(conn)?;
        for (project_id, indicator, period, orgnr) in entities {
            if let Some(stored) = found.get_mut(&(project_id, indicator, period)) {
                stored.entities.push(orgnr);
            }
        }
    }
    Ok(found)
}

/// Inserts new values with their enterprises and revisions.
pub fn insert(
    conn: &mut DbConnection,
    values: &[ValueRow],
    entities: &[EntityRow],
    revisions: &[RevisionRow],
) -> QueryResult<()> {
    insert_batch!(conn, indicator_values::table, values);
    insert_batch!(conn, value_entities::table, entities);
    insert_batch!(conn, value_revisions::table, revisions);
    Ok(())
}

/// Writes these stored values anew, each with its enterprises (`entities`, of these values
/// only). On PostgreSQL in three statements for them all, each column bound as an array:
/// a statement per value would cost a round trip to the database each, and under load every
/// round trip waits for both processes to get a core again, so a submission of 10,000
/// values took seconds. SQLite runs in the process, where a statement per value costs no
/// round trip.
pub fn update_all(
    conn: &mut DbConnection,
    values: &[ValueRow],
    entities: &[EntityRow],
) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};

    let DbConnection::Postgres(pg) = conn else {
        for value in values {
            update(conn, value)?;
        }
        insert_batch!(conn, value_entities::table, entities);
        return Ok(());
    };
    if values.is_empty() {
        return Ok(());
    }
    let project_ids: Vec<i64> = values.iter().map(|v| v.project_id).collect();
    let indicators: Vec<&str> = values.iter().map(|v| v.indicator.as_str()).collect();
    let periods: Vec<&str> = values.iter().map(|v| v.period.as_str()).collect();
    let parts = |part: fn(&ValueRow) -> Option<i64>| values.iter().map(part).collect::<Vec<_>>();
    diesel::sql_query(
        "UPDATE indicator_values AS v SET value = n.value, kvinnor = n.kvinnor, man = n.man, \
         ej_angivet = n.ej_angivet, comment = n.comment, updated_at = n.updated_at, \
         updated_by = n.updated_by, submission_id = n.submission_id \
         FROM UNNEST($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) AS n(project_id, indicator, \
           period, value, kvinnor, man, ej_angivet, comment, updated_at, updated_by, submission_id) \
         WHERE v.project_id = n.project_id AND v.indicator = n.indicator AND v.period = n.period",
    )
    .bind::<Array<BigInt>, _>(&project_ids)
    .bind::<Array<Text>, _>(&indicators)
    .bind::<Array<Text>, _>(&periods)
    .bind::<Array<BigInt>, _>(values.iter().map(|v| v.value).collect::<Vec<_>>())
    .bind::<Array<Nullable<BigInt>>, _>(parts(|v| v.kvinnor))
    .bind::<Array<Nullable<BigInt>>, _>(parts(|v| v.man))
    .bind::<Array<Nullable<BigInt>>, _>(parts(|v| v.ej_angivet))
    .bind::<Array<Nullable<Text>>, _>(values.iter().map(|v| v.comment.as_deref()).collect::<Vec<_>>())
    .bind::<Array<Timestamp>, _>(values.iter().map(|v| v.updated_at).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(values.iter().map(|v| v.updated_by.as_str()).collect::<Vec<_>>())
    .bind::<Array<Nullable<Text>>, _>(
        values.iter().map(|v| v.submission_id.as_deref()).collect::<Vec<_>>(),
    )
    .execute(pg)?;
    diesel::sql_query(
        "DELETE FROM value_entities AS e USING UNNEST($1, $2, $3) AS n(project_id, indicator, period) \
         WHERE e.project_id = n.project_id AND e.indicator = n.indicator AND e.period = n.period",
    )
    .bind::<Array<BigInt>, _>(&project_ids)
    .bind::<Array<Text>, _>(&indicators)
    .bind::<Array<Text>, _>(&periods)
    .execute(pg)?;
    insert_batch!(conn, value_entities::table, entities);
    Ok(())
}

/// Writes one stored value anew, its enterprises left to the caller.
fn update(conn: &mut DbConnection, value: &ValueRow) -> QueryResult<()> {
    let key = indicator_values::table.find((&value.project_id, &value.indicator, &value.period));
    diesel::update(key)
        .set((
            indicator_values::value.eq(value.value),
            indicator_values::kvinnor.eq(value.kvinnor),
            indicator_values::man.eq(value.man),
            indicator_values::ej_angivet.eq(value.ej_angivet),
            indicator_values::comment.eq(&value.comment),
            indicator_values::updated_at.eq(value.updated_at),
            indicator_values::updated_by.eq(&value.updated_by),
            indicator_values::submission_id.eq(&value.submission_id),
        ))
        .execute(conn)?;
    diesel::delete(
        value_entities::table.filter(
            value_entities::project_id
                .eq(value.project_id)
                .and(value_entities::indicator.eq(&value.indicator))
                .and(value_entities::period.eq(&value.period)),
        ),
    )
    .execute(conn)?;
    Ok(())
}

/// The values of these projects as they were at data version `version`: the last revision of
/// each made by then, which holds the whole value.
pub fn as_of(
    conn: &mut DbConnection,
    ids: &[i64],
    version: i64,
) -> QueryResult<HashMap<ValueKey, RevisionRow>> {
    let mut found = HashMap::new();
    for chunk in ids.chunks(super::BATCH_ROWS) {
        let rows: Vec<RevisionRow> = value_revisions::table
            .filter(value_revisions::project_id.eq_any(chunk))
            .filter(value_revisions::version.le(version))
            .order(value_revisions::id)
            .select(RevisionRow::as_select())
            .load(conn)?;
        for row in rows {
            let key = (row.project_id, row.indicator.clone(), row.period.clone());
            found.insert(key, row);
        }
    }
    Ok(found)
}

/// Every revision of a project's values, oldest first, each with the stamp of its data
/// version (every version a revision carries was committed with it).
pub fn history(
    conn: &mut DbConnection,
    project_id: i64,
) -> QueryResult<Vec<(RevisionRow, NaiveDateTime)>> {
    value_revisions::table
        .inner_join(data_versions::table.on(data_versions::version.eq(value_revisions::version)))
        .filter(value_revisions::project_id.eq(project_id))
        .order(value_revisions::id)
        .select((RevisionRow::as_select(), data_versions::committed_at))
        .load(conn)
}
