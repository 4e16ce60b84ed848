//! The checks of a whole submission: limits, repeated items, which project and half-year
//! each value and narrative belongs to, and which half-years are closed to the writer.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::input::SubmissionInput;
use super::items::ItemErrors;
use super::records::{Checked, NarrativeRecord, ProjectRecord, ValueRecord};
use super::stale::figures;
use super::touches::project_touches;
use super::{Context, MAX_NARRATIVE_CHARS, MAX_NARRATIVES, MAX_PROJECTS, MAX_VALUES, Rejection};
use super::{catalogue, project::check_project, value::check_value};
use crate::domain::period::PeriodId;
use crate::domain::validation::{Errors, FieldError};

/// The stored projects whose records, values and narratives the checks compare with (loaded
/// into `Context::stored`): those the catalogue's rules need (`catalogue`); every stored
/// project the submission states while a half-year is signed off for the writer (a change
/// is refused only if it touches the report's figures); and the projects of values and
/// narratives of half-years closed or signed off for the writer (resending them unchanged
/// passes).
pub fn refs_to_compare(input: &SubmissionInput, context: &Context) -> Vec<String> {
    let held = |period: &str| {
        context
            .periods
            .get(period)
            .is_some_and(|rule| rule.closed || rule.signed_off.is_some())
    };
    let any_signed_off = context
        .periods
        .values()
        .any(|rule| rule.signed_off.is_some());
    let mut refs = catalogue::refs_to_compare(input, context);
    refs.extend(
        input
            .projects
            .iter()
            .filter(|_| any_signed_off)
            .map(|project| &project.project_ref)
            .chain(
                input
                    .values
                    .iter()
                    .filter(|value| held(&value.period))
                    .map(|value| &value.project_ref),
            )
            .chain(
                input
                    .narratives
                    .iter()
                    .filter(|narrative| held(&narrative.period))
                    .map(|narrative| &narrative.project_ref),
            )
            .filter(|project_ref| context.stored_projects.contains_key(*project_ref))
            .cloned(),
    );
    refs.sort();
    refs.dedup();
    refs
}

