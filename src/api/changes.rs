//! `GET /api/v1/changes`: the change feed, for jobs that mirror the figures
//! (`service::changes`).

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::access::{Authorized, FeedRead};
use crate::domain::change::{Cursor, DEFAULT_PAGE, MAX_PAGE};
use crate::error::{AppError, Problem};
use crate::service::changes;
use crate::state::AppState;
use crate::views::changes::ChangeFeed;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ChangesParams {
    /// The `cursor` of the last change read (or a page's `next`); from the first change
    /// without it.
    #[param(pattern = r"^[0-9]{1,18}\.[0-9]{1,18}$", example = "42.1")]
    pub after: Option<String>,
    /// How many changes at most: 1–1000, 100 unless given. Read as text and checked here,
    /// so that a wrong one is answered with its field.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub limit: Option<String>,
}

/// Every change of values, narratives, projects, plans, the catalogue, report states and
/// published snapshots, in commit order, after a cursor. A job that continues from each
/// page's `next` sees every change once.
#[utoipa::path(
    tag = "changes",
    security(("bearer" = [])),
    params(ChangesParams),
    responses(
        (status = 200, description = "The changes after the cursor, oldest first", body = ChangeFeed),
        (status = 400, description = "Not a cursor this service gave", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/changes")]
pub async fn list_changes(
    _caller: Authorized<FeedRead>,
    state: web::Data<AppState>,
    params: web::Query<ChangesParams>,
) -> Result<web::Json<ChangeFeed>, AppError> {
    let params = params.into_inner();
    let after = match params.after.as_deref() {
        None => Cursor::default(),
        Some(text) => Cursor::parse(text).ok_or_else(|| {
            AppError::BadRequest(
                "after must be a cursor this service gave, such as a change's cursor or a page's next"
                    .into(),
            )
        })?,
    };
    let limit = match params.limit.as_deref() {
        None => DEFAULT_PAGE,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|limit| (1..=MAX_PAGE).contains(limit))
            .ok_or_else(|| {
                AppError::invalid(
                    "limit",
                    "out_of_range",
                    format!("must be a whole number from 1 to {MAX_PAGE}"),
                )
            })?,
    };
    let feed = state
        .db(move |conn| changes::page(conn, after, limit))
        .await?;
    Ok(web::Json(feed))
}
