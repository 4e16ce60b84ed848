//! What a write touches: the half-years whose figures or completeness it would move. A
//! signed-off report refuses a region's write that touches its half-year; an admin's write
//! that touches an accepted report is recorded on that report.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::records::{Change, PlanRecord, ProjectRecord};
use crate::domain::period::PeriodId;

/// What a change of one project touches.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Touch {
    /// The changed fields that move figures, in the record's order; `ref` for a new project.
    pub fields: Vec<&'static str>,
    pub half_years: BTreeSet<PeriodId>,
}

/// The half-years a project dated from `start` to `end` is dated into: those its dates
/// overlap, as aggregates and completeness count it.
pub fn dated_into(start: NaiveDate, end: NaiveDate) -> BTreeSet<PeriodId> {
    let mut half_years = BTreeSet::new();
    let mut year = chrono::Datelike::year(&start);
    while year <= chrono::Datelike::year(&end) {
        for half in [1, 2] {
            let half_year = PeriodId::HalfYear { year, half };
            if half_year.start_date() <= end && half_year.end_date() >= start {
                half_years.insert(half_year);
            }
        }
        year += 1;
    }
    half_years
}

/// The half-years whose figures or completeness storing `new` over `stored` moves. A new
/// project touches every half-year it is dated into. A change of anything figures or
/// completeness rest on (classification, status, amounts, the plans' indicators, baselines
/// and targets) touches every half-year the project is dated into before or after; a
/// change of dates alone, the half-years it enters or leaves. Title, organisation and the
/// plans' goal and source texts are in no figure and touch nothing.
pub fn project_touches(stored: Option<&ProjectRecord>, new: &ProjectRecord) -> Touch {
    let after = dated_into(new.start_date, new.end_date);
    let Some(old) = stored else {
        return Touch {
            fields: vec!["ref"],
            half_years: after,
        };
    };
    let before = dated_into(old.start_date, old.end_date);
    let fields: Vec<&'static str> = [
        ("status", old.status != new.status),
        ("project_type", old.project_type != new.project_type),
        ("sakomrade", old.sakomrade != new.sakomrade),
        ("fokusomrade", old.fokusomrade != new.fokusomrade),
        ("effektkedja", old.effektkedja != new.effektkedja),
        ("branscher", old.branscher != new.branscher),
        ("verktyg", old.verktyg != new.verktyg),
        ("syften", old.syften != new.syften),
        ("granted_sek", old.granted_sek != new.granted_sek),
        (
            "total_budget_sek",
            old.total_budget_sek != new.total_budget_sek,
        ),
        ("indicators", figures_differ(&old.plans, &new.plans)),
    ]
    .into_iter()
    .filter_map(|(field, changed)| changed.then_some(field))
    .collect();
    let moved: Vec<&'static str> = if before == after {
        Vec::new()
    } else {
        [
            ("start_date", old.start_date != new.start_date),
            ("end_date", old.end_date != new.end_date),
        ]
        .into_iter()
        .filter_map(|(field, changed)| changed.then_some(field))
        .collect()
    };
    let half_years = if fields.is_empty() {
        before.symmetric_difference(&after).copied().collect()
    } else {
        before.union(&after).copied().collect()
    };
    Touch {
        fields: fields.into_iter().chain(moved).collect(),
        half_years,
    }
}

/// Whether the plans differ in what figures and completeness use: which indicators, their
/// baselines and targets.
fn figures_differ(old: &[PlanRecord], new: &[PlanRecord]) -> bool {
    old.len() != new.len()
        || old.iter().zip(new).any(|(old, new)| {
            (&old.indicator, old.baseline, old.baseline_year, old.target)
                != (&new.indicator, new.baseline, new.baseline_year, new.target)
        })
}

