//! What a region's reporting template for a half-year holds: its projects active then, the
//! values each must or plans to report with what is stored, the enterprise lists, the
//! narratives, and the code lists for the drop-downs.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::db::{self, DbConnection};
use crate::domain::codes::RegionCode;
use crate::domain::decimal::from_scaled;
use crate::domain::indicator::Aggregation;
use crate::domain::period::{Closing, PeriodId, swedish_today};
use crate::domain::report::ReportState;
use crate::domain::submission::records::ProjectRecord;
use crate::error::AppError;
use crate::service::completeness::project_needs;
use crate::service::reports::{current_state, half_year};

/// One indicator a project reports for the half-year, with what is stored.
pub struct ValueLine {
    pub project_ref: String,
    pub indicator: String,
    pub name: String,
    pub unit: String,
    pub decimals: i64,
    pub by_sex: bool,
    pub value: Option<Decimal>,
    /// kvinnor, män, ej angivet.
    pub parts: Option<[Decimal; 3]>,
    pub comment: Option<String>,
}

/// One stored enterprise of a project's distinct-count indicator; the value's comment is
/// on the first of its list.
pub struct EnterpriseLine {
    pub project_ref: String,
    pub indicator: String,
    pub orgnr: String,
    pub comment: Option<String>,
}

pub struct Template {
    pub region: String,
    pub half_year: PeriodId,
    /// The data version of what the template holds.
    pub version: i64,
    /// The deadline that applies (its year's, when earlier), if any does.
    pub deadline: Option<NaiveDate>,
    /// The period whose lock or deadline closes the half-year for the region now.
    pub closed_by: Option<PeriodId>,
    pub state: ReportState,
    /// By ref, with their plans.
    pub projects: Vec<ProjectRecord>,
    /// Values that are numbers.
    pub values: Vec<ValueLine>,
    pub enterprises: Vec<EnterpriseLine>,
    /// The distinct indicators each project reports: (ref, indicator).
    pub enterprise_lists: Vec<(String, String)>,
    /// (ref, progress, lessons, deviations), one per project.
    pub narratives: Vec<(String, String, String, String)>,
    /// Code list → codes, for the drop-downs.
    pub codes: BTreeMap<String, Vec<String>>,
    /// Sakområde → its fokusområden, for the drop-down that depends on the sakområde.
    pub fokusomraden: BTreeMap<String, Vec<String>>,
}

pub fn template(
    conn: &mut DbConnection,
    region: &RegionCode,
    period: &str,
) -> Result<Template, AppError> {
    let version = db::data_version::current(conn)?;
    let half_year = half_year(conn, period)?;
    let periods = db::periods::list(conn)?;
    let locks = db::periods::locks(&periods);
    let closing = Closing::of(half_year, &locks)
        .ok_or_else(|| AppError::NotFound(format!("no half-year '{period}'")))?;
    let (state, _) = current_state(conn, region, period)?;
    let (needs, _) = project_needs(
        conn,
        &[half_year],
        half_year.start_date(),
        half_year.end_date(),
    )?;
    let needs: Vec<_> = needs
        .into_iter()
        .filter(|need| need.region == region.as_str())
        .collect();
    let ids: Vec<i64> = needs.iter().map(|need| need.id).collect();
    let mut stored_projects = db::projects::load(conn, &ids)?;
    let stored_values = db::values::load_for_projects(conn, &ids)?;
    let mut stored_narratives = db::narratives::load_for_projects(conn, &ids)?;
    let catalogue: BTreeMap<String, db::indicators::IndicatorRow> = db::indicators::list(conn)?
        .into_iter()
        .map(|(row, _)| (row.code.clone(), row))
        .collect();
    let mut template = Template {
        region: region.to_string(),
        half_year,
        version,
        deadline: closing.deadline().map(|(day, _)| day),
        closed_by: closing.closed_by(Some(region.as_str()), swedish_today()),
        state,
        projects: Vec::new(),
        values: Vec::new(),
        enterprises: Vec::new(),
        enterprise_lists: Vec::new(),
        narratives: Vec::new(),
        codes: BTreeMap::new(),
        fokusomraden: BTreeMap::new(),
    };
    for need in needs {
        let Some(project) = stored_projects.remove(&need.id) else {
            continue;
        };
        let project_ref = project.record.project_ref.clone();
        for code in &need.indicators {
            let Some(indicator) = catalogue.get(code) else {
                continue;
            };
            let stored = stored_values.get(&(need.id, code.clone(), period.to_string()));
            if Aggregation::parse(&indicator.aggregation) == Some(Aggregation::Distinct) {
                template
                    .enterprise_lists
                    .push((project_ref.clone(), code.clone()));
                let mut comment = stored.and_then(|s| s.row.comment.clone());
                for orgnr in stored.map(|s| s.entities.clone()).unwrap_or_default() {
                    template.enterprises.push(EnterpriseLine {
                        project_ref: project_ref.clone(),
                        indicator: code.clone(),
                        orgnr,
                        comment: comment.take(),
                    });
                }
                continue;
            }
            template.values.push(ValueLine {
                project_ref: project_ref.clone(),
                indicator: code.clone(),
                name: indicator.name_sv.clone(),
                unit: indicator.unit.clone(),
                decimals: indicator.decimals,
                by_sex: indicator.by_sex,
                value: stored.map(|s| from_scaled(s.row.value)),
                parts: stored.and_then(|s| {
                    Some([
                        from_scaled(s.row.kvinnor?),
                        from_scaled(s.row.man?),
                        from_scaled(s.row.ej_angivet?),
                    ])
                }),
                comment: stored.and_then(|s| s.row.comment.clone()),
            });
        }
        let narrative = stored_narratives.remove(&(need.id, period.to_string()));
        template.narratives.push(match narrative {
            Some(n) => (project_ref.clone(), n.progress, n.lessons, n.deviations),
            None => (
                project_ref.clone(),
                String::new(),
                String::new(),
                String::new(),
            ),
        });
        template.projects.push(project.record);
    }
    template
        .projects
        .sort_by(|a, b| a.project_ref.cmp(&b.project_ref));
    template
        .values
        .sort_by(|a, b| (&a.project_ref, &a.indicator).cmp(&(&b.project_ref, &b.indicator)));
    template.enterprises.sort_by(|a, b| {
        (&a.project_ref, &a.indicator, a.comment.is_none(), &a.orgnr).cmp(&(
            &b.project_ref,
            &b.indicator,
            b.comment.is_none(),
            &b.orgnr,
        ))
    });
    template.enterprise_lists.sort();
    template.narratives.sort();
    for row in db::reference::list_codes(conn)? {
        if row.dimension == "fokusomrade"
            && let Some(sakomrade) = &row.parent_code
        {
            template
                .fokusomraden
                .entry(sakomrade.clone())
                .or_default()
                .push(row.code.clone());
        }
        template
            .codes
            .entry(row.dimension)
            .or_default()
            .push(row.code);
    }
    Ok(template)
}
