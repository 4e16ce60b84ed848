//! The value-by-value path: the facts of the matched projects, one per value, grouped
//! and measured here. Needed for `latest`, sex breakdowns and `as_of`.

use std::collections::{BTreeMap, BTreeSet};

// foldhash: every fact is looked up in three or four of these, by numbers and the group's
// borrowed codes; the standard SipHash took more than the rest of `latest` by region.
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use super::facts::{Facts, Membership, ValueFact};
use super::groups::{self, Key};
use super::measure::{Amount, Reported};
use super::question::{GroupBy, Question, Rule};
use super::{Answer, Row};
use crate::domain::period::PeriodId;

/// Aggregates the facts by the question's rule.
pub fn aggregate(question: &Question, facts: &Facts<'_>) -> Answer {
    let (values, denominators) = match question.rule {
        Rule::Ratio { .. } => paired(facts.values, facts.denominators),
        _ => (
            facts.values.iter().collect(),
            facts.denominators.iter().collect(),
        ),
    };
    let rows = rows_of(question, facts.members, &values, &denominators);
    // A project in several branscher has a fact per bransch; nationally it counts once.
    let national = rows_of(
        &question.national(),
        std::slice::from_ref(facts.national_members),
        &once_per_project_and_half_year(&values),
        &once_per_project_and_half_year(&denominators),
    );
    Answer::of(question.decimals, rows, national)
}

fn once_per_project_and_half_year<'f>(facts: &[&'f ValueFact]) -> Vec<&'f ValueFact> {
    let mut seen = HashSet::new();
    facts
        .iter()
        .filter(|f| seen.insert((f.project_id, f.half_year)))
        .copied()
        .collect()
}

/// A share is taken over the same units above and below the line: only the project
/// half-years that reported both the numerator and the denominator count.
fn paired<'f>(
    numerators: &'f [ValueFact],
    denominators: &'f [ValueFact],
) -> (Vec<&'f ValueFact>, Vec<&'f ValueFact>) {
    let keys = |facts: &[ValueFact]| -> HashSet<(i64, PeriodId)> {
        facts.iter().map(|f| (f.project_id, f.half_year)).collect()
    };
    let (above, below) = (keys(numerators), keys(denominators));
    let both = |f: &&ValueFact| {
        above.contains(&(f.project_id, f.half_year)) && below.contains(&(f.project_id, f.half_year))
    };
    (
        numerators.iter().filter(both).collect(),
        denominators.iter().filter(both).collect(),
    )
}

/// A group as the facts name it: their project attributes (borrowed), the period bucket and
/// the sex.
type Cell<'f> = (&'f [Option<String>], Option<PeriodId>, Option<usize>);

fn rows_of(
    question: &Question,
    members: &[Membership],
    values: &[&ValueFact],
    denominators: &[&ValueFact],
) -> Vec<Row> {
    let with_period = question.group_by.contains(&GroupBy::Period);
    // The facts carry the project attributes of the question's grouping; the nation's
    // question, asked of the same facts, groups by none of them.
    let attribute_count = question
        .group_by
        .iter()
        .filter(|dimension| !matches!(dimension, GroupBy::Period | GroupBy::Sex))
        .count();
    let sexes = groups::sexes_of(question);
    // Grouped by the facts' own attributes, borrowed, so that no key is built per fact;
    // each group's key is built once at the end.
    let mut measuring: HashMap<Cell<'_>, Measuring> = HashMap::new();
    for (facts, is_denominator) in [(values, false), (denominators, true)] {
        for fact in facts {
            if !question.span.half_years.contains(&fact.half_year) {
                continue;
            }
            let bucket = with_period.then(|| question.span.bucket(fact.half_year));
            let attributes = &fact.attributes[..attribute_count.min(fact.attributes.len())];
            for sex in &sexes {
                let amount = match (sex, fact.parts) {
                    (None, _) => fact.value,
                    (Some(i), Some(parts)) => parts[*i],
                    (Some(_), None) => continue,
                };
                measuring
                    .entry((attributes, bucket, *sex))
                    .or_insert_with(|| Measuring::new(question.rule))
                    .add(fact, amount, is_denominator);
            }
        }
    }
    let reported: BTreeMap<Key, Reported> = measuring
        .into_iter()
        .map(|((attributes, bucket, sex), group)| {
            (
                groups::key_of(question, attributes, bucket, sex),
                group.finish(),
            )
        })
        .collect();
    groups::rows(
        question,
        &groups::member_groups(question, members),
        &reported,
    )
}

/// A group's values as they are added, fact by fact.
struct Measuring {
    reporting: HashSet<i64>,
    measure: Measure,
}

