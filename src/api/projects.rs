//! A region's projects: create or replace one, list them, read one with its values and
//! narratives, and the history of its values.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{get, put, web};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::api::access::{Authorized, RegionRead, RegionWrite};
use crate::api::extract::{JsonBody, parse_as_of, parse_region};
use crate::api::pagination::Page;
use crate::db::projects::{ProjectFilter, StoredProject};
use crate::db::{self, DbConnection};
use crate::domain::decimal::from_scaled;
use crate::domain::period::PeriodId;
use crate::domain::search::{MAX_SEARCH_CHARS, Search, SearchError};
use crate::domain::submission::Rejection;
use crate::domain::submission::input::ProjectInput;
use crate::domain::submission::records::{Change, PlanRecord, ProjectRecord};
use crate::domain::validation::FieldError;
use crate::error::{AppError, Problem};
use crate::service::{self, submissions};
use crate::state::AppState;

fn utc(time: NaiveDateTime) -> DateTime<Utc> {
    time.and_utc()
}

#[derive(Serialize, ToSchema)]
pub struct Plan {
    pub indicator: String,
    pub baseline: Option<Decimal>,
    pub baseline_year: Option<i64>,
    pub target: Option<Decimal>,
    pub goal: Option<String>,
    pub source: Option<String>,
}

impl From<PlanRecord> for Plan {
    fn from(plan: PlanRecord) -> Plan {
        Plan {
            indicator: plan.indicator,
            baseline: plan.baseline.map(from_scaled),
            baseline_year: plan.baseline_year,
            target: plan.target.map(from_scaled),
            goal: plan.goal,
            source: plan.source,
        }
    }
}

/// What a project is: its classification, dates, amounts and indicator plans.
#[derive(Serialize, ToSchema)]
pub struct ProjectDescription {
    pub title: String,
    pub organisation: String,
    pub status: String,
    pub project_type: String,
    pub sakomrade: String,
    pub fokusomrade: Option<String>,
    pub effektkedja: String,
    pub branscher: Vec<String>,
    pub verktyg: Vec<String>,
    pub syften: Vec<String>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    pub granted_sek: i64,
    pub total_budget_sek: i64,
    pub indicators: Vec<Plan>,
}

impl From<ProjectRecord> for ProjectDescription {
    fn from(record: ProjectRecord) -> ProjectDescription {
        ProjectDescription {
            title: record.title,
            organisation: record.organisation,
            status: record.status,
            project_type: record.project_type,
            sakomrade: record.sakomrade,
            fokusomrade: record.fokusomrade,
            effektkedja: record.effektkedja,
            branscher: record.branscher,
            verktyg: record.verktyg,
            syften: record.syften,
            start_date: record.start_date,
            end_date: record.end_date,
            granted_sek: record.granted_sek,
            total_budget_sek: record.total_budget_sek,
            indicators: record.plans.into_iter().map(Plan::from).collect(),
        }
    }
}

