//! A metric's aggregates for one method, as Gnocchi's
//! `get_aggregated_measures` gives them (docs/gnocchi-semantics.md#reading-aggregates-back): splits
//! between the start and stop keys, cut to the timespan from the last point
//! read, optionally resampled, then cut to `[bucket(start), stop)`; coarsest
//! granularity first.

use uuid::Uuid;

use super::Error;
use crate::carbonara::{Points, Sampling, SplitKey, resample};
use crate::policy::{Aggregation, AggregationMethod, ArchivePolicy};
use crate::store::Store;
use crate::store::lock::ReadLock;
use crate::store::storage::Storage;
use crate::time::{Span, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MeasuresQuery {
    pub aggregation: AggregationMethod,
    /// One granularity of the policy, or all of them.
    pub granularity: Option<Span>,
    /// Inclusive, rounded down to each granularity (or resample period).
    pub start: Option<Timestamp>,
    /// Exclusive.
    pub stop: Option<Timestamp>,
    /// Regroup the points by this timespan or calendar period; needs
    /// `granularity`.
    pub resample: Option<Sampling>,
}

/// One aggregated point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    pub timestamp: Timestamp,
    pub granularity: Sampling,
    pub value: f64,
}

/// The points of each granularity read, coarsest first.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Measures {
    pub blocks: Vec<(Sampling, Points)>,
}

impl Measures {
    pub fn len(&self) -> usize {
        self.blocks.iter().map(|(_, points)| points.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = Measure> + '_ {
        self.blocks.iter().flat_map(|(granularity, points)| {
            points.iter().map(|(timestamp, value)| Measure {
                timestamp,
                granularity: *granularity,
                value,
            })
        })
    }
}

/// Reads the aggregates of one metric of a store.
pub fn get_measures(
    store: &Store,
    metric: Uuid,
    policy: &ArchivePolicy,
    query: &MeasuresQuery,
) -> Result<Measures, Error> {
    let consistent = store.read_lock(metric)?;
    get_measures_locked(&consistent, store, metric, policy, query)
}

/// [`get_measures`] under a read lock of the metric's sack the caller
/// already holds (to know the archive generation of what it reads).
pub fn get_measures_locked(
    _consistent: &ReadLock,
    store: &Store,
    metric: Uuid,
    policy: &ArchivePolicy,
    query: &MeasuresQuery,
) -> Result<Measures, Error> {
    read_measures(store.storage(), metric, policy, query)
}

/// Reads the aggregates of one metric of an archive.
fn read_measures(
    archive: &Storage,
    metric: Uuid,
    policy: &ArchivePolicy,
    query: &MeasuresQuery,
) -> Result<Measures, Error> {
    if query.resample.is_some() && query.granularity.is_none() {
        return Err(Error::ResampleNeedsGranularity);
    }
    if !policy.aggregation_methods.contains(&query.aggregation) {
        return Err(Error::UnknownAggregation {
            metric,
            method: query.aggregation.to_string(),
        });
    }
    let granularities = match query.granularity {
        Some(granularity) => vec![granularity],
        None => policy.granularities_descending(),
    };
    let keys = archive.list_all_split_keys(metric, query.aggregation)?;
    let mut measures = Measures::default();
    for granularity in granularities {
        let aggregation = policy
            .aggregation(query.aggregation, granularity)
            .ok_or_else(|| Error::UnknownGranularity {
                metric,
                method: query.aggregation.to_string(),
                granularity: granularity.to_string(),
            })?;
        let points = read_splits(
            archive,
            metric,
            &aggregation,
            &keys,
            query.start,
            query.stop,
        )?;
        let block = match query.resample {
            None => (
                Sampling::Span(granularity),
                cut(points, &aggregation, query.start, query.stop),
            ),
            // Gnocchi regroups every point of the splits read, even those
            // outside [start, stop), then cuts with `start` floored to the
            // new period.
            Some(sampling) => {
                let resampled = resample(&points, query.aggregation, sampling)?;
                let start = query.start.map(|t| sampling.bucket(t));
                (sampling, resampled.slice(start, query.stop))
            }
        };
        measures.blocks.push(block);
    }
    Ok(measures)
}

/// The stored points of several aggregations of one metric, each cut to
/// `[round_down(start), stop)`: one read lock, one listing per method (as
/// Gnocchi's `get_aggregated_measures` reads a metric).
pub fn read_aggregations(
    store: &Store,
    metric: Uuid,
    aggregations: &[Aggregation],
    start: Option<Timestamp>,
    stop: Option<Timestamp>,
) -> Result<Vec<Points>, Error> {
    let _consistent = store.read_lock(metric)?;
    let archive = store.storage();
    let mut listings: Vec<(AggregationMethod, Vec<SplitKey>)> = Vec::new();
    let mut series = Vec::with_capacity(aggregations.len());
    for aggregation in aggregations {
        let position = match listings.iter().position(|(m, _)| *m == aggregation.method) {
            Some(position) => position,
            None => {
                let keys = archive.list_all_split_keys(metric, aggregation.method)?;
                listings.push((aggregation.method, keys));
                listings.len() - 1
            }
        };
        let keys = &listings[position].1;
        let points = read_splits(archive, metric, aggregation, keys, start, stop)?;
        series.push(cut(points, aggregation, start, stop));
    }
    Ok(series)
}

/// Keeps the points in `[round_down(start), stop)`.
fn cut(
    mut points: Points,
    aggregation: &Aggregation,
    start: Option<Timestamp>,
    stop: Option<Timestamp>,
) -> Points {
    let start = start.map(|t| t.round_down(aggregation.granularity));
    let (first, end) = points.range(start, stop);
    points.truncate(end);
    points.drain_before(first);
    points
}

/// The points of the splits (among `keys`) that may hold `[start, stop)`,
/// cut to the aggregation's timespan from the last point read.
fn read_splits(
    archive: &Storage,
    metric: Uuid,
    aggregation: &Aggregation,
    keys: &[SplitKey],
    start: Option<Timestamp>,
    stop: Option<Timestamp>,
) -> Result<Points, Error> {
    let granularity = aggregation.granularity;
    let first_key = start.map(|t| SplitKey::of(t, granularity));
    let last_key = stop.map(|t| SplitKey::of(t, granularity));
    let selected: Vec<SplitKey> = keys
        .iter()
        .copied()
        .filter(|&key| {
            key.granularity == granularity
                && first_key.is_none_or(|k| key >= k)
                && last_key.is_none_or(|k| key <= k)
        })
        .collect();
    let mut points = archive.read_splits(metric, aggregation.method, &selected)?;
    if let (Some(timespan), Some(last)) = (aggregation.timespan, points.last()) {
        // Relative to the last point read, as Gnocchi truncates.
        points.drain_before(points.position_after(last - timespan));
    }
    Ok(points)
}
