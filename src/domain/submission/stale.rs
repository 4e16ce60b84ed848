//! A workbook made from the template at one data version and uploaded later. A cell the
//! officer left as the template had it keeps what is stored now; a changed cell is stored,
//! unless what is stored changed too since the template was made: then neither may win
//! silently, and the cell is a conflict.
//!
//! A value's figures (the value, its parts by sex, its enterprises) are one unit, so that a
//! value and its parts always come from the same source and still add up; its comment is
//! another. Each text of a narrative is a unit of its own. A project's fields are units of
//! their own, but for those checked together (sakområde with fokusområde, the dates, the
//! two amounts), and its plans are one unit, as the sheet states the whole list.

use std::collections::HashMap;

use super::records::{Checked, NarrativeRecord, PlanRecord, ProjectRecord, ValueRecord};
use crate::domain::decimal::from_scaled;
use crate::domain::validation::{CellConflict, Errors, FieldError};

/// What was stored of a region's projects, values and narratives at one data version.
#[derive(Debug, Default)]
pub struct Stored {
    /// By ref, with their plans.
    pub projects: HashMap<String, ProjectRecord>,
    /// By (project ref, indicator, half-year).
    pub values: HashMap<(String, String, String), ValueRecord>,
    /// By (project ref, half-year).
    pub narratives: HashMap<(String, String), NarrativeRecord>,
}

/// Which side a unit of an item takes.
#[derive(Debug, PartialEq)]
enum Side {
    /// Left as the template had it: what is stored now.
    Stored,
    /// Changed in the sheet, and not in the database since (or to the same).
    Sheet,
    Conflict,
}

fn side<T: PartialEq>(sheet: &T, template: &T, stored: &T) -> Side {
    if sheet == template {
        Side::Stored
    } else if stored == template || stored == sheet {
        Side::Sheet
    } else {
        Side::Conflict
    }
}

/// The figures of a value: what one cell group of the sheet states.
pub(super) type Figures = (i64, Option<[i64; 3]>, Vec<String>);

pub(super) fn figures(record: &ValueRecord) -> Figures {
    (record.value, record.by_sex, record.entities.clone())
}

/// Some fields of a project, as the sheet shows them, and how to take them from another
/// record.
struct ProjectUnit {
    fields: &'static [&'static str],
    show: fn(&ProjectRecord) -> Vec<String>,
    take: fn(&mut ProjectRecord, &ProjectRecord),
}

fn project_units() -> [ProjectUnit; 11] {
    fn list(codes: &[String]) -> String {
        codes.join(", ")
    }
    [
        ProjectUnit {
            fields: &["title"],
            show: |p| vec![p.title.clone()],
            take: |to, from| to.title = from.title.clone(),
        },
        ProjectUnit {
            fields: &["organisation"],
            show: |p| vec![p.organisation.clone()],
            take: |to, from| to.organisation = from.organisation.clone(),
        },
        ProjectUnit {
            fields: &["status"],
            show: |p| vec![p.status.clone()],
            take: |to, from| to.status = from.status.clone(),
        },
        ProjectUnit {
            fields: &["project_type"],
            show: |p| vec![p.project_type.clone()],
            take: |to, from| to.project_type = from.project_type.clone(),
        },
        ProjectUnit {
            fields: &["sakomrade", "fokusomrade"],
            show: |p| {
                vec![
                    p.sakomrade.clone(),
                    p.fokusomrade.clone().unwrap_or_default(),
                ]
            },
            take: |to, from| {
                to.sakomrade = from.sakomrade.clone();
                to.fokusomrade = from.fokusomrade.clone();
            },
        },
        ProjectUnit {
            fields: &["effektkedja"],
            show: |p| vec![p.effektkedja.clone()],
            take: |to, from| to.effektkedja = from.effektkedja.clone(),
        },
        ProjectUnit {
            fields: &["branscher"],
            show: |p| vec![list(&p.branscher)],
            take: |to, from| to.branscher = from.branscher.clone(),
        },
        ProjectUnit {
            fields: &["verktyg"],
            show: |p| vec![list(&p.verktyg)],
            take: |to, from| to.verktyg = from.verktyg.clone(),
        },
        ProjectUnit {
            fields: &["syften"],
            show: |p| vec![list(&p.syften)],
            take: |to, from| to.syften = from.syften.clone(),
        },
        ProjectUnit {
            fields: &["start_date", "end_date"],
            show: |p| vec![p.start_date.to_string(), p.end_date.to_string()],
            take: |to, from| {
                to.start_date = from.start_date;
                to.end_date = from.end_date;
            },
        },
        ProjectUnit {
            fields: &["granted_sek", "total_budget_sek"],
            show: |p| vec![p.granted_sek.to_string(), p.total_budget_sek.to_string()],
            take: |to, from| {
                to.granted_sek = from.granted_sek;
                to.total_budget_sek = from.total_budget_sek;
            },
        },
    ]
}

