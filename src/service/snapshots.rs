//! Freezing the national figures of a period: every active indicator by region, computed
//! as of one instant, stored with the SHA-256 of its canonical JSON.

use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};

use crate::aggregate_index::AggregateIndex;
use crate::db::snapshots::SnapshotRow;
use crate::db::{self, DbConnection};
use crate::domain::aggregate::question::{GroupBy, Per};
use crate::domain::change::{Change, ChangeKind};
use crate::domain::period::PeriodSpan;
use crate::domain::validation::{Errors, check_text};
use crate::error::AppError;
use crate::service::aggregates::{AggregateRequest, answer_at, rule_of};
use crate::views::aggregates::ReportBasis;

pub const MAX_LABEL_CHARS: usize = 200;

/// A checked request for a snapshot.
#[derive(Debug, Clone)]
pub struct SnapshotRequest {
    pub period: String,
    pub span: PeriodSpan,
    pub label: String,
    /// `None`: the figures as they are.
    pub as_of: Option<DateTime<Utc>>,
    /// Which values count.
    pub basis: ReportBasis,
}

/// Checks the period, the label, and the form of an `as_of` (RFC 3339); `create` checks it
/// against the database's clock.
pub fn check(period: &str, label: &str, as_of: Option<&str>) -> Result<SnapshotRequest, AppError> {
    let mut errors = Errors::new();
    let span = PeriodSpan::parse(period);
    if span.is_none() {
        errors.add(
            "period",
            "invalid_period",
            "must be YYYY, YYYYH1, YYYYH2 or a range A..B",
        );
    }
    check_text(&mut errors, "label", label, MAX_LABEL_CHARS);
    let as_of = match as_of {
        None => None,
        Some(text) => match DateTime::parse_from_rfc3339(text) {
            Ok(time) => Some(time.with_timezone(&Utc).trunc_subsecs(6)),
            Err(_) => {
                errors.add(
                    "as_of",
                    "invalid_time",
                    "must be an RFC 3339 time such as 2027-04-15T00:00:00Z",
                );
                None
            }
        },
    };
    errors.into_result().map_err(AppError::Invalid)?;
    Ok(SnapshotRequest {
        period: period.to_string(),
        span: span.expect("checked"),
        label: label.to_string(),
        as_of,
        basis: ReportBasis::All,
    })
}

/// The canonical JSON of a period's figures at data version `version`, described as of
/// `as_of`: every indicator active then, by region and nationally (`aggregates`) in total
/// and (but for ratios) per project and per million kronor granted, and for each of them
/// with a sex breakdown its split by sex in total (`by_sex`: `regions` grouped by region and
/// sex, `nation` by sex alone, whose groups are `kvinnor`, `man` and `ej_angivet`). Keys are
/// sorted and numbers exact, so the text, and its SHA-256, depend on the figures alone.
fn figures(
    conn: &mut DbConnection,
    request: &SnapshotRequest,
    as_of: DateTime<Utc>,
    version: i64,
    index: Option<&AggregateIndex>,
) -> Result<String, AppError> {
    let (period, span, basis) = (&request.period, &request.span, request.basis);
    let ask = |conn: &mut DbConnection, indicator: &str, group_by: Vec<GroupBy>, per: Per| {
        let request = AggregateRequest {
            indicator: indicator.to_string(),
            period: period.to_string(),
            span: span.clone(),
            group_by,
            per,
            regions: Vec::new(),
            filters: Vec::new(),
            as_of: Some(as_of),
            basis,
            // By region and at most three sexes: 63 rows, within any limit.
            max_cells: usize::MAX,
        };
        answer_at(conn, &request, Some(version), index)
    };
    let mut aggregates = Vec::new();
    let mut by_sex = Vec::new();
    for indicator in db::indicators::definitions_at(conn, Some(version))?
        .into_iter()
        .filter(|definition| definition.active)
    {
        let (_, rule, _) = rule_of(&indicator)?;
        // Each indicator's totals, and where they apply its figures per project and per
        // million kronor granted: comparisons frozen with the figures they rest on.
        for per in Per::ALL.into_iter().filter(|per| per.applies_to(rule)) {
            aggregates.push(ask(conn, &indicator.code, vec![GroupBy::Region], per)?);
        }
        if indicator.by_sex {
            by_sex.push(serde_json::json!({
                "regions": ask(conn, &indicator.code, vec![GroupBy::Region, GroupBy::Sex], Per::Total)?,
                "nation": ask(conn, &indicator.code, vec![GroupBy::Sex], Per::Total)?,
            }));
        }
    }
    let figures = serde_json::json!({
        "period": period,
        "as_of": as_of,
        "aggregates": aggregates,
        "by_sex": by_sex,
    });
    // serde_json's maps are ordered by key, so this text is canonical.
    Ok(figures.to_string())
}

