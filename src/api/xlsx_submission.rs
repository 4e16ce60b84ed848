//! A submission as the reporting workbook (`GET …/reports/{period}/template`) filled in by a
//! project officer: read with calamine into the same submission as a JSON body, every item
//! remembering its cell so that an error names `Värden!G12`.
//!
//! An uploaded workbook is hostile until read: its decompressed size is counted before
//! calamine opens it (a few kilobytes can expand to gigabytes), each sheet is read as a
//! stream of cells and stopped at the row limit, and everything the upload does not
//! read (unknown sheets and columns, merged cells) is refused rather than ignored, so that
//! what is stored is exactly what was typed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Cursor, Read};

use calamine::{DataRef, Reader, Xlsx};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::api::workbook::{
    BERATTELSER, DATA_SHEETS, FORETAG, FORETAG_ENTERPRISE, HELP_SHEETS, Layout, PLANER, PROJEKT,
    VARDEN, column_letter,
};
use crate::domain::decimal::parse_typed;
use crate::domain::submission::input::{
    BySexInput, NarrativeInput, PlanInput, ProjectInput, SubmissionInput, ValueInput,
};
use crate::domain::submission::origin::{Origin, Origins};
use crate::domain::validation::FieldError;
use crate::error::AppError;
use crate::service::submissions::ReadSubmission;

/// The most a workbook may expand to when unzipped, all its parts together.
pub const MAX_DECOMPRESSED_BYTES: u64 = 64 * 1024 * 1024;
/// The most rows one sheet may have, its header included.
pub const MAX_ROWS: u32 = 100_000;
/// The most parts a workbook's zip archive may have.
pub const MAX_PARTS: usize = 1_000;
/// The most the workbook's shared texts may expand to: calamine holds them all in memory,
/// each as a string of its own, so their part has a tighter limit than the sheets, which
/// are read as a stream.
pub const MAX_SHARED_STRINGS_BYTES: u64 = 16 * 1024 * 1024;
const SHARED_STRINGS: &str = "xl/sharedStrings.xml";

/// A cell as the upload sees it.
#[derive(Debug, Clone, PartialEq)]
enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    /// A truth value, an error such as `#DIV/0!`, a duration: nothing a field holds.
    Other(String),
    /// A formula whose value the workbook does not hold (it was never calculated).
    Uncalculated,
}

struct Row {
    /// As a spreadsheet numbers it: the header is row 1.
    number: u32,
    cells: Vec<Cell>,
}

struct Sheet {
    layout: &'static Layout,
    rows: Vec<Row>,
}

/// The errors found while reading, each naming its cell.
#[derive(Default)]
struct Found(Vec<FieldError>);

impl Found {
    fn at(&mut self, sheet: &str, row: u32, column: u16, code: &str, message: impl Into<String>) {
        let letter = column_letter(column);
        let cell = format!("{sheet}!{letter}{row}");
        self.0.push(FieldError {
            sheet: Some(sheet.to_string()),
            row: Some(u64::from(row)),
            column: Some(letter),
            cell: Some(cell.clone()),
            ..FieldError::new(cell, code, message)
        });
    }
}

fn refuse(code: &str, message: impl Into<String>) -> AppError {
    AppError::invalid("workbook", code, message)
}

/// Reads an uploaded workbook into a submission, with the cell each item came from.
pub fn read(bytes: &[u8]) -> Result<ReadSubmission, AppError> {
    check_archive(bytes)?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        refuse(
            "invalid_xlsx",
            format!("not an Excel workbook (.xlsx) that can be read: {e}"),
        )
    })?;
    check_sheet_names(&workbook.sheet_names())?;
    let mut found = Found::default();
    let mut sheets = HashMap::new();
    for layout in DATA_SHEETS {
        sheets.insert(layout.name, read_sheet(&mut workbook, layout, &mut found)?);
    }
    let read = submission(&sheets, &mut found);
    if !found.0.is_empty() {
        return Err(AppError::Invalid(found.0));
    }
    Ok(read)
}

