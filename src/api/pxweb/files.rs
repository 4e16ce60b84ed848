//! PxWeb data as a CSV file or an Excel workbook: a grid with the stub's variables as
//! rows and the heading's as columns, as the reference server lays them out. A missing
//! figure is `..`, as in JSON-stat's status.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::api::formats::neutralise;
use crate::domain::pxweb::selection::Selection;
use crate::domain::pxweb::table::{Language, Table};
use crate::error::AppError;

use super::answers::figures;
use super::params::refused;

/// The missing figure's symbol.
const MISSING: &str = "..";

/// How a file writes categories and separates its fields (`outputFormatParams`).
pub struct Layout {
    pub codes: bool,
    pub texts: bool,
    pub title: bool,
    pub separator: u8,
}

impl Layout {
    /// Reads `outputFormatParams` for `csv` or `xlsx`: `UseCodes`, `UseTexts` (default),
    /// `UseCodesAndTexts`, `IncludeTitle`, and for CSV `SeparatorTab`, `SeparatorSpace`,
    /// `SeparatorSemicolon`.
    pub fn parse(params: &[String], csv: bool) -> Result<Layout, AppError> {
        let mut layout = Layout {
            codes: false,
            texts: true,
            title: false,
            separator: b',',
        };
        for param in params {
            match param.to_ascii_lowercase().as_str() {
                "usecodes" => (layout.codes, layout.texts) = (true, false),
                "usetexts" => (layout.codes, layout.texts) = (false, true),
                "usecodesandtexts" => (layout.codes, layout.texts) = (true, true),
                "includetitle" => layout.title = true,
                "separatortab" if csv => layout.separator = b'\t',
                "separatorspace" if csv => layout.separator = b' ',
                "separatorsemicolon" if csv => layout.separator = b';',
                _ => {
                    return Err(refused(
                        "Unsupported output format parameter",
                        format!("'{param}' is not a parameter of this output format"),
                    ));
                }
            }
        }
        Ok(layout)
    }

    fn category(
        &self,
        table: &Table,
        variable: usize,
        category: usize,
        language: Language,
    ) -> String {
        let category = &table.variables[variable].categories[category];
        match (self.codes, self.texts) {
            (true, true) => format!("{} {}", category.code, category.label.get(language)),
            (true, false) => category.code.clone(),
            _ => category.label.get(language).to_string(),
        }
    }
}

/// The grid: the title (if asked), the header, then one line per combination of the
/// stub's categories, each a text cell per stub variable and a figure per combination of
/// the heading's.
struct Grid {
    title: Option<String>,
    header: Vec<String>,
    lines: Vec<(Vec<String>, Vec<Option<Decimal>>)>,
}

fn combinations(
    table: &Table,
    selection: &Selection,
    variables: &[usize],
    layout: &Layout,
    language: Language,
) -> Vec<Vec<String>> {
    let mut all: Vec<Vec<String>> = vec![Vec::new()];
    for v in variables {
        all = all
            .into_iter()
            .flat_map(|prefix| {
                selection.taken[*v].iter().map(move |c| {
                    let mut next = prefix.clone();
                    next.push(layout.category(table, *v, *c, language));
                    next
                })
            })
            .collect();
    }
    all
}

fn grid(table: &Table, selection: &Selection, layout: &Layout, language: Language) -> Grid {
    let rows = combinations(table, selection, &selection.stub, layout, language);
    let columns = combinations(table, selection, &selection.heading, layout, language);
    let mut header: Vec<String> = selection
        .stub
        .iter()
        .map(|v| {
            let variable = &table.variables[*v];
            if layout.texts {
                variable.label.get(language).to_string()
            } else {
                variable.code.to_string()
            }
        })
        .collect();
    header.extend(columns.iter().map(|names| names.join(" ")));
    let figures = figures(table, selection);
    let lines = rows
        .into_iter()
        .zip(figures.chunks(columns.len()))
        .map(|(names, figures)| (names, figures.to_vec()))
        .collect();
    Grid {
        title: layout.title.then(|| table.label(language)),
        header,
        lines,
    }
}

pub fn csv(
    table: &Table,
    selection: &Selection,
    layout: &Layout,
    language: Language,
) -> Result<Vec<u8>, AppError> {
    let failed = |e: csv::Error| AppError::Internal(format!("csv: {e}"));
    let grid = grid(table, selection, layout, language);
    let mut writer = csv::WriterBuilder::new()
        .delimiter(layout.separator)
        .flexible(true)
        .terminator(csv::Terminator::CRLF)
        .from_writer("\u{feff}".as_bytes().to_vec());
    if let Some(title) = &grid.title {
        writer.write_record([neutralise(title)]).map_err(failed)?;
    }
    writer
        .write_record(grid.header.iter().map(|h| neutralise(h)))
        .map_err(failed)?;
    for (names, figures) in &grid.lines {
        let mut record: Vec<String> = names.iter().map(|n| neutralise(n)).collect();
        record.extend(figures.iter().map(|f| match f {
            Some(value) => value.to_string(),
            None => MISSING.to_string(),
        }));
        writer.write_record(record).map_err(failed)?;
    }
    writer
        .into_inner()
        .map_err(|e| AppError::Internal(format!("csv: {e}")))
}

pub fn xlsx(
    table: &Table,
    selection: &Selection,
    layout: &Layout,
    language: Language,
) -> Result<Vec<u8>, AppError> {
    let failed = |e: rust_xlsxwriter::XlsxError| AppError::Internal(format!("xlsx: {e}"));
    let grid = grid(table, selection, layout, language);
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let bold = rust_xlsxwriter::Format::new().set_bold();
    let sheet = workbook.add_worksheet();
    let mut line = 0;
    if let Some(title) = &grid.title {
        sheet
            .write_string_with_format(line, 0, neutralise(title), &bold)
            .map_err(failed)?;
        line += 1;
    }
    for (column, name) in grid.header.iter().enumerate() {
        sheet
            .write_string_with_format(line, column as u16, neutralise(name), &bold)
            .map_err(failed)?;
    }
    for (names, figures) in &grid.lines {
        line += 1;
        for (column, name) in names.iter().enumerate() {
            sheet
                .write_string(line, column as u16, neutralise(name))
                .map_err(failed)?;
        }
        for (i, figure) in figures.iter().enumerate() {
            let column = (names.len() + i) as u16;
            match figure {
                Some(value) => sheet.write_number(line, column, value.to_f64().unwrap_or(f64::NAN)),
                None => sheet.write_string(line, column, MISSING),
            }
            .map_err(failed)?;
        }
    }
    workbook.save_to_buffer().map_err(failed)
}
