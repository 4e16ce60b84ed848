//! Reporting rounds: a region signs off its half-year report (refused while something
//! required is missing, unless it says so), Tillväxtverket accepts or returns it. Every
//! transition is a write in turn with the others, so two transitions of one report, or a
//! transition and a submission, never interleave.

use std::collections::{BTreeSet, HashMap, HashSet};

use crate::auth::{Principal, Role};
use crate::db::reports::{EventRow, StoredState};
use crate::db::{self, DbConnection, Write};
use crate::domain::change::{Change, ChangeKind};
use crate::domain::codes::RegionCode;
use crate::domain::completeness::ProjectNeeds;
use crate::domain::period::PeriodId;
use crate::domain::report::{Party, ReportState, Transition, allowed_from};
use crate::domain::validation::{Errors, FieldError, check_optional_text};
use crate::error::AppError;
use crate::service::completeness::project_needs;
use crate::views::reports::{MayMake, MissingItems, Report, ReportEvent, ReportSummary};

pub const MAX_COMMENT_CHARS: usize = 2_000;

/// What a transition says besides itself.
#[derive(Debug, Clone, Default)]
pub struct TransitionRequest {
    /// The reason of a return or of an incomplete sign-off; a remark otherwise.
    pub comment: Option<String>,
    /// Sign off although something required is missing.
    pub incomplete: bool,
    /// The revision the caller saw (`If-Match`).
    pub if_match: Option<i64>,
}

/// A half-year opened for reporting; anything else names no report.
pub fn half_year(conn: &mut DbConnection, period: &str) -> Result<PeriodId, AppError> {
    let id = PeriodId::parse(period).filter(|id| matches!(id, PeriodId::HalfYear { .. }));
    match id {
        Some(id) if db::periods::find(conn, period)?.is_some() => Ok(id),
        _ => Err(AppError::NotFound(format!(
            "no half-year '{period}' is open for reporting"
        ))),
    }
}

/// The report's current state and revision.
pub fn current_state(
    conn: &mut DbConnection,
    region: &RegionCode,
    period: &str,
) -> Result<(ReportState, i64), AppError> {
    state_of(db::reports::find(conn, region.as_str(), period)?.as_ref())
}

fn state_of(stored: Option<&StoredState>) -> Result<(ReportState, i64), AppError> {
    match stored {
        None => Ok((ReportState::Open, 0)),
        Some(stored) => {
            let state = ReportState::parse(&stored.state)
                .ok_or_else(|| AppError::Internal(format!("stored state '{}'", stored.state)))?;
            Ok((state, stored.revision))
        }
    }
}

/// Whether `principal` may ever make `transition` on `region`'s reports.
fn permitted(principal: &Principal, region: &RegionCode, transition: Transition) -> bool {
    match (principal.role, transition.party()) {
        (Role::Admin, _) => true,
        (Role::Region, Party::Region) => principal.region.as_ref() == Some(region),
        (Role::National, Party::National) => true,
        _ => false,
    }
}

fn may_make(principal: &Principal, region: &RegionCode, state: ReportState) -> MayMake {
    let may = |transition: Transition| {
        permitted(principal, region, transition) && transition.from_states().contains(&state)
    };
    MayMake {
        may_submit: may(Transition::Submit),
        may_withdraw: may(Transition::Withdraw),
        may_accept: may(Transition::Accept),
        may_return: may(Transition::Return),
    }
}

/// Per region: the projects active in the half-year, the values reported, and what each
/// project lacks.
struct Completion {
    projects: u64,
    values: u64,
    missing: Vec<MissingItems>,
}

impl Completion {
    fn missing_count(&self) -> u64 {
        self.missing
            .iter()
            .map(|m| m.indicators.len() as u64 + u64::from(m.narrative))
            .sum()
    }
}

/// What every region's projects reported and lack for the half-year.
fn completion(
    conn: &mut DbConnection,
    half_year: PeriodId,
) -> Result<HashMap<String, Completion>, AppError> {
    let period = half_year.to_string();
    let (needs, reported) = project_needs(
        conn,
        &[half_year],
        half_year.start_date(),
        half_year.end_date(),
    )?;
    let ids: Vec<i64> = needs.iter().map(|n| n.id).collect();
    let narrated: HashSet<i64> = db::reports::with_narrative(conn, &ids, &period)?
        .into_iter()
        .collect();
    let refs = db::projects::refs_of(conn, &ids)?;
    let mut reported_by_project: HashMap<i64, u64> = HashMap::new();
    for (project, _, reported_in) in reported.keys() {
        if *reported_in == period {
            *reported_by_project.entry(*project).or_default() += 1;
        }
    }
    let mut by_region: HashMap<String, Completion> = HashMap::new();
    for ProjectNeeds {
        id,
        region,
        indicators,
        ..
    } in needs
    {
        let entry = by_region.entry(region).or_insert(Completion {
            projects: 0,
            values: 0,
            missing: Vec::new(),
        });
        entry.projects += 1;
        entry.values += reported_by_project.get(&id).copied().unwrap_or(0);
        let lacking: Vec<String> = indicators
            .into_iter()
            .filter(|indicator| !reported.contains_key(&(id, indicator.clone(), period.clone())))
            .collect();
        let narrative = !narrated.contains(&id);
        if !lacking.is_empty() || narrative {
            entry.missing.push(MissingItems {
                project_ref: refs.get(&id).cloned().unwrap_or_default(),
                indicators: lacking,
                narrative,
            });
        }
    }
    for completion in by_region.values_mut() {
        completion
            .missing
            .sort_by(|a, b| a.project_ref.cmp(&b.project_ref));
    }
    Ok(by_region)
}

