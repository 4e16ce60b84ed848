//! National aggregates, computed live from the stored values by each indicator's rule.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::QueryResult;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::formats;
use crate::app::AppState;
use crate::auth::{AnyRole, Authorized};
use crate::db::aggregates::{ProjectField, ProjectFilter, TallyOf};
use crate::db::{self, DbConnection};
use crate::domain::aggregate::{self, GroupBy, PeriodSpan, Question, Row, Rule};
use crate::domain::codes::Dimension;
use crate::domain::indicator::Aggregation;
use crate::domain::validation::{Errors, FieldError};
use crate::error::AppError;

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct IndicatorSummary {
    pub code: String,
    pub name_sv: String,
    pub name_en: String,
    pub unit: String,
    pub aggregation: Aggregation,
    pub decimals: i64,
}

/// One group's figures; the group's codes come first, one field per `group_by` dimension
/// (`null` for projects without that code).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AggregateRow {
    #[serde(flatten)]
    pub groups: BTreeMap<String, Option<String>>,
    /// The indicator's value for the group; null when nothing is reported (or a ratio's
    /// denominator is zero).
    pub value: Option<Decimal>,
    /// For ratios: the sum of the numerator indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub numerator: Option<Decimal>,
    /// For ratios: the sum of the denominator indicator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub denominator: Option<Decimal>,
    /// The sum of the matched projects' targets (not for ratios, nor by period or sex).
    pub target: Option<Decimal>,
    /// Matched projects active in the period.
    pub projects: u64,
    /// Of those, the ones with a reported value.
    pub reporting_projects: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AggregateStats {
    pub median: Option<Decimal>,
    pub mean: Option<Decimal>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
}

/// An indicator aggregated over the matched projects.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Aggregate {
    pub indicator: IndicatorSummary,
    pub period: String,
    pub group_by: Vec<String>,
    /// The instant the figures describe.
    pub as_of: DateTime<Utc>,
    pub rows: Vec<AggregateRow>,
    /// Over everything matched; not the sum of the rows.
    pub national: AggregateRow,
    /// Over the rows' values.
    pub stats: AggregateStats,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AggregateParams {
    /// Indicator code, such as RCO01.
    pub indicator: String,
    /// `YYYY`, `YYYYH1`, `YYYYH2` or a range such as `2024H1..2026H2`.
    pub period: String,
    /// Comma-separated: region, sakomrade, fokusomrade, effektkedja, bransch, project_type,
    /// period, sex.
    pub group_by: Option<String>,
    /// Comma-separated län codes.
    pub region: Option<String>,
    pub sakomrade: Option<String>,
    pub fokusomrade: Option<String>,
    pub effektkedja: Option<String>,
    pub bransch: Option<String>,
    pub project_type: Option<String>,
    /// RFC 3339: the figures as they stood then.
    pub as_of: Option<String>,
    /// `json` (default), `csv`, `xlsx` or `json-stat2`.
    pub format: Option<String>,
}

/// A checked aggregate question.
#[derive(Debug, Clone)]
pub struct AggregateRequest {
    pub indicator: String,
    pub period: String,
    pub span: PeriodSpan,
    pub group_by: Vec<GroupBy>,
    pub regions: Vec<String>,
    /// Code-list filters; a project matches a list when it has one of its codes.
    pub filters: Vec<(Dimension, Vec<String>)>,
    pub as_of: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Xlsx,
    JsonStat,
}

