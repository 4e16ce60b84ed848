//! Snapshots: the national figures of a period frozen at an instant, so that a report can be
//! reproduced byte for byte.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use utoipa::{IntoParams, ToSchema};

use crate::api::aggregates::{AggregateRequest, answer};
use crate::api::extract::JsonBody;
use crate::api::formats::{csv_attachment, csv_document, neutralise, wants_csv};
use crate::app::AppState;
use crate::auth::{AnyRole, Authorized, SnapshotWrite};
use crate::db::snapshots::SnapshotRow;
use crate::db::{self, DbConnection};
use crate::domain::aggregate::{GroupBy, PeriodSpan};
use crate::domain::validation::{Errors, check_text};
use crate::error::{AppError, Problem};

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotInput {
    /// `YYYY`, `YYYYH1`, `YYYYH2` or a range.
    #[schema(example = "2026H1")]
    pub period: String,
    #[schema(example = "Delrapport april 2027")]
    pub label: String,
    /// RFC 3339; the figures as they stood then (default: now). Not in the future.
    #[serde(default)]
    pub as_of: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct SnapshotSummary {
    pub id: String,
    pub period: String,
    pub label: String,
    pub as_of: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// SHA-256 (hex) of the canonical JSON of `figures`: period, as_of and the aggregates.
    pub sha256: String,
}

#[derive(Serialize, ToSchema)]
pub struct Snapshot {
    #[serde(flatten)]
    pub summary: SnapshotSummary,
    /// `{"period", "as_of", "aggregates": [...]}`: each active indicator grouped by region,
    /// as `GET /api/v1/aggregates` answered at `as_of`.
    #[schema(value_type = Object)]
    pub figures: Value,
}

pub fn summary(row: &SnapshotRow) -> SnapshotSummary {
    SnapshotSummary {
        id: row.id.clone(),
        period: row.period.clone(),
        label: row.label.clone(),
        as_of: row.as_of.and_utc(),
        created_at: row.created_at.and_utc(),
        created_by: row.created_by.clone(),
        sha256: row.sha256.clone(),
    }
}

pub const MAX_LABEL_CHARS: usize = 200;

/// Checks the input: the period, the label, and an `as_of` not in the future.
pub fn checked_input(input: &SnapshotInput) -> Result<(PeriodSpan, DateTime<Utc>), AppError> {
    let mut errors = Errors::new();
    let span = PeriodSpan::parse(&input.period);
    if span.is_none() {
        errors.add(
            "period",
            "invalid_period",
            "must be YYYY, YYYYH1, YYYYH2 or a range A..B",
        );
    }
    check_text(&mut errors, "label", &input.label, MAX_LABEL_CHARS);
    let now = Utc::now().trunc_subsecs(6);
    let as_of = match &input.as_of {
        None => Some(now),
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(time) if time.with_timezone(&Utc) > now => {
                errors.add(
                    "as_of",
                    "in_the_future",
                    "a snapshot freezes figures that exist: as_of must not be in the future",
                );
                None
            }
            Ok(time) => Some(time.with_timezone(&Utc).trunc_subsecs(6)),
            Err(_) => {
                errors.add(
                    "as_of",
                    "invalid_time",
                    "must be an RFC 3339 time such as 2027-04-15T00:00:00Z",
                );
                None
            }
        },
    };
    errors.into_result().map_err(AppError::Invalid)?;
    Ok((span.expect("checked"), as_of.expect("checked")))
}

/// The canonical JSON of a period's figures at `as_of`: every active indicator by region
/// and nationally, keys sorted, numbers exact.
pub fn figures(
    conn: &mut DbConnection,
    period: &str,
    span: &PeriodSpan,
    as_of: DateTime<Utc>,
) -> Result<String, AppError> {
    let mut aggregates = Vec::new();
    for (indicator, _) in db::indicators::list(conn)?
        .into_iter()
        .filter(|(row, _)| row.active)
    {
        let request = AggregateRequest {
            indicator: indicator.code,
            period: period.to_string(),
            span: span.clone(),
            group_by: vec![GroupBy::Region],
            regions: Vec::new(),
            filters: Vec::new(),
            as_of: Some(as_of),
        };
        aggregates.push(answer(conn, &request)?);
    }
    let figures = serde_json::json!({"period": period, "as_of": as_of, "aggregates": aggregates});
    // serde_json's maps are ordered by key, so this text is canonical.
    Ok(figures.to_string())
}

