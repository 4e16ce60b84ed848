//! `GET …/projects/{ref}/versions`: every version of a project's classification, dates,
//! amounts, codes and plans, as `as_of` reads them. The value changes stay in `…/history`,
//! whose shape clients already read.

use actix_web::{get, web};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::access::{Authorized, RegionRead};
use crate::api::projects::{ProjectDescription, read_project};
use crate::db;
use crate::error::{AppError, Problem};
use crate::state::AppState;

/// A project as it stood from one data version until the next change.
#[derive(Serialize, ToSchema)]
pub struct ProjectVersion {
    /// The data version from which this was the project's state.
    pub valid_from: i64,
    /// The data version from which it no longer was; absent while current.
    pub valid_to: Option<i64>,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
    #[serde(flatten)]
    pub description: ProjectDescription,
}

/// Every version of the project's classification and plans, oldest first.
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    params(
        ("region" = String, Path, description = "Län code, such as 07"),
        ("ref" = String, Path, description = "The project's ref"),
    ),
    responses(
        (status = 200, description = "The versions", body = Vec<ProjectVersion>),
        (status = 404, description = "No such region or project", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/regions/{region}/projects/{ref}/versions")]
pub async fn project_versions(
    _caller: Authorized<RegionRead>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<ProjectVersion>>, AppError> {
    let versions = read_project(&state, path.into_inner(), db::history::project_versions).await?;
    Ok(web::Json(
        versions
            .into_iter()
            .map(|(version, record)| ProjectVersion {
                valid_from: version.valid_from,
                valid_to: version.valid_to,
                changed_at: version.changed_at.and_utc(),
                changed_by: version.changed_by,
                description: record.into(),
            })
            .collect(),
    ))
}
