//! One sheet of the workbook read as a stream of cells, and a row's cells read into the
//! fields of a submission, each error naming its cell.

use std::collections::{BTreeMap, HashSet};
use std::io::Cursor;

use calamine::{DataRef, Xlsx};
use chrono::NaiveDate;
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::scan::SheetScan;
use crate::api::workbook::{DATA_SHEETS, HELP_SHEETS, Layout, column_letter};
use crate::domain::decimal::parse_typed;
use crate::domain::submission::origin::{Origin, Origins};
use crate::domain::validation::{Errors, FieldError};
use crate::error::AppError;

/// The most rows one sheet may have, its header included.
pub const MAX_ROWS: u32 = 100_000;

/// A cell as the upload sees it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Date(NaiveDate),
    /// A truth value, an error such as `#DIV/0!`, a duration: nothing a field holds.
    Other(String),
    /// A formula whose value the workbook does not hold (it was never calculated).
    Uncalculated,
}

pub(super) struct Row {
    /// As a spreadsheet numbers it: the header is row 1.
    number: u32,
    cells: Vec<Cell>,
}

pub(super) struct Sheet {
    pub(super) layout: &'static Layout,
    pub(super) rows: Vec<Row>,
}

/// The errors found while reading, each naming its cell.
#[derive(Default)]
pub(super) struct Found {
    errors: Errors,
    /// Whether a sheet is not laid out as the template (a header, an unknown column, merged
    /// cells): its rows cannot be trusted to hold what their columns say, so they are not
    /// checked further.
    layout_broken: bool,
}

impl Found {
    pub(super) fn into_errors(self) -> Vec<FieldError> {
        self.errors.into_vec()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.errors.is_empty()
    }

    pub(super) fn layout_broken(&self) -> bool {
        self.layout_broken
    }

    fn is_full(&self) -> bool {
        self.errors.is_full()
    }

    /// An error of the sheet's layout at `row`, `column` of `sheet`.
    fn of_layout(&mut self, sheet: &str, row: u32, column: u16, code: &str, message: &str) {
        self.layout_broken = true;
        self.at(sheet, row, column, code, message);
    }

    /// An error of the cell at `row`, `column` of `sheet`.
    pub(super) fn at(
        &mut self,
        sheet: &str,
        row: u32,
        column: u16,
        code: &str,
        message: impl Into<String>,
    ) {
        self.of_field(sheet, row, column, None, code, message);
    }

    /// An error of the cell that fills `field` of the submission; without a field (the
    /// cell fills none, or its item is not known yet) the field is named by the cell.
    fn of_field(
        &mut self,
        sheet: &str,
        row: u32,
        column: u16,
        field: Option<String>,
        code: &str,
        message: impl Into<String>,
    ) {
        self.errors.push_with(|| {
            let letter = column_letter(column);
            let cell = format!("{sheet}!{letter}{row}");
            FieldError {
                sheet: Some(sheet.to_string()),
                row: Some(u64::from(row)),
                column: Some(letter),
                cell: Some(cell.clone()),
                ..FieldError::new(field.unwrap_or(cell), code, message)
            }
        });
    }
}

pub(super) fn check_sheet_names(names: &[String]) -> Result<(), AppError> {
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
        format!("the sheet cannot be read: {}", super::shortened(&error)),
    )
}

/// What the cells of a workbook may take in memory, all sheets together: without a bound,
/// one long text shared by many cells would be copied for each.
pub(super) struct Budget {
    cells: usize,
    text_bytes: usize,
}

/// The most cells the upload keeps, all sheets together: each row it reads keeps a cell for
/// each of the sheet's columns.
pub const MAX_CELLS: usize = 2_000_000;
/// The most bytes of text the upload copies out of the cells, all sheets together.
pub const MAX_TEXT_BYTES: usize = 32 * 1024 * 1024;
/// The longest text one cell may hold: above the longest field (a narrative's 10,000
/// characters, 4 bytes each at most), so that a field's own check names a text too long.
pub const MAX_CELL_TEXT_BYTES: usize = 64 * 1024;

impl Default for Budget {
    fn default() -> Self {
        Budget {
            cells: MAX_CELLS,
            text_bytes: MAX_TEXT_BYTES,
        }
    }
}

impl Budget {
    fn take_row(&mut self, width: usize) -> Result<(), AppError> {
        self.cells = self.cells.checked_sub(width).ok_or_else(|| {
            super::refuse(
                "workbook_too_large",
                format!("the workbook's sheets hold more than {MAX_CELLS} cells; split the report"),
            )
        })?;
        Ok(())
    }

