//! One group's row: what is known of its matched projects (`Members`) and what they
//! reported, measured by the rule (`Reported`). Both paths, value by value and added up in
//! the database, end here, so a figure is formed the same way whichever path counted it.

use rust_decimal::{Decimal, RoundingStrategy};

use super::Row;
use super::question::{Per, Question, Rule};
use super::stats::EXTRA_PLACES;
use crate::domain::decimal::from_scaled_sum;

/// The decimal places of a share in percent (of the target, of the projects reporting).
pub const SHARE_PLACES: u32 = 1;

/// A group's matched projects: how many are active in the period, the sum of their
/// targets, the sum of the project field of a `ProjectField` rule, and the kronor granted
/// to them (what `Per::GrantedMsek` divides by).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    pub projects: u64,
    /// Scaled.
    pub target: Option<i128>,
    pub field: i128,
    /// Whole kronor.
    pub granted: i128,
}

/// What a group's projects reported; only groups with at least one reporting project
/// have one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// Projects with a reported value.
    pub projects: u64,
    pub amount: Amount,
}

/// The reported values measured by the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Amount {
    /// `sum`, and `latest` once each project's latest half-year is taken (scaled).
    Total(i128),
    /// Over the project half-years that reported both parts (scaled).
    Ratio { numerator: i128, denominator: i128 },
    /// Distinct organisationsnummer.
    Distinct(u64),
}

/// The row of the group `keys`.
pub fn row(
    question: &Question,
    keys: Vec<Option<String>>,
    members: &Members,
    reported: Option<&Reported>,
) -> Row {
    let (value, numerator, denominator) = match (question.rule, reported.map(|r| &r.amount)) {
        (Rule::ProjectField, _) => (
            (members.projects > 0).then(|| Decimal::from_i128_with_scale(members.field, 0)),
            None,
            None,
        ),
        (_, None) => (None, None, None),
        (_, Some(Amount::Total(total))) => (Some(from_scaled_sum(*total)), None, None),
        (_, Some(Amount::Distinct(count))) => (Some(Decimal::from(*count)), None, None),
        (
            rule,
            Some(Amount::Ratio {
                numerator,
                denominator,
            }),
        ) => {
            let percent = matches!(rule, Rule::Ratio { percent: true });
            let (numerator, denominator) =
                (from_scaled_sum(*numerator), from_scaled_sum(*denominator));
            let share = (!denominator.is_zero()).then(|| {
                let share = numerator / denominator;
                let share = if percent {
                    share * Decimal::ONE_HUNDRED
                } else {
                    share
                };
                share
                    .round_dp_with_strategy(
                        question.decimals,
                        RoundingStrategy::MidpointAwayFromZero,
                    )
                    .normalize()
            });
            (share, Some(numerator), Some(denominator))
        }
    };
    let reporting_projects = match question.rule {
        Rule::ProjectField => members.projects,
        _ => reported.map_or(0, |r| r.projects),
    };
    let target = members.target.map(from_scaled_sum);
    let per = |figure: Option<Decimal>| per_member(question, members, figure);
    Row {
        keys,
        value: per(value),
        numerator,
        denominator,
        target: per(target),
        // Of the totals: a value and its target divided by the same members keep their share.
        target_share: value.and_then(|value| percent_of(value, target?)),
        reporting_share: percent_of(
            Decimal::from(reporting_projects),
            Decimal::from(members.projects),
        ),
        projects: members.projects,
        reporting_projects,
    }
}

/// `part` as a percentage of `whole`, rounded half away from zero to `SHARE_PLACES`; none
/// when the whole is zero.
fn percent_of(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        return None;
    }
    Some(
        (part.checked_mul(Decimal::ONE_HUNDRED)?.checked_div(whole)?)
            .round_dp_with_strategy(SHARE_PLACES, RoundingStrategy::MidpointAwayFromZero)
            .normalize(),
    )
}