fn summary(
    principal: &Principal,
    region: &RegionCode,
    half_year: PeriodId,
    (state, revision): (ReportState, i64),
    completion: Option<&Completion>,
) -> ReportSummary {
    ReportSummary {
        region: region.to_string(),
        period: half_year.to_string(),
        state,
        revision,
        projects: completion.map_or(0, |c| c.projects),
        values: completion.map_or(0, |c| c.values),
        missing: completion.map_or(0, Completion::missing_count),
        may: may_make(principal, region, state),
    }
}

/// Every region's report for the half-year (a region's token sees its own), optionally
/// only those in `state`.
pub fn list(
    conn: &mut DbConnection,
    principal: &Principal,
    period: &str,
    state: Option<ReportState>,
) -> Result<Vec<ReportSummary>, AppError> {
    let half_year = half_year(conn, period)?;
    let stored = db::reports::of_period(conn, period)?;
    let completion = completion(conn, half_year)?;
    let mut reports = Vec::new();
    for region in db::reference::list_regions(conn)? {
        let code = RegionCode::parse(&region.code)
            .ok_or_else(|| AppError::Internal(format!("stored region '{}'", region.code)))?;
        if principal.role == Role::Region && principal.region.as_ref() != Some(&code) {
            continue;
        }
        let current = state_of(stored.get(&region.code))?;
        if state.is_some_and(|wanted| wanted != current.0) {
            continue;
        }
        let counted = completion.get(&region.code);
        reports.push(summary(principal, &code, half_year, current, counted));
    }
    Ok(reports)
}

/// One report with its history and what is missing now.
pub fn report(
    conn: &mut DbConnection,
    principal: &Principal,
    region: &RegionCode,
    period: &str,
) -> Result<Report, AppError> {
    let half_year = half_year(conn, period)?;
    let current = current_state(conn, region, period)?;
    let mut completion = completion(conn, half_year)?;
    let counted = completion.remove(region.as_str());
    let history = db::reports::events(conn, region.as_str(), period)?
        .into_iter()
        .map(event_view)
        .collect::<Result<_, _>>()?;
    Ok(Report {
        summary: summary(principal, region, half_year, current, counted.as_ref()),
        missing_by_project: counted.map(|c| c.missing).unwrap_or_default(),
        history,
    })
}

fn event_view(row: EventRow) -> Result<ReportEvent, AppError> {
    let state = |text: &str| {
        ReportState::parse(text).ok_or_else(|| AppError::Internal(format!("stored state '{text}'")))
    };
    let missing = match row.missing {
        Some(json) => Some(
            serde_json::from_str(&json)
                .map_err(|e| AppError::Internal(format!("stored missing items: {e}")))?,
        ),
        None => None,
    };
    Ok(ReportEvent {
        from: state(&row.from_state)?,
        to: state(&row.to_state)?,
        by: row.subject,
        role: row.role,
        at: row.changed_at.and_utc(),
        comment: row.comment,
        missing,
    })
}

