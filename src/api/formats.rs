//! The aggregate in the formats analysts and statistics tools read: CSV for everything,
//! an Excel workbook (Excel in a Swedish locale splits comma-separated files wrongly), and
//! JSON-stat 2.0 as PxWeb and official-statistics libraries read it. All carry exactly the
//! numbers of the JSON answer.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::http::header::{Header, Quality};
use actix_web::{HttpRequest, HttpResponse};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde_json::{Map, Value, json};

use crate::api::aggregates::Format;
use crate::domain::aggregate::question::Per;
use crate::domain::aggregate::stats::EXTRA_PLACES;
use crate::error::AppError;
use crate::views::aggregates::{Aggregate, AggregateRow};

/// dimension → code → label.
pub type Labels = HashMap<String, HashMap<String, String>>;

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// Described as `type: string, format: binary`, which client generators take for a file,
// where `Vec<u8>` would be an array of integers.
/// The file's bytes.
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(pub Vec<u8>);

/// The aggregate in `format`; a JSON-stat cube of more than `max_cells` cells is refused
/// before it is made.
pub fn respond(
    aggregate: &Aggregate,
    labels: &Labels,
    format: Format,
    max_cells: usize,
) -> Result<HttpResponse, AppError> {
    let file = format!(
        "{}_{}",
        aggregate.indicator.code,
        aggregate.period.replace("..", "-")
    );
    Ok(match format {
        Format::Json => HttpResponse::Ok().json(aggregate),
        Format::JsonStat => HttpResponse::Ok().json(json_stat(aggregate, labels, max_cells)?),
        Format::Csv => csv_attachment(&file, csv(aggregate, labels)?),
        Format::Xlsx => HttpResponse::Ok()
            .content_type(XLSX)
            .insert_header((
                "Content-Disposition",
                format!("attachment; filename=\"{file}.xlsx\""),
            ))
            .body(xlsx(aggregate, labels)?),
    })
}

fn is_ratio(aggregate: &Aggregate) -> bool {
    aggregate.indicator.aggregation == crate::domain::indicator::Aggregation::Ratio
}

/// A figure's column name: as it is for totals, else with what it is divided by
/// (`value_per_project`), so that a file read on its own says what it holds.
fn measured(name: &str, per: Per) -> String {
    match per {
        Per::Total => name.to_string(),
        _ => format!("{name}_per_{}", per.as_str()),
    }
}

/// What the figures are divided by, in Swedish, for titles: empty for totals.
fn per_text(per: Per) -> &'static str {
    match per {
        Per::Total => "",
        Per::Project => " per projekt",
        Per::GrantedMsek => " per miljon kronor beviljat",
    }
}

/// The title of a file: the indicator's name and unit, the measure and the period.
fn title(aggregate: &Aggregate) -> String {
    let indicator = &aggregate.indicator;
    format!(
        "{} ({}{}), {}",
        indicator.name_sv,
        indicator.unit,
        per_text(aggregate.per),
        aggregate.period
    )
}

/// The column names: scope, then each group dimension with its label, then the figures.
fn header(aggregate: &Aggregate) -> Vec<String> {
    let mut columns = vec!["scope".to_string()];
    for dimension in &aggregate.group_by {
        columns.push(dimension.clone());
        columns.push(format!("{dimension}_label"));
    }
    columns.push(measured("value", aggregate.per));
    if is_ratio(aggregate) {
        columns.push("numerator".into());
        columns.push("denominator".into());
    }
    columns.push(measured("target", aggregate.per));
    columns.extend(
        [
            "projects",
            "reporting_projects",
            "target_share",
            "reporting_share",
        ]
        .map(String::from),
    );
    columns
}

/// A cell: text, or a number kept exact.
enum Cell {
    Text(String),
    Number(Decimal),
    Empty,
}

