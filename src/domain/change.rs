//! The change feed's rules: what kinds of change a write records, and the cursor a reader
//! continues from. A change's place is its data version and its order within that version's
//! write (`seq`); versions commit in order, so places do too.

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::submission::records::{PlanRecord, ProjectRecord};

/// What a change is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// An indicator value of a project and half-year (`region`, `project_ref`, `indicator`,
    /// `period`).
    Value,
    /// A project's narrative for a half-year (`region`, `project_ref`, `period`).
    Narrative,
    /// A project's classification, dates, amounts or texts (`region`, `project_ref`).
    Project,
    /// A project's plan for an indicator: baseline, target, goal, source (`region`,
    /// `project_ref`, `indicator`).
    Plan,
    /// An indicator of the catalogue (`indicator`).
    Indicator,
    /// A code of a code list (`item`: `dimension/code`).
    Classification,
    /// A region's report of a half-year (`region`, `period`; `action` is the transition, or
    /// `admin_change` when an admin changed an accepted report's figures).
    Report,
    /// A snapshot published (`item`: its id, `period`).
    SnapshotPublished,
}

impl ChangeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Value => "value",
            ChangeKind::Narrative => "narrative",
            ChangeKind::Project => "project",
            ChangeKind::Plan => "plan",
            ChangeKind::Indicator => "indicator",
            ChangeKind::Classification => "classification",
            ChangeKind::Report => "report",
            ChangeKind::SnapshotPublished => "snapshot_published",
        }
    }

    pub const ALL: [ChangeKind; 8] = [
        ChangeKind::Value,
        ChangeKind::Narrative,
        ChangeKind::Project,
        ChangeKind::Plan,
        ChangeKind::Indicator,
        ChangeKind::Classification,
        ChangeKind::Report,
        ChangeKind::SnapshotPublished,
    ];

    pub fn parse(text: &str) -> Option<ChangeKind> {
        ChangeKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }
}

/// One change a write made, as it records it: the kind, what happened (`created`,
/// `updated`, `deleted`, a report's transition, ...) and the keys that name the thing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub action: String,
    pub region: Option<String>,
    pub project_ref: Option<String>,
    pub indicator: Option<String>,
    pub period: Option<String>,
    pub item: Option<String>,
}

impl Change {
    /// A change of `kind` with `action`, naming nothing yet.
    pub fn new(kind: ChangeKind, action: impl Into<String>) -> Change {
        Change {
            kind,
            action: action.into(),
            region: None,
            project_ref: None,
            indicator: None,
            period: None,
            item: None,
        }
    }

    pub fn region(mut self, region: impl Into<String>) -> Change {
        self.region = Some(region.into());
        self
    }

    pub fn project(mut self, project_ref: impl Into<String>) -> Change {
        self.project_ref = Some(project_ref.into());
        self
    }

    pub fn indicator(mut self, indicator: impl Into<String>) -> Change {
        self.indicator = Some(indicator.into());
        self
    }

    pub fn period(mut self, period: impl Into<String>) -> Change {
        self.period = Some(period.into());
        self
    }

    pub fn item(mut self, item: impl Into<String>) -> Change {
        self.item = Some(item.into());
        self
    }
}

/// The changes a write of project `new` to `region` makes, `stored` being the project as
/// stored before (none when it is new): the project itself when anything but its plans
/// differs, and each plan created, updated or deleted.
pub fn of_project(
    region: &str,
    stored: Option<&ProjectRecord>,
    new: &ProjectRecord,
) -> Vec<Change> {
    let named = |kind, action: &str| {
        Change::new(kind, action)
            .region(region)
            .project(new.project_ref.as_str())
    };
    let no_plans: &[PlanRecord] = &[];
    let (old_plans, project_changed) = match stored {
        None => (no_plans, Some("created")),
        Some(old) => {
            let without_plans = |p: &ProjectRecord| ProjectRecord {
                plans: Vec::new(),
                ..p.clone()
            };
            let changed = without_plans(old) != without_plans(new);
            (old.plans.as_slice(), changed.then_some("updated"))
        }
    };
    let mut changes: Vec<Change> = project_changed
        .map(|action| named(ChangeKind::Project, action))
        .into_iter()
        .collect();
    let find = |plans: &[PlanRecord], indicator: &str| {
        plans.iter().find(|p| p.indicator == indicator).cloned()
    };
    for plan in &new.plans {
        let action = match find(old_plans, &plan.indicator) {
            None => Some("created"),
            Some(old) if old != *plan => Some("updated"),
            Some(_) => None,
        };
        if let Some(action) = action {
            changes.push(named(ChangeKind::Plan, action).indicator(plan.indicator.as_str()));
        }
    }
    for old in old_plans {
        if find(&new.plans, &old.indicator).is_none() {
            changes.push(named(ChangeKind::Plan, "deleted").indicator(old.indicator.as_str()));
        }
    }
    changes
}

