//! Answering an aggregate question: check the question against the catalogue and the code
//! lists, choose the path (added up in the database, or value by value in Rust), and keep
//! the answer until the data changes.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use diesel::QueryResult;

use crate::aggregate_index::{AggregateIndex, At, Reading};
use crate::auth::Principal;
use crate::db::aggregates::{ProjectField, ProjectFilter, TallyOf};
use crate::db::indicators::Definition;
use crate::db::{self, DbConnection};
use crate::domain::aggregate::facts::{Facts, Membership, Tally, ValueFact};
use crate::domain::aggregate::question::{GroupBy, Per, Question, Rule, SEXES};
use crate::domain::aggregate::{Row, from_facts, from_tallies, table_columns};
use crate::domain::codes::Dimension;
use crate::domain::indicator::Aggregation;
use crate::domain::period::{PeriodId, PeriodSpan};
use crate::domain::report::ReportState;
use crate::domain::validation::FieldError;
use crate::error::AppError;
use crate::state::AppState;
use crate::views::aggregates::{
    Aggregate, AggregateRow, AggregateStats, IndicatorSummary, ReportBasis, ReportCounts,
};

/// A checked aggregate question.
#[derive(Debug, Clone)]
pub struct AggregateRequest {
    pub indicator: String,
    pub period: String,
    pub span: PeriodSpan,
    pub group_by: Vec<GroupBy>,
    /// What each value and target is divided by.
    pub per: Per,
    pub regions: Vec<String>,
    /// Code-list filters; a project matches a list when it has one of its codes.
    pub filters: Vec<(Dimension, Vec<String>)>,
    pub as_of: Option<DateTime<Utc>>,
    /// Which values count.
    pub basis: ReportBasis,
    /// The most cells the answer may have (`Config::max_answer_cells`).
    pub max_cells: usize,
}

/// How many read transactions a live question begins at most while the index keeps being
/// caught up past each (by questions at newer versions); the last answers in SQL.
const INDEX_ATTEMPTS: usize = 3;

/// Answers an aggregate question from one consistent state of the database: with `as_of`,
/// as the data stood at the last version committed by then.
pub fn answer(
    conn: &mut DbConnection,
    request: &AggregateRequest,
    index: Option<&AggregateIndex>,
) -> Result<Aggregate, AppError> {
    let mut answers = answer_all(conn, std::slice::from_ref(request), request.as_of, index)?;
    Ok(answers.remove(0))
}

/// Answers `requests`, each asked as of `as_of`, from one consistent state of the database
/// (one read transaction, the index caught up once), in their order.
pub fn answer_all(
    conn: &mut DbConnection,
    requests: &[AggregateRequest],
    as_of: Option<DateTime<Utc>>,
    index: Option<&AggregateIndex>,
) -> Result<Vec<Aggregate>, AppError> {
    let mut attempt = 1;
    loop {
        let answered = db::read_transaction(conn, |conn| {
            let version = match as_of {
                Some(time) => Some(db::data_version::as_of(conn, time.naive_utc())?),
                None => None,
            };
            let source = source_at(conn, version, index)?;
            if source.is_none() && attempt < INDEX_ATTEMPTS {
                return Ok(None);
            }
            let source = source.unwrap_or(Source::Database);
            requests
                .iter()
                .map(|request| answer_from(conn, request, version, &source))
                .collect::<Result<Vec<_>, _>>()
                .map(Some)
        })?;
        if let Some(answers) = answered {
            return Ok(answers);
        }
        attempt += 1;
    }
}

/// The index at the data version the read transaction sees when it holds the data asked
/// for (the current data: `version` None or the current version), else the database.
/// `None` when the index is already past that version: a read transaction begun again
/// finds it ready.
fn source_at<'a>(
    conn: &mut DbConnection,
    version: Option<i64>,
    index: Option<&'a AggregateIndex>,
) -> QueryResult<Option<Source<'a>>> {
    let Some(index) = index else {
        return Ok(Some(Source::Database));
    };
    let current = db::data_version::current(conn)?;
    if version.is_some_and(|version| version != current) {
        return Ok(Some(Source::Database));
    }
    Ok(match index.at(conn, current)? {
        At::Ready(reading) => Some(Source::Index(reading)),
        At::Ahead => None,
        At::Off => Some(Source::Database),
    })
}