/// Counts what the archive expands to, part by part, stopping at the limit: the sizes the
/// archive declares are not trusted.
fn check_archive(bytes: &[u8]) -> Result<(), AppError> {
    let not_a_workbook = |e: &dyn std::fmt::Display| {
        refuse(
            "invalid_xlsx",
            format!("not an Excel workbook (.xlsx), or a damaged one: {e}"),
        )
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| not_a_workbook(&e))?;
    if archive.len() > MAX_PARTS {
        return Err(refuse(
            "workbook_too_large",
            format!("a workbook has at most {MAX_PARTS} parts"),
        ));
    }
    let too_large = || {
        refuse(
            "workbook_too_large",
            format!(
                "the workbook expands to more than {} MiB; split it",
                MAX_DECOMPRESSED_BYTES / 1024 / 1024
            ),
        )
    };
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let part = archive.by_index(index).map_err(|e| not_a_workbook(&e))?;
        let shared_strings = part.name() == SHARED_STRINGS;
        let mut left = MAX_DECOMPRESSED_BYTES - total;
        if shared_strings {
            left = left.min(MAX_SHARED_STRINGS_BYTES);
        }
        let refusal = || {
            if shared_strings {
                refuse(
                    "workbook_too_large",
                    format!(
                        "the workbook's texts expand to more than {} MiB; split it",
                        MAX_SHARED_STRINGS_BYTES / 1024 / 1024
                    ),
                )
            } else {
                too_large()
            }
        };
        if part.size() > left {
            return Err(refusal());
        }
        let read = std::io::copy(&mut part.take(left + 1), &mut std::io::sink())
            .map_err(|e| not_a_workbook(&e))?;
        if read > left {
            return Err(refusal());
        }
        total += read;
    }
    Ok(())
}

fn check_sheet_names(names: &[String]) -> Result<(), AppError> {
    let mut errors = Vec::new();
    for layout in DATA_SHEETS {
        if !names.iter().any(|name| name == layout.name) {
            errors.push(FieldError {
                sheet: Some(layout.name.to_string()),
                ..FieldError::new(
                    "workbook",
                    "missing_sheet",
                    format!(
                        "the sheet '{}' is missing; start from the template",
                        layout.name
                    ),
                )
            });
        }
    }
    for name in names {
        let known = DATA_SHEETS.iter().any(|layout| layout.name == name)
            || HELP_SHEETS.contains(&name.as_str());
        if !known {
            errors.push(FieldError {
                sheet: Some(name.clone()),
                ..FieldError::new(
                    "workbook",
                    "unknown_sheet",
                    format!("the sheet '{name}' is not read; remove it, or move its data to the template's sheets"),
                )
            });
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Invalid(errors))
    }
}

fn too_many_rows(sheet: &str) -> AppError {
    AppError::Invalid(vec![FieldError {
        sheet: Some(sheet.to_string()),
        ..FieldError::new(
            sheet,
            "too_many_rows",
            format!("the sheet '{sheet}' has more than {MAX_ROWS} rows; split the report"),
        )
    }])
}

fn xlsx_error(sheet: &str, error: calamine::XlsxError) -> AppError {
    AppError::invalid(
        sheet,
        "invalid_xlsx",
        format!("the sheet cannot be read: {error}"),
    )
}

