//! Every rule a submission is checked by: one valid submission, then one change at a time
//! that breaks one rule, with the field and code the region is told.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::input::{
    BySexInput, NarrativeInput, PlanInput, ProjectInput, SubmissionInput, ValueInput,
};
use super::records::Checked;
use super::stale::Stored;
use super::{
    CodeLists, Context, IndicatorRule, MAX_CODES, MAX_NARRATIVES, MAX_PLANS, MAX_PROJECTS,
    MAX_VALUES, PeriodRule, Rejection, check, refs_to_compare,
};
use crate::domain::indicator::Aggregation;
use crate::domain::period::PeriodId;
use crate::domain::report::ReportState;

fn date(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn decimal(text: &str) -> Decimal {
    text.parse().unwrap()
}

fn rule(aggregation: Aggregation, by_sex: bool, decimals: u32) -> IndicatorRule {
    IndicatorRule {
        aggregation,
        by_sex,
        decimals,
        active: true,
        derived: false,
    }
}

/// What the database would know: a few codes, indicators of every kind, three half-years
/// (one closed, one not started) and one stored project.
fn context() -> Context {
    let mut codes = CodeLists::default();
    for (dimension, code, parent) in [
        ("status", "pagaende", None),
        ("project_type", "projekt", None),
        ("sakomrade", "innovation_foretagande", None),
        ("sakomrade", "kompetensforsorjning", None),
        ("fokusomrade", "innovation", Some("innovation_foretagande")),
        ("effektkedja", "varor_tjanster_direkt", None),
        ("bransch", "ikt", None),
        ("bransch", "kkn", None),
        ("verktyg", "radgivning", None),
        ("syfte", "hallbarhet", None),
    ] {
        codes.insert(dimension.into(), code.into(), parent.map(String::from));
    }
    let mut indicators = std::collections::HashMap::new();
    indicators.insert("SUM".into(), rule(Aggregation::Sum, false, 0));
    indicators.insert("DEC".into(), rule(Aggregation::Sum, false, 1));
    indicators.insert("SEX".into(), rule(Aggregation::Sum, true, 0));
    indicators.insert("FIRMS".into(), rule(Aggregation::Distinct, false, 0));
    indicators.insert("SHARE".into(), rule(Aggregation::Ratio, false, 1));
    indicators.insert(
        "OLD".into(),
        IndicatorRule {
            active: false,
            ..rule(Aggregation::Sum, false, 0)
        },
    );
    indicators.insert(
        "GRANTED".into(),
        IndicatorRule {
            derived: true,
            ..rule(Aggregation::Sum, false, 0)
        },
    );
    let half_year = |start: &str, end: &str, closed| PeriodRule {
        start: date(start),
        end: date(end),
        closed,
        signed_off: None,
    };
    let mut periods = std::collections::HashMap::new();
    periods.insert("2025H2".into(), half_year("2025-07-01", "2025-12-31", true));
    periods.insert(
        "2026H1".into(),
        half_year("2026-01-01", "2026-06-30", false),
    );
    periods.insert(
        "2027H1".into(),
        half_year("2027-01-01", "2027-06-30", false),
    );
    let mut stored_projects = std::collections::HashMap::new();
    stored_projects.insert("STORED".into(), (date("2026-03-01"), date("2026-12-31")));
    Context {
        region: "07".into(),
        codes,
        indicators,
        periods,
        stored_projects,
        reported: [(
            "P1".to_string(),
            (
                PeriodId::parse("2025H2").unwrap(),
                PeriodId::parse("2026H1").unwrap(),
            ),
        )]
        .into(),
        today: date("2026-11-28"),
        stored: Stored::default(),
    }
}

fn project() -> ProjectInput {
    ProjectInput {
        project_ref: "P1".into(),
        title: "Innovationsslussen".into(),
        organisation: "Region Kronoberg".into(),
        status: "pagaende".into(),
        project_type: "projekt".into(),
        sakomrade: "innovation_foretagande".into(),
        fokusomrade: Some("innovation".into()),
        effektkedja: "varor_tjanster_direkt".into(),
        branscher: vec!["kkn".into(), "ikt".into(), "kkn".into()],
        verktyg: vec!["radgivning".into()],
        syften: vec!["hallbarhet".into()],
        start_date: date("2025-01-01"),
        end_date: date("2027-12-31"),
        granted_sek: 1_000_000,
        total_budget_sek: 2_000_000,
        indicators: vec![PlanInput {
            indicator: "DEC".into(),
            baseline: Some(decimal("1.5")),
            baseline_year: Some(2024),
            target: Some(decimal("10")),
            goal: Some("Fler företag".into()),
            source: Some("SCB".into()),
        }],
    }
}

fn value(indicator: &str, amount: &str) -> ValueInput {
    ValueInput {
        project_ref: "P1".into(),
        indicator: indicator.into(),
        period: "2026H1".into(),
        value: Some(decimal(amount)),
        entities: None,
        by_sex: None,
        comment: None,
    }
}

fn valid() -> SubmissionInput {
    SubmissionInput {
        projects: vec![project()],
        values: vec![
            value("SUM", "12"),
            value("DEC", "2.5"),
            ValueInput {
                by_sex: Some(BySexInput {
                    kvinnor: decimal("3"),
                    man: decimal("4"),
                    ej_angivet: decimal("0"),
                }),
                ..value("SEX", "7")
            },
            ValueInput {
                value: None,
                entities: Some(vec!["556036-0793".into(), "5560360793".into()]),
                ..value("FIRMS", "0")
            },
            ValueInput {
                project_ref: "STORED".into(),
                ..value("SUM", "1")
            },
        ],
        narratives: vec![NarrativeInput {
            project_ref: "P1".into(),
            period: "2026H1".into(),
            progress: "Tio företag har fått rådgivning.".into(),
            lessons: String::new(),
            deviations: String::new(),
        }],
        keeps_stored_comments: false,
    }
}

/// The (field, code) pairs a changed submission is refused with.
fn refused(change: impl FnOnce(&mut SubmissionInput)) -> Vec<(String, String)> {
    let mut input = valid();
    change(&mut input);
    match check(input, &context()) {
        Ok(_) => Vec::new(),
        Err(Rejection::Invalid(errors) | Rejection::Locked(errors) | Rejection::Stale(errors)) => {
            { errors }
                .into_iter()
                .map(|error| (error.field, error.code))
                .collect()
        }
    }
}

/// A change to an item, and the field and code it is refused with.
type Case<T> = (fn(&mut T), &'static str, &'static str);

/// Refuses each case's change to the item `item` picks with the case's field (below
/// `prefix`) and code.
fn assert_cases<T>(cases: Vec<Case<T>>, prefix: &str, item: fn(&mut SubmissionInput) -> &mut T) {
    for (change, field, code) in cases {
        let errors = refused(|s| change(item(s)));
        assert!(
            errors.contains(&pair(&format!("{prefix}.{field}"), code)),
            "{field} {code}: {errors:?}"
        );
    }
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_string(), code.to_string())
}

