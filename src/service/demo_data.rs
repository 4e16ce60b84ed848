//! Loading the synthetic national portfolio (`demo`) through the same checks and storage as
//! a bulk submission, for the `demo-data` command and the benchmark.

use crate::auth::{Principal, Role};
use crate::db::periods::PeriodRow;
use crate::db::{self, DbConnection};
use crate::demo::{self, DemoSpec, Portfolio};
use crate::domain::codes::RegionCode;
use crate::domain::period::LockMode;
use crate::domain::submission::input::SubmissionInput;
use crate::error::AppError;
use crate::service::submissions;

/// The largest submission the loader stores at once, in items.
const ITEMS_PER_CHUNK: usize = 50_000;

/// What the loader stored or changed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Loaded {
    pub projects: u64,
    pub values: u64,
    pub narratives: u64,
}

/// Opens the demo's half-years and years that are not open yet.
pub fn open_periods(conn: &mut DbConnection, spec: &DemoSpec) -> Result<(), AppError> {
    for (period, deadline) in demo::periods(spec) {
        let id = period.to_string();
        if db::periods::find(conn, &id)?.is_none() {
            let row = PeriodRow {
                id,
                kind: period.kind().as_str().to_string(),
                start_date: period.start_date(),
                end_date: period.end_date(),
                deadline,
                lock_mode: LockMode::Deadline.as_str().to_string(),
                created_at: crate::domain::now(),
            };
            db::periods::insert(conn, &row)?;
        }
    }
    Ok(())
}

/// The projects, values and narratives of a portfolio: what `load` reports progress in.
pub fn item_count(portfolio: &Portfolio) -> usize {
    portfolio.values().map(item_count_of).sum()
}

fn item_count_of(submission: &SubmissionInput) -> usize {
    submission.projects.len() + submission.values.len() + submission.narratives.len()
}

/// Opens the periods and stores each region's portfolio in submissions the bulk endpoint
/// would accept, calling `progress` with the number of items of each stored submission.
pub fn load(
    conn: &mut DbConnection,
    spec: &DemoSpec,
    portfolio: Portfolio,
    mut progress: impl FnMut(usize),
) -> Result<Loaded, AppError> {
    open_periods(conn, spec)?;
    let loader = Principal {
        issuer: None,
        subject: "demo-data".into(),
        name: "demo-data".into(),
        role: Role::Admin,
        region: None,
    };
    let mut loaded = Loaded::default();
    for (region, submission) in portfolio {
        let region = RegionCode::parse(&region)
            .ok_or_else(|| AppError::Internal(format!("demo region '{region}'")))?;
        for chunk in demo::in_chunks(submission, ITEMS_PER_CHUNK) {
            let items = item_count_of(&chunk);
            let result = db::write_transaction(conn, |conn, write| {
                submissions::store(conn, write, &region, &loader, chunk)
            })?;
            loaded.projects += result.projects.created + result.projects.updated;
            loaded.values += result.values.created + result.values.updated;
            loaded.narratives += result.narratives.created + result.narratives.updated;
            progress(items);
        }
    }
    Ok(loaded)
}
