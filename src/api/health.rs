//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

/// The process is up.
#[utoipa::path(tag = "health", responses((status = 200, description = "Alive", body = Health)))]
#[get("/health/live")]
pub async fn live() -> web::Json<Health> {
    web::Json(Health { status: "ok" })
}

/// The process is up, its database answers on the probe's own connection (never queued
/// behind data work), and no write has met a full disk or a read-only database lately.
#[utoipa::path(tag = "health", responses((status = 200, description = "Ready", body = Health)))]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> Result<web::Json<Health>, AppError> {
    state.ready().await?;
    Ok(web::Json(Health { status: "ok" }))
}

/// Prometheus metrics: requests by route and status with latency histograms, submissions and
/// items stored, and the database pool.
#[utoipa::path(
    tag = "health",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"))
)]
#[get("/metrics")]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.state();
    crate::observability::record_pool(pool.connections, pool.idle_connections);
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::observability::handle().render())
}
