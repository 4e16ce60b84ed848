//! A submission as the reporting workbook (`GET …/reports/{period}/template`) filled in by a
//! project officer: read with calamine into the same submission as a JSON body, every item
//! remembering its cell so that an error names `Värden!G12`.
//!
//! An uploaded workbook is hostile until read: its decompressed size is counted before
//! calamine opens it (a few kilobytes can expand to gigabytes), each sheet is read as a
//! stream of cells and stopped at the row limit, and everything the upload does not
//! read (unknown sheets and columns, merged cells) is refused rather than ignored, so that
//! what is stored is exactly what was typed.

mod archive;
mod scan;
mod sheet;

use std::collections::HashMap;
use std::io::Cursor;

use calamine::{Reader, Xlsx};

use crate::api::workbook::{
    BERATTELSER, DATA_SHEETS, DATA_VERSION_NAME, FORETAG, FORETAG_ENTERPRISE, PLANER, PROJEKT,
    VARDEN,
};
use crate::domain::submission::input::{
    BySexInput, NarrativeInput, PlanInput, ProjectInput, SubmissionInput, ValueInput,
};
use crate::domain::submission::origin::Origins;
use crate::error::AppError;
use crate::service::submissions::ReadSubmission;
use sheet::{Cell, Fields, Found, Sheet};

pub use archive::{MAX_DECOMPRESSED_BYTES, MAX_HELD_BYTES, MAX_PARTS};
pub use sheet::{MAX_CELL_TEXT_BYTES, MAX_CELLS, MAX_ROWS, MAX_TEXT_BYTES};

pub(super) fn refuse(code: &str, message: impl Into<String>) -> AppError {
    AppError::invalid("workbook", code, message)
}

/// What a reader's error says, cut short: a hostile file can make it quote megabytes.
pub(super) fn shortened(error: &dyn std::fmt::Display) -> String {
    const MAX_CHARS: usize = 200;
    let text = error.to_string();
    match text.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text,
    }
}

/// Reads an uploaded workbook into a submission, with the cell each item came from.
pub fn read(bytes: &[u8]) -> Result<ReadSubmission, AppError> {
    let structure = archive::check_archive(bytes, MAX_ROWS)?;
    let mut workbook: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(|e| {
        refuse(
            "invalid_xlsx",
            format!(
                "not an Excel workbook (.xlsx) that can be read: {}",
                shortened(&e)
            ),
        )
    })?;
    sheet::check_sheet_names(&workbook.sheet_names())?;
    let template_version = template_version(workbook.defined_names())?;
    let mut found = Found::default();
    let mut budget = sheet::Budget::default();
    let mut sheets = HashMap::new();
    for layout in DATA_SHEETS {
        let scan = structure.get(layout.name);
        sheets.insert(
            layout.name,
            sheet::read_sheet(&mut workbook, layout, scan, &mut budget, &mut found)?,
        );
    }
    let mut read = submission(&sheets, &mut found, template_version);
    if found.layout_broken() {
        return Err(AppError::Invalid(found.into_errors()));
    }
    if !found.is_empty() {
        read.unreadable = found.into_errors();
    }
    Ok(read)
}

/// The data version the template was made at, from its defined name; a workbook without
/// the name is read as a plain submission.
fn template_version(names: &[(String, String)]) -> Result<Option<i64>, AppError> {
    let mut marked = names
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case(DATA_VERSION_NAME));
    let Some((_, formula)) = marked.next() else {
        return Ok(None);
    };
    if marked.next().is_some() {
        return Err(refuse(
            "invalid_template_version",
            format!(
                "the name {DATA_VERSION_NAME} is given more than once; start from a new template"
            ),
        ));
    }
    match formula.trim().trim_start_matches('=').parse::<i64>() {
        Ok(version) if version >= 0 => Ok(Some(version)),
        _ => Err(refuse(
            "invalid_template_version",
            format!(
                "the name {DATA_VERSION_NAME} holds '{formula}', not the data version the template was made at; start from a new template"
            ),
        )),
    }
}