/// Checks a whole submission against what the database knows.
pub fn check(input: SubmissionInput, context: &Context) -> Result<Checked, Rejection> {
    let mut errors = Errors::new();
    for (field, count, max) in [
        ("projects", input.projects.len(), MAX_PROJECTS),
        ("values", input.values.len(), MAX_VALUES),
        ("narratives", input.narratives.len(), MAX_NARRATIVES),
    ] {
        if count > max {
            errors.push(FieldError::new(
                field,
                "too_many_items",
                format!("at most {max} items in one submission; split it"),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(Rejection::Invalid(errors.into_vec()));
    }
    let mut locked = Errors::new();
    let mut checked = Checked {
        keeps_stored_comments: input.keeps_stored_comments,
        ..Checked::default()
    };
    let mut seen_refs = HashSet::new();
    for (index, project) in input.projects.into_iter().enumerate() {
        let mut item = ItemErrors {
            list: &mut errors,
            prefix: "projects",
            index,
        };
        if !seen_refs.insert(project.project_ref.clone()) {
            item.add(
                "ref",
                "duplicate",
                "the same project appears twice in the submission",
            );
        }
        if let Some(record) = check_project(project, context, &mut item) {
            locked.extend(signed_off_touches(&record, context, index));
            checked.projects.push(record);
        }
    }
    let project_dates: HashMap<&str, (NaiveDate, NaiveDate)> = context
        .stored_projects
        .iter()
        .map(|(r, dates)| (r.as_str(), *dates))
        .chain(
            checked
                .projects
                .iter()
                .map(|p| (p.project_ref.as_str(), (p.start_date, p.end_date))),
        )
        .collect();
    let mut seen_values = HashSet::new();
    for (index, value) in input.values.into_iter().enumerate() {
        let mut item = ItemErrors {
            list: &mut errors,
            prefix: "values",
            index,
        };
        let key = (
            value.project_ref.clone(),
            value.indicator.clone(),
            value.period.clone(),
        );
        if !seen_values.insert(key) {
            item.add(
                "period",
                "duplicate",
                "the same project, indicator and period appear twice",
            );
        }
        let dates = project_dates.get(value.project_ref.as_str()).copied();
        let period = value.period.clone();
        let record = check_value(value, context, &mut item);
        let unchanged = record
            .as_ref()
            .is_some_and(|record| value_unchanged(record, context, checked.keeps_stored_comments));
        let period_ok = check_period(&period, dates, context, &mut item, &mut locked, unchanged);
        if dates.is_none() {
            item.add(
                "project_ref",
                "unknown_project",
                "no such project in the region or the submission",
            );
        }
        if let Some(record) = record
            && period_ok
            && dates.is_some()
        {
            checked.values.push(record);
        }
    }
    let mut seen_narratives = HashSet::new();
    for (index, narrative) in input.narratives.into_iter().enumerate() {
        let mut item = ItemErrors {
            list: &mut errors,
            prefix: "narratives",
            index,
        };
        if !seen_narratives.insert((narrative.project_ref.clone(), narrative.period.clone())) {
            item.add(
                "period",
                "duplicate",
                "the same project and period appear twice",
            );
        }
        let dates = project_dates.get(narrative.project_ref.as_str()).copied();
        let record = NarrativeRecord {
            project_ref: narrative.project_ref,
            period: narrative.period,
            progress: narrative.progress,
            lessons: narrative.lessons,
            deviations: narrative.deviations,
        };
        let unchanged = context
            .stored
            .narratives
            .get(&(record.project_ref.clone(), record.period.clone()))
            == Some(&record);
        check_period(
            &record.period,
            dates,
            context,
            &mut item,
            &mut locked,
            unchanged,
        );
        if dates.is_none() {
            item.add(
                "project_ref",
                "unknown_project",
                "no such project in the region or the submission",
            );
        }
        item.text("progress", &record.progress, MAX_NARRATIVE_CHARS, false);
        item.text("lessons", &record.lessons, MAX_NARRATIVE_CHARS, false);
        item.text("deviations", &record.deviations, MAX_NARRATIVE_CHARS, false);
        if [&record.progress, &record.lessons, &record.deviations]
            .iter()
            .all(|text| text.trim().is_empty())
        {
            item.add(
                "progress",
                "required",
                "a narrative needs progress, lessons or deviations",
            );
        }
        checked.narratives.push(record);
    }
    match (errors.is_empty(), locked.is_empty()) {
        (true, true) => Ok(checked),
        (true, false) => Err(Rejection::Locked(locked.into_vec())),
        (false, _) => {
            errors.append(locked);
            errors.sort_by_field();
            Err(Rejection::Invalid(errors.into_vec()))
        }
    }
}

/// The errors of a project whose change would move figures of a report signed off for the
/// writer: one per changed field, naming the reports.
fn signed_off_touches(record: &ProjectRecord, context: &Context, index: usize) -> Vec<FieldError> {
    let touch = project_touches(context.stored.projects.get(&record.project_ref), record);
    let reports: Vec<String> = touch
        .half_years
        .iter()
        .filter_map(|half_year| {
            let state = context.periods.get(&half_year.to_string())?.signed_off?;
            Some(format!("{half_year} ({})", state.as_str()))
        })
        .collect();
    if reports.is_empty() {
        return Vec::new();
    }
    let reports = reports.join(", ");
    touch
        .fields
        .into_iter()
        .map(|field| {
            let what = match field {
                "ref" => "this new project would count in".to_string(),
                _ => format!("changing {field} would change the figures of"),
            };
            FieldError {
                index: Some(index),
                ..FieldError::new(
                    format!("projects[{index}].{field}"),
                    "report_signed_off",
                    format!(
                        "{what} the signed-off report of region {} for {reports}; it changes only once the report is withdrawn or returned",
                        context.region
                    ),
                )
            }
        })
        .collect()
}

/// Whether storing the value would change nothing: its figures and comment are those stored
/// (a file without comments keeps the stored one).
fn value_unchanged(value: &ValueRecord, context: &Context, keeps_stored_comments: bool) -> bool {
    let key = (
        value.project_ref.clone(),
        value.indicator.clone(),
        value.period.clone(),
    );
    context.stored.values.get(&key).is_some_and(|stored| {
        figures(stored) == figures(value)
            && (keeps_stored_comments || stored.comment == value.comment)
    })
}

/// Checks the period of a value or narrative; a closed or signed-off period sends the item to
/// `locked` unless it is `unchanged`: resending what is stored changes nothing, so no lock
/// refuses it. Returns whether the period is usable.
fn check_period(
    period: &str,
    project_dates: Option<(NaiveDate, NaiveDate)>,
    context: &Context,
    item: &mut ItemErrors<'_>,
    locked: &mut Errors,
    unchanged: bool,
) -> bool {
    let Some(id) = PeriodId::parse(period).filter(|id| matches!(id, PeriodId::HalfYear { .. }))
    else {
        item.add(
            "period",
            "invalid_period",
            "must be a half-year such as 2026H1",
        );
        return false;
    };
    let Some(rule) = context.periods.get(period) else {
        item.add(
            "period",
            "unknown_period",
            format!("{id} has not been opened for reporting"),
        );
        return false;
    };
    if rule.start > context.today {
        item.add(
            "period",
            "period_not_started",
            format!("{id} has not started"),
        );
        return false;
    }
    if let Some((start, end)) = project_dates
        && (rule.end < start || rule.start > end)
    {
        item.add(
            "period",
            "outside_project",
            format!("{id} lies outside the project's dates"),
        );
        return false;
    }
    let signed_off = rule.signed_off.map(|state| {
        (
            "report_signed_off",
            format!(
                "the report of region {} for {id} is {}; its data changes only once the report is withdrawn or returned",
                context.region,
                state.as_str()
            ),
        )
    });
    let lock = if unchanged {
        None
    } else if rule.closed {
        Some(("period_locked", format!("{id} is closed for reporting")))
    } else {
        signed_off
    };
    if let Some((code, message)) = lock {
        locked.push_with(|| FieldError {
            index: Some(item.index),
            ..FieldError::new(
                format!("{}[{}].period", item.prefix, item.index),
                code,
                message,
            )
        });
    }
    true
}