/// The half-year a value or narrative of `period` touches: its own, when it changed.
pub fn item_touches(change: Change, period: &str) -> Option<PeriodId> {
    (change != Change::Unchanged)
        .then(|| PeriodId::parse(period))
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(text: &str) -> PeriodId {
        PeriodId::parse(text).unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn set(texts: &[&str]) -> BTreeSet<PeriodId> {
        texts.iter().map(|t| h(t)).collect()
    }

    /// Dated 2026-01-15 to 2026-09-30: into 2026H1 and 2026H2.
    fn project() -> ProjectRecord {
        ProjectRecord {
            project_ref: "P1".into(),
            title: "Projekt".into(),
            organisation: "Regionen".into(),
            status: "pagaende".into(),
            project_type: "projekt".into(),
            sakomrade: "innovation_foretagande".into(),
            fokusomrade: Some("innovation".into()),
            effektkedja: "kunskap_strategier".into(),
            branscher: vec!["kkn".into()],
            verktyg: vec![],
            syften: vec![],
            start_date: day("2026-01-15"),
            end_date: day("2026-09-30"),
            granted_sek: 1_000_000,
            total_budget_sek: 2_000_000,
            plans: vec![PlanRecord {
                indicator: "RCO83".into(),
                baseline: Some(0),
                baseline_year: Some(2025),
                target: Some(20_000),
                goal: Some("Två strategier".into()),
                source: None,
            }],
        }
    }

    fn touches(change: impl FnOnce(&mut ProjectRecord)) -> Touch {
        let mut new = project();
        change(&mut new);
        project_touches(Some(&project()), &new)
    }

    #[test]
    fn dated_into_the_half_years_the_dates_overlap() {
        assert_eq!(
            dated_into(day("2026-01-15"), day("2026-09-30")),
            set(&["2026H1", "2026H2"])
        );
        assert_eq!(
            dated_into(day("2026-06-30"), day("2026-07-01")),
            set(&["2026H1", "2026H2"])
        );
        assert_eq!(
            dated_into(day("2025-07-01"), day("2027-03-01")),
            set(&["2025H2", "2026H1", "2026H2", "2027H1"])
        );
        assert_eq!(
            dated_into(day("2026-02-01"), day("2026-02-01")),
            set(&["2026H1"])
        );
    }

    #[test]
    fn a_new_project_touches_every_half_year_it_is_dated_into() {
        let touch = project_touches(None, &project());
        assert_eq!(touch.fields, vec!["ref"]);
        assert_eq!(touch.half_years, set(&["2026H1", "2026H2"]));
    }

    #[test]
    fn an_unchanged_project_and_its_texts_touch_nothing() {
        assert_eq!(touches(|_| {}), Touch::default());
        let texts = touches(|p| {
            p.title = "Nytt namn".into();
            p.organisation = "Kommunen".into();
            p.plans[0].goal = Some("Tre strategier".into());
            p.plans[0].source = Some("Enkät".into());
        });
        assert_eq!(texts, Touch::default());
    }

    #[test]
    fn every_field_figures_rest_on_touches_the_half_years_before_and_after() {
        type Edit = fn(&mut ProjectRecord);
        let changes: [(&str, Edit); 12] = [
            ("status", |p| p.status = "avslutat".into()),
            ("project_type", |p| p.project_type = "forstudie".into()),
            ("sakomrade", |p| p.sakomrade = "ovrigt".into()),
            ("fokusomrade", |p| p.fokusomrade = None),
            ("effektkedja", |p| p.effektkedja = "infrastruktur".into()),
            ("branscher", |p| p.branscher.push("ikt".into())),
            ("verktyg", |p| p.verktyg.push("bredband".into())),
            ("syften", |p| p.syften.push("digitalisering".into())),
            ("granted_sek", |p| p.granted_sek = 9_000_000),
            ("total_budget_sek", |p| p.total_budget_sek = 3_000_000),
            ("indicators", |p| p.plans[0].target = Some(30_000)),
            ("indicators", |p| p.plans.clear()),
        ];
        for (field, change) in changes {
            let touch = touches(change);
            assert_eq!(touch.fields, vec![field]);
            assert_eq!(touch.half_years, set(&["2026H1", "2026H2"]), "{field}");
        }
        let baseline = touches(|p| p.plans[0].baseline_year = Some(2024));
        assert_eq!(baseline.fields, vec!["indicators"]);
        // Moved into 2026H1 only and a new sakområde: the half-years before and after.
        let both = touches(|p| {
            p.sakomrade = "ovrigt".into();
            p.fokusomrade = None;
            p.end_date = day("2026-05-31");
            p.start_date = day("2025-10-01");
        });
        assert_eq!(
            both.fields,
            vec!["sakomrade", "fokusomrade", "start_date", "end_date"]
        );
        assert_eq!(both.half_years, set(&["2025H2", "2026H1", "2026H2"]));
    }

    #[test]
    fn a_change_of_dates_alone_touches_the_half_years_entered_or_left() {
        let inside = touches(|p| {
            p.start_date = day("2026-03-01");
            p.end_date = day("2026-12-31");
        });
        assert_eq!(inside, Touch::default(), "still dated into the same two");
        let shorter = touches(|p| p.end_date = day("2026-06-30"));
        assert_eq!(shorter.fields, vec!["end_date"]);
        assert_eq!(shorter.half_years, set(&["2026H2"]));
        let earlier = touches(|p| p.start_date = day("2025-01-01"));
        assert_eq!(earlier.fields, vec!["start_date"]);
        assert_eq!(earlier.half_years, set(&["2025H1", "2025H2"]));
    }

    #[test]
    fn items_touch_their_half_year_only_when_they_change() {
        assert_eq!(item_touches(Change::Created, "2026H1"), Some(h("2026H1")));
        assert_eq!(item_touches(Change::Updated, "2026H2"), Some(h("2026H2")));
        assert_eq!(item_touches(Change::Unchanged, "2026H1"), None);
    }
}
