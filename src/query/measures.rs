//! A metric's aggregates for one method, as Gnocchi's
//! `get_aggregated_measures` gives them (spec/processing.md §6): splits
//! between the start and stop keys, cut to the timespan from the last point
//! read, optionally resampled, then cut to `[bucket(start), stop)`; coarsest
//! granularity first.

use uuid::Uuid;

use super::Error;
use crate::carbonara::{Points, Sampling, SplitKey, resample};
use crate::policy::{Aggregation, AggregationMethod, ArchivePolicy};
use crate::store::Store;
use crate::store::archive::Archive;
use crate::time::{Span, Timestamp};

#[derive(Debug, Clone)]
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
    let _consistent = store.read_lock(metric)?;
    read_measures(&store.archive(), metric, policy, query)
}

/// Reads the aggregates of one metric of an archive.
fn read_measures(
    archive: &Archive,
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
    let mut measures = Measures::default();
    for granularity in granularities {
        let aggregation = policy
            .aggregation(query.aggregation, granularity)
            .ok_or_else(|| Error::UnknownGranularity {
                metric,
                method: query.aggregation.to_string(),
                granularity: granularity.to_string(),
            })?;
        let block = match query.resample {
            None => (
                Sampling::Span(granularity),
                read_aggregation(archive, metric, &aggregation, query.start, query.stop)?,
            ),
            Some(sampling) => {
                // Gnocchi regroups every point of the splits read, even
                // those outside [start, stop), then cuts with `start`
                // floored to the new period.
                let points = read_splits(archive, metric, &aggregation, query.start, query.stop)?;
                let resampled = resample(&points, query.aggregation, sampling)?;
                let start = query.start.map(|t| sampling.bucket(t));
                (sampling, resampled.slice(start, query.stop))
            }
        };
        measures.blocks.push(block);
    }
    Ok(measures)
}

/// The stored points of one aggregation in `[round_down(start), stop)`.
pub fn read_aggregation(
    archive: &Archive,
    metric: Uuid,
    aggregation: &Aggregation,
    start: Option<Timestamp>,
    stop: Option<Timestamp>,
) -> Result<Points, Error> {
    let mut points = read_splits(archive, metric, aggregation, start, stop)?;
    let start = start.map(|t| t.round_down(aggregation.granularity));
    let (first, end) = points.range(start, stop);
    points.truncate(end);
    points.drain_before(first);
    Ok(points)
}

/// The points of the splits that may hold `[start, stop)`, cut to the
/// aggregation's timespan from the last point read.
fn read_splits(
    archive: &Archive,
    metric: Uuid,
    aggregation: &Aggregation,
    start: Option<Timestamp>,
    stop: Option<Timestamp>,
) -> Result<Points, Error> {
    let granularity = aggregation.granularity;
    let first_key = start.map(|t| SplitKey::of(t, granularity));
    let last_key = stop.map(|t| SplitKey::of(t, granularity));
    let mut points = Points::default();
    for key in archive.list_split_keys(metric, aggregation.method, granularity)? {
        if first_key.is_some_and(|k| key < k) || last_key.is_some_and(|k| key > k) {
            continue;
        }
        let split = archive.read_split(metric, aggregation.method, key)?;
        points.append_or_merge(split);
    }
    if let (Some(timespan), Some(last)) = (aggregation.timespan, points.last()) {
        // Relative to the last point read, as Gnocchi truncates.
        points.drain_before(points.position_after(last - timespan));
    }
    Ok(points)
}