fn split_list(text: &Option<String>) -> Vec<String> {
    text.iter()
        .flat_map(|t| t.split(','))
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

impl AggregateParams {
    /// Checks what can be checked without the database.
    fn into_request(self, accept_csv: bool) -> Result<(AggregateRequest, Format), AppError> {
        let mut errors = Errors::new();
        // Looked up in the database after; a code of another shape names no indicator (and
        // a NUL in it would be refused by PostgreSQL).
        let code_shape = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if self.indicator.is_empty() || !self.indicator.chars().all(code_shape) {
            errors.add(
                "indicator",
                "unknown_indicator",
                format!("no indicator '{}'", self.indicator.escape_default()),
            );
        }
        let span = PeriodSpan::parse(&self.period);
        if span.is_none() {
            errors.add(
                "period",
                "invalid_period",
                "must be YYYY, YYYYH1, YYYYH2 or a range A..B with B not before A",
            );
        }
        let mut group_by = Vec::new();
        for name in split_list(&self.group_by) {
            match GroupBy::parse(&name) {
                Some(g) if group_by.contains(&g) => errors.add("group_by", "duplicate", format!("'{name}' appears twice")),
                Some(g) => group_by.push(g),
                None => errors.add(
                    "group_by",
                    "unknown_dimension",
                    format!("'{name}' is not one of region, sakomrade, fokusomrade, effektkedja, bransch, project_type, period, sex"),
                ),
            }
        }
        let as_of = match &self.as_of {
            None => None,
            Some(text) => match DateTime::parse_from_rfc3339(text) {
                Ok(time) => Some(time.with_timezone(&Utc)),
                Err(_) => {
                    errors.add(
                        "as_of",
                        "invalid_time",
                        "must be an RFC 3339 time such as 2026-09-30T12:00:00Z",
                    );
                    None
                }
            },
        };
        let format = match self.format.as_deref() {
            None if accept_csv => Format::Csv,
            None | Some("json") => Format::Json,
            Some("csv") => Format::Csv,
            Some("xlsx") => Format::Xlsx,
            Some("json-stat2") => Format::JsonStat,
            Some(_) => {
                errors.add(
                    "format",
                    "unknown_format",
                    "must be json, csv, xlsx or json-stat2",
                );
                Format::Json
            }
        };
        let filters = vec![
            (Dimension::Sakomrade, split_list(&self.sakomrade)),
            (Dimension::Fokusomrade, split_list(&self.fokusomrade)),
            (Dimension::Effektkedja, split_list(&self.effektkedja)),
            (Dimension::Bransch, split_list(&self.bransch)),
            (Dimension::ProjectType, split_list(&self.project_type)),
        ];
        let regions = split_list(&self.region);
        for region in &regions {
            if crate::domain::codes::RegionCode::parse(region).is_none() {
                errors.add("region", "unknown_region", format!("no region '{region}'"));
            }
        }
        errors.into_result().map_err(AppError::Invalid)?;
        let request = AggregateRequest {
            indicator: self.indicator,
            period: self.period,
            span: span.expect("checked"),
            group_by,
            regions,
            filters: filters
                .into_iter()
                .filter(|(_, codes)| !codes.is_empty())
                .collect(),
            as_of,
        };
        Ok((request, format))
    }
}

/// Answers an aggregate question from the database.
pub fn answer(conn: &mut DbConnection, request: &AggregateRequest) -> Result<Aggregate, AppError> {
    let Some((indicator, _)) = db::indicators::find(conn, &request.indicator)? else {
        return Err(AppError::invalid(
            "indicator",
            "unknown_indicator",
            format!("no indicator '{}'", request.indicator),
        ));
    };
    let aggregation = Aggregation::parse(&indicator.aggregation).ok_or_else(|| {
        AppError::Internal(format!("stored aggregation '{}'", indicator.aggregation))
    })?;
    check_filter_codes(conn, &request.filters)?;
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
    if request.group_by.contains(&GroupBy::Sex) && !sex_applies(conn, &indicator)? {
        return Err(AppError::invalid(
            "group_by",
            "no_sex_breakdown",
            format!("{} is not reported by sex", indicator.code),
        ));
    }
    let as_of = request.as_of.map(|t| t.naive_utc());
    let filter = project_filter(request, as_of);
    let buckets = request.span.buckets();
    let members = db::aggregates::memberships(
        conn,
        &filter,
        &request.group_by,
        &buckets,
        &indicator.code,
        field,
    )?;
    // Where every project falls in exactly one group, the nation is the sum of the groups;
    // otherwise (branscher, periods) it is counted on its own.
    let one_group_each = request
        .group_by
        .iter()
        .all(|g| g.is_project_attribute() && *g != GroupBy::Bransch);
    let national_members = if one_group_each {
        aggregate::Membership {
            attributes: Vec::new(),
            bucket: None,
            projects: members.iter().map(|m| m.projects).sum(),
            target: members.iter().filter_map(|m| m.target).reduce(|a, b| a + b),
            field: members.iter().map(|m| m.field).sum(),
        }
    } else {
        db::aggregates::memberships(conn, &filter, &[], &buckets, &indicator.code, field)?
            .pop()
            .ok_or_else(|| AppError::Internal("no national count".into()))?
    };
    let question = Question {
        rule,
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
        Some(of) if as_of.is_none() && aggregate::database_can_tally(&question) => {
            let (half_years, by_year) = (&request.span.half_years, request.span.by_year);
            let mut tally = |group_by: &[GroupBy], of: TallyOf<'_>| {
                db::aggregates::tallies(conn, &filter, group_by, of, half_years, by_year)
            };
            // Without grouping the one group is the nation; where every project is in one
            // group, sums and ratios of the nation are the groups' added up. Distinct
            // enterprises are not: one may work with projects in several groups.
            let mut both =
                |of: TallyOf<'_>| -> QueryResult<(Vec<aggregate::Tally>, Vec<aggregate::Tally>)> {
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
            let national = national
                .into_iter()
                .fold(aggregate::Tally::empty(), aggregate::Tally::plus);
            aggregate::aggregate_tallies(
                &question,
                &members,
                &national_members,
                &tallies,
                &national,
            )
        }
        _ => {
            let load = |conn: &mut DbConnection,
                        code: &str|
             -> Result<Vec<aggregate::ValueFact>, AppError> {
                Ok(db::aggregates::values(
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
            aggregate::aggregate(
                &question,
                &aggregate::Facts {
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
        as_of: request
            .as_of
            .unwrap_or_else(|| crate::domain::now().and_utc()),
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

/// A sex breakdown needs an indicator (or, for a ratio, both parts) reported by sex.
fn sex_applies(
    conn: &mut DbConnection,
    indicator: &db::indicators::IndicatorRow,
) -> Result<bool, AppError> {
    match (&indicator.numerator, &indicator.denominator) {
        (Some(numerator), Some(denominator)) => {
            let by_sex = |conn: &mut DbConnection, code: &str| -> Result<bool, AppError> {
                Ok(db::indicators::find(conn, code)?.is_some_and(|(row, _)| row.by_sex))
            };
            Ok(by_sex(conn, numerator)? && by_sex(conn, denominator)?)
        }
        _ => Ok(indicator.by_sex),
    }
}

fn project_filter(request: &AggregateRequest, as_of: Option<NaiveDateTime>) -> ProjectFilter {
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
        as_of,
    }
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

/// An indicator aggregated over projects, periods and classifications.
#[utoipa::path(
    tag = "aggregates",
    security(("bearer" = [])),
    params(
        AggregateParams,
        ("Cache-Control" = Option<String>, Header, description = "`no-cache` computes the answer afresh instead of reusing the one computed since the last write"),
    ),
    responses(
        (status = 200, description = "The aggregate", content(
            (Aggregate = "application/json"),
            (String = "text/csv"),
            (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
    )
)]
#[get("/aggregates")]
pub async fn get_aggregates(
    _caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    params: web::Query<AggregateParams>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (question, format) = params
        .into_inner()
        .into_request(formats::accepts_csv(&request))?;
    // `Cache-Control: no-cache` asks for the answer computed afresh.
    let fresh = request
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|value| value.contains("no-cache"));
    let aggregate = kept_or_answered(&state, question, fresh).await?;
    let labels = match format {
        Format::Json => HashMap::new(),
        _ => state.db(labels).await?,
    };
    formats::respond(&aggregate, &labels, format)
}

/// How many aggregate answers an instance keeps.
pub const KEPT_ANSWERS: usize = 256;

/// The answer kept from an earlier request if no write has happened since, or a new one.
async fn kept_or_answered(
    state: &web::Data<AppState>,
    question: AggregateRequest,
    fresh: bool,
) -> Result<Aggregate, AppError> {
    // Read before the data, so that an answer computed after is at least as new as the
    // version it is kept under.
    let version = state
        .db(|conn| Ok(db::data_version::current(conn)?))
        .await?;
    // The checked question, printed, names it exactly: same question, same text.
    let key = format!("{question:?}");
    let kept = state.answers.get(version, &key).filter(|_| !fresh);
    let mut aggregate = match kept {
        Some(kept) => Aggregate::clone(&kept),
        None => {
            let asked = question.clone();
            let computed = state.compute(move |conn| answer(conn, &asked)).await?;
            state.answers.put(version, key, Arc::new(computed.clone()));
            computed
        }
    };
    if question.as_of.is_none() {
        // Nothing has changed since it was computed: it is also the answer as of now.
        aggregate.as_of = crate::domain::now().and_utc();
    }
    Ok(aggregate)
}