/// Where an answer's facts come from: the database's queries, or the in-memory index at
/// the data version the read transaction sees. Both give the same domain inputs.
enum Source<'a> {
    Database,
    Index(Reading<'a>),
}

impl Source<'_> {
    fn memberships(
        &self,
        conn: &mut DbConnection,
        filter: &ProjectFilter,
        group_by: &[GroupBy],
        buckets: &[PeriodId],
        target_indicator: &str,
        field: Option<ProjectField>,
    ) -> QueryResult<Vec<Membership>> {
        match self {
            Source::Database => db::aggregates::memberships(
                conn,
                filter,
                group_by,
                buckets,
                target_indicator,
                field,
            ),
            Source::Index(index) => {
                Ok(index.memberships(filter, group_by, buckets, target_indicator, field))
            }
        }
    }

    fn tallies(
        &self,
        conn: &mut DbConnection,
        filter: &ProjectFilter,
        group_by: &[GroupBy],
        of: TallyOf<'_>,
        half_years: &[PeriodId],
        by_year: bool,
    ) -> QueryResult<Vec<Tally>> {
        match self {
            Source::Database => {
                db::aggregates::tallies(conn, filter, group_by, of, half_years, by_year)
            }
            Source::Index(index) => Ok(index.tallies(filter, group_by, of, half_years, by_year)),
        }
    }

    fn values(
        &self,
        conn: &mut DbConnection,
        filter: &ProjectFilter,
        group_by: &[GroupBy],
        indicator: &str,
        half_years: &[PeriodId],
        with_entities: bool,
    ) -> QueryResult<Vec<ValueFact>> {
        match self {
            Source::Database => {
                db::aggregates::values(conn, filter, group_by, indicator, half_years, with_entities)
            }
            Source::Index(index) => {
                Ok(index.values(filter, group_by, indicator, half_years, with_entities))
            }
        }
    }
}

/// Answers an aggregate question with the data as it is (`version` None) or as it stood at
/// a data version: projects, plans, values and the catalogue alike. Run it in a read
/// transaction. The facts come from `index` when it is given and the data asked for is the
/// current data (the index holds only that); otherwise from SQL.
pub fn answer_at(
    conn: &mut DbConnection,
    request: &AggregateRequest,
    version: Option<i64>,
    index: Option<&AggregateIndex>,
) -> Result<Aggregate, AppError> {
    let source = source_at(conn, version, index)?.unwrap_or(Source::Database);
    answer_from(conn, request, version, &source)
}