/// A project as stored.
#[derive(Serialize, ToSchema)]
pub struct Project {
    pub region: String,
    #[serde(rename = "ref")]
    pub project_ref: String,
    #[serde(flatten)]
    pub description: ProjectDescription,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Project {
    fn from_stored(stored: StoredProject) -> Project {
        Project {
            region: stored.row.region,
            project_ref: stored.record.project_ref.clone(),
            description: stored.record.into(),
            created_at: utc(stored.row.created_at),
            updated_at: utc(stored.row.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct BySex {
    pub kvinnor: Decimal,
    pub man: Decimal,
    pub ej_angivet: Decimal,
}

impl BySex {
    fn from_parts(
        kvinnor: Option<i64>,
        man: Option<i64>,
        ej_angivet: Option<i64>,
    ) -> Option<BySex> {
        Some(BySex {
            kvinnor: from_scaled(kvinnor?),
            man: from_scaled(man?),
            ej_angivet: from_scaled(ej_angivet?),
        })
    }
}

/// An actual value as stored.
#[derive(Serialize, ToSchema)]
pub struct ReportedValue {
    pub indicator: String,
    pub period: String,
    pub value: Decimal,
    pub by_sex: Option<BySex>,
    /// For distinct indicators: the organisationsnummer, normalised to ten digits.
    pub entities: Option<Vec<String>>,
    pub comment: Option<String>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
    pub submission_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Narrative {
    pub period: String,
    pub progress: String,
    pub lessons: String,
    pub deviations: String,
    pub updated_at: DateTime<Utc>,
    pub updated_by: String,
}

/// A project with its values and narratives.
#[derive(Serialize, ToSchema)]
pub struct ProjectDetail {
    #[serde(flatten)]
    pub project: Project,
    pub values: Vec<ReportedValue>,
    pub narratives: Vec<Narrative>,
}

/// One change in a project's history, of a value or of a narrative (`kind`). Each kind is
/// a schema of its own that names its kind, so that generated clients read the list as a
/// union of two models.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum HistoryEntry {
    Value(Revision),
    Narrative(NarrativeRevision),
}

/// What a history entry is a change of.
#[derive(Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    Value,
    Narrative,
}

/// A narrative's texts.
#[derive(Serialize, ToSchema, Clone)]
pub struct NarrativeTexts {
    pub progress: String,
    pub lessons: String,
    pub deviations: String,
}

/// One change of a narrative: its texts before and after.
#[derive(Serialize, ToSchema)]
pub struct NarrativeRevision {
    /// `narrative`.
    pub kind: ChangeKind,
    pub period: String,
    /// None when the narrative was first written.
    pub old: Option<NarrativeTexts>,
    pub new: NarrativeTexts,
    /// The instant the change was committed: `as_of` this instant reads it, an instant
    /// before does not.
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
}

/// One change of a value.
#[derive(Serialize, ToSchema)]
pub struct Revision {
    /// `value`.
    pub kind: ChangeKind,
    pub indicator: String,
    pub period: String,
    /// None when the value was first reported.
    pub old_value: Option<Decimal>,
    pub new_value: Decimal,
    pub by_sex: Option<BySex>,
    pub entities: Option<Vec<String>>,
    pub comment: Option<String>,
    /// The instant the change was committed: `as_of` this instant reads it, an instant
    /// before does not.
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
    pub submission_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProjectPage {
    pub items: Vec<Project>,
    pub page: i64,
    pub page_size: i64,
    /// How many projects match the filters in all.
    pub total: i64,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProjectQuery {
    /// A status code.
    pub status: Option<String>,
    /// A project type code.
    pub project_type: Option<String>,
    pub sakomrade: Option<String>,
    pub fokusomrade: Option<String>,
    pub effektkedja: Option<String>,
    /// Only projects with this bransch among theirs.
    pub bransch: Option<String>,
    /// Words (1 to 100 characters in all) that must each be part of the project's ref,
    /// title or organisation, in any case.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Only projects active in this period (`2026H1`, `2026`).
    pub period: Option<String>,
    /// From 1.
    #[param(minimum = 1)]
    pub page: Option<i64>,
    #[param(minimum = 1, maximum = 500)]
    pub page_size: Option<i64>,
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProjectDetailQuery {
    /// The project as it stood at this instant (RFC 3339): its classification, plans,
    /// values and narratives as of the last write committed by then.
    pub as_of: Option<String>,
}

/// Creates or replaces one project with its classification and indicator plans. Its values
/// and narratives are kept.
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    params(
        ("region" = String, Path, description = "Län code, such as 07"),
        ("ref" = String, Path, description = "The project's ref"),
    ),
    request_body = ProjectInput,
    responses(
        (status = 200, description = "Replaced (or unchanged)", body = Project),
        (status = 201, description = "Created", body = Project),
        (status = 404, description = "No such region", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The change would move figures of the region's signed-off (submitted or accepted) report of a half-year (`period-locked`, each error naming the field, the report and its state); nothing stored", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/regions/{region}/projects/{ref}")]
pub async fn put_project(
    caller: Authorized<RegionWrite>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    body: JsonBody<ProjectInput>,
) -> Result<(web::Json<Project>, StatusCode), AppError> {
    let (region, project_ref) = path.into_inner();
    let region = parse_region(&region)?;
    let input = body.0;
    if input.project_ref != project_ref {
        return Err(AppError::invalid(
            "ref",
            "ref_mismatch",
            "must equal the ref in the path",
        ));
    }
    let principal = caller.principal;
    let (project, change) = state
        .write(move |conn| {
            db::write_transaction(conn, |conn, write| {
                let change = submissions::store_project(conn, write, &region, &principal, input)?
                    .map_err(|rejection| match rejection {
                    Rejection::Locked(errors) => {
                        AppError::Locked(errors.into_iter().map(unprefixed).collect())
                    }
                    Rejection::Invalid(errors) | Rejection::Stale(errors) => {
                        AppError::Invalid(errors.into_iter().map(unprefixed).collect())
                    }
                })?;
                let project = load_project(conn, region.as_str(), &project_ref)?
                    .ok_or_else(|| AppError::Internal("stored project not found".into()))?;
                Ok((project, change))
            })
        })
        .await?;
    let status = if change == Change::Created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((web::Json(project), status))
}

/// `projects[0].title` → `title`: a single project's fields, named as in its body.
fn unprefixed(error: FieldError) -> FieldError {
    FieldError {
        index: None,
        field: error
            .field
            .strip_prefix("projects[0].")
            .unwrap_or(&error.field)
            .to_string(),
        ..error
    }
}

/// Reads with `read` what is stored of the project that the path `(region, ref)` names; a
/// region or ref that names none is a 404.
pub async fn read_project<T: Send + 'static>(
    state: &AppState,
    (region, project_ref): (String, String),
    read: fn(&mut DbConnection, i64) -> diesel::QueryResult<T>,
) -> Result<T, AppError> {
    let region = parse_region(&region)?;
    state
        .db(move |conn| {
            let id = db::projects::find_id(conn, region.as_str(), &project_ref)?
                .ok_or_else(|| AppError::NotFound("no such project".into()))?;
            Ok(read(conn, id)?)
        })
        .await
}

fn load_project(
    conn: &mut DbConnection,
    region: &str,
    project_ref: &str,
) -> Result<Option<Project>, AppError> {
    let Some(id) = db::projects::find_id(conn, region, project_ref)? else {
        return Ok(None);
    };
    Ok(db::projects::load(conn, &[id])?
        .remove(&id)
        .map(Project::from_stored))
}

/// A region's projects, by ref, a page at a time: filtered by their classification and
/// searched by ref, title and organisation.
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    params(("region" = String, Path, description = "Län code, such as 07"), ProjectQuery),
    responses(
        (status = 200, description = "One page of projects", body = ProjectPage),
        (status = 404, description = "No such region", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/regions/{region}/projects")]
pub async fn list_projects(
    _caller: Authorized<RegionRead>,
    state: web::Data<AppState>,
    region: web::Path<String>,
    query: web::Query<ProjectQuery>,
) -> Result<web::Json<ProjectPage>, AppError> {
    let region = parse_region(&region)?;
    let query = query.into_inner();
    let page = Page::checked(query.page, query.page_size)?;
    let active_between = match &query.period {
        None => None,
        Some(text) => {
            let id = PeriodId::parse(text).ok_or_else(|| {
                AppError::invalid(
                    "period",
                    "invalid_period",
                    "must be like 2026H1, 2026H2 or 2026",
                )
            })?;
            Some((id.start_date(), id.end_date()))
        }
    };
    let search = query.q.as_deref().map(parse_search).transpose()?;
    let filter = ProjectFilter {
        status: query.status,
        project_type: query.project_type,
        sakomrade: query.sakomrade,
        fokusomrade: query.fokusomrade,
        effektkedja: query.effektkedja,
        bransch: query.bransch,
        active_between,
    };
    let (offset, page_size) = (page.offset(), page.size);
    let (items, total) = state
        .db(move |conn| {
            let list = service::projects::list(
                conn,
                region.as_str(),
                &filter,
                search.as_ref(),
                (offset, page_size),
            )?;
            let items = list.items.into_iter().map(Project::from_stored).collect();
            Ok((items, list.total))
        })
        .await?;
    Ok(web::Json(ProjectPage {
        items,
        page: page.page,
        page_size,
        total,
    }))
}

fn parse_search(text: &str) -> Result<Search, AppError> {
    Search::parse(text).map_err(|error| {
        let (code, message) = match error {
            SearchError::Empty => ("required", "must contain a word".to_string()),
            SearchError::TooLong => (
                "too_long",
                format!("must be at most {MAX_SEARCH_CHARS} characters"),
            ),
            SearchError::ControlCharacter => (
                "control_character",
                "must not contain control characters".to_string(),
            ),
        };
        AppError::invalid("q", code, message)
    })
}

/// One project with its indicator plans, values and narratives; with `as_of`, as they stood
/// then (their `updated_at` is then the instant their change was committed).
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    params(
        ("region" = String, Path, description = "Län code, such as 07"),
        ("ref" = String, Path, description = "The project's ref"),
        ProjectDetailQuery,
    ),
    responses(
        (status = 200, description = "The project", body = ProjectDetail),
        (status = 404, description = "No such region or project (at `as_of`)", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/regions/{region}/projects/{ref}")]
pub async fn get_project(
    _caller: Authorized<RegionRead>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
    query: web::Query<ProjectDetailQuery>,
) -> Result<web::Json<ProjectDetail>, AppError> {
    let (region, project_ref) = path.into_inner();
    let region = parse_region(&region)?;
    let as_of = parse_as_of(query.as_of.as_deref())?;
    let detail = state
        .db(move |conn| {
            let Some(id) = db::projects::find_id(conn, region.as_str(), &project_ref)? else {
                return Ok(None);
            };
            match as_of {
                None => Ok(detail_now(conn, id)?),
                Some(time) => db::read_transaction(conn, |conn| {
                    let version = db::data_version::as_of(conn, time.naive_utc())?;
                    detail_at(conn, id, region.as_str(), &project_ref, version)
                }),
            }
        })
        .await?;
    detail
        .map(web::Json)
        .ok_or_else(|| AppError::NotFound("no such project".into()))
}

/// The project `id` as it is.
fn detail_now(conn: &mut DbConnection, id: i64) -> diesel::QueryResult<Option<ProjectDetail>> {
    let Some(stored) = db::projects::load(conn, &[id])?.remove(&id) else {
        return Ok(None);
    };
    let mut values: Vec<ReportedValue> = db::values::load_for_projects(conn, &[id])?
        .into_values()
        .map(|stored| ReportedValue {
            indicator: stored.row.indicator,
            period: stored.row.period,
            value: from_scaled(stored.row.value),
            by_sex: BySex::from_parts(stored.row.kvinnor, stored.row.man, stored.row.ej_angivet),
            entities: (!stored.entities.is_empty()).then_some(stored.entities),
            comment: stored.row.comment,
            updated_at: utc(stored.row.updated_at),
            updated_by: stored.row.updated_by,
            submission_id: stored.row.submission_id,
        })
        .collect();
    values.sort_by(|a, b| (&a.indicator, &a.period).cmp(&(&b.indicator, &b.period)));
    let mut narratives: Vec<Narrative> = db::narratives::load_for_projects(conn, &[id])?
        .into_values()
        .map(|row| Narrative {
            period: row.period,
            progress: row.progress,
            lessons: row.lessons,
            deviations: row.deviations,
            updated_at: utc(row.updated_at),
            updated_by: row.updated_by,
        })
        .collect();
    narratives.sort_by(|a, b| a.period.cmp(&b.period));
    Ok(Some(ProjectDetail {
        project: Project::from_stored(stored),
        values,
        narratives,
    }))
}

/// The project `id` as it stood at data version `version`, from its history and the
/// revisions of its values and narratives; None if it did not exist then.
fn detail_at(
    conn: &mut DbConnection,
    id: i64,
    region: &str,
    project_ref: &str,
    version: i64,
) -> Result<Option<ProjectDetail>, AppError> {
    let versions = db::history::project_versions(conn, id)?;
    let created_at = match versions.first() {
        Some((first, _)) => utc(first.changed_at),
        None => return Ok(None),
    };
    let Some((then, record)) = versions
        .into_iter()
        .find(|(was, _)| was.valid_from <= version && was.valid_to.is_none_or(|to| to > version))
    else {
        return Ok(None);
    };
    let revisions = db::values::as_of(conn, &[id], version)?;
    let narrative_revisions = db::narratives::as_of(conn, &[id], version)?;
    let written: Vec<i64> = revisions
        .values()
        .map(|row| row.version)
        .chain(narrative_revisions.values().map(|row| row.version))
        .collect();
    let stamps = db::data_version::stamps(conn, &written)?;
    let stamp = |version: i64| {
        stamps
            .get(&version)
            .map(|at| utc(*at))
            .ok_or_else(|| AppError::Internal(format!("data version {version} has no stamp")))
    };
    let mut values = Vec::new();
    for row in revisions.into_values() {
        values.push(ReportedValue {
            updated_at: stamp(row.version)?,
            indicator: row.indicator,
            period: row.period,
            value: from_scaled(row.new_value),
            by_sex: BySex::from_parts(row.new_kvinnor, row.new_man, row.new_ej_angivet),
            entities: stored_entities(row.new_entities)?,
            comment: row.comment,
            updated_by: row.changed_by,
            submission_id: row.submission_id,
        });
    }
    values.sort_by(|a, b| (&a.indicator, &a.period).cmp(&(&b.indicator, &b.period)));
    let mut narratives = Vec::new();
    for row in narrative_revisions.into_values() {
        narratives.push(Narrative {
            updated_at: stamp(row.version)?,
            period: row.period,
            progress: row.progress,
            lessons: row.lessons,
            deviations: row.deviations,
            updated_by: row.changed_by,
        });
    }
    narratives.sort_by(|a, b| a.period.cmp(&b.period));
    Ok(Some(ProjectDetail {
        project: Project {
            region: region.to_string(),
            project_ref: project_ref.to_string(),
            description: record.into(),
            created_at,
            updated_at: utc(then.changed_at),
        },
        values,
        narratives,
    }))
}

/// A revision's enterprises, stored as a JSON list.
fn stored_entities(json: Option<String>) -> Result<Option<Vec<String>>, AppError> {
    json.map(|json| {
        serde_json::from_str(&json).map_err(|e| AppError::Internal(format!("stored entities: {e}")))
    })
    .transpose()
}

/// Every change of the project's values and narratives, oldest first (in the order they
/// were committed; within one write, values before narratives).
#[utoipa::path(
    tag = "projects",
    security(("bearer" = [])),
    params(
        ("region" = String, Path, description = "Län code, such as 07"),
        ("ref" = String, Path, description = "The project's ref"),
    ),
    responses(
        (status = 200, description = "The changes", body = Vec<HistoryEntry>),
        (status = 404, description = "No such region or project", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/regions/{region}/projects/{ref}/history")]
pub async fn project_history(
    _caller: Authorized<RegionRead>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<web::Json<Vec<HistoryEntry>>, AppError> {
    let (values, narratives) = read_project(&state, path.into_inner(), histories).await?;
    let mut entries: Vec<(i64, HistoryEntry)> = Vec::new();
    for (row, committed_at) in values {
        let revision = Revision {
            kind: ChangeKind::Value,
            indicator: row.indicator,
            period: row.period,
            old_value: row.old_value.map(from_scaled),
            new_value: from_scaled(row.new_value),
            by_sex: BySex::from_parts(row.new_kvinnor, row.new_man, row.new_ej_angivet),
            entities: stored_entities(row.new_entities)?,
            comment: row.comment,
            changed_at: utc(committed_at),
            changed_by: row.changed_by,
            submission_id: row.submission_id,
        };
        entries.push((row.version, HistoryEntry::Value(revision)));
    }
    let mut latest: HashMap<String, NarrativeTexts> = HashMap::new();
    for (row, committed_at) in narratives {
        let texts = NarrativeTexts {
            progress: row.progress,
            lessons: row.lessons,
            deviations: row.deviations,
        };
        let revision = NarrativeRevision {
            kind: ChangeKind::Narrative,
            old: latest.insert(row.period.clone(), texts.clone()),
            period: row.period,
            new: texts,
            changed_at: utc(committed_at),
            changed_by: row.changed_by,
        };
        entries.push((row.version, HistoryEntry::Narrative(revision)));
    }
    // Stable: each kind keeps its own order within a version.
    entries.sort_by_key(|(version, _)| *version);
    Ok(web::Json(
        entries.into_iter().map(|(_, entry)| entry).collect(),
    ))
}

type ValueHistory = Vec<(db::values::RevisionRow, NaiveDateTime)>;
type NarrativeHistory = Vec<(db::narratives::NarrativeRevisionRow, NaiveDateTime)>;

/// The revisions of project `id`'s values and of its narratives, from one state.
fn histories(
    conn: &mut DbConnection,
    id: i64,
) -> diesel::QueryResult<(ValueHistory, NarrativeHistory)> {
    db::read_transaction(conn, |conn| {
        Ok((
            db::values::history(conn, id)?,
            db::narratives::history(conn, id)?,
        ))
    })
}