/// Where a reader of the feed stands: after the change `seq` of data version `version`.
/// Written as `version.seq`; clients treat it as opaque, and it stays valid forever (a
/// change's place never changes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Cursor {
    pub version: i64,
    pub seq: i64,
}

impl Cursor {
    /// Reads a cursor this service wrote; anything else is `None`.
    pub fn parse(text: &str) -> Option<Cursor> {
        let (version, seq) = text.split_once('.')?;
        let number = |part: &str| {
            (!part.is_empty() && part.len() <= 18 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse::<i64>().ok())
                .flatten()
        };
        Some(Cursor {
            version: number(version)?,
            seq: number(seq)?,
        })
    }
}

impl std::fmt::Display for Cursor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.version, self.seq)
    }
}

/// The most changes one page of the feed holds, and how many it holds unless asked.
pub const MAX_PAGE: i64 = 1_000;
pub const DEFAULT_PAGE: i64 = 100;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written() {
        let cursor = Cursor {
            version: 42,
            seq: 7,
        };
        assert_eq!(Cursor::parse(&cursor.to_string()), Some(cursor));
        assert_eq!(Cursor::parse("0.0"), Some(Cursor::default()));
    }

    #[test]
    fn anything_else_is_no_cursor() {
        for text in [
            "",
            ".",
            "1",
            "1.",
            ".1",
            "-1.0",
            "1.-2",
            "+1.0",
            "1.2.3",
            "a.b",
            " 1.2",
            "1.2 ",
            "1e3.0",
            "9999999999999999999.0",
        ] {
            assert_eq!(Cursor::parse(text), None, "{text:?}");
        }
    }

    #[test]
    fn cursors_order_by_version_then_place() {
        let at = |version, seq| Cursor { version, seq };
        assert!(at(1, 9) < at(2, 0));
        assert!(at(2, 1) < at(2, 2));
    }

    fn project() -> ProjectRecord {
        let plan = |indicator: &str| PlanRecord {
            indicator: indicator.into(),
            baseline: None,
            baseline_year: None,
            target: Some(10),
            goal: None,
            source: None,
        };
        ProjectRecord {
            project_ref: "P1".into(),
            title: "Projekt".into(),
            organisation: "Org".into(),
            status: "active".into(),
            project_type: "t".into(),
            sakomrade: "s".into(),
            fokusomrade: None,
            effektkedja: "e".into(),
            branscher: Vec::new(),
            verktyg: Vec::new(),
            syften: Vec::new(),
            start_date: chrono::NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"),
            end_date: chrono::NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
            granted_sek: 1,
            total_budget_sek: 2,
            plans: vec![plan("RCO01"), plan("RCO02")],
        }
    }

    fn described(changes: &[Change]) -> Vec<(ChangeKind, String, Option<String>)> {
        changes
            .iter()
            .map(|c| (c.kind, c.action.clone(), c.indicator.clone()))
            .collect()
    }

    #[test]
    fn a_new_project_is_created_with_each_plan() {
        let changes = of_project("07", None, &project());
        assert_eq!(
            described(&changes),
            vec![
                (ChangeKind::Project, "created".into(), None),
                (ChangeKind::Plan, "created".into(), Some("RCO01".into())),
                (ChangeKind::Plan, "created".into(), Some("RCO02".into())),
            ]
        );
        assert!(
            changes.iter().all(
                |c| c.region.as_deref() == Some("07") && c.project_ref.as_deref() == Some("P1")
            )
        );
    }

    #[test]
    fn a_changed_plan_alone_is_a_plan_change() {
        let old = project();
        let mut new = project();
        new.plans[1].target = Some(20);
        new.plans.remove(0);
        assert_eq!(
            described(&of_project("07", Some(&old), &new)),
            vec![
                (ChangeKind::Plan, "updated".into(), Some("RCO02".into())),
                (ChangeKind::Plan, "deleted".into(), Some("RCO01".into())),
            ]
        );
    }

    #[test]
    fn a_changed_title_is_a_project_change_and_nothing_unchanged_is_one() {
        let old = project();
        let mut new = project();
        new.title = "Nytt namn".into();
        assert_eq!(
            described(&of_project("07", Some(&old), &new)),
            vec![(ChangeKind::Project, "updated".into(), None)]
        );
        assert!(of_project("07", Some(&old), &old).is_empty());
    }

    #[test]
    fn every_kind_reads_back_by_its_name() {
        for kind in ChangeKind::ALL {
            assert_eq!(ChangeKind::parse(kind.as_str()), Some(kind));
        }
    }
}
