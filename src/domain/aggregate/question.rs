//! What an aggregate question asks: the rule that forms a value, the grouping and the
//! half-years.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::period::PeriodSpan;

/// A dimension answers can be grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupBy {
    Region,
    Sakomrade,
    Fokusomrade,
    Effektkedja,
    Bransch,
    ProjectType,
    Period,
    Sex,
}

impl GroupBy {
    pub const ALL: [GroupBy; 8] = [
        GroupBy::Region,
        GroupBy::Sakomrade,
        GroupBy::Fokusomrade,
        GroupBy::Effektkedja,
        GroupBy::Bransch,
        GroupBy::ProjectType,
        GroupBy::Period,
        GroupBy::Sex,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Region => "region",
            GroupBy::Sakomrade => "sakomrade",
            GroupBy::Fokusomrade => "fokusomrade",
            GroupBy::Effektkedja => "effektkedja",
            GroupBy::Bransch => "bransch",
            GroupBy::ProjectType => "project_type",
            GroupBy::Period => "period",
            GroupBy::Sex => "sex",
        }
    }

    pub fn parse(text: &str) -> Option<GroupBy> {
        GroupBy::ALL.into_iter().find(|g| g.as_str() == text)
    }

    /// Whether the dimension is a property of the project (not the period or the sex).
    pub fn is_project_attribute(self) -> bool {
        !matches!(self, GroupBy::Period | GroupBy::Sex)
    }
}

/// The parts of a by-sex value, in the order they are stored.
pub const SEXES: [&str; 3] = ["kvinnor", "man", "ej_angivet"];

/// How the value of a group is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Sum,
    Latest,
    /// Sum of numerator over sum of denominator; `percent` multiplies by 100.
    Ratio {
        percent: bool,
    },
    Distinct,
    /// A project field (granted_sek, total_budget_sek), counted once per project.
    ProjectField,
}

/// What a group's value is measured against, so that a large portfolio and a small one
/// compare like with like: the group's total, per matched project, or per million kronor
/// granted to its matched projects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Per {
    #[default]
    Total,
    Project,
    GrantedMsek,
}

impl Per {
    pub const ALL: [Per; 3] = [Per::Total, Per::Project, Per::GrantedMsek];

    pub fn as_str(self) -> &'static str {
        match self {
            Per::Total => "total",
            Per::Project => "project",
            Per::GrantedMsek => "granted_msek",
        }
    }

    /// Whether the measure applies to a rule: a ratio is already a share of its
    /// denominator, and a share per project or per million kronor means nothing.
    pub fn applies_to(self, rule: Rule) -> bool {
        self == Per::Total || !matches!(rule, Rule::Ratio { .. })
    }
}

#[derive(Debug, Clone)]
pub struct Question {
    pub rule: Rule,
    /// What each value (and target) is divided by.
    pub per: Per,
    /// Decimal places of a ratio as printed.
    pub decimals: u32,
    pub group_by: Vec<GroupBy>,
    pub span: PeriodSpan,
}

impl Question {
    /// The same question for the nation: nothing grouped.
    pub fn national(&self) -> Question {
        Question {
            group_by: Vec::new(),
            ..self.clone()
        }
    }

    /// Whether the database can add up the values: `sum`, `ratio` and `distinct` without a
    /// sex breakdown. `latest` and sexes need the values one by one.
    pub fn can_be_tallied(&self) -> bool {
        matches!(self.rule, Rule::Sum | Rule::Ratio { .. } | Rule::Distinct)
            && !self.group_by.contains(&GroupBy::Sex)
    }

    /// Whether a group's row shows the sum of its projects' targets: not by period or sex
    /// (a target is for the whole project), nor for ratios and project fields.
    pub fn shows_targets(&self) -> bool {
        !self.group_by.contains(&GroupBy::Period)
            && !self.group_by.contains(&GroupBy::Sex)
            && !matches!(self.rule, Rule::Ratio { .. } | Rule::ProjectField)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names_round_trip() {
        for group in GroupBy::ALL {
            assert_eq!(GroupBy::parse(group.as_str()), Some(group));
        }
        assert_eq!(GroupBy::parse("kommun"), None);
    }

    #[test]
    fn per_names_round_trip_and_ratios_are_only_totals() {
        for per in Per::ALL {
            let name = serde_json::to_value(per).unwrap();
            assert_eq!(name, serde_json::json!(per.as_str()));
            assert_eq!(serde_json::from_value::<Per>(name).unwrap(), per);
        }
        assert!(serde_json::from_value::<Per>(serde_json::json!("region")).is_err());
        assert!(Per::Project.applies_to(Rule::Sum));
        assert!(Per::GrantedMsek.applies_to(Rule::ProjectField));
        assert!(!Per::Project.applies_to(Rule::Ratio { percent: true }));
        assert!(!Per::GrantedMsek.applies_to(Rule::Ratio { percent: false }));
        assert!(Per::Total.applies_to(Rule::Ratio { percent: true }));
    }

    #[test]
    fn what_the_database_can_tally() {
        let question = |rule, group_by: &[GroupBy]| Question {
            rule,
            per: Per::Total,
            decimals: 0,
            group_by: group_by.to_vec(),
            span: PeriodSpan::parse("2026").unwrap(),
        };
        assert!(question(Rule::Distinct, &[GroupBy::Region]).can_be_tallied());
        assert!(question(Rule::Ratio { percent: true }, &[]).can_be_tallied());
        assert!(!question(Rule::Latest, &[]).can_be_tallied());
        assert!(!question(Rule::Sum, &[GroupBy::Sex]).can_be_tallied());
        assert!(!question(Rule::ProjectField, &[]).can_be_tallied());
        assert!(question(Rule::Sum, &[GroupBy::Region]).shows_targets());
        assert!(!question(Rule::Sum, &[GroupBy::Period]).shows_targets());
        assert!(!question(Rule::Ratio { percent: false }, &[]).shows_targets());
        assert!(
            question(Rule::Sum, &[GroupBy::Region])
                .national()
                .group_by
                .is_empty()
        );
    }
}
