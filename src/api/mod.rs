//! The HTTP API: one module per resource, one function per endpoint.

pub mod access;
pub mod aggregates;
pub mod allowed_methods;
pub mod changes;
pub mod classifications;
pub mod completeness;
pub mod conditional;
pub mod csv_submission;
pub mod extract;
pub mod formats;
pub mod health;
pub mod indicators;
pub mod narratives;
pub mod pagination;
pub mod periods;
pub mod project_versions;
pub mod projects;
pub mod pxweb;
pub mod regions;
pub mod reports;
pub mod sign_in;
pub mod snapshots;
pub mod submissions;
pub mod template;
pub mod workbook;
pub mod xlsx_submission;

use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, web};
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
use utoipa_actix_web::AppExt;
use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

use crate::error::{PROBLEM_JSON, Problem};

/// Registers every endpoint. Each is a `#[get(..)]`/`#[post(..)]` function registered with
/// `.service()`, so that it also lands in the OpenAPI document. The bulk submission has a
/// scope of its own for its larger body limit.
pub fn configure(max_submission_bytes: usize) -> impl FnOnce(&mut ServiceConfig) {
    move |config| configure_routes(config, max_submission_bytes)
}

fn configure_routes(config: &mut ServiceConfig, max_submission_bytes: usize) {
    config
        .service(health::live)
        .service(health::ready)
        .service(health::metrics)
        .service(
            scope::scope("/api/v1")
                .service(regions::list_regions)
                .service(classifications::list_classifications)
                .service(classifications::add_code)
                .service(indicators::list_indicators)
                .service(indicators::create_indicator)
                .service(indicators::get_indicator)
                .service(indicators::replace_indicator)
                .service(periods::list_periods)
                .service(periods::create_period)
                .service(periods::lock_period)
                .service(periods::unlock_period)
                .service(projects::put_project)
                .service(projects::list_projects)
                .service(projects::get_project)
                .service(projects::project_history)
                .service(project_versions::project_versions)
                .service(aggregates::get_aggregates)
                .service(aggregates::get_overview)
                .service(completeness::get_completeness)
                .service(narratives::list_narratives)
                .service(reports::list_reports)
                .service(reports::get_report)
                // Before the transitions, whose `{transition}` would take `template`.
                .service(template::get_template)
                .service(reports::transition_report)
                .service(reports::accept_reports)
                .service(snapshots::create_snapshot)
                .service(snapshots::list_snapshots)
                .service(snapshots::get_snapshot)
                .service(changes::list_changes)
                .service(snapshots::publish_snapshot)
                .service(
                    scope::scope("/regions/{region}/submissions")
                        .app_data(web::PayloadConfig::new(max_submission_bytes))
                        .service(submissions::submit),
                ),
        );
}

/// The routes of the API with the OpenAPI document collected from them.
pub fn routes(
    max_submission_bytes: usize,
) -> (
    App<
        impl ServiceFactory<
            ServiceRequest,
            Config = (),
            Response = ServiceResponse,
            Error = actix_web::Error,
            InitError = (),
        >,
    >,
    utoipa::openapi::OpenApi,
) {
    let (app, mut document) = App::new()
        .into_utoipa_app()
        .openapi(base_document())
        .configure(configure(max_submission_bytes))
        .split_for_parts();
    document_common_responses(&mut document);
    (app, document)
}

/// The OpenAPI document the service serves at `/openapi.json`.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    routes(crate::config::DEFAULT_MAX_SUBMISSION_BYTES).1
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "uppfoljning",
        description = "National follow-up of regional growth projects funded by anslag 1:1: \
                       regions report their projects and indicator values, Tillväxtverket reads \
                       national aggregates, scheduled jobs freeze the figures at each deadline.",
        license(name = "MIT")
    ),
    components(schemas(Problem)),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "reference", description = "Regions, code lists, indicators and periods"),
        (name = "projects", description = "A region's projects, values, narratives and history"),
        (name = "submissions", description = "Bulk submissions from the regional systems"),
        (name = "aggregates", description = "National figures, computed live"),
        (name = "snapshots", description = "National figures frozen at a deadline"),
        (name = "changes", description = "What changed, in commit order, for jobs that mirror the figures"),
        (name = "reports", description = "Reporting rounds: regions sign off their half-year reports, Tillväxtverket accepts or returns them"),
    )
)]
struct BaseDocument;

/// The document's fixed parts: info, tags and the problem schema.
pub fn base_document() -> utoipa::openapi::OpenApi {
    BaseDocument::openapi()
}

/// Adds the bearer scheme and the error answers every operation can give, so that each
/// endpoint only documents the errors particular to it.
pub fn document_common_responses(document: &mut utoipa::openapi::OpenApi) {
    let components = document.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .build(),
        ),
    );
    components.add_security_scheme(
        "metrics",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("The operator's METRICS_TOKEN, not a JWT"))
                .build(),
        ),
    );
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build()
    };
    for item in document.paths.paths.values_mut() {
        let operations = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for operation in operations.into_iter().flatten() {
            let mut add = |status: &str, description: &str| {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert_with(|| problem(description).into());
            };
            add(
                "500",
                "Internal error (logged with the request id, never detailed here)",
            );
            add(
                "503",
                "The database is not reachable or cannot store now (disk full, read-only), or the service is too busy; see Retry-After",
            );
            if operation.security.is_some() {
                add("401", "No valid bearer token");
                add("403", "The token's role or region may not do this");
                add("429", "Too many requests for this token; see Retry-After");
            }
            if operation.request_body.is_some() {
                add("400", "Malformed JSON");
                add("413", "Body larger than the limit");
                add("415", "Body is not JSON");
                add("422", "Invalid body: `errors` names each field");
            }
            if operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) {
                add("422", "Invalid parameter: `errors` names it");
            }
        }
    }
}
