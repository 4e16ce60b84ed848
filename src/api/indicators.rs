//! The indicator catalogue: read by everyone, written by admins.

use std::collections::HashSet;

use actix_web::http::StatusCode;
use actix_web::{get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::access::{AdminOnly, AnyRole, Authorized};
use crate::api::extract::JsonBody;
use crate::db::indicators::IndicatorRow;
use crate::db::{self, DbConnection};
use crate::domain::change::{Change, ChangeKind};
use crate::domain::codes::Dimension;
use crate::domain::indicator::{Aggregation, IndicatorDefinition, KnownCodes};
use crate::error::{AppError, Problem};
use crate::state::AppState;

/// An indicator of the catalogue.
#[derive(Serialize, ToSchema)]
pub struct Indicator {
    #[schema(example = "RCO01")]
    pub code: String,
    pub name_sv: String,
    pub name_en: String,
    #[schema(example = "företag")]
    pub unit: String,
    /// The results-chain level (see `levels` in the classifications).
    #[schema(example = "prestationer")]
    pub level: String,
    pub aggregation: Aggregation,
    /// For a ratio: the sum indicator above the line.
    pub numerator: Option<String>,
    /// For a ratio: the sum indicator below the line.
    pub denominator: Option<String>,
    /// Whether values carry a breakdown by sex (`kvinnor`, `man`, `ej_angivet`).
    pub by_sex: bool,
    /// Decimal places a value may have.
    pub decimals: i64,
    /// Set when the indicator is computed from a project field (`granted_sek`,
    /// `total_budget_sek`) rather than reported as values.
    pub derived_from: Option<String>,
    /// The effektkedjor whose projects must report this indicator.
    pub required_for: Vec<String>,
    /// An inactive (retired) indicator can no longer be planned or reported; plans and values
    /// stored before it was retired may be sent again unchanged.
    pub active: bool,
}

impl Indicator {
    fn from_row(row: IndicatorRow, required_for: Vec<String>) -> Result<Indicator, AppError> {
        let aggregation = Aggregation::parse(&row.aggregation).ok_or_else(|| {
            AppError::Internal(format!("stored aggregation '{}'", row.aggregation))
        })?;
        Ok(Indicator {
            code: row.code,
            name_sv: row.name_sv,
            name_en: row.name_en,
            unit: row.unit,
            level: row.level,
            aggregation,
            numerator: row.numerator,
            denominator: row.denominator,
            by_sex: row.by_sex,
            decimals: row.decimals,
            derived_from: row.derived_from,
            required_for,
            active: row.active,
        })
    }
}

/// An indicator definition as an admin sends it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IndicatorInput {
    #[schema(example = "NAT-X01")]
    pub code: String,
    pub name_sv: String,
    pub name_en: String,
    pub unit: String,
    pub level: String,
    pub aggregation: Aggregation,
    #[serde(default)]
    pub numerator: Option<String>,
    #[serde(default)]
    pub denominator: Option<String>,
    #[serde(default)]
    pub by_sex: bool,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 4)]
    pub decimals: i64,
    #[serde(default)]
    pub derived_from: Option<String>,
    #[serde(default)]
    pub required_for: Vec<String>,
    #[serde(default = "active_by_default")]
    pub active: bool,
}

fn active_by_default() -> bool {
    true
}

impl IndicatorInput {
    fn into_definition(self) -> IndicatorDefinition {
        IndicatorDefinition {
            code: self.code,
            name_sv: self.name_sv,
            name_en: self.name_en,
            unit: self.unit,
            level: self.level,
            aggregation: self.aggregation,
            numerator: self.numerator,
            denominator: self.denominator,
            by_sex: self.by_sex,
            decimals: self.decimals,
            derived_from: self.derived_from,
            required_for: self.required_for,
            active: self.active,
        }
    }
}

