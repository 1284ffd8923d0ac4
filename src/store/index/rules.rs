//! Gnocchi's rules for resources, the same whichever backend stores them:
//! the dates of a new resource, which changes of an update make a new
//! revision, and how a resource's metrics are attached or created. The
//! backends keep only their SQL.

use uuid::Uuid;

use crate::resource::attribute::truncate_to_micros;
use crate::resource::{Resource, ResourceError};
use crate::store::index::{
    Metric, MetricRef, MetricStatus, Metrics, NewResource, Policies, ResourceChanges,
};
use crate::store::{Error, Result};
use crate::time::Timestamp;

/// A new resource's `started_at` (now when not given) and `ended_at`, to
/// the microsecond; the end must not precede the start.
pub(super) fn new_resource_dates(
    new: &NewResource,
    now: Timestamp,
) -> Result<(Timestamp, Option<Timestamp>)> {
    let started_at = truncate_to_micros(new.started_at.unwrap_or(now));
    let ended_at = new.ended_at.map(truncate_to_micros);
    if ended_at.is_some_and(|ended| started_at > ended) {
        return Err(Error::Resource(ResourceError::StartAfterEnd));
    }
    Ok((started_at, ended_at))
}

/// A resource's base fields once an update is applied to its current
/// revision.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Revised {
    pub user_id: Option<String>,
    pub project_id: Option<String>,
    pub started_at: Timestamp,
    pub ended_at: Option<Timestamp>,
    /// Whether a given field (an attribute too) differs from the stored
    /// one, which makes a new revision; metric changes never do.
    pub new_revision: bool,
}

/// `changes` applied to `current` (dates to the microsecond), as Gnocchi's
/// `update_resource` works them out once the row is locked.
pub(super) fn revise(
    type_name: &str,
    current: &Resource,
    changes: &ResourceChanges,
) -> Result<Revised> {
    let current_attributes = current.attributes.as_deref().unwrap_or_default();
    let attribute_changed = changes.attributes.iter().any(|(name, value)| {
        current_attributes
            .iter()
            .find(|(n, _)| n == name)
            .is_none_or(|(_, stored)| stored != value)
    });
    let started_at = changes
        .started_at
        .map_or(current.started_at, truncate_to_micros);
    let ended_at = changes
        .ended_at
        .map_or(current.ended_at, |e| e.map(truncate_to_micros));
    let user_id = changes.user_id.clone().unwrap_or(current.user_id.clone());
    let project_id = changes
        .project_id
        .clone()
        .unwrap_or(current.project_id.clone());
    if ended_at.is_some_and(|ended| started_at > ended) {
        return Err(ended_at_error(type_name, ended_at));
    }
    let new_revision = user_id != current.user_id
        || project_id != current.project_id
        || started_at != current.started_at
        || ended_at != current.ended_at
        || attribute_changed;
    Ok(Revised {
        user_id,
        project_id,
        started_at,
        ended_at,
        new_revision,
    })
}

/// Gnocchi's error when `ended_at` would precede `started_at` on an update.
fn ended_at_error(resource_type: &str, ended_at: Option<Timestamp>) -> Error {
    let value = ended_at.map_or("None".to_owned(), |t| {
        t.to_isoformat().replacen('T', " ", 1)
    });
    Error::ResourceValue {
        value,
        attribute: "ended_at".to_owned(),
        resource_type: resource_type.to_owned(),
    }
}

/// Attaches existing metrics (of the same creator) to a resource or
/// creates new ones on it, as Gnocchi's `_set_metrics_for_resource`.
/// `reattach(metric, name)` is the backend's statement that moves an
/// active metric of `creator` to the resource under `name`: how many rows
/// it changed.
pub(super) fn attach_metrics<I: Metrics + Policies + ?Sized>(
    index: &I,
    resource_id: Uuid,
    creator: &str,
    metrics: &[(String, MetricRef)],
    mut reattach: impl FnMut(Uuid, &str) -> Result<u64>,
) -> Result<()> {
    for (name, reference) in metrics {
        if name.contains('/') {
            return Err(Error::InvalidMetricName(name.clone()));
        }
        match reference {
            MetricRef::Existing(metric_id) => {
                if let Some(other) = index.resource_metric(resource_id, name)?
                    && other.id != *metric_id
                {
                    return Err(Error::NamedMetricExists(name.clone()));
                }
                if reattach(*metric_id, name)? == 0 {
                    return Err(Error::MetricNotFound(metric_id.to_string()));
                }
            }
            MetricRef::Create {
                archive_policy_name,
                unit,
            } => {
                let archive_policy_name = match archive_policy_name {
                    Some(policy) => policy.clone(),
                    None => index.archive_policy_for(Some(name))?,
                };
                index.create_metric(&Metric {
                    id: Uuid::new_v4(),
                    name: Some(name.clone()),
                    unit: unit.clone(),
                    archive_policy_name,
                    creator: creator.to_owned(),
                    resource_id: Some(resource_id),
                    status: MetricStatus::Active,
                })?;
            }
        }
    }
    Ok(())
}
