//! The values the index takes and gives, whatever its backend: metrics,
//! resources to create or change, listings' pages and filters, and what the
//! back window dropped.

use uuid::Uuid;

use crate::filter::Filter;
use crate::resource::AttributeValue;
use crate::time::Timestamp;

/// Whether a metric is live or waiting for its data to be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricStatus {
    Active,
    Delete,
}

impl MetricStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MetricStatus::Active => "active",
            MetricStatus::Delete => "delete",
        }
    }

    /// The status a stored `status` names: `delete`, or else active.
    pub fn from_stored(text: &str) -> MetricStatus {
        if text == "delete" {
            MetricStatus::Delete
        } else {
            MetricStatus::Active
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub id: Uuid,
    pub name: Option<String>,
    pub unit: Option<String>,
    pub archive_policy_name: String,
    pub creator: String,
    pub resource_id: Option<Uuid>,
    pub status: MetricStatus,
}

/// How a resource names a metric: an existing one, or one to create.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricRef {
    Existing(Uuid),
    Create {
        /// The archive-policy rules pick one when `None`.
        archive_policy_name: Option<String>,
        unit: Option<String>,
    },
}

/// A resource to create (`POST /v1/resource/TYPE`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewResource {
    pub id: Uuid,
    pub original_resource_id: String,
    pub type_name: String,
    pub creator: String,
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    /// Now when `None`.
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Timestamp>,
    pub attributes: Vec<(String, AttributeValue)>,
    pub metrics: Vec<(String, MetricRef)>,
}

/// What a `PATCH /v1/resource/TYPE/ID` changes; `None` leaves a field as is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceChanges {
    pub user_id: Option<Option<String>>,
    pub project_id: Option<Option<String>>,
    pub started_at: Option<Timestamp>,
    pub ended_at: Option<Option<Timestamp>>,
    pub attributes: Vec<(String, AttributeValue)>,
    /// Replaces the resource's metrics (never a new revision).
    pub metrics: Option<Vec<(String, MetricRef)>>,
}

/// Which metrics a listing shows; `None` fields do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MetricFilter {
    pub resource_id: Option<Uuid>,
    pub id: Option<String>,
    pub name: Option<String>,
    pub unit: Option<String>,
    pub archive_policy_name: Option<String>,
    pub creator: Option<String>,
    /// Only what a project may see: made by it, or on its resources.
    pub visible_to_project: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct Page {
    /// At most this many rows; all when `None`.
    pub limit: Option<usize>,
    /// The last row of the previous page: an id, or `id@revision` in a
    /// history listing.
    pub marker: Option<String>,
    /// `key[:direction]`, Gnocchi's sort syntax; the listing's default
    /// when empty.
    pub sorts: Vec<String>,
}

/// A resource search: Gnocchi's `list_resources`.
#[derive(Debug, Clone)]
pub struct ResourceQuery<'a> {
    pub type_name: &'a str,
    pub filter: Option<&'a Filter>,
    /// Every revision, not only the current one.
    pub history: bool,
    /// A `generic` listing with each resource's own attributes.
    pub details: bool,
    pub page: &'a Page,
    /// The time relative datetimes in the filter count from.
    pub now: Timestamp,
}

/// What one metric has lost to its back window, all passes together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DroppedTotal {
    pub metric: Uuid,
    pub measures: u64,
    /// Where the back window began at the latest drop.
    pub accepts_from: Timestamp,
}