#[test]
fn a_valid_submission_becomes_records() {
    let checked = check(valid(), &context()).expect("valid");
    let project = &checked.projects[0];
    assert_eq!(project.branscher, ["ikt", "kkn"], "sorted, without repeats");
    assert_eq!(project.plans[0].baseline, Some(15_000), "scaled by 10^4");
    assert_eq!(checked.values.len(), 5);
    assert_eq!(checked.values[2].by_sex, Some([30_000, 40_000, 0]));
    let firms = &checked.values[3];
    assert_eq!(firms.entities, ["5560360793"], "normalised, once");
    assert_eq!(
        firms.value, 10_000,
        "a distinct value is its count of enterprises"
    );
    assert_eq!(checked.narratives.len(), 1);
}

#[test]
fn submissions_over_a_limit_are_refused_whole() {
    let too_many = refused(|s| s.values = vec![value("SUM", "1"); MAX_VALUES + 1]);
    assert_eq!(too_many, [pair("values", "too_many_items")]);
    let projects = refused(|s| s.projects = vec![project(); MAX_PROJECTS + 1]);
    assert_eq!(projects, [pair("projects", "too_many_items")]);
    let narratives = refused(|s| s.narratives = vec![s.narratives[0].clone(); MAX_NARRATIVES + 1]);
    assert_eq!(narratives, [pair("narratives", "too_many_items")]);
    let codes = refused(|s| s.projects[0].branscher = vec!["kkn".into(); MAX_CODES + 1]);
    assert!(codes.contains(&pair("projects[0].branscher", "too_many_items")));
    let plans = refused(|s| {
        let plan = s.projects[0].indicators[0].clone();
        s.projects[0].indicators = vec![plan; MAX_PLANS + 1];
    });
    assert!(plans.contains(&pair("projects[0].indicators", "too_many_items")));
}