fn answer_from(
    conn: &mut DbConnection,
    request: &AggregateRequest,
    version: Option<i64>,
    source: &Source<'_>,
) -> Result<Aggregate, AppError> {
    let Some(indicator) = db::indicators::definition_at(conn, &request.indicator, version)? else {
        return Err(AppError::invalid(
            "indicator",
            "unknown_indicator",
            format!("no indicator '{}'", request.indicator),
        ));
    };
    let (aggregation, rule, field) = rule_of(&indicator)?;
    check_filter_codes(conn, &request.filters)?;
    if !request.per.applies_to(rule) {
        return Err(AppError::invalid(
            "per",
            "per_not_for_ratio",
            format!(
                "{} is a ratio, already a share of its denominator: it is answered only as a total (per=total), not per {}",
                indicator.code,
                request.per.as_str()
            ),
        ));
    }
    if request.group_by.contains(&GroupBy::Sex) && !sex_applies(conn, &indicator, version)? {
        return Err(AppError::invalid(
            "group_by",
            "no_sex_breakdown",
            format!("{} is not reported by sex", indicator.code),
        ));
    }
    // A live answer is as of the instant its data version was stamped: asked again as of that
    // instant, on any instance, the question gives these figures.
    let as_of = match request.as_of {
        Some(as_of) => as_of,
        None => {
            let current = db::data_version::current(conn)?;
            db::data_version::committed_at(conn, current)?.and_utc()
        }
    };
    // The index holds the current data only: asked at the current version, it counts
    // exactly what SQL counts, and is not told apart from it.
    let version = match source {
        Source::Index(_) => None,
        Source::Database => version,
    };
    let (reports, accepted) = report_states(conn, request, version)?;
    let mut filter = project_filter(request, version);
    if request.basis == ReportBasis::Accepted {
        filter.accepted_reports = Some(accepted);
    }
    let buckets = request.span.buckets();
    let members = source.memberships(
        conn,
        &filter,
        &request.group_by,
        &buckets,
        &indicator.code,
        field,
    )?;
    // Each group of members is a row (one per sex in a sex breakdown), and the national
    // row: known here, before any value is loaded or any row made.
    let sexes = if request.group_by.contains(&GroupBy::Sex) {
        SEXES.len()
    } else {
        1
    };
    let rows = members.len().saturating_mul(sexes).saturating_add(1);
    let columns = table_columns(request.group_by.len(), aggregation == Aggregation::Ratio);
    check_cells(rows.saturating_mul(columns), request.max_cells)?;
    // Where every project falls in exactly one group, the nation is the sum of the groups;
    // otherwise (branscher, periods) it is counted on its own.
    let one_group_each = request
        .group_by
        .iter()
        .all(|g| g.is_project_attribute() && *g != GroupBy::Bransch);
    let national_members = if one_group_each {
        Membership {
            attributes: Vec::new(),
            bucket: None,
            projects: members.iter().map(|m| m.projects).sum(),
            target: members.iter().filter_map(|m| m.target).reduce(|a, b| a + b),
            field: members.iter().map(|m| m.field).sum(),
            granted: members.iter().map(|m| m.granted).sum(),
        }
    } else {
        source
            .memberships(conn, &filter, &[], &buckets, &indicator.code, field)?
            .pop()
            .ok_or_else(|| AppError::Internal("no national count".into()))?
    };
    let question = Question {
        rule,
        per: request.per,
        decimals: u32::try_from(indicator.decimals).unwrap_or(0),
        group_by: request.group_by.clone(),
        span: request.span.clone(),
    };
    let tally_of = match (&rule, &indicator.numerator, &indicator.denominator) {
        (Rule::Sum, _, _) => Some(TallyOf::Sum(&indicator.code)),
        (Rule::Distinct, _, _) => Some(TallyOf::Distinct(&indicator.code)),
        (Rule::Ratio { .. }, Some(numerator), Some(denominator)) => Some(TallyOf::Ratio {
            numerator,
            denominator,
        }),
        _ => None,
    };
    let result = match tally_of {
        // The common questions are added up in the database; `latest`, sex breakdowns and
        // `as_of` need the values one by one.
        Some(of) if version.is_none() && question.can_be_tallied() => {
            let (half_years, by_year) = (&request.span.half_years, request.span.by_year);
            let mut tally = |group_by: &[GroupBy], of: TallyOf<'_>| {
                source.tallies(conn, &filter, group_by, of, half_years, by_year)
            };
            // Without grouping the one group is the nation; where every project is in one
            // group, sums and ratios of the nation are the groups' added up. Distinct
            // enterprises are not: one may work with projects in several groups.
            let mut both = |of: TallyOf<'_>| -> QueryResult<(Vec<Tally>, Vec<Tally>)> {
                let grouped = tally(&request.group_by, of)?;
                let additive = one_group_each && !matches!(of, TallyOf::Distinct(_));
                let national = if request.group_by.is_empty() || additive {
                    grouped.clone()
                } else {
                    tally(&[], of)?
                };
                Ok((grouped, national))
            };
            let (mut tallies, mut national) = both(of)?;
            if let TallyOf::Distinct(code) = of {
                // The distinct counts come from the enterprises, the reporting projects from
                // the values.
                let (reported, reported_nationally) = both(TallyOf::Sum(code))?;
                tallies.extend(reported);
                national.extend(reported_nationally);
            }
            let national = national.into_iter().fold(Tally::empty(), Tally::plus);
            from_tallies::aggregate_tallies(
                &question,
                &members,
                &national_members,
                &tallies,
                &national,
            )
        }
        _ => {
            let load = |conn: &mut DbConnection, code: &str| -> Result<Vec<ValueFact>, AppError> {
                Ok(source.values(
                    conn,
                    &filter,
                    &request.group_by,
                    code,
                    &request.span.half_years,
                    rule == Rule::Distinct,
                )?)
            };
            let (values, denominators) = match (&rule, &indicator.numerator, &indicator.denominator)
            {
                (Rule::ProjectField, _, _) => (Vec::new(), Vec::new()),
                (Rule::Ratio { .. }, Some(numerator), Some(denominator)) => {
                    (load(conn, numerator)?, load(conn, denominator)?)
                }
                _ => (load(conn, &indicator.code)?, Vec::new()),
            };
            from_facts::aggregate(
                &question,
                &Facts {
                    members: &members,
                    national_members: &national_members,
                    values: &values,
                    denominators: &denominators,
                },
            )
        }
    };
    let to_row = |row: Row| AggregateRow {
        groups: request
            .group_by
            .iter()
            .map(|g| g.as_str().to_string())
            .zip(row.keys)
            .collect(),
        value: row.value,
        numerator: row.numerator,
        denominator: row.denominator,
        target: row.target,
        target_share: row.target_share,
        reporting_share: row.reporting_share,
        projects: row.projects,
        reporting_projects: row.reporting_projects,
    };
    Ok(Aggregate {
        indicator: IndicatorSummary {
            code: indicator.code,
            name_sv: indicator.name_sv,
            name_en: indicator.name_en,
            unit: indicator.unit,
            aggregation,
            decimals: indicator.decimals,
        },
        period: request.period.clone(),
        group_by: request
            .group_by
            .iter()
            .map(|g| g.as_str().to_string())
            .collect(),
        per: request.per,
        as_of,
        reports,
        rows: result.rows.into_iter().map(to_row).collect(),
        national: to_row(result.national),
        stats: AggregateStats {
            median: result.stats.median,
            mean: result.stats.mean,
            min: result.stats.min,
            max: result.stats.max,
        },
    })
}

