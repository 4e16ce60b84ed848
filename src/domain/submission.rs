//! A submission: projects, values and narratives from one region, checked as a whole so that
//! every problem is reported at once and nothing is stored unless everything is right.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codes::Dimension;
use super::decimal::{DecimalError, to_scaled_non_negative};
use super::indicator::Aggregation;
use super::orgnr;
use super::period::{FIRST_YEAR, LAST_YEAR, PeriodId};
use super::validation::{FieldError, check_optional_text, check_text};

pub const MAX_PROJECTS: usize = 10_000;
pub const MAX_VALUES: usize = 100_000;
pub const MAX_NARRATIVES: usize = 20_000;
pub const MAX_REF_CHARS: usize = 64;
pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_ORGANISATION_CHARS: usize = 300;
pub const MAX_GOAL_CHARS: usize = 2_000;
pub const MAX_SOURCE_CHARS: usize = 500;
pub const MAX_COMMENT_CHARS: usize = 2_000;
pub const MAX_NARRATIVE_CHARS: usize = 10_000;
pub const MAX_ENTITIES: usize = 10_000;

/// One project with its full classification and indicator plans.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    /// The region's own identifier of the project: 1 to 64 printable characters, no `/`.
    #[serde(rename = "ref")]
    #[schema(example = "20201234")]
    pub project_ref: String,
    pub title: String,
    pub organisation: String,
    /// A `status` code.
    #[schema(example = "pagaende")]
    pub status: String,
    /// A `project_type` code.
    #[schema(example = "projekt")]
    pub project_type: String,
    #[schema(example = "innovation_foretagande")]
    pub sakomrade: String,
    /// Must belong to the sakomrade.
    #[serde(default)]
    pub fokusomrade: Option<String>,
    #[schema(example = "varor_tjanster_direkt")]
    pub effektkedja: String,
    #[serde(default)]
    pub branscher: Vec<String>,
    #[serde(default)]
    pub verktyg: Vec<String>,
    #[serde(default)]
    pub syften: Vec<String>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// Granted 1:1 funds in whole SEK.
    pub granted_sek: i64,
    /// Total budget including co-financing in whole SEK; at least `granted_sek`.
    pub total_budget_sek: i64,
    #[serde(default)]
    pub indicators: Vec<PlanInput>,
}

/// A project's plan for one indicator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    #[schema(example = "RCO01")]
    pub indicator: String,
    /// Utgångsvärde.
    #[serde(default)]
    pub baseline: Option<Decimal>,
    #[serde(default)]
    pub baseline_year: Option<i64>,
    /// Målvärde.
    #[serde(default)]
    pub target: Option<Decimal>,
    /// Målformulering.
    #[serde(default)]
    pub goal: Option<String>,
    /// Källa: where the figures come from.
    #[serde(default)]
    pub source: Option<String>,
}

/// An actual value of one project, indicator and half-year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueInput {
    pub project_ref: String,
    pub indicator: String,
    #[schema(example = "2026H1")]
    pub period: String,
    /// The value, with at most the indicator's decimals. For a distinct indicator it may be
    /// left out: it is the number of distinct `entities`.
    #[serde(default)]
    pub value: Option<Decimal>,
    /// For a distinct indicator: the enterprises' organisationsnummer.
    #[serde(default)]
    pub entities: Option<Vec<String>>,
    /// For an indicator with `by_sex`: the parts, which add up to `value`.
    #[serde(default)]
    pub by_sex: Option<BySexInput>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BySexInput {
    pub kvinnor: Decimal,
    pub man: Decimal,
    pub ej_angivet: Decimal,
}

/// The qualitative part of one project and half-year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NarrativeInput {
    pub project_ref: String,
    #[schema(example = "2026H1")]
    pub period: String,
    #[serde(default)]
    pub progress: String,
    #[serde(default)]
    pub lessons: String,
    #[serde(default)]
    pub deviations: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionInput {
    #[serde(default)]
    pub projects: Vec<ProjectInput>,
    #[serde(default)]
    pub values: Vec<ValueInput>,
    #[serde(default)]
    pub narratives: Vec<NarrativeInput>,
}

/// Every code of every list, with a fokusomrade's sakomrade as its parent.
#[derive(Debug, Default)]
pub struct CodeLists(HashMap<String, HashMap<String, Option<String>>>);

impl CodeLists {
    pub fn insert(&mut self, dimension: String, code: String, parent: Option<String>) {
        self.0.entry(dimension).or_default().insert(code, parent);
    }