/// Reads one sheet as a stream of cells: formulas first (to know which cells hold one), then
/// values, each pass stopped at the row limit; then merged cells and headers are checked.
fn read_sheet(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    layout: &'static Layout,
    found: &mut Found,
) -> Result<Sheet, AppError> {
    let name = layout.name;
    let width = layout.headers.len();
    let formulas = formula_cells(workbook, name, width)?;
    let mut rows: BTreeMap<u32, Vec<Cell>> = BTreeMap::new();
    let mut unknown_columns = HashSet::new();
    let mut cells = workbook
        .worksheet_cells_reader(name)
        .map_err(|e| xlsx_error(name, e))?;
    while let Some(cell) = cells.next_cell().map_err(|e| xlsx_error(name, e))? {
        let (row, column) = cell.get_position();
        if row >= MAX_ROWS {
            return Err(too_many_rows(name));
        }
        let value = cell_of(cell.get_value(), formulas.contains(&(row, column)));
        if value == Cell::Empty {
            continue;
        }
        if column as usize >= width {
            if unknown_columns.insert(column) {
                found.at(
                    name,
                    row + 1,
                    column as u16,
                    "unknown_column",
                    format!(
                        "this column is not read; the sheet's columns are {}",
                        layout.headers.join(", ")
                    ),
                );
            }
            continue;
        }
        rows.entry(row).or_insert_with(|| vec![Cell::Empty; width])[column as usize] = value;
    }
    drop(cells);
    // The merged cells are listed after the cells: looked for once the rows are within the
    // limit.
    if let Some(merged) = workbook.worksheet_merge_cells(name) {
        let merged = merged.map_err(|e| xlsx_error(name, e))?;
        if let Some(first) = merged.first() {
            found.at(
                name,
                first.start.0 + 1,
                first.start.1 as u16,
                "merged_cells",
                "merged cells are not read; unmerge them and give each cell its own value",
            );
        }
    }
    let header = rows.remove(&0).unwrap_or_else(|| vec![Cell::Empty; width]);
    for (column, expected) in layout.headers.iter().enumerate() {
        let matches =
            matches!(&header[column], Cell::Text(text) if text.to_lowercase() == *expected);
        if !matches {
            found.at(
                name,
                1,
                column as u16,
                "wrong_header",
                format!("the header here is '{expected}', as in the template"),
            );
        }
    }
    Ok(Sheet {
        layout,
        rows: rows
            .into_iter()
            .map(|(row, cells)| Row {
                number: row + 1,
                cells,
            })
            .collect(),
    })
}

/// The cells of the sheet's `width` columns that hold a formula (beyond them no cell is read).
fn formula_cells(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    name: &str,
    width: usize,
) -> Result<HashSet<(u32, u32)>, AppError> {
    let mut formulas = HashSet::new();
    let mut cells = workbook
        .worksheet_cells_reader(name)
        .map_err(|e| xlsx_error(name, e))?;
    while let Some(cell) = cells.next_formula().map_err(|e| xlsx_error(name, e))? {
        if cell.get_position().0 >= MAX_ROWS {
            return Err(too_many_rows(name));
        }
        if (cell.get_position().1 as usize) < width && !cell.get_value().is_empty() {
            formulas.insert(cell.get_position());
        }
    }
    Ok(formulas)
}

/// A cell's value; a formula's blank value was never calculated (a program that calculated
/// it stores what it gave).
fn cell_of(value: &DataRef<'_>, formula: bool) -> Cell {
    let cell = value_of(value);
    if formula && cell == Cell::Empty {
        Cell::Uncalculated
    } else {
        cell
    }
}

fn value_of(value: &DataRef<'_>) -> Cell {
    match value {
        DataRef::Empty => Cell::Empty,
        DataRef::String(text) => text_cell(text),
        DataRef::SharedString(text) => text_cell(text),
        DataRef::Float(number) => Cell::Number(*number),
        DataRef::Int(number) => Cell::Number(*number as f64),
        DataRef::DateTime(date) if !date.is_duration() => date
            .as_datetime()
            .map(|at| Cell::Date(at.date()))
            .unwrap_or_else(|| Cell::Other("a date outside the calendar".into())),
        DataRef::DateTimeIso(text) => text
            .get(..10)
            .and_then(|day| NaiveDate::parse_from_str(day, "%Y-%m-%d").ok())
            .map(Cell::Date)
            .unwrap_or_else(|| Cell::Other(format!("the time {text}"))),
        DataRef::DateTime(_) | DataRef::DurationIso(_) => Cell::Other("a duration".into()),
        DataRef::Bool(truth) => Cell::Other(format!("the truth value {truth}")),
        DataRef::Error(error) => Cell::Other(format!("the error {error}")),
    }
}

