//! The qualitative part, read across projects: progress, lessons and deviations.

use actix_web::{HttpRequest, HttpResponse, get, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::access::{Authorized, NarrativeRead};
use crate::api::extract::parse_as_of;
use crate::api::formats::{csv_attachment, csv_document, neutralise, wants_csv};
use crate::api::pagination::Page;
use crate::auth::Role;
use crate::db;
use crate::domain::codes::RegionCode;
use crate::domain::period::PeriodSpan;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct NarrativeItem {
    pub region: String,
    pub project_ref: String,
    pub project_title: String,
    pub period: String,
    pub progress: String,
    pub lessons: String,
    pub deviations: String,
    pub updated_at: DateTime<Utc>,
}

#[derive(Serialize, ToSchema)]
pub struct NarrativePage {
    pub items: Vec<NarrativeItem>,
    pub page: i64,
    pub page_size: i64,
    pub total: i64,
}

pub const MAX_QUERY_CHARS: usize = 200;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct NarrativeParams {
    /// `YYYY`, `YYYYH1`, `YYYYH2` or a range.
    pub period: Option<String>,
    /// Län code. A region token sees only its own region.
    pub region: Option<String>,
    /// Text to find (case-insensitive) in the narrative or the project's title.
    pub q: Option<String>,
    #[param(minimum = 1)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<i64>,
    /// `json` (default, one page) or `csv` (every matching narrative in one file; `page`
    /// and `page_size` do not apply).
    pub format: Option<String>,
    /// The narratives as they stood at this instant (RFC 3339), as of the last write
    /// committed by then; `updated_at` is then the instant their texts were committed.
    pub as_of: Option<String>,
}

/// Narratives by region, project and period, filtered and searched, a page at a time.
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    params(NarrativeParams),
    responses((status = 200, description = "One page of narratives, or all of them as CSV", content(
        (NarrativePage = "application/json"),
        (inline(crate::api::formats::Binary) = "text/csv"),
    )))
)]
#[get("/narratives")]
pub async fn list_narratives(
    caller: Authorized<NarrativeRead>,
    state: web::Data<AppState>,
    params: web::Query<NarrativeParams>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let params = params.into_inner();
    let csv = wants_csv(params.format.as_deref(), &request)?;
    let page = Page::checked(params.page, params.page_size)?;
    let periods: Vec<String> = match &params.period {
        None => Vec::new(),
        Some(text) => PeriodSpan::parse(text)
            .ok_or_else(|| {
                AppError::invalid(
                    "period",
                    "invalid_period",
                    "must be YYYY, YYYYH1, YYYYH2 or a range",
                )
            })?
            .half_years
            .iter()
            .map(|h| h.to_string())
            .collect(),
    };
    let asked = match &params.region {
        None => None,
        Some(text) => Some(RegionCode::parse(text).ok_or_else(|| {
            AppError::invalid("region", "unknown_region", format!("no region '{text}'"))
        })?),
    };
    let principal = caller.principal;
    let regions: Vec<String> = match (principal.role, principal.region, asked) {
        (Role::Region, Some(own), Some(asked)) if own != asked => {
            return Err(AppError::Forbidden(
                "a region token reads only its own region".into(),
            ));
        }
        (Role::Region, Some(own), _) => vec![own.to_string()],
        (_, _, asked) => asked.into_iter().map(|r| r.to_string()).collect(),
    };
    let needle = match params.q {
        Some(q) if q.chars().count() > MAX_QUERY_CHARS => {
            return Err(AppError::invalid(
                "q",
                "too_long",
                format!("at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        Some(q) => q.trim().to_lowercase(),
        None => String::new(),
    };
    let as_of = parse_as_of(params.as_of.as_deref())?;
    let listings = state
        .db(move |conn| match as_of {
            None => Ok(db::narratives::list(conn, &periods, &regions)?),
            Some(time) => db::read_transaction(conn, |conn| {
                let version = db::data_version::as_of(conn, time.naive_utc())?;
                Ok(db::narratives::list_at(conn, &periods, &regions, version)?)
            }),
        })
        .await?;
    // Searched here rather than in SQL: SQLite's lower() knows only ASCII, and å, ä, ö
    // must match whatever their case.
    let matching: Vec<_> = listings
        .into_iter()
        .filter(|n| {
            needle.is_empty()
                || [&n.title, &n.row.progress, &n.row.lessons, &n.row.deviations]
                    .iter()
                    .any(|text| text.to_lowercase().contains(&needle))
        })
        .collect();
    let items = matching.into_iter().map(|n| NarrativeItem {
        region: n.region,
        project_ref: n.project_ref,
        project_title: n.title,
        period: n.row.period,
        progress: n.row.progress,
        lessons: n.row.lessons,
        deviations: n.row.deviations,
        updated_at: n.row.updated_at.and_utc(),
    });
    if csv {
        return Ok(csv_attachment("narratives", narratives_csv(items)?));
    }
    let total = items.len() as i64;
    let offset = usize::try_from(page.offset()).unwrap_or(usize::MAX);
    let items = items.skip(offset).take(page.size as usize).collect();
    Ok(HttpResponse::Ok().json(NarrativePage {
        items,
        page: page.page,
        page_size: page.size,
        total,
    }))
}

/// One line per narrative; every text cell neutralised, since titles and narratives are
/// free text that a spreadsheet would otherwise run as a formula.
fn narratives_csv(items: impl Iterator<Item = NarrativeItem>) -> Result<Vec<u8>, AppError> {
    let header = [
        "region",
        "project_ref",
        "project_title",
        "period",
        "progress",
        "lessons",
        "deviations",
        "updated_at",
    ]
    .map(String::from);
    let records = items.map(|item| {
        [
            item.region,
            item.project_ref,
            item.project_title,
            item.period,
            item.progress,
            item.lessons,
            item.deviations,
            item.updated_at.to_rfc3339(),
        ]
        .iter()
        .map(|text| neutralise(text))
        .collect()
    });
    csv_document(&header, records)
}