    fn has(&self, dimension: Dimension, code: &str) -> bool {
        self.0
            .get(dimension.as_str())
            .is_some_and(|codes| codes.contains_key(code))
    }

    fn parent(&self, dimension: Dimension, code: &str) -> Option<&str> {
        self.0.get(dimension.as_str())?.get(code)?.as_deref()
    }
}

/// What a value must obey, from its indicator.
#[derive(Debug, Clone)]
pub struct IndicatorRule {
    pub aggregation: Aggregation,
    pub by_sex: bool,
    pub decimals: u32,
    pub active: bool,
    /// Computed from a project field, never reported.
    pub derived: bool,
}

/// A half-year that has been opened for reporting.
#[derive(Debug, Clone)]
pub struct PeriodRule {
    pub start: NaiveDate,
    pub end: NaiveDate,
    /// Closed for the writer: locked or past its deadline (or its year's), with no lock
    /// exception for the region, and the writer is not an admin.
    pub closed: bool,
}

/// What the database knows that the checks need.
#[derive(Debug, Default)]
pub struct Context {
    pub codes: CodeLists,
    pub indicators: HashMap<String, IndicatorRule>,
    /// Half-years by id.
    pub periods: HashMap<String, PeriodRule>,
    /// The region's stored projects: ref → (start, end).
    pub stored_projects: HashMap<String, (NaiveDate, NaiveDate)>,
    pub today: NaiveDate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectRecord {
    pub project_ref: String,
    pub title: String,
    pub organisation: String,
    pub status: String,
    pub project_type: String,
    pub sakomrade: String,
    pub fokusomrade: Option<String>,
    pub effektkedja: String,
    /// Sorted, without repeats; likewise `verktyg` and `syften`.
    pub branscher: Vec<String>,
    pub verktyg: Vec<String>,
    pub syften: Vec<String>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub granted_sek: i64,
    pub total_budget_sek: i64,
    /// Sorted by indicator.
    pub plans: Vec<PlanRecord>,
}

/// Baseline and target are scaled integers (see `decimal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanRecord {
    pub indicator: String,
    pub baseline: Option<i64>,
    pub baseline_year: Option<i64>,
    pub target: Option<i64>,
    pub goal: Option<String>,
    pub source: Option<String>,
}

/// The value and its parts are scaled integers (see `decimal`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueRecord {
    pub project_ref: String,
    pub indicator: String,
    pub period: String,
    pub value: i64,
    /// kvinnor, man, ej_angivet.
    pub by_sex: Option<[i64; 3]>,
    /// Normalised organisationsnummer, sorted, without repeats.
    pub entities: Vec<String>,
    /// None when absent or empty.
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NarrativeRecord {
    pub project_ref: String,
    pub period: String,
    pub progress: String,
    pub lessons: String,
    pub deviations: String,
}

#[derive(Debug, Default)]
pub struct Checked {
    pub projects: Vec<ProjectRecord>,
    pub values: Vec<ValueRecord>,
    pub narratives: Vec<NarrativeRecord>,
}

#[derive(Debug, PartialEq)]
pub enum Rejection {
    /// Something is invalid (the list may also name closed periods).
    Invalid(Vec<FieldError>),
    /// Everything is valid, but some items write to periods closed for the writer.
    Locked(Vec<FieldError>),
}

/// Errors of one item: each is given the item's index and a field path below it.
struct ItemErrors<'a> {
    list: &'a mut Vec<FieldError>,
    prefix: &'static str,
    index: usize,
}

impl ItemErrors<'_> {
    fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.list.push(FieldError {
            index: Some(self.index),
            field: format!("{}[{}].{field}", self.prefix, self.index),
            code: code.to_string(),
            message: message.into(),
        });
    }

    /// Runs a text check written for plain field names under this item's prefix.
    fn text(&mut self, field: &str, text: &str, max_chars: usize, required: bool) {
        let mut found = super::validation::Errors::new();
        if required {
            check_text(&mut found, field, text, max_chars);
        } else {
            check_optional_text(&mut found, field, text, max_chars);
        }
        if let Err(errors) = found.into_result() {
            for error in errors {
                self.add(&error.field, &error.code, error.message);
            }
        }
    }

    fn scaled(&mut self, field: &str, value: Decimal, decimals: u32) -> Option<i64> {
        match to_scaled_non_negative(value, decimals) {
            Ok(scaled) => Some(scaled),
            Err(DecimalError::TooManyDecimals { allowed }) => {
                self.add(
                    field,
                    "too_many_decimals",
                    format!("at most {allowed} decimals"),
                );
                None
            }
            Err(DecimalError::OutOfRange) => {
                self.add(field, "out_of_range", "too large");
                None
            }
            Err(DecimalError::Negative) => {
                self.add(field, "negative", "must not be negative");
                None
            }
        }
    }
}

