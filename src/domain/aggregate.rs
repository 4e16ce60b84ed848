//! How indicator values combine into national figures, computed exactly from the facts of
//! the matched projects. No I/O: the database supplies the facts.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use rust_decimal::{Decimal, RoundingStrategy};

use super::decimal::from_scaled_sum;
use super::period::PeriodId;

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
}

pub const SEXES: [&str; 3] = ["kvinnor", "man", "ej_angivet"];

/// The periods asked for: one period or a range, in half-years, and whether `group_by=period`
/// gives years or half-years.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodSpan {
    pub half_years: Vec<PeriodId>,
    /// Years when both ends are years (`2026`, `2022..2026`), otherwise half-years.
    pub by_year: bool,
}

impl PeriodSpan {
    /// Parses `YYYY`, `YYYYH1`, `YYYYH2` or a range `A..B` of those, B not before A.
    pub fn parse(text: &str) -> Option<PeriodSpan> {
        let (first, last) = match text.split_once("..") {
            Some((a, b)) => (PeriodId::parse(a)?, PeriodId::parse(b)?),
            None => {
                let one = PeriodId::parse(text)?;
                (one, one)
            }
        };
        let start = first.half_years()[0];
        let end = *last.half_years().last().expect("a period has half-years");
        if end < start {
            return None;
        }
        let mut half_years = Vec::new();
        let mut current = start;
        while current <= end {
            half_years.push(current);
            current = match current {
                PeriodId::HalfYear { year, half: 1 } => PeriodId::HalfYear { year, half: 2 },
                PeriodId::HalfYear { year, .. } => PeriodId::HalfYear {
                    year: year + 1,
                    half: 1,
                },
                PeriodId::Year(_) => unreachable!("half-years only"),
            };
        }
        let by_year = matches!(first, PeriodId::Year(_)) && matches!(last, PeriodId::Year(_));
        Some(PeriodSpan {
            half_years,
            by_year,
        })
    }

    pub fn start(&self) -> NaiveDate {
        self.half_years[0].start_date()
    }

    pub fn end(&self) -> NaiveDate {
        self.half_years[self.half_years.len() - 1].end_date()
    }

    /// The `period` group a half-year falls in.
    fn bucket(&self, half_year: PeriodId) -> PeriodId {
        if self.by_year {
            PeriodId::Year(half_year.year())
        } else {
            half_year
        }
    }

    /// The `period` groups of the span, in order.
    pub fn buckets(&self) -> Vec<PeriodId> {
        let mut buckets: Vec<PeriodId> = self.half_years.iter().map(|h| self.bucket(*h)).collect();
        buckets.dedup();
        buckets
    }
}

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

impl GroupBy {
    /// Whether the dimension is a property of the project (not the period or the sex).
    pub fn is_project_attribute(self) -> bool {
        !matches!(self, GroupBy::Period | GroupBy::Sex)
    }
}

/// The matched projects of one group, counted by the database: how many are active, the
/// sum of their targets for the indicator, and the sum of the project field of a
/// `ProjectField` rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The group's project attributes, in `group_by` order (period and sex left out).
    pub attributes: Vec<Option<String>>,
    /// The `period` group, when grouping by period.
    pub bucket: Option<PeriodId>,
    pub projects: u64,
    /// Scaled.
    pub target: Option<i128>,
    pub field: i128,
}

/// One reported value (scaled) of a matched project, as it stood at the time asked for,
/// with the project's attributes. A project in several branscher gives one fact per
/// bransch when grouping by bransch.
#[derive(Debug, Clone)]
pub struct ValueFact {
    pub attributes: Vec<Option<String>>,
    pub project_id: i64,
    pub half_year: PeriodId,
    pub value: i64,
    /// kvinnor, man, ej_angivet.
    pub parts: Option<[i64; 3]>,
    /// Normalised organisationsnummer, for distinct indicators.
    pub entities: Vec<String>,
}

/// What the aggregation is computed from.
pub struct Facts<'a> {
    /// One per group of project attributes (and period bucket).
    pub members: &'a [Membership],
    /// The same for all matched projects together.
    pub national_members: &'a Membership,
    pub values: &'a [ValueFact],
    /// For a ratio: the denominator's values.
    pub denominators: &'a [ValueFact],
}

