//! The bulk submission: a region's projects, values and narratives in one transaction.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, post, web};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::api::extract::{JsonBytes, parse_json};
use crate::app::AppState;
use crate::auth::{Authorized, Principal, RegionWrite, Role};
use crate::db::submissions::{SubmissionRow, Writer};
use crate::db::{self, DbConnection};
use crate::domain::codes::RegionCode;
use crate::domain::period::swedish_today;
use crate::domain::submission::{self, Checked, Counts, Outcome, Rejection, SubmissionInput};
use crate::domain::validation::FieldError;
use crate::error::{AppError, PROBLEM_JSON, Problem};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SubmissionStatus {
    /// Stored.
    Stored,
    /// Checked and counted in a dry run; nothing stored.
    Validated,
    /// Refused; nothing stored. `errors` says why.
    Rejected,
}

/// The answer to a submission. A rejection (422, or 409 for closed periods) has the same
/// shape, as `application/problem+json` with the problem fields `type`, `title` and
/// `detail` added (its `status` stays the submission's).
#[derive(Debug, Serialize, ToSchema)]
pub struct SubmissionResult {
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub problem_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Set when stored.
    pub submission_id: Option<String>,
    pub status: SubmissionStatus,
    pub dry_run: bool,
    pub projects: Counts,
    pub values: Counts,
    pub narratives: Counts,
    pub errors: Vec<FieldError>,
}

impl SubmissionResult {
    fn counted(
        status: SubmissionStatus,
        dry_run: bool,
        submission_id: Option<String>,
        outcome: Outcome,
    ) -> Self {
        SubmissionResult {
            problem_type: None,
            title: None,
            detail: None,
            submission_id,
            status,
            dry_run,
            projects: outcome.projects,
            values: outcome.values,
            narratives: outcome.narratives,
            errors: Vec::new(),
        }
    }

    fn rejected(dry_run: bool, rejection: Rejection) -> (Self, u16) {
        let (slug, title, status, errors) = match rejection {
            Rejection::Invalid(errors) => ("validation", "Invalid submission", 422, errors),
            Rejection::Locked(errors) => {
                ("period-locked", "Period closed for reporting", 409, errors)
            }
        };
        let result = SubmissionResult {
            problem_type: Some(format!("urn:uppfoljning:problem:{slug}")),
            title: Some(title.to_string()),
            detail: Some(format!(
                "{} item(s) refused; nothing was stored",
                errors.len()
            )),
            errors,
            ..SubmissionResult::counted(
                SubmissionStatus::Rejected,
                dry_run,
                None,
                Outcome::default(),
            )
        };
        (result, status)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SubmitParams {
    /// Check and count everything, store nothing.
    #[serde(default)]
    pub dry_run: bool,
}

pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 200;

/// What the transaction decided.
enum Decision {
    /// The same key and body came before: its answer again.
    Replay(String),
    Answer(SubmissionResult, u16),
}

/// Stores a region's projects, values and narratives, all or nothing.
#[utoipa::path(
    tag = "submissions",
    security(("bearer" = [])),
    params(
        ("region" = String, Path, description = "Län code, such as 07"),
        SubmitParams,
        ("Idempotency-Key" = Option<String>, Header, description = "Retries with the same key and body get the first answer again; another body with the key is a 422"),
    ),
    request_body = SubmissionInput,
    responses(
        (status = 200, description = "Stored, or validated in a dry run", body = SubmissionResult),
        (status = 404, description = "No such region", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A period is closed for the region; nothing stored", body = SubmissionResult, content_type = "application/problem+json"),
        (status = 422, description = "Invalid body, parameter or Idempotency-Key; nothing stored", body = SubmissionResult, content_type = "application/problem+json"),
    )
)]
#[post("")]
pub async fn submit(
    caller: Authorized<RegionWrite>,
    state: web::Data<AppState>,
    region: web::Path<String>,
    request: HttpRequest,
    body: JsonBytes,
) -> Result<HttpResponse, AppError> {
    let region = parse_region(&region)?;
    // Read by hand rather than by extractor so that a bad parameter is refused in the same
    // shape as every other invalid submission.
    let params = web::Query::<SubmitParams>::from_query(request.query_string());
    let dry_run = params.as_ref().is_ok_and(|params| params.dry_run);
    let received = receive(caller.principal, state, region, params, &request, body.0).await;
    match received {
        Err(AppError::Invalid(errors)) => {
            let (result, status) = SubmissionResult::rejected(dry_run, Rejection::Invalid(errors));
            Ok(respond(Decision::Answer(result, status)))
        }
        other => other.map(respond),
    }
}

async fn receive(
    principal: Principal,
    state: web::Data<AppState>,
    region: RegionCode,
    params: Result<web::Query<SubmitParams>, actix_web::error::QueryPayloadError>,
    request: &HttpRequest,
    bytes: web::Bytes,
) -> Result<Decision, AppError> {
    let dry_run = params
        .map_err(|error| AppError::invalid("query", "invalid_query", error.to_string()))?
        .dry_run;
    let key = idempotency_key(request)?;
    // Parsed in the writer's turn, not on arrival: a burst of submissions then waits as
    // bytes, not as parsed items several times their size.
    let decision = state
        .write(move |conn| {
            let request_sha256 = format!("{:x}", Sha256::digest(&bytes));
            let input: SubmissionInput = parse_json(&bytes)?;
            db::write_transaction(conn, |conn| {
                decide(
                    conn,
                    &region,
                    &principal,
                    input,
                    dry_run,
                    key,
                    request_sha256,
                )
            })
        })
        .await?;
    // Counted once the transaction has committed.
    if let Decision::Answer(result, _) = &decision
        && result.status == SubmissionStatus::Stored
    {
        crate::observability::record_submission(&Outcome {
            projects: result.projects,
            values: result.values,
            narratives: result.narratives,
        });
    }
    Ok(decision)
}

fn respond(decision: Decision) -> HttpResponse {
    match decision {
        Decision::Replay(stored) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("Idempotent-Replayed", "true"))
            .body(stored),
        Decision::Answer(result, 200) => HttpResponse::Ok().json(result),
        Decision::Answer(result, status) => {
            let status = actix_web::http::StatusCode::from_u16(status).expect("valid status");
            HttpResponse::build(status)
                .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)))
                .body(serde_json::to_string(&result).expect("serialises"))
        }
    }
}

