//! The dashboard: static HTML, CSS and JavaScript embedded in the binary at build time and
//! served below `/dashboard/`. It draws the API's own answers in the browser; nothing here
//! computes a figure. The chart library is vendored, pinned, with its licence beside it.

use actix_web::{HttpResponse, guard, web};

use crate::error::AppError;

/// Every file of the dashboard: its path below `/dashboard/`, its media type and content.
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "",
        "text/html; charset=utf-8",
        include_bytes!("../dashboard/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../dashboard/app.js"),
    ),
    (
        "indikator.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../dashboard/indikator.js"),
    ),
    (
        "rapportering.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../dashboard/rapportering.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../dashboard/api.js"),
    ),
    (
        "ui.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../dashboard/ui.js"),
    ),
    (
        "projekt.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../dashboard/projekt.js"),
    ),
    (
        "format.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../dashboard/format.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_bytes!("../dashboard/style.css"),
    ),
    (
        "vendor/chart-4.5.1.umd.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../dashboard/vendor/chart-4.5.1.umd.min.js"),
    ),
];

/// The policy of the dashboard's pages: scripts, styles and API calls from the service
/// itself only, nothing inline, no forms sent anywhere, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

pub fn configure(config: &mut web::ServiceConfig) {
    let read = || web::route().guard(guard::Any(guard::Get()).or(guard::Head()));
    config
        .route("/", read().to(to_dashboard))
        .route("/dashboard", read().to(to_dashboard))
        .route("/dashboard/{file:.*}", read().to(file));
}

async fn to_dashboard() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/dashboard/"))
        .finish()
}

async fn file(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let wanted = path.into_inner();
    let (_, media_type, content) = FILES
        .iter()
        .find(|(name, _, _)| *name == wanted)
        .ok_or_else(|| AppError::NotFound(format!("no dashboard file '{wanted}'")))?;
    Ok(HttpResponse::Ok()
        .content_type(*media_type)
        .body(web::Bytes::from_static(content)))
}
