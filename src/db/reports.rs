//! Reports per region and half-year, and their append-only events.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{data_versions, narratives, report_events, reports};
use crate::domain::report::ReportState;

/// A report's stored state and revision; a report without a row is open, revision 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredState {
    pub state: String,
    pub revision: i64,
}

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = report_events)]
pub struct EventRow {
    #[diesel(skip_insertion)]
    pub id: i64,
    pub region: String,
    pub period: String,
    pub from_state: String,
    pub to_state: String,
    pub subject: String,
    pub role: String,
    pub comment: Option<String>,
    pub missing: Option<String>,
    pub version: i64,
    pub changed_at: NaiveDateTime,
}

pub fn find(
    conn: &mut DbConnection,
    region: &str,
    period: &str,
) -> QueryResult<Option<StoredState>> {
    reports::table
        .find((region, period))
        .select((reports::state, reports::revision))
        .first::<(String, i64)>(conn)
        .optional()
        .map(|found| found.map(|(state, revision)| StoredState { state, revision }))
}

/// Every stored report of a half-year, by region.
pub fn of_period(
    conn: &mut DbConnection,
    period: &str,
) -> QueryResult<HashMap<String, StoredState>> {
    let rows: Vec<(String, String, i64)> = reports::table
        .filter(reports::period.eq(period))
        .select((reports::region, reports::state, reports::revision))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(region, state, revision)| (region, StoredState { state, revision }))
        .collect())
}

/// The half-years of `region` whose report is in one of `states`, with its state.
pub fn periods_in(
    conn: &mut DbConnection,
    region: &str,
    states: &[ReportState],
) -> QueryResult<HashMap<String, ReportState>> {
    let names: Vec<&str> = states.iter().map(|state| state.as_str()).collect();
    let rows: Vec<(String, String)> = reports::table
        .filter(reports::region.eq(region))
        .filter(reports::state.eq_any(names))
        .select((reports::period, reports::state))
        .load(conn)?;
    rows.into_iter()
        .map(|(period, state)| Ok((period, parse_state(&state)?)))
        .collect()
}

fn parse_state(state: &str) -> QueryResult<ReportState> {
    ReportState::parse(state).ok_or_else(|| {
        diesel::result::Error::DeserializationError(format!("stored report state '{state}'").into())
    })
}

/// Moves the report from `revision` to `state` (compare and set): false when another
/// transition came first. Writers take turns (`write_transaction`), so a report without a
/// row when read has none when inserted.
pub fn set_state(
    conn: &mut DbConnection,
    region: &str,
    period: &str,
    revision: i64,
    state: &str,
) -> QueryResult<bool> {
    if revision == 0 {
        let inserted = diesel::insert_into(reports::table)
            .values((
                reports::region.eq(region),
                reports::period.eq(period),
                reports::state.eq(state),
                reports::revision.eq(1),
            ))
            .execute(conn)?;
        return Ok(inserted == 1);
    }
    let updated = diesel::update(
        reports::table
            .filter(reports::region.eq(region))
            .filter(reports::period.eq(period))
            .filter(reports::revision.eq(revision)),
    )
    .set((reports::state.eq(state), reports::revision.eq(revision + 1)))
    .execute(conn)?;
    Ok(updated == 1)
}

pub fn append_event(conn: &mut DbConnection, event: &EventRow) -> QueryResult<()> {
    diesel::insert_into(report_events::table)
        .values(event)
        .execute(conn)?;
    Ok(())
}

/// A report's events, oldest first, each at the stamp of the data version it committed as
/// (not the instance's clock when it was written): the one clock `as_of` reads, so that a
/// question as of an event's instant sees the event, on any instance. An event of the write
/// still in flight (read for a transition's own answer) has no stamp yet and keeps the
/// instant it was written.
pub fn events(conn: &mut DbConnection, region: &str, period: &str) -> QueryResult<Vec<EventRow>> {
    let rows: Vec<(EventRow, Option<NaiveDateTime>)> = report_events::table
        .left_join(data_versions::table.on(data_versions::version.eq(report_events::version)))
        .filter(report_events::region.eq(region))
        .filter(report_events::period.eq(period))
        .order(report_events::id)
        .select((
            EventRow::as_select(),
            data_versions::committed_at.nullable(),
        ))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(row, stamp)| EventRow {
            changed_at: stamp.unwrap_or(row.changed_at),
            ..row
        })
        .collect())
}

/// The projects among `ids` with a narrative for `period`.
pub fn with_narrative(conn: &mut DbConnection, ids: &[i64], period: &str) -> QueryResult<Vec<i64>> {
    let mut found = Vec::new();
    for chunk in ids.chunks(super::BATCH_ROWS) {
        found.extend(
            narratives::table
                .filter(narratives::project_id.eq_any(chunk))
                .filter(narratives::period.eq(period))
                .select(narratives::project_id)
                .load::<i64>(conn)?,
        );
    }
    Ok(found)
}

/// The state of every stored report of `periods` as it is (`version` None) or as it stood at
/// a data version: (region, period) → state. A report not listed is open.
pub fn states_at(
    conn: &mut DbConnection,
    periods: &[String],
    version: Option<i64>,
) -> QueryResult<HashMap<(String, String), ReportState>> {
    let rows: Vec<(String, String, String)> = match version {
        None => reports::table
            .filter(reports::period.eq_any(periods))
            .select((reports::region, reports::period, reports::state))
            .load(conn)?,
        Some(version) => {
            // The last event by then of each report.
            let events: Vec<(i64, String, String, String)> = report_events::table
                .filter(report_events::period.eq_any(periods))
                .filter(report_events::version.le(version))
                .order(report_events::id)
                .select((
                    report_events::id,
                    report_events::region,
                    report_events::period,
                    report_events::to_state,
                ))
                .load(conn)?;
            events
                .into_iter()
                .map(|(_, region, period, state)| (region, period, state))
                .collect()
        }
    };
    // Later rows (events in order) replace earlier ones.
    rows.into_iter()
        .map(|(region, period, state)| Ok(((region, period), parse_state(&state)?)))
        .collect()
}
