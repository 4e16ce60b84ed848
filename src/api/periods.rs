//! Reporting periods: half-years and years with a deadline.

use actix_web::http::StatusCode;
use actix_web::{get, post, web};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::access::{AdminOnly, AnyRole, Authorized};
use crate::api::extract::JsonBody;
use crate::db;
use crate::db::DbConnection;
use crate::db::periods::PeriodRow;
use crate::domain::codes::RegionCode;
use crate::domain::period::{Closing, Lock, LockMode, PeriodId, swedish_today};
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
    /// The period's own deadline: the last day (Swedish time) on which regions may write
    /// values for it. A half-year's year may close it earlier: see `effective_deadline`.
    pub deadline: NaiveDate,
    /// Whether the period's own lock or deadline closes it now for regions without a lock
    /// exception. A half-year's year may close it too: see `closed`.
    pub locked: bool,
    /// Regions for which the period's own lock is lifted.
    pub lock_exceptions: Vec<String>,
    /// Whether regions without a lock exception are refused writes to the period now: its
    /// own lock or deadline, or its year's (a year's lock and deadline apply to both its
    /// half-years). This is what the checks of a submission apply.
    pub closed: bool,
    /// The period whose lock or deadline closes it (its own id or its year's); null while
    /// it is open.
    #[schema(example = "2026")]
    pub closed_by: Option<String>,
    /// The regions that may still write to the closed period: those with a lock exception
    /// on every period that closes it.
    pub open_for: Vec<String>,
    /// The last day regions may write by the deadlines that apply: the earlier of the
    /// period's own and its year's, of those not locked or opened again by an admin; null
    /// when no deadline applies.
    pub effective_deadline: Option<NaiveDate>,
    /// The period whose deadline `effective_deadline` is (its own id or its year's).
    #[schema(example = "2026H1")]
    pub deadline_set_by: Option<String>,
}

impl Period {
    /// The period `row` with what closes it among `locks` (every period's).
    fn new(row: &PeriodRow, lock_exceptions: &[String], locks: &[(PeriodId, Lock)]) -> Period {
        let today = swedish_today();
        let closing = PeriodId::parse(&row.id).and_then(|id| Closing::of(id, locks));
        let closed_by = closing.and_then(|c| c.closed_by(None, today));
        let deadline = closing.and_then(|c| c.deadline());
        Period {
            id: row.id.clone(),
            kind: row.kind.clone(),
            start_date: row.start_date,
            end_date: row.end_date,
            deadline: row.deadline,
            locked: closing.is_some_and(|c| c.own.1.closes(None, today)),
            lock_exceptions: lock_exceptions.to_vec(),
            closed: closed_by.is_some(),
            closed_by: closed_by.map(|id| id.to_string()),
            open_for: closing.map(|c| c.open_for(today)).unwrap_or_default(),
            effective_deadline: deadline.map(|(day, _)| day),
            deadline_set_by: deadline.map(|(_, id)| id.to_string()),
        }
    }
}

/// Every period as it stands now, in calendar order.
fn all_periods(conn: &mut DbConnection) -> Result<Vec<Period>, AppError> {
    let rows = db::periods::list(conn)?;
    let locks = db::periods::locks(&rows);
    Ok(rows
        .iter()
        .map(|(row, exceptions)| Period::new(row, exceptions, &locks))
        .collect())
}

fn found_period(conn: &mut DbConnection, id: &str) -> Result<Period, AppError> {
    all_periods(conn)?
        .into_iter()
        .find(|period| period.id == id)
        .ok_or_else(|| AppError::NotFound("no such period".into()))
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
    Ok(web::Json(state.db(all_periods).await?))
}

/// Opens a reporting period. A year's deadline applies to its half-years, so a year whose
/// deadline comes before one of its half-years' deadlines, or a half-year whose deadline
/// comes after its year's, is refused (409): the later deadline would never apply.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    request_body = PeriodInput,
    responses(
        (status = 201, description = "Created", body = Period),
        (status = 409, description = "The period exists, or its deadline and its year's or half-years' would cut one short", body = Problem, content_type = "application/problem+json"),
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
                refuse_shortened_deadlines(conn, id)?;
                found_period(conn, &row.id)
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
/// every region whatever its deadline. An unlock that would leave the period closed (a
/// half-year whose year is locked or past its deadline, for that region or without
/// `region` for every region) is refused with 409 naming the year to unlock first.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Period id, such as 2026H1"), UnlockParams),
    responses(
        (status = 200, description = "Opened", body = Period),
        (status = 404, description = "No such period", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The period would stay closed by its year", body = Problem, content_type = "application/problem+json"),
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
    let subject = caller.principal.name;
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
                refuse_unlock_without_effect(conn, &id, region.as_ref())?;
                found_period(conn, &id)
            })
        })
        .await?;
    Ok(web::Json(period))
}

/// Refuses a period whose deadline, with its year's or its half-years', would cut a
/// half-year's own deadline short without anyone seeing it.
fn refuse_shortened_deadlines(conn: &mut DbConnection, id: PeriodId) -> Result<(), AppError> {
    let rows = db::periods::list(conn)?;
    let locks = db::periods::locks(&rows);
    for half_year in id.half_years() {
        let Some(closing) = Closing::of(half_year, &locks) else {
            continue;
        };
        if let (Some(own), Some((year_deadline, year))) = (closing.shortened(), closing.deadline())
        {
            return Err(AppError::Conflict(format!(
                "{half_year}'s deadline {own} would be cut short by its year {year}'s deadline {year_deadline}: a year's deadline applies to its half-years. Give the year a deadline on or after {own}, or the half-year one on or before {year_deadline}"
            )));
        }
    }
    Ok(())
}

/// Refuses an unlock after which the period is still closed for `region` (without one,
/// for every region without a lock exception): its year closes it.
fn refuse_unlock_without_effect(
    conn: &mut DbConnection,
    id: &str,
    region: Option<&RegionCode>,
) -> Result<(), AppError> {
    let rows = db::periods::list(conn)?;
    let locks = db::periods::locks(&rows);
    let today = swedish_today();
    let closing = PeriodId::parse(id).and_then(|id| Closing::of(id, &locks));
    let Some((year, lock)) = closing.and_then(|c| {
        let by = c.closed_by(region.map(RegionCode::as_str), today)?;
        c.year.filter(|(year, _)| *year == by)
    }) else {
        return Ok(());
    };
    let why = match lock.mode {
        LockMode::Deadline => format!("is past its deadline {}", lock.deadline),
        _ => "is locked".to_string(),
    };
    let (whom, query) = match region {
        Some(region) => (format!("region {region}"), format!("?region={region}")),
        None => ("every region".to_string(), String::new()),
    };
    Err(AppError::Conflict(format!(
        "{id} would stay closed for {whom}: its year {year} {why}, and a year's lock and deadline apply to its half-years. Unlock the year first (POST /api/v1/periods/{year}/unlock{query}); its other half-year then opens too, unless its own lock or deadline closes it"
    )))
}
