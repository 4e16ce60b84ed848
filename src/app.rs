//! The application: routes, middleware and the HTTP server around the shared `AppState`.

use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpMessage, HttpRequest, HttpResponse, get, web};
use tracing::Instrument;
use utoipa_swagger_ui::SwaggerUi;

use crate::api;
use crate::api::allowed_methods::AllowedMethods;
use crate::error::AppError;
use crate::state::AppState;

/// The request id of the request being served: taken from a well-formed incoming
/// `X-Request-Id` (set by a load balancer) or made here.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Sent with every response: no sniffing, no framing, no referrer, no caching of data.
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

fn incoming_request_id(request: &ServiceRequest) -> Option<String> {
    let value = request.headers().get(REQUEST_ID)?.to_str().ok()?;
    let well_formed = !value.is_empty()
        && value.len() <= 64
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    well_formed.then(|| value.to_string())
}

/// Gives every request an id, a tracing span and a log line, and every response the
/// `X-Request-Id` header.
async fn request_context(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse, actix_web::Error> {
    let request_id =
        incoming_request_id(&request).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %request.method(),
        path = %request.path(),
        subject = tracing::field::Empty,
    );
    let started = Instant::now();
    // Swagger UI runs scripts and styles of its own; everything else is data.
    let is_docs = request.path().starts_with("/docs");
    let mut response = match nul_in_uri(&request) {
        Some(refused) => request.error_response(refused),
        None => next
            .call(request)
            .instrument(span.clone())
            .await?
            .map_into_boxed_body(),
    };
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    crate::observability::record_request(
        response.request().method().as_str(),
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "served"
        )
    });
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, value);
    }
    for (name, value) in SECURITY_HEADERS {
        headers.insert(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        );
    }
    if !is_docs {
        headers.insert(
            HeaderName::from_static("content-security-policy"),
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'none'"),
        );
    }
    Ok(response)
}

/// A NUL character (`%00`) in the path names no resource: no identifier contains one, and
/// PostgreSQL refuses it in text, so it is refused here, before any handler looks it up.
fn nul_in_uri(request: &ServiceRequest) -> Option<AppError> {
    request
        .uri()
        .path()
        .contains("%00")
        .then(|| AppError::NotFound("no such resource".into()))
}

/// Swagger UI answers only below `/docs/`.
#[get("/docs")]
async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}

async fn unknown_route(
    request: HttpRequest,
    allowed: web::Data<AllowedMethods>,
) -> Result<HttpResponse, AppError> {
    match allowed.for_path(request.path()) {
        Some(methods) => Err(AppError::MethodNotAllowed(methods)),
        None => Err(AppError::NotFound("no such resource".into())),
    }
}

/// Cross-origin browser calls only from the configured origins; with none configured,
/// no CORS headers are sent and browsers keep other sites out.
fn cors(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods(["GET", "POST", "PUT"])
        .allowed_headers([
            actix_web::http::header::AUTHORIZATION,
            actix_web::http::header::CONTENT_TYPE,
            actix_web::http::header::ACCEPT,
        ])
        .allowed_header("idempotency-key")
        .expose_headers(["x-request-id", "retry-after"])
        .max_age(3600)
}

/// The whole application around `state`.
pub fn build_app(
    state: web::Data<AppState>,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    crate::observability::handle();
    let max_body_bytes = state.config.max_body_bytes;
    let state_cors_origins = state.config.cors_allowed_origins.clone();
    let (app, document) = api::routes(state.config.max_submission_bytes);
    let allowed_methods = web::Data::new(AllowedMethods::from_document(&document));
    app.app_data(state)
        .app_data(allowed_methods)
        .app_data(web::PayloadConfig::new(max_body_bytes))
        .app_data(api::extract::query_config())
        .app_data(api::extract::path_config())
        .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", document))
        .service(docs_redirect)
        .default_service(web::to(unknown_route))
        .wrap(cors(&state_cors_origins))
        .wrap(from_fn(request_context))
}

/// Serves HTTP until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let bind = state.config.bind;
    let state = web::Data::new(state);
    tracing::info!(%bind, "serving; get a token with `uppfoljning token --role admin`");
    actix_web::HttpServer::new(move || build_app(state.clone()))
        .bind(bind)?
        .shutdown_timeout(30)
        .run()
        .await
}