    fn take_text(&mut self, bytes: usize) -> Result<(), AppError> {
        self.text_bytes = self.text_bytes.checked_sub(bytes).ok_or_else(|| {
            super::refuse(
                "workbook_too_large",
                format!(
                    "the workbook's cells hold more than {} MiB of text; split the report",
                    MAX_TEXT_BYTES / 1024 / 1024
                ),
            )
        })?;
        Ok(())
    }
}

/// Reads one sheet as a stream of cells, stopped at the row limit and within the budget;
/// which cells hold a formula and which are merged was found by the scan of its part.
pub(super) fn read_sheet(
    workbook: &mut Xlsx<Cursor<&[u8]>>,
    layout: &'static Layout,
    scan: Option<&SheetScan>,
    budget: &mut Budget,
    found: &mut Found,
) -> Result<Sheet, AppError> {
    let name = layout.name;
    let width = layout.headers.len();
    let no_formulas = HashSet::new();
    let formulas = scan.map_or(&no_formulas, |scan| &scan.formulas);
    if scan.is_some_and(|scan| scan.past_row_limit) {
        return Err(too_many_rows(name));
    }
    let mut rows: BTreeMap<u32, Vec<Cell>> = BTreeMap::new();
    let mut unknown_columns = HashSet::new();
    let unknown_column_message = format!(
        "this column is not read; the sheet's columns are {}",
        layout.headers.join(", ")
    );
    let mut cells = workbook
        .worksheet_cells_reader(name)
        .map_err(|e| xlsx_error(name, e))?;
    while let Some(cell) = cells.next_cell().map_err(|e| xlsx_error(name, e))? {
        let (row, column) = cell.get_position();
        if row >= MAX_ROWS {
            return Err(too_many_rows(name));
        }
        if column as usize >= width {
            if matches!(cell.get_value(), DataRef::Empty) {
                continue;
            }
            // Each unknown column is named once; once no more errors are kept, each of
            // their cells is only counted, and the set of columns stops growing.
            if found.is_full() || unknown_columns.insert(column) {
                found.of_layout(
                    name,
                    row + 1,
                    column as u16,
                    "unknown_column",
                    unknown_column_message.as_str(),
                );
            }
            continue;
        }
        let value = cell.get_value();
        if let Some(text) = text_of(value) {
            if text.len() > MAX_CELL_TEXT_BYTES {
                found.at(
                    name,
                    row + 1,
                    column as u16,
                    "too_long",
                    format!("the cell holds more than {MAX_CELL_TEXT_BYTES} bytes of text"),
                );
                continue;
            }
            budget.take_text(text.len())?;
        }
        let value = cell_of(value, formulas.contains(&(row, column)));
        if value == Cell::Empty {
            continue;
        }
        let cells = match rows.entry(row) {
            std::collections::btree_map::Entry::Occupied(cells) => cells.into_mut(),
            std::collections::btree_map::Entry::Vacant(place) => {
                budget.take_row(width)?;
                place.insert(vec![Cell::Empty; width])
            }
        };
        cells[column as usize] = value;
    }
    drop(cells);
    if let Some((row, column)) = scan.and_then(|scan| scan.first_merged) {
        found.of_layout(
            name,
            row + 1,
            column as u16,
            "merged_cells",
            "merged cells are not read; unmerge them and give each cell its own value",
        );
    }
    let header = rows.remove(&0).unwrap_or_else(|| vec![Cell::Empty; width]);
    for (column, expected) in layout.headers.iter().enumerate() {
        let matches =
            matches!(&header[column], Cell::Text(text) if text.trim().to_lowercase() == *expected);
        if !matches {
            found.of_layout(
                name,
                1,
                column as u16,
                "wrong_header",
                &format!("the header here is '{expected}', as in the template"),
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
        DataRef::DateTimeIso(text) => NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .or_else(|_| {
                chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                    .map(|at| at.date())
            })
            .ok()
            .map(Cell::Date)
            .unwrap_or_else(|| {
                let shown: String = text.chars().take(40).collect();
                Cell::Other(format!("the time {shown}"))
            }),
        DataRef::DateTime(_) | DataRef::DurationIso(_) => Cell::Other("a duration".into()),
        DataRef::Bool(truth) => Cell::Other(format!("the truth value {truth}")),
        DataRef::Error(error) => Cell::Other(format!("the error {error}")),
    }
}

/// The text a cell holds, as calamine lends it: copied only once it is known to fit.
fn text_of<'v>(value: &'v DataRef<'_>) -> Option<&'v str> {
    match value {
        DataRef::String(text) => Some(text),
        DataRef::SharedString(text) => Some(text),
        _ => None,
    }
}

/// Text as typed: narratives and comments are stored verbatim, so that a template uploaded
/// unchanged is unchanged; the fields that hold codes trim it (`Fields::text`).
fn text_cell(text: &str) -> Cell {
    if text.trim().is_empty() {
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
pub(super) struct Fields<'a> {
    sheet: &'a Sheet,
    row: &'a Row,
    found: &'a mut Found,
    /// The item the row is read into (`values[3]`) and its fields' columns, once known.
    item: Option<(String, &'static [(&'static str, &'static str)])>,
}

impl<'a> Fields<'a> {
    pub(super) fn new(sheet: &'a Sheet, row: &'a Row, found: &'a mut Found) -> Self {
        Fields {
            sheet,
            row,
            found,
            item: None,
        }
    }

    /// Names the errors of the cells read from now on by the item's field, as the checks
    /// name theirs: `values[3].value` beside `Värden!G5`.
    pub(super) fn name_errors_as(
        &mut self,
        item: String,
        fields: &'static [(&'static str, &'static str)],
    ) {
        self.item = Some((item, fields));
    }

    /// The row is read into `item`: its origin is recorded for the checks' errors, and the
    /// reader's own errors are named by the item's fields.
    pub(super) fn read_into(
        &mut self,
        item: String,
        fields: &'static [(&'static str, &'static str)],
        origins: &mut Origins,
    ) {
        origins.insert(item.clone(), self.origin(fields));
        self.name_errors_as(item, fields);
    }

    fn field_of(&self, column: u16) -> Option<String> {
        let (item, fields) = self.item.as_ref()?;
        let letter = column_letter(column);
        let name = fields
            .iter()
            .filter(|(_, at)| *at == letter)
            .map(|(name, _)| *name)
            .max_by_key(|name| name.len())?;
        Some(if name.is_empty() {
            item.clone()
        } else {
            format!("{item}.{name}")
        })
    }

    pub(super) fn cell(&self, column: u16) -> &Cell {
        &self.row.cells[column as usize]
    }

    pub(super) fn is_blank(&self, columns: &[u16]) -> bool {
        columns.iter().all(|c| *self.cell(*c) == Cell::Empty)
    }

    pub(super) fn error(&mut self, column: u16, code: &str, message: impl Into<String>) {
        let field = self.field_of(column);
        self.found.of_field(
            self.sheet.layout.name,
            self.row.number,
            column,
            field,
            code,
            message,
        );
    }

    /// The cell's value as a field reads it, or an error for what no field holds.
    pub(super) fn readable(&mut self, column: u16) -> Option<Cell> {
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

    pub(super) fn text(&mut self, column: u16) -> String {
        match self.readable(column) {
            Some(Cell::Text(text)) => text.trim().to_string(),
            Some(Cell::Number(number)) => decimal_of(number)
                .map(|d| d.normalize().to_string())
                .unwrap_or_default(),
            Some(Cell::Date(date)) => date.to_string(),
            _ => String::new(),
        }
    }

    pub(super) fn optional_text(&mut self, column: u16) -> Option<String> {
        Some(self.text(column)).filter(|text| !text.is_empty())
    }

    /// A text stored as typed (a narrative, a comment), spaces and line breaks included.
    pub(super) fn verbatim(&mut self, column: u16) -> Option<String> {
        match self.cell(column) {
            Cell::Text(text) => Some(text.clone()),
            _ => self.optional_text(column),
        }
    }

    pub(super) fn list(&mut self, column: u16) -> Vec<String> {
        self.text(column)
            .split([',', ';'])
            .map(str::trim)
            .filter(|code| !code.is_empty())
            .map(str::to_string)
            .collect()
    }

    pub(super) fn number(&mut self, column: u16) -> Option<Decimal> {
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

    pub(super) fn integer(&mut self, column: u16) -> Option<i64> {
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

    pub(super) fn required_integer(&mut self, column: u16) -> i64 {
        if *self.cell(column) == Cell::Empty {
            self.error(column, "required", "must not be empty");
        }
        self.integer(column).unwrap_or_default()
    }

    pub(super) fn date(&mut self, column: u16) -> NaiveDate {
        let date = match self.readable(column) {
            Some(Cell::Date(date)) => Some(date),
            Some(Cell::Text(text)) => NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").ok(),
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
    pub(super) fn orgnr(&mut self, column: u16) -> Option<String> {
        match self.readable(column)? {
            Cell::Number(number) if number.fract() == 0.0 && (0.0..1e10).contains(&number) => {
                Some(format!("{:010}", number as u64))
            }
            Cell::Text(text) => Some(text.trim().to_string()),
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

    pub(super) fn origin(&self, columns: &'static [(&'static str, &'static str)]) -> Origin {
        Origin {
            sheet: Some(self.sheet.layout.name),
            row: u64::from(self.row.number),
            columns,
        }
    }
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
}
