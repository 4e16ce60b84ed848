//! Storing a region's submission: checked whole against what the database knows, stored
//! in one transaction or not at all, answered again for a repeated `Idempotency-Key`.

use std::collections::{HashMap, HashSet};

use actix_web::web::Bytes;
use sha2::{Digest, Sha256};

use crate::auth::{Principal, Role};
use crate::db::submissions::{Applied, SubmissionRow, Writer};
use crate::db::{self, DbConnection, Write};
use crate::domain::codes::RegionCode;
use crate::domain::period::swedish_today;
use crate::domain::submission::input::{ProjectInput, SubmissionInput};
use crate::domain::submission::origin::Origins;
use crate::domain::submission::records::{Change, Checked, Outcome};
use crate::domain::submission::{self, Rejection, stale};
use crate::domain::validation::FieldError;
use crate::error::AppError;
use crate::service::reports;
use crate::state::AppState;
use crate::views::submissions::{SubmissionResult, SubmissionStatus};

/// A submission as read from its body: the items, and for a file where each came from, so
/// that errors can name the line or cell.
#[derive(Debug, Default)]
pub struct ReadSubmission {
    pub input: SubmissionInput,
    pub origins: Origins,
    /// The projects (by index) whose ref a spreadsheet holds as a number: such a ref names
    /// an existing project or none, since the number may have lost what was typed (`0701`
    /// is read as 701).
    pub refs_typed_as_numbers: Vec<usize>,
    /// For a workbook made from the template: the data version the template was made at.
    pub template_version: Option<i64>,
    /// The cells (or lines) the reader could not read, each named. The rest is still
    /// checked, so that one answer names every error of the file; nothing is stored.
    pub unreadable: Vec<FieldError>,
}

/// A submission as it arrived, before it is read.
pub struct Received {
    pub region: RegionCode,
    pub principal: Principal,
    pub dry_run: bool,
    pub idempotency_key: Option<String>,
    /// The body, read by `receive` before the writer's turn.
    pub body: Bytes,
}

/// What the transaction decided.
pub enum Decision {
    /// The same key and body came before: its answer again.
    Replay(String),
    Answer(SubmissionResult, u16),
}

/// Stores a submission as the bulk endpoint does, without HTTP: checked whole, stored all or
/// nothing, recorded as a submission of `principal`.
pub fn store(
    conn: &mut DbConnection,
    write: &mut Write,
    region: &RegionCode,
    principal: &Principal,
    input: SubmissionInput,
) -> Result<SubmissionResult, AppError> {
    let body =
        serde_json::to_vec(&input).map_err(|e| AppError::Internal(format!("serialise: {e}")))?;
    let request_sha256 = format!("{:x}", Sha256::digest(&body));
    match decide(
        conn,
        write,
        region,
        principal,
        input,
        &[],
        None,
        false,
        None,
        request_sha256,
    )? {
        Decision::Answer(result, 200) => Ok(result),
        Decision::Answer(result, _) => Err(AppError::Invalid(result.errors)),
        Decision::Replay(_) => Err(AppError::Internal("no key, no replay".into())),
    }
}