/// Checks a whole submission against what the database knows.
pub fn check(input: SubmissionInput, context: &Context) -> Result<Checked, Rejection> {
    let mut errors = Vec::new();
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
        return Err(Rejection::Invalid(errors));
    }
    let mut locked = Vec::new();
    let mut checked = Checked::default();
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
        let period_ok = check_period(&value.period, dates, context, &mut item, &mut locked);
        if dates.is_none() {
            item.add(
                "project_ref",
                "unknown_project",
                "no such project in the region or the submission",
            );
        }
        if let Some(record) = check_value(value, context, &mut item)
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
        check_period(&narrative.period, dates, context, &mut item, &mut locked);
        if dates.is_none() {
            item.add(
                "project_ref",
                "unknown_project",
                "no such project in the region or the submission",
            );
        }
        item.text("progress", &narrative.progress, MAX_NARRATIVE_CHARS, false);
        item.text("lessons", &narrative.lessons, MAX_NARRATIVE_CHARS, false);
        item.text(
            "deviations",
            &narrative.deviations,
            MAX_NARRATIVE_CHARS,
            false,
        );
        if [
            &narrative.progress,
            &narrative.lessons,
            &narrative.deviations,
        ]
        .iter()
        .all(|text| text.trim().is_empty())
        {
            item.add(
                "progress",
                "required",
                "a narrative needs progress, lessons or deviations",
            );
        }
        checked.narratives.push(NarrativeRecord {
            project_ref: narrative.project_ref,
            period: narrative.period,
            progress: narrative.progress,
            lessons: narrative.lessons,
            deviations: narrative.deviations,
        });
    }
    match (errors.is_empty(), locked.is_empty()) {
        (true, true) => Ok(checked),
        (true, false) => Err(Rejection::Locked(locked)),
        (false, _) => {
            errors.extend(locked);
            errors.sort_by(|a, b| a.field.cmp(&b.field));
            Err(Rejection::Invalid(errors))
        }
    }
}

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

