//! The path for values the database has added up per group (`Tally`): `sum`, `ratio` and
//! `distinct` without a sex breakdown.

use std::collections::BTreeMap;

use super::facts::{Membership, Tally};
use super::groups::{self, Key};
use super::measure::{Amount, Reported};
use super::question::{Question, Rule};
use super::{Answer, Row};

/// Aggregates values the database has added up per group (`tallies`) and for the whole
/// (`national`), with the memberships, by the question's rule. The national row is the
/// database's own tally, never the rows added up.
pub fn aggregate_tallies(
    question: &Question,
    members: &[Membership],
    national_members: &Membership,
    tallies: &[Tally],
    national: &Tally,
) -> Answer {
    let rows = rows_of(question, members, tallies);
    let national = rows_of(
        &question.national(),
        std::slice::from_ref(national_members),
        std::slice::from_ref(national),
    );
    Answer::of(question.decimals, rows, national)
}

fn rows_of(question: &Question, members: &[Membership], tallies: &[Tally]) -> Vec<Row> {
    let mut added: BTreeMap<Key, Tally> = BTreeMap::new();
    for tally in tallies {
        let key = groups::key_of(question, &tally.attributes, tally.bucket, None);
        let sum = match added.remove(&key) {
            Some(earlier) => earlier.plus(tally.clone()),
            None => tally.clone(),
        };
        added.insert(key, sum);
    }
    let reported: BTreeMap<Key, Reported> = added
        .into_iter()
        .filter(|(_, tally)| tally.reporting > 0)
        .map(|(key, tally)| {
            let amount = match question.rule {
                Rule::Ratio { .. } => Amount::Ratio {
                    numerator: tally.sum,
                    denominator: tally.denominator,
                },
                Rule::Distinct => Amount::Distinct(tally.distinct),
                Rule::Sum | Rule::Latest | Rule::ProjectField => Amount::Total(tally.sum),
            };
            let reported = Reported {
                projects: tally.reporting,
                amount,
            };
            (key, reported)
        })
        .collect();
    groups::rows(
        question,
        &groups::member_groups(question, members),
        &reported,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::aggregate::question::GroupBy;
    use crate::domain::aggregate::test_support::{d, member, question};

    fn tally(
        region: &[&str],
        sum: i128,
        denominator: i128,
        distinct: u64,
        reporting: u64,
    ) -> Tally {
        Tally {
            attributes: region.iter().map(|r| Some(r.to_string())).collect(),
            bucket: None,
            sum,
            denominator,
            distinct,
            reporting,
        }
    }

    #[test]
    fn sums_with_targets_and_members_that_reported_nothing() {
        let members = [member(&["07"], 2, Some(50_000)), member(&["08"], 1, None)];
        let national_members = member(&[], 3, Some(50_000));
        let sums = [
            tally(&["07"], 3_000, 0, 0, 2),
            tally(&["08"], 10_000, 0, 0, 1),
        ];
        let q = question(Rule::Sum, &[GroupBy::Region], "2026");
        let result = aggregate_tallies(
            &q,
            &members,
            &national_members,
            &sums,
            &tally(&[], 13_000, 0, 0, 3),
        );
        assert_eq!(result.rows[0].value, Some(d("0.3")));
        assert_eq!(result.rows[0].target, Some(d("5")));
        assert_eq!(
            (result.rows[1].projects, result.rows[1].reporting_projects),
            (1, 1)
        );
        assert_eq!(result.national.value, Some(d("1.3")));
    }

    #[test]
    fn a_region_without_a_share_has_no_value() {
        let members = [member(&["07"], 2, None), member(&["08"], 1, None)];
        let ratio = question(Rule::Ratio { percent: true }, &[GroupBy::Region], "2026");
        let shares = [tally(&["07"], 10_000, 100_000, 0, 1)];
        let result = aggregate_tallies(
            &ratio,
            &members,
            &member(&[], 3, None),
            &shares,
            &tally(&[], 10_000, 100_000, 0, 1),
        );
        assert_eq!(result.rows[0].value, Some(d("10")));
        assert_eq!(result.rows[1].value, None, "Kalmar reported nothing");
    }

    #[test]
    fn distinct_counts_and_reporting_projects_come_from_their_own_tallies() {
        let members = [member(&["07"], 2, None), member(&["08"], 1, None)];
        let distinct = question(Rule::Distinct, &[GroupBy::Region], "2026");
        // Per region a tally of enterprises and one of the values that listed them.
        let tallies = [
            tally(&["07"], 0, 0, 2, 0),
            tally(&["07"], 0, 0, 0, 1),
            tally(&["08"], 0, 0, 2, 0),
            tally(&["08"], 0, 0, 0, 1),
        ];
        let national = tally(&[], 0, 0, 3, 0).plus(tally(&[], 0, 0, 0, 2));
        let result = aggregate_tallies(
            &distinct,
            &members,
            &member(&[], 3, None),
            &tallies,
            &national,
        );
        assert_eq!(result.rows[0].value, Some(d("2")));
        assert_eq!(result.rows[0].reporting_projects, 1);
        assert_eq!(
            result.national.value,
            Some(d("3")),
            "the national count is the database's, not 2 + 2"
        );
        assert_eq!(result.national.reporting_projects, 2);
    }

    #[test]
    fn nothing_reported_nationally_is_one_row_without_a_value() {
        let q = question(Rule::Sum, &[], "2026");
        let result = aggregate_tallies(&q, &[], &member(&[], 4, None), &[], &Tally::empty());
        assert_eq!(result.rows.len(), 1);
        assert_eq!(result.national.value, None);
        assert_eq!(result.national.projects, 4);
    }
}