/// Computes and stores a snapshot.
pub fn create(
    conn: &mut DbConnection,
    input: &SnapshotInput,
    subject: &str,
) -> Result<SnapshotRow, AppError> {
    let (span, as_of) = checked_input(input)?;
    let figures = figures(conn, &input.period, &span, as_of)?;
    let row = SnapshotRow {
        id: uuid::Uuid::new_v4().to_string(),
        period: input.period.clone(),
        label: input.label.clone(),
        as_of: as_of.naive_utc(),
        created_at: crate::domain::now(),
        created_by: subject.to_string(),
        sha256: format!("{:x}", Sha256::digest(figures.as_bytes())),
        figures,
    };
    db::snapshots::insert(conn, &row)?;
    tracing::info!(snapshot = %row.id, period = %row.period, sha256 = %row.sha256, subject, "snapshot stored");
    Ok(row)
}

/// Freezes the national figures of a period.
#[utoipa::path(
    tag = "snapshots",
    security(("bearer" = [])),
    request_body = SnapshotInput,
    responses((status = 201, description = "Stored", body = SnapshotSummary))
)]
#[post("/snapshots")]
pub async fn create_snapshot(
    caller: Authorized<SnapshotWrite>,
    state: web::Data<AppState>,
    body: JsonBody<SnapshotInput>,
) -> Result<(web::Json<SnapshotSummary>, StatusCode), AppError> {
    let input = body.0;
    checked_input(&input)?;
    let subject = caller.principal.subject;
    let row = state
        .compute(move |conn| create(conn, &input, &subject))
        .await?;
    Ok((web::Json(summary(&row)), StatusCode::CREATED))
}

/// Every snapshot, newest first, without figures.
#[utoipa::path(
    tag = "snapshots",
    security(("bearer" = [])),
    responses((status = 200, description = "The snapshots", body = Vec<SnapshotSummary>))
)]
#[get("/snapshots")]
pub async fn list_snapshots(
    _caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<SnapshotSummary>>, AppError> {
    let rows = state.db(|conn| Ok(db::snapshots::list(conn)?)).await?;
    Ok(web::Json(
        rows.into_iter()
            .map(
                |(id, period, label, as_of, created_at, created_by, sha256)| SnapshotSummary {
                    id,
                    period,
                    label,
                    as_of: as_of.and_utc(),
                    created_at: created_at.and_utc(),
                    created_by,
                    sha256,
                },
            )
            .collect(),
    ))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SnapshotParams {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

/// One snapshot with its figures, as JSON or CSV.
#[utoipa::path(
    tag = "snapshots",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Snapshot id"), SnapshotParams),
    responses(
        (status = 200, description = "The snapshot", content((Snapshot = "application/json"), (String = "text/csv"))),
        (status = 404, description = "No such snapshot", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/snapshots/{id}")]
pub async fn get_snapshot(
    _caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    params: web::Query<SnapshotParams>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let csv = wants_csv(params.format.as_deref(), &request)?;
    let id = id.into_inner();
    let row = state
        .db(move |conn| Ok(db::snapshots::find(conn, &id)?))
        .await?
        .ok_or_else(|| AppError::NotFound("no such snapshot".into()))?;
    let figures: Value = serde_json::from_str(&row.figures)
        .map_err(|e| AppError::Internal(format!("stored figures: {e}")))?;
    if csv {
        let name = format!("snapshot_{}", row.id);
        return Ok(csv_attachment(&name, figures_csv(&figures)?));
    }
    Ok(HttpResponse::Ok().json(Snapshot {
        summary: summary(&row),
        figures,
    }))
}

/// One line per indicator and region, then the indicator's national line.
fn figures_csv(figures: &Value) -> Result<Vec<u8>, AppError> {
    let columns = [
        "indicator",
        "scope",
        "region",
        "value",
        "numerator",
        "denominator",
        "target",
        "projects",
        "reporting_projects",
    ];
    let text = |value: &Value| match value {
        Value::Null => String::new(),
        Value::String(s) => neutralise(s),
        other => other.to_string(),
    };
    let mut records = Vec::new();
    for aggregate in figures["aggregates"].as_array().into_iter().flatten() {
        let code = text(&aggregate["indicator"]["code"]);
        let lines = aggregate["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| ("group", row))
            .chain([("national", &aggregate["national"])]);
        for (scope, row) in lines {
            let mut record = vec![code.clone(), scope.to_string()];
            record.extend(columns[2..].iter().map(|column| text(&row[*column])));
            records.push(record);
        }
    }
    let header: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    csv_document(&header, records.into_iter())
}
