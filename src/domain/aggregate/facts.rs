//! What the database supplies: the matched projects per group (memberships), and either
//! the values one by one (value facts) or already added up per group (tallies).

use std::sync::Arc;

use crate::domain::period::PeriodId;

/// The matched projects of one group, counted by the database: how many are active, the
/// sum of their targets for the indicator, the sum of the project field of a
/// `ProjectField` rule, and the kronor granted to them.
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
    /// Whole kronor.
    pub granted: i128,
}

/// One reported value (scaled) of a matched project, as it stood at the time asked for,
/// with the project's attributes. A project in several branscher gives one fact per
/// bransch when grouping by bransch.
#[derive(Debug, Clone)]
pub struct ValueFact {
    /// Shared by the facts of one group, which are many.
    pub attributes: Arc<[Option<String>]>,
    pub project_id: i64,
    pub half_year: PeriodId,
    pub value: i64,
    /// kvinnor, man, ej_angivet.
    pub parts: Option<[i64; 3]>,
    /// Normalised organisationsnummer, for distinct indicators.
    pub entities: Vec<String>,
}

/// What the value-by-value path is computed from.
pub struct Facts<'a> {
    /// One per group of project attributes (and period bucket).
    pub members: &'a [Membership],
    /// The same for all matched projects together.
    pub national_members: &'a Membership,
    pub values: &'a [ValueFact],
    /// For a ratio: the denominator's values.
    pub denominators: &'a [ValueFact],
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

    /// Two tallies of the same group together: a distinct count from the enterprises and
    /// the reporting projects from the values, say.
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
