//! Snapshots: the national figures of a period frozen at an instant, so that a report can be
//! reproduced byte for byte (made by `service::snapshots`). A published snapshot is open
//! statistics: read without a token, and served through the PxWeb API (`api::pxweb`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, get, post, web};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use crate::api::access::{AnyRole, Authorized, MaybeAuthorized, SnapshotPublish, SnapshotWrite};
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
    let subject = caller.principal.name.clone();
    let index = std::sync::Arc::clone(&state.aggregate_index);
    let row = state
        .compute(&caller.principal, move |conn| {
            snapshots::create(conn, &request, &subject, Some(&index))
        })
        .await?;
    Ok((web::Json(SnapshotSummary::from(&row)), StatusCode::CREATED))
}

/// Every snapshot, newest first, without figures; without a token, the published ones.
#[utoipa::path(
    tag = "snapshots",
    security((), ("bearer" = [])),
    params(
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the copy held: 304 if the list is still the same"),
        ("If-Modified-Since" = Option<String>, Header, description = "The Last-Modified of the copy held: 304 if no write came since"),
    ),
    responses(
        (status = 200, description = "The snapshots (without a token, the published ones)", body = Vec<SnapshotSummary>, headers(
            ("ETag" = String, description = "The data version and the snapshots listed"),
            ("Last-Modified" = String, description = "When the data version was stamped"),
            ("Cache-Control" = String, description = "`private, no-cache`"),
        )),
        (status = 304, description = "Not modified since the copy named by If-None-Match or If-Modified-Since"),
    )
)]
#[get("/snapshots")]
pub async fn list_snapshots(
    caller: MaybeAuthorized<AnyRole>,
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let published_only = caller.principal.is_none();
    // Storing a snapshot changes no figure and is no data version: the list's question
    // names their number and the newest. Publishing is a data version.
    let newest = state.db(|conn| Ok(db::snapshots::newest(conn)?)).await?;
    let asked = format!("snapshots {newest:?} published_only={published_only}");
    let validators =
        match conditional::at_data_version(&state, &request, caller.principal.as_ref(), &asked)
            .await?
        {
            Conditional::NotModified(response) => return Ok(response),
            Conditional::Answer(validators) => validators,
        };
    let rows = state
        .db(move |conn| Ok(db::snapshots::list(conn, published_only)?))
        .await?;
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

/// One snapshot with its figures, as JSON or CSV; without a token, only a published one (a
/// draft is then 404).
#[utoipa::path(
    tag = "snapshots",
    security((), ("bearer" = [])),
    params(
        ("id" = String, Path, description = "Snapshot id"),
        SnapshotParams,
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the copy held: 304 if it is the same snapshot, state and format"),
        ("If-Modified-Since" = Option<String>, Header, description = "The Last-Modified of the copy held: 304 if it is still as it was"),
    ),
    responses(
        (status = 200, description = "The snapshot", headers(
            ("ETag" = String, description = "The snapshot's digest, whether it is published, and the format"),
            ("Last-Modified" = String, description = "When it was published; a draft: when the data version was stamped"),
            ("Cache-Control" = String, description = "Published: `public, max-age=31536000, immutable`, it never changes; a draft: `private, no-cache`"),
        ), content((Snapshot = "application/json"), (inline(crate::api::formats::Binary) = "text/csv"))),
        (status = 304, description = "Not modified: the client's copy is this snapshot"),
        (status = 404, description = "No such snapshot", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/snapshots/{id}")]
pub async fn get_snapshot(
    caller: MaybeAuthorized<AnyRole>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    params: web::Query<SnapshotParams>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let csv = wants_csv(params.format.as_deref(), &request)?;
    let id = id.into_inner();
    let asked = id.clone();
    let (sha256, published_at) = state
        .db(move |conn| Ok(db::snapshots::identity(conn, &asked)?))
        .await?
        .filter(|(_, published_at)| caller.principal.is_some() || published_at.is_some())
        .ok_or_else(|| AppError::NotFound("no such snapshot".into()))?;
    // A snapshot's digest names its figures; a draft's summary still changes once, when it
    // is published (a data version), and from then on nothing does.
    let identity = format!("snapshot {id} {sha256} csv={csv} published={published_at:?}");
    let conditional = match published_at {
        Some(published_at) => conditional::published(&request, &identity, published_at),
        None => {
            conditional::at_data_version(&state, &request, caller.principal.as_ref(), &identity)
                .await?
        }
    };
    let validators = match conditional {
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

/// Publishes a snapshot, once: from then on it is read without a token and through the
/// PxWeb API, and never changed or withdrawn. A correction is a new snapshot published after
/// it; both stay readable.
#[utoipa::path(
    tag = "snapshots",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Snapshot id")),
    responses(
        (status = 200, description = "Published", body = SnapshotSummary),
        (status = 404, description = "No such snapshot", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already published", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/snapshots/{id}/publish")]
pub async fn publish_snapshot(
    caller: Authorized<SnapshotPublish>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<SnapshotSummary>, AppError> {
    let id = id.into_inner();
    let subject = caller.principal.name.clone();
    let row = state
        .write(move |conn| snapshots::publish(conn, &id, &subject))
        .await?;
    Ok(web::Json(SnapshotSummary::from(&row)))
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
