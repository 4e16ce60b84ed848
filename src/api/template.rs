//! `GET …/reports/{period}/template`: the region's half-year as an Excel workbook in Swedish,
//! pre-filled from what is stored, for project officers who report in Excel.

use actix_web::{HttpResponse, get, web};
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{DataValidation, Format, Formula, Workbook, Worksheet, XlsxError};

use crate::api::access::{Authorized, RegionRead};
use crate::api::extract::parse_region;
use crate::api::formats::XLSX;
use crate::api::workbook::{
    BERATTELSER, DATA_VERSION_NAME, FORETAG, Layout, PLANER, PROJEKT, PROJEKT_DROP_DOWNS, VARDEN,
    VARDEN_COMMENT, VARDEN_VALUE, column_letter,
};
use crate::db;
use crate::domain::decimal::from_scaled;
use crate::error::{AppError, Problem};
use crate::service::template::{self, Template};
use crate::state::AppState;

/// The region's reporting workbook for a half-year.
#[utoipa::path(
    tag = "reports",
    security(("bearer" = [])),
    params(
        ("region" = String, Path, description = "Län code, such as 07"),
        ("period" = String, Path, description = "A half-year such as 2026H1"),
    ),
    responses(
        (status = 200, description = "The workbook", content((inline(crate::api::formats::Binary) = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404, description = "No such region or half-year", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/regions/{region}/reports/{period}/template")]
pub async fn get_template(
    caller: Authorized<RegionRead>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (region, period) = path.into_inner();
    let region = parse_region(&region)?;
    let template = state
        .compute(&caller.principal, move |conn| {
            db::read_transaction(conn, |conn| template::template(conn, &region, &period))
        })
        .await?;
    let file = format!("rapport_{}_{}.xlsx", template.region, template.half_year);
    let workbook = workbook(&template)
        .map_err(|e| AppError::Internal(format!("writing the workbook: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type(XLSX)
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{file}\""),
        ))
        .body(workbook))
}

/// A sheet with a bold, frozen header row and sized columns.
fn sheet<'a>(workbook: &'a mut Workbook, layout: &Layout) -> Result<&'a mut Worksheet, XlsxError> {
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet().set_name(layout.name)?;
    for (column, title) in layout.headers.iter().enumerate() {
        let column = column as u16;
        sheet.write_string_with_format(0, column, *title, &bold)?;
        sheet.set_column_width(column, (title.chars().count() + 6).max(14) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(sheet)
}

/// Every text is written as text: a title beginning with `=` stays a title, not a formula.
fn workbook(template: &Template) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    instructions(&mut workbook, template)?;
    let ranges = code_lists(&mut workbook, template)?;
    workbook.define_name(DATA_VERSION_NAME, &format!("={}", template.version))?;

    let projects = sheet(&mut workbook, &PROJEKT)?;
    for (index, project) in template.projects.iter().enumerate() {
        let row = index as u32 + 1;
        let texts = [
            project.project_ref.clone(),
            project.title.clone(),
            project.organisation.clone(),
            project.status.clone(),
            project.project_type.clone(),
            project.sakomrade.clone(),
            project.fokusomrade.clone().unwrap_or_default(),
            project.effektkedja.clone(),
            project.branscher.join(", "),
            project.verktyg.join(", "),
            project.syften.join(", "),
            project.start_date.to_string(),
            project.end_date.to_string(),
        ];
        for (column, text) in texts.iter().enumerate() {
            projects.write_string(row, column as u16, text)?;
        }
        amount(projects, row, 13, project.granted_sek)?;
        amount(projects, row, 14, project.total_budget_sek)?;
    }
    let last_project_row = template.projects.len() as u32 + 200;
    for (column, dimension) in PROJEKT_DROP_DOWNS {
        let list = if dimension == "fokusomrade" {
            // The fokusområden of the row's sakområde (column F), by the name of its list.
            Formula::new(format!("=INDIRECT(\"{FOKUS_PREFIX}\"&$F2)"))
        } else if let Some(range) = ranges.get(dimension) {
            Formula::new(range)
        } else {
            continue;
        };
        let rule = DataValidation::new()
            .allow_list_formula(list)
            .ignore_blank(true);
        projects.add_data_validation(1, column, last_project_row, column, &rule)?;
    }

    let plans = sheet(&mut workbook, &PLANER)?;
    let mut row = 0;
    for project in &template.projects {
        for plan in &project.plans {
            row += 1;
            plans.write_string(row, 0, &project.project_ref)?;
            plans.write_string(row, 1, &plan.indicator)?;
            number(plans, row, 2, plan.baseline.map(from_scaled))?;
            if let Some(year) = plan.baseline_year {
                plans.write_number(row, 3, year as f64)?;
            }
            number(plans, row, 4, plan.target.map(from_scaled))?;
            plans.write_string(row, 5, plan.goal.as_deref().unwrap_or_default())?;
            plans.write_string(row, 6, plan.source.as_deref().unwrap_or_default())?;
        }
    }

    let values = sheet(&mut workbook, &VARDEN)?;
    let period = template.half_year.to_string();
    for (index, line) in template.values.iter().enumerate() {
        let row = index as u32 + 1;
        values.write_string(row, 0, &line.project_ref)?;
        values.write_string(row, 1, &period)?;
        values.write_string(row, 2, &line.indicator)?;
        values.write_string(row, 3, &line.name)?;
        values.write_string(row, 4, &line.unit)?;
        values.write_number(row, 5, line.decimals as f64)?;
        number(values, row, VARDEN_VALUE, line.value)?;
        if let Some(parts) = line.parts {
            for (offset, part) in parts.into_iter().enumerate() {
                number(values, row, VARDEN_VALUE + 1 + offset as u16, Some(part))?;
            }
        }
        values.write_string(
            row,
            VARDEN_COMMENT,
            line.comment.as_deref().unwrap_or_default(),
        )?;
        // The value (and its parts by sex, where the indicator has them): a number that is
        // not negative, with at most the indicator's decimals.
        let cell = format!("{}{}", column_letter(VARDEN_VALUE), row + 1);
        let rule = DataValidation::new()
            .allow_custom(Formula::new(format!(
                "=AND(ISNUMBER({cell}),{cell}>=0,ROUND({cell},{decimals})={cell})",
                decimals = line.decimals
            )))
            .set_error_message(format!(
                "Ett tal som inte är negativt, med högst {} decimaler.",
                line.decimals
            ))?;
        let last_column = VARDEN_VALUE + if line.by_sex { 3 } else { 0 };
        values.add_data_validation(row, VARDEN_VALUE, row, last_column, &rule)?;
    }

    let enterprises = sheet(&mut workbook, &FORETAG)?;
    for (index, line) in template.enterprises.iter().enumerate() {
        let row = index as u32 + 1;
        enterprises.write_string(row, 0, &line.project_ref)?;
        enterprises.write_string(row, 1, &period)?;
        enterprises.write_string(row, 2, &line.indicator)?;
        enterprises.write_string(row, 3, &line.orgnr)?;
        enterprises.write_string(row, 4, line.comment.as_deref().unwrap_or_default())?;
    }

    let narratives = sheet(&mut workbook, &BERATTELSER)?;
    for (index, (project_ref, progress, lessons, deviations)) in
        template.narratives.iter().enumerate()
    {
        let row = index as u32 + 1;
        for (column, text) in [project_ref, &period, progress, lessons, deviations]
            .iter()
            .enumerate()
        {
            narratives.write_string(row, column as u16, *text)?;
        }
    }
    workbook.save_to_buffer()
}

/// The prefix of the names of the fokusområde lists: a name such as `fokus_innovation` cannot
/// be taken for a cell reference, as a bare code like `ab12` could.
const FOKUS_PREFIX: &str = "fokus_";

fn instructions(workbook: &mut Workbook, template: &Template) -> Result<(), XlsxError> {
    let mut lines = vec![
        format!("Rapportering för region {} och halvåret {}", template.region, template.half_year),
        match template.deadline {
            Some(day) => format!("Sista dag att rapportera: {day}"),
            None => "Sista dag att rapportera: ingen; en administratör låser och öppnar halvåret.".into(),
        },
        match template.closed_by {
            Some(period) => format!("Halvåret är stängt för regionen (av låset eller sista dagen för {period}): det som skickas in för halvåret avvisas."),
            None => "Halvåret är öppet för regionen.".into(),
        },
        format!("Rapportens status: {}", template.state.as_str()),
        String::new(),
        "Projekt: ett projekt per rad; välj koder i listorna (fokusområdet ur sakområdets lista). Branscher, verktyg och syften skrivs med kommatecken emellan. Datum skrivs ÅÅÅÅ-MM-DD.".into(),
        "Planer: projektets indikatorer med utgångsvärde, utgångsår, målvärde, målformulering och källa. Ett projekts planer är de rader som finns här.".into(),
        "Värden: fyll i värdet för varje indikator; lämna tomt om inget rapporteras (tomt är inte 0). Decimaler skrivs med komma eller punkt.".into(),
        "Värden per kön: kvinnor + män + ej angivet ska vara lika med värdet.".into(),
        "Företag: ett organisationsnummer per rad (NNNNNN-NNNN) för indikatorer som räknar företag.".into(),
        "Berättelser: framsteg, lärdomar och avvikelser per projekt.".into(),
        "Det som lämnas tomt eller tas bort ur Värden, Företag och Berättelser ändrar inget som redan är lagrat.".into(),
        "Blad, rubriker och kolumner får inte byta namn eller plats; lägg inte till blad och slå inte ihop celler.".into(),
        "Formler räknas med sitt beräknade värde; spara arbetsboken i Excel innan den skickas in.".into(),
        "Felen som kan rapporteras anger bladet och cellen som ska rättas, till exempel Värden!G12.".into(),
        String::new(),
        "Indikatorer (kod, namn, enhet, decimaler):".into(),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for value in &template.values {
        if seen.insert(&value.indicator) {
            lines.push(format!(
                "{}: {} ({}, {} decimaler)",
                value.indicator, value.name, value.unit, value.decimals
            ));
        }
    }
    let sheet = workbook.add_worksheet().set_name("Instruktioner")?;
    sheet.set_column_width(0, 110)?;
    for (row, line) in lines.iter().enumerate() {
        sheet.write_string(row as u32, 0, line)?;
    }
    Ok(())
}

/// The code lists on a hidden sheet, one per column, and a named list of fokusområden per
/// sakområde; gives each code list's range.
fn code_lists(
    workbook: &mut Workbook,
    template: &Template,
) -> Result<std::collections::HashMap<String, String>, XlsxError> {
    let mut ranges = std::collections::HashMap::new();
    let mut names = Vec::new();
    let codes = workbook.add_worksheet().set_name("Koder")?;
    let lists = template
        .codes
        .iter()
        .map(|(name, codes)| (name.clone(), codes))
        .chain(
            template
                .fokusomraden
                .iter()
                .map(|(sakomrade, codes)| (format!("{FOKUS_PREFIX}{sakomrade}"), codes)),
        );
    for (column, (name, values)) in lists.enumerate() {
        let column = column as u16;
        codes.write_string(0, column, &name)?;
        for (row, code) in values.iter().enumerate() {
            codes.write_string(row as u32 + 1, column, code)?;
        }
        let letter = column_letter(column);
        let range = format!("Koder!${letter}$2:${letter}${}", values.len() + 1);
        if name.starts_with(FOKUS_PREFIX) {
            names.push((name, range));
        } else {
            ranges.insert(name, format!("={range}"));
        }
    }
    codes.set_hidden(true);
    for (name, range) in names {
        workbook.define_name(name, &format!("={range}"))?;
    }
    Ok(ranges)
}

fn number(
    sheet: &mut Worksheet,
    row: u32,
    column: u16,
    value: Option<rust_decimal::Decimal>,
) -> Result<(), XlsxError> {
    if let Some(value) = value.and_then(|v| v.to_f64()) {
        sheet.write_number(row, column, value)?;
    }
    Ok(())
}

/// An amount in whole kronor: a number where a spreadsheet holds it exactly (below 2^53),
/// text beyond.
fn amount(sheet: &mut Worksheet, row: u32, column: u16, kronor: i64) -> Result<(), XlsxError> {
    const EXACT: i64 = 1 << 53;
    if kronor.abs() < EXACT {
        sheet.write_number(row, column, kronor as f64)?;
    } else {
        sheet.write_string(row, column, kronor.to_string())?;
    }
    Ok(())
}
