//! Measures of one metric: queueing them for the next aggregation pass,
//! processing one metric's waiting measures at once (`refresh`), and what
//! waits (`GET /v1/status`); and the metrics a batch by resource names.

use std::time::{Duration, Instant};

use uuid::Uuid;

use crate::carbonara::update::Dropped;
use crate::error::Result;
use crate::ingest::batch::{NamedMetricBatch, ResourceBatch};
use crate::ingest::{MeasureWriter, WriterOptions};
use crate::process::{self, ProcessOptions};
use crate::resource::GENERIC;
use crate::store::incoming::BacklogReport;
use crate::store::{self, Index, Metric, Store};
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
    let mut writer = MeasureWriter::new(store, index, WriterOptions::measures_only(), now)?;
    writer.add_to_metric(metric.id, measures)?;
    writer.finish()?;
    Ok(())
}

/// How long a `refresh` waits for its metric's sack by default, as
/// Gnocchi's `[api] operation_timeout`.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(10);

/// The first pause between two tries of a busy sack; it doubles up to
/// [`LONGEST_PAUSE`].
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// Aggregates the metric's waiting measures now (Gnocchi's `refresh=true`),
/// waiting up to `timeout` for a pass that holds its sack.
pub fn refresh(store: &Store, index: &Index, metric: &Metric, timeout: Duration) -> Result<()> {
    refresh_with(metric, timeout, || try_refresh(store, index, metric))
}

