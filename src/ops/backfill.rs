//! Backfill (`ingest --backfill`, `?backfill=true`): measures older than
//! their metric's back window, which the pass would drop, aggregated into
//! the periods that hold no aggregate yet, one metric at a time through
//! `process::rewrite` (under the sack's lock, after the metric's waiting
//! measures, one transaction). The arithmetic is `carbonara::backfill`;
//! which measures are held back is `MeasureWriter::hold_back_late`.

use std::time::Duration;

use uuid::Uuid;

use crate::carbonara::backfill::{Backfill, StoredAggregation, Summary};
use crate::carbonara::codec;
use crate::error::Result;
use crate::ingest::{MeasureWriter, WriterOptions};
use crate::process::rewrite::{ArchiveChanges, MetricArchive, Rewrite, rewrite_metric};
use crate::store::object::ArchiveObject;
use crate::store::{Index, Metric, Store};
use crate::time::Timestamp;

/// One metric's held-back measures, aggregated and waiting to be merged.
pub struct Prepared {
    metric: Metric,
    backfill: Backfill,
}

/// What a backfill did to one metric.
#[derive(Debug, Clone)]
pub struct MetricBackfill {
    pub metric: Metric,
    /// Measures backfilled (after duplicates were resolved).
    pub measures: u64,
    pub summary: Summary,
}

/// Aggregates each metric's held-back measures (no I/O but the index):
/// bad ones are refused here, before anything of the input is stored.
pub fn prepare(index: &Index, held: Vec<(Uuid, Vec<(Timestamp, f64)>)>) -> Result<Vec<Prepared>> {
    let mut prepared = Vec::with_capacity(held.len());
    for (id, measures) in held {
        // Held back only for metrics the index has: one deleted meanwhile
        // has no archive to fill.
        let Some(metric) = index.get_metric(id)? else {
            continue;
        };
        let policy = index.get_archive_policy(&metric.archive_policy_name)?;
        let backfill = Backfill::compute(&policy, measures)
            .map_err(|source| super::Error::Backfill { metric: id, source })?;
        prepared.push(Prepared { metric, backfill });
    }
    Ok(prepared)
}

/// Merges each prepared metric into its archive, one transaction a metric;
/// waits up to `timeout` for a pass that holds a metric's sack.
pub fn apply(
    store: &Store,
    index: &Index,
    prepared: Vec<Prepared>,
    replace: bool,
    timeout: Duration,
) -> Result<Vec<MetricBackfill>> {
    prepared
        .into_iter()
        .map(|Prepared { metric, backfill }| {
            let summary = rewrite_metric(store, index, &metric, timeout, |archive| {
                plan(archive, &backfill, replace)
            })?;
            Ok(MetricBackfill {
                measures: backfill.measures.len() as u64,
                metric,
                summary,
            })
        })
        .collect()
}

/// Queues `measures` of each metric but those its back window would drop,
/// which are backfilled: the measures endpoints' `?backfill=true`.
pub fn add(
    store: &Store,
    index: &Index,
    measures: &[(Uuid, Vec<(Timestamp, f64)>)],
    replace: bool,
    timeout: Duration,
    now: Timestamp,
) -> Result<Vec<MetricBackfill>> {
    let mut writer = MeasureWriter::new(store, index, WriterOptions::measures_only(), now)?;
    writer.hold_back_late();
    for (metric, measures) in measures {
        writer.add_to_metric(*metric, measures)?;
    }
    let prepared = prepare(index, writer.take_held_back())?;
    writer.finish()?;
    apply(store, index, prepared, replace, timeout)
}

/// Reads what the backfill lands on and returns the splits to write.
fn plan(
    archive: &MetricArchive<'_>,
    backfill: &Backfill,
    replace: bool,
) -> Result<Rewrite<Summary>> {
    let id = archive.metric.id;
    // The metric may have moved to another archive policy since `prepare`:
    // then its measures are aggregated again under the one it has now.
    let again;
    let current = archive.policy.aggregations();
    let backfill = match backfill.aggregates.len() == current.len()
        && backfill.aggregates.iter().all(|(a, _)| current.contains(a))
    {
        true => backfill,
        false => {
            let measures = backfill.measures.iter().collect();
            again = Backfill::compute(archive.policy, measures)
                .map_err(|source| super::Error::Backfill { metric: id, source })?;
            &again
        }
    };
    let listed = archive
        .storage
        .list_metric_split_keys(id, &archive.policy.aggregation_methods)?;
    let keys = backfill.split_keys();
    // One read for every split: those the aggregates fall in, then the
    // newest of each aggregation (its timespan counts from there).
    let mut wanted = Vec::new();
    let mut newest = Vec::with_capacity(keys.len());
    for (aggregation, keys) in &keys {
        wanted.extend(keys.iter().map(|&key| (aggregation.method, key)));
        let last = listed
            .iter()
            .filter(|(method, _)| *method == aggregation.method)
            .flat_map(|(_, keys)| keys)
            .filter(|key| key.granularity == aggregation.granularity)
            .max()
            .copied();
        newest.push(last);
    }
    wanted.extend(
        keys.iter()
            .zip(&newest)
            .filter_map(|((aggregation, _), key)| key.map(|key| (aggregation.method, key))),
    );
    let mut read = archive.storage.read_each(id, &wanted)?.into_iter();
    let mut stored: Vec<StoredAggregation> = keys
        .iter()
        .map(|(_, keys)| StoredAggregation {
            newest: None,
            splits: read.by_ref().take(keys.len()).collect(),
        })
        .collect();
    for (stored, key) in stored.iter_mut().zip(&newest) {
        if key.is_some() {
            stored.newest = read.next().and_then(|split| split.last());
        }
    }
    let merged = backfill.merge(&stored, replace);
    let writes = merged
        .writes
        .into_iter()
        .map(|(aggregation, key, points)| {
            let object = ArchiveObject::Split {
                metric: id,
                method: aggregation.method,
                key,
            };
            (object, codec::encode_split(key, &points))
        })
        .collect();
    Ok(Rewrite {
        changes: ArchiveChanges {
            writes,
            deletes: Vec::new(),
        },
        index_change: None,
        outcome: merged.summary,
    })
}