/// How an indicator's values are aggregated, the rule that forms a group's value, and the
/// project field a derived indicator sums.
pub fn rule_of(
    indicator: &Definition,
) -> Result<(Aggregation, Rule, Option<ProjectField>), AppError> {
    let aggregation = Aggregation::parse(&indicator.aggregation).ok_or_else(|| {
        AppError::Internal(format!("stored aggregation '{}'", indicator.aggregation))
    })?;
    let field = match indicator.derived_from.as_deref() {
        Some("granted_sek") => Some(ProjectField::GrantedSek),
        Some("total_budget_sek") => Some(ProjectField::TotalBudgetSek),
        _ => None,
    };
    let rule = match (aggregation, field) {
        (_, Some(_)) => Rule::ProjectField,
        (Aggregation::Sum, None) => Rule::Sum,
        (Aggregation::Latest, None) => Rule::Latest,
        (Aggregation::Distinct, None) => Rule::Distinct,
        (Aggregation::Ratio, None) => Rule::Ratio {
            percent: indicator.unit == "procent",
        },
    };
    Ok((aggregation, rule, field))
}

/// Refuses an answer of more than `max` cells, before it is made.
pub fn check_cells(cells: usize, max: usize) -> Result<(), AppError> {
    if cells <= max {
        return Ok(());
    }
    Err(AppError::invalid(
        "group_by",
        "too_many_cells",
        format!(
            "the answer would have {cells} cells; at most {max} are answered: group by fewer dimensions, ask for a shorter period or filter"
        ),
    ))
}