/// What a rule keeps of the facts it is given.
enum Measure {
    Total(i128),
    /// Per project: its latest half-year and that half-year's amount.
    Latest(HashMap<i64, (PeriodId, i64)>),
    Ratio {
        numerator: i128,
        denominator: i128,
    },
    Distinct(BTreeSet<String>),
}

impl Measuring {
    fn new(rule: Rule) -> Measuring {
        let measure = match rule {
            Rule::Sum | Rule::ProjectField => Measure::Total(0),
            Rule::Latest => Measure::Latest(HashMap::new()),
            Rule::Ratio { .. } => Measure::Ratio {
                numerator: 0,
                denominator: 0,
            },
            Rule::Distinct => Measure::Distinct(BTreeSet::new()),
        };
        Measuring {
            reporting: HashSet::new(),
            measure,
        }
    }

    /// Adds `amount`, the fact's value or its part for one sex; `is_denominator` for the
    /// lower part of a ratio.
    fn add(&mut self, fact: &ValueFact, amount: i64, is_denominator: bool) {
        self.reporting.insert(fact.project_id);
        match (&mut self.measure, is_denominator) {
            (Measure::Ratio { denominator, .. }, true) => *denominator += i128::from(amount),
            // Only a ratio has a lower part.
            (_, true) => {}
            (Measure::Total(total), false) => *total += i128::from(amount),
            (Measure::Ratio { numerator, .. }, false) => *numerator += i128::from(amount),
            (Measure::Distinct(entities), false) => entities.extend(fact.entities.iter().cloned()),
            (Measure::Latest(latest), false) => {
                let entry = latest
                    .entry(fact.project_id)
                    .or_insert((fact.half_year, amount));
                if fact.half_year >= entry.0 {
                    *entry = (fact.half_year, amount);
                }
            }
        }
    }