/// Stores a submission as the bulk endpoint does, without HTTP: checked whole, stored all or
/// nothing, recorded as a submission of `principal`.
pub fn store(
    conn: &mut DbConnection,
    region: &RegionCode,
    principal: &Principal,
    input: SubmissionInput,
) -> Result<SubmissionResult, AppError> {
    let body =
        serde_json::to_vec(&input).map_err(|e| AppError::Internal(format!("serialise: {e}")))?;
    let request_sha256 = format!("{:x}", Sha256::digest(&body));
    match decide(conn, region, principal, input, false, None, request_sha256)? {
        Decision::Answer(result, 200) => Ok(result),
        Decision::Answer(result, _) => Err(AppError::Invalid(result.errors)),
        Decision::Replay(_) => Err(AppError::Internal("no key, no replay".into())),
    }
}

fn decide(
    conn: &mut DbConnection,
    region: &RegionCode,
    principal: &Principal,
    input: SubmissionInput,
    dry_run: bool,
    key: Option<String>,
    request_sha256: String,
) -> Result<Decision, AppError> {
    db::lock_region(conn, region.as_str())?;
    let key = key.filter(|_| !dry_run);
    if let Some(key) = &key
        && let Some(earlier) = db::submissions::find_by_key(conn, region.as_str(), key)?
    {
        if earlier.request_sha256 == request_sha256 {
            return Ok(Decision::Replay(earlier.response));
        }
        return Err(AppError::invalid(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this key was used with another body; use a new key for new data",
        ));
    }
    let (checked, region_projects) = match check(conn, region, principal, input)? {
        Ok(checked) => checked,
        Err(rejection) => {
            let (result, status) = SubmissionResult::rejected(dry_run, rejection);
            return Ok(Decision::Answer(result, status));
        }
    };
    if dry_run {
        let outcome =
            db::submissions::apply(conn, region.as_str(), &checked, &region_projects, None)?;
        let result = SubmissionResult::counted(SubmissionStatus::Validated, true, None, outcome);
        return Ok(Decision::Answer(result, 200));
    }
    let submission_id = uuid::Uuid::new_v4().to_string();
    let now = crate::domain::now();
    db::submissions::insert(
        conn,
        &SubmissionRow {
            id: submission_id.clone(),
            region: region.to_string(),
            subject: principal.subject.clone(),
            idempotency_key: key,
            request_sha256,
            response: String::new(),
            created_at: now,
        },
    )?;
    let writer = Writer {
        subject: &principal.subject,
        submission_id: Some(&submission_id),
        now,
    };
    let outcome = db::submissions::apply(
        conn,
        region.as_str(),
        &checked,
        &region_projects,
        Some(&writer),
    )?;
    let result = SubmissionResult::counted(
        SubmissionStatus::Stored,
        false,
        Some(submission_id.clone()),
        outcome,
    );
    db::submissions::set_response(
        conn,
        &submission_id,
        &serde_json::to_string(&result).expect("serialises"),
    )?;
    tracing::info!(
        submission_id = %submission_id,
        region = %region,
        subject = %principal.subject,
        projects = ?outcome.projects,
        values = ?outcome.values,
        narratives = ?outcome.narratives,
        "submission stored"
    );
    Ok(Decision::Answer(result, 200))
}

/// Loads the context and checks the input; admins are not held by period locks.
pub fn check(
    conn: &mut DbConnection,
    region: &RegionCode,
    principal: &Principal,
    input: SubmissionInput,
) -> Result<Result<(Checked, db::submissions::RegionProjects), Rejection>, AppError> {
    let enforce_locks = principal.role != Role::Admin;
    let (context, region_projects) =
        db::submissions::load_context(conn, region.as_str(), enforce_locks, swedish_today())?;
    Ok(submission::check(input, &context).map(|checked| (checked, region_projects)))
}

/// The region of the path; a code that is no län names no resource.
pub fn parse_region(text: &str) -> Result<RegionCode, AppError> {
    RegionCode::parse(text).ok_or_else(|| AppError::NotFound(format!("no region '{text}'")))
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