#[test]
fn project_rules() {
    let cases: Vec<Case<ProjectInput>> = vec![
        (|p| p.project_ref = "a/b".into(), "ref", "invalid_ref"),
        (|p| p.project_ref = " P1".into(), "ref", "invalid_ref"),
        (|p| p.title = "  ".into(), "title", "required"),
        (|p| p.title = "x".repeat(501), "title", "too_long"),
        (
            |p| p.organisation = "a\u{7}".into(),
            "organisation",
            "control_character",
        ),
        (|p| p.status = "klar".into(), "status", "unknown_code"),
        (
            |p| p.project_type = "x".into(),
            "project_type",
            "unknown_code",
        ),
        (
            |p| p.effektkedja = "x".into(),
            "effektkedja",
            "unknown_code",
        ),
        (
            |p| p.fokusomrade = Some("x".into()),
            "fokusomrade",
            "unknown_code",
        ),
        (
            |p| p.sakomrade = "kompetensforsorjning".into(),
            "fokusomrade",
            "wrong_sakomrade",
        ),
        (
            |p| p.branscher.push("bad".into()),
            "branscher[3]",
            "unknown_code",
        ),
        (
            |p| p.verktyg = vec!["x".into()],
            "verktyg[0]",
            "unknown_code",
        ),
        (|p| p.syften = vec!["x".into()], "syften[0]", "unknown_code"),
        (
            |p| p.end_date = date("2024-12-31"),
            "end_date",
            "before_start",
        ),
        (
            |p| p.start_date = date("1999-12-31"),
            "start_date",
            "out_of_range",
        ),
        (
            |p| p.end_date = date("2101-01-01"),
            "end_date",
            "out_of_range",
        ),
        (
            |p| p.start_date = date("2026-01-01"),
            "start_date",
            "values_outside_dates",
        ),
        (
            |p| p.end_date = date("2025-12-31"),
            "end_date",
            "values_outside_dates",
        ),
        (|p| p.total_budget_sek = -1, "total_budget_sek", "negative"),
        (
            |p| p.granted_sek = 3_000_000,
            "granted_sek",
            "exceeds_budget",
        ),
    ];
    assert_cases(cases, "projects[0]", |s| &mut s.projects[0]);
    let twice = refused(|s| s.projects.push(project()));
    assert!(
        twice.contains(&pair("projects[1].ref", "duplicate")),
        "{twice:?}"
    );
}

#[test]
fn plan_rules() {
    let cases: Vec<Case<PlanInput>> = vec![
        (
            |p| p.indicator = "NONE".into(),
            "indicator",
            "unknown_indicator",
        ),
        (
            |p| p.indicator = "OLD".into(),
            "indicator",
            "inactive_indicator",
        ),
        (
            |p| p.indicator = "GRANTED".into(),
            "indicator",
            "derived_indicator",
        ),
        (
            |p| p.target = Some(decimal("1.25")),
            "target",
            "too_many_decimals",
        ),
        (|p| p.baseline = Some(decimal("-1")), "baseline", "negative"),
        (
            |p| p.target = Some(decimal("1e15")),
            "target",
            "out_of_range",
        ),
        (
            |p| p.baseline_year = Some(1999),
            "baseline_year",
            "out_of_range",
        ),
        (|p| p.goal = Some("x".repeat(2_001)), "goal", "too_long"),
        (|p| p.source = Some("x".repeat(501)), "source", "too_long"),
    ];
    assert_cases(cases, "projects[0].indicators[0]", |s| {
        &mut s.projects[0].indicators[0]
    });
    let twice = refused(|s| {
        let again = s.projects[0].indicators[0].clone();
        s.projects[0].indicators.push(again);
    });
    assert!(
        twice.contains(&pair("projects[0].indicators[1].indicator", "duplicate")),
        "{twice:?}"
    );
}