/// A sex breakdown needs an indicator (or, for a ratio, both parts) reported by sex.
fn sex_applies(
    conn: &mut DbConnection,
    indicator: &Definition,
    version: Option<i64>,
) -> Result<bool, AppError> {
    match (&indicator.numerator, &indicator.denominator) {
        (Some(numerator), Some(denominator)) => {
            let by_sex = |conn: &mut DbConnection, code: &str| -> Result<bool, AppError> {
                Ok(db::indicators::definition_at(conn, code, version)?
                    .is_some_and(|definition| definition.by_sex))
            };
            Ok(by_sex(conn, numerator)? && by_sex(conn, denominator)?)
        }
        _ => Ok(indicator.by_sex),
    }
}

fn project_filter(request: &AggregateRequest, version: Option<i64>) -> ProjectFilter {
    let codes = |dimension: Dimension| -> Vec<String> {
        request
            .filters
            .iter()
            .find(|(d, _)| *d == dimension)
            .map(|(_, codes)| codes.clone())
            .unwrap_or_default()
    };
    ProjectFilter {
        regions: request.regions.clone(),
        sakomraden: codes(Dimension::Sakomrade),
        fokusomraden: codes(Dimension::Fokusomrade),
        effektkedjor: codes(Dimension::Effektkedja),
        branscher: codes(Dimension::Bransch),
        project_types: codes(Dimension::ProjectType),
        active_between: (request.span.start(), request.span.end()),
        version,
        accepted_reports: None,
    }
}

/// The regions' reports of the span's half-years counted by state at `version`, and the
/// accepted ones as (region, half-year).
fn report_states(
    conn: &mut DbConnection,
    request: &AggregateRequest,
    version: Option<i64>,
) -> Result<(ReportCounts, Vec<(String, PeriodId)>), AppError> {
    let periods: Vec<String> = request
        .span
        .half_years
        .iter()
        .map(|h| h.to_string())
        .collect();
    let states = db::reports::states_at(conn, &periods, version)?;
    let mut counts = ReportCounts {
        basis: request.basis,
        open: 0,
        submitted: 0,
        accepted: 0,
        returned: 0,
        rests_on: None,
    };
    let mut accepted = Vec::new();
    for region in crate::domain::codes::REGIONS {
        for (period, half_year) in periods.iter().zip(&request.span.half_years) {
            let state = states
                .get(&(region.0.to_string(), period.clone()))
                .copied()
                .unwrap_or(ReportState::Open);
            let count = match state {
                ReportState::Open => &mut counts.open,
                ReportState::Submitted => &mut counts.submitted,
                ReportState::Accepted => &mut counts.accepted,
                ReportState::Returned => &mut counts.returned,
            };
            *count += 1;
            if state == ReportState::Accepted {
                accepted.push((region.0.to_string(), *half_year));
            }
        }
    }
    if request.basis == ReportBasis::Accepted {
        counts.rests_on = Some(
            accepted
                .iter()
                .map(|(region, half_year)| format!("{region}:{half_year}"))
                .collect(),
        );
    }
    Ok((counts, accepted))
}

