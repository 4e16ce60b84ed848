//! The application: routes, middleware and the HTTP server around the shared `AppState`.

use std::panic::AssertUnwindSafe;
use std::time::Instant;

use actix_cors::Cors;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::Method;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::{Next, from_fn};
use actix_web::{App, HttpRequest, HttpResponse, ResponseError, get, web};
use futures_util::FutureExt;
use tracing::Instrument;
use utoipa_swagger_ui::SwaggerUi;

use crate::api;
use crate::api::allowed_methods::AllowedMethods;
use crate::error::AppError;
use crate::state::AppState;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The most of a request's method and path a log line holds: a client cannot make the logs
/// grow by the size of what it sends.
pub const LOGGED_CHARS: usize = 200;

/// `text` cut to `LOGGED_CHARS` characters, marked with `…` where it was cut.
fn logged(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(LOGGED_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]).into(),
        None => text.into(),
    }
}

/// The method as a metrics label: the methods HTTP defines, and `other` for every name a
/// client makes up, so that made-up names cannot add series.
fn method_label(method: &Method) -> &'static str {
    [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "CONNECT",
    ]
    .into_iter()
    .find(|known| *known == method.as_str())
    .unwrap_or("other")
}

/// Sent with every response. Set here rather than by actix's `DefaultHeaders`, which
/// cannot reach the answer to a panicked handler (it leaves as an error, not a response).
const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("cache-control", "no-store"),
];

