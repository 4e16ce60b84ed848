//! Reporting periods: half-years and years with a deadline.

use actix_web::http::StatusCode;
use actix_web::{get, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::access::{AdminOnly, AnyRole, Authorized};
use crate::api::extract::JsonBody;
use crate::db;
use crate::db::periods::PeriodRow;
use crate::domain::codes::RegionCode;
use crate::domain::period::{LockMode, PeriodId, swedish_today};
use crate::error::{AppError, Problem};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Period {
    #[schema(example = "2026H1")]
    pub id: String,
    /// `half_year` or `year`.
    #[schema(example = "half_year")]
    pub kind: String,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// The last day (Swedish time) on which regions may write values for the period.
    pub deadline: NaiveDate,
    /// Whether the period is closed for regions without a lock exception, now.
    pub locked: bool,
    /// Regions for which the closed period is open again.
    pub lock_exceptions: Vec<String>,
}

impl Period {
    pub fn from_row(row: PeriodRow, lock_exceptions: Vec<String>) -> Result<Period, AppError> {
        let mode = LockMode::parse(&row.lock_mode)
            .ok_or_else(|| AppError::Internal(format!("stored lock mode '{}'", row.lock_mode)))?;
        Ok(Period {
            locked: mode.is_locked(row.deadline, swedish_today()),
            id: row.id,
            kind: row.kind,
            start_date: row.start_date,
            end_date: row.end_date,
            deadline: row.deadline,
            lock_exceptions,
        })
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PeriodInput {
    /// `YYYYH1`, `YYYYH2` or `YYYY`.
    #[schema(example = "2026H1")]
    pub id: String,
    /// The last day on which regions may write; on or after the period's last day.
    #[schema(example = "2026-09-30")]
    pub deadline: NaiveDate,
}

/// Every period, in calendar order.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    responses((status = 200, description = "The periods", body = Vec<Period>))
)]
#[get("/periods")]
pub async fn list_periods(
    _caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<Period>>, AppError> {
    let rows = state.db(|conn| Ok(db::periods::list(conn)?)).await?;
    let periods = rows
        .into_iter()
        .map(|(row, exceptions)| Period::from_row(row, exceptions))
        .collect::<Result<_, _>>()?;
    Ok(web::Json(periods))
}

/// Opens a reporting period.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    request_body = PeriodInput,
    responses(
        (status = 201, description = "Created", body = Period),
        (status = 409, description = "The period exists", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/periods")]
pub async fn create_period(
    caller: Authorized<AdminOnly>,
    state: web::Data<AppState>,
    body: JsonBody<PeriodInput>,
) -> Result<(web::Json<Period>, StatusCode), AppError> {
    let input = body.0;
    let id = PeriodId::parse(&input.id).ok_or_else(|| {
        AppError::invalid(
            "id",
            "invalid_period",
            "must be a half-year such as 2026H1 or 2026H2, or a year such as 2026",
        )
    })?;
    if input.deadline < id.end_date() {
        return Err(AppError::invalid(
            "deadline",
            "before_period_end",
            format!(
                "must be on or after the period's last day, {}",
                id.end_date()
            ),
        ));
    }
    tracing::info!(subject = %caller.principal.subject, period = %id, "create period");
    let row = PeriodRow {
        id: id.to_string(),
        kind: id.kind().as_str().to_string(),
        start_date: id.start_date(),
        end_date: id.end_date(),
        deadline: input.deadline,
        lock_mode: LockMode::Deadline.as_str().to_string(),
        created_at: crate::domain::now(),
    };
    let period = state
        .write(move |conn| {
            db::write_transaction(conn, |conn, _| {
                if db::periods::find(conn, &row.id)?.is_some() {
                    return Err(AppError::Conflict(format!("period {} exists", row.id)));
                }
                db::periods::insert(conn, &row)?;
                Period::from_row(row, Vec::new())
            })
        })
        .await?;
    Ok((web::Json(period), StatusCode::CREATED))
}

/// Closes a period for every region, whatever its deadline, and drops its lock exceptions.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Period id, such as 2026H1")),
    responses(
        (status = 200, description = "Locked", body = Period),
        (status = 404, description = "No such period", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/periods/{id}/lock")]
pub async fn lock_period(
    caller: Authorized<AdminOnly>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<web::Json<Period>, AppError> {
    let id = id.into_inner();
    tracing::info!(subject = %caller.principal.subject, period = %id, "lock period");
    let period = state
        .write(move |conn| {
            db::write_transaction(conn, |conn, _| {
                if db::periods::find(conn, &id)?.is_none() {
                    return Err(AppError::NotFound("no such period".into()));
                }
                db::periods::set_lock_mode(conn, &id, LockMode::Locked.as_str())?;
                found_period(conn, &id)
            })
        })
        .await?;
    Ok(web::Json(period))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UnlockParams {
    /// Open the period for this region only (a lock exception).
    pub region: Option<String>,
}

/// Opens a period again: for one region with `region` (a lock exception), otherwise for
/// every region whatever its deadline.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Period id, such as 2026H1"), UnlockParams),
    responses(
        (status = 200, description = "Opened", body = Period),
        (status = 404, description = "No such period", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/periods/{id}/unlock")]
pub async fn unlock_period(
    caller: Authorized<AdminOnly>,
    state: web::Data<AppState>,
    id: web::Path<String>,
    params: web::Query<UnlockParams>,
) -> Result<web::Json<Period>, AppError> {
    let id = id.into_inner();
    let region = match &params.region {
        Some(text) => Some(RegionCode::parse(text).ok_or_else(|| {
            AppError::invalid("region", "unknown_region", format!("no region '{text}'"))
        })?),
        None => None,
    };
    let subject = caller.principal.subject;
    tracing::info!(subject = %subject, period = %id, region = ?region, "unlock period");
    let period = state
        .write(move |conn| {
            db::write_transaction(conn, |conn, _| {
                if db::periods::find(conn, &id)?.is_none() {
                    return Err(AppError::NotFound("no such period".into()));
                }
                match &region {
                    Some(region) => db::periods::add_exception(
                        conn,
                        &id,
                        region.as_str(),
                        &subject,
                        crate::domain::now(),
                    )?,
                    None => db::periods::set_lock_mode(conn, &id, LockMode::Open.as_str())?,
                }
                found_period(conn, &id)
            })
        })
        .await?;
    Ok(web::Json(period))
}

fn found_period(conn: &mut crate::db::DbConnection, id: &str) -> Result<Period, AppError> {
    let (row, exceptions) =
        db::periods::find(conn, id)?.ok_or_else(|| AppError::NotFound("no such period".into()))?;
    Period::from_row(row, exceptions)
}