    fn finish(self) -> Reported {
        let amount = match self.measure {
            Measure::Total(total) => Amount::Total(total),
            Measure::Latest(latest) => {
                Amount::Total(latest.values().map(|(_, amount)| i128::from(*amount)).sum())
            }
            Measure::Ratio {
                numerator,
                denominator,
            } => Amount::Ratio {
                numerator,
                denominator,
            },
            Measure::Distinct(entities) => Amount::Distinct(entities.len() as u64),
        };
        Reported {
            projects: self.reporting.len() as u64,
            amount,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::aggregate::question::GroupBy;
    use crate::domain::aggregate::test_support::{answer, d, h, member, question, value};

    #[test]
    fn sums_are_exact_and_a_year_is_its_half_years() {
        let members = [
            member(&["07"], 1, Some(100_000)),
            member(&["08"], 1, Some(100_000)),
        ];
        let national = member(&[], 2, Some(200_000));
        let values = [
            value(1, &["07"], "2026H1", "0.1"),
            value(1, &["07"], "2026H2", "0.2"),
            value(2, &["08"], "2026H1", "1"),
        ];
        let year = answer(
            &question(Rule::Sum, &[GroupBy::Region], "2026"),
            &members,
            &national,
            &values,
            &[],
        );
        assert_eq!(year.rows[0].value, Some(d("0.3")));
        assert_eq!(year.rows[1].value, Some(d("1")));
        assert_eq!(year.national.value, Some(d("1.3")));
        assert_eq!(year.national.target, Some(d("20")));
        let national_only: Vec<ValueFact> = values
            .iter()
            .map(|v| ValueFact {
                attributes: Vec::new().into(),
                ..v.clone()
            })
            .collect();
        let h1 = answer(
            &question(Rule::Sum, &[], "2026H1"),
            std::slice::from_ref(&national),
            &national,
            &national_only,
            &[],
        );
        let h2 = answer(
            &question(Rule::Sum, &[], "2026H2"),
            std::slice::from_ref(&national),
            &national,
            &national_only,
            &[],
        );
        assert_eq!(
            h1.national.value.unwrap() + h2.national.value.unwrap(),
            d("1.3")
        );
    }

    #[test]
    fn latest_takes_each_projects_last_half_year() {
        let national = member(&[], 2, None);
        let values = [
            value(1, &[], "2026H1", "10"),
            value(1, &[], "2026H2", "12"),
            value(2, &[], "2026H1", "5"),
        ];
        let year = answer(
            &question(Rule::Latest, &[], "2026"),
            std::slice::from_ref(&national),
            &national,
            &values,
            &[],
        );
        assert_eq!(year.national.value, Some(d("17")));
        let buckets = [
            Membership {
                bucket: Some(h("2026H1")),
                ..national.clone()
            },
            Membership {
                bucket: Some(h("2026H2")),
                ..national.clone()
            },
        ];
        let by_period = answer(
            &question(Rule::Latest, &[GroupBy::Period], "2026H1..2026H2"),
            &buckets,
            &national,
            &values,
            &[],
        );
        let values: Vec<_> = by_period.rows.iter().map(|r| r.value).collect();
        assert_eq!(values, vec![Some(d("15")), Some(d("12"))]);
    }

    #[test]
    fn ratio_is_a_ratio_of_sums_not_a_mean_of_shares() {
        let members = [member(&["07"], 1, None), member(&["08"], 1, None)];
        let national = member(&[], 2, None);
        // 1 of 10 and 90 of 100: shares 10 % and 90 % (mean 50 %), ratio of sums 91/110.
        let numerators = [
            value(1, &["07"], "2026H1", "1"),
            value(2, &["08"], "2026H1", "90"),
        ];
        // Project 1's 2026H2 participants have no numerator: they are no part of the share.
        let denominators = [
            value(1, &["07"], "2026H1", "10"),
            value(2, &["08"], "2026H1", "100"),
            value(1, &["07"], "2026H2", "50"),
        ];
        let q = question(Rule::Ratio { percent: true }, &[GroupBy::Region], "2026");
        let result = answer(&q, &members, &national, &numerators, &denominators);
        assert_eq!(result.national.value, Some(d("82.7")));
        assert_eq!(result.national.numerator, Some(d("91")));
        assert_eq!(result.national.denominator, Some(d("110")));
        assert_eq!(result.rows[0].value, Some(d("10")));
        assert_eq!(result.national.target, None);
    }

    #[test]
    fn distinct_counts_an_enterprise_once_nationally() {
        let members = [member(&["07"], 1, None), member(&["08"], 1, None)];
        let national = member(&[], 2, None);
        let with = |id, region: &str, orgnr: &[&str]| ValueFact {
            entities: orgnr.iter().map(|o| o.to_string()).collect(),
            ..value(id, &[region], "2026H1", "0")
        };
        let values = [with(1, "07", &["A", "B"]), with(2, "08", &["B", "C"])];
        let result = answer(
            &question(Rule::Distinct, &[GroupBy::Region], "2026"),
            &members,
            &national,
            &values,
            &[],
        );
        assert_eq!(result.rows[0].value, Some(d("2")));
        assert_eq!(result.rows[1].value, Some(d("2")));
        assert_eq!(result.national.value, Some(d("3")));
    }

    #[test]
    fn a_project_in_two_branscher_counts_in_both_rows_and_once_nationally() {
        let none = Membership {
            attributes: vec![None],
            ..member(&[], 1, None)
        };
        let members = [none, member(&["ikt"], 1, None), member(&["kkn"], 1, None)];
        let national = member(&[], 2, None);
        let values = [
            value(1, &["kkn"], "2026H1", "5"),
            value(1, &["ikt"], "2026H1", "5"),
            ValueFact {
                attributes: vec![None].into(),
                ..value(2, &[], "2026H1", "1")
            },
        ];
        let result = answer(
            &question(Rule::Sum, &[GroupBy::Bransch], "2026H1"),
            &members,
            &national,
            &values,
            &[],
        );
        let rows: Vec<_> = result
            .rows
            .iter()
            .map(|r| (r.keys[0].clone(), r.value, r.projects))
            .collect();
        assert_eq!(
            rows,
            vec![
                (None, Some(d("1")), 1),
                (Some("ikt".into()), Some(d("5")), 1),
                (Some("kkn".into()), Some(d("5")), 1)
            ]
        );
        assert_eq!(result.national.value, Some(d("6")));
        assert_eq!(result.national.projects, 2);
    }

    #[test]
    fn sex_rows_and_unreported_projects() {
        let national = member(&[], 2, Some(10));
        let values = [ValueFact {
            parts: Some([70_000, 50_000, 0]),
            ..value(1, &[], "2026H1", "12")
        }];
        let result = answer(
            &question(Rule::Sum, &[GroupBy::Sex], "2026H1"),
            std::slice::from_ref(&national),
            &national,
            &values,
            &[],
        );
        let rows: Vec<_> = result
            .rows
            .iter()
            .map(|r| (r.keys[0].clone().unwrap(), r.value, r.target))
            .collect();
        assert_eq!(
            rows,
            vec![
                ("ej_angivet".to_string(), Some(d("0")), None),
                ("kvinnor".to_string(), Some(d("7")), None),
                ("man".to_string(), Some(d("5")), None)
            ]
        );
        assert_eq!(
            (result.national.projects, result.national.reporting_projects),
            (2, 1)
        );
    }

    #[test]
    fn project_fields_count_once_per_project() {
        let national = member(&[], 2, None);
        let result = answer(
            &question(Rule::ProjectField, &[], "2024..2026"),
            std::slice::from_ref(&national),
            &national,
            &[],
            &[],
        );
        assert_eq!(result.national.value, Some(d("2000")));
        assert_eq!(result.national.reporting_projects, 2);
    }
}
