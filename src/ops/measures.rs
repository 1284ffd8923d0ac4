//! Measures of one metric: queueing them for the next aggregation pass,
//! processing one metric's waiting measures at once (`refresh`), and what
//! waits (`GET /v1/status`).

use crate::error::Result;
use crate::ingest::{self, MeasureBatch};
use crate::process::{self, ProcessOptions};
use crate::store::incoming::BacklogReport;
use crate::store::{Index, Metric, Store};
use crate::time::Timestamp;

/// Queues measures for a metric; all of them are stored or none.
pub fn add(
    store: &Store,
    index: &Index,
    metric: &Metric,
    measures: &[(Timestamp, f64)],
    now: Timestamp,
) -> Result<()> {
    if measures.is_empty() {
        return Ok(());
    }
    let mut batch = MeasureBatch::default();
    let reference = metric.id.to_string();
    for &(timestamp, value) in measures {
        batch.add(&reference, timestamp, value);
    }
    ingest::store_batch(store, index, &batch, now)?;
    Ok(())
}

/// Aggregates the metric's waiting measures now (Gnocchi's `refresh=true`).
pub fn refresh(store: &Store, index: &Index, metric: &Metric) -> Result<()> {
    let options = ProcessOptions {
        metrics: Some(vec![metric.id]),
        ..ProcessOptions::default()
    };
    let report = process::run_pass(store, index, &options)?;
    if report.busy_sacks > 0 {
        return Err(super::Error::MetricLocked(metric.id).into());
    }
    match report.failures.into_iter().next() {
        Some(failure) => Err(failure.into()),
        None => Ok(()),
    }
}

/// The measures waiting to be processed.
pub fn backlog(store: &Store) -> Result<BacklogReport> {
    Ok(store.incoming().backlog()?)
}
