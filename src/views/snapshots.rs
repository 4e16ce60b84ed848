//! A snapshot as clients read it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::db::snapshots::SnapshotRow;

#[derive(Serialize, ToSchema)]
pub struct SnapshotSummary {
    pub id: String,
    pub period: String,
    pub label: String,
    pub as_of: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    /// SHA-256 (hex) of the canonical JSON of `figures`: period, as_of and the aggregates.
    pub sha256: String,
    /// The data version the figures were computed at: the last write committed by `as_of`.
    pub version: i64,
    /// When it was published (then it is read without a token and never changes); null: a
    /// draft, read only with a token.
    pub published_at: Option<DateTime<Utc>>,
    pub published_by: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Snapshot {
    #[serde(flatten)]
    pub summary: SnapshotSummary,
    /// `{"period", "as_of", "aggregates": [...], "by_sex": [...]}`: each active indicator
    /// grouped by region, as `GET /api/v1/aggregates` answered at `as_of`, and for each
    /// indicator with a sex breakdown `{"regions": by region and sex, "nation": by sex}`.
    /// Snapshots made before the split was added have no `by_sex`.
    #[schema(value_type = Object)]
    pub figures: Value,
}

impl From<&SnapshotRow> for SnapshotSummary {
    fn from(row: &SnapshotRow) -> Self {
        SnapshotSummary {
            id: row.id.clone(),
            period: row.period.clone(),
            label: row.label.clone(),
            as_of: row.as_of.and_utc(),
            created_at: row.created_at.and_utc(),
            created_by: row.created_by.clone(),
            sha256: row.sha256.clone(),
            version: row.version,
            published_at: row.published_at.map(|at| at.and_utc()),
            published_by: row.published_by.clone(),
        }
    }
}