#[derive(Debug, Clone)]
pub struct Question {
    pub rule: Rule,
    /// Decimal places of a ratio as printed.
    pub decimals: u32,
    pub group_by: Vec<GroupBy>,
    pub span: PeriodSpan,
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
    pub projects: u64,
    pub reporting_projects: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub median: Option<Decimal>,
    pub mean: Option<Decimal>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub rows: Vec<Row>,
    pub national: Row,
    pub stats: Stats,
}

/// Places kept in `mean` and `median` beyond the indicator's own.
const STAT_EXTRA_PLACES: u32 = 2;

type Key = Vec<Option<String>>;

#[derive(Default)]
struct Accumulator {
    sum: i128,
    denominator: i128,
    /// Per project: the latest half-year and its value.
    latest: HashMap<i64, (PeriodId, i64)>,
    entities: BTreeSet<String>,
    projects: u64,
    reporting: BTreeSet<i64>,
    target: Option<i128>,
    field: i128,
    /// Counted by the database (see `Tally`), beside what the facts add.
    counted_reporting: u64,
    counted_distinct: u64,
}

/// One group's values, already added up by the database: for `sum`, `ratio` and `distinct`
/// without a sex breakdown, which need no per-project facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tally {
    pub attributes: Vec<Option<String>>,
    pub bucket: Option<PeriodId>,
    /// Sum of the values (scaled); for a ratio, of the numerator.
    pub sum: i128,
    /// For a ratio: sum of the denominator (scaled).
    pub denominator: i128,
    /// For distinct: the number of distinct organisationsnummer.
    pub distinct: u64,
    /// Projects with a reported value.
    pub reporting: u64,
}

impl Tally {
    /// No values: the national tally when nothing is reported.
    pub fn empty() -> Tally {
        Tally {
            attributes: Vec::new(),
            bucket: None,
            sum: 0,
            denominator: 0,
            distinct: 0,
            reporting: 0,
        }
    }

    /// Two tallies of the same group together.
    pub fn plus(self, other: Tally) -> Tally {
        Tally {
            sum: self.sum + other.sum,
            denominator: self.denominator + other.denominator,
            distinct: self.distinct + other.distinct,
            reporting: self.reporting + other.reporting,
            ..self
        }
    }
}

/// Whether the database can add up the values: `sum`, `ratio` and `distinct` without a
/// sex breakdown.
pub fn database_can_tally(question: &Question) -> bool {
    matches!(
        question.rule,
        Rule::Sum | Rule::Ratio { .. } | Rule::Distinct
    ) && !question.group_by.contains(&GroupBy::Sex)
}

/// Aggregates values the database has added up per group (`tallies`) and for the whole
/// (`national`), with the memberships, by the question's rule.
pub fn aggregate_tallies(
    question: &Question,
    members: &[Membership],
    national_members: &Membership,
    tallies: &[Tally],
    national: &Tally,
) -> Answer {
    let tally_groups =
        |question: &Question, members: &[Membership], tallies: &[Tally]| -> Vec<Row> {
            let mut groups = member_groups(question, members);
            for tally in tallies {
                let group = groups
                    .entry(key_of(question, &tally.attributes, tally.bucket, None))
                    .or_default();
                group.sum += tally.sum;
                group.denominator += tally.denominator;
                group.counted_distinct += tally.distinct;
                group.counted_reporting += tally.reporting;
            }
            if question.group_by.is_empty() && groups.is_empty() {
                groups.insert(Vec::new(), Accumulator::default());
            }
            groups
                .into_iter()
                .map(|(key, group)| finish(key, &group, question))
                .collect()
        };
    let rows = tally_groups(question, members, tallies);
    let national_question = Question {
        group_by: Vec::new(),
        ..question.clone()
    };
    let national = tally_groups(
        &national_question,
        std::slice::from_ref(national_members),
        std::slice::from_ref(national),
    )
    .pop()
    .unwrap_or_else(|| finish(Vec::new(), &Accumulator::default(), question));
    let stats = stats(&rows, question.decimals);
    Answer {
        rows,
        national,
        stats,
    }
}