/// Makes sure that every version stamped by `as_of` is committed, so that the figures as
/// of it can never change. An `as_of` not before the database's clock is refused: a later
/// write could still be stamped at or before it (judged by the clock that stamps versions,
/// not by this instance's). A write in flight may have been stamped before `as_of` and not
/// have committed yet: taking the writers' turn and leaving it waits for it. Every write
/// after that reads the clock after `as_of`.
fn settle(conn: &mut DbConnection, as_of: DateTime<Utc>) -> Result<(), AppError> {
    if as_of.naive_utc() >= db::data_version::database_now(conn)? {
        return Err(AppError::invalid(
            "as_of",
            "in_the_future",
            "a snapshot freezes figures that exist: as_of must be before now",
        ));
    }
    db::write_transaction(conn, |_, _| Ok::<_, AppError>(()))
}

/// Computes and stores a snapshot, made by `subject`, from one consistent state; `as_of`
/// must lie before the database's clock, and writes stamped by then are waited for. Without an
/// `as_of` it is of the last committed version, and its `as_of` is the instant that version
/// committed: asked again as of that instant, the same question gives the same figures.
pub fn create(
    conn: &mut DbConnection,
    request: &SnapshotRequest,
    subject: &str,
    index: Option<&AggregateIndex>,
) -> Result<SnapshotRow, AppError> {
    if let Some(as_of) = request.as_of {
        settle(conn, as_of)?;
    }
    let (as_of, version, figures) = db::read_transaction(conn, |conn| {
        let (as_of, version) = match request.as_of {
            Some(as_of) => (as_of, db::data_version::as_of(conn, as_of.naive_utc())?),
            None => {
                let version = db::data_version::current(conn)?;
                (
                    db::data_version::committed_at(conn, version)?.and_utc(),
                    version,
                )
            }
        };
        let figures = figures(conn, request, as_of, version, index)?;
        Ok::<_, AppError>((as_of, version, figures))
    })?;
    let row = SnapshotRow {
        id: uuid::Uuid::new_v4().to_string(),
        period: request.period.clone(),
        label: request.label.clone(),
        as_of: as_of.naive_utc(),
        created_at: crate::domain::now(),
        created_by: subject.to_string(),
        sha256: format!("{:x}", Sha256::digest(figures.as_bytes())),
        figures,
        version,
        published_at: None,
        published_by: None,
    };
    db::snapshots::insert(conn, &row)?;
    tracing::info!(snapshot = %row.id, period = %row.period, version, sha256 = %row.sha256, subject, "snapshot stored");
    Ok(row)
}

/// Publishes a snapshot, once, by `subject`: from then on it is open statistics, read
/// without a token and served through the PxWeb API, and never changed or withdrawn (a
/// correction is a new snapshot, published after it). It commits a data version, so that
/// what is answered from published snapshots changes version with it.
pub fn publish(conn: &mut DbConnection, id: &str, subject: &str) -> Result<SnapshotRow, AppError> {
    db::write_transaction(conn, |conn, write| {
        let Some(row) = db::snapshots::find(conn, id)? else {
            return Err(AppError::NotFound("no such snapshot".into()));
        };
        if let Some(at) = row.published_at {
            return Err(AppError::Conflict(format!(
                "the snapshot was published at {}; a published snapshot is never changed: publish a new one instead",
                at.and_utc().to_rfc3339()
            )));
        }
        let at = crate::domain::now();
        db::snapshots::publish(conn, id, at, subject)?;
        db::changes::record(
            conn,
            write,
            subject,
            &[Change::new(ChangeKind::SnapshotPublished, "published")
                .period(row.period.clone())
                .item(id)],
        )?;
        tracing::info!(snapshot = %id, subject, "snapshot published");
        Ok(SnapshotRow {
            published_at: Some(at),
            published_by: Some(subject.to_string()),
            ..row
        })
    })
}
