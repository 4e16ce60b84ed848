//! The PxWeb API 2 (`PxTools/PxApiSpecs`, `PxAPI-2.yml`) at `/pxweb/api/v2`: the published
//! snapshots as statistical tables that PxWeb's clients (pxwebpy, R pxweb, PxWeb's own web
//! front end) read unchanged. Read-only and without a token; requests are rate limited by
//! address as every request without a token is (`app.rs`). Paths and parameter names are
//! matched without regard to case, as the reference server's are; unknown parameters are
//! ignored. The tables are built by `service::pxweb` and `domain::pxweb`; this module
//! reads requests and writes answers.

mod answers;
mod files;
mod params;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Uri;
use actix_web::http::header::ContentType;
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::api::conditional::{self, Conditional};
use crate::domain::pxweb::selection::{self, Request};
use crate::domain::pxweb::table::Table;
use crate::error::AppError;
use crate::service;
use crate::state::AppState;

use params::{Params, refused};

pub const ROOT: &str = "/pxweb/api/v2";

/// The output formats served; the first is the default.
pub const FORMATS: [&str; 3] = ["json-stat2", "csv", "xlsx"];

/// Tables per page when a request names no page size.
const DEFAULT_PAGE_SIZE: i64 = 20;

pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::scope(ROOT)
            .route("/config", web::get().to(get_config))
            .route("/tables", web::get().to(list_tables))
            .route("/tables/{id}", web::get().to(get_table))
            .route("/tables/{id}/metadata", web::get().to(get_metadata))
            .route(
                "/tables/{id}/defaultselection",
                web::get().to(get_default_selection),
            )
            .route("/tables/{id}/data", web::get().to(get_data))
            .route("/tables/{id}/data", web::post().to(post_data)),
    );
}

/// Lowercases the path of a PxWeb request, and drops a trailing slash, before it is routed
/// (actix matches paths exactly; PxWeb's clients and SCB's links write `/codeLists`,
/// `/tables/`); table ids are then matched without regard to case.
pub async fn normalise_path(
    mut request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let path = request.path().to_ascii_lowercase();
    if path.starts_with("/pxweb/") && path != request.path().trim_end_matches('/') {
        let path = match path.trim_end_matches('/') {
            "" => "/",
            trimmed => trimmed,
        };
        let path_and_query = match request.query_string() {
            "" => path.to_string(),
            query => format!("{path}?{query}"),
        };
        let mut parts = request.head().uri.clone().into_parts();
        if let Ok(rewritten) = path_and_query.parse() {
            parts.path_and_query = Some(rewritten);
            if let Ok(uri) = Uri::from_parts(parts) {
                request.match_info_mut().get_mut().update(&uri);
                request.head_mut().uri = uri;
            }
        }
    }
    next.call(request).await
}

/// The API's address as this request reached it, for links.
fn base(request: &HttpRequest) -> String {
    let info = request.connection_info();
    format!("{}://{}{ROOT}", info.scheme(), info.host())
}

fn not_found(title: &'static str, detail: String) -> AppError {
    AppError::PxWeb {
        status: 404,
        title,
        detail,
    }
}

async fn all_tables(state: &AppState) -> Result<Vec<Table>, AppError> {
    state.db(service::pxweb::tables).await
}

async fn one_table(state: &AppState, id: String) -> Result<Table, AppError> {
    let asked = id.clone();
    state
        .db(move |conn| service::pxweb::find(conn, &asked))
        .await?
        .ok_or_else(|| not_found("Non-existent table", format!("no published table '{id}'")))
}

async fn get_config(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok().json(answers::config(
        state.config.pxweb_max_data_cells,
        state.config.rate_limit_per_second,
    ))
}