/// The rows below the header: the groups, then the national row.
fn body(aggregate: &Aggregate, labels: &Labels) -> Vec<Vec<Cell>> {
    let line = |scope: &str, row: &AggregateRow, national: bool| {
        let mut cells = vec![Cell::Text(scope.to_string())];
        for dimension in &aggregate.group_by {
            let code = if national {
                None
            } else {
                row.groups.get(dimension).cloned().flatten()
            };
            let label = code
                .as_ref()
                .and_then(|c| labels.get(dimension).and_then(|l| l.get(c)).cloned());
            cells.push(code.map_or(Cell::Empty, Cell::Text));
            cells.push(label.map_or(Cell::Empty, Cell::Text));
        }
        let number = |n: Option<Decimal>| n.map_or(Cell::Empty, Cell::Number);
        cells.push(number(row.value));
        if is_ratio(aggregate) {
            cells.push(number(row.numerator));
            cells.push(number(row.denominator));
        }
        cells.push(number(row.target));
        cells.push(Cell::Number(Decimal::from(row.projects)));
        cells.push(Cell::Number(Decimal::from(row.reporting_projects)));
        cells.push(number(row.target_share));
        cells.push(number(row.reporting_share));
        cells
    };
    let mut rows: Vec<Vec<Cell>> = aggregate
        .rows
        .iter()
        .map(|row| line("group", row, false))
        .collect();
    rows.push(line("national", &aggregate.national, true));
    rows
}

/// Text that a spreadsheet would run as a formula is prefixed with `'`.
pub fn neutralise(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_string()
    }
}

/// RFC 4180 CSV in UTF-8 with a byte-order mark, `.` as decimal point.
fn csv(aggregate: &Aggregate, labels: &Labels) -> Result<Vec<u8>, AppError> {
    let records = body(aggregate, labels).into_iter().map(|row| {
        row.into_iter()
            .map(|cell| match cell {
                Cell::Text(text) => neutralise(&text),
                Cell::Number(n) => n.to_string(),
                Cell::Empty => String::new(),
            })
            .collect()
    });
    csv_document(&header(aggregate), records)
}

/// Whether a listing that is JSON by default is asked for as CSV: `format=csv`, or
/// `Accept: text/csv` without a `format`.
pub fn wants_csv(format: Option<&str>, request: &HttpRequest) -> Result<bool, AppError> {
    match format {
        Some("csv") => Ok(true),
        Some("json") => Ok(false),
        Some(_) => Err(AppError::invalid(
            "format",
            "unknown_format",
            "must be json or csv",
        )),
        None => Ok(accepts_csv(request)),
    }
}

/// Whether the request's `Accept` header prefers CSV to JSON: the first of its types, by
/// quality, that either format satisfies is `text/csv`.
pub fn accepts_csv(request: &HttpRequest) -> bool {
    let Ok(accept) = header::Accept::parse(request) else {
        return false;
    };
    let mut wanted: Vec<_> = accept
        .0
        .iter()
        .filter(|item| item.quality > Quality::ZERO)
        .collect();
    // Stable: of equal quality, the first named comes first.
    wanted.sort_by_key(|item| std::cmp::Reverse(item.quality));
    wanted
        .iter()
        .map(|item| &item.item)
        .find_map(
            |mime| match (mime.type_().as_str(), mime.subtype().as_str()) {
                ("text", "csv") => Some(true),
                ("application", "json" | "*") | ("*", "*") => Some(false),
                _ => None,
            },
        )
        .unwrap_or(false)
}

/// A CSV document sent as a file named `{name}.csv`.
pub fn csv_attachment(name: &str, document: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .body(document)
}

/// A CSV file as Excel and statistics tools read it: UTF-8 with a byte-order mark (so that
/// Excel shows å, ä, ö), CRLF line ends and RFC 4180 quoting. Text cells must already be
/// `neutralise`d.
pub fn csv_document(
    header: &[String],
    records: impl Iterator<Item = Vec<String>>,
) -> Result<Vec<u8>, AppError> {
    let failed = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    writer.write_record(header).map_err(failed)?;
    for record in records {
        writer.write_record(record).map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))
}

