//! A submission of values as a CSV file, the way systems that export flat files report
//! (DHIS2 imports data value sets so): UTF-8 with or without a byte-order mark, comma or
//! semicolon separated, one row per value with the columns
//! `project_ref, indicator, period, value, kvinnor, man, ej_angivet, organisationsnummer,
//! kommentar`, and one row per enterprise for distinct indicators. Only `project_ref`,
//! `indicator` and `period` and one column of figures are required; a column a file's
//! values do not need may be left out. A file without `kommentar` keeps the comments
//! stored. It is read into the same submission as a JSON body; a blank value is "not
//! reported", never 0.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::domain::decimal::parse_typed;
use crate::domain::submission::MAX_VALUES;
use crate::domain::submission::input::{BySexInput, SubmissionInput, ValueInput};
use crate::domain::submission::origin::{Origin, Origins};
use crate::domain::validation::{Errors, FieldError};
use crate::error::AppError;
use crate::service::submissions::ReadSubmission;

pub const COLUMNS: [&str; 9] = [
    "project_ref",
    "indicator",
    "period",
    "value",
    "kvinnor",
    "man",
    "ej_angivet",
    "organisationsnummer",
    "kommentar",
];

/// The columns every file has: which value a row is of.
const REQUIRED: usize = 3;
/// The columns of figures, of which a file has at least one.
const FIGURES: std::ops::Range<usize> = 3..8;
const KOMMENTAR: usize = 8;

/// A value's fields by the column they were read from.
const VALUE_COLUMNS: &[(&str, &str)] = &[
    ("project_ref", "project_ref"),
    ("indicator", "indicator"),
    ("period", "period"),
    ("value", "value"),
    ("by_sex", "kvinnor"),
    ("by_sex.kvinnor", "kvinnor"),
    ("by_sex.man", "man"),
    ("by_sex.ej_angivet", "ej_angivet"),
    ("entities", "organisationsnummer"),
    ("comment", "kommentar"),
];

const ENTERPRISE_COLUMNS: &[(&str, &str)] = &[("", "organisationsnummer")];

fn line(row: u64, columns: &'static [(&'static str, &'static str)]) -> Origin {
    Origin {
        sheet: None,
        row,
        columns,
    }
}

/// Rows read at most, as many as a submission's values (a distinct indicator's further
/// enterprises take rows too): a longer file is refused before any row is read.
pub const MAX_ROWS: usize = MAX_VALUES;

/// One row's cells by column, and its line.
struct Row {
    line: u64,
    cells: [String; COLUMNS.len()],
}

impl Row {
    fn cell(&self, column: usize) -> Option<&str> {
        Some(self.cells[column].as_str()).filter(|cell| !cell.is_empty())
    }
}

fn error(line: u64, column: Option<&str>, code: &str, message: String) -> FieldError {
    FieldError {
        line: Some(line),
        column: column.map(str::to_string),
        ..FieldError::new(
            match column {
                Some(column) => format!("line {line}, {column}"),
                None => format!("line {line}"),
            },
            code,
            message,
        )
    }
}

/// Reads a CSV file into a submission of values, with the line each value came from.
pub fn read(bytes: &[u8]) -> Result<ReadSubmission, AppError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let first_line = bytes.split(|b| *b == b'\n').next().unwrap_or_default();
    let semicolons = first_line.iter().filter(|b| **b == b';').count();
    let commas = first_line.iter().filter(|b| **b == b',').count();
    let delimiter = if semicolons > commas { b';' } else { b',' };
    let reader = || {
        csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .trim(csv::Trim::All)
            .flexible(false)
            .from_reader(bytes)
    };
    count_rows(reader())?;
    let mut reader = reader();
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| AppError::invalid("line 1", "invalid_csv", format!("not CSV: {e}")))?
        .iter()
        .map(|name| name.to_lowercase())
        .collect();
    let positions = positions(&header)?;
    let mut rows = Vec::new();
    for (number, record) in reader.records().enumerate() {
        let line = number as u64 + 2;
        let record = record.map_err(|e| {
            AppError::Invalid(vec![error(
                line,
                None,
                "invalid_csv",
                format!("not CSV: {e}"),
            )])
        })?;
        let cells = std::array::from_fn(|column| {
            positions[column]
                .and_then(|position| record.get(position))
                .unwrap_or_default()
                .to_string()
        });
        rows.push(Row { line, cells });
    }
    values_of(rows, positions[KOMMENTAR].is_some())
}