/// The id of a request: a well-formed incoming `X-Request-Id` (set by a load balancer), so
/// that one id follows the request through every system, or one made here.
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
/// `X-Request-Id` and security headers; a handler that panics is answered 500
/// problem+json under that id instead of dropping the connection.
async fn request_context(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse, actix_web::Error> {
    let request_id =
        incoming_request_id(&request).unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = method_label(request.method());
    let span = tracing::info_span!(
        "request",
        request_id = %request_id,
        method = %logged(request.method().as_str()),
        path = %logged(request.path()),
        subject = tracing::field::Empty,
    );
    let started = Instant::now();
    let page = Page::of(request.path());
    let tls = request.app_config().secure()
        || request
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.config.behind_tls_proxy);
    let served = match nul_in_uri(&request) {
        Some(refused) => Some(request.error_response(refused)),
        None => match AssertUnwindSafe(next.call(request).instrument(span.clone()))
            .catch_unwind()
            .await
        {
            Ok(response) => Some(response?.map_into_boxed_body()),
            Err(_) => None,
        },
    };
    let Some(mut response) = served else {
        // The request went down with the handler, so the answer leaves as an error that
        // carries its whole response.
        let mut answer =
            span.in_scope(|| AppError::Internal("the handler panicked".into()).error_response());
        crate::observability::record_request(
            method,
            "panicked",
            answer.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
        add_headers(answer.headers_mut(), &request_id, page, tls);
        return Err(InternalError::from_response("the handler panicked", answer).into());
    };
    // An unknown path's own text never becomes a label.
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".into());
    crate::observability::record_request(
        method,
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
    add_headers(response.headers_mut(), &request_id, page, tls);
    Ok(response)
}

/// What a path serves, for its content security policy.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Page {
    /// Swagger UI, which runs scripts and styles of its own.
    Docs,
    /// The dashboard: scripts and styles from the service only.
    Dashboard,
    /// Everything else is data, which loads nothing.
    Data,
}

impl Page {
    fn of(path: &str) -> Page {
        if path.starts_with("/docs") {
            Page::Docs
        } else if path == "/" || path.starts_with("/dashboard") {
            Page::Dashboard
        } else {
            Page::Data
        }
    }
}

/// Swagger UI's policy: its scripts are files of its own (the initialiser too, no inline
/// script), it sets inline styles and draws icons from `data:` images, and it fetches the
/// document and tries operations on the service itself. Nothing from elsewhere.
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// HSTS for a year: once a browser has reached the service over TLS, never over plain HTTP.
const STRICT_TRANSPORT_SECURITY: &str = "max-age=31536000";

/// The request id, and the security headers: no sniffing, no framing, no referrer, no
/// caching (unless the answer says how it may be kept), a content security policy for what the path serves, and HSTS when the request
/// came over TLS (`tls`).
fn add_headers(headers: &mut HeaderMap, request_id: &str, page: Page, tls: bool) {
    if let Ok(value) = HeaderValue::from_str(request_id) {
        headers.insert(REQUEST_ID, value);
    }
    for (name, value) in SECURITY_HEADERS {
        let name = HeaderName::from_static(name);
        // An answer that may be kept says so itself (`api::conditional`); all others are
        // never stored.
        if name == actix_web::http::header::CACHE_CONTROL && headers.contains_key(&name) {
            continue;
        }
        headers.insert(name, HeaderValue::from_static(value));
    }
    let policy = match page {
        Page::Docs => DOCS_CONTENT_SECURITY_POLICY,
        Page::Dashboard => crate::dashboard::CONTENT_SECURITY_POLICY,
        Page::Data => "default-src 'none'; frame-ancestors 'none'",
    };
    headers.insert(
        HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static(policy),
    );
    if tls {
        headers.insert(
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static(STRICT_TRANSPORT_SECURITY),
        );
    }
}

/// Requests without a token or session are limited by the address they come from, as a token's are by
/// its caller (`api::access`), so that no one can spend the service's work anonymously:
/// everything outside the API (documentation, dashboard, metrics, unknown paths), whatever
/// its headers, and API requests without a token. A load balancer's probes (`GET` or `HEAD`
/// below `/health/`) are never refused for their number.
async fn limit_unauthenticated(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse, actix_web::Error> {
    let path = request.path();
    let probe = path.starts_with("/health/")
        && (request.method() == Method::GET || request.method() == Method::HEAD);
    if !probe
        && !judged_by_caller(request.request())
        && let Err(error) = limit_by_address(request.request())
    {
        return Ok(request.error_response(error));
    }
    Ok(next.call(request).await?.map_into_boxed_body())
}

/// Whether a request is left to its handler's caller to limit: an API request with a token
/// or a session cookie, judged as a token is (`api::access`), by its caller when valid, by
/// address when not.
fn judged_by_caller(request: &HttpRequest) -> bool {
    request.path().starts_with("/api/")
        && (request
            .headers()
            .contains_key(actix_web::http::header::AUTHORIZATION)
            || request.cookie(api::access::SESSION_COOKIE).is_some())
}

fn limit_by_address(request: &HttpRequest) -> Result<(), AppError> {
    match request
        .app_data::<web::Data<AppState>>()
        .and_then(|state| state.rate_limiter.as_ref())
    {
        Some(limiter) => limiter
            .check(&api::access::address_of(request), 1)
            .map_err(AppError::TooManyRequests),
        None => Ok(()),
    }
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
    // No handler here names a caller to limit, so a token or cookie let past the address
    // limit for one counts against the address after all.
    if judged_by_caller(&request) {
        limit_by_address(&request)?;
    }
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
        .service(
            SwaggerUi::new("/docs/{_:.*}")
                .url("/openapi.json", document)
                // Its badge would send the document's address to swagger.io, and the
                // policy refuses the image anyway.
                .config(utoipa_swagger_ui::Config::default().validator_url("none")),
        )
        .service(docs_redirect)
        .configure(crate::dashboard::configure)
        .configure(api::sign_in::configure)
        .configure(api::pxweb::configure)
        .default_service(web::to(unknown_route))
        .wrap(from_fn(limit_unauthenticated))
        .wrap(from_fn(api::pxweb::normalise_path))
        .wrap(cors(&state_cors_origins))
        .wrap(from_fn(request_context))
}

/// Serves HTTP until SIGTERM or Ctrl-C, then finishes the requests in flight.
pub async fn serve(state: AppState) -> std::io::Result<()> {
    let bind = state.config.bind;
    let state = web::Data::new(state);
    // Loaded beside the server rather than before it: questions asked meanwhile wait for it
    // (or, off or over its cap, are computed in SQL).
    let loading = state.clone();
    std::thread::spawn(move || loading.load_aggregate_index());
    tracing::info!(%bind, "serving; get a token with `uppfoljning token --role admin`");
    actix_web::HttpServer::new(move || build_app(state.clone()))
        // A client that closes its connection gives up its request: the handler is dropped
        // with its place in the queues, rather than computed for nobody.
        .h1_allow_half_closed(false)
        .bind(bind)?
        .shutdown_timeout(30)
        .run()
        .await
}

#[cfg(test)]
mod tests {
    use actix_web::{App, test, web};

    use super::*;

    #[actix_web::test]
    async fn logged_text_is_cut_and_labels_are_known_methods() {
        assert_eq!(logged("/health/live"), "/health/live");
        let long = "å".repeat(LOGGED_CHARS * 10);
        let cut = logged(&long);
        assert_eq!(cut.chars().count(), LOGGED_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(
            method_label(&Method::from_bytes(b"M00001").unwrap()),
            "other"
        );
    }

    #[actix_web::test]
    async fn a_panicking_handler_is_a_500_problem_with_the_request_id() {
        let app = test::init_service(
            App::new()
                .route(
                    "/panics",
                    web::get().to(|| async {
                        panic!("provoked by the test");
                        #[allow(unreachable_code)]
                        HttpResponse::Ok().finish()
                    }),
                )
                .wrap(from_fn(request_context)),
        )
        .await;
        let request = test::TestRequest::get()
            .uri("/panics")
            .insert_header(("x-request-id", "lb-panic-1"))
            .to_request();
        // The server turns an error into its response exactly so.
        let response = match test::try_call_service(&app, request).await {
            Ok(response) => response.into_parts().1,
            Err(error) => error.error_response(),
        };
        assert_eq!(response.status(), 500);
        let headers = response.headers();
        assert_eq!(headers.get("x-request-id").unwrap(), "lb-panic-1");
        assert_eq!(
            headers.get("content-type").unwrap(),
            crate::error::PROBLEM_JSON
        );
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
        let body = actix_web::body::to_bytes(response.into_body())
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(body["type"], "urn:uppfoljning:problem:internal");
        assert!(
            !body.to_string().contains("provoked"),
            "the cause is logged, never sent"
        );
    }
}