/// An Excel workbook: the indicator's name and unit, a header row, numbers as numbers.
fn xlsx(aggregate: &Aggregate, labels: &Labels) -> Result<Vec<u8>, AppError> {
    let failed = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    sheet
        .set_name(sheet_name(&aggregate.indicator.code))
        .map_err(failed)?;
    sheet
        .write_string_with_format(0, 0, title(aggregate), &bold)
        .map_err(failed)?;
    for (column, name) in header(aggregate).iter().enumerate() {
        sheet
            .write_string_with_format(1, column as u16, name, &bold)
            .map_err(failed)?;
    }
    for (i, row) in body(aggregate, labels).into_iter().enumerate() {
        let line = i as u32 + 2;
        for (column, cell) in row.into_iter().enumerate() {
            let column = column as u16;
            match cell {
                Cell::Text(text) => sheet
                    .write_string(line, column, neutralise(&text))
                    .map(|_| ()),
                Cell::Number(n) => sheet
                    .write_number(line, column, n.to_f64().unwrap_or(f64::NAN))
                    .map(|_| ()),
                Cell::Empty => Ok(()),
            }
            .map_err(failed)?;
        }
    }
    workbook.save_to_buffer().map_err(failed)
}

/// The worksheet named by the indicator code, as far as Excel allows: at most 31
/// characters (an indicator code may have 32), and not `History`, which Excel keeps for
/// itself. Indicator codes hold no character a sheet name may not.
fn sheet_name(code: &str) -> String {
    let name: String = code.chars().take(31).collect();
    if name.eq_ignore_ascii_case("history") {
        format!("{name}_")
    } else {
        name
    }
}

/// The category code of the national total in every grouped dimension. No code can be it:
/// codes are lowercase (`is_code_shaped`), län codes digits, half-years `2026H1`; the
/// underscore and capital follow SDMX (`_T` total, `_U` unspecified).
pub const TOTAL: &str = "_T";
/// The category code of projects without a code in a dimension (a project with no bransch).
pub const NONE: &str = "_U";

