//! The checks of one project: its reference, texts, classification against the code lists,
//! dates, amounts and indicator plans.

use std::collections::HashSet;

use super::catalogue::stored_plan;
use super::input::ProjectInput;
use super::items::ItemErrors;
use super::records::{PlanRecord, ProjectRecord};
use super::{
    Context, MAX_CODES, MAX_GOAL_CHARS, MAX_ORGANISATION_CHARS, MAX_PLANS, MAX_REF_CHARS,
    MAX_SOURCE_CHARS, MAX_TITLE_CHARS,
};
use crate::domain::codes::Dimension;
use crate::domain::period::{FIRST_YEAR, LAST_YEAR};

/// Whether `project_ref` can name a project: 1 to 64 printable characters, no path
/// separators, no surrounding spaces.
pub fn is_valid_ref(project_ref: &str) -> bool {
    let length = project_ref.chars().count();
    (1..=MAX_REF_CHARS).contains(&length)
        && project_ref.trim() == project_ref
        && project_ref != "."
        && project_ref != ".."
        && !project_ref
            .chars()
            .any(|c| c.is_control() || c == '/' || c == '\\')
}

pub(super) fn check_project(
    project: ProjectInput,
    context: &Context,
    item: &mut ItemErrors<'_>,
) -> Option<ProjectRecord> {
    let before = item.list.len();
    if !is_valid_ref(&project.project_ref) {
        item.add(
            "ref",
            "invalid_ref",
            "must be 1 to 64 printable characters without '/' or surrounding spaces",
        );
    }
    item.text("title", &project.title, MAX_TITLE_CHARS, true);
    item.text(
        "organisation",
        &project.organisation,
        MAX_ORGANISATION_CHARS,
        true,
    );
    for (field, dimension, code) in [
        ("status", Dimension::Status, &project.status),
        (
            "project_type",
            Dimension::ProjectType,
            &project.project_type,
        ),
        ("sakomrade", Dimension::Sakomrade, &project.sakomrade),
        ("effektkedja", Dimension::Effektkedja, &project.effektkedja),
    ] {
        if !context.codes.has(dimension, code) {
            item.add(
                field,
                "unknown_code",
                format!("no {} '{code}'", dimension.as_str()),
            );
        }
    }
    if let Some(fokusomrade) = &project.fokusomrade {
        match context.codes.parent(Dimension::Fokusomrade, fokusomrade) {
            _ if !context.codes.has(Dimension::Fokusomrade, fokusomrade) => item.add(
                "fokusomrade",
                "unknown_code",
                format!("no fokusomrade '{fokusomrade}'"),
            ),
            Some(parent) if parent == project.sakomrade => {}
            _ => item.add(
                "fokusomrade",
                "wrong_sakomrade",
                format!(
                    "'{fokusomrade}' does not belong to sakomrade '{}'",
                    project.sakomrade
                ),
            ),
        }
    }
    let branscher = check_code_set(
        item,
        "branscher",
        Dimension::Bransch,
        &project.branscher,
        context,
    );
    let verktyg = check_code_set(
        item,
        "verktyg",
        Dimension::Verktyg,
        &project.verktyg,
        context,
    );
    let syften = check_code_set(item, "syften", Dimension::Syfte, &project.syften, context);
    if project.end_date < project.start_date {
        item.add("end_date", "before_start", "must not be before start_date");
    }
    // Values outside a project's dates would count in figures whose project counts leave
    // the project out; the dates must keep covering what was reported.
    if let Some((first, last)) = context.reported.get(&project.project_ref) {
        if first.end_date() < project.start_date {
            item.add(
                "start_date",
                "values_outside_dates",
                format!("values or narratives are stored for {first}, before this start date"),
            );
        }
        if last.start_date() > project.end_date {
            item.add(
                "end_date",
                "values_outside_dates",
                format!("values or narratives are stored for {last}, after this end date"),
            );
        }
    }
    for (field, date) in [
        ("start_date", project.start_date),
        ("end_date", project.end_date),
    ] {
        if !(FIRST_YEAR..=LAST_YEAR).contains(&chrono::Datelike::year(&date)) {
            item.add(
                field,
                "out_of_range",
                format!("the year must be {FIRST_YEAR} to {LAST_YEAR}"),
            );
        }
    }
    for (field, amount) in [
        ("granted_sek", project.granted_sek),
        ("total_budget_sek", project.total_budget_sek),
    ] {
        if amount < 0 {
            item.add(field, "negative", "must not be negative");
        }
    }
    if project.granted_sek > project.total_budget_sek {
        item.add(
            "granted_sek",
            "exceeds_budget",
            "the granted 1:1 funds are part of the total budget and cannot exceed it",
        );
    }
    let mut plans = Vec::new();
    let mut planned = HashSet::new();
    if project.indicators.len() > MAX_PLANS {
        item.add(
            "indicators",
            "too_many_items",
            format!("at most {MAX_PLANS} plans in one project"),
        );
    }
    for (i, plan) in project.indicators.into_iter().enumerate() {
        let field = |name: &str| format!("indicators[{i}].{name}");
        if !planned.insert(plan.indicator.clone()) {
            item.add(
                &field("indicator"),
                "duplicate",
                "the indicator is planned twice",
            );
        }
        let Some(rule) = context.indicators.get(&plan.indicator) else {
            item.add(
                &field("indicator"),
                "unknown_indicator",
                format!("no indicator '{}'", plan.indicator),
            );
            continue;
        };
        if rule.derived {
            item.add(
                &field("indicator"),
                "derived_indicator",
                "this indicator is computed from granted_sek or total_budget_sek",
            );
        }
        let stored = stored_plan(context, &project.project_ref, &plan.indicator);
        let baseline = plan.baseline.and_then(|v| {
            item.scaled_as_stored(
                &field("baseline"),
                v,
                rule.decimals,
                stored.and_then(|s| s.baseline),
            )
        });
        let target = plan.target.and_then(|v| {
            item.scaled_as_stored(
                &field("target"),
                v,
                rule.decimals,
                stored.and_then(|s| s.target),
            )
        });
        if let Some(year) = plan.baseline_year
            && !(i64::from(FIRST_YEAR)..=i64::from(LAST_YEAR)).contains(&year)
        {
            item.add(
                &field("baseline_year"),
                "out_of_range",
                format!("must be {FIRST_YEAR} to {LAST_YEAR}"),
            );
        }
        for (name, text, max) in [
            ("goal", &plan.goal, MAX_GOAL_CHARS),
            ("source", &plan.source, MAX_SOURCE_CHARS),
        ] {
            if let Some(text) = text {
                item.text(&field(name), text, max, false);
            }
        }
        let record = PlanRecord {
            indicator: plan.indicator,
            baseline,
            baseline_year: plan.baseline_year,
            target,
            goal: plan.goal.filter(|t| !t.is_empty()),
            source: plan.source.filter(|t| !t.is_empty()),
        };
        if !rule.active && stored != Some(&record) {
            item.add(
                &field("indicator"),
                "inactive_indicator",
                "the indicator is no longer in use: a plan stored before it was retired may be sent again unchanged, but not created or changed",
            );
        }
        plans.push(record);
    }
    plans.sort_by(|a, b| a.indicator.cmp(&b.indicator));
    (item.list.len() == before).then_some(ProjectRecord {
        project_ref: project.project_ref,
        title: project.title,
        organisation: project.organisation,
        status: project.status,
        project_type: project.project_type,
        sakomrade: project.sakomrade,
        fokusomrade: project.fokusomrade,
        effektkedja: project.effektkedja,
        branscher,
        verktyg,
        syften,
        start_date: project.start_date,
        end_date: project.end_date,
        granted_sek: project.granted_sek,
        total_budget_sek: project.total_budget_sek,
        plans,
    })
}

fn check_code_set(
    item: &mut ItemErrors<'_>,
    field: &str,
    dimension: Dimension,
    codes: &[String],
    context: &Context,
) -> Vec<String> {
    if codes.len() > MAX_CODES {
        item.add(
            field,
            "too_many_items",
            format!("at most {MAX_CODES} codes in one list"),
        );
        return Vec::new();
    }
    for (i, code) in codes.iter().enumerate() {
        if !context.codes.has(dimension, code) {
            item.add(
                &format!("{field}[{i}]"),
                "unknown_code",
                format!("no {} '{code}'", dimension.as_str()),
            );
        }
    }
    let mut set = codes.to_vec();
    set.sort();
    set.dedup();
    set
}
