//! A metric's aggregates for one method, as Gnocchi's
//! `get_aggregated_measures` gives them (spec/processing.md §6): splits
//! between the start and stop keys, cut to the timespan from the last point
//! read, then to `[round_down(start), stop)`; coarsest granularity first.

use uuid::Uuid;

use super::Error;
use crate::carbonara::{Points, SplitKey};
use crate::policy::{Aggregation, AggregationMethod, ArchivePolicy};
use crate::store::Store;
use crate::store::archive::Archive;
use crate::time::{Span, Timestamp};

#[derive(Debug, Clone)]
pub struct MeasuresQuery {
    pub aggregation: AggregationMethod,
    /// One granularity of the policy, or all of them.
    pub granularity: Option<Span>,
    /// Inclusive, rounded down to each granularity.
    pub start: Option<Timestamp>,
    /// Exclusive.
    pub stop: Option<Timestamp>,
}

/// One aggregated point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    pub timestamp: Timestamp,
    pub granularity: Span,
    pub value: f64,
}

/// Reads the aggregates of one metric of a store.
pub fn get_measures(
    store: &Store,
    metric: Uuid,
    policy: &ArchivePolicy,
    query: &MeasuresQuery,
) -> Result<Vec<Measure>, Error> {
    let _consistent = store.read_lock(metric)?;
    read_measures(&store.archive(), metric, policy, query)
}

/// Reads the aggregates of one metric of an archive.
fn read_measures(
    archive: &Archive,
    metric: Uuid,
    policy: &ArchivePolicy,
    query: &MeasuresQuery,
) -> Result<Vec<Measure>, Error> {
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
    let mut measures = Vec::new();
    for granularity in granularities {
        let aggregation = policy
            .aggregation(query.aggregation, granularity)
            .ok_or_else(|| Error::UnknownGranularity {
                metric,
                method: query.aggregation.to_string(),
                granularity: granularity.to_string(),
            })?;
        let points = read_aggregation(archive, metric, &aggregation, query.start, query.stop)?;
        measures.extend(points.iter().map(|(timestamp, value)| Measure {
            timestamp,
            granularity,
            value,
        }));
    }
    Ok(measures)
}

fn read_aggregation(
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
        points = points.merged_with(&split);
    }
    if let (Some(timespan), Some(last)) = (aggregation.timespan, points.last()) {
        // Relative to the last point read, as Gnocchi truncates.
        points.drain_before(points.position_after(last - timespan));
    }
    Ok(points.slice(start.map(|t| t.round_down(granularity)), stop))
}
