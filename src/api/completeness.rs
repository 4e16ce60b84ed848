//! `GET /api/v1/completeness`: how completely each region has reported a period
//! (counted by `service::completeness`).

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use crate::api::access::{AnyRole, Authorized};
use crate::api::conditional::{self, Conditional};
use crate::db;
use crate::domain::period::{PeriodSpan, swedish_today};
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
    params(
        CompletenessParams,
        ("If-None-Match" = Option<String>, Header, description = "The ETag of the copy held: 304 if the answer is still the same"),
        ("If-Modified-Since" = Option<String>, Header, description = "The Last-Modified of the copy held: 304 if no write came since"),
    ),
    responses(
        (status = 200, description = "Completeness per region", body = Completeness, headers(
            ("ETag" = String, description = "The data version, the question and today's date"),
            ("Last-Modified" = String, description = "When the data version was stamped"),
            ("Cache-Control" = String, description = "`private, no-cache`"),
        )),
        (status = 304, description = "Not modified since the copy named by If-None-Match or If-Modified-Since"),
    )
)]
#[get("/completeness")]
pub async fn get_completeness(
    caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    params: web::Query<CompletenessParams>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let principal = caller.principal;
    let period = params.into_inner().period;
    let span = PeriodSpan::parse(&period).ok_or_else(|| {
        AppError::invalid(
            "period",
            "invalid_period",
            "must be YYYY, YYYYH1, YYYYH2 or a range A..B",
        )
    })?;
    // Which half-years count as begun depends on today's date and the periods as well as
    // on the data.
    let asked =
        conditional::with_periods(&state, format!("completeness {period} {}", swedish_today()))
            .await?;
    let validators =
        match conditional::at_data_version(&state, &request, Some(&principal), &asked).await? {
            Conditional::NotModified(response) => return Ok(response),
            Conditional::Answer(validators) => validators,
        };
    let reader = principal.clone();
    let answer = state
        .compute(&principal, move |conn| {
            db::read_transaction(conn, |conn| {
                completeness::answer(conn, &reader, period, &span)
            })
        })
        .await?;
    Ok(validators.send(HttpResponse::Ok().json(answer)))
}
