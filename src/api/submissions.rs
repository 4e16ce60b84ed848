//! The bulk submission: a region's projects, values and narratives in one transaction.

use actix_web::http::header::{self, Header, HeaderValue, Preference};
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::access::{Authorized, RegionWrite};
use crate::api::extract::{SubmissionBody, SubmissionFormat, parse_json, parse_region};
use crate::api::{csv_submission, xlsx_submission};
use crate::domain::submission::Rejection;
use crate::domain::submission::input::SubmissionInput;
use crate::error::{AppError, PROBLEM_JSON, Problem};
use crate::service::submissions::{self, Decision, ReadSubmission, Received};
use crate::state::AppState;
use crate::views::submissions::SubmissionResult;

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubmitParams {
    /// Check and count everything, store nothing.
    #[serde(default)]
    pub dry_run: bool,
}

pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;

/// Stores a region's projects, values and narratives, all or nothing.
#[utoipa::path(
    tag = "submissions",
    security(("bearer" = [])),
    params(
        ("region" = String, Path, description = "Län code, such as 07"),
        SubmitParams,
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body get the first answer again; another body with the key is a 422"),
        ("Accept-Language" = Option<String>, Header, description = "`sv` first: the errors' messages in Swedish (the codes are the same)"),
    ),
    request_body(
        description = "JSON, or CSV with one row per value: project_ref, indicator, period, value, kvinnor, man, ej_angivet, organisationsnummer (one row per enterprise), kommentar (the first three and one column of figures required; without kommentar the stored comments are kept), comma or semicolon separated, UTF-8 with or without BOM, at most 100,000 rows; or the region's reporting workbook (`…/reports/{period}/template`) filled in. Errors in a CSV file name the line and column, in a workbook the sheet, row, column and cell",
        content(
            (SubmissionInput = "application/json"),
            (inline(crate::api::formats::Binary) = "text/csv"),
            (inline(crate::api::formats::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        )
    ),
    responses(
        (status = 200, description = "Stored, or validated in a dry run", body = SubmissionResult),
        (status = 404, description = "No such region", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A period is closed for the region, or the submission would change figures of the region's signed-off (submitted or accepted) report of a half-year (`period-locked`: each error names the item, the report and its state), or cells of a workbook made from an older template were changed both in the sheet and in the database since the template was made (`stale-template`: each error names the cell and its template, sheet and stored values); nothing stored", body = SubmissionResult, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body, parameter or Idempotency-Key; nothing stored", body = SubmissionResult, content_type = "application/problem+json"),
    )
)]
#[post("")]
pub async fn submit(
    caller: Authorized<RegionWrite>,
    state: web::Data<AppState>,
    region: web::Path<String>,
    request: HttpRequest,
    body: SubmissionBody,
) -> Result<HttpResponse, AppError> {
    let region = parse_region(&region)?;
    // Admitted before a byte is read: a body refused for lack of room never takes memory.
    let _admitted = state.admit_body(&caller.principal, body.declared_length())?;
    let format = body.format;
    let bytes = body.read().await?;
    // Read by hand rather than by extractor so that a bad parameter is refused in the same
    // shape as every other invalid submission.
    let params = web::Query::<SubmitParams>::from_query(request.query_string());
    let dry_run = params.as_ref().is_ok_and(|params| params.dry_run);
    let received = async {
        let params = params
            .map_err(|error| AppError::invalid("query", "invalid_query", error.to_string()))?;
        let received = Received {
            region,
            principal: caller.principal,
            dry_run: params.dry_run,
            idempotency_key: idempotency_key(&request)?,
            body: bytes,
        };
        match format {
            SubmissionFormat::Csv => {
                submissions::receive(&state, received, csv_submission::read).await
            }
            SubmissionFormat::Xlsx => {
                submissions::receive(&state, received, xlsx_submission::read).await
            }
            SubmissionFormat::Json => {
                submissions::receive(&state, received, |bytes| {
                    Ok(ReadSubmission {
                        input: parse_json(bytes)?,
                        ..ReadSubmission::default()
                    })
                })
                .await
            }
        }
    }
    .await;
    let swedish = prefers_swedish(&request);
    let decision = match received {
        Err(AppError::Invalid(errors)) => {
            let (result, status) = SubmissionResult::rejected(dry_run, Rejection::Invalid(errors));
            Decision::Answer(result, status)
        }
        other => other?,
    };
    Ok(respond(decision, swedish))
}

/// Whether the caller's first choice of language is Swedish (`Accept-Language: sv`).
fn prefers_swedish(request: &HttpRequest) -> bool {
    match header::AcceptLanguage::parse(request).map(|accepted| accepted.preference()) {
        Ok(Preference::Specific(language)) => {
            language.primary_language().eq_ignore_ascii_case("sv")
        }
        _ => false,
    }
}

fn respond(decision: Decision, swedish: bool) -> HttpResponse {
    let language = if swedish { "sv" } else { "en" };
    match decision {
        Decision::Replay(stored) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("Idempotent-Replayed", "true"))
            .body(stored),
        Decision::Answer(result, 200) => HttpResponse::Ok().json(result),
        Decision::Answer(result, status) => {
            let status = actix_web::http::StatusCode::from_u16(status).expect("valid status");
            let result = if swedish { result.in_swedish() } else { result };
            HttpResponse::build(status)
                .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
                .insert_header((header::CONTENT_LANGUAGE, language))
                .body(serde_json::to_string(&result).expect("serialises"))
        }
    }
}

fn idempotency_key(request: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = request.headers().get("Idempotency-Key") else {
        return Ok(None);
    };
    let valid = value
        .to_str()
        .ok()
        .filter(|key| (1..=MAX_IDEMPOTENCY_KEY_CHARS).contains(&key.len()))
        .filter(|key| key.bytes().all(|b| b.is_ascii_graphic()));
    match valid {
        Some(key) => Ok(Some(key.to_string())),
        None => Err(AppError::invalid(
            "Idempotency-Key",
            "invalid_idempotency_key",
            format!("must be 1 to {MAX_IDEMPOTENCY_KEY_CHARS} visible ASCII characters"),
        )),
    }
}
