//! The facts aggregates are computed from, counted and joined in the database: the matched
//! projects per group, and the values of one indicator with their projects' attributes, as
//! they are now or as they stood at an instant.
//!
//! The grouping varies per question, which diesel's typed queries cannot express, so the SQL
//! is written here; its column names come from fixed lists, and every value in it is a bound
//! parameter (`binds`).

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};

use super::binds::Binds;
use crate::domain::aggregate::question::GroupBy;
use crate::domain::period::PeriodId;

mod memberships;
mod tallies;
mod values;

pub use memberships::memberships;
pub use tallies::{TallyOf, tallies};
pub use values::values;

/// Which projects an aggregate covers. Empty lists do not filter.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    pub regions: Vec<String>,
    pub sakomraden: Vec<String>,
    pub fokusomraden: Vec<String>,
    pub effektkedjor: Vec<String>,
    pub branscher: Vec<String>,
    pub project_types: Vec<String>,
    /// Only projects whose dates overlap this span.
    pub active_between: (NaiveDate, NaiveDate),
    /// The projects, plans and values as they stood at this data version; `None`: as they
    /// are.
    pub version: Option<i64>,
    /// Only these reports (region, half-year) count, the accepted ones: their values, and
    /// a project (with its target and project fields) only in the half-years whose report of
    /// its region is among them. `None`: everything counts.
    pub accepted_reports: Option<Vec<(String, PeriodId)>>,
}

/// The project field a derived indicator sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectField {
    GrantedSek,
    TotalBudgetSek,
}

impl ProjectField {
    pub(super) fn column(self) -> &'static str {
        match self {
            ProjectField::GrantedSek => "p.granted_sek",
            ProjectField::TotalBudgetSek => "p.total_budget_sek",
        }
    }
}

/// The project attributes to group by, as SQL expressions, in `group_by` order; bransch
/// comes from the joined `project_codes` row `c`.
pub(super) fn attribute_columns(group_by: &[GroupBy]) -> Vec<&'static str> {
    group_by
        .iter()
        .filter(|g| g.is_project_attribute())
        .map(|g| match g {
            GroupBy::Region => "p.region",
            GroupBy::Sakomrade => "p.sakomrade",
            GroupBy::Fokusomrade => "p.fokusomrade",
            GroupBy::Effektkedja => "p.effektkedja",
            GroupBy::ProjectType => "p.project_type",
            GroupBy::Bransch => "c.code",
            GroupBy::Period | GroupBy::Sex => unreachable!("not a project attribute"),
        })
        .collect()
}