/// A plan as one line: the indicator and its figures and texts, `–` for what is empty.
fn plan_line(plan: &PlanRecord) -> String {
    let number = |n: Option<i64>| n.map_or("–".to_string(), |n| from_scaled(n).to_string());
    format!(
        "{}: {} ({}), {}, {}, {}",
        plan.indicator,
        number(plan.baseline),
        plan.baseline_year
            .map_or("–".to_string(), |y| y.to_string()),
        number(plan.target),
        plan.goal.as_deref().unwrap_or("–"),
        plan.source.as_deref().unwrap_or("–"),
    )
}

fn plan_lines(plans: &[PlanRecord]) -> String {
    plans.iter().map(plan_line).collect::<Vec<_>>().join("; ")
}

fn reconcile_projects(
    checked: &mut Checked,
    plan_order: &[Vec<String>],
    template: &Stored,
    stored: &Stored,
    conflicts: &mut Errors,
) {
    for (index, project) in checked.projects.iter_mut().enumerate() {
        let then = template.projects.get(&project.project_ref);
        let now = stored.projects.get(&project.project_ref);
        for unit in project_units() {
            let sheet = (unit.show)(project);
            let (shown_then, shown_now) = (then.map(unit.show), now.map(unit.show));
            match side(&Some(sheet.clone()), &shown_then, &shown_now) {
                Side::Stored => {
                    if let Some(now) = now {
                        (unit.take)(project, now);
                    }
                }
                Side::Sheet => {}
                Side::Conflict => {
                    let at = (0..sheet.len())
                        .find(|&i| shown_then.as_ref().map(|t| &t[i]) != Some(&sheet[i]))
                        .unwrap_or(0);
                    let nonempty = |text: Option<&String>| text.filter(|t| !t.is_empty()).cloned();
                    conflicts.push(conflict(
                        format!("projects[{index}].{}", unit.fields[at]),
                        index,
                        nonempty(shown_then.as_ref().map(|t| &t[at])),
                        nonempty(Some(&sheet[at])),
                        nonempty(shown_now.as_ref().map(|n| &n[at])),
                    ));
                }
            }
        }
        let plans = |record: Option<&ProjectRecord>| record.map(|r| r.plans.clone());
        match side(&Some(project.plans.clone()), &plans(then), &plans(now)) {
            Side::Stored => {
                if let Some(now) = now {
                    project.plans = now.plans.clone();
                }
            }
            Side::Sheet => {}
            Side::Conflict => {
                // Named by the first row of Planer, in the sheet's order, that the sheet
                // changed; a plan taken out has no row, and names the project's.
                let changed = |indicator: &String| {
                    let of = |plans: &[PlanRecord]| {
                        plans.iter().find(|p| &p.indicator == indicator).cloned()
                    };
                    of(&project.plans) != then.and_then(|t| of(&t.plans))
                };
                let field = plan_order
                    .get(index)
                    .and_then(|order| order.iter().position(changed))
                    .map_or(format!("projects[{index}]"), |at| {
                        format!("projects[{index}].indicators[{at}]")
                    });
                conflicts.push(conflict(
                    field,
                    index,
                    then.map(|t| plan_lines(&t.plans)),
                    Some(plan_lines(&project.plans)),
                    now.map(|n| plan_lines(&n.plans)),
                ));
            }
        }
    }
}

