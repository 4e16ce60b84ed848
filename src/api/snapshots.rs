//! Snapshots: the national figures of a period frozen at an instant, so that a report can be
//! reproduced byte for byte (made by `service::snapshots`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::api::access::{AnyRole, Authorized, SnapshotWrite};
use crate::api::conditional::{self, Conditional};
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
    let index = std::sync::Arc::clone(&state.aggregate_index);
    let row = state
        .compute(&caller.principal, move |conn| {
            snapshots::create(conn, &request, &subject, Some(&index))
        })
        .await?;
    Ok((web::Json(SnapshotSummary::from(&row)), StatusCode::CREATED))
}

/// Every snapshot, newest first, without figures.
#[utoipa::path(
    tag = "snapshots",
    security(("bearer" = [])),
    params(
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the copy held: 304 if the list is still the same"),
        ("If-Modified-Since" = Option<String>, Header, description = "The Last-Modified of the copy held: 304 if no write came since"),
    ),
    responses(
        (status = 200, description = "The snapshots", body = Vec<SnapshotSummary>, headers(
            ("ETag" = String, description = "The data version and the snapshots listed"),
            ("Last-Modified" = String, description = "When the data version was stamped"),
            ("Cache-Control" = String, description = "`private, no-cache`"),
        )),
        (status = 304, description = "Not modified since the copy named by If-None-Match or If-Modified-Since"),
    )
)]
#[get("/snapshots")]
pub async fn list_snapshots(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    // Storing a snapshot changes no figure and is no data version: the list's question
    // names their number and the newest.
    let newest = state.db(|conn| Ok(db::snapshots::newest(conn)?)).await?;
    let asked = format!("snapshots {newest:?}");
    let validators =
        match conditional::at_data_version(&state, &request, &caller.principal, &asked).await? {
            Conditional::NotModified(response) => return Ok(response),
            Conditional::Answer(validators) => validators,
        };
    let rows = state.db(|conn| Ok(db::snapshots::list(conn)?)).await?;
    let summaries: Vec<SnapshotSummary> = rows.iter().map(SnapshotSummary::from).collect();
    Ok(validators.send(HttpResponse::Ok().json(summaries)))
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
    params(
        ("id" = String, Path, description = "Snapshot id"),
        SnapshotParams,
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the copy held: 304 if it is the same snapshot and format"),
        ("If-Modified-Since" = Option<String>, Header, description = "The Last-Modified of the copy held: 304, a snapshot never changes"),
    ),
    responses(
        (status = 200, description = "The snapshot", headers(
            ("ETag" = String, description = "The snapshot's digest and the format"),
            ("Last-Modified" = String, description = "When it was stored"),
            ("Cache-Control" = String, description = "`private, max-age=31536000, immutable`: it never changes"),
        ), content((Snapshot = "application/json"), (inline(crate::api::formats::Binary) = "text/csv"))),
        (status = 304, description = "Not modified: the client's copy is this snapshot"),
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
    let asked = id.clone();
    let (sha256, created_at) = state
        .db(move |conn| Ok(db::snapshots::identity(conn, &asked)?))
        .await?
        .ok_or_else(|| AppError::NotFound("no such snapshot".into()))?;
    // A snapshot never changes: its digest names its figures.
    let identity = format!("snapshot {id} {sha256} csv={csv}");
    let validators = match conditional::immutable(&request, &identity, created_at) {
        Conditional::NotModified(response) => return Ok(response),
        Conditional::Answer(validators) => validators,
    };
    let row = state
        .db(move |conn| Ok(db::snapshots::find(conn, &id)?))
        .await?
        .ok_or_else(|| AppError::NotFound("no such snapshot".into()))?;
    let figures: Value = serde_json::from_str(&row.figures)
        .map_err(|e| AppError::Internal(format!("stored figures: {e}")))?;
    if csv {
        let name = format!("snapshot_{}", row.id);
        return Ok(validators.send(csv_attachment(&name, figures_csv(&figures)?)));
    }
    Ok(validators.send(HttpResponse::Ok().json(Snapshot {
        summary: SnapshotSummary::from(&row),
        figures,
    })))
}

/// One line per indicator, measure (`per`) and region, then its national line.
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