/// The six attribute columns every query selects (`k0` … `k5`), NULL where unused.
pub(super) fn select_attributes(columns: &[&str]) -> String {
    (0..6)
        .map(|i| {
            format!(
                "{} AS k{i}",
                columns.get(i).copied().unwrap_or("CAST(NULL AS TEXT)")
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The condition that a value, whose half-year is `period_column`, belongs to an accepted
/// report; nothing when every value counts.
pub(super) fn accepted_condition(
    filter: &ProjectFilter,
    period_column: &str,
    binds: &mut Binds,
) -> String {
    match &filter.accepted_reports {
        None => String::new(),
        Some(accepted) if accepted.is_empty() => " AND 1 = 0".to_string(),
        Some(accepted) => {
            let reports: Vec<String> = accepted
                .iter()
                .map(|(region, half_year)| format!("{region}:{half_year}"))
                .collect();
            format!(
                " AND p.region || ':' || {period_column} IN ({})",
                binds.texts(&reports)
            )
        }
    }
}

/// The condition that the project `p` is dated into one of `half_years` whose report of
/// its region is accepted (`ProjectFilter::accepted_reports`).
pub(super) fn dated_into_accepted(
    accepted: &[(String, PeriodId)],
    half_years: &[PeriodId],
    binds: &mut Binds,
) -> String {
    let mut clauses = Vec::new();
    for half_year in half_years {
        let regions: Vec<String> = accepted
            .iter()
            .filter(|(_, accepted)| accepted == half_year)
            .map(|(region, _)| region.clone())
            .collect();
        if !regions.is_empty() {
            clauses.push(format!(
                "(p.start_date <= {} AND p.end_date >= {} AND p.region IN ({}))",
                binds.date(half_year.end_date()),
                binds.date(half_year.start_date()),
                binds.texts(&regions)
            ));
        }
    }
    if clauses.is_empty() {
        "1 = 0".to_string()
    } else {
        format!("({})", clauses.join(" OR "))
    }
}

/// The rows of a versioned table current at `version`.
pub(super) fn current_at(version: i64, binds: &mut Binds) -> String {
    let version = binds.big_int(version);
    format!("valid_from <= {version} AND (valid_to IS NULL OR valid_to > {version})")
}

/// The projects (`projects`' columns that figures use), as they are or as they stood.
pub(super) fn projects_source(filter: &ProjectFilter, binds: &mut Binds) -> String {
    match filter.version {
        None => "projects".to_string(),
        Some(version) => format!(
            "(SELECT project_id AS id, region, project_type, sakomrade, fokusomrade, effektkedja, \
             start_date, end_date, granted_sek, total_budget_sek FROM project_history WHERE {})",
            current_at(version, binds)
        ),
    }
}

/// The projects' branscher, verktyg and syften, as they are or as they stood.
pub(super) fn codes_source(filter: &ProjectFilter, binds: &mut Binds) -> String {
    match filter.version {
        None => "project_codes".to_string(),
        Some(version) => format!(
            "(SELECT project_id, dimension, code FROM project_code_history WHERE {})",
            current_at(version, binds)
        ),
    }
}

/// The projects' plans (baselines and targets), as they are or as they stood.
pub(super) fn plans_source(filter: &ProjectFilter, binds: &mut Binds) -> String {
    match filter.version {
        None => "project_indicators".to_string(),
        Some(version) => format!(
            "(SELECT project_id, indicator, target FROM project_indicator_history WHERE {})",
            current_at(version, binds)
        ),
    }
}

/// The join of the bransch rows `c` when grouping by bransch; when the question also
/// filters by bransch, only the asked branscher are rows.
pub(super) fn bransch_join(
    group_by: &[GroupBy],
    filter: &ProjectFilter,
    binds: &mut Binds,
) -> String {
    if !group_by.contains(&GroupBy::Bransch) {
        return String::new();
    }
    let only_asked = if filter.branscher.is_empty() {
        String::new()
    } else {
        format!(" AND c.code IN ({})", binds.texts(&filter.branscher))
    };
    format!(
        " LEFT JOIN {codes} c ON c.project_id = p.id AND c.dimension = 'bransch'{only_asked}",
        codes = codes_source(filter, binds)
    )
}

/// The WHERE conditions on the project `p`.
pub(super) fn project_conditions(filter: &ProjectFilter, binds: &mut Binds) -> String {
    let mut conditions = String::new();
    for (column, codes) in [
        ("p.region", &filter.regions),
        ("p.sakomrade", &filter.sakomraden),
        ("p.fokusomrade", &filter.fokusomraden),
        ("p.effektkedja", &filter.effektkedjor),
        ("p.project_type", &filter.project_types),
    ] {
        if !codes.is_empty() {
            conditions.push_str(&format!(" AND {column} IN ({})", binds.texts(codes)));
        }
    }
    if !filter.branscher.is_empty() {
        conditions.push_str(&format!(
            " AND p.id IN (SELECT b.project_id FROM {codes} b WHERE b.dimension = 'bransch' AND b.code IN ({asked}))",
            codes = codes_source(filter, binds),
            asked = binds.texts(&filter.branscher)
        ));
    }
    conditions
}

/// The six attribute columns `k0` … `k5` every aggregate query selects.
#[derive(QueryableByName)]
pub(super) struct AttributeColumns {
    #[diesel(sql_type = Nullable<Text>)]
    k0: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k1: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k2: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k3: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k4: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    k5: Option<String>,
}

impl AttributeColumns {
    /// The first `count` columns: the grouped attributes.
    pub(super) fn take(self, count: usize) -> Vec<Option<String>> {
        [self.k0, self.k1, self.k2, self.k3, self.k4, self.k5]
            .into_iter()
            .take(count)
            .collect()
    }
}

/// Where a sum is split: every stored amount is below 2^63, so the sums of its parts above
/// and below this stay below 2^63 for up to a billion rows.
pub(super) const SPLIT: i128 = 1_000_000_000;

/// The sum of `expression` (non-negative) as two columns, `{alias}_high` and
/// `{alias}_low`, that cannot overflow: SQLite's SUM of integers fails past 64 bits, and ten
/// values at the validation bound already pass it. `joined_sum` adds them in 128 bits.
pub(super) fn split_sum(expression: &str, alias: &str) -> String {
    format!(
        "CAST(SUM(({expression}) / {SPLIT}) AS TEXT) AS {alias}_high, \
         CAST(SUM(({expression}) % {SPLIT}) AS TEXT) AS {alias}_low"
    )
}

/// The sum that `split_sum` selected; `None` when there was nothing to add.
pub(super) fn joined_sum(high: Option<String>, low: Option<String>) -> QueryResult<Option<i128>> {
    match (parse_sum(high)?, parse_sum(low)?) {
        (Some(high), Some(low)) => Ok(Some(high * SPLIT + low)),
        _ => Ok(None),
    }
}

/// A sum the database gave as text (PostgreSQL's SUM of bigints is a numeric, wider than
/// 64 bits); text that is no whole number is an error, never a zero.
pub(super) fn parse_sum(text: Option<String>) -> QueryResult<Option<i128>> {
    text.map(|text| {
        text.parse().map_err(|_| {
            diesel::result::Error::DeserializationError(
                format!("a sum that is not a whole number: '{text}'").into(),
            )
        })
    })
    .transpose()
}

pub(super) fn period_ids(half_years: &[PeriodId]) -> Vec<String> {
    half_years.iter().map(|h| h.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::{SPLIT, joined_sum, parse_sum};

    #[test]
    fn split_sums_join_exactly() {
        let joined = |high: &str, low: &str| joined_sum(Some(high.into()), Some(low.into()));
        assert_eq!(
            joined("10000000000", "0").unwrap(),
            Some(10_000_000_000 * SPLIT),
            "ten values of 10^18: past 64 bits"
        );
        assert_eq!(joined("1", "999999999").unwrap(), Some(1_999_999_999));
        assert_eq!(joined_sum(None, None).unwrap(), None);
    }

    #[test]
    fn sums_are_whole_numbers_or_errors() {
        assert_eq!(parse_sum(None).unwrap(), None);
        assert_eq!(
            parse_sum(Some("170141183460469231731687303715884105727".into())).unwrap(),
            Some(i128::MAX)
        );
        assert!(parse_sum(Some("12.5".into())).is_err(), "not a zero");
        assert!(parse_sum(Some(String::new())).is_err());
    }
}