/// `GET /tables`: `query` (every word in the id or the label), `pastDays`, `pageNumber`,
/// `pageSize` (20 when absent or not positive; no upper bound, as clients ask for every
/// table in one page).
async fn list_tables(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let params = Params::parse(request.query_string())?;
    let language = params.language()?;
    let words: Vec<String> = params
        .get("query")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_lowercase)
        .collect();
    let past_days = params.number("pastdays")?;
    let page_number = params.number("pagenumber")?.filter(|n| *n > 0).unwrap_or(1);
    let page_size = params
        .number("pagesize")?
        .filter(|n| *n > 0)
        .unwrap_or(DEFAULT_PAGE_SIZE);
    let now = chrono::Utc::now();
    let tables: Vec<Table> = all_tables(&state)
        .await?
        .into_iter()
        .filter(|table| {
            let text = format!("{} {}", table.id, table.label(language)).to_lowercase();
            words.iter().all(|word| text.contains(word.as_str()))
        })
        .filter(|table| {
            // A million days reach back before any table; more would overflow the calendar.
            past_days.is_none_or(|days| {
                table.updated() >= now - chrono::Duration::days(days.clamp(-1_000_000, 1_000_000))
            })
        })
        .collect();
    let total = tables.len() as i64;
    // Rounded up without adding to a page size that may be as large as an i64 holds.
    let pages = total / page_size + i64::from(total % page_size > 0);
    if page_number > pages.max(1) {
        return Err(not_found(
            "Non-existent page",
            format!("page {page_number} of {pages}"),
        ));
    }
    let base = base(&request);
    let page_link = |rel: &str, number: i64| {
        let mut href = format!(
            "{base}/tables?lang={}&pageSize={page_size}&pageNumber={number}",
            language.code()
        );
        if let Some(query) = params.get("query") {
            href.push_str("&query=");
            href.push_str(&url_escape(query));
        }
        answers::link(rel, language, href)
    };
    let mut links = Vec::new();
    if pages > 0 {
        links.push(page_link("first", 1));
        if page_number > 1 {
            links.push(page_link("prev", page_number - 1));
        }
        if page_number < pages {
            links.push(page_link("next", page_number + 1));
        }
        links.push(page_link("last", pages));
    }
    let listed: Vec<_> = tables
        .iter()
        .skip(((page_number - 1) * page_size) as usize)
        .take(page_size as usize)
        .map(|table| answers::table(table, language, &base))
        .collect();
    Ok(HttpResponse::Ok().json(json!({
        "language": language.code(),
        "tables": listed,
        "page": {
            "pageNumber": page_number,
            "pageSize": page_size,
            "totalElements": total,
            "totalPages": pages,
            "links": links,
        },
        "links": [page_link("self", page_number)],
    })))
}

/// A query value written into a link.
fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn get_table(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let language = Params::parse(request.query_string())?.language()?;
    let table = one_table(&state, id.into_inner()).await?;
    let mut answer = answers::table(&table, language, &base(&request));
    answer["language"] = json!(language.code());
    Ok(HttpResponse::Ok().json(answer))
}

/// `GET /tables/{id}/metadata`: the table as a JSON-stat 2.0 dataset without values.
async fn get_metadata(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let language = Params::parse(request.query_string())?.language()?;
    let table = one_table(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(answers::metadata(&table, language)))
}

/// `GET /tables/{id}/defaultselection`: what a data request without a selection answers.
async fn get_default_selection(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let language = Params::parse(request.query_string())?.language()?;
    let table = one_table(&state, id.into_inner()).await?;
    let chosen = resolve(&table, &selection::default_request(), usize::MAX)?;
    let names = |variables: &[usize]| -> Vec<&str> {
        variables.iter().map(|v| table.variables[*v].code).collect()
    };
    let selections: Vec<_> = chosen
        .shown()
        .iter()
        .map(|v| {
            let variable = &table.variables[*v];
            json!({
                "variableCode": variable.code,
                "valueCodes": chosen.taken[*v]
                    .iter()
                    .map(|c| variable.categories[*c].code.as_str())
                    .collect::<Vec<_>>(),
            })
        })
        .collect();
    let href = format!(
        "{}/tables/{}/defaultselection?lang={}",
        base(&request),
        table.id,
        language.code()
    );
    Ok(HttpResponse::Ok().json(json!({
        "language": language.code(),
        "selection": selections,
        "placement": {"heading": names(&chosen.heading), "stub": names(&chosen.stub)},
        "links": [answers::link("self", language, href)],
    })))
}

