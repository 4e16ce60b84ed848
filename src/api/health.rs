//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpRequest, HttpResponse, get, web};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use crate::error::{AppError, Problem};
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
/// items stored, the database pool and the kept answers' bytes. Served only when
/// `METRICS_TOKEN` is configured, to a bearer of that token.
#[utoipa::path(
    tag = "health",
    security(("metrics" = [])),
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "Not the metrics token", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No METRICS_TOKEN configured: metrics are not served", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/metrics")]
pub async fn metrics(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let Some(expected) = &state.config.metrics_token else {
        return Err(AppError::NotFound("no such resource".into()));
    };
    let offered = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(AppError::Unauthorized(
            "the metrics are read with Authorization: Bearer <METRICS_TOKEN>",
        ))?;
    if !same_secret(offered.trim(), expected) {
        return Err(AppError::Unauthorized("not the metrics token"));
    }
    let pool = state.pool.state();
    crate::observability::record_pool(pool.connections, pool.idle_connections);
    crate::observability::record_kept_answers(
        state.answers.weighted_size() + state.overviews.weighted_size(),
    );
    crate::observability::record_computations_cancelled(state.computations_cancelled());
    crate::observability::record_aggregate_index(state.aggregate_index.status());
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4")
        .body(crate::observability::handle().render()))
}

/// Compares the digests, byte by byte to the end, so that the time taken tells nothing of
/// how much of the token was right, nor of its length.
fn same_secret(offered: &str, expected: &str) -> bool {
    let (offered, expected) = (Sha256::digest(offered), Sha256::digest(expected));
    offered
        .iter()
        .zip(expected.iter())
        .fold(0u8, |difference, (a, b)| difference | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn secrets_are_compared_whole() {
        let token = "0123456789abcdef0123456789abcdef";
        assert!(super::same_secret(token, token));
        assert!(!super::same_secret(
            "0123456789abcdef0123456789abcdeF",
            token
        ));
        assert!(!super::same_secret("", token));
        assert!(!super::same_secret(&format!("{token}0"), token));
    }
}
