//! `GET /api/v1/aggregates`: the question parsed from the query, answered by
//! `service::aggregates`, sent in the format asked for.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::access::{AnyRole, Authorized};
use crate::api::conditional::{self, Conditional};
use crate::api::formats;
use crate::domain::aggregate::question::{GroupBy, Per};
use crate::domain::codes::Dimension;
use crate::domain::period::PeriodSpan;
use crate::domain::validation::Errors;
use crate::error::AppError;
use crate::service::aggregates::{self as answering, AggregateRequest};
use crate::state::AppState;
use crate::views::aggregates::{Aggregate, ReportBasis};

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
    /// `all` (default): everything stored counts; `accepted`: only the region half-years
    /// whose report Tillväxtverket has accepted, for every measure: their values, and a
    /// project (its count, target and granted or budget amounts) only in the half-years it
    /// is dated into whose report of its region is accepted.
    pub reports: Option<ReportBasis>,
    /// `total` (default): each group's figures as they are; `project`: per matched project
    /// of the group (reported or not); `granted_msek`: per million kronor granted to the
    /// group's matched projects. Values, targets and stats alike, rounded half away from
    /// zero to two places beyond the indicator's decimals. Not for ratio indicators.
    pub per: Option<Per>,
    /// `json` (default), `csv`, `xlsx` or `json-stat2`.
    pub format: Option<String>,
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

/// A list of codes that filters, as a set: `01,01` and `01` ask the same, as do `01,02`
/// and `02,01`, and so make one question, kept once.
fn code_set(text: &Option<String>) -> Vec<String> {
    let mut codes = split_list(text);
    codes.sort_unstable();
    codes.dedup();
    codes
}

impl AggregateParams {
    /// Checks what can be checked without the database.
    fn into_request(
        self,
        accept_csv: bool,
        max_cells: usize,
    ) -> Result<(AggregateRequest, Format), AppError> {
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
            (Dimension::Sakomrade, code_set(&self.sakomrade)),
            (Dimension::Fokusomrade, code_set(&self.fokusomrade)),
            (Dimension::Effektkedja, code_set(&self.effektkedja)),
            (Dimension::Bransch, code_set(&self.bransch)),
            (Dimension::ProjectType, code_set(&self.project_type)),
        ];
        let regions = code_set(&self.region);
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
            per: self.per.unwrap_or_default(),
            regions,
            filters: filters
                .into_iter()
                .filter(|(_, codes)| !codes.is_empty())
                .collect(),
            as_of,
            basis: self.reports.unwrap_or(ReportBasis::All),
            max_cells,
        };
        Ok((request, format))
    }
}

/// An indicator aggregated over projects, periods and classifications.
#[utoipa::path(
    tag = "aggregates",
    security(("bearer" = [])),
    params(
        AggregateParams,
        ("Cache-Control" = Option<String>, Header, description = "`no-cache` computes the answer afresh instead of reusing the one computed since the last write"),
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the copy held: 304 if the answer is still the same"),
        ("If-Modified-Since" = Option<String>, Header, description = "The Last-Modified of the copy held: 304 if no write came since"),
    ),
    responses(
        (status = 200, description = "The aggregate", headers(
            ("ETag" = String, description = "The data version and the question"),
            ("Last-Modified" = String, description = "When the data version was stamped"),
            ("Cache-Control" = String, description = "`private, no-cache`: keep it and ask again with If-None-Match"),
        ), content(
            (Aggregate = "application/json"),
            (inline(crate::api::formats::Binary) = "text/csv"),
            (inline(crate::api::formats::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )),
        (status = 304, description = "Not modified since the copy named by If-None-Match or If-Modified-Since"),
    )
)]
#[get("/aggregates")]
pub async fn get_aggregates(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    params: web::Query<AggregateParams>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (question, format) = params.into_inner().into_request(
        formats::accepts_csv(&request),
        state.config.max_answer_cells,
    )?;
    // `Cache-Control: no-cache` asks for the answer computed afresh.
    let fresh = request
        .headers()
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|value| value.contains("no-cache"));
    let asked = format!("aggregates {question:?} {format:?}");
    let validators =
        match conditional::at_data_version(&state, &request, Some(&caller.principal), &asked)
            .await?
        {
            Conditional::NotModified(response) => return Ok(response),
            Conditional::Answer(validators) => validators,
        };
    let aggregate = answering::kept_or_answered(&state, &caller.principal, question, fresh).await?;
    let labels = match format {
        Format::Json => HashMap::new(),
        _ => state.db(answering::labels).await?,
    };
    Ok(validators.send(formats::respond(
        &aggregate,
        &labels,
        format,
        state.config.max_answer_cells,
    )?))
}

/// The question `GET /aggregates/overview` asks of every active indicator.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OverviewParams {
    pub period: String,
    pub region: Option<String>,
    pub sakomrade: Option<String>,
    pub fokusomrade: Option<String>,
    pub effektkedja: Option<String>,
    pub bransch: Option<String>,
    pub project_type: Option<String>,
    pub reports: Option<ReportBasis>,
}

impl OverviewParams {
    /// The question asked of each indicator, checked as `GET /aggregates` checks it; its
    /// `indicator` is replaced by each active indicator's code.
    fn into_template(self, max_cells: usize) -> Result<AggregateRequest, AppError> {
        let params = AggregateParams {
            indicator: "each".to_string(),
            period: self.period,
            group_by: None,
            region: self.region,
            sakomrade: self.sakomrade,
            fokusomrade: self.fokusomrade,
            effektkedja: self.effektkedja,
            bransch: self.bransch,
            project_type: self.project_type,
            as_of: None,
            reports: self.reports,
            per: None,
            format: None,
        };
        Ok(params.into_request(false, max_cells)?.0)
    }
}

/// Every active indicator aggregated nationally for one period and filter, in one answer:
/// what the dashboard's Översikt shows. Each item is the answer `GET /aggregates` gives to
/// the same question of that indicator, in the order of the indicators' codes; none is
/// older than the last write committed before the request. Costs the caller's rate what
/// the seventeen questions would.
#[utoipa::path(
    tag = "aggregates",
    security(("bearer" = [])),
    params(
        OverviewParams,
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the copy held: 304 if the answer is still the same"),
        ("If-Modified-Since" = Option<String>, Header, description = "The Last-Modified of the copy held: 304 if no write came since"),
    ),
    responses(
        (status = 200, description = "One aggregate an active indicator", headers(
            ("ETag" = String, description = "The data version and the question"),
            ("Last-Modified" = String, description = "When the data version was stamped"),
            ("Cache-Control" = String, description = "`private, no-cache`: keep it and ask again with If-None-Match"),
        ), body = Vec<Aggregate>),
        (status = 304, description = "Not modified since the copy named by If-None-Match or If-Modified-Since"),
    )
)]
#[get("/aggregates/overview")]
pub async fn get_overview(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    params: web::Query<OverviewParams>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let template = params
        .into_inner()
        .into_template(state.config.max_answer_cells)?;
    let asked = format!("overview {template:?}");
    let validators =
        match conditional::at_data_version(&state, &request, Some(&caller.principal), &asked)
            .await?
        {
            Conditional::NotModified(response) => return Ok(response),
            Conditional::Answer(validators) => validators,
        };
    let answers = answering::overview(&state, &caller.principal, template).await?;
    Ok(validators.send(HttpResponse::Ok().json(answers)))
}
