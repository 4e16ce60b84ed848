//! Storing a checked submission: what changed is written, with a revision per changed value,
//! in the caller's transaction; what is unchanged is left alone.

use std::collections::{BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::narratives::{NarrativeRevisionRow, NarrativeRow};
use super::schema::{idempotency_keys, submissions};
use super::values::{EntityRow, RevisionRow, ValueRow};
use super::{DbConnection, history, indicators, narratives, periods, projects, reference, values};
use crate::domain::change::{self as feed, ChangeKind};
use crate::domain::indicator::Aggregation;
use crate::domain::period::{Closing, PeriodId};
use crate::domain::report::ReportState;
use crate::domain::submission::records::{
    Change, Checked, Counts, NarrativeRecord, Outcome, ValueRecord, change_of,
};
use crate::domain::submission::stale::Stored;
use crate::domain::submission::touches::{item_touches, project_touches};
use crate::domain::submission::{CodeLists, Context, IndicatorRule, PeriodRule};

#[derive(Queryable, Selectable, Insertable)]
#[diesel(table_name = submissions)]
pub struct SubmissionRow {
    pub id: String,
    pub region: String,
    pub subject: String,
    pub idempotency_key: Option<String>,
    pub request_sha256: String,
    pub response: String,
    pub created_at: NaiveDateTime,
}

/// The submission `caller` made to `region` with `key`.
pub fn find_by_key(
    conn: &mut DbConnection,
    region: &str,
    caller: &str,
    key: &str,
) -> QueryResult<Option<SubmissionRow>> {
    idempotency_keys::table
        .inner_join(submissions::table)
        .filter(
            idempotency_keys::region
                .eq(region)
                .and(idempotency_keys::caller.eq(caller))
                .and(idempotency_keys::idempotency_key.eq(key)),
        )
        .select(SubmissionRow::as_select())
        .first(conn)
        .optional()
}

/// Records a submission, and its key for `caller` when it has one.
pub fn insert(
    conn: &mut DbConnection,
    row: &SubmissionRow,
    caller: &str,
    key: Option<&str>,
) -> QueryResult<()> {
    diesel::insert_into(submissions::table)
        .values(row)
        .execute(conn)?;
    if let Some(key) = key {
        diesel::insert_into(idempotency_keys::table)
            .values((
                idempotency_keys::region.eq(&row.region),
                idempotency_keys::caller.eq(caller),
                idempotency_keys::idempotency_key.eq(key),
                idempotency_keys::submission_id.eq(&row.id),
            ))
            .execute(conn)?;
    }
    Ok(())
}

pub fn set_response(conn: &mut DbConnection, id: &str, response: &str) -> QueryResult<()> {
    diesel::update(submissions::table.find(id))
        .set(submissions::response.eq(response))
        .execute(conn)?;
    Ok(())
}

/// The region's projects by ref: (id, start, end).
pub type RegionProjects = HashMap<String, (i64, NaiveDate, NaiveDate)>;

/// Loads what checking a submission from `region` that states the projects `project_refs`
/// needs. `enforce_locks` is false for admins, whose writes are never blocked.
pub fn load_context(
    conn: &mut DbConnection,
    region: &str,
    project_refs: &[&str],
    enforce_locks: bool,
    today: NaiveDate,
) -> QueryResult<(Context, RegionProjects)> {
    let mut codes = CodeLists::default();
    for row in reference::list_codes(conn)? {
        codes.insert(row.dimension, row.code, row.parent_code);
    }
    let indicators = indicators::list(conn)?
        .into_iter()
        .filter_map(|(row, _)| {
            let aggregation = Aggregation::parse(&row.aggregation)?;
            Some((
                row.code,
                IndicatorRule {
                    aggregation,
                    by_sex: row.by_sex,
                    decimals: u32::try_from(row.decimals).unwrap_or(0),
                    active: row.active,
                    derived: row.derived_from.is_some(),
                },
            ))
        })
        .collect();
    let all_periods = periods::list(conn)?;
    let locks = periods::locks(&all_periods);
    let signed_off = if enforce_locks {
        super::reports::periods_in(
            conn,
            region,
            &[ReportState::Submitted, ReportState::Accepted],
        )?
    } else {
        HashMap::new()
    };
    let periods = all_periods
        .iter()
        .filter_map(|(row, _)| {
            let id = PeriodId::parse(&row.id)?;
            let PeriodId::HalfYear { .. } = id else {
                return None;
            };
            let closed = enforce_locks
                && Closing::of(id, &locks)
                    .is_some_and(|closing| closing.closed_by(Some(region), today).is_some());
            Some((
                row.id.clone(),
                PeriodRule {
                    start: row.start_date,
                    end: row.end_date,
                    closed,
                    signed_off: signed_off.get(&row.id).copied(),
                },
            ))
        })
        .collect();
    let region_projects = projects::dates_of_region(conn, region)?;
    let stored_projects = region_projects
        .iter()
        .map(|(r, (_, start, end))| (r.clone(), (*start, *end)))
        .collect();
    Ok((
        Context {
            region: region.to_string(),
            codes,
            indicators,
            periods,
            stored_projects,
            reported: projects::reported_half_years(conn, region, project_refs)?,
            today,
            stored: Stored::default(),
        },
        region_projects,
    ))
}

/// Who writes, under which submission, when. `None` for a dry run, which writes nothing.
pub struct Writer<'a> {
    pub subject: &'a str,
    pub submission_id: Option<&'a str>,
    pub now: NaiveDateTime,
    /// The data version the write commits as.
    pub version: i64,
}