/// The submission the sheets hold; blank rows are not reported.
fn submission(
    sheets: &HashMap<&str, Sheet>,
    found: &mut Found,
    template_version: Option<i64>,
) -> ReadSubmission {
    let mut input = SubmissionInput::default();
    let mut origins = Origins::new();
    let mut refs_typed_as_numbers = Vec::new();
    let mut project_of_ref = HashMap::new();
    for row in &sheets[PROJEKT.name].rows {
        let mut fields = Fields::new(&sheets[PROJEKT.name], row, found);
        let index = input.projects.len();
        fields.read_into(format!("projects[{index}]"), PROJEKT.fields, &mut origins);
        if matches!(fields.cell(0), Cell::Number(_) | Cell::Date(_)) {
            refs_typed_as_numbers.push(index);
        }
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
        let mut fields = Fields::new(&sheets[PLANER.name], row, found);
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
        fields.read_into(
            format!("projects[{project}].indicators[{}]", plans.len()),
            PLANER.fields,
            &mut origins,
        );
        plans.push(PlanInput {
            indicator: fields.text(1),
            baseline: fields.number(2),
            baseline_year: fields.integer(3),
            target: fields.number(4),
            goal: fields.verbatim(5),
            source: fields.verbatim(6),
        });
    }
    for row in &sheets[VARDEN.name].rows {
        let mut fields = Fields::new(&sheets[VARDEN.name], row, found);
        if fields.is_blank(&[6, 7, 8, 9]) {
            if !fields.is_blank(&[10]) {
                fields.error(6, "required", "a comment needs a value");
            }
            continue;
        }
        fields.read_into(
            format!("values[{}]", input.values.len()),
            VARDEN.fields,
            &mut origins,
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
            comment: fields.verbatim(10),
        });
    }
    let mut list_of = HashMap::new();
    for row in &sheets[FORETAG.name].rows {
        let mut fields = Fields::new(&sheets[FORETAG.name], row, found);
        let key = (fields.text(0), fields.text(1), fields.text(2));
        let listed = list_of.get(&key).copied();
        let index = listed.unwrap_or(input.values.len());
        let position = listed.map_or(0, |i: usize| {
            input.values[i].entities.as_ref().map_or(0, Vec::len)
        });
        fields.name_errors_as(
            format!("values[{index}].entities[{position}]"),
            FORETAG_ENTERPRISE,
        );
        let Some(orgnr) = fields.orgnr(3) else {
            if !fields.is_blank(&[4]) {
                fields.error(3, "required", "a comment needs an organisationsnummer");
            }
            continue;
        };
        origins.insert(
            format!("values[{index}].entities[{position}]"),
            fields.origin(FORETAG_ENTERPRISE),
        );
        if listed.is_none() {
            fields.read_into(format!("values[{index}]"), FORETAG.fields, &mut origins);
            list_of.insert(key.clone(), index);
            input.values.push(ValueInput {
                project_ref: key.0,
                period: key.1,
                indicator: key.2,
                value: None,
                entities: Some(Vec::new()),
                by_sex: None,
                comment: None,
            });
        } else {
            fields.name_errors_as(format!("values[{index}]"), FORETAG.fields);
        }
        let comment = fields.verbatim(4);
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
        value.entities.get_or_insert_with(Vec::new).push(orgnr);
    }
    for row in &sheets[BERATTELSER.name].rows {
        let mut fields = Fields::new(&sheets[BERATTELSER.name], row, found);
        if fields.is_blank(&[2, 3, 4]) {
            continue;
        }
        fields.read_into(
            format!("narratives[{}]", input.narratives.len()),
            BERATTELSER.fields,
            &mut origins,
        );
        input.narratives.push(NarrativeInput {
            project_ref: fields.text(0),
            period: fields.text(1),
            progress: fields.verbatim(2).unwrap_or_default(),
            lessons: fields.verbatim(3).unwrap_or_default(),
            deviations: fields.verbatim(4).unwrap_or_default(),
        });
    }
    ReadSubmission {
        input,
        origins,
        refs_typed_as_numbers,
        template_version,
        unreadable: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_zip_is_not_a_workbook() {
        let refused = read(b"project_ref;value\n");
        assert!(
            matches!(&refused, Err(AppError::Invalid(e)) if e[0].code == "invalid_xlsx"),
            "{refused:?}"
        );
    }
}