#[test]
fn value_rules() {
    let cases: Vec<Case<ValueInput>> = vec![
        (
            |v| v.indicator = "NONE".into(),
            "indicator",
            "unknown_indicator",
        ),
        (
            |v| v.indicator = "GRANTED".into(),
            "indicator",
            "derived_indicator",
        ),
        (
            |v| v.indicator = "SHARE".into(),
            "indicator",
            "ratio_indicator",
        ),
        (|v| v.value = None, "value", "required"),
        (
            |v| v.value = Some(decimal("1.5")),
            "value",
            "too_many_decimals",
        ),
        (|v| v.value = Some(decimal("-1")), "value", "negative"),
        (|v| v.value = Some(decimal("1e15")), "value", "out_of_range"),
        (|v| v.entities = Some(vec![]), "entities", "not_allowed"),
        (
            |v| v.comment = Some("x".repeat(2_001)),
            "comment",
            "too_long",
        ),
        (
            |v| v.project_ref = "NONE".into(),
            "project_ref",
            "unknown_project",
        ),
        (|v| v.period = "2026".into(), "period", "invalid_period"),
        (|v| v.period = "2026H3".into(), "period", "invalid_period"),
        (|v| v.period = "2024H1".into(), "period", "unknown_period"),
        (
            |v| v.period = "2027H1".into(),
            "period",
            "period_not_started",
        ),
        (
            |v| {
                v.project_ref = "STORED".into();
                v.period = "2025H2".into();
            },
            "period",
            "outside_project",
        ),
        (
            |v| {
                v.by_sex = Some(BySexInput {
                    kvinnor: decimal("1"),
                    man: decimal("1"),
                    ej_angivet: decimal("0"),
                })
            },
            "by_sex",
            "not_allowed",
        ),
    ];
    assert_cases(cases, "values[0]", |s| &mut s.values[0]);
    let twice = refused(|s| s.values.push(value("SUM", "12")));
    assert!(
        twice.contains(&pair("values[5].period", "duplicate")),
        "{twice:?}"
    );
}

#[test]
fn sex_and_enterprise_rules() {
    let sexes = |change: fn(&mut ValueInput)| refused(move |s| change(&mut s.values[2]));
    assert_eq!(
        sexes(|v| v.by_sex = None),
        [pair("values[2].by_sex", "required")]
    );
    assert_eq!(
        sexes(|v| v.value = Some(decimal("8"))),
        [pair("values[2].by_sex", "sum_mismatch")]
    );
    assert_eq!(
        sexes(|v| v.by_sex.as_mut().unwrap().man = decimal("0.5")),
        [pair("values[2].by_sex.man", "too_many_decimals")]
    );
    let firms = |change: fn(&mut ValueInput)| refused(move |s| change(&mut s.values[3]));
    assert_eq!(
        firms(|v| v.entities = None),
        [pair("values[3].entities", "required")]
    );
    assert_eq!(
        firms(|v| v.entities = Some(vec!["556036-0794".into()])),
        [pair("values[3].entities[0]", "invalid_orgnr")]
    );
    assert_eq!(
        firms(|v| v.value = Some(decimal("2"))),
        [pair("values[3].value", "count_mismatch")]
    );
    assert!(
        firms(|v| v.value = Some(decimal("1"))).is_empty(),
        "the count itself"
    );
    assert_eq!(
        firms(|v| v.entities = Some(vec!["5560360793".into(); super::MAX_ENTITIES + 1])),
        [pair("values[3].entities", "too_many_items")]
    );
}