/// What storing a submission did (or, in a dry run, would do), the half-years whose
/// figures it changed (`touches`), and for the change feed what it wrote (nothing in a dry
/// run).
pub struct Applied {
    pub outcome: Outcome,
    pub touched: BTreeSet<PeriodId>,
    pub changes: Vec<feed::Change>,
}

/// Stores (or, with `writer` None, only counts) a checked submission to `region`.
pub fn apply(
    conn: &mut DbConnection,
    region: &str,
    checked: &Checked,
    region_projects: &RegionProjects,
    writer: Option<&Writer<'_>>,
) -> QueryResult<Applied> {
    let mut outcome = Outcome::default();
    let mut touched = BTreeSet::new();
    let mut changes = Vec::new();
    let mut ids: HashMap<String, i64> = region_projects
        .iter()
        .map(|(r, (id, _, _))| (r.clone(), *id))
        .collect();
    let stored_ids: Vec<i64> = checked
        .projects
        .iter()
        .filter_map(|p| ids.get(&p.project_ref).copied())
        .collect();
    let stored_projects = projects::load(conn, &stored_ids)?;
    for record in &checked.projects {
        let stored = ids
            .get(&record.project_ref)
            .and_then(|id| stored_projects.get(id));
        let change = change_of(record, stored.map(|s| &s.record));
        outcome.projects.count(change);
        touched.extend(project_touches(stored.map(|s| &s.record), record).half_years);
        if let Some(writer) = writer {
            if change != Change::Unchanged {
                changes.extend(feed::of_project(region, stored.map(|s| &s.record), record));
            }
            match (change, stored) {
                (Change::Created, _) => {
                    let id = projects::insert(conn, region, record, writer)?;
                    ids.insert(record.project_ref.clone(), id);
                }
                (Change::Updated, Some(stored)) => {
                    projects::update(conn, stored.row.id, region, record, writer)?
                }
                _ => {}
            }
        }
    }
    let written = Written {
        region,
        ids: &ids,
        writer,
    };
    outcome.values = apply_values(
        conn,
        &checked.values,
        checked.keeps_stored_comments,
        &written,
        &mut touched,
        &mut changes,
    )?;
    outcome.narratives = apply_narratives(
        conn,
        &checked.narratives,
        &written,
        &mut touched,
        &mut changes,
    )?;
    Ok(Applied {
        outcome,
        touched,
        changes,
    })
}

/// Where items are written: the region, its projects' ids by ref, and who writes (none in
/// a dry run).
struct Written<'a> {
    region: &'a str,
    ids: &'a HashMap<String, i64>,
    writer: Option<&'a Writer<'a>>,
}

/// The feed's record of an item `change`d (created or updated) by a write.
fn item_change(kind: ChangeKind, change: Change, region: &str, project_ref: &str) -> feed::Change {
    let action = if change == Change::Created {
        "created"
    } else {
        "updated"
    };
    feed::Change::new(kind, action)
        .region(region)
        .project(project_ref)
}

/// The ids of the projects that `refs` name and that exist.
fn ids_of<'a>(refs: impl Iterator<Item = &'a str>, ids: &HashMap<String, i64>) -> Vec<i64> {
    let mut found: Vec<i64> = refs.filter_map(|r| ids.get(r).copied()).collect();
    found.sort_unstable();
    found.dedup();
    found
}

/// A stored value as a submission would state it.
fn stored_record(project_ref: &str, stored: &values::StoredValue) -> ValueRecord {
    let row = &stored.row;
    ValueRecord {
        project_ref: project_ref.to_string(),
        indicator: row.indicator.clone(),
        period: row.period.clone(),
        value: row.value,
        by_sex: parts(row.kvinnor, row.man, row.ej_angivet),
        entities: stored.entities.clone(),
        comment: row.comment.clone(),
    }
}

