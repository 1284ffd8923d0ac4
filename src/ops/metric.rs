//! Metrics: creation with Gnocchi's rules (no `/` in names, the policy of
//! the first matching archive-policy rule, a name for a metric on a
//! resource), finding one by id, name or name on a resource, deletion, and
//! the measure value search over a list of metric references.

use uuid::Uuid;

use super::Error;
use crate::error::Result;
use crate::query::{self, Measure, MeasureSearch};
use crate::store::{self, Index, Metric, MetricStatus, Store};

/// A metric to create (`POST /v1/metric`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewMetric {
    pub name: Option<String>,
    pub unit: Option<String>,
    /// The first matching archive-policy rule's when `None`.
    pub archive_policy_name: Option<String>,
    pub resource_id: Option<Uuid>,
}

/// Creates a metric for `creator`, checking in Gnocchi's order: the name,
/// the policy (by rule if not given), then the resource's need of a name.
pub fn create(index: &Index, new: NewMetric, creator: &str) -> Result<Metric> {
    if let Some(name) = new.name.as_deref().filter(|n| n.contains('/')) {
        return Err(store::Error::InvalidMetricName(name.to_owned()).into());
    }
    let archive_policy_name = match new.archive_policy_name {
        Some(policy) => policy,
        None => index.archive_policy_for(new.name.as_deref())?,
    };
    if new.resource_id.is_some() && new.name.is_none() {
        return Err(Error::NameRequired.into());
    }
    let metric = Metric {
        id: Uuid::new_v4(),
        name: new.name,
        unit: new.unit,
        archive_policy_name,
        creator: creator.to_owned(),
        resource_id: new.resource_id,
        status: MetricStatus::Active,
    };
    index.create_metric(&metric)?;
    Ok(metric)
}

/// The active metric named `name` on a resource (any type).
pub fn on_resource(index: &Index, resource_id: Uuid, name: &str) -> Result<Metric> {
    index
        .get_resource(crate::resource::GENERIC, resource_id)?
        .ok_or_else(|| store::Error::ResourceNotFound(resource_id.to_string()))?;
    Ok(index
        .resource_metric(resource_id, name)?
        .ok_or_else(|| store::Error::MetricNotFound(name.to_owned()))?)
}

/// Gnocchi's measure value search (`POST /v1/search/metric`) over these
/// metrics; ids that name no active metric are ignored, as Gnocchi does.
pub fn search_measures(
    store: &Store,
    index: &Index,
    metric_ids: &[Uuid],
    search: &MeasureSearch,
) -> Result<Vec<(Metric, Vec<Measure>)>> {
    let mut searched = Vec::new();
    for id in metric_ids {
        if let Some(metric) = index.get_metric(*id)?
            && !searched
                .iter()
                .any(|(m, _): &(Metric, _)| m.id == metric.id)
        {
            let policy = index.get_archive_policy(&metric.archive_policy_name)?;
            searched.push((metric, policy));
        }
    }
    Ok(query::search_measures(store, &searched, search)?)
}