/// Aggregates the facts by the question's rule.
pub fn aggregate(question: &Question, facts: &Facts<'_>) -> Answer {
    let (values, denominators): (Cow<[ValueFact]>, Cow<[ValueFact]>) = match question.rule {
        Rule::Ratio { .. } => {
            let (above, below) = paired(facts.values, facts.denominators);
            (Cow::Owned(above), Cow::Owned(below))
        }
        _ => (
            Cow::Borrowed(facts.values),
            Cow::Borrowed(facts.denominators),
        ),
    };
    let rows = compute(question, facts.members, &values, &denominators);
    let national_question = Question {
        group_by: Vec::new(),
        ..question.clone()
    };
    let national_members = std::slice::from_ref(facts.national_members);
    // A project in several branscher has a fact per bransch; nationally it counts once.
    let national_values = once_per_project_and_half_year(&values);
    let national_denominators = once_per_project_and_half_year(&denominators);
    let national = compute(
        &national_question,
        national_members,
        &national_values,
        &national_denominators,
    )
    .pop()
    .unwrap_or_else(|| finish(Vec::new(), &Accumulator::default(), question));
    let stats = stats(&rows, question.decimals);
    Answer {
        rows,
        national,
        stats,
    }
}

fn once_per_project_and_half_year(facts: &[ValueFact]) -> Vec<ValueFact> {
    let mut seen = BTreeSet::new();
    facts
        .iter()
        .filter(|f| seen.insert((f.project_id, f.half_year)))
        .cloned()
        .collect()
}

/// A share is taken over the same units above and below the line: only the project
/// half-years that reported both the numerator and the denominator count.
fn paired(
    numerators: &[ValueFact],
    denominators: &[ValueFact],
) -> (Vec<ValueFact>, Vec<ValueFact>) {
    let keys = |facts: &[ValueFact]| -> BTreeSet<(i64, PeriodId)> {
        facts.iter().map(|f| (f.project_id, f.half_year)).collect()
    };
    let (above, below) = (keys(numerators), keys(denominators));
    let both = |f: &&ValueFact| {
        above.contains(&(f.project_id, f.half_year)) && below.contains(&(f.project_id, f.half_year))
    };
    (
        numerators.iter().filter(both).cloned().collect(),
        denominators.iter().filter(both).cloned().collect(),
    )
}

/// The group key from a group's project attributes, period bucket and sex.
fn key_of(
    question: &Question,
    attributes: &[Option<String>],
    bucket: Option<PeriodId>,
    sex: Option<usize>,
) -> Key {
    let mut attributes = attributes.iter();
    question
        .group_by
        .iter()
        .map(|dimension| match dimension {
            GroupBy::Period => bucket.map(|b| b.to_string()),
            GroupBy::Sex => sex.map(|i| SEXES[i].to_string()),
            _ => attributes.next().cloned().flatten(),
        })
        .collect()
}

fn sexes_of(question: &Question) -> Vec<Option<usize>> {
    if question.group_by.contains(&GroupBy::Sex) {
        (0..SEXES.len()).map(Some).collect()
    } else {
        vec![None]
    }
}

/// Every active matched project belongs to its groups, reported or not.
fn member_groups(question: &Question, members: &[Membership]) -> BTreeMap<Key, Accumulator> {
    let mut groups: BTreeMap<Key, Accumulator> = BTreeMap::new();
    let sexes = sexes_of(question);
    let target_applies = !question.group_by.contains(&GroupBy::Period)
        && sexes.len() == 1
        && !matches!(question.rule, Rule::Ratio { .. } | Rule::ProjectField);
    for member in members {
        for sex in &sexes {
            let group = groups
                .entry(key_of(question, &member.attributes, member.bucket, *sex))
                .or_default();
            group.projects += member.projects;
            group.field += member.field;
            if target_applies {
                group.target = member.target;
            }
        }
    }
    groups
}

