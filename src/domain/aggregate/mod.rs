//! How indicator values combine into national figures, computed exactly from the facts of
//! the matched projects. No I/O: the database supplies the facts.
//!
//! - `question`: what is asked (rule, grouping, half-years);
//! - `facts`: what the database supplies (memberships, value facts, tallies);
//! - `from_facts` and `from_tallies`: the two paths, value by value or added up in the
//!   database, which `groups` sorts into groups and `measure` turns into rows alike;
//! - `stats`: median, mean, minimum and maximum over the rows.

pub mod facts;
pub mod from_facts;
pub mod from_tallies;
mod groups;
mod measure;
pub mod question;
pub mod stats;

use rust_decimal::Decimal;

/// The columns of an answer's table (CSV, xlsx, the rows of JSON): scope, each grouping
/// dimension's code and label, the value (with a ratio's two parts), target, projects,
/// reporting projects and the two shares.
pub fn table_columns(dimensions: usize, ratio: bool) -> usize {
    let value = if ratio { 3 } else { 1 };
    1 + 2 * dimensions + value + 5
}

/// One group's figures. `keys` follow `group_by`; `None` is a project without that code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub keys: Vec<Option<String>>,
    pub value: Option<Decimal>,
    /// For ratios: the sums above and below the line.
    pub numerator: Option<Decimal>,
    pub denominator: Option<Decimal>,
    pub target: Option<Decimal>,
    /// The value as a percentage of the target, both undivided (`measure::SHARE_PLACES`).
    pub target_share: Option<Decimal>,
    /// The reporting projects as a percentage of the matched projects.
    pub reporting_share: Option<Decimal>,
    pub projects: u64,
    pub reporting_projects: u64,
}

/// The rows, the national row (over everything matched, never the rows added up) and the
/// statistics over the rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rows: Vec<Row>,
    pub national: Row,
    pub stats: stats::Stats,
}

impl Answer {
    /// The answer from the rows and the rows of the same question asked without grouping
    /// (one row: the nation).
    fn of(decimals: u32, rows: Vec<Row>, mut national: Vec<Row>) -> Answer {
        let national = national.pop().expect("without grouping there is one row");
        let stats = stats::stats(&rows, decimals);
        Answer {
            rows,
            national,
            stats,
        }
    }
}

#[cfg(test)]
mod test_support {
    use std::str::FromStr;

    use rust_decimal::Decimal;

    use super::facts::{Facts, Membership, ValueFact};
    use super::question::{GroupBy, Per, Question, Rule};
    use super::{Answer, from_facts};
    use crate::domain::period::{PeriodId, PeriodSpan};

    pub fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    pub fn h(text: &str) -> PeriodId {
        PeriodId::parse(text).unwrap()
    }

    pub fn member(attributes: &[&str], projects: u64, target: Option<i128>) -> Membership {
        Membership {
            attributes: attributes.iter().map(|a| Some(a.to_string())).collect(),
            bucket: None,
            projects,
            target,
            field: 1000 * projects as i128,
            granted: 1000 * projects as i128,
        }
    }

    pub fn value(project_id: i64, attributes: &[&str], half_year: &str, value: &str) -> ValueFact {
        ValueFact {
            attributes: attributes.iter().map(|a| Some(a.to_string())).collect(),
            project_id,
            half_year: h(half_year),
            value: crate::domain::decimal::to_scaled(d(value), 4).unwrap(),
            parts: None,
            entities: vec![],
        }
    }

    pub fn answer(
        question: &Question,
        members: &[Membership],
        national: &Membership,
        values: &[ValueFact],
        denominators: &[ValueFact],
    ) -> Answer {
        from_facts::aggregate(
            question,
            &Facts {
                members,
                national_members: national,
                values,
                denominators,
            },
        )
    }

    pub fn question(rule: Rule, group_by: &[GroupBy], period: &str) -> Question {
        Question {
            rule,
            per: Per::Total,
            decimals: 1,
            group_by: group_by.to_vec(),
            span: PeriodSpan::parse(period).unwrap(),
        }
    }
}