/// Makes `transition` on `region`'s report for `period`, as `principal`, in the caller's
/// write transaction.
pub fn transition(
    conn: &mut DbConnection,
    write: &mut Write,
    principal: &Principal,
    region: &RegionCode,
    period: &str,
    transition: Transition,
    request: &TransitionRequest,
) -> Result<(), AppError> {
    let half_year = half_year(conn, period)?;
    if !permitted(principal, region, transition) {
        return Err(AppError::Forbidden(match transition.party() {
            Party::Region => "a region signs off and withdraws only its own reports".into(),
            Party::National => "reports are accepted and returned by Tillväxtverket".into(),
        }));
    }
    let (state, revision) = current_state(conn, region, period)?;
    if let Some(seen) = request.if_match
        && seen != revision
    {
        return Err(AppError::PreconditionFailed(format!(
            "the report is at revision {revision}, not {seen}; read it again"
        )));
    }
    if !transition.from_states().contains(&state) {
        let allowed: Vec<&str> = allowed_from(state).iter().map(|t| t.as_str()).collect();
        return Err(AppError::Conflict(format!(
            "the report of {region} for {half_year} is {}; it can be {} now, not {}",
            state.as_str(),
            allowed.join(" or "),
            transition.as_str(),
        )));
    }
    let comment = check_comment(transition, request)?;
    let missing = match transition {
        Transition::Submit => {
            let lacking = completion(conn, half_year)?
                .remove(region.as_str())
                .map(|c| c.missing)
                .unwrap_or_default();
            if !lacking.is_empty() && !request.incomplete {
                return Err(AppError::Invalid(missing_errors(&lacking, half_year)));
            }
            (!lacking.is_empty()).then(|| serde_json::to_string(&lacking).expect("serialises"))
        }
        _ => None,
    };
    if !db::reports::set_state(
        conn,
        region.as_str(),
        period,
        revision,
        transition.to().as_str(),
    )? {
        return Err(AppError::Conflict("another transition came first".into()));
    }
    let event = EventRow {
        id: 0,
        region: region.to_string(),
        period: period.to_string(),
        from_state: state.as_str().to_string(),
        to_state: transition.to().as_str().to_string(),
        subject: principal.name.clone(),
        role: principal.role.as_str().to_string(),
        comment,
        missing,
        version: write.version,
        changed_at: crate::domain::now(),
    };
    db::reports::append_event(conn, &event)?;
    db::changes::record(
        conn,
        write,
        &principal.name,
        &[Change::new(ChangeKind::Report, transition.as_str())
            .region(region.as_str())
            .period(period)],
    )?;
    tracing::info!(
        region = %region,
        period,
        transition = transition.as_str(),
        from = state.as_str(),
        subject = %principal.subject,
        "report transition"
    );
    Ok(())
}

/// Marks, once, in the history of each accepted report of `region` whose half-year an
/// admin's write changed (`touched`, see `domain::submission::touches`), that the admin
/// changed its figures by `what`: admins are never locked out, and no one else can write
/// there. Nothing for other writers.
pub fn mark_admin_change(
    conn: &mut DbConnection,
    write: &mut Write,
    region: &RegionCode,
    principal: &Principal,
    touched: &BTreeSet<PeriodId>,
    what: &str,
) -> Result<(), AppError> {
    if principal.role != Role::Admin || touched.is_empty() {
        return Ok(());
    }
    let accepted = ReportState::Accepted.as_str();
    let reports = db::reports::periods_in(conn, region.as_str(), &[ReportState::Accepted])?;
    for half_year in touched {
        let period = half_year.to_string();
        if !reports.contains_key(&period) {
            continue;
        }
        db::reports::append_event(
            conn,
            &EventRow {
                id: 0,
                region: region.to_string(),
                period,
                from_state: accepted.to_string(),
                to_state: accepted.to_string(),
                subject: principal.name.clone(),
                role: principal.role.as_str().to_string(),
                comment: Some(format!(
                    "an admin changed data of the accepted report ({what})"
                )),
                missing: None,
                version: write.version,
                changed_at: crate::domain::now(),
            },
        )?;
        db::changes::record(
            conn,
            write,
            &principal.name,
            &[Change::new(ChangeKind::Report, "admin_change")
                .region(region.as_str())
                .period(half_year.to_string())],
        )?;
    }
    Ok(())
}

/// The comment, checked: a return and an incomplete sign-off need one.
fn check_comment(
    transition: Transition,
    request: &TransitionRequest,
) -> Result<Option<String>, AppError> {
    let comment = request.comment.clone().filter(|c| !c.trim().is_empty());
    let needed =
        transition.needs_comment() || (transition == Transition::Submit && request.incomplete);
    if needed && comment.is_none() {
        return Err(AppError::invalid(
            "comment",
            "required",
            "say why: a return and an incomplete sign-off need a reason",
        ));
    }
    let mut errors = Errors::new();
    check_optional_text(
        &mut errors,
        "comment",
        comment.as_deref().unwrap_or_default(),
        MAX_COMMENT_CHARS,
    );
    errors.into_result().map_err(AppError::Invalid)?;
    Ok(comment)
}

fn missing_errors(lacking: &[MissingItems], half_year: PeriodId) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (index, project) in lacking.iter().enumerate() {
        if !project.indicators.is_empty() {
            errors.push(FieldError::new(
                format!("missing[{index}].indicators"),
                "missing_values",
                format!(
                    "project {} has no value for {} in {half_year}",
                    project.project_ref,
                    project.indicators.join(", ")
                ),
            ));
        }
        if project.narrative {
            errors.push(FieldError::new(
                format!("missing[{index}].narrative"),
                "missing_narrative",
                format!(
                    "project {} has no narrative for {half_year}",
                    project.project_ref
                ),
            ));
        }
    }
    errors
}
