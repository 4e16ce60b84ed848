//! The code lists of a project's classification.

use actix_web::{get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::auth::{AnyRole, Authorized};
use crate::db;
use crate::db::reference::CodeRow;
use crate::domain::codes::Dimension;
use crate::error::AppError;

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