#[allow(clippy::too_many_arguments)]
fn decide(
    conn: &mut DbConnection,
    write: &mut Write,
    region: &RegionCode,
    principal: &Principal,
    input: SubmissionInput,
    refs_typed_as_numbers: &[usize],
    template_version: Option<i64>,
    dry_run: bool,
    key: Option<String>,
    request_sha256: String,
) -> Result<Decision, AppError> {
    db::lock_region(conn, region.as_str())?;
    let key = key.filter(|_| !dry_run);
    if let Some(key) = &key
        && let Some(earlier) =
            db::submissions::find_by_key(conn, region.as_str(), &principal.caller(), key)?
    {
        if earlier.request_sha256 == request_sha256 {
            return Ok(Decision::Replay(earlier.response));
        }
        return Err(AppError::invalid(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this key was used with another body; use a new key for new data",
        ));
    }
    // Each project's plans in the sheet's order, to name a plan's row in a conflict.
    let plan_order: Vec<Vec<String>> = match template_version {
        Some(_) => input
            .projects
            .iter()
            .map(|p| p.indicators.iter().map(|i| i.indicator.clone()).collect())
            .collect(),
        None => Vec::new(),
    };
    let checked = check(conn, region, principal, input, refs_typed_as_numbers)?;
    let (mut checked, region_projects) = match checked {
        Ok(checked) => checked,
        Err(rejection) => {
            let (result, status) = SubmissionResult::rejected(dry_run, rejection);
            return Ok(Decision::Answer(result, status));
        }
    };
    if let Some(version) = template_version
        && version >= write.version
    {
        return Err(AppError::invalid(
            "workbook",
            "invalid_template_version",
            format!(
                "the template claims data version {version}, which has not been written yet; start from a new template"
            ),
        ));
    }
    if let Some(version) = template_version
        && let Err(conflicts) =
            reconcile(conn, &mut checked, &plan_order, &region_projects, version)?
    {
        let (result, status) = SubmissionResult::rejected(dry_run, Rejection::Stale(conflicts));
        return Ok(Decision::Answer(result, status));
    }
    if dry_run {
        let outcome =
            db::submissions::apply(conn, region.as_str(), &checked, &region_projects, None)?
                .outcome;
        let result = SubmissionResult::counted(SubmissionStatus::Validated, true, None, outcome);
        return Ok(Decision::Answer(result, 200));
    }
    let submission_id = uuid::Uuid::new_v4().to_string();
    let now = crate::domain::now();
    db::submissions::insert(
        conn,
        &SubmissionRow {
            id: submission_id.clone(),
            region: region.to_string(),
            subject: principal.name.clone(),
            // Kept by caller in `idempotency_keys`; this column holds the keys of before.
            idempotency_key: None,
            request_sha256,
            response: String::new(),
            created_at: now,
        },
        &principal.caller(),
        key.as_deref(),
    )?;
    let writer = Writer {
        subject: &principal.name,
        submission_id: Some(&submission_id),
        now,
        version: write.version,
    };
    let applied = apply(conn, write, region, &checked, &region_projects, &writer)?;
    reports::mark_admin_change(
        conn,
        write,
        region,
        principal,
        &applied.touched,
        &format!("submission {submission_id}"),
    )?;
    let outcome = applied.outcome;
    let result = SubmissionResult::counted(
        SubmissionStatus::Stored,
        false,
        Some(submission_id.clone()),
        outcome,
    );
    db::submissions::set_response(
        conn,
        &submission_id,
        &serde_json::to_string(&result).expect("serialises"),
    )?;
    tracing::info!(
        submission_id = %submission_id,
        region = %region,
        subject = %principal.subject,
        projects = ?outcome.projects,
        values = ?outcome.values,
        narratives = ?outcome.narratives,
        "submission stored"
    );
    Ok(Decision::Answer(result, 200))
}

/// Compares the items of a workbook made from the template at data version `version` with
/// what was stored then and what is stored now (`stale::reconcile`).
fn reconcile(
    conn: &mut DbConnection,
    checked: &mut Checked,
    plan_order: &[Vec<String>],
    region_projects: &db::submissions::RegionProjects,
    version: i64,
) -> Result<Result<(), Vec<FieldError>>, AppError> {
    let refs: HashMap<i64, String> = checked
        .projects
        .iter()
        .map(|project| &project.project_ref)
        .chain(checked.values.iter().map(|value| &value.project_ref))
        .chain(checked.narratives.iter().map(|n| &n.project_ref))
        .filter_map(|r| region_projects.get(r).map(|(id, _, _)| (*id, r.clone())))
        .collect();
    let template = db::submissions::stored_at(conn, &refs, Some(version))?;
    let stored = db::submissions::stored_at(conn, &refs, None)?;
    Ok(stale::reconcile(checked, plan_order, &template, &stored))
}