fn parts(kvinnor: Option<i64>, man: Option<i64>, ej_angivet: Option<i64>) -> Option<[i64; 3]> {
    match (kvinnor, man, ej_angivet) {
        (Some(k), Some(m), Some(e)) => Some([k, m, e]),
        _ => None,
    }
}

/// Adds a narrative, its texts as progress, lessons and deviations.
fn add_narrative(stored: &mut Stored, project_ref: &str, period: String, texts: [String; 3]) {
    let [progress, lessons, deviations] = texts;
    let record = NarrativeRecord {
        project_ref: project_ref.to_string(),
        period: period.clone(),
        progress,
        lessons,
        deviations,
    };
    stored
        .narratives
        .insert((project_ref.to_string(), period), record);
}

/// These projects (id → ref) with their plans, values and narratives as stored at data
/// version `version`, or as stored now.
pub fn stored_at(
    conn: &mut DbConnection,
    refs: &HashMap<i64, String>,
    version: Option<i64>,
) -> QueryResult<Stored> {
    let ids: Vec<i64> = refs.keys().copied().collect();
    let mut stored = Stored::default();
    let Some(version) = version else {
        for (id, project) in projects::load(conn, &ids)? {
            stored.projects.insert(refs[&id].clone(), project.record);
        }
        for ((id, indicator, period), value) in values::load_for_projects(conn, &ids)? {
            let record = stored_record(&refs[&id], &value);
            stored
                .values
                .insert((refs[&id].clone(), indicator, period), record);
        }
        for ((id, period), row) in narratives::load_for_projects(conn, &ids)? {
            add_narrative(
                &mut stored,
                &refs[&id],
                period,
                [row.progress, row.lessons, row.deviations],
            );
        }
        return Ok(stored);
    };
    for &id in &ids {
        let then = history::project_versions(conn, id)?
            .into_iter()
            .find(|(was, _)| {
                was.valid_from <= version && was.valid_to.is_none_or(|to| to > version)
            });
        if let Some((_, record)) = then {
            stored.projects.insert(refs[&id].clone(), record);
        }
    }
    for ((id, indicator, period), revision) in values::as_of(conn, &ids, version)? {
        let record = ValueRecord {
            project_ref: refs[&id].clone(),
            indicator: indicator.clone(),
            period: period.clone(),
            value: revision.new_value,
            by_sex: parts(
                revision.new_kvinnor,
                revision.new_man,
                revision.new_ej_angivet,
            ),
            entities: revision
                .new_entities
                .as_deref()
                .and_then(|list| serde_json::from_str(list).ok())
                .unwrap_or_default(),
            comment: revision.comment,
        };
        stored
            .values
            .insert((refs[&id].clone(), indicator, period), record);
    }
    for ((id, period), row) in narratives::as_of(conn, &ids, version)? {
        add_narrative(
            &mut stored,
            &refs[&id],
            period,
            [row.progress, row.lessons, row.deviations],
        );
    }
    Ok(stored)
}

