//! The workbook's zip archive, checked before calamine opens it: what it expands to is
//! counted part by part while unzipping (a few kilobytes can expand to gigabytes).

use std::io::{Cursor, Read};

use super::refuse;
use crate::error::AppError;

/// The most a workbook may expand to when unzipped, all its parts together.
pub const MAX_DECOMPRESSED_BYTES: u64 = 64 * 1024 * 1024;
/// The most parts a workbook's zip archive may have.
pub const MAX_PARTS: usize = 1_000;
/// The most the workbook's shared texts may expand to: calamine holds them all in memory,
/// each as a string of its own, so their part has a tighter limit than the sheets, which
/// are read as a stream.
pub const MAX_SHARED_STRINGS_BYTES: u64 = 16 * 1024 * 1024;
const SHARED_STRINGS: &str = "xl/sharedStrings.xml";

/// Counts what the archive expands to, part by part, stopping at the limit: the sizes the
/// archive declares are not trusted.
pub(super) fn check_archive(bytes: &[u8]) -> Result<(), AppError> {
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