/// Creates or replaces one project of `region` (its values and narratives are kept), as
/// `principal`: checked as a submission of that one project, outside any bulk submission.
/// Says whether it was created.
pub fn store_project(
    conn: &mut DbConnection,
    write: &mut Write,
    region: &RegionCode,
    principal: &Principal,
    project: ProjectInput,
) -> Result<Result<Change, Rejection>, AppError> {
    db::lock_region(conn, region.as_str())?;
    let submission = SubmissionInput {
        projects: vec![project],
        ..SubmissionInput::default()
    };
    let (checked, region_projects) = match check(conn, region, principal, submission, &[])? {
        Ok(checked) => checked,
        Err(rejection) => return Ok(Err(rejection)),
    };
    let writer = Writer {
        subject: &principal.name,
        submission_id: None,
        now: crate::domain::now(),
        version: write.version,
    };
    let applied = apply(conn, write, region, &checked, &region_projects, &writer)?;
    let project_ref = checked
        .projects
        .first()
        .map(|project| project.project_ref.as_str())
        .unwrap_or_default();
    reports::mark_admin_change(
        conn,
        write,
        region,
        principal,
        &applied.touched,
        &format!("a PUT of project {project_ref}"),
    )?;
    Ok(Ok(if applied.outcome.projects.created > 0 {
        Change::Created
    } else {
        Change::Updated
    }))
}

/// Writes checked items as `writer`, with their revisions; the transaction changed data if
/// any item was created or updated.
fn apply(
    conn: &mut DbConnection,
    write: &mut Write,
    region: &RegionCode,
    checked: &Checked,
    region_projects: &db::submissions::RegionProjects,
    writer: &Writer<'_>,
) -> Result<Applied, AppError> {
    let applied = db::submissions::apply(
        conn,
        region.as_str(),
        checked,
        region_projects,
        Some(writer),
    )?;
    if applied.outcome.changed_anything() {
        write.changed();
    }
    db::changes::record(conn, write, writer.subject, &applied.changes)?;
    Ok(applied)
}

/// Loads the context and checks the input; admins are not held by period locks.
pub fn check(
    conn: &mut DbConnection,
    region: &RegionCode,
    principal: &Principal,
    input: SubmissionInput,
    refs_typed_as_numbers: &[usize],
) -> Result<Result<(Checked, db::submissions::RegionProjects), Rejection>, AppError> {
    let enforce_locks = principal.role != Role::Admin;
    // A ref that can name no project is refused by the checks; it is never sent to the
    // database, which may not even hold its characters (PostgreSQL refuses a NUL).
    let project_refs: Vec<&str> = input
        .projects
        .iter()
        .map(|project| project.project_ref.as_str())
        .filter(|project_ref| submission::is_valid_ref(project_ref))
        .collect();
    let (mut context, region_projects) = db::submissions::load_context(
        conn,
        region.as_str(),
        &project_refs,
        enforce_locks,
        swedish_today(),
    )?;
    let compared: HashMap<i64, String> = submission::refs_to_compare(&input, &context)
        .into_iter()
        .filter_map(|r| region_projects.get(&r).map(|(id, _, _)| (*id, r)))
        .collect();
    context.stored = db::submissions::stored_at(conn, &compared, None)?;
    let numbers = numbers_naming_no_project(&input, refs_typed_as_numbers, &context);
    let checked = submission::check(input, &context);
    Ok(match (checked, numbers.is_empty()) {
        (checked, true) => checked.map(|checked| (checked, region_projects)),
        (Ok(_), false) => Err(Rejection::Invalid(numbers)),
        (
            Err(Rejection::Invalid(errors) | Rejection::Locked(errors) | Rejection::Stale(errors)),
            false,
        ) => Err(Rejection::Invalid(
            numbers.into_iter().chain(errors).collect(),
        )),
    })
}

