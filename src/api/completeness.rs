//! `GET /api/v1/completeness`: how completely each region has reported a period
//! (counted by `service::completeness`).

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::access::{AnyRole, Authorized};
use crate::db;
use crate::domain::period::PeriodSpan;
use crate::error::AppError;
use crate::service::completeness;
use crate::state::AppState;
use crate::views::completeness::Completeness;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompletenessParams {
    /// `YYYY`, `YYYYH1`, `YYYYH2` or a range.
    pub period: String,
}

/// Per region: active projects, required values, reported, missing and on time. A region's
/// token gets its own region's row only (and the national total).
#[utoipa::path(
    tag = "aggregates",
    security(("bearer" = [])),
    params(CompletenessParams),
    responses((status = 200, description = "Completeness per region", body = Completeness))
)]
#[get("/completeness")]
pub async fn get_completeness(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    params: web::Query<CompletenessParams>,
) -> Result<web::Json<Completeness>, AppError> {
    let principal = caller.principal;
    let period = params.into_inner().period;
    let span = PeriodSpan::parse(&period).ok_or_else(|| {
        AppError::invalid(
            "period",
            "invalid_period",
            "must be YYYY, YYYYH1, YYYYH2 or a range A..B",
        )
    })?;
    let reader = principal.clone();
    let answer = state
        .compute(&principal, move |conn| {
            db::read_transaction(conn, |conn| {
                completeness::answer(conn, &reader, period, &span)
            })
        })
        .await?;
    Ok(web::Json(answer))
}
