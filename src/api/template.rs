//! `GET …/reports/{period}/template`: the region's half-year as an Excel workbook in Swedish,
//! pre-filled from what is stored, for project officers who report in Excel.

use actix_web::{HttpResponse, get, web};
use rust_decimal::prelude::ToPrimitive;
use rust_xlsxwriter::{DataValidation, Format, Formula, Workbook, Worksheet, XlsxError};

use crate::api::access::{Authorized, RegionRead};
use crate::api::extract::parse_region;
use crate::api::formats::XLSX;
use crate::db;
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
        (status = 200, description = "The workbook", content((Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 404, description = "No such region or half-year", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/regions/{region}/reports/{period}/template")]
pub async fn get_template(
    _caller: Authorized<RegionRead>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (region, period) = path.into_inner();
    let region = parse_region(&region)?;
    let template = state
        .db(move |conn| {
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

const PROJECT_COLUMNS: [&str; 15] = [
    "ref",
    "titel",
    "organisation",
    "status",
    "projekttyp",
    "sakområde",
    "fokusområde",
    "effektkedja",
    "branscher",
    "verktyg",
    "syften",
    "startdatum",
    "slutdatum",
    "beviljat_kr",
    "total_budget_kr",
];

/// The code list behind each drop-down column of `Projekt`.
const DROP_DOWNS: [(u16, &str); 5] = [
    (3, "status"),
    (4, "project_type"),
    (5, "sakomrade"),
    (6, "fokusomrade"),
    (7, "effektkedja"),
];

const VALUE_COLUMNS: [&str; 9] = [
    "ref",
    "indikator",
    "namn",
    "enhet",
    "decimaler",
    "värde",
    "kvinnor",
    "män",
    "ej_angivet",
];

/// A sheet with a bold, frozen header row and sized columns.
fn sheet<'a>(
    workbook: &'a mut Workbook,
    name: &str,
    columns: &[&str],
) -> Result<&'a mut Worksheet, XlsxError> {
    let bold = Format::new().set_bold();
    let sheet = workbook.add_worksheet().set_name(name)?;
    for (column, title) in columns.iter().enumerate() {
        let column = column as u16;
        sheet.write_string_with_format(0, column, *title, &bold)?;
        sheet.set_column_width(column, (title.chars().count() + 6).max(14) as f64)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(sheet)
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

/// Every text is written as text: a title beginning with `=` stays a title, not a formula.
fn workbook(template: &Template) -> Result<Vec<u8>, XlsxError> {
    let mut workbook = Workbook::new();
    let instructions = [
        format!("Rapportering för region {} och halvåret {}", template.region, template.half_year),
        format!("Sista dag att rapportera: {}", template.deadline),
        format!("Rapportens status: {}", template.state.as_str()),
        String::new(),
        "Projekt: ett projekt per rad; välj koder i listorna. Branscher, verktyg och syften skrivs med kommatecken emellan.".into(),
        "Värden: fyll i värdet för varje indikator; lämna tomt om inget rapporteras (tomt är inte 0).".into(),
        "Värden per kön: kvinnor + män + ej angivet ska vara lika med värdet.".into(),
        "Företag: ett organisationsnummer per rad (NNNNNN-NNNN) för indikatorer som räknar företag.".into(),
        "Berättelser: framsteg, lärdomar och avvikelser per projekt.".into(),
        String::new(),
        "Indikatorer (kod, namn, enhet, decimaler):".into(),
    ];
    let sheet_instructions = workbook.add_worksheet().set_name("Instruktioner")?;
    sheet_instructions.set_column_width(0, 110)?;
    for (row, line) in instructions.iter().enumerate() {
        sheet_instructions.write_string(row as u32, 0, line)?;
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut row = instructions.len() as u32;
    for value in &template.values {
        if seen.insert(&value.indicator) {
            let line = format!(
                "{}: {} ({}, {} decimaler)",
                value.indicator, value.name, value.unit, value.decimals
            );
            sheet_instructions.write_string(row, 0, &line)?;
            row += 1;
        }
    }

    // The code lists, on a hidden sheet the drop-downs refer to.
    let codes = workbook.add_worksheet().set_name("Koder")?;
    let mut ranges = std::collections::HashMap::new();
    for (column, (dimension, values)) in template.codes.iter().enumerate() {
        let column = column as u16;
        codes.write_string(0, column, dimension)?;
        for (row, code) in values.iter().enumerate() {
            codes.write_string(row as u32 + 1, column, code)?;
        }
        let letter = column_letter(column);
        ranges.insert(
            dimension.as_str(),
            format!("=Koder!${letter}$2:${letter}${}", values.len() + 1),
        );
    }
    codes.set_hidden(true);

    let projects = sheet(&mut workbook, "Projekt", &PROJECT_COLUMNS)?;
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
        projects.write_number(row, 13, project.granted_sek as f64)?;
        projects.write_number(row, 14, project.total_budget_sek as f64)?;
    }
    let last_project_row = template.projects.len().max(1) as u32 + 200;
    for (column, dimension) in DROP_DOWNS {
        if let Some(range) = ranges.get(dimension) {
            let list = DataValidation::new().allow_list_formula(Formula::new(range));
            projects.add_data_validation(1, column, last_project_row, column, &list)?;
        }
    }

    let values = sheet(&mut workbook, "Värden", &VALUE_COLUMNS)?;
    for (index, line) in template.values.iter().enumerate() {
        let row = index as u32 + 1;
        values.write_string(row, 0, &line.project_ref)?;
        values.write_string(row, 1, &line.indicator)?;
        values.write_string(row, 2, &line.name)?;
        values.write_string(row, 3, &line.unit)?;
        values.write_number(row, 4, line.decimals as f64)?;
        number(values, row, 5, line.value)?;
        if let Some(parts) = line.parts {
            for (offset, part) in parts.into_iter().enumerate() {
                number(values, row, 6 + offset as u16, Some(part))?;
            }
        }
    }
    // Each row's value (and parts by sex, where the indicator has them): a number that is not
    // negative, with at most the indicator's decimals.
    for (index, line) in template.values.iter().enumerate() {
        let row = index as u32 + 1;
        let cell = format!("F{}", row + 1);
        let rule = DataValidation::new()
            .allow_custom(Formula::new(format!(
                "=AND(ISNUMBER({cell}),{cell}>=0,ROUND({cell},{decimals})={cell})",
                decimals = line.decimals
            )))
            .set_error_message(format!(
                "Ett tal som inte är negativt, med högst {} decimaler.",
                line.decimals
            ))?;
        let last_column = if line.by_sex { 8 } else { 5 };
        values.add_data_validation(row, 5, row, last_column, &rule)?;
    }

    let enterprises = sheet(
        &mut workbook,
        "Företag",
        &["ref", "indikator", "organisationsnummer"],
    )?;
    for (index, (project_ref, indicator, orgnr)) in template.enterprises.iter().enumerate() {
        let row = index as u32 + 1;
        enterprises.write_string(row, 0, project_ref)?;
        enterprises.write_string(row, 1, indicator)?;
        enterprises.write_string(row, 2, orgnr)?;
    }

    let narratives = sheet(
        &mut workbook,
        "Berättelser",
        &["ref", "framsteg", "lärdomar", "avvikelser"],
    )?;
    for (index, (project_ref, progress, lessons, deviations)) in
        template.narratives.iter().enumerate()
    {
        let row = index as u32 + 1;
        for (column, text) in [project_ref, progress, lessons, deviations]
            .iter()
            .enumerate()
        {
            narratives.write_string(row, column as u16, *text)?;
        }
    }
    workbook.save_to_buffer()
}

/// `A` … `Z`, `AA` …: the letters of a column index.
fn column_letter(column: u16) -> String {
    let mut index = u32::from(column) + 1;
    let mut letters = Vec::new();
    while index > 0 {
        let rest = (index - 1) % 26;
        letters.push(char::from(b'A' + rest as u8));
        index = (index - 1) / 26;
    }
    letters.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn column_letters() {
        assert_eq!(super::column_letter(0), "A");
        assert_eq!(super::column_letter(25), "Z");
        assert_eq!(super::column_letter(26), "AA");
    }
}