/// Writes the values that changed, adding their half-years to `touched`; with
/// `keeps_stored_comments` each keeps the comment stored with it.
fn apply_values(
    conn: &mut DbConnection,
    records: &[ValueRecord],
    keeps_stored_comments: bool,
    written: &Written<'_>,
    touched: &mut BTreeSet<PeriodId>,
    changes: &mut Vec<feed::Change>,
) -> QueryResult<Counts> {
    let (ids, writer) = (written.ids, written.writer);
    let mut counts = Counts::default();
    let project_ids = ids_of(records.iter().map(|v| v.project_ref.as_str()), ids);
    let stored = values::load_for_projects(conn, &project_ids)?;
    let mut new_values = Vec::new();
    let mut new_entities = Vec::new();
    let mut updated_values = Vec::new();
    let mut updated_entities = Vec::new();
    let mut revisions = Vec::new();
    for record in records {
        let project_id = ids.get(&record.project_ref).copied();
        let old = project_id
            .and_then(|id| stored.get(&(id, record.indicator.clone(), record.period.clone())));
        let kept;
        let record = match old {
            Some(old) if keeps_stored_comments => {
                kept = ValueRecord {
                    comment: old.row.comment.clone(),
                    ..record.clone()
                };
                &kept
            }
            _ => record,
        };
        let old_record = old.map(|old| stored_record(&record.project_ref, old));
        let change = change_of(record, old_record.as_ref());
        counts.count(change);
        touched.extend(item_touches(change, &record.period));
        let (Some(writer), Some(project_id)) = (writer, project_id) else {
            continue;
        };
        if change == Change::Unchanged {
            continue;
        }
        changes.push(
            item_change(
                ChangeKind::Value,
                change,
                written.region,
                &record.project_ref,
            )
            .indicator(record.indicator.as_str())
            .period(record.period.as_str()),
        );
        let row = ValueRow {
            project_id,
            indicator: record.indicator.clone(),
            period: record.period.clone(),
            value: record.value,
            kvinnor: record.by_sex.map(|p| p[0]),
            man: record.by_sex.map(|p| p[1]),
            ej_angivet: record.by_sex.map(|p| p[2]),
            comment: record.comment.clone(),
            updated_at: writer.now,
            updated_by: writer.subject.to_string(),
            submission_id: writer.submission_id.map(str::to_string),
        };
        let entities: Vec<EntityRow> = record
            .entities
            .iter()
            .map(|orgnr| EntityRow {
                project_id,
                indicator: record.indicator.clone(),
                period: record.period.clone(),
                orgnr: orgnr.clone(),
            })
            .collect();
        revisions.push(RevisionRow {
            id: 0,
            project_id,
            indicator: record.indicator.clone(),
            period: record.period.clone(),
            old_value: old.map(|o| o.row.value),
            new_value: record.value,
            new_kvinnor: row.kvinnor,
            new_man: row.man,
            new_ej_angivet: row.ej_angivet,
            new_entities: (!record.entities.is_empty())
                .then(|| serde_json::to_string(&record.entities).expect("strings serialise")),
            comment: record.comment.clone(),
            changed_at: writer.now,
            changed_by: writer.subject.to_string(),
            submission_id: writer.submission_id.map(str::to_string),
            version: writer.version,
        });
        if change == Change::Created {
            new_values.push(row);
            new_entities.extend(entities);
        } else {
            updated_values.push(row);
            updated_entities.extend(entities);
        }
    }
    values::update_all(conn, &updated_values, &updated_entities)?;
    values::insert(conn, &new_values, &new_entities, &revisions)?;
    Ok(counts)
}

/// Writes the narratives that changed, adding their half-years to `touched`.
fn apply_narratives(
    conn: &mut DbConnection,
    records: &[NarrativeRecord],
    written: &Written<'_>,
    touched: &mut BTreeSet<PeriodId>,
    changes: &mut Vec<feed::Change>,
) -> QueryResult<Counts> {
    let (ids, writer) = (written.ids, written.writer);
    let mut counts = Counts::default();
    let project_ids = ids_of(records.iter().map(|n| n.project_ref.as_str()), ids);
    let stored = narratives::load_for_projects(conn, &project_ids)?;
    let mut new_rows = Vec::new();
    let mut revisions = Vec::new();
    for record in records {
        let project_id = ids.get(&record.project_ref).copied();
        let old = project_id.and_then(|id| stored.get(&(id, record.period.clone())));
        let old_record = old.map(|old| NarrativeRecord {
            project_ref: record.project_ref.clone(),
            period: old.period.clone(),
            progress: old.progress.clone(),
            lessons: old.lessons.clone(),
            deviations: old.deviations.clone(),
        });
        let change = change_of(record, old_record.as_ref());
        counts.count(change);
        touched.extend(item_touches(change, &record.period));
        let (Some(writer), Some(project_id)) = (writer, project_id) else {
            continue;
        };
        let row = NarrativeRow {
            project_id,
            period: record.period.clone(),
            progress: record.progress.clone(),
            lessons: record.lessons.clone(),
            deviations: record.deviations.clone(),
            updated_at: writer.now,
            updated_by: writer.subject.to_string(),
            submission_id: writer.submission_id.map(str::to_string),
        };
        if change != Change::Unchanged {
            changes.push(
                item_change(
                    ChangeKind::Narrative,
                    change,
                    written.region,
                    &record.project_ref,
                )
                .period(record.period.as_str()),
            );
            revisions.push(NarrativeRevisionRow {
                project_id,
                period: record.period.clone(),
                version: writer.version,
                progress: record.progress.clone(),
                lessons: record.lessons.clone(),
                deviations: record.deviations.clone(),
                changed_by: writer.subject.to_string(),
            });
        }
        match change {
            Change::Created => new_rows.push(row),
            Change::Updated => narratives::update(conn, &row)?,
            Change::Unchanged => {}
        }
    }
    narratives::insert(conn, &new_rows)?;
    narratives::insert_revisions(conn, &revisions)?;
    Ok(counts)
}