/// Turns the checked items of a workbook made at the template's data version into what is
/// to be stored: `template` is what was stored then, `stored` what is stored now, and
/// `plan_order` each project's plans in the sheet's order (to name a plan's row). Every
/// conflict is an error naming the item's field, with the three values.
pub fn reconcile(
    checked: &mut Checked,
    plan_order: &[Vec<String>],
    template: &Stored,
    stored: &Stored,
) -> Result<(), Vec<FieldError>> {
    let mut conflicts = Errors::new();
    reconcile_projects(checked, plan_order, template, stored, &mut conflicts);
    for (index, value) in checked.values.iter_mut().enumerate() {
        let key = (
            value.project_ref.clone(),
            value.indicator.clone(),
            value.period.clone(),
        );
        let then = template.values.get(&key);
        let now = stored.values.get(&key);
        let sheet = figures(value);
        match side(&Some(sheet.clone()), &then.map(figures), &now.map(figures)) {
            Side::Stored => {
                if let Some(now) = now {
                    (value.value, value.by_sex, value.entities) = figures(now);
                }
            }
            Side::Sheet => {}
            Side::Conflict => {
                conflicts.push(figures_conflict(index, value, then, now));
            }
        }
        let comment = |record: Option<&ValueRecord>| record.and_then(|r| r.comment.clone());
        match side(&value.comment, &comment(then), &comment(now)) {
            Side::Stored => value.comment = comment(now),
            Side::Sheet => {}
            Side::Conflict => conflicts.push(conflict(
                format!("values[{index}].comment"),
                index,
                comment(then),
                value.comment.clone(),
                comment(now),
            )),
        }
    }
    for (index, narrative) in checked.narratives.iter_mut().enumerate() {
        let key = (narrative.project_ref.clone(), narrative.period.clone());
        let then = template.narratives.get(&key);
        let now = stored.narratives.get(&key);
        for (part, (field, sheet)) in texts_mut(narrative).into_iter().enumerate() {
            // The template shows a narrative not yet written as empty cells.
            let of = |record: Option<&NarrativeRecord>| {
                record.map_or_else(String::new, |r| texts(r)[part].clone())
            };
            let (then, now) = (of(then), of(now));
            match side(sheet, &then, &now) {
                Side::Stored => *sheet = now,
                Side::Sheet => {}
                Side::Conflict => {
                    let nonempty = |text: &String| Some(text.clone()).filter(|t| !t.is_empty());
                    conflicts.push(conflict(
                        format!("narratives[{index}].{field}"),
                        index,
                        nonempty(&then),
                        nonempty(sheet),
                        nonempty(&now),
                    ));
                }
            }
        }
    }
    conflicts.into_result()
}

fn texts(narrative: &NarrativeRecord) -> [&String; 3] {
    [
        &narrative.progress,
        &narrative.lessons,
        &narrative.deviations,
    ]
}