fn compute(
    question: &Question,
    members: &[Membership],
    values: &[ValueFact],
    denominators: &[ValueFact],
) -> Vec<Row> {
    let mut groups = member_groups(question, members);
    let with_period = question.group_by.contains(&GroupBy::Period);
    let sexes = sexes_of(question);

    for (facts, is_denominator) in [(values, false), (denominators, true)] {
        for fact in facts {
            if !question.span.half_years.contains(&fact.half_year) {
                continue;
            }
            let bucket = with_period.then(|| question.span.bucket(fact.half_year));
            for sex in &sexes {
                let amount = match (sex, fact.parts) {
                    (None, _) => fact.value,
                    (Some(i), Some(parts)) => parts[*i],
                    (Some(_), None) => continue,
                };
                let group = groups
                    .entry(key_of(question, &fact.attributes, bucket, *sex))
                    .or_default();
                group.reporting.insert(fact.project_id);
                if is_denominator {
                    group.denominator += i128::from(amount);
                    continue;
                }
                group.sum += i128::from(amount);
                group.entities.extend(fact.entities.iter().cloned());
                let latest = group
                    .latest
                    .entry(fact.project_id)
                    .or_insert((fact.half_year, amount));
                if fact.half_year >= latest.0 {
                    *latest = (fact.half_year, amount);
                }
            }
        }
    }

    if question.group_by.is_empty() && groups.is_empty() {
        groups.insert(Vec::new(), Accumulator::default());
    }
    groups
        .into_iter()
        .map(|(key, group)| finish(key, &group, question))
        .collect()
}