/// A JSON-stat 2.0 dataset: one category per group and a total, the indicator as the
/// metric dimension, values in row-major order (the extension's `target_share` and
/// `reporting_share` in the same order). The cube holds every combination of the
/// dimensions' categories, so it is counted before it is made.
fn json_stat(aggregate: &Aggregate, labels: &Labels, max_cells: usize) -> Result<Value, AppError> {
    let indicator = &aggregate.indicator;
    // Divided figures carry two places more than the indicator's (`Aggregate::per`).
    let decimals = match aggregate.per {
        Per::Total => indicator.decimals,
        _ => indicator.decimals + i64::from(EXTRA_PLACES),
    };
    let mut ids: Vec<String> = aggregate.group_by.clone();
    ids.push("indicator".into());
    let mut categories: Vec<Vec<String>> = Vec::new();
    let mut dimensions = Map::new();
    for dimension in &aggregate.group_by {
        let mut codes: Vec<String> = Vec::new();
        for row in &aggregate.rows {
            let code = row
                .groups
                .get(dimension)
                .cloned()
                .flatten()
                .unwrap_or_else(|| NONE.into());
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        codes.push(TOTAL.into());
        let label_of = |code: &str| match code {
            TOTAL if dimension == "region" => "Riket".to_string(),
            TOTAL => "Totalt".to_string(),
            NONE => "Uppgift saknas".to_string(),
            _ => labels
                .get(dimension)
                .and_then(|l| l.get(code))
                .cloned()
                .unwrap_or_else(|| code.to_string()),
        };
        let index: Map<String, Value> = codes
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), json!(i)))
            .collect();
        let label: Map<String, Value> = codes
            .iter()
            .map(|c| (c.clone(), json!(label_of(c))))
            .collect();
        dimensions.insert(
            dimension.clone(),
            json!({"label": dimension, "category": {"index": index, "label": label}}),
        );
        categories.push(codes);
    }
    dimensions.insert(
        "indicator".into(),
        json!({"label": "indikator", "category": {
            "index": {indicator.code.clone(): 0},
            "label": {indicator.code.clone(): indicator.name_sv.clone()},
            "unit": {indicator.code.clone(): {"label": format!("{}{}", indicator.unit, per_text(aggregate.per)), "decimals": decimals}}
        }}),
    );
    let sizes: Vec<usize> = categories.iter().map(Vec::len).chain([1]).collect();
    let cells = sizes
        .iter()
        .fold(1usize, |cells, size| cells.saturating_mul(*size));
    crate::service::aggregates::check_cells(cells, max_cells)?;
    let mut values = vec![Value::Null; cells];
    // The shares of each cell, in the order of `value`: JSON-stat has one value per cell.
    let mut target_shares = vec![Value::Null; cells];
    let mut reporting_shares = vec![Value::Null; cells];
    let position = |codes: &[String]| -> usize {
        codes.iter().zip(&categories).fold(0, |at, (code, list)| {
            at * list.len()
                + list
                    .iter()
                    .position(|c| c == code)
                    .expect("a listed category")
        })
    };
    for row in &aggregate.rows {
        let codes: Vec<String> = aggregate
            .group_by
            .iter()
            .map(|d| {
                row.groups
                    .get(d)
                    .cloned()
                    .flatten()
                    .unwrap_or_else(|| NONE.into())
            })
            .collect();
        let at = position(&codes);
        values[at] = json!(row.value);
        target_shares[at] = json!(row.target_share);
        reporting_shares[at] = json!(row.reporting_share);
    }
    let totals: Vec<String> = aggregate
        .group_by
        .iter()
        .map(|_| TOTAL.to_string())
        .collect();
    let at = position(&totals);
    values[at] = json!(aggregate.national.value);
    target_shares[at] = json!(aggregate.national.target_share);
    reporting_shares[at] = json!(aggregate.national.reporting_share);
    let mut role = Map::new();
    role.insert("metric".into(), json!(["indicator"]));
    if aggregate.group_by.iter().any(|d| d == "period") {
        role.insert("time".into(), json!(["period"]));
    }
    if aggregate.group_by.iter().any(|d| d == "region") {
        role.insert("geo".into(), json!(["region"]));
    }
    Ok(json!({
        "version": "2.0",
        "class": "dataset",
        "label": title(aggregate),
        "source": "uppfoljning",
        "updated": aggregate.as_of,
        "id": ids,
        "size": sizes,
        "role": role,
        "dimension": dimensions,
        "value": values,
        "extension": {
            "period": aggregate.period,
            "aggregation": indicator.aggregation,
            "per": aggregate.per,
            "national": aggregate.national,
            "target_share": target_shares,
            "reporting_share": reporting_shares,
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::{accepts_csv, neutralise, sheet_name};

    #[test]
    fn every_indicator_code_names_a_sheet() {
        let longest = "A".repeat(32);
        assert_eq!(sheet_name(&longest).len(), 31);
        assert_eq!(sheet_name("RCO01"), "RCO01");
        assert_eq!(sheet_name("HISTORY"), "HISTORY_");
        let mut workbook = rust_xlsxwriter::Workbook::new();
        for code in [longest.as_str(), "HISTORY", "NAT-U01N", "A_B-C"] {
            workbook
                .add_worksheet()
                .set_name(sheet_name(code))
                .unwrap_or_else(|e| panic!("{code}: {e}"));
        }
    }

    #[test]
    fn csv_when_the_accept_header_prefers_it() {
        let accepts = |value: &str| {
            let request = actix_web::test::TestRequest::default()
                .insert_header(("accept", value))
                .to_http_request();
            accepts_csv(&request)
        };
        assert!(accepts("text/csv"));
        assert!(accepts("text/csv, application/json;q=0.5"));
        assert!(accepts("application/xml, text/csv;q=0.9, */*;q=0.1"));
        assert!(!accepts("application/json, text/csv;q=0.5"));
        assert!(!accepts("*/*"));
        assert!(!accepts("text/csv;q=0"), "q=0 refuses it");
        assert!(!accepts("text/csvx"));
        assert!(!accepts("not a media type"));
        let without = actix_web::test::TestRequest::default().to_http_request();
        assert!(!accepts_csv(&without));
    }

    #[test]
    fn formulas_are_neutralised() {
        for text in ["=SUM(A1)", "+1", "-1", "@x", "\tx"] {
            assert!(neutralise(text).starts_with('\''), "{text}");
        }
        assert_eq!(neutralise("Kronoberg"), "Kronoberg");
    }
}
