//! A workbook as a spreadsheet program saves it, for the upload's tests: the template's
//! cells read back, changed as a person types, written again; and parts of its zip archive
//! replaced, for the files no spreadsheet program would save.

use std::io::{Cursor, Read, Write};

use calamine::{Data, Reader, Xlsx};
use rust_xlsxwriter::{ExcelDateTime, Format, Formula, Workbook};

/// A cell as a person types it into a spreadsheet program.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    Blank,
    Text(String),
    Number(f64),
    Date(u16, u8, u8),
    /// A formula and the value the program calculated ("" for none).
    Formula(String, String),
}

/// A workbook as sheets of rows, as a spreadsheet program holds it.
pub struct Sheets(pub Vec<(String, Vec<Vec<Typed>>)>);

impl Sheets {
    /// The template's cells, every sheet but the hidden code lists.
    pub fn read(bytes: &[u8]) -> Sheets {
        let mut workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(bytes)).unwrap();
        let names: Vec<String> = workbook.sheet_names().to_vec();
        let sheets = names
            .into_iter()
            .filter(|name| name != "Koder")
            .map(|name| {
                let range = workbook.worksheet_range(&name).unwrap();
                let rows = range
                    .rows()
                    .map(|row| {
                        row.iter()
                            .map(|cell| match cell {
                                Data::String(text) => Typed::Text(text.clone()),
                                Data::Float(number) => Typed::Number(*number),
                                Data::Int(number) => Typed::Number(*number as f64),
                                Data::Empty => Typed::Blank,
                                other => panic!("the template holds {other:?}"),
                            })
                            .collect()
                    })
                    .collect();
                (name, rows)
            })
            .collect();
        Sheets(sheets)
    }

    pub fn sheet(&mut self, name: &str) -> &mut Vec<Vec<Typed>> {
        &mut self.0.iter_mut().find(|(n, _)| n == name).unwrap().1
    }

    /// The row (0 is the header) whose first cells are `keys`.
    pub fn row_of(&mut self, sheet: &str, keys: &[&str]) -> usize {
        self.sheet(sheet)
            .iter()
            .position(|row| {
                keys.iter()
                    .zip(row)
                    .all(|(key, cell)| *cell == Typed::Text(key.to_string()))
            })
            .unwrap_or_else(|| panic!("{sheet} has no row {keys:?}"))
    }

    pub fn set(&mut self, sheet: &str, row: usize, column: usize, cell: Typed) {
        let rows = self.sheet(sheet);
        if rows.len() <= row {
            rows.resize(row + 1, Vec::new());
        }
        if rows[row].len() <= column {
            rows[row].resize(column + 1, Typed::Blank);
        }
        rows[row][column] = cell;
    }

    /// The zip part the sheet is saved in.
    pub fn part(&self, sheet: &str) -> String {
        let index = self.0.iter().position(|(n, _)| n == sheet).unwrap();
        format!("xl/worksheets/sheet{}.xml", index + 1)
    }

    pub fn push(&mut self, sheet: &str, cells: Vec<Typed>) {
        self.sheet(sheet).push(cells);
    }

    /// The workbook as a spreadsheet program saves the template it opened: with the
    /// template's defined name that holds its data version.
    pub fn write_from(&self, template: &[u8]) -> Vec<u8> {
        let workbook: Xlsx<_> = calamine::open_workbook_from_rs(Cursor::new(template)).unwrap();
        let (name, formula) = workbook
            .defined_names()
            .iter()
            .find(|(name, _)| name == DATA_VERSION)
            .cloned()
            .expect("the template names its data version");
        self.write_with(|workbook| {
            workbook.define_name(name, &format!("={formula}")).unwrap();
        })
    }

    /// The workbook as a spreadsheet program saves it.
    pub fn write(&self) -> Vec<u8> {
        self.write_with(|_| {})
    }

    pub fn write_with(&self, adjust: impl FnOnce(&mut Workbook)) -> Vec<u8> {
        let mut workbook = Workbook::new();
        let date = Format::new().set_num_format("yyyy-mm-dd");
        for (name, rows) in &self.0 {
            let sheet = workbook.add_worksheet().set_name(name).unwrap();
            for (row, cells) in rows.iter().enumerate() {
                for (column, cell) in cells.iter().enumerate() {
                    let (row, column) = (row as u32, column as u16);
                    match cell {
                        Typed::Blank => {}
                        Typed::Text(text) => {
                            sheet.write_string(row, column, text).unwrap();
                        }
                        Typed::Number(number) => {
                            sheet.write_number(row, column, *number).unwrap();
                        }
                        Typed::Date(y, m, d) => {
                            let day = ExcelDateTime::from_ymd(*y, *m, *d).unwrap();
                            sheet
                                .write_datetime_with_format(row, column, &day, &date)
                                .unwrap();
                        }
                        Typed::Formula(formula, result) => {
                            let formula = Formula::new(formula).set_result(result);
                            sheet.write_formula(row, column, formula).unwrap();
                        }
                    }
                }
            }
        }
        adjust(&mut workbook);
        workbook.save_to_buffer().unwrap()
    }
}

/// The template's defined name that holds the data version it was made at.
pub const DATA_VERSION: &str = "uppfoljning_dataversion";

pub fn text(text: &str) -> Typed {
    Typed::Text(text.to_string())
}

/// A copy of `workbook` with the part `name` replaced by `content`, written by `write`.
pub fn with_part(workbook: &[u8], name: &str, write: impl FnOnce(&mut dyn Write)) -> Vec<u8> {
    let mut source = zip::ZipArchive::new(Cursor::new(workbook)).unwrap();
    let mut target = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .large_file(true);
    let mut write = Some(write);
    for index in 0..source.len() {
        let part = source.by_index(index).unwrap();
        if part.name() == name {
            drop(part);
            target.start_file(name, options).unwrap();
            (write.take().unwrap())(&mut target);
        } else {
            target.raw_copy_file(part).unwrap();
        }
    }
    target.finish().unwrap().into_inner()
}

/// The result of a formula that is to be saved without its value: rust_xlsxwriter, like a
/// spreadsheet program, always saves one, so it is taken out of the saved sheet.
pub const UNCALCULATED: &str = "UNCALCULATED";

pub fn uncalculated(workbook: &[u8], part: &str) -> Vec<u8> {
    let mut xml = String::new();
    let mut archive = zip::ZipArchive::new(Cursor::new(workbook)).unwrap();
    archive
        .by_name(part)
        .unwrap()
        .read_to_string(&mut xml)
        .unwrap();
    let xml = xml.replace(&format!("<v>{UNCALCULATED}</v>"), "");
    with_part(workbook, part, |target| {
        target.write_all(xml.as_bytes()).unwrap()
    })
}
