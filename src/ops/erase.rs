//! Deleting a metric's measures in a time range (`measures delete`,
//! `DELETE …/measures`): the aggregates in `[start, stop)` at every
//! granularity of its policy (or the ones named) and the raw points of its
//! bound series, after its waiting measures were aggregated; splits left
//! empty are deleted. The archive changes as one rewrite
//! (process::rewrite), so a kill leaves the old archive or the new one.

use std::collections::HashMap;
use std::time::Duration;

use crate::carbonara::erase::{EraseRange, Left};
use crate::carbonara::{SplitKey, codec};
use crate::error::Result;
use crate::policy::{AggregationMethod, ArchivePolicy};
use crate::process::{self, rewrite};
use crate::pyform::json::Json;
use crate::store::object::ArchiveObject;
use crate::store::{Index, Metric, Store};
use crate::time::{Span, Timestamp};

/// What to delete.
#[derive(Debug, Clone)]
pub struct EraseRequest {
    pub start: Timestamp,
    pub stop: Timestamp,
    /// The granularities to delete aggregates of; every one of the policy
    /// when empty.
    pub granularities: Vec<Span>,
    /// Count what would be deleted, change nothing.
    pub dry_run: bool,
}

/// What a deletion removed (or, on a dry run, would remove).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Erased {
    pub range: EraseRange,
    /// Aggregates removed per (method, granularity): coarsest granularity
    /// first, then the policy's methods in order, zeros included.
    pub aggregates: Vec<(AggregationMethod, Span, u64)>,
    /// Raw points removed from the bound series.
    pub raw_points: u64,
    pub dry_run: bool,
}

impl Erased {
    /// Nothing was in the range.
    pub fn is_empty(&self) -> bool {
        self.raw_points == 0 && self.aggregates.iter().all(|&(_, _, n)| n == 0)
    }

    /// The answer of `DELETE …/measures` (and `measures delete -f json`):
    /// `{"start", "stop", "dry_run", "aggregates": [{"aggregation",
    /// "granularity", "points"}…], "raw_points"}` (docs/guide.md#extensions-to-gnocchis-api).
    pub fn document(&self) -> Json {
        let aggregates = self
            .aggregates
            .iter()
            .map(|&(method, granularity, points)| {
                Json::object([
                    ("aggregation", Json::str(method.to_string())),
                    ("granularity", Json::Float(granularity.as_secs_f64())),
                    ("points", Json::Int(points as i64)),
                ])
            })
            .collect();
        Json::object([
            ("start", Json::str(self.range.start.to_isoformat())),
            ("stop", Json::str(self.range.stop.to_isoformat())),
            ("dry_run", Json::Bool(self.dry_run)),
            ("aggregates", Json::Array(aggregates)),
            ("raw_points", Json::Int(self.raw_points as i64)),
        ])
    }
}

/// Deletes the measures of `metric` that `request` names, waiting up to
/// `timeout` for a pass that holds its sack. The range is checked before
/// anything is read: it must be aligned to each granularity it applies to.
pub fn erase(
    store: &Store,
    index: &Index,
    metric: &Metric,
    request: &EraseRequest,
    timeout: Duration,
) -> Result<Erased> {
    let policy = index.get_archive_policy(&metric.archive_policy_name)?;
    let granularities = granularities_in_scope(&policy, &request.granularities)?;
    let range =
        EraseRange::new(request.start, request.stop, &granularities).map_err(super::Error::from)?;
    let dry_run = request.dry_run;
    rewrite::rewrite_metric(store, index, metric, timeout, |archive| {
        plan(archive, range, &granularities, dry_run)
    })
}

/// The granularities a deletion applies to, coarsest first; one the
/// policy does not have is refused with those it has.
fn granularities_in_scope(policy: &ArchivePolicy, asked: &[Span]) -> Result<Vec<Span>> {
    let all = policy.granularities_descending();
    if let Some(&unknown) = asked.iter().find(|g| !all.contains(g)) {
        return Err(super::Error::GranularityNotInPolicy {
            granularity: unknown,
            policy: policy.name.clone(),
            granularities: all,
        }
        .into());
    }
    Ok(all
        .into_iter()
        .filter(|g| asked.is_empty() || asked.contains(g))
        .collect())
}

/// Reads the splits that overlap the range and the bound series, and says
/// what to write back and what to delete.
fn plan(
    archive: &rewrite::MetricArchive<'_>,
    range: EraseRange,
    granularities: &[Span],
    dry_run: bool,
) -> Result<rewrite::Rewrite<Erased>> {
    let id = archive.metric.id;
    let storage = archive.storage;
    let methods = &archive.policy.aggregation_methods;
    let splits: Vec<(AggregationMethod, SplitKey)> = storage
        .list_metric_split_keys(id, methods)?
        .into_iter()
        .flat_map(|(method, keys)| keys.into_iter().map(move |key| (method, key)))
        .filter(|&(_, key)| granularities.contains(&key.granularity) && range.overlaps(key))
        .collect();
    let stored = storage.read_each(id, &splits)?;
    let mut changes = rewrite::ArchiveChanges::default();
    let mut removed: HashMap<(AggregationMethod, Span), u64> = HashMap::new();
    for ((method, key), points) in splits.into_iter().zip(stored) {
        let (count, left) = range.erase(points);
        *removed.entry((method, key.granularity)).or_default() += count as u64;
        let object = ArchiveObject::Split {
            metric: id,
            method,
            key,
        };
        match left {
            Left::Unchanged => {}
            Left::Empty => changes.deletes.push(object),
            Left::Points(points) => changes
                .writes
                .push((object, codec::encode_split(key, &points))),
        }
    }
    let mut raw_points = 0;
    if let Some(bound) = storage.read_bound(id)? {
        let (count, left) = range.erase_bound(bound).map_err(super::Error::from)?;
        raw_points = count as u64;
        if let Left::Points(points) = left {
            let bytes = codec::encode_bound(&points)
                .map_err(|source| process::Error::Encode { metric: id, source })?;
            changes.writes.push((ArchiveObject::Bound(id), bytes));
        }
    }
    let aggregates = granularities
        .iter()
        .flat_map(|&granularity| methods.iter().map(move |&method| (method, granularity)))
        .map(|(method, granularity)| {
            let count = removed.get(&(method, granularity)).copied().unwrap_or(0);
            (method, granularity, count)
        })
        .collect();
    let outcome = Erased {
        range,
        aggregates,
        raw_points,
        dry_run,
    };
    if dry_run {
        return Ok(rewrite::Rewrite::unchanged(outcome));
    }
    Ok(rewrite::Rewrite {
        changes,
        index_change: None,
        outcome,
    })
}