fn texts_mut(narrative: &mut NarrativeRecord) -> [(&'static str, &mut String); 3] {
    [
        ("progress", &mut narrative.progress),
        ("lessons", &mut narrative.lessons),
        ("deviations", &mut narrative.deviations),
    ]
}

/// The conflict of a value's figures, named by the first of its cells that the sheet
/// changed: the enterprises of a distinct value, else the value, else a part by sex.
fn figures_conflict(
    index: usize,
    sheet: &ValueRecord,
    then: Option<&ValueRecord>,
    now: Option<&ValueRecord>,
) -> FieldError {
    let item = format!("values[{index}]");
    if !sheet.entities.is_empty() || then.is_some_and(|t| !t.entities.is_empty()) {
        let list = |record: &ValueRecord| record.entities.join(", ");
        return conflict(
            format!("{item}.entities"),
            index,
            then.map(list),
            Some(list(sheet)),
            now.map(list),
        );
    }
    let number = |scaled: i64| from_scaled(scaled).to_string();
    if let Some(then) = then
        && then.value == sheet.value
    {
        let parts = ["kvinnor", "man", "ej_angivet"];
        for (part, name) in parts.iter().enumerate() {
            let of = |record: &ValueRecord| record.by_sex.map(|p| number(p[part]));
            if of(then) != of(sheet) {
                return conflict(
                    format!("{item}.by_sex.{name}"),
                    index,
                    of(then),
                    of(sheet),
                    now.and_then(of),
                );
            }
        }
    }
    conflict(
        format!("{item}.value"),
        index,
        then.map(|t| number(t.value)),
        Some(number(sheet.value)),
        now.map(|n| number(n.value)),
    )
}

fn conflict(
    field: String,
    index: usize,
    template: Option<String>,
    sheet: Option<String>,
    stored: Option<String>,
) -> FieldError {
    FieldError {
        index: Some(index),
        conflict: Some(CellConflict {
            template,
            sheet,
            stored,
        }),
        ..FieldError::new(
            field,
            "changed_since_template",
            "changed in the sheet, and in the database since the template was made; download a new template and make the change there",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCALE: i64 = 10_i64.pow(crate::domain::decimal::SCALE);

    fn value(number: i64, comment: Option<&str>) -> ValueRecord {
        ValueRecord {
            project_ref: "P1".into(),
            indicator: "RCO83".into(),
            period: "2026H1".into(),
            value: number * SCALE,
            by_sex: None,
            entities: Vec::new(),
            comment: comment.map(str::to_string),
        }
    }

    fn stored(values: &[ValueRecord]) -> Stored {
        Stored {
            values: values
                .iter()
                .map(|v| {
                    let key = (v.project_ref.clone(), v.indicator.clone(), v.period.clone());
                    (key, v.clone())
                })
                .collect(),
            ..Stored::default()
        }
    }

    fn reconciled(sheet: ValueRecord, then: &[ValueRecord], now: &[ValueRecord]) -> Checked {
        let mut checked = Checked {
            values: vec![sheet],
            ..Checked::default()
        };
        reconcile(&mut checked, &[], &stored(then), &stored(now))
            .map(|()| checked)
            .unwrap()
    }

    #[test]
    fn a_cell_left_as_the_template_had_it_keeps_what_is_stored_now() {
        let checked = reconciled(value(2, None), &[value(2, None)], &[value(7, None)]);
        assert_eq!(checked.values[0], value(7, None));
    }

    #[test]
    fn a_changed_cell_is_stored_when_the_database_did_not_change_it() {
        let checked = reconciled(value(5, None), &[value(2, None)], &[value(2, None)]);
        assert_eq!(checked.values[0], value(5, None));
        let checked = reconciled(value(5, None), &[], &[]);
        assert_eq!(
            checked.values[0],
            value(5, None),
            "a value new in the sheet"
        );
        let checked = reconciled(value(5, None), &[value(2, None)], &[value(5, None)]);
        assert_eq!(checked.values[0], value(5, None), "both changed it alike");
    }

    #[test]
    fn the_comment_and_the_figures_are_taken_apart() {
        let checked = reconciled(value(2, Some("new")), &[value(2, None)], &[value(7, None)]);
        assert_eq!(checked.values[0], value(7, Some("new")));
    }

    #[test]
    fn a_cell_both_changed_is_a_conflict_with_the_three_values() {
        let mut checked = Checked {
            values: vec![value(5, None)],
            ..Checked::default()
        };
        let errors = reconcile(
            &mut checked,
            &[],
            &stored(&[value(2, None)]),
            &stored(&[value(7, None)]),
        )
        .unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "values[0].value");
        assert_eq!(errors[0].code, "changed_since_template");
        assert_eq!(
            errors[0].conflict,
            Some(CellConflict {
                template: Some("2".into()),
                sheet: Some("5".into()),
                stored: Some("7".into()),
            })
        );
        let errors =
            reconcile(&mut checked, &[], &stored(&[]), &stored(&[value(7, None)])).unwrap_err();
        assert_eq!(errors[0].conflict.as_ref().unwrap().template, None);
    }

    #[test]
    fn a_changed_part_by_sex_names_its_cell() {
        let with_parts = |n, parts| ValueRecord {
            by_sex: Some(parts),
            ..value(n, None)
        };
        let mut checked = Checked {
            values: vec![with_parts(2, [SCALE, 0, SCALE])],
            ..Checked::default()
        };
        let errors = reconcile(
            &mut checked,
            &[],
            &stored(&[with_parts(2, [SCALE, SCALE, 0])]),
            &stored(&[with_parts(3, [SCALE, SCALE, SCALE])]),
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "values[0].by_sex.man");
    }

    #[test]
    fn each_text_of_a_narrative_is_its_own_cell() {
        let narrative = |progress: &str, lessons: &str| NarrativeRecord {
            project_ref: "P1".into(),
            period: "2026H1".into(),
            progress: progress.into(),
            lessons: lessons.into(),
            deviations: String::new(),
        };
        let state = |n: NarrativeRecord| Stored {
            narratives: HashMap::from([(("P1".into(), "2026H1".into()), n)]),
            ..Stored::default()
        };
        let mut checked = Checked {
            narratives: vec![narrative("ok\n", "new")],
            ..Checked::default()
        };
        reconcile(
            &mut checked,
            &[],
            &state(narrative("ok\n", "old")),
            &state(narrative("newer", "old")),
        )
        .unwrap();
        assert_eq!(checked.narratives[0], narrative("newer", "new"));
        let errors = reconcile(
            &mut checked,
            &[],
            &state(narrative("newer", "x")),
            &state(narrative("newer", "y")),
        )
        .unwrap_err();
        assert_eq!(errors[0].field, "narratives[0].lessons");
    }
}
