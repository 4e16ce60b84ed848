//! The 21 regions (län).

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::api::access::{AnyRole, Authorized};
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Region {
    /// SCB län code, always two characters.
    #[schema(example = "07")]
    pub code: String,
    #[schema(example = "Kronoberg")]
    pub name: String,
}

/// The 21 regions, by code.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    responses((status = 200, description = "The regions", body = Vec<Region>))
)]
#[get("/regions")]
pub async fn list_regions(
    _caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
) -> Result<web::Json<Vec<Region>>, AppError> {
    let rows = state
        .db(|conn| Ok(db::reference::list_regions(conn)?))
        .await?;
    Ok(web::Json(
        rows.into_iter()
            .map(|row| Region {
                code: row.code,
                name: row.name,
            })
            .collect(),
    ))
}