/// Unknown codes in a filter are typing errors, not empty answers.
/// Every filter code must be in its list; an unknown one is a 422 naming the parameter.
pub fn check_filter_codes(
    conn: &mut DbConnection,
    filters: &[(Dimension, Vec<String>)],
) -> Result<(), AppError> {
    let mut errors: Vec<FieldError> = Vec::new();
    for (dimension, codes) in filters {
        let known: HashSet<String> = db::reference::codes_of(conn, dimension.as_str())?
            .into_iter()
            .collect();
        for code in codes.iter().filter(|c| !known.contains(*c)) {
            errors.push(FieldError::new(
                dimension.as_str(),
                "unknown_code",
                format!("no {} '{code}'", dimension.as_str()),
            ));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// The labels of every code, for formats that show them: dimension → code → Swedish label.
pub fn labels(
    conn: &mut DbConnection,
) -> Result<HashMap<String, HashMap<String, String>>, AppError> {
    let mut labels: HashMap<String, HashMap<String, String>> = HashMap::new();
    for row in db::reference::list_codes(conn)? {
        labels
            .entry(row.dimension)
            .or_default()
            .insert(row.code, row.label_sv);
    }
    let regions = db::reference::list_regions(conn)?
        .into_iter()
        .map(|r| (r.code, r.name))
        .collect();
    labels.insert(GroupBy::Region.as_str().to_string(), regions);
    Ok(labels)
}

/// What an answer is kept under: the checked question, printed, names it exactly (same
/// question, same text), whether asked alone or in an overview.
fn kept_key(question: &AggregateRequest) -> String {
    format!("{question:?}")
}

/// The answer kept from an earlier request if no write has happened since, or a new one,
/// computed within `caller`'s share: `fresh` (`no-cache`) never jumps that queue.
pub async fn kept_or_answered(
    state: &AppState,
    caller: &Principal,
    question: AggregateRequest,
    fresh: bool,
) -> Result<Aggregate, AppError> {
    // Read before the data, so that an answer computed after is at least as new as the
    // version it is kept under.
    let version = state
        .db(|conn| Ok(db::data_version::current(conn)?))
        .await?;
    let key = kept_key(&question);
    let asked = question.clone();
    let index = Arc::clone(&state.aggregate_index);
    let compute = || state.compute(caller, move |conn| answer(conn, &asked, Some(&index)));
    if fresh {
        let computed = compute().await?;
        state.answers.put(version, key, Arc::new(computed.clone()));
        return Ok(computed);
    }
    let answer = state
        .answers
        .kept_or_computed(version, key, compute)
        .await?;
    Ok(Aggregate::clone(&answer))
}

/// Every active indicator's aggregate for the question `template` asks of each (its
/// `indicator` aside), in the order of their codes: what the dashboard's Översikt shows, in
/// one request instead of one an indicator. None is older than the last write committed
/// before the request. Overviews asked together share one computation; within it, the
/// answers `GET /aggregates` keeps (the same question, the same key) are taken, and the
/// others computed together, from one state of the data, and kept for both.
pub async fn overview(
    state: &AppState,
    caller: &Principal,
    template: AggregateRequest,
) -> Result<Vec<Aggregate>, AppError> {
    let filters = template.filters.clone();
    let (version, codes) = state
        .db(move |conn| {
            // Checked here too: with no active indicator no answer would check them.
            check_filter_codes(conn, &filters)?;
            Ok((
                db::data_version::current(conn)?,
                db::indicators::active_codes(conn)?,
            ))
        })
        .await?;
    let key = format!("overview {template:?}");
    let answers = state
        .overviews
        .kept_or_computed(version, key, || {
            each_kept_or_computed(state, caller, template, version, codes)
        })
        .await?;
    Ok(Vec::clone(&answers))
}

/// Each of the `codes`' answers to `template` at `version`: kept, or computed together.
async fn each_kept_or_computed(
    state: &AppState,
    caller: &Principal,
    template: AggregateRequest,
    version: i64,
    codes: Vec<String>,
) -> Result<Vec<Aggregate>, AppError> {
    let questions: Vec<AggregateRequest> = codes
        .into_iter()
        .map(|indicator| AggregateRequest {
            indicator,
            ..template.clone()
        })
        .collect();
    let keys: Vec<String> = questions.iter().map(kept_key).collect();
    let mut answers: Vec<Option<Arc<Aggregate>>> = keys
        .iter()
        .map(|key| state.answers.get(version, key))
        .collect();
    let missing: Vec<AggregateRequest> = questions
        .into_iter()
        .zip(&answers)
        .filter(|(_, kept)| kept.is_none())
        .map(|(question, _)| question)
        .collect();
    if !missing.is_empty() {
        let index = Arc::clone(&state.aggregate_index);
        let computed = state
            .compute(caller, move |conn| {
                answer_all(conn, &missing, template.as_of, Some(&index))
            })
            .await?;
        let mut computed = computed.into_iter().map(Arc::new);
        for (answer, key) in answers.iter_mut().zip(keys) {
            if answer.is_none() {
                let made = computed.next().expect("an answer to each question");
                state.answers.put(version, key, Arc::clone(&made));
                *answer = Some(made);
            }
        }
    }
    Ok(answers
        .into_iter()
        .flatten()
        .map(|answer| Aggregate::clone(&answer))
        .collect())
}
