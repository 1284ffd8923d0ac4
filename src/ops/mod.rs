//! The operations the command line and the HTTP API share. Each takes
//! plain values (who asks, what they ask for, already parsed) and returns
//! Gnocchi's objects: the rules of Gnocchi's API (which policy a new
//! metric gets, what a resource needs, when a type update is refused) live
//! here once, and both front ends stay thin. Nothing here parses a request
//! or prints.

pub mod aggregates;
pub mod archive_policy;
pub mod backfill;
pub mod erase;
pub mod measures;
pub mod metric;
pub mod metric_policy;
pub mod resource;
pub mod resource_type;

use crate::error::ErrorKind;

/// Mistakes in what was asked that no lower layer can see.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A metric on a resource is addressed by its name, so it needs one.
    #[error("Name cannot be null if resource_id is not null")]
    NameRequired,
    /// A batch delete without a filter would delete every resource.
    #[error("caution: the query can not be empty, or it will delete entire database")]
    EmptyDeleteFilter,
    /// gnocchiclient detaches metrics by name; the resource has none so named.
    #[error("Metric name {0} not found")]
    NoSuchMetricName(String),
    /// Another pass held the metric's sack as long as `refresh` waited.
    #[error("Unable to refresh metric: {0}. Metric is locked. Please try again.")]
    MetricLocked(uuid::Uuid),
    /// A request that Gnocchi's schema refuses: the reason and the path to
    /// the field (`["metrics", "cpu"]`), voluptuous's words.
    #[error("Invalid input: {reason}{}", path_suffix(path))]
    InvalidInput { reason: String, path: Vec<String> },
    /// Measures for metrics that do not exist (`resource/name` for named
    /// ones), sorted as Gnocchi lists them.
    #[error("Unknown metrics: {}", .0.join(", "))]
    UnknownMetrics(Vec<String>),
    /// Moving a metric to a policy none of whose aggregations can be kept
    /// or derived from its archive would discard its whole history.
    #[error(
        "moving metric {metric} from archive policy {from} to {to} would discard its whole history: \
         no aggregation of {to} can be kept or derived from {from} (a dry run shows the plan)"
    )]
    LeavesNothing {
        metric: uuid::Uuid,
        from: String,
        to: String,
    },
    /// A time range that cannot be deleted as given.
    #[error(transparent)]
    Range(#[from] crate::carbonara::erase::RangeError),
    /// A granularity named that the metric's archive policy does not have.
    #[error(
        "granularity {granularity} is not in archive policy {policy} (its granularities: {})",
        granularities.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
    )]
    GranularityNotInPolicy {
        granularity: crate::time::Span,
        policy: String,
        granularities: Vec<crate::time::Span>,
    },
    /// Metrics to create on resources that do not exist: (id, the id as
    /// given).
    #[error("Unknown resources: {}", .0.iter().map(|(_, original)| original.as_str()).collect::<Vec<_>>().join(", "))]
    UnknownResources(Vec<(uuid::Uuid, String)>),
    /// More measures wait than the store's limit (`carbonara max-backlog`).
    #[error(
        "{waiting} measures are waiting to be processed, more than the store's backlog limit of {limit} \
         (carbonara max-backlog): run `carbonara process` or wait for the pass, or give --force"
    )]
    BacklogFull { waiting: u64, limit: u64 },
    /// Measures to backfill that no archive can hold.
    #[error("metric {metric}: {source}")]
    Backfill {
        metric: uuid::Uuid,
        source: crate::carbonara::update::UpdateError,
    },
}

impl Error {
    pub fn invalid(reason: impl Into<String>, path: &[&str]) -> Error {
        Error::InvalidInput {
            reason: reason.into(),
            path: path.iter().map(|p| (*p).to_owned()).collect(),
        }
    }

    /// A batch delete without a filter is a usage mistake on the command
    /// line; Gnocchi answers 400 to every other mistake here, a name it
    /// does not find included.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::EmptyDeleteFilter => ErrorKind::Usage,
            Error::MetricLocked(_) | Error::BacklogFull { .. } => ErrorKind::Busy,
            Error::NameRequired
            | Error::NoSuchMetricName(_)
            | Error::InvalidInput { .. }
            | Error::UnknownMetrics(_)
            | Error::UnknownResources(_)
            | Error::LeavesNothing { .. }
            | Error::Range(_)
            | Error::GranularityNotInPolicy { .. }
            | Error::Backfill { .. } => ErrorKind::Invalid,
        }
    }
}

/// voluptuous's ` @ data['a'][0]` (list indexes bare, keys quoted).
pub fn path_suffix(path: &[String]) -> String {
    if path.is_empty() {
        return String::new();
    }
    let mut out = " @ data".to_owned();
    for part in path {
        if !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()) {
            out.push_str(&format!("[{part}]"));
        } else {
            out.push_str(&format!("[{}]", crate::pyform::fmt::str_repr(part)));
        }
    }
    out
}
