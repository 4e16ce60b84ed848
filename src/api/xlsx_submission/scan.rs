//! The workbook's structure read with a streaming XML reader, before calamine reads its
//! values: which part holds which sheet, and in each sheet the cells that hold a formula,
//! the first merged cell and how far its rows reach. Nothing here expands what a file
//! declares (a shared formula's `ref`, a sheet's `dimension`): a cell is recorded only as
//! it is met, and only within the rows and columns the upload reads.

use std::collections::{HashMap, HashSet};
use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Where the cells of one worksheet part stand, as far as the upload needs to know.
#[derive(Debug, Default)]
pub(super) struct SheetScan {
    /// The cells (row, column from 0) within the read area that hold a formula.
    pub(super) formulas: HashSet<(u32, u32)>,
    /// The first merged range's top left cell.
    pub(super) first_merged: Option<(u32, u32)>,
    /// Whether the sheet has a row, or a cell, at or past the row limit.
    pub(super) past_row_limit: bool,
}

/// Why a part could not be scanned.
#[derive(Debug)]
pub(super) struct ScanError(pub(super) String);

impl<E: std::fmt::Display> From<E> for ScanError {
    fn from(error: E) -> Self {
        ScanError(error.to_string())
    }
}

fn reader<R: BufRead>(source: R) -> Reader<R> {
    let mut xml = Reader::from_reader(source);
    // No stack of open elements is kept, so deep nesting costs nothing.
    xml.config_mut().check_end_names = false;
    xml.config_mut().expand_empty_elements = true;
    xml
}

fn attribute(element: &BytesStart<'_>, name: &[u8]) -> Result<Option<Vec<u8>>, ScanError> {
    for found in element.attributes() {
        let found = found?;
        if found.key.as_ref() == name {
            return Ok(Some(found.value.into_owned()));
        }
    }
    Ok(None)
}

/// A cell reference's row and column from 0 (`B3` is (2, 1)), as calamine reads it.
fn position(reference: &[u8]) -> Result<(u32, u32), ScanError> {
    let letters = reference
        .iter()
        .take_while(|b| b.is_ascii_alphabetic())
        .count();
    let mut column: u32 = 0;
    for letter in &reference[..letters] {
        column = column
            .checked_mul(26)
            .and_then(|c| c.checked_add(u32::from(letter.to_ascii_uppercase() - b'A' + 1)))
            .ok_or_else(|| ScanError("a cell reference out of range".into()))?;
    }
    Ok((row_number(&reference[letters..])?, column.saturating_sub(1)))
}

/// A row number (from 1) as a row index from 0.
fn row_number(digits: &[u8]) -> Result<u32, ScanError> {
    let row: u32 = std::str::from_utf8(digits)?.parse()?;
    Ok(row.saturating_sub(1))
}

/// Scans one worksheet part: formula cells within `rows` × `columns`, the first merged
/// cell, and whether any row or cell lies at or past `rows`. A cell's position follows calamine's
/// rule: its `r`, or the one after the cell before it in the row.
pub(super) fn scan_sheet<R: BufRead>(
    source: R,
    rows: u32,
    columns: u32,
) -> Result<SheetScan, ScanError> {
    let mut xml = reader(source);
    let mut scan = SheetScan::default();
    let mut buf = Vec::new();
    let (mut row, mut column) = (0u32, 0u32);
    let mut cell: Option<(u32, u32)> = None;
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf)? {
            Event::Start(e) => match e.local_name().as_ref() {
                b"row" => {
                    if let Some(r) = attribute(&e, b"r")? {
                        row = row_number(&r)?;
                    }
                    column = 0;
                    // Even an empty row: reading a million of them is work for nothing.
                    if row >= rows {
                        scan.past_row_limit = true;
                        return Ok(scan);
                    }
                }
                b"c" => {
                    let at = match attribute(&e, b"r")? {
                        Some(r) => position(&r)?,
                        None => (row, column),
                    };
                    column = at.1.saturating_add(1);
                    if at.0 >= rows {
                        scan.past_row_limit = true;
                        return Ok(scan);
                    }
                    cell = Some(at);
                }
                b"f" => {
                    if let Some(at) = cell.filter(|at| at.1 < columns) {
                        scan.formulas.insert(at);
                    }
                }
                b"mergeCell" if scan.first_merged.is_none() => {
                    if let Some(range) = attribute(&e, b"ref")? {
                        let first = range.split(|b| *b == b':').next().unwrap_or_default();
                        scan.first_merged = Some(position(first)?);
                    }
                }
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                b"row" => row = row.saturating_add(1),
                b"c" => cell = None,
                _ => {}
            },
            Event::Eof => return Ok(scan),
            _ => {}
        }
    }
}