/// `GET /tables/{id}/data`: the selection in `valuecodes[VAR]`, `codelist[VAR]`,
/// `heading` and `stub`; without values selected, the default selection.
async fn get_data(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let params = Params::parse(request.query_string())?;
    let asked = params.selection()?;
    let question = format!("GET {}", request.query_string());
    data(&state, &request, &params, id.into_inner(), asked, question).await
}

/// `POST /tables/{id}/data`: the selection and placement in the body (`VariablesSelection`);
/// an empty body or selection gives the default selection.
async fn post_data(
    state: web::Data<AppState>,
    request: HttpRequest,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, AppError> {
    let params = Params::parse(request.query_string())?;
    let asked = params::body_selection(&body)?;
    let question = format!(
        "POST {} {}",
        request.query_string(),
        String::from_utf8_lossy(&body)
    );
    data(&state, &request, &params, id.into_inner(), asked, question).await
}

fn resolve(
    table: &Table,
    request: &Request,
    max_cells: usize,
) -> Result<selection::Selection, AppError> {
    selection::resolve(table, request, max_cells).map_err(|error| {
        let status = match error {
            // The specification's answer to too many cells.
            selection::SelectionError::TooManyCells { .. } => 403,
            _ => 400,
        };
        AppError::PxWeb {
            status,
            title: error.title(),
            detail: error.detail(),
        }
    })
}

/// The data of table `id`; `question` names what was asked (query and body), for the
/// answer's ETag.
async fn data(
    state: &AppState,
    http: &HttpRequest,
    params: &Params,
    id: String,
    asked: Option<Request>,
    question: String,
) -> Result<HttpResponse, AppError> {
    let language = params.language()?;
    let format = match params.get("outputformat") {
        None => FORMATS[0].to_string(),
        Some(format) => format.to_ascii_lowercase(),
    };
    if !FORMATS.contains(&format.as_str()) {
        return Err(refused(
            "Unsupported output format",
            format!("'{format}' is not served: json-stat2, csv or xlsx"),
        ));
    }
    let format_params = params.list("outputformatparams");
    let layout = match format.as_str() {
        "json-stat2" if !format_params.is_empty() => {
            return Err(refused(
                "Unsupported output format parameter",
                "json-stat2 takes no outputFormatParams",
            ));
        }
        "json-stat2" => None,
        csv_or_xlsx => Some(files::Layout::parse(&format_params, csv_or_xlsx == "csv")?),
    };
    let table = one_table(state, id).await?;
    let sources: Vec<(&str, &str)> = table
        .sources
        .iter()
        .map(|source| (source.snapshot_id.as_str(), source.sha256.as_str()))
        .collect();
    let last_published = table
        .sources
        .iter()
        .map(|source| source.published_at.naive_utc())
        .max()
        .unwrap_or_default();
    let identity = format!("pxweb {} {sources:?} {question}", table.id);
    let validators = match conditional::published_tables(http, &identity, last_published) {
        Conditional::NotModified(response) => return Ok(response),
        Conditional::Answer(validators) => validators,
    };
    let request = match asked {
        Some(request) => request,
        None => {
            let mut request = selection::default_request();
            let (heading, stub) = (params.list("heading"), params.list("stub"));
            if !(heading.is_empty() && stub.is_empty()) {
                (request.heading, request.stub) = (heading, stub);
            }
            request
        }
    };
    let chosen = resolve(&table, &request, state.config.pxweb_max_data_cells)?;
    let file = |extension: &str| format!("inline; filename=\"{}.{extension}\"", table.id);
    Ok(validators.send(match (format.as_str(), layout) {
        ("csv", Some(layout)) => HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .insert_header(("Content-Disposition", file("csv")))
            .body(files::csv(&table, &chosen, &layout, language)?),
        ("xlsx", Some(layout)) => HttpResponse::Ok()
            .content_type(crate::api::formats::XLSX)
            .insert_header(("Content-Disposition", file("xlsx")))
            .body(files::xlsx(&table, &chosen, &layout, language)?),
        _ => HttpResponse::Ok()
            .insert_header(ContentType(
                "application/json; charset=UTF-8"
                    .parse()
                    .expect("a media type"),
            ))
            .insert_header(("Content-Disposition", file("json")))
            .body(answers::data(&table, language, &chosen).to_string()),
    }))
}
