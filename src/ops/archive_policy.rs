//! Archive policies and archive-policy rules: creation with Gnocchi's
//! default aggregation methods and `+m`/`-m` lists, updates that keep the
//! granularities, deletion, and renaming a rule.

use crate::carbonara::Sampling;
use crate::error::Result;
use crate::policy::{
    AggregationMethod, ArchivePolicy, ArchivePolicyRule, Definition, resolve_aggregation_methods,
};
use crate::query::{self, MeasuresQuery};
use crate::store::{Index, MetricFilter, Page, Store};

/// A policy to create (`POST /v1/archive_policy`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewArchivePolicy {
    pub name: String,
    pub back_window: u64,
    pub definition: Vec<Definition>,
    /// Names, `*`, or only `+m`/`-m` entries relative to the defaults; the
    /// defaults when empty.
    pub aggregation_methods: Vec<String>,
    /// The defaults: Gnocchi's `[archive_policy]
    /// default_aggregation_methods`.
    pub default_methods: Vec<AggregationMethod>,
}

impl NewArchivePolicy {
    /// The policy, validated as Gnocchi validates one, not stored.
    pub fn build(self) -> Result<ArchivePolicy> {
        let methods =
            resolve_aggregation_methods(&self.aggregation_methods, &self.default_methods)?;
        Ok(ArchivePolicy::new(
            self.name,
            self.back_window,
            self.definition,
            methods,
        )?)
    }
}

pub fn create(index: &Index, new: NewArchivePolicy) -> Result<ArchivePolicy> {
    let policy = new.build()?;
    index.create_archive_policy(&policy)?;
    Ok(policy)
}

/// Changes the points or timespans of a policy (its granularities stay),
/// and its back window when given; says what shorter timespans leave out
/// of the archives of its metrics, counted before anything changes.
pub fn update(
    store: &Store,
    index: &Index,
    name: &str,
    definition: Vec<Definition>,
    back_window: Option<u64>,
) -> Result<(ArchivePolicy, BeyondTimespans)> {
    let current = index.get_archive_policy(name)?;
    current.check_update(&definition)?;
    let updated = ArchivePolicy::new(
        name,
        back_window.unwrap_or(current.back_window),
        definition,
        current.aggregation_methods.clone(),
    )?;
    let beyond = beyond_timespans(store, index, &current, &updated)?;
    index.update_archive_policy(&updated)?;
    Ok((updated, beyond))
}

/// The aggregates a timespan change leaves out: counted when a policy's
/// timespans shrink.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BeyondTimespans {
    /// Points that reads returned under the old timespans and no longer do.
    pub points: u64,
    /// Metrics with such points.
    pub metrics: u64,
}

/// What the new timespans of `updated` leave out of the archives of the
/// metrics under `previous`, the policy as it is. Reads
/// cut an aggregate to its timespan from its newest point at once, as
/// Gnocchi's do; the files go as in Gnocchi: a metric's pass deletes the
/// splits entirely before the timespan when the metric's first block
/// moves to another split, so a metric that receives no measure keeps
/// them (docs/guide.md#changing-a-policys-timespan).
fn beyond_timespans(
    store: &Store,
    index: &Index,
    previous: &ArchivePolicy,
    updated: &ArchivePolicy,
) -> Result<BeyondTimespans> {
    let mut beyond = BeyondTimespans::default();
    let shrunk = |granularity| {
        let timespan = |policy: &ArchivePolicy| {
            policy
                .definition
                .iter()
                .find(|d| d.granularity == granularity)
                .and_then(|d| d.timespan)
        };
        match (timespan(previous), timespan(updated)) {
            (Some(before), Some(after)) if after < before => Some(after),
            (None, Some(after)) => Some(after),
            _ => None,
        }
    };
    if previous
        .granularities_descending()
        .into_iter()
        .all(|g| shrunk(g).is_none())
    {
        return Ok(beyond);
    }
    let filter = MetricFilter {
        archive_policy_name: Some(previous.name.clone()),
        ..MetricFilter::default()
    };
    for metric in index.list_metrics(&filter, &Page::default())? {
        let mut points = 0;
        for &method in &previous.aggregation_methods {
            let query = MeasuresQuery {
                aggregation: method,
                granularity: None,
                start: None,
                stop: None,
                resample: None,
            };
            let measures = query::get_measures(store, metric.id, previous, &query)?;
            for (sampling, series) in &measures.blocks {
                let (Sampling::Span(granularity), Some(last)) = (sampling, series.last()) else {
                    continue;
                };
                if let Some(timespan) = shrunk(*granularity) {
                    points += series.position_after(last - timespan) as u64;
                }
            }
        }
        if points > 0 {
            beyond.points += points;
            beyond.metrics += 1;
        }
    }
    Ok(beyond)
}

pub fn create_rule(index: &Index, rule: ArchivePolicyRule) -> Result<ArchivePolicyRule> {
    index.create_rule(&rule)?;
    Ok(rule)
}

/// Renames a rule, the only change Gnocchi allows
/// (`PATCH /v1/archive_policy_rule/NAME`).
pub fn rename_rule(index: &Index, name: &str, new_name: &str) -> Result<ArchivePolicyRule> {
    index.rename_rule(name, new_name)?;
    Ok(index.get_rule(new_name)?)
}