fn finish(keys: Key, group: &Accumulator, question: &Question) -> Row {
    let reporting = group.reporting.len() as u64 + group.counted_reporting;
    let reported = reporting > 0;
    let (value, numerator, denominator) = match question.rule {
        Rule::Sum => (reported.then(|| from_scaled_sum(group.sum)), None, None),
        Rule::Latest => {
            let total: i128 = group.latest.values().map(|(_, v)| i128::from(*v)).sum();
            (reported.then(|| from_scaled_sum(total)), None, None)
        }
        Rule::Distinct => (
            reported.then(|| Decimal::from(group.entities.len() as u64 + group.counted_distinct)),
            None,
            None,
        ),
        Rule::ProjectField => (
            (group.projects > 0).then(|| Decimal::from_i128_with_scale(group.field, 0)),
            None,
            None,
        ),
        Rule::Ratio { percent } => {
            let numerator = from_scaled_sum(group.sum);
            let denominator = from_scaled_sum(group.denominator);
            let value = (!denominator.is_zero()).then(|| {
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
            (
                value,
                reported.then_some(numerator),
                reported.then_some(denominator),
            )
        }
    };
    let reporting_projects = match question.rule {
        Rule::ProjectField => group.projects,
        _ => reporting,
    };
    Row {
        keys,
        value,
        numerator,
        denominator,
        target: group.target.map(from_scaled_sum),
        projects: group.projects,
        reporting_projects,
    }
}

fn stats(rows: &[Row], decimals: u32) -> Stats {
    let mut values: Vec<Decimal> = rows.iter().filter_map(|r| r.value).collect();
    values.sort();
    let places = decimals + STAT_EXTRA_PLACES;
    let round = |d: Decimal| {
        d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
            .normalize()
    };
    let n = values.len();
    let median = match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some(round((values[n / 2 - 1] + values[n / 2]) / Decimal::TWO)),
    };
    let mean = (n > 0).then(|| round(values.iter().sum::<Decimal>() / Decimal::from(n)));
    Stats {
        median,
        mean,
        min: values.first().copied(),
        max: values.last().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn h(text: &str) -> PeriodId {
        PeriodId::parse(text).unwrap()
    }

    fn member(attributes: &[&str], projects: u64, target: Option<i128>) -> Membership {
        Membership {
            attributes: attributes.iter().map(|a| Some(a.to_string())).collect(),
            bucket: None,
            projects,
            target,
            field: 1000 * projects as i128,
        }
    }

    fn value(project_id: i64, attributes: &[&str], half_year: &str, value: &str) -> ValueFact {
        ValueFact {
            attributes: attributes.iter().map(|a| Some(a.to_string())).collect(),
            project_id,
            half_year: h(half_year),
            value: crate::domain::decimal::to_scaled(d(value), 4).unwrap(),
            parts: None,
            entities: vec![],
        }
    }

    fn answer(
        question: &Question,
        members: &[Membership],
        national: &Membership,
        values: &[ValueFact],
        denominators: &[ValueFact],
    ) -> Answer {
        aggregate(
            question,
            &Facts {
                members,
                national_members: national,
                values,
                denominators,
            },
        )
    }

    fn question(rule: Rule, group_by: &[GroupBy], period: &str) -> Question {
        Question {
            rule,
            decimals: 1,
            group_by: group_by.to_vec(),
            span: PeriodSpan::parse(period).unwrap(),
        }
    }

    #[test]
    fn spans() {
        let year = PeriodSpan::parse("2026").unwrap();
        assert_eq!(year.half_years, vec![h("2026H1"), h("2026H2")]);
        assert!(year.by_year);
        let range = PeriodSpan::parse("2024H2..2026H1").unwrap();
        assert_eq!(range.half_years.len(), 4);
        assert!(!range.by_year);
        assert_eq!(PeriodSpan::parse("2022..2026").unwrap().buckets().len(), 5);
        assert_eq!(PeriodSpan::parse("2026H2..2026H1"), None);
        assert_eq!(PeriodSpan::parse("2026H3"), None);
        assert_eq!(PeriodSpan::parse("2026.."), None);
    }

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
                attributes: vec![],
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
                attributes: vec![None],
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
    fn stats_over_rows() {
        let members: Vec<Membership> = ["07", "08", "09", "10"]
            .iter()
            .map(|r| member(&[r], 1, None))
            .collect();
        let national = member(&[], 4, None);
        let values = [
            value(1, &["07"], "2026H1", "1"),
            value(2, &["08"], "2026H1", "2"),
            value(3, &["09"], "2026H1", "4"),
            value(4, &["10"], "2026H1", "10"),
        ];
        let result = answer(
            &question(Rule::Sum, &[GroupBy::Region], "2026H1"),
            &members,
            &national,
            &values,
            &[],
        );
        assert_eq!(
            result.stats,
            Stats {
                median: Some(d("3")),
                mean: Some(d("4.25")),
                min: Some(d("1")),
                max: Some(d("10"))
            }
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

    #[test]
    fn tallies_from_the_database_give_the_same_rows() {
        let members = [member(&["07"], 2, Some(50_000)), member(&["08"], 1, None)];
        let national_members = member(&[], 3, Some(50_000));
        let tally =
            |region: &[&str], sum: i128, denominator: i128, distinct: u64, reporting: u64| Tally {
                attributes: region.iter().map(|r| Some(r.to_string())).collect(),
                bucket: None,
                sum,
                denominator,
                distinct,
                reporting,
            };
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
        let ratio = question(Rule::Ratio { percent: true }, &[GroupBy::Region], "2026");
        let shares = [tally(&["07"], 10_000, 100_000, 0, 1)];
        let result = aggregate_tallies(
            &ratio,
            &members,
            &national_members,
            &shares,
            &tally(&[], 10_000, 100_000, 0, 1),
        );
        assert_eq!(result.rows[0].value, Some(d("10")));
        assert_eq!(result.rows[1].value, None, "Kalmar reported nothing");
        let distinct = question(Rule::Distinct, &[GroupBy::Region], "2026");
        let firms = [tally(&["07"], 0, 0, 2, 1), tally(&["08"], 0, 0, 2, 1)];
        let result = aggregate_tallies(
            &distinct,
            &members,
            &national_members,
            &firms,
            &tally(&[], 0, 0, 3, 2),
        );
        assert_eq!(
            result.national.value,
            Some(d("3")),
            "the national count is the database's, not 2 + 2"
        );
        assert!(database_can_tally(&distinct));
        assert!(!database_can_tally(&question(Rule::Latest, &[], "2026")));
        assert!(!database_can_tally(&question(
            Rule::Sum,
            &[GroupBy::Sex],
            "2026"
        )));
    }
}