fn text_cell(text: &str) -> Cell {
    let text = text.trim();
    if text.is_empty() {
        Cell::Empty
    } else {
        Cell::Text(text.to_string())
    }
}

/// The number a spreadsheet holds as it was typed: the shortest decimal that reads back as
/// the same double (typed 0.1 is held as the double nearest 0.1 and read as 0.1).
fn decimal_of(number: f64) -> Option<Decimal> {
    number
        .is_finite()
        .then(|| number.to_string())
        .and_then(|text| text.parse().ok())
}

/// One row of a sheet, read into fields; what cannot be read is reported with its cell.
struct Fields<'a> {
    sheet: &'a Sheet,
    row: &'a Row,
    found: &'a mut Found,
}

impl Fields<'_> {
    fn cell(&self, column: u16) -> &Cell {
        &self.row.cells[column as usize]
    }

    fn is_blank(&self, columns: &[u16]) -> bool {
        columns.iter().all(|c| *self.cell(*c) == Cell::Empty)
    }

    fn error(&mut self, column: u16, code: &str, message: impl Into<String>) {
        self.found.at(
            self.sheet.layout.name,
            self.row.number,
            column,
            code,
            message,
        );
    }

    /// The cell's value as a field reads it, or an error for what no field holds.
    fn readable(&mut self, column: u16) -> Option<Cell> {
        match self.cell(column).clone() {
            Cell::Other(what) => {
                self.error(
                    column,
                    "invalid_value",
                    format!("{what} is no value of this column"),
                );
                None
            }
            Cell::Uncalculated => {
                self.error(
                    column,
                    "formula_without_value",
                    "a formula whose value the workbook does not hold; open and save the workbook in Excel, or type the value",
                );
                None
            }
            cell => Some(cell),
        }
    }

    fn text(&mut self, column: u16) -> String {
        match self.readable(column) {
            Some(Cell::Text(text)) => text,
            Some(Cell::Number(number)) => decimal_of(number)
                .map(|d| d.normalize().to_string())
                .unwrap_or_default(),
            Some(Cell::Date(date)) => date.to_string(),
            _ => String::new(),
        }
    }

    fn optional_text(&mut self, column: u16) -> Option<String> {
        Some(self.text(column)).filter(|text| !text.is_empty())
    }

    fn list(&mut self, column: u16) -> Vec<String> {
        self.text(column)
            .split([',', ';'])
            .map(str::trim)
            .filter(|code| !code.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn number(&mut self, column: u16) -> Option<Decimal> {
        match self.readable(column)? {
            Cell::Number(number) => {
                let read = decimal_of(number);
                if read.is_none() {
                    self.error(column, "not_a_number", "the number is out of range");
                }
                read
            }
            Cell::Text(text) => {
                let read = parse_typed(&text);
                if read.is_none() {
                    self.error(column, "not_a_number", format!("'{text}' is not a number"));
                }
                read
            }
            Cell::Date(_) => {
                self.error(
                    column,
                    "date_not_number",
                    "a date where a number belongs; format the cell as a number",
                );
                None
            }
            _ => None,
        }
    }

    fn integer(&mut self, column: u16) -> Option<i64> {
        let number = self.number(column)?;
        let whole = number.fract().is_zero().then(|| number.to_i64()).flatten();
        if whole.is_none() {
            self.error(
                column,
                "not_an_integer",
                format!("{number} is not a whole number"),
            );
        }
        whole
    }

    fn required_integer(&mut self, column: u16) -> i64 {
        if *self.cell(column) == Cell::Empty {
            self.error(column, "required", "must not be empty");
        }
        self.integer(column).unwrap_or_default()
    }

    fn date(&mut self, column: u16) -> NaiveDate {
        let date = match self.readable(column) {
            Some(Cell::Date(date)) => Some(date),
            Some(Cell::Text(text)) => NaiveDate::parse_from_str(&text, "%Y-%m-%d").ok(),
            _ => None,
        };
        if date.is_none() {
            match self.cell(column) {
                Cell::Empty => self.error(column, "required", "must not be empty"),
                Cell::Other(_) | Cell::Uncalculated => {}
                _ => self.error(column, "not_a_date", "a date belongs here, as ÅÅÅÅ-MM-DD"),
            }
        }
        date.unwrap_or_default()
    }

    /// An organisationsnummer: typed as a number, Excel drops its dash and leading zeros.
    fn orgnr(&mut self, column: u16) -> Option<String> {
        match self.readable(column)? {
            Cell::Number(number) if number.fract() == 0.0 && (0.0..1e10).contains(&number) => {
                Some(format!("{:010}", number as u64))
            }
            Cell::Text(text) => Some(text),
            Cell::Empty => None,
            _ => {
                self.error(
                    column,
                    "invalid_orgnr",
                    "an organisationsnummer belongs here, as NNNNNN-NNNN",
                );
                None
            }
        }
    }

    fn origin(&self, columns: &'static [(&'static str, &'static str)]) -> Origin {
        Origin {
            sheet: Some(self.sheet.layout.name),
            row: u64::from(self.row.number),
            columns,
        }
    }
}

/// The submission the sheets hold; blank rows are not reported.
fn submission(sheets: &HashMap<&str, Sheet>, found: &mut Found) -> ReadSubmission {
    let mut input = SubmissionInput::default();
    let mut origins = Origins::new();
    let mut project_of_ref = HashMap::new();
    for row in &sheets[PROJEKT.name].rows {
        let mut fields = Fields {
            sheet: &sheets[PROJEKT.name],
            row,
            found,
        };
        let index = input.projects.len();
        origins.insert(format!("projects[{index}]"), fields.origin(PROJEKT.fields));
        let project = ProjectInput {
            project_ref: fields.text(0),
            title: fields.text(1),
            organisation: fields.text(2),
            status: fields.text(3),
            project_type: fields.text(4),
            sakomrade: fields.text(5),
            fokusomrade: fields.optional_text(6),
            effektkedja: fields.text(7),
            branscher: fields.list(8),
            verktyg: fields.list(9),
            syften: fields.list(10),
            start_date: fields.date(11),
            end_date: fields.date(12),
            granted_sek: fields.required_integer(13),
            total_budget_sek: fields.required_integer(14),
            indicators: Vec::new(),
        };
        project_of_ref.insert(project.project_ref.clone(), index);
        input.projects.push(project);
    }
    for row in &sheets[PLANER.name].rows {
        let mut fields = Fields {
            sheet: &sheets[PLANER.name],
            row,
            found,
        };
        let project_ref = fields.text(0);
        let Some(&project) = project_of_ref.get(&project_ref) else {
            fields.error(
                0,
                "unknown_project",
                format!("the project '{project_ref}' is not on the sheet Projekt"),
            );
            continue;
        };
        let plans = &mut input.projects[project].indicators;
        origins.insert(
            format!("projects[{project}].indicators[{}]", plans.len()),
            fields.origin(PLANER.fields),
        );
        plans.push(PlanInput {
            indicator: fields.text(1),
            baseline: fields.number(2),
            baseline_year: fields.integer(3),
            target: fields.number(4),
            goal: fields.optional_text(5),
            source: fields.optional_text(6),
        });
    }
    for row in &sheets[VARDEN.name].rows {
        let mut fields = Fields {
            sheet: &sheets[VARDEN.name],
            row,
            found,
        };
        if fields.is_blank(&[6, 7, 8, 9]) {
            if !fields.is_blank(&[10]) {
                fields.error(6, "required", "a comment needs a value");
            }
            continue;
        }
        origins.insert(
            format!("values[{}]", input.values.len()),
            fields.origin(VARDEN.fields),
        );
        let value = fields.number(6);
        let parts = [fields.number(7), fields.number(8), fields.number(9)];
        input.values.push(ValueInput {
            project_ref: fields.text(0),
            period: fields.text(1),
            indicator: fields.text(2),
            value,
            entities: None,
            by_sex: parts.iter().any(Option::is_some).then(|| BySexInput {
                kvinnor: parts[0].unwrap_or_default(),
                man: parts[1].unwrap_or_default(),
                ej_angivet: parts[2].unwrap_or_default(),
            }),
            comment: fields.optional_text(10),
        });
    }
    let mut list_of = HashMap::new();
    for row in &sheets[FORETAG.name].rows {
        let mut fields = Fields {
            sheet: &sheets[FORETAG.name],
            row,
            found,
        };
        let Some(orgnr) = fields.orgnr(3) else {
            if !fields.is_blank(&[4]) {
                fields.error(3, "required", "a comment needs an organisationsnummer");
            }
            continue;
        };
        let key = (fields.text(0), fields.text(1), fields.text(2));
        let comment = fields.optional_text(4);
        let index = *list_of.entry(key.clone()).or_insert_with(|| {
            origins.insert(
                format!("values[{}]", input.values.len()),
                fields.origin(FORETAG.fields),
            );
            input.values.push(ValueInput {
                project_ref: key.0,
                period: key.1,
                indicator: key.2,
                value: None,
                entities: Some(Vec::new()),
                by_sex: None,
                comment: None,
            });
            input.values.len() - 1
        });
        let value = &mut input.values[index];
        match (&value.comment, comment) {
            (_, None) => {}
            (None, comment) => value.comment = comment,
            (Some(first), Some(other)) if *first != other => fields.error(
                4,
                "conflicting_comments",
                "one list of enterprises has one comment; write it on one of its rows",
            ),
            _ => {}
        }
        let entities = value.entities.get_or_insert_with(Vec::new);
        origins.insert(
            format!("values[{index}].entities[{}]", entities.len()),
            fields.origin(FORETAG_ENTERPRISE),
        );
        entities.push(orgnr);
    }
    for row in &sheets[BERATTELSER.name].rows {
        let mut fields = Fields {
            sheet: &sheets[BERATTELSER.name],
            row,
            found,
        };
        if fields.is_blank(&[2, 3, 4]) {
            continue;
        }
        origins.insert(
            format!("narratives[{}]", input.narratives.len()),
            fields.origin(BERATTELSER.fields),
        );
        input.narratives.push(NarrativeInput {
            project_ref: fields.text(0),
            period: fields.text(1),
            progress: fields.text(2),
            lessons: fields.text(3),
            deviations: fields.text(4),
        });
    }
    ReadSubmission { input, origins }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_read_back_as_typed() {
        assert_eq!(decimal_of(0.1), Some(Decimal::new(1, 1)));
        assert_eq!(decimal_of(1234567.891), Some(Decimal::new(1234567891, 3)));
        assert_eq!(
            decimal_of(5560360793.0),
            Some(Decimal::from(5560360793_i64))
        );
        assert_eq!(decimal_of(f64::NAN), None);
        assert_eq!(decimal_of(1e300), None, "beyond what a value holds");
    }

    #[test]
    fn a_formula_without_its_value_is_its_own_kind_of_cell() {
        assert_eq!(cell_of(&DataRef::Empty, true), Cell::Uncalculated);
        assert_eq!(cell_of(&DataRef::Empty, false), Cell::Empty);
        assert_eq!(
            cell_of(&DataRef::String(String::new()), true),
            Cell::Uncalculated
        );
        assert_eq!(
            cell_of(&DataRef::SharedString("  "), false),
            Cell::Empty,
            "blank text is blank"
        );
        assert_eq!(cell_of(&DataRef::Int(3), true), Cell::Number(3.0));
    }

    #[test]
    fn not_a_zip_is_not_a_workbook() {
        let refused = read(b"project_ref;value\n");
        assert!(
            matches!(&refused, Err(AppError::Invalid(e)) if e[0].code == "invalid_xlsx"),
            "{refused:?}"
        );
    }
}