/// The refs a spreadsheet holds as numbers that name none of the region's projects.
fn numbers_naming_no_project(
    input: &SubmissionInput,
    refs_typed_as_numbers: &[usize],
    context: &submission::Context,
) -> Vec<FieldError> {
    refs_typed_as_numbers
        .iter()
        .filter_map(|&index| {
            let project_ref = &input.projects.get(index)?.project_ref;
            (!context.stored_projects.contains_key(project_ref)).then(|| FieldError {
                index: Some(index),
                ..FieldError::new(
                    format!("projects[{index}].ref"),
                    "ref_typed_as_number",
                    format!(
                        "the ref {project_ref} is held as a number or a date, which may have lost what was typed (0701 becomes 701, 2024-05 a day), and names no project of the region; type it as text"
                    ),
                )
            })
        })
        .collect()
}

/// Reads a received submission, then stores it in the writer's turn. It is read before the
/// turn (`AppState::read_body`), so that a slow or hostile file never holds up other
/// regions' writes.
pub async fn receive<R>(state: &AppState, received: Received, read: R) -> Result<Decision, AppError>
where
    R: FnOnce(&[u8]) -> Result<ReadSubmission, AppError> + Send + 'static,
{
    let Received {
        region,
        principal,
        dry_run,
        idempotency_key,
        body,
    } = received;
    let (
        request_sha256,
        ReadSubmission {
            input,
            origins,
            refs_typed_as_numbers,
            template_version,
            unreadable,
        },
    ) = state
        .read_body(&principal, move || {
            let request_sha256 = format!("{:x}", Sha256::digest(&body));
            Ok((request_sha256, read(&body)?))
        })
        .await?;
    let decision = state
        .write(move |conn| {
            // A file with unreadable cells is only checked, as in a dry run.
            let readable = unreadable.is_empty();
            let decision = db::write_transaction(conn, |conn, write| {
                decide(
                    conn,
                    write,
                    &region,
                    &principal,
                    input,
                    &refs_typed_as_numbers,
                    template_version,
                    dry_run || !readable,
                    idempotency_key,
                    request_sha256,
                )
            });
            let mut decision = match decision {
                Err(AppError::Invalid(errors)) if !readable => {
                    return Ok(with_unreadable(dry_run, unreadable, errors));
                }
                decision => decision?,
            };
            if let Decision::Answer(result, _) = &mut decision {
                origins.name(&mut result.errors);
                if !readable {
                    let checked = std::mem::take(&mut result.errors);
                    return Ok(with_unreadable(dry_run, unreadable, checked));
                }
            }
            Ok(decision)
        })
        .await?;
    // Counted once the transaction has committed.
    if let Decision::Answer(result, _) = &decision
        && result.status == SubmissionStatus::Stored
    {
        crate::observability::record_submission(&Outcome {
            projects: result.projects,
            values: result.values,
            narratives: result.narratives,
        });
    }
    Ok(decision)
}

/// The refusal of a file with cells its reader could not read: the reader's errors, then
/// what the checks refused in the rest of the file. The checks see an unread cell as
/// empty, so their refusal of a cell the reader named, or of a missing field on a row it
/// named, only repeats the reader's error and is left out.
fn with_unreadable(
    dry_run: bool,
    unreadable: Vec<FieldError>,
    checked: Vec<FieldError>,
) -> Decision {
    type Place = (Option<String>, u64, Option<String>);
    let place = |error: &FieldError| -> Option<Place> {
        let row = error.row.or(error.line)?;
        Some((error.sheet.clone(), row, error.column.clone()))
    };
    let cells: HashSet<Place> = unreadable.iter().filter_map(place).collect();
    let rows: HashSet<Place> = cells
        .iter()
        .map(|(sheet, row, _)| (sheet.clone(), *row, None))
        .collect();
    let repeats = |error: &FieldError| {
        place(error).is_some_and(|(sheet, row, column)| {
            let on_row = (sheet, row, None);
            error.code == "required" && rows.contains(&on_row)
                || cells.contains(&(on_row.0, on_row.1, column))
        })
    };
    let errors = unreadable
        .into_iter()
        .chain(checked.into_iter().filter(|error| !repeats(error)))
        .collect();
    let (result, status) = SubmissionResult::rejected(dry_run, Rejection::Invalid(errors));
    Decision::Answer(result, status)
}