/// [`refresh`], each try run by `attempt` (a [`try_refresh`], which the
/// server runs while no pass of its own runs): tried again, after a pause
/// in which nothing is held, until it is done or `timeout` has passed, as
/// Gnocchi's `lock.acquire(blocking=operation_timeout)`; then the error
/// Gnocchi answers 503 with.
pub fn refresh_with(
    metric: &Metric,
    timeout: Duration,
    mut attempt: impl FnMut() -> Result<Refreshed>,
) -> Result<()> {
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_PAUSE;
    loop {
        if let Refreshed::Done { .. } = attempt()? {
            return Ok(());
        }
        let now = Instant::now();
        if now >= deadline {
            return Err(super::Error::MetricLocked(metric.id).into());
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
}

/// What one try of a refresh found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refreshed {
    /// The metric's measures are aggregated; `taken` of them by this try.
    Done { taken: u64 },
    /// Another pass holds the metric's sack.
    SackBusy,
}

/// Aggregates the metric's waiting measures unless another pass holds its
/// sack; a metric with none is done without the sack, as in Gnocchi
/// (where another pass may have taken them meanwhile). Deleted metrics
/// are left to the janitor, as Gnocchi's refresh leaves them.
pub fn try_refresh(store: &Store, index: &Index, metric: &Metric) -> Result<Refreshed> {
    if !store.incoming().has_unprocessed(metric.id)? {
        return Ok(Refreshed::Done { taken: 0 });
    }
    let options = ProcessOptions {
        metrics: Some(vec![metric.id]),
        skip_janitor: true,
        ..ProcessOptions::default()
    };
    let report = process::run_pass(store, index, &options)?;
    if report.busy_sacks > 0 {
        return Ok(Refreshed::SackBusy);
    }
    match report.failures.into_iter().next() {
        Some(failure) => Err(failure.into()),
        None => Ok(Refreshed::Done {
            taken: report.measures + report.orphan_measures,
        }),
    }
}

/// Refuses a write while more measures wait than the store's limit
/// (`store.json`'s `max_backlog`), from a listing of the sacks.
pub fn check_backlog(store: &Store) -> Result<()> {
    let Some(limit) = store.config().max_backlog else {
        return Ok(());
    };
    let waiting = backlog(store)?.measures;
    match waiting > limit {
        true => Err(super::Error::BacklogFull { waiting, limit }.into()),
        false => Ok(()),
    }
}

/// The measures waiting to be processed.
pub fn backlog(store: &Store) -> Result<BacklogReport> {
    Ok(store.incoming().backlog()?)
}

/// The measures waiting for metrics that still exist: those of deleted
/// metrics are only waiting to be thrown away.
pub fn live_backlog(store: &Store, index: &Index) -> Result<BacklogReport> {
    let all = store.incoming().backlog()?;
    let ids: Vec<Uuid> = all.per_metric.iter().map(|(id, _)| *id).collect();
    let live = index.active_metrics(&ids)?;
    let mut report = BacklogReport::default();
    for (id, measures) in all.per_metric {
        if live.contains_key(&id) {
            report.metrics += 1;
            report.measures += measures;
            report.per_metric.push((id, measures));
        }
    }
    report.oldest_per_metric = all
        .oldest_per_metric
        .into_iter()
        .filter(|(id, _)| live.contains_key(id))
        .collect();
    Ok(report)
}

/// One sentence per metric for what a pass dropped as older than the back
/// window: `3 measures of cpu (web1) older than the back window
/// (2024-06-01T05:00:00+00:00) were dropped`.
pub fn describe_too_old(index: &Index, dropped: &[(Uuid, Dropped)]) -> Result<Vec<String>> {
    dropped
        .iter()
        .map(|(id, dropped)| {
            let count = match dropped.measures {
                1 => "1 measure".to_owned(),
                n => format!("{n} measures"),
            };
            let verb = if dropped.measures == 1 { "was" } else { "were" };
            Ok(format!(
                "{count} of {} older than the back window ({}) {verb} dropped",
                metric_words(index, *id)?,
                dropped.accepts_from
            ))
        })
        .collect()
}

/// A metric as a person named it: `cpu (web1)`, `cpu`, or its id.
pub fn metric_words(index: &Index, id: Uuid) -> Result<String> {
    let Some(metric) = index.get_metric(id)? else {
        return Ok(format!("metric {id}"));
    };
    let resource = match metric.resource_id {
        Some(resource) => index
            .get_resource(GENERIC, resource)?
            .map(|r| format!(" ({})", r.original_resource_id)),
        None => None,
    };
    Ok(match metric.name {
        Some(name) => format!("{name}{}", resource.unwrap_or_default()),
        None => format!("metric {id}"),
    })
}

/// A batch by resource and metric name checked against the index as
/// Gnocchi's `POST /v1/batch/resources/metrics/measures` checks it.
#[derive(Debug, Default)]
pub struct ResolvedBatch {
    /// Existing metrics, with the (resource, metric) position of their
    /// measures in the batch.
    pub existing: Vec<(Metric, (usize, usize))>,
    /// Metrics to create (`create_metrics`): their position and policy.
    pub missing: Vec<((usize, usize), String)>,
}

/// The longest unit a metric may have.
const MAX_UNIT_LENGTH: usize = 31;

/// Finds every metric a batch names. Without `create_metrics` a missing
/// one is an error that lists them all (`Unknown metrics: <resource
/// uuid>/<name>, …`, sorted); with it, a missing metric is checked as a new
/// metric would be (name, unit, policy from the item or the rules), and a
/// resource that does not exist is an error that lists every such
/// resource, Gnocchi's `Unknown resources`.
pub fn resolve_by_resource(
    index: &Index,
    batch: &[ResourceBatch],
    create_metrics: bool,
) -> Result<ResolvedBatch> {
    let mut resolved = ResolvedBatch::default();
    let mut unknown_metrics = Vec::new();
    let mut unknown_resources = Vec::new();
    for (r, resource) in batch.iter().enumerate() {
        let mut resource_exists = None;
        for (m, item) in resource.metrics.iter().enumerate() {
            if let Some(metric) = index.resource_metric(resource.id, &item.name)? {
                resolved.existing.push((metric, (r, m)));
                continue;
            }
            if !create_metrics {
                unknown_metrics.push(format!("{}/{}", resource.id, item.name));
                continue;
            }
            let policy = check_new_metric(index, item)?;
            let exists = match resource_exists {
                Some(exists) => exists,
                None => *resource_exists.insert(
                    index
                        .get_resource(crate::resource::GENERIC, resource.id)?
                        .is_some(),
                ),
            };
            if !exists {
                // Gnocchi stops at the first metric it cannot create there.
                unknown_resources.push((resource.id, resource.original_resource_id.clone()));
                break;
            }
            resolved.missing.push(((r, m), policy));
        }
    }
    if !unknown_resources.is_empty() {
        return Err(super::Error::UnknownResources(unknown_resources).into());
    }
    if !unknown_metrics.is_empty() {
        unknown_metrics.sort();
        return Err(super::Error::UnknownMetrics(unknown_metrics).into());
    }
    Ok(resolved)
}

/// A metric of a batch to create, checked as `POST /v1/metric` checks it;
/// its archive policy.
fn check_new_metric(index: &Index, item: &NamedMetricBatch) -> Result<String> {
    if item
        .unit
        .as_deref()
        .is_some_and(|u| u.chars().count() > MAX_UNIT_LENGTH)
    {
        return Err(super::Error::invalid(
            "length of value must be at most 31 for dictionary value",
            &["unit"],
        )
        .into());
    }
    if item.name.contains('/') {
        return Err(store::Error::InvalidMetricName(item.name.clone()).into());
    }
    let policy = match &item.archive_policy_name {
        Some(policy) => policy.clone(),
        None => index.archive_policy_for(Some(&item.name))?,
    };
    index.get_archive_policy(&policy)?;
    Ok(policy)
}