/// Every indicator of the catalogue, by code.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    responses((status = 200, description = "The catalogue", body = Vec<Indicator>))
)]
#[get("/indicators")]
pub async fn list_indicators(
    _caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<Indicator>>, AppError> {
    let rows = state.db(|conn| Ok(db::indicators::list(conn)?)).await?;
    let indicators = rows
        .into_iter()
        .map(|(row, required_for)| Indicator::from_row(row, required_for))
        .collect::<Result<_, _>>()?;
    Ok(web::Json(indicators))
}

/// One indicator.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Indicator code, such as RCO01")),
    responses(
        (status = 200, description = "The indicator", body = Indicator),
        (status = 404, description = "No such indicator", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/indicators/{code}")]
pub async fn get_indicator(
    _caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<web::Json<Indicator>, AppError> {
    let code = code.into_inner();
    let found = state
        .db(move |conn| Ok(db::indicators::find(conn, &code)?))
        .await?;
    let (row, required_for) =
        found.ok_or_else(|| AppError::NotFound("no such indicator".into()))?;
    Ok(web::Json(Indicator::from_row(row, required_for)?))
}

/// Adds an indicator to the catalogue.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    request_body = IndicatorInput,
    responses(
        (status = 201, description = "Created", body = Indicator),
        (status = 409, description = "The code is taken", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/indicators")]
pub async fn create_indicator(
    caller: Authorized<AdminOnly>,
    state: web::Data<AppState>,
    body: JsonBody<IndicatorInput>,
) -> Result<(web::Json<Indicator>, StatusCode), AppError> {
    let definition = body.0.into_definition();
    tracing::info!(subject = %caller.principal.subject, indicator = %definition.code, "create indicator");
    let subject = caller.principal.name;
    let indicator = state
        .write(move |conn| {
            db::write_transaction(conn, |conn, write| {
                if db::indicators::find(conn, &definition.code)?.is_some() {
                    return Err(AppError::Conflict(format!(
                        "indicator {} exists; PUT /api/v1/indicators/{} replaces it",
                        definition.code, definition.code
                    )));
                }
                check_definition(conn, &definition)?;
                let row = to_row(&definition);
                db::indicators::insert(conn, &row, &definition.required_for, write.version)?;
                db::changes::record(
                    conn,
                    write,
                    &subject,
                    &[Change::new(ChangeKind::Indicator, "created").indicator(row.code.as_str())],
                )?;
                Indicator::from_row(row, definition.required_for)
            })
        })
        .await?;
    Ok((web::Json(indicator), StatusCode::CREATED))
}

/// Replaces an indicator's definition. The body's `code` must be the path's.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    params(("code" = String, Path, description = "Indicator code, such as RCO01")),
    request_body = IndicatorInput,
    responses(
        (status = 200, description = "Replaced", body = Indicator),
        (status = 404, description = "No such indicator", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The change would alter the meaning of stored values", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/indicators/{code}")]
pub async fn replace_indicator(
    caller: Authorized<AdminOnly>,
    state: web::Data<AppState>,
    code: web::Path<String>,
    body: JsonBody<IndicatorInput>,
) -> Result<web::Json<Indicator>, AppError> {
    let code = code.into_inner();
    let definition = body.0.into_definition();
    tracing::info!(subject = %caller.principal.subject, indicator = %code, "replace indicator");
    let subject = caller.principal.name;
    let indicator = state
        .write(move |conn| {
            db::write_transaction(conn, |conn, write| {
                let (stored, _) = db::indicators::find(conn, &code)?
                    .ok_or_else(|| AppError::NotFound("no such indicator".into()))?;
                if definition.code != code {
                    return Err(AppError::invalid(
                        "code",
                        "code_mismatch",
                        "must equal the code in the path",
                    ));
                }
                check_definition(conn, &definition)?;
                check_change_keeps_meaning(conn, &stored, &definition)?;
                let mut row = to_row(&definition);
                row.created_at = stored.created_at;
                db::indicators::update(conn, &row, &definition.required_for, write.version)?;
                db::changes::record(
                    conn,
                    write,
                    &subject,
                    &[Change::new(ChangeKind::Indicator, "updated").indicator(row.code.as_str())],
                )?;
                Indicator::from_row(row, definition.required_for)
            })
        })
        .await?;
    Ok(web::Json(indicator))
}

fn check_definition(
    conn: &mut DbConnection,
    definition: &IndicatorDefinition,
) -> Result<(), AppError> {
    let levels: HashSet<String> = db::reference::codes_of(conn, Dimension::Level.as_str())?
        .into_iter()
        .collect();
    let effektkedjor: HashSet<String> =
        db::reference::codes_of(conn, Dimension::Effektkedja.as_str())?
            .into_iter()
            .collect();
    let indicators = db::indicators::codes_and_aggregations(conn)?;
    definition
        .check(&KnownCodes {
            levels: &levels,
            effektkedjor: &effektkedjor,
            indicators: &indicators,
        })
        .into_result()
        .map_err(AppError::Invalid)
}

/// Stored values, and ratios built on this indicator, were reported under its current rules;
/// changing how it aggregates would silently change what they mean.
fn check_change_keeps_meaning(
    conn: &mut DbConnection,
    stored: &IndicatorRow,
    definition: &IndicatorDefinition,
) -> Result<(), AppError> {
    let aggregation_changes = stored.aggregation != definition.aggregation.as_str();
    if aggregation_changes && db::indicators::is_ratio_part(conn, &stored.code)? {
        return Err(AppError::invalid(
            "aggregation",
            "in_use",
            "a ratio indicator uses this one as numerator or denominator; it must stay a sum",
        ));
    }
    let is_percent = |unit: &str| unit == "procent";
    let meaning_changes = aggregation_changes
        || stored.derived_from != definition.derived_from
        || definition.decimals < stored.decimals
        || stored.by_sex != definition.by_sex
        || is_percent(&stored.unit) != is_percent(&definition.unit)
        || stored.numerator != definition.numerator
        || stored.denominator != definition.denominator;
    // A ratio's figures rest on its parts' values.
    let mut reported_as = vec![stored.code.as_str()];
    reported_as.extend(stored.numerator.as_deref());
    reported_as.extend(stored.denominator.as_deref());
    let mut has_values = false;
    for code in reported_as {
        has_values = has_values || db::indicators::has_values(conn, code)?;
    }
    if meaning_changes && has_values {
        return Err(AppError::Conflict(
            "values are stored for this indicator (or a ratio's parts): its aggregation, parts, derived_from, by_sex, a unit to or from procent and decimals (downwards) cannot change".into(),
        ));
    }
    Ok(())
}

fn to_row(definition: &IndicatorDefinition) -> IndicatorRow {
    let now = crate::domain::now();
    IndicatorRow {
        code: definition.code.clone(),
        name_sv: definition.name_sv.clone(),
        name_en: definition.name_en.clone(),
        unit: definition.unit.clone(),
        level: definition.level.clone(),
        aggregation: definition.aggregation.as_str().to_string(),
        numerator: definition.numerator.clone(),
        denominator: definition.denominator.clone(),
        by_sex: definition.by_sex,
        decimals: definition.decimals,
        derived_from: definition.derived_from.clone(),
        active: definition.active,
        created_at: now,
        updated_at: now,
    }
}
