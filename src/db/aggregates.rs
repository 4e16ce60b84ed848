//! The facts aggregates are computed from, counted and joined in the database: the matched
//! projects per group, and the values of one indicator with their projects' attributes, as
//! they are now or as they stood at an instant.
//!
//! The grouping varies per question, which diesel's typed queries cannot express, so the SQL
//! is written here; its column names come from fixed lists, and every value in it is a bound
//! parameter (`binds`).

use std::collections::{BTreeMap, HashMap};

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::DbConnection;
use super::binds::Binds;
use crate::domain::aggregate::facts::{Membership, Tally, ValueFact};
use crate::domain::aggregate::question::GroupBy;
use crate::domain::period::PeriodId;

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
}

/// The project field a derived indicator sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectField {
    GrantedSek,
    TotalBudgetSek,
}

impl ProjectField {
    fn column(self) -> &'static str {
        match self {
            ProjectField::GrantedSek => "p.granted_sek",
            ProjectField::TotalBudgetSek => "p.total_budget_sek",
        }
    }
}

/// The project attributes to group by, as SQL expressions, in `group_by` order; bransch
/// comes from the joined `project_codes` row `c`.
fn attribute_columns(group_by: &[GroupBy]) -> Vec<&'static str> {
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
fn select_attributes(columns: &[&str]) -> String {
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

/// The rows of a versioned table current at `version`.
fn current_at(version: i64, binds: &mut Binds) -> String {
    let version = binds.big_int(version);
    format!("valid_from <= {version} AND (valid_to IS NULL OR valid_to > {version})")
}

/// The projects (`projects`' columns that figures use), as they are or as they stood.
fn projects_source(filter: &ProjectFilter, binds: &mut Binds) -> String {
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
fn codes_source(filter: &ProjectFilter, binds: &mut Binds) -> String {
    match filter.version {
        None => "project_codes".to_string(),
        Some(version) => format!(
            "(SELECT project_id, dimension, code FROM project_code_history WHERE {})",
            current_at(version, binds)
        ),
    }
}

/// The projects' plans (baselines and targets), as they are or as they stood.
fn plans_source(filter: &ProjectFilter, binds: &mut Binds) -> String {
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
fn bransch_join(group_by: &[GroupBy], filter: &ProjectFilter, binds: &mut Binds) -> String {
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
fn project_conditions(filter: &ProjectFilter, binds: &mut Binds) -> String {
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
struct AttributeColumns {
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
    fn take(self, count: usize) -> Vec<Option<String>> {
        [self.k0, self.k1, self.k2, self.k3, self.k4, self.k5]
            .into_iter()
            .take(count)
            .collect()
    }
}

#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(embed)]
    keys: AttributeColumns,
    /// Indexes into the buckets asked for; 0 and 0 without periods.
    #[diesel(sql_type = BigInt)]
    first_bucket: i64,
    #[diesel(sql_type = BigInt)]
    last_bucket: i64,
    #[diesel(sql_type = BigInt)]
    projects: i64,
    #[diesel(sql_type = Nullable<Text>)]
    target_high: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    target_low: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    field_high: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    field_low: Option<String>,
}

/// Where a sum is split: every stored amount is below 2^63, so the sums of its parts above
/// and below this stay below 2^63 for up to a billion rows.
const SPLIT: i128 = 1_000_000_000;

/// The sum of `expression` (non-negative) as two columns, `{alias}_high` and
/// `{alias}_low`, that cannot overflow: SQLite's SUM of integers fails past 64 bits, and ten
/// values at the validation bound already pass it. `joined_sum` adds them in 128 bits.
fn split_sum(expression: &str, alias: &str) -> String {
    format!(
        "CAST(SUM(({expression}) / {SPLIT}) AS TEXT) AS {alias}_high, \
         CAST(SUM(({expression}) % {SPLIT}) AS TEXT) AS {alias}_low"
    )
}

/// The sum that `split_sum` selected; `None` when there was nothing to add.
fn joined_sum(high: Option<String>, low: Option<String>) -> QueryResult<Option<i128>> {
    match (parse_sum(high)?, parse_sum(low)?) {
        (Some(high), Some(low)) => Ok(Some(high * SPLIT + low)),
        _ => Ok(None),
    }
}

/// A sum the database gave as text (PostgreSQL's SUM of bigints is a numeric, wider than
/// 64 bits); text that is no whole number is an error, never a zero.
fn parse_sum(text: Option<String>) -> QueryResult<Option<i128>> {
    text.map(|text| {
        text.parse().map_err(|_| {
            diesel::result::Error::DeserializationError(
                format!("a sum that is not a whole number: '{text}'").into(),
            )
        })
    })
    .transpose()
}

/// The matched projects counted per group (each row of the join is one project in one
/// group: project_indicators has one row per project and indicator, project_codes one per
/// project and bransch) of `group_by`'s project attributes, and per
/// period bucket when grouping by period, with their targets for `target_indicator` and
/// the sum of `field`. With an empty `group_by`, the national count.
pub fn memberships(
    conn: &mut DbConnection,
    filter: &ProjectFilter,
    group_by: &[GroupBy],
    buckets: &[PeriodId],
    target_indicator: &str,
    field: Option<ProjectField>,
) -> QueryResult<Vec<Membership>> {
    let columns = attribute_columns(group_by);
    let by_period = group_by.contains(&GroupBy::Period);
    let (start, end) = filter.active_between;
    let mut binds = Binds::for_connection(conn);
    // With periods, each project is counted once with the first and the last of the
    // (ordered, adjoining) buckets it is active in, and spread over the buckets between
    // here: one pass over the projects instead of one per bucket.
    let (first_bucket, last_bucket) = if by_period {
        let mut count_of = |condition: &dyn Fn(&mut Binds, &PeriodId) -> String| {
            buckets
                .iter()
                .map(|b| format!("CASE WHEN {} THEN 1 ELSE 0 END", condition(&mut binds, b)))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let before = count_of(&|binds, b| format!("p.start_date > {}", binds.date(b.end_date())));
        let reached = count_of(&|binds, b| format!("p.end_date >= {}", binds.date(b.start_date())));
        (before, format!("{reached} - 1"))
    } else {
        ("0".to_string(), "0".to_string())
    };
    let mut group_columns: Vec<&str> = columns.clone();
    if by_period {
        group_columns.extend(["first_bucket", "last_bucket"]);
    }
    let sql = format!(
        "SELECT {attributes}, CAST({first_bucket} AS BIGINT) AS first_bucket, \
         CAST({last_bucket} AS BIGINT) AS last_bucket, \
         COUNT(*) AS projects, {target}, {field} \
         FROM {projects} p{bransch} \
         LEFT JOIN {plans} i ON i.project_id = p.id AND i.indicator = {indicator} \
         WHERE p.start_date <= {end} AND p.end_date >= {start}{conditions}{group}",
        attributes = select_attributes(&columns),
        target = split_sum("i.target", "target"),
        field = split_sum(field.map_or("0", ProjectField::column), "field"),
        projects = projects_source(filter, &mut binds),
        plans = plans_source(filter, &mut binds),
        bransch = bransch_join(group_by, filter, &mut binds),
        indicator = binds.text(target_indicator),
        end = binds.date(end),
        start = binds.date(start),
        conditions = project_conditions(filter, &mut binds),
        group = if group_columns.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {}", group_columns.join(", "))
        },
    );
    let rows: Vec<MemberRow> = binds.load(conn, sql)?;
    let rows = rows
        .into_iter()
        .filter(|row| row.projects > 0 || columns.is_empty());
    if !by_period {
        return rows
            .map(|row| {
                Ok(Membership {
                    attributes: row.keys.take(columns.len()),
                    bucket: None,
                    projects: row.projects as u64,
                    target: joined_sum(row.target_high, row.target_low)?,
                    field: joined_sum(row.field_high, row.field_low)?.unwrap_or(0),
                })
            })
            .collect();
    }
    let mut spread: BTreeMap<(Vec<Option<String>>, usize), Membership> = BTreeMap::new();
    for row in rows {
        let attributes = row.keys.take(columns.len());
        let target = joined_sum(row.target_high, row.target_low)?;
        let field = joined_sum(row.field_high, row.field_low)?.unwrap_or(0);
        let (Ok(first), Ok(last)) = (
            usize::try_from(row.first_bucket),
            usize::try_from(row.last_bucket),
        ) else {
            continue;
        };
        for (index, bucket) in buckets.iter().enumerate().take(last + 1).skip(first) {
            let membership = spread
                .entry((attributes.clone(), index))
                .or_insert_with(|| Membership {
                    attributes: attributes.clone(),
                    bucket: Some(*bucket),
                    projects: 0,
                    target: None,
                    field: 0,
                });
            membership.projects += row.projects as u64;
            membership.target = match (membership.target, target) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            membership.field += field;
        }
    }
    Ok(spread.into_values().collect())
}

#[derive(QueryableByName)]
struct FactRow {
    #[diesel(embed)]
    keys: AttributeColumns,
    #[diesel(sql_type = BigInt)]
    project_id: i64,
    #[diesel(sql_type = Text)]
    period: String,
    #[diesel(sql_type = BigInt)]
    value: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    kvinnor: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    man: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    ej_angivet: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    entities: Option<String>,
}

fn period_ids(half_years: &[PeriodId]) -> Vec<String> {
    half_years.iter().map(|h| h.to_string()).collect()
}

fn parts(kvinnor: Option<i64>, man: Option<i64>, ej_angivet: Option<i64>) -> Option<[i64; 3]> {
    Some([kvinnor?, man?, ej_angivet?])
}

/// The values of `indicator` in these half-years for the matched projects, with the
/// projects' attributes for `group_by`: the current values, or with `as_of` the last
/// revision made by then. Enterprises are attached when `with_entities`.
pub fn values(
    conn: &mut DbConnection,
    filter: &ProjectFilter,
    group_by: &[GroupBy],
    indicator: &str,
    half_years: &[PeriodId],
    with_entities: bool,
) -> QueryResult<Vec<ValueFact>> {
    let columns = attribute_columns(group_by);
    let mut binds = Binds::for_connection(conn);
    let indicator_value = binds.text(indicator);
    let periods = binds.texts(&period_ids(half_years));
    let source = match filter.version {
        None => format!(
            "SELECT v.project_id, v.period, v.value, v.kvinnor, v.man, v.ej_angivet, CAST(NULL AS TEXT) AS entities \
             FROM indicator_values v WHERE v.indicator = {indicator_value} AND v.period IN ({periods})"
        ),
        // The last revision per value made by then.
        Some(version) => format!(
            "SELECT r.project_id, r.period, r.new_value AS value, r.new_kvinnor AS kvinnor, r.new_man AS man, \
             r.new_ej_angivet AS ej_angivet, r.new_entities AS entities FROM value_revisions r \
             WHERE r.id IN (SELECT MAX(l.id) FROM value_revisions l WHERE l.indicator = {indicator_value} \
             AND l.period IN ({periods}) AND l.version <= {version} GROUP BY l.project_id, l.period)",
            version = binds.big_int(version)
        ),
    };
    let sql = format!(
        "SELECT {attributes}, f.project_id, f.period, f.value, f.kvinnor, f.man, f.ej_angivet, f.entities \
         FROM ({source}) f JOIN {projects} p ON p.id = f.project_id{bransch} WHERE 1 = 1{conditions}",
        projects = projects_source(filter, &mut binds),
        attributes = select_attributes(&columns),
        bransch = bransch_join(group_by, filter, &mut binds),
        conditions = project_conditions(filter, &mut binds),
    );
    let rows: Vec<FactRow> = binds.load(conn, sql)?;
    let mut current_entities: HashMap<(i64, String), Vec<String>> = HashMap::new();
    if with_entities && filter.version.is_none() {
        let found: Vec<(i64, String, String)> = super::schema::value_entities::table
            .filter(super::schema::value_entities::indicator.eq(indicator))
            .filter(super::schema::value_entities::period.eq_any(period_ids(half_years)))
            .select((
                super::schema::value_entities::project_id,
                super::schema::value_entities::period,
                super::schema::value_entities::orgnr,
            ))
            .load(conn)?;
        for (project_id, period, orgnr) in found {
            current_entities
                .entry((project_id, period))
                .or_default()
                .push(orgnr);
        }
    }
    let mut facts = Vec::with_capacity(rows.len());
    for row in rows {
        let Some(half_year) = PeriodId::parse(&row.period) else {
            continue;
        };
        let entities = match row.entities {
            Some(json) if with_entities => serde_json::from_str(&json)
                .map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))?,
            _ => current_entities
                .get(&(row.project_id, row.period.clone()))
                .cloned()
                .unwrap_or_default(),
        };
        facts.push(ValueFact {
            attributes: row.keys.take(columns.len()),
            project_id: row.project_id,
            half_year,
            value: row.value,
            parts: parts(row.kvinnor, row.man, row.ej_angivet),
            entities,
        });
    }
    Ok(facts)
}

/// What the database adds up per group.
#[derive(Debug, Clone, Copy)]
pub enum TallyOf<'a> {
    Sum(&'a str),
    Ratio {
        numerator: &'a str,
        denominator: &'a str,
    },
    Distinct(&'a str),
}

#[derive(QueryableByName)]
struct TallyRow {
    #[diesel(embed)]
    keys: AttributeColumns,
    #[diesel(sql_type = Nullable<Text>)]
    bucket: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    total_high: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    total_low: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    below_high: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    below_low: Option<String>,
    #[diesel(sql_type = BigInt)]
    counted: i64,
    #[diesel(sql_type = BigInt)]
    reporting: i64,
}

/// The current values added up per group of `group_by` (without sex): per `period` bucket
/// when grouping by period (years when `by_year`). With an empty `group_by`, the national
/// tally, one row.
pub fn tallies(
    conn: &mut DbConnection,
    filter: &ProjectFilter,
    group_by: &[GroupBy],
    of: TallyOf<'_>,
    half_years: &[PeriodId],
    by_year: bool,
) -> QueryResult<Vec<Tally>> {
    let columns = attribute_columns(group_by);
    let mut binds = Binds::for_connection(conn);
    let nothing = "CAST(NULL AS TEXT)";
    let (from, indicator, measures) = match of {
        TallyOf::Sum(code) => (
            "indicator_values v".to_string(),
            code,
            format!(
                "{total}, {nothing} AS below_high, {nothing} AS below_low, CAST(0 AS BIGINT) AS counted, \
                 COUNT(DISTINCT v.project_id) AS reporting",
                total = split_sum("v.value", "total"),
            ),
        ),
        // Only the project half-years that reported both parts: the join.
        TallyOf::Ratio {
            numerator,
            denominator,
        } => (
            format!(
                "indicator_values v JOIN indicator_values d ON d.project_id = v.project_id AND d.period = v.period \
                 AND d.indicator = {}",
                binds.text(denominator),
            ),
            numerator,
            format!(
                "{total}, {below}, CAST(0 AS BIGINT) AS counted, COUNT(DISTINCT v.project_id) AS reporting",
                total = split_sum("v.value", "total"),
                below = split_sum("d.value", "below"),
            ),
        ),
        // A value may list no enterprise (a reported zero): the projects reporting are
        // counted from the values, by a `Sum` tally.
        TallyOf::Distinct(code) => (
            "value_entities v".to_string(),
            code,
            format!(
                "{nothing} AS total_high, {nothing} AS total_low, {nothing} AS below_high, \
                 {nothing} AS below_low, COUNT(DISTINCT v.orgnr) AS counted, CAST(0 AS BIGINT) AS reporting"
            ),
        ),
    };
    let indicator = binds.text(indicator);
    let periods = binds.texts(&period_ids(half_years));
    let conditions = project_conditions(filter, &mut binds);
    // The projects are read only when grouped or filtered by their attributes: the foreign
    // key already says every value has its project.
    let projects = if columns.is_empty() && conditions.is_empty() {
        ""
    } else {
        " JOIN projects p ON p.id = v.project_id"
    };
    let by_period = group_by.contains(&GroupBy::Period);
    let bucket = match (by_period, by_year) {
        (false, _) => "CAST(NULL AS TEXT)",
        (true, true) => "SUBSTR(v.period, 1, 4)",
        (true, false) => "v.period",
    };
    let mut group_columns: Vec<&str> = columns.clone();
    if by_period {
        group_columns.push(bucket);
    }
    let sql = format!(
        "SELECT {attributes}, {bucket} AS bucket, {measures} \
         FROM {from}{projects}{bransch} WHERE v.indicator = {indicator} AND v.period IN ({periods}){conditions}{group}",
        attributes = select_attributes(&columns),
        bransch = bransch_join(group_by, filter, &mut binds),
        group = if group_columns.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {}", group_columns.join(", "))
        },
    );
    let rows: Vec<TallyRow> = binds.load(conn, sql)?;
    rows.into_iter()
        .filter(|row| row.reporting > 0 || row.counted > 0)
        .map(|row| {
            Ok(Tally {
                attributes: row.keys.take(columns.len()),
                bucket: row.bucket.as_deref().and_then(PeriodId::parse),
                sum: joined_sum(row.total_high, row.total_low)?.unwrap_or(0),
                denominator: joined_sum(row.below_high, row.below_low)?.unwrap_or(0),
                distinct: row.counted as u64,
                reporting: row.reporting as u64,
            })
        })
        .collect()
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
