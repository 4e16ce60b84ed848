//! Snapshots: the national figures of a period frozen at an instant, so that a report can be
//! reproduced byte for byte (made by `service::snapshots`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::api::access::{AnyRole, Authorized, SnapshotWrite};
use crate::api::extract::JsonBody;
use crate::api::formats::{csv_attachment, csv_document, neutralise, wants_csv};
use crate::db;
use crate::error::{AppError, Problem};
use crate::service::snapshots;
use crate::state::AppState;
use crate::views::aggregates::ReportBasis;
use crate::views::snapshots::{Snapshot, SnapshotSummary};

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
    /// `all` (default) or `accepted`: only accepted reports count, for every measure (as
    /// the aggregates' `reports`).
    #[serde(default)]
    pub reports: Option<ReportBasis>,
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
    let mut request = snapshots::check(&input.period, &input.label, input.as_of.as_deref())?;
    request.basis = input.reports.unwrap_or(ReportBasis::All);
    let subject = caller.principal.subject.clone();
    let row = state
        .compute(&caller.principal, move |conn| {
            snapshots::create(conn, &request, &subject)
        })
        .await?;
    Ok((web::Json(SnapshotSummary::from(&row)), StatusCode::CREATED))
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
    Ok(web::Json(rows.iter().map(SnapshotSummary::from).collect()))
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
        (status = 200, description = "The snapshot", content((Snapshot = "application/json"), (inline(crate::api::formats::Binary) = "text/csv"))),
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
        summary: SnapshotSummary::from(&row),
        figures,
    }))
}

/// One line per indicator, measure (`per`) and region, then its national line. A snapshot
/// stored before the shares were answered has them empty.
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
        "target_share",
        "reporting_share",
        "per",
    ];
    let text = |value: &Value| match value {
        Value::Null => String::new(),
        Value::String(s) => neutralise(s),
        other => other.to_string(),
    };
    let mut records = Vec::new();
    for aggregate in figures["aggregates"].as_array().into_iter().flatten() {
        let code = text(&aggregate["indicator"]["code"]);
        // Snapshots stored before figures per project were taken are all totals.
        let per = match &aggregate["per"] {
            Value::Null => "total".to_string(),
            other => text(other),
        };
        let lines = aggregate["rows"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|row| ("group", row))
            .chain([("national", &aggregate["national"])]);
        for (scope, row) in lines {
            let mut record = vec![code.clone(), scope.to_string()];
            record.extend(
                columns[2..columns.len() - 1]
                    .iter()
                    .map(|column| text(&row[*column])),
            );
            record.push(per.clone());
            records.push(record);
        }
    }
    let header: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
    csv_document(&header, records.into_iter())
}