/// A group's figure per matched project or per million kronor granted to them (none when
/// the group has no projects or no kronor granted), rounded half away from zero to two
/// places beyond the indicator's; the total as it is.
fn per_member(question: &Question, members: &Members, figure: Option<Decimal>) -> Option<Decimal> {
    let divisor = match question.per {
        Per::Total => return figure,
        Per::Project => Decimal::from(members.projects),
        // Kronor with six decimal places are millions of kronor, exactly.
        Per::GrantedMsek => Decimal::try_from_i128_with_scale(members.granted, 6).ok()?,
    };
    if divisor.is_zero() {
        return None;
    }
    Some(
        figure?
            .checked_div(divisor)?
            .round_dp_with_strategy(
                question.decimals + EXTRA_PLACES,
                RoundingStrategy::MidpointAwayFromZero,
            )
            .normalize(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::aggregate::test_support::{d, question};

    #[test]
    fn nothing_reported_is_no_value_not_zero() {
        let members = Members {
            projects: 3,
            target: Some(50_000),
            field: 0,
            granted: 0,
        };
        let row = row(&question(Rule::Sum, &[], "2026"), vec![], &members, None);
        assert_eq!(row.value, None);
        assert_eq!(row.target, Some(d("5")));
        assert_eq!((row.projects, row.reporting_projects), (3, 0));
        assert_eq!(row.target_share, None, "no value, no share of the target");
        assert_eq!(row.reporting_share, Some(d("0")));
    }

    #[test]
    fn shares_of_the_target_and_of_the_projects_reporting_are_percent_to_one_place() {
        let members = Members {
            projects: 3,
            target: Some(70_000),
            field: 0,
            granted: 1_500_000,
        };
        let reported = Reported {
            projects: 2,
            amount: Amount::Total(16_000),
        };
        let sum = question(Rule::Sum, &[], "2026");
        let total = row(&sum, vec![], &members, Some(&reported));
        // 1.6 of 7 is 22.857… %; 2 of 3 projects 66.666… %.
        assert_eq!(total.target_share, Some(d("22.9")));
        assert_eq!(total.reporting_share, Some(d("66.7")));
        let per_project = row(&per(sum, Per::Project), vec![], &members, Some(&reported));
        assert_eq!(
            (per_project.target_share, per_project.reporting_share),
            (total.target_share, total.reporting_share),
            "the same share in every measure"
        );
        let no_target = Members {
            target: Some(0),
            ..members.clone()
        };
        let row = super::row(
            &question(Rule::Sum, &[], "2026"),
            vec![],
            &no_target,
            Some(&reported),
        );
        assert_eq!(row.target_share, None, "no share of a zero target");
        let nobody = super::row(
            &question(Rule::Sum, &[], "2026"),
            vec![],
            &Members::default(),
            None,
        );
        assert_eq!(nobody.reporting_share, None, "no share of no projects");
    }

    #[test]
    fn a_share_is_rounded_only_when_printed_and_needs_a_denominator() {
        let percent = question(Rule::Ratio { percent: true }, &[], "2026");
        let reported = |numerator, denominator| Reported {
            projects: 1,
            amount: Amount::Ratio {
                numerator,
                denominator,
            },
        };
        let third = row(
            &percent,
            vec![],
            &Members::default(),
            Some(&reported(10_000, 30_000)),
        );
        assert_eq!(third.value, Some(d("33.3")));
        assert_eq!(
            (third.numerator, third.denominator),
            (Some(d("1")), Some(d("3")))
        );
        let zero = row(&percent, vec![], &Members::default(), Some(&reported(0, 0)));
        assert_eq!(zero.value, None, "no share of nothing");
        let fraction = question(Rule::Ratio { percent: false }, &[], "2026");
        let half = row(
            &fraction,
            vec![],
            &Members::default(),
            Some(&reported(5, 10)),
        );
        assert_eq!(half.value, Some(d("0.5")));
    }

    #[test]
    fn project_fields_are_whole_kronor_of_every_member() {
        let members = Members {
            projects: 2,
            target: None,
            field: 2_500_000,
            granted: 2_500_000,
        };
        let row = row(
            &question(Rule::ProjectField, &[], "2026"),
            vec![],
            &members,
            None,
        );
        assert_eq!(row.value, Some(d("2500000")));
        assert_eq!(row.reporting_projects, 2);
    }

    fn per(question: Question, per: Per) -> Question {
        Question { per, ..question }
    }

    #[test]
    fn per_project_divides_value_and_target_by_every_matched_project() {
        let members = Members {
            projects: 3,
            target: Some(100_000),
            field: 0,
            granted: 1_500_000,
        };
        let reported = Reported {
            projects: 2,
            amount: Amount::Total(500_000),
        };
        let sum = question(Rule::Sum, &[], "2026");
        let row = row(
            &per(sum.clone(), Per::Project),
            vec![],
            &members,
            Some(&reported),
        );
        // 50 over 3 projects, 10 over 3; one decimal and two more, half away from zero.
        assert_eq!(row.value, Some(d("16.667")));
        assert_eq!(row.target, Some(d("3.333")));
        assert_eq!((row.projects, row.reporting_projects), (3, 2));
        let total = super::row(&sum, vec![], &members, Some(&reported));
        assert_eq!(total.value, Some(d("50")), "the total as it is");
    }

    #[test]
    fn per_granted_msek_divides_by_the_kronor_granted_in_millions() {
        let members = Members {
            projects: 2,
            target: Some(300_000),
            field: 0,
            granted: 2_500_000,
        };
        let reported = Reported {
            projects: 2,
            amount: Amount::Total(100_000),
        };
        let per_msek = per(question(Rule::Sum, &[], "2026"), Per::GrantedMsek);
        let row = row(&per_msek, vec![], &members, Some(&reported));
        assert_eq!(row.value, Some(d("4")), "10 over 2.5 million kronor");
        assert_eq!(row.target, Some(d("12")));
        let nothing_granted = Members {
            granted: 0,
            ..members.clone()
        };
        let row = super::row(&per_msek, vec![], &nothing_granted, Some(&reported));
        assert_eq!(
            (row.value, row.target),
            (None, None),
            "no kronor, no figure"
        );
        let distinct = Reported {
            projects: 1,
            amount: Amount::Distinct(1),
        };
        let third = super::row(
            &per(question(Rule::Distinct, &[], "2026"), Per::GrantedMsek),
            vec![],
            &Members {
                granted: 3_000_000,
                ..members
            },
            Some(&distinct),
        );
        assert_eq!(third.value, Some(d("0.333")), "rounded, never a float");
    }

    #[test]
    fn a_group_without_projects_has_no_figure_per_project() {
        let reported = Reported {
            projects: 1,
            amount: Amount::Total(10_000),
        };
        let row = row(
            &per(question(Rule::Sum, &[], "2026"), Per::Project),
            vec![],
            &Members::default(),
            Some(&reported),
        );
        assert_eq!(row.value, None);
    }
}
