//! The change feed as clients read it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::change::ChangeKind;

/// One change: what changed, who changed it, when, and where to continue after it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeEntry {
    /// Continue after this change with `after=` this cursor.
    #[schema(example = "42.1")]
    pub cursor: String,
    /// The data version the change committed as: several changes of one write share it.
    pub version: i64,
    pub kind: ChangeKind,
    /// `created`, `updated`, `deleted`; a report's transition (`submit`, `withdraw`,
    /// `accept`, `return`) or `admin_change`; a snapshot's `published`.
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project_ref: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub indicator: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// A code (`dimension/code`) or a snapshot's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
    /// The subject of the token that made the change.
    pub changed_by: String,
    /// The stamp of the change's data version (as `as_of` reads it).
    pub changed_at: DateTime<Utc>,
}

/// A page of the feed, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ChangeFeed {
    pub changes: Vec<ChangeEntry>,
    /// Where to continue: the last change's cursor, or the cursor asked with when there is
    /// nothing new. Opaque and stable.
    #[schema(example = "42.1")]
    pub next: String,
    /// Whether more changes follow at once (the page was full).
    pub more: bool,
}