/// Refuses a file of more than `MAX_ROWS` rows, counted without keeping any: no row is read
/// into cells, let alone checked, before the file is known to be within the limit. A
/// malformed row is left for the reading that names it.
fn count_rows(mut reader: csv::Reader<&[u8]>) -> Result<(), AppError> {
    let mut record = csv::ByteRecord::new();
    let mut rows = 0;
    while let Ok(true) = reader.read_byte_record(&mut record) {
        rows += 1;
        if rows > MAX_ROWS {
            return Err(AppError::invalid(
                format!("line {}", rows + 1),
                "too_many_rows",
                format!("at most {MAX_ROWS} rows in one file; split it"),
            ));
        }
    }
    Ok(())
}

/// Where each of `COLUMNS` is in the header. A header names each column at most once, has
/// the required ones and one of figures, and nothing else: a misspelt column would
/// otherwise be left out without a word.
fn positions(header: &[String]) -> Result<Vec<Option<usize>>, AppError> {
    let positions: Vec<Option<usize>> = COLUMNS
        .iter()
        .map(|column| header.iter().position(|name| name == column))
        .collect();
    let mut errors = Vec::new();
    let absent: Vec<&str> = COLUMNS[..REQUIRED]
        .iter()
        .zip(&positions)
        .filter(|(_, position)| position.is_none())
        .map(|(column, _)| *column)
        .collect();
    if !absent.is_empty() || positions[FIGURES].iter().all(Option::is_none) {
        let mut lacking = absent.join(", ");
        if positions[FIGURES].iter().all(Option::is_none) {
            if !lacking.is_empty() {
                lacking.push_str(" and ");
            }
            lacking.push_str("one of ");
            lacking.push_str(&COLUMNS[FIGURES].join(", "));
        }
        errors.push(FieldError::new(
            "line 1",
            "missing_columns",
            format!(
                "the header lacks {lacking}; the columns are {} (kommentar and the figures a file does not use may be left out)",
                COLUMNS.join(", ")
            ),
        ));
    }
    // A column without a name is what a spreadsheet leaves after a trailing separator.
    for (position, name) in header.iter().enumerate().filter(|(_, n)| !n.is_empty()) {
        if !COLUMNS.contains(&name.as_str()) {
            errors.push(FieldError {
                column: Some(name.clone()),
                ..FieldError::new(
                    "line 1",
                    "unknown_column",
                    format!(
                        "column {} '{name}' is none of {}",
                        position + 1,
                        COLUMNS.join(", ")
                    ),
                )
            });
        } else if header[..position].contains(name) {
            errors.push(FieldError {
                column: Some(name.clone()),
                ..FieldError::new("line 1", "duplicate", format!("'{name}' appears twice"))
            });
        }
    }
    if errors.is_empty() {
        Ok(positions)
    } else {
        Err(AppError::Invalid(errors))
    }
}

