//! The workbook's zip archive, checked before calamine opens it: what it expands to is
//! counted part by part while unzipping (a few kilobytes can expand to gigabytes), and the
//! data sheets' structure is scanned (`scan.rs`) so that calamine is only asked for values.

use std::collections::HashMap;
use std::io::{BufReader, Cursor, Read};

use super::scan::{self, ScanError, SheetScan};
use super::{refuse, shortened};
use crate::api::workbook::DATA_SHEETS;
use crate::error::AppError;

/// The most a workbook may expand to when unzipped, all its parts together.
pub const MAX_DECOMPRESSED_BYTES: u64 = 64 * 1024 * 1024;
/// The most parts a workbook's zip archive may have.
pub const MAX_PARTS: usize = 1_000;
/// The most the parts that calamine holds in memory may expand to, together: every part but
/// the worksheets, which are read as a stream (the shared texts, styles, the workbook and its
/// relationships). Parts are told apart as calamine finds them, whatever their letter case.
pub const MAX_HELD_BYTES: u64 = 16 * 1024 * 1024;
/// The most sheets a workbook may list: calamine keeps each sheet's name and part path.
pub const MAX_SHEETS: usize = 32;
/// The longest part path a relationship may name: calamine copies it for every sheet
/// that refers to it.
const MAX_TARGET_BYTES: usize = 1024;

type Archive<'a> = zip::ZipArchive<Cursor<&'a [u8]>>;

/// The data sheets' structure, by sheet name.
pub(super) type Structure = HashMap<&'static str, SheetScan>;

fn not_a_workbook(error: &dyn std::fmt::Display) -> AppError {
    refuse(
        "invalid_xlsx",
        format!(
            "not an Excel workbook (.xlsx), or a damaged one: {}",
            shortened(error)
        ),
    )
}

/// A part's name as calamine compares it: forward slashes, any letter case.
fn normalized(name: &str) -> String {
    name.replace('\\', "/").to_ascii_lowercase()
}

/// Whether calamine reads the part as a stream rather than holding it whole.
fn is_streamed(name: &str) -> bool {
    normalized(name).starts_with("xl/worksheets/")
}

/// Counts what the archive expands to, part by part, stopping at the limits (the sizes the
/// archive declares are not trusted), then scans each data sheet within `rows` rows.
pub(super) fn check_archive(bytes: &[u8], rows: u32) -> Result<Structure, AppError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| not_a_workbook(&e))?;
    if archive.len() > MAX_PARTS {
        return Err(refuse(
            "workbook_too_large",
            format!("a workbook has at most {MAX_PARTS} parts"),
        ));
    }
    count_parts(&mut archive)?;
    scan_data_sheets(&mut archive, rows)
}

fn count_parts(archive: &mut Archive<'_>) -> Result<(), AppError> {
    let mut total: u64 = 0;
    let mut held: u64 = 0;
    for index in 0..archive.len() {
        let part = archive.by_index(index).map_err(|e| not_a_workbook(&e))?;
        let streamed = is_streamed(part.name());
        let left = if streamed {
            MAX_DECOMPRESSED_BYTES - total
        } else {
            (MAX_DECOMPRESSED_BYTES - total).min(MAX_HELD_BYTES - held)
        };
        let refusal = || {
            if streamed {
                refuse(
                    "workbook_too_large",
                    format!(
                        "the workbook expands to more than {} MiB; split it",
                        MAX_DECOMPRESSED_BYTES / 1024 / 1024
                    ),
                )
            } else {
                refuse(
                    "workbook_too_large",
                    format!(
                        "the workbook's texts, styles and names expand to more than {} MiB; split it",
                        MAX_HELD_BYTES / 1024 / 1024
                    ),
                )
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
        if !streamed {
            held += read;
        }
    }
    Ok(())
}

/// The archive's part that calamine reads for `path`: the first whose name matches it in
/// any letter case.
fn part_index(archive: &Archive<'_>, path: &str) -> Option<usize> {
    let path = normalized(path);
    archive
        .file_names()
        .position(|name| normalized(name) == path)
}

fn scan_part<T>(
    archive: &mut Archive<'_>,
    index: usize,
    read: impl FnOnce(BufReader<&mut dyn Read>) -> Result<T, ScanError>,
) -> Result<T, AppError> {
    let mut part = archive.by_index(index).map_err(|e| not_a_workbook(&e))?;
    read(BufReader::new(&mut part as &mut dyn Read)).map_err(|e| not_a_workbook(&e.0))
}

/// Scans each data sheet's part. A sheet that cannot be found is left to calamine, which
/// names what is missing.
fn scan_data_sheets(archive: &mut Archive<'_>, rows: u32) -> Result<Structure, AppError> {
    let mut structure = Structure::new();
    let (Some(workbook), Some(relationships)) = (
        part_index(archive, "xl/workbook.xml"),
        part_index(archive, "xl/_rels/workbook.xml.rels"),
    ) else {
        return Ok(structure);
    };
    let sheets = scan_part(archive, workbook, |part| scan::sheet_ids(part))?;
    if sheets.len() > MAX_SHEETS {
        return Err(refuse(
            "workbook_too_large",
            format!("a workbook has at most {MAX_SHEETS} sheets; start from the template"),
        ));
    }
    let targets = scan_part(archive, relationships, |part| scan::targets(part))?;
    if targets.values().any(|path| path.len() > MAX_TARGET_BYTES) {
        return Err(not_a_workbook(&format!(
            "a relationship names a part longer than {MAX_TARGET_BYTES} bytes"
        )));
    }
    for layout in DATA_SHEETS {
        let Some(index) = sheets
            .iter()
            .find(|(name, _)| name == layout.name)
            .and_then(|(_, id)| targets.get(id))
            .and_then(|path| part_index(archive, path))
        else {
            continue;
        };
        let columns = layout.headers.len() as u32;
        let sheet = scan_part(archive, index, |part| scan::scan_sheet(part, rows, columns))?;
        structure.insert(layout.name, sheet);
    }
    Ok(structure)
}