/// The sheets a workbook part lists, by name, with the relationship id of each.
pub(super) fn sheet_ids<R: BufRead>(source: R) -> Result<Vec<(String, Vec<u8>)>, ScanError> {
    let mut xml = reader(source);
    let mut sheets = Vec::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf)? {
            Event::Start(e) if e.local_name().as_ref() == b"sheet" => {
                let mut name = String::new();
                let mut id = Vec::new();
                for found in e.attributes() {
                    let found = found?;
                    match found.key.as_ref() {
                        b"name" => {
                            name = found.decode_and_unescape_value(xml.decoder())?.into_owned();
                        }
                        b"r:id" | b"relationships:id" => id = found.value.into_owned(),
                        _ => {}
                    }
                }
                sheets.push((name, id));
            }
            Event::Eof => return Ok(sheets),
            _ => {}
        }
    }
}

/// The workbook's relationships: each id's target part, as a path in the archive the way
/// calamine resolves it (`worksheets/sheet1.xml` is `xl/worksheets/sheet1.xml`).
pub(super) fn targets<R: BufRead>(source: R) -> Result<HashMap<Vec<u8>, String>, ScanError> {
    let mut xml = reader(source);
    let mut targets = HashMap::new();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match xml.read_event_into(&mut buf)? {
            Event::Start(e) if e.local_name().as_ref() == b"Relationship" => {
                let id = attribute(&e, b"Id")?.unwrap_or_default();
                let target = attribute(&e, b"Target")?.unwrap_or_default();
                let target = String::from_utf8(target)?;
                let path = if let Some(rest) = target.strip_prefix("/xl/") {
                    format!("xl/{rest}")
                } else if target.starts_with("xl/") {
                    target
                } else {
                    format!("xl/{target}")
                };
                targets.insert(id, path);
            }
            Event::Eof => return Ok(targets),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sheet(cells: &str) -> String {
        format!(
            r#"<worksheet><dimension ref="A1:XFD1048576"/><sheetData>{cells}</sheetData></worksheet>"#
        )
    }

    #[test]
    fn formula_cells_are_found_where_calamine_places_them() {
        let xml = sheet(
            r#"<row r="2"><c r="B2"><f>1+1</f><v>2</v></c><c><f t="shared" ref="C2:XFD1048576" si="0">A1</f></c></row><row><c><f t="shared" si="0"/></c></row>"#,
        );
        let scan = scan_sheet(xml.as_bytes(), 100, 16).unwrap();
        assert_eq!(
            scan.formulas,
            HashSet::from([(1, 1), (1, 2), (2, 0)]),
            "the shared range is not expanded"
        );
        assert!(!scan.past_row_limit);
    }

    #[test]
    fn formulas_beyond_the_read_columns_are_not_kept() {
        let xml = sheet(r#"<row r="1"><c r="XFD1"><f>1</f></c></row>"#);
        assert!(
            scan_sheet(xml.as_bytes(), 100, 16)
                .unwrap()
                .formulas
                .is_empty()
        );
    }

    #[test]
    fn a_cell_past_the_row_limit_stops_the_scan() {
        let xml = sheet(r#"<row r="1048576"><c r="A1048576"><v>1</v></c></row>"#);
        assert!(scan_sheet(xml.as_bytes(), 100, 16).unwrap().past_row_limit);
        let empty_rows = sheet(&r#"<row/>"#.repeat(101));
        assert!(
            scan_sheet(empty_rows.as_bytes(), 100, 16)
                .unwrap()
                .past_row_limit,
            "empty rows count too"
        );
    }

    #[test]
    fn the_first_merged_cell_is_found() {
        let xml = r#"<worksheet><sheetData/><mergeCells><mergeCell ref="C4:D5"/><mergeCell ref="A1:B1"/></mergeCells></worksheet>"#;
        assert_eq!(
            scan_sheet(xml.as_bytes(), 100, 16).unwrap().first_merged,
            Some((3, 2))
        );
    }

    #[test]
    fn deep_nesting_costs_nothing() {
        let xml = format!("{}{}", "<a>".repeat(100_000), "</a>".repeat(100_000));
        assert!(scan_sheet(xml.as_bytes(), 100, 16).is_ok());
    }

    #[test]
    fn sheets_and_their_parts() {
        let workbook = r#"<workbook><sheets><sheet name="Projekt &amp; co" sheetId="1" r:id="rId1"/></sheets></workbook>"#;
        assert_eq!(
            sheet_ids(workbook.as_bytes()).unwrap(),
            vec![("Projekt & co".to_string(), b"rId1".to_vec())]
        );
        let rels = r#"<Relationships><Relationship Id="rId1" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Target="/xl/worksheets/sheet2.xml"/></Relationships>"#;
        let targets = targets(rels.as_bytes()).unwrap();
        assert_eq!(targets[&b"rId1".to_vec()], "xl/worksheets/sheet1.xml");
        assert_eq!(targets[&b"rId2".to_vec()], "xl/worksheets/sheet2.xml");
    }
}