/// Groups the rows into values: the rows of one project, indicator and half-year with
/// organisationsnummer are one value's enterprises. Without a `kommentar` column the values
/// keep their stored comments; with it, a blank one removes the comment.
fn values_of(rows: Vec<Row>, with_comments: bool) -> Result<ReadSubmission, AppError> {
    let mut errors = Errors::new();
    let mut values: Vec<ValueInput> = Vec::new();
    let mut origins = Origins::new();
    let mut listed: HashMap<(String, String, String), usize> = HashMap::new();
    for row in rows {
        if row.cells.iter().all(String::is_empty) {
            // A blank row, as spreadsheets leave below a table.
            continue;
        }
        for (column, name) in COLUMNS.iter().enumerate().take(REQUIRED) {
            if row.cell(column).is_none() {
                errors.push_with(|| {
                    error(row.line, Some(name), "required", "must not be empty".into())
                });
            }
        }
        let mut read_number = |column: usize| -> Option<Decimal> {
            let text = row.cell(column)?;
            let parsed = parse_typed(text);
            if parsed.is_none() {
                errors.push_with(|| {
                    error(
                        row.line,
                        Some(COLUMNS[column]),
                        "not_a_number",
                        format!("'{text}' is not a number"),
                    )
                });
            }
            parsed
        };
        let value = read_number(3);
        let parts = [read_number(4), read_number(5), read_number(6)];
        let by_sex = parts.iter().any(Option::is_some).then(|| BySexInput {
            kvinnor: parts[0].unwrap_or_default(),
            man: parts[1].unwrap_or_default(),
            ej_angivet: parts[2].unwrap_or_default(),
        });
        let orgnr = row.cell(7).map(str::to_string);
        if value.is_none() && orgnr.is_none() && by_sex.is_none() {
            // Not reported.
            continue;
        }
        let key = (
            row.cells[0].clone(),
            row.cells[1].clone(),
            row.cells[2].clone(),
        );
        if let (Some(orgnr), Some(&index)) = (&orgnr, listed.get(&key)) {
            let entities = values[index].entities.get_or_insert_with(Vec::new);
            origins.insert(
                format!("values[{index}].entities[{}]", entities.len()),
                line(row.line, ENTERPRISE_COLUMNS),
            );
            entities.push(orgnr.clone());
            continue;
        }
        let index = values.len();
        origins.insert(format!("values[{index}]"), line(row.line, VALUE_COLUMNS));
        if orgnr.is_some() {
            listed.insert(key.clone(), index);
            origins.insert(
                format!("values[{index}].entities[0]"),
                line(row.line, ENTERPRISE_COLUMNS),
            );
        }
        values.push(ValueInput {
            project_ref: key.0,
            indicator: key.1,
            period: key.2,
            value,
            entities: orgnr.map(|orgnr| vec![orgnr]),
            by_sex,
            comment: with_comments.then(|| row.cells[KOMMENTAR].clone()),
        });
    }
    Ok(ReadSubmission {
        input: SubmissionInput {
            values,
            keeps_stored_comments: !with_comments,
            ..SubmissionInput::default()
        },
        origins,
        unreadable: errors.into_vec(),
        ..ReadSubmission::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_values_and_enterprises() {
        let file = "\u{feff}project_ref;indicator;period;value;kvinnor;man;ej_angivet;organisationsnummer\n\
                    P1;RCR01;2026H1;1,5;;;;\n\
                    P1;RCO01;2026H1;;;;;5560360793\n\
                    P1;RCO01;2026H1;;;;;556703-7485\n\
                    P1;NAT-A01;2026H1;10;4;6;;\n\
                    P1;RCR01;2026H2;;;;;\n";
        let read = read(file.as_bytes()).unwrap();
        let values = &read.input.values;
        assert_eq!(values.len(), 3, "a blank value is not reported");
        assert_eq!(values[0].value, Some(Decimal::new(15, 1)));
        assert_eq!(
            values[1].entities.as_deref(),
            Some(["5560360793".to_string(), "556703-7485".to_string()].as_slice())
        );
        assert_eq!(values[2].by_sex.as_ref().unwrap().ej_angivet, Decimal::ZERO);
        let mut errors = [
            FieldError::new("values[2].by_sex.man", "x", "y"),
            FieldError::new("values[1].entities[1]", "x", "y"),
        ];
        read.origins.name(&mut errors);
        assert_eq!(
            (errors[0].line, errors[0].column.as_deref()),
            (Some(5), Some("man"))
        );
        assert_eq!(
            (errors[1].line, errors[1].column.as_deref()),
            (Some(4), Some("organisationsnummer"))
        );
    }

    #[test]
    fn bad_cells_are_named_by_line_and_column() {
        let file = "project_ref,indicator,period,value,kvinnor,man,ej_angivet,organisationsnummer\n\
                    P1,RCR01,2026H1,tolv,,,,\n\
                    ,RCR01,2026H1,1,,,,\n";
        let errors = read(file.as_bytes()).unwrap().unreadable;
        assert_eq!(errors[0].line, Some(2));
        assert_eq!(errors[0].column.as_deref(), Some("value"));
        assert_eq!(errors[0].code, "not_a_number");
        assert_eq!(errors[1].line, Some(3));
        assert_eq!(errors[1].column.as_deref(), Some("project_ref"));
        let trailing = read(b"project_ref;indicator;period;value;\nP1;RCR01;2026H1;1;\n;;;;\n");
        let trailing = trailing.expect("a trailing separator is no column");
        assert_eq!(
            trailing.input.values.len(),
            1,
            "a row of blank cells is skipped"
        );
        assert!(trailing.input.keeps_stored_comments);
        let no_header = read(b"a,b\n1,2\n");
        assert!(matches!(no_header, Err(AppError::Invalid(e)) if e[0].code == "missing_columns"));
    }
}