#[test]
fn narrative_rules() {
    let narrative =
        |change: fn(&mut NarrativeInput)| refused(move |s| change(&mut s.narratives[0]));
    assert_eq!(
        narrative(|n| n.progress = " ".into()),
        [pair("narratives[0].progress", "required")]
    );
    assert_eq!(
        narrative(|n| n.lessons = "x".repeat(10_001)),
        [pair("narratives[0].lessons", "too_long")]
    );
    assert_eq!(
        narrative(|n| n.project_ref = "NONE".into()),
        [pair("narratives[0].project_ref", "unknown_project")]
    );
    assert_eq!(
        narrative(|n| n.period = "2027H1".into()),
        [pair("narratives[0].period", "period_not_started")]
    );
    let twice = refused(|s| s.narratives.push(s.narratives[0].clone()));
    assert_eq!(twice, [pair("narratives[1].period", "duplicate")]);
}

#[test]
fn a_signed_off_report_locks_its_half_year() {
    let mut context = context();
    context.periods.get_mut("2026H1").unwrap().signed_off = Some(ReportState::Accepted);
    match check(valid(), &context) {
        Err(Rejection::Locked(errors)) => {
            assert!(
                errors.iter().all(|e| e.code == "report_signed_off"),
                "{errors:?}"
            );
            assert_eq!(
                errors.len(),
                7,
                "the new project, five values and a narrative of 2026H1"
            );
            let new = errors
                .iter()
                .find(|e| e.field == "projects[0].ref")
                .unwrap();
            assert!(
                new.message.contains("region 07 for 2026H1 (accepted)"),
                "{}",
                new.message
            );
        }
        other => panic!("a lock: {other:?}"),
    }
}

/// The submission of P1 alone, checked with P1 stored as `valid()` states it.
fn with_p1_stored(change: impl FnOnce(&mut ProjectInput)) -> Result<Checked, Rejection> {
    let mut context = context();
    context.periods.get_mut("2026H1").unwrap().signed_off = Some(ReportState::Submitted);
    let stored = check(
        SubmissionInput {
            projects: vec![project()],
            ..SubmissionInput::default()
        },
        &self::context(),
    )
    .unwrap()
    .projects
    .remove(0);
    context.stored.projects.insert("P1".into(), stored);
    let mut changed = project();
    change(&mut changed);
    check(
        SubmissionInput {
            projects: vec![changed],
            ..SubmissionInput::default()
        },
        &context,
    )
}

#[test]
fn a_project_change_that_moves_signed_off_figures_is_a_lock_naming_its_fields() {
    assert!(with_p1_stored(|_| {}).is_ok(), "an unchanged resend");
    assert!(
        with_p1_stored(|p| p.title = "Nytt namn".into()).is_ok(),
        "a title is in no figure"
    );
    match with_p1_stored(|p| {
        p.sakomrade = "kompetensforsorjning".into();
        p.fokusomrade = None;
        p.granted_sek = 1_500_000;
    }) {
        Err(Rejection::Locked(errors)) => {
            let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
            assert_eq!(
                fields,
                [
                    "projects[0].sakomrade",
                    "projects[0].fokusomrade",
                    "projects[0].granted_sek"
                ]
            );
            assert!(
                errors[0].message.contains("2026H1 (submitted)"),
                "{}",
                errors[0].message
            );
        }
        other => panic!("a lock: {other:?}"),
    }
    // Dates that still cover 2026H1, ending before the other half-years: 2026H1 is not
    // entered or left.
    assert!(
        with_p1_stored(|p| p.end_date = date("2026-06-30")).is_ok(),
        "only 2026H2 and 2027 are left, none signed off"
    );
}

#[test]
fn closed_half_years_are_a_lock_unless_something_is_also_invalid() {
    let mut input = valid();
    input.values[0].period = "2025H2".into();
    match check(input, &context()) {
        Err(Rejection::Locked(errors)) => {
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].field, "values[0].period");
            assert_eq!(errors[0].code, "period_locked");
        }
        other => panic!("a lock: {other:?}"),
    }
    let both = refused(|s| {
        s.values[0].period = "2025H2".into();
        s.values[1].indicator = "NONE".into();
    });
    assert_eq!(
        both,
        [
            pair("values[0].period", "period_locked"),
            pair("values[1].indicator", "unknown_indicator")
        ],
        "every problem at once, sorted by field"
    );
}