fn check_project(
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
        if !rule.active {
            item.add(
                &field("indicator"),
                "inactive_indicator",
                "the indicator is no longer in use",
            );
        }
        if rule.derived {
            item.add(
                &field("indicator"),
                "derived_indicator",
                "this indicator is computed from granted_sek or total_budget_sek",
            );
        }
        let baseline = plan
            .baseline
            .and_then(|v| item.scaled(&field("baseline"), v, rule.decimals));
        let target = plan
            .target
            .and_then(|v| item.scaled(&field("target"), v, rule.decimals));
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
        plans.push(PlanRecord {
            indicator: plan.indicator,
            baseline,
            baseline_year: plan.baseline_year,
            target,
            goal: plan.goal.filter(|t| !t.is_empty()),
            source: plan.source.filter(|t| !t.is_empty()),
        });
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

/// Checks the period of a value or narrative; closed periods go to `locked`. Returns whether
/// the period is usable.
fn check_period(
    period: &str,
    project_dates: Option<(NaiveDate, NaiveDate)>,
    context: &Context,
    item: &mut ItemErrors<'_>,
    locked: &mut Vec<FieldError>,
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
    if rule.closed {
        locked.push(FieldError {
            index: Some(item.index),
            field: format!("{}[{}].period", item.prefix, item.index),
            code: "period_locked".to_string(),
            message: format!("{id} is closed for reporting"),
        });
    }
    true
}

fn check_value(
    value: ValueInput,
    context: &Context,
    item: &mut ItemErrors<'_>,
) -> Option<ValueRecord> {
    let before = item.list.len();
    if let Some(comment) = &value.comment {
        item.text("comment", comment, MAX_COMMENT_CHARS, false);
    }
    let Some(rule) = context.indicators.get(&value.indicator) else {
        item.add(
            "indicator",
            "unknown_indicator",
            format!("no indicator '{}'", value.indicator),
        );
        return None;
    };
    if rule.derived {
        item.add(
            "indicator",
            "derived_indicator",
            "computed from the project's granted_sek or total_budget_sek",
        );
        return None;
    }
    if rule.aggregation == Aggregation::Ratio {
        item.add(
            "indicator",
            "ratio_indicator",
            "report the ratio's numerator and denominator instead",
        );
        return None;
    }
    let (scaled, entities) = if rule.aggregation == Aggregation::Distinct {
        let entities = check_entities(value.entities.as_deref(), item)?;
        let count = i64::try_from(entities.len()).expect("bounded list")
            * 10_i64.pow(super::decimal::SCALE);
        if let Some(stated) = value.value
            && item.scaled("value", stated, 0) != Some(count)
        {
            item.add(
                "value",
                "count_mismatch",
                "must equal the number of distinct entities",
            );
        }
        (Some(count), entities)
    } else {
        if value.entities.is_some() {
            item.add(
                "entities",
                "not_allowed",
                "only distinct indicators list enterprises",
            );
        }
        match value.value {
            Some(v) => (item.scaled("value", v, rule.decimals), Vec::new()),
            None => {
                item.add(
                    "value",
                    "required",
                    "a value is required; leave the item out if nothing is reported",
                );
                (None, Vec::new())
            }
        }
    };
    let by_sex = match (&value.by_sex, rule.by_sex) {
        (Some(parts), true) => {
            let kvinnor = item.scaled("by_sex.kvinnor", parts.kvinnor, rule.decimals);
            let man = item.scaled("by_sex.man", parts.man, rule.decimals);
            let ej_angivet = item.scaled("by_sex.ej_angivet", parts.ej_angivet, rule.decimals);
            match (kvinnor, man, ej_angivet, scaled) {
                (Some(k), Some(m), Some(e), Some(total)) if k + m + e != total => {
                    item.add(
                        "by_sex",
                        "sum_mismatch",
                        "kvinnor + man + ej_angivet must equal value",
                    );
                    None
                }
                (Some(k), Some(m), Some(e), _) => Some([k, m, e]),
                _ => None,
            }
        }
        (None, true) => {
            item.add(
                "by_sex",
                "required",
                "this indicator is reported by sex (kvinnor, man, ej_angivet)",
            );
            None
        }
        (Some(_), false) => {
            item.add(
                "by_sex",
                "not_allowed",
                "this indicator has no sex breakdown",
            );
            None
        }
        (None, false) => None,
    };
    let scaled = scaled?;
    (item.list.len() == before).then(|| ValueRecord {
        project_ref: value.project_ref,
        indicator: value.indicator,
        period: value.period,
        value: scaled,
        by_sex,
        entities,
        comment: value.comment.filter(|c| !c.is_empty()),
    })
}

fn check_entities(entities: Option<&[String]>, item: &mut ItemErrors<'_>) -> Option<Vec<String>> {
    let Some(entities) = entities else {
        item.add(
            "entities",
            "required",
            "list the enterprises' organisationsnummer",
        );
        return None;
    };
    if entities.len() > MAX_ENTITIES {
        item.add(
            "entities",
            "too_many_items",
            format!("at most {MAX_ENTITIES}"),
        );
        return None;
    }
    let mut normalised = Vec::with_capacity(entities.len());
    for (i, entity) in entities.iter().enumerate() {
        match orgnr::normalize(entity) {
            Some(number) => normalised.push(number),
            None => item.add(
                &format!("entities[{i}]"),
                "invalid_orgnr",
                "must be an organisationsnummer: 10 digits (NNNNNN-NNNN allowed) with a valid check digit",
            ),
        }
    }
    normalised.sort();
    normalised.dedup();
    Some(normalised)
}

/// How many items of one kind a submission created, changed and left as they were.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
}

/// What storing a submission did (or, in a dry run, would do).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Outcome {
    pub projects: Counts,
    pub values: Counts,
    pub narratives: Counts,
}

/// Whether an item is new, different from what is stored, or the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Updated,
    Unchanged,
}

impl Counts {
    pub fn count(&mut self, change: Change) {
        match change {
            Change::Created => self.created += 1,
            Change::Updated => self.updated += 1,
            Change::Unchanged => self.unchanged += 1,
        }
    }
}

/// Compares an item with what is stored under its key.
pub fn change_of<T: PartialEq>(new: &T, stored: Option<&T>) -> Change {
    match stored {
        None => Change::Created,
        Some(old) if old == new => Change::Unchanged,
        Some(_) => Change::Updated,
    }
}
