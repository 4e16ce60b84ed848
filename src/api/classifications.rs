//! The code lists of a project's classification.

use actix_web::http::StatusCode;
use actix_web::{get, post, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::api::access::{AdminOnly, AnyRole, Authorized};
use crate::api::extract::JsonBody;
use crate::db;
use crate::db::reference::CodeRow;
use crate::domain::change::{Change, ChangeKind};
use crate::domain::codes::{Dimension, is_code_shaped};
use crate::domain::validation::{Errors, check_text};
use crate::error::{AppError, Problem};
use crate::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Code {
    #[schema(example = "innovation_foretagande")]
    pub code: String,
    pub label_sv: String,
    pub label_en: String,
}

#[derive(Serialize, ToSchema)]
pub struct FokusomradeCode {
    pub code: String,
    pub label_sv: String,
    pub label_en: String,
    /// The sakomrade this fokusomrade belongs to.
    pub sakomrade: String,
}

/// Every code list, keyed by dimension, each in its own order.
#[derive(Serialize, ToSchema, Default)]
pub struct Classifications {
    pub project_type: Vec<Code>,
    pub sakomrade: Vec<Code>,
    pub fokusomrade: Vec<FokusomradeCode>,
    pub effektkedja: Vec<Code>,
    pub bransch: Vec<Code>,
    pub verktyg: Vec<Code>,
    pub syfte: Vec<Code>,
    pub status: Vec<Code>,
    /// The levels of the results chain (effektkedjan), in order.
    pub levels: Vec<Code>,
    /// The parts of a sex breakdown.
    pub sex: Vec<Code>,
}

impl Classifications {
    fn from_rows(rows: Vec<CodeRow>) -> Classifications {
        let mut lists = Classifications::default();
        for row in rows {
            let Some(dimension) = Dimension::parse(&row.dimension) else {
                continue;
            };
            let code = Code {
                code: row.code,
                label_sv: row.label_sv,
                label_en: row.label_en,
            };
            let list = match dimension {
                Dimension::Fokusomrade => {
                    lists.fokusomrade.push(FokusomradeCode {
                        code: code.code,
                        label_sv: code.label_sv,
                        label_en: code.label_en,
                        sakomrade: row.parent_code.unwrap_or_default(),
                    });
                    continue;
                }
                Dimension::ProjectType => &mut lists.project_type,
                Dimension::Sakomrade => &mut lists.sakomrade,
                Dimension::Effektkedja => &mut lists.effektkedja,
                Dimension::Bransch => &mut lists.bransch,
                Dimension::Verktyg => &mut lists.verktyg,
                Dimension::Syfte => &mut lists.syfte,
                Dimension::Status => &mut lists.status,
                Dimension::Level => &mut lists.levels,
                Dimension::Sex => &mut lists.sex,
            };
            list.push(code);
        }
        lists
    }
}

/// Every code list of the classification, with Swedish and English labels.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    responses((status = 200, description = "The code lists", body = Classifications))
)]
#[get("/classifications")]
pub async fn list_classifications(
    _caller: Authorized<AnyRole>,
    state: web::Data<AppState>,
) -> Result<web::Json<Classifications>, AppError> {
    let rows = state
        .db(|conn| Ok(db::reference::list_codes(conn)?))
        .await?;
    Ok(web::Json(Classifications::from_rows(rows)))
}

/// A new code for one of the open lists.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CodeInput {
    /// Lowercase ASCII letters, digits and `_`, at most 64.
    #[schema(example = "gruvnaring")]
    pub code: String,
    pub label_sv: String,
    pub label_en: String,
    /// Required for a fokusomrade: the sakomrade it belongs to. Not allowed otherwise.
    #[serde(default)]
    pub sakomrade: Option<String>,
}

/// The answer to an added code.
#[derive(Serialize, ToSchema)]
pub struct CreatedCode {
    pub dimension: String,
    pub code: String,
    pub label_sv: String,
    pub label_en: String,
    pub sakomrade: Option<String>,
}

const MAX_LABEL_CHARS: usize = 200;

/// Adds a code to an open list: `bransch`, `verktyg`, `syfte` or `fokusomrade`.
#[utoipa::path(
    tag = "reference",
    security(("bearer" = [])),
    params(("dimension" = String, Path, description = "bransch, verktyg, syfte or fokusomrade")),
    request_body = CodeInput,
    responses(
        (status = 201, description = "Added", body = CreatedCode),
        (status = 404, description = "No such code list", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The code exists in the list", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/classifications/{dimension}")]
pub async fn add_code(
    caller: Authorized<AdminOnly>,
    state: web::Data<AppState>,
    dimension: web::Path<String>,
    body: JsonBody<CodeInput>,
) -> Result<(web::Json<CreatedCode>, StatusCode), AppError> {
    let dimension = Dimension::parse(&dimension)
        .ok_or_else(|| AppError::NotFound("no such code list".into()))?;
    let input = body.0;
    let mut errors = Errors::new();
    if !dimension.is_extendable() {
        errors.add(
            "dimension",
            "not_extendable",
            format!("{} is fixed by the national model", dimension.as_str()),
        );
    }
    if !is_code_shaped(&input.code) {
        errors.add(
            "code",
            "invalid_code",
            "must be 1 to 64 lowercase ASCII letters, digits or '_'",
        );
    }
    check_text(&mut errors, "label_sv", &input.label_sv, MAX_LABEL_CHARS);
    check_text(&mut errors, "label_en", &input.label_en, MAX_LABEL_CHARS);
    match (dimension, &input.sakomrade) {
        (Dimension::Fokusomrade, None) => errors.add(
            "sakomrade",
            "required",
            "a fokusomrade belongs to a sakomrade",
        ),
        (Dimension::Fokusomrade, Some(_)) => {}
        (_, Some(_)) => errors.add(
            "sakomrade",
            "not_allowed",
            "only a fokusomrade has a sakomrade",
        ),
        (_, None) => {}
    }
    errors.into_result().map_err(AppError::Invalid)?;
    tracing::info!(subject = %caller.principal.subject, dimension = dimension.as_str(), code = %input.code, "add code");
    let row = CodeRow {
        dimension: dimension.as_str().to_string(),
        code: input.code,
        label_sv: input.label_sv,
        label_en: input.label_en,
        parent_code: input.sakomrade,
    };
    let subject = caller.principal.name;
    let row = state
        .write(move |conn| {
            db::write_transaction(conn, |conn, write| {
                if let Some(sakomrade) = &row.parent_code
                    && !db::reference::code_exists(conn, Dimension::Sakomrade.as_str(), sakomrade)?
                {
                    return Err(AppError::invalid(
                        "sakomrade",
                        "unknown_code",
                        format!("no sakomrade '{sakomrade}'"),
                    ));
                }
                if db::reference::code_exists(conn, &row.dimension, &row.code)? {
                    return Err(AppError::Conflict(format!(
                        "{} already has the code {}",
                        row.dimension, row.code
                    )));
                }
                db::reference::insert_code(conn, &row)?;
                db::changes::record(
                    conn,
                    write,
                    &subject,
                    &[Change::new(ChangeKind::Classification, "created")
                        .item(format!("{}/{}", row.dimension, row.code))],
                )?;
                Ok(row)
            })
        })
        .await?;
    Ok((
        web::Json(CreatedCode {
            dimension: row.dimension,
            code: row.code,
            label_sv: row.label_sv,
            label_en: row.label_en,
            sakomrade: row.parent_code,
        }),
        StatusCode::CREATED,
    ))
}
