//! Reporting rounds: a region's half-year report, signed off by the region and accepted or
//! returned by Tillväxtverket (decided by `service::reports`).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use crate::api::access::{AnyRole, Authorized, RegionRead};
use crate::api::conditional::{self, Conditional};
use crate::api::extract::{JsonBody, parse_region};
use crate::auth::Principal;
use crate::db;
use crate::domain::codes::RegionCode;
use crate::domain::period::swedish_today;
use crate::domain::report::{ReportState, Transition};
use crate::domain::validation::FieldError;
use crate::error::{AppError, Problem};
use crate::service::reports::{self, TransitionRequest};
use crate::state::AppState;
use crate::views::reports::{Report, ReportSummary};

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// A half-year such as 2026H1.
    pub period: String,
    /// Only reports in this state.
    pub state: Option<ReportState>,
}

/// Every region's report for a half-year (a region's token sees its own), with counts and
/// the transitions the caller may make now.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(
        ReportQuery,
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the copy held: 304 if the answer is still the same"),
        ("If-Modified-Since" = Option<String>, Header, description = "The Last-Modified of the copy held: 304 if no write came since"),
    ),
    responses(
        (status = 200, description = "The reports", body = Vec<ReportSummary>, headers(
            ("ETag" = String, description = "The data version, the question and today's date"),
            ("Last-Modified" = String, description = "When the data version was stamped"),
            ("Cache-Control" = String, description = "`private, no-cache`"),
        )),
        (status = 304, description = "Not modified since the copy named by If-None-Match or If-Modified-Since"),
        (status = 404, description = "No such half-year open for reporting", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reports")]
pub async fn list_reports(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    query: web::Query<ReportQuery>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let principal = caller.principal;
    // What is missing depends on which half-years have begun, and so on today's date, and
    // on the periods.
    let asked = conditional::with_periods(
        &state,
        format!(
            "reports {} {:?} {}",
            query.period,
            query.state,
            swedish_today()
        ),
    )
    .await?;
    let validators =
        match conditional::at_data_version(&state, &request, Some(&principal), &asked).await? {
            Conditional::NotModified(response) => return Ok(response),
            Conditional::Answer(validators) => validators,
        };
    let asker = principal.clone();
    let reports = state
        .compute(&asker, move |conn| {
            db::read_transaction(conn, |conn| {
                reports::list(conn, &principal, &query.period, query.state)
            })
        })
        .await?;
    Ok(validators.send(HttpResponse::Ok().json(reports)))
}

/// One report: its state, history and what is missing. The `ETag` is its revision.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(
        ("region" = String, Path, description = "Län code, such as 07"),
        ("period" = String, Path, description = "A half-year such as 2026H1"),
    ),
    responses(
        (status = 200, description = "The report", body = Report, headers(("ETag" = String, description = "The report's revision"))),
        (status = 404, description = "No such region or half-year", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/regions/{region}/reports/{period}")]
pub async fn get_report(
    caller: Authorized<RegionRead>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (region, period) = path.into_inner();
    let region = parse_region(&region)?;
    let principal = caller.principal;
    let asker = principal.clone();
    let report = state
        .compute(&asker, move |conn| {
            db::read_transaction(conn, |conn| {
                reports::report(conn, &principal, &region, &period)
            })
        })
        .await?;
    Ok(respond(report))
}

/// A transition's body; `{}` when there is nothing to say.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransitionInput {
    /// Required to return a report, and to sign off an incomplete one: the reason.
    #[serde(default)]
    pub comment: Option<String>,
    /// Sign off although required values or narratives are missing (what was missing is
    /// recorded).
    #[serde(default)]
    pub incomplete: bool,
}

/// `submit` (the region signs off), `withdraw` (the region takes a sign-off back before it
/// is accepted), `accept` and `return` (Tillväxtverket).
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(
        ("region" = String, Path, description = "Län code, such as 07"),
        ("period" = String, Path, description = "A half-year such as 2026H1"),
        ("transition" = String, Path, description = "submit, withdraw, accept or return"),
        ("If-Match" = Option<String>, Header, description = "The ETag read: the transition is made only if the report has not changed since"),
    ),
    request_body = TransitionInput,
    responses(
        (status = 200, description = "Made; the report as it is now", body = Report, headers(("ETag" = String, description = "The report's revision"))),
        (status = 404, description = "No such region, half-year or transition", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not possible from the report's state; the problem names it and what is possible", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The report changed since the If-Match", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/regions/{region}/reports/{period}/{transition}")]
pub async fn transition_report(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    path: web::Path<(String, String, String)>,
    request: HttpRequest,
    body: JsonBody<TransitionInput>,
) -> Result<HttpResponse, AppError> {
    let (region, period, transition) = path.into_inner();
    let region = parse_region(&region)?;
    let transition = Transition::ALL
        .into_iter()
        .find(|t| t.as_str() == transition)
        .ok_or_else(|| AppError::NotFound(format!("no transition '{transition}'")))?;
    let input = body.0;
    let request = TransitionRequest {
        comment: input.comment,
        incomplete: input.incomplete,
        if_match: if_match(&request)?,
    };
    let principal = caller.principal;
    let report = state
        .write(move |conn| {
            db::write_transaction(conn, |conn, write| {
                reports::transition(
                    conn, write, &principal, &region, &period, transition, &request,
                )?;
                reports::report(conn, &principal, &region, &period)
            })
        })
        .await?;
    crate::observability::record_report_transition(transition.as_str());
    Ok(respond(report))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkAcceptInput {
    /// Län codes whose submitted reports are accepted, all or none.
    pub regions: Vec<String>,
    #[serde(default)]
    pub comment: Option<String>,
    /// The revision (`ETag`) each listed report was read at, by län code, as `If-Match` is
    /// for one report: when any of them has changed since, the answer is 412 and none is
    /// accepted. A report left out is accepted whatever its revision.
    #[serde(default)]
    pub revisions: BTreeMap<String, i64>,
}

/// Accepts the submitted reports of the listed regions for a half-year: all, or none when
/// any of them cannot be accepted or has changed since the revision given for it.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(("period" = String, Path, description = "A half-year such as 2026H1")),
    request_body = BulkAcceptInput,
    responses(
        (status = 200, description = "All accepted", body = Vec<ReportSummary>),
        (status = 404, description = "No such region or half-year", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A report is not submitted; none was accepted", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "A report changed since the revision given for it; none was accepted", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body, such as a revision for a region not listed; none was accepted", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reports/{period}/accept")]
pub async fn accept_reports(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    period: web::Path<String>,
    body: JsonBody<BulkAcceptInput>,
) -> Result<web::Json<Vec<ReportSummary>>, AppError> {
    let period = period.into_inner();
    let input = body.0;
    let regions = input
        .regions
        .iter()
        .map(|code| parse_region(code))
        .collect::<Result<Vec<RegionCode>, _>>()?;
    let revisions = listed_revisions(&regions, input.revisions)?;
    let comment = input.comment;
    let principal: Principal = caller.principal;
    let accepted = state
        .write(move |conn| {
            db::write_transaction(conn, |conn, write| {
                for region in &regions {
                    let request = TransitionRequest {
                        comment: comment.clone(),
                        if_match: revisions.get(region).copied(),
                        ..TransitionRequest::default()
                    };
                    reports::transition(
                        conn,
                        write,
                        &principal,
                        region,
                        &period,
                        Transition::Accept,
                        &request,
                    )?;
                }
                let listed: Vec<String> = regions.iter().map(|r| r.to_string()).collect();
                Ok::<_, AppError>(
                    reports::list(conn, &principal, &period, None)?
                        .into_iter()
                        .filter(|report| listed.contains(&report.region))
                        .collect::<Vec<_>>(),
                )
            })
        })
        .await?;
    for _ in &accepted {
        crate::observability::record_report_transition(Transition::Accept.as_str());
    }
    Ok(web::Json(accepted))
}

/// The revisions of a bulk accept by region; each must name a listed region.
fn listed_revisions(
    regions: &[RegionCode],
    revisions: BTreeMap<String, i64>,
) -> Result<BTreeMap<RegionCode, i64>, AppError> {
    let mut errors = Vec::new();
    let mut listed = BTreeMap::new();
    for (code, revision) in revisions {
        match parse_region(&code) {
            Ok(region) if regions.contains(&region) => {
                listed.insert(region, revision);
            }
            _ => errors.push(FieldError::new(
                format!("revisions.{code}"),
                "not_listed",
                format!("'{code}' is not among the regions to accept"),
            )),
        }
    }
    if errors.is_empty() {
        Ok(listed)
    } else {
        Err(AppError::Invalid(errors))
    }
}

fn respond(report: Report) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, format!("\"{}\"", report.summary.revision)))
        .json(report)
}

/// The revision an `If-Match` names (`"3"`, `W/"3"` or `3`).
fn if_match(request: &HttpRequest) -> Result<Option<i64>, AppError> {
    let Some(value) = request.headers().get(header::IF_MATCH) else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .map(|text| text.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|text| text.parse().ok())
        .map(Some)
        .ok_or_else(|| {
            AppError::invalid(
                "If-Match",
                "invalid_if_match",
                "must be the report's ETag, such as \"3\"",
            )
        })
}