/// `valid()`'s project P1 stored as a project of the region, with its plan and its value of
/// SUM, as `refs_to_compare` would have them loaded.
fn stored_p1(context: &mut Context) {
    let mut stored = Stored::default();
    let checked = check(valid(), context).expect("valid");
    stored
        .projects
        .insert("P1".into(), checked.projects[0].clone());
    let value = &checked.values[0];
    stored.values.insert(
        ("P1".into(), value.indicator.clone(), value.period.clone()),
        value.clone(),
    );
    context
        .stored_projects
        .insert("P1".into(), (date("2025-01-01"), date("2027-12-31")));
    context.stored = stored;
}

/// The (field, code) pairs that `input`, changed by `change`, is refused with.
fn changed(
    input: &SubmissionInput,
    context: &Context,
    change: fn(&mut SubmissionInput),
) -> Vec<(String, String)> {
    let mut input = input.clone();
    change(&mut input);
    match check(input, context) {
        Err(Rejection::Invalid(errors)) => errors
            .into_iter()
            .map(|error| (error.field, error.code))
            .collect(),
        other => panic!("refused: {other:?}"),
    }
}

#[test]
fn a_catalogue_change_leaves_stored_plans_and_values_valid() {
    let mut context = context();
    stored_p1(&mut context);
    // DEC's decimals lowered to 0 (the plan's baseline is 1.5), SUM retired.
    context.indicators.get_mut("DEC").unwrap().decimals = 0;
    context.indicators.get_mut("SUM").unwrap().active = false;
    let mut input = valid();
    // Only P1's value of SUM is stored; DEC's and STORED's would be new.
    input
        .values
        .retain(|v| v.indicator != "DEC" && v.project_ref == "P1");
    assert_eq!(refs_to_compare(&input, &context), ["P1"]);
    let checked = check(input.clone(), &context).expect("stored plans and values pass");
    assert_eq!(checked.projects[0].plans[0].baseline, Some(15_000));

    assert_eq!(
        changed(&input, &context, |s| s.projects[0].indicators[0].baseline =
            Some(decimal("2.5"))),
        [pair(
            "projects[0].indicators[0].baseline",
            "too_many_decimals"
        )],
        "a changed figure is held to the decimals allowed now"
    );
    assert!(
        check(
            {
                let mut input = input.clone();
                input.projects[0].indicators[0].target = Some(decimal("11"));
                input
            },
            &context
        )
        .is_ok(),
        "the stored baseline stays valid beside a changed target"
    );
    assert_eq!(
        changed(&input, &context, |s| s.values[0].value =
            Some(decimal("13"))),
        [pair("values[0].indicator", "inactive_indicator")],
        "a changed value of a retired indicator"
    );
    assert_eq!(
        changed(&input, &context, |s| s.values[0].project_ref =
            "STORED".into()),
        [pair("values[0].indicator", "inactive_indicator")],
        "a new value of a retired indicator"
    );
    assert!(
        check(
            {
                let mut input = input.clone();
                input.values[0].comment = Some("Rättad kommentar".into());
                input
            },
            &context
        )
        .is_ok(),
        "a stored value's comment may change"
    );

    context.indicators.get_mut("DEC").unwrap().active = false;
    assert!(check(input.clone(), &context).is_ok(), "an unchanged plan");
    assert_eq!(
        changed(&input, &context, |s| s.projects[0].indicators[0].target =
            Some(decimal("11"))),
        [pair(
            "projects[0].indicators[0].indicator",
            "inactive_indicator"
        )],
        "a changed plan of a retired indicator"
    );
    assert_eq!(
        changed(&input, &context, |s| s.projects[0].project_ref =
            "NEW".into()),
        [
            pair("projects[0].indicators[0].baseline", "too_many_decimals"),
            pair("projects[0].indicators[0].indicator", "inactive_indicator")
        ],
        "a new project's plan"
    );
}
