//! The metricd pass: take the measures waiting in the sacks, merge them into
//! each metric's bound series, recompute the aggregates they touch and
//! rewrite the splits, as Gnocchi's `process_new_measures_for_sack` does.
//!
//! Crash safety: every metric's new files, the deletion of its obsolete
//! splits and of the incoming files it consumed are one transaction
//! (store/txn.rs), so a SIGKILL at any instant loses nothing and a rerun
//! gives the same archive as an uninterrupted pass. Each sack is worked on
//! under its lock; a sack locked by another process is skipped.
//!
//! On a storage driver that is not a directory (Redis) the pass keeps
//! Gnocchi's order instead: obsolete splits deleted, splits written, bound
//! series written, and only then the measures taken from incoming. A pass
//! killed in between leaves the measures waiting; the next one aggregates
//! them again to the same archive (at least once, as gnocchi-metricd).

pub mod janitor;
mod reopen;
pub mod rewrite;
mod slots;
pub mod worker;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use uuid::Uuid;

use crate::carbonara::update::{self, Dropped, UpdateError};
use crate::carbonara::{Points, codec};
use crate::error::ErrorKind;
use crate::policy::ArchivePolicy;
use crate::store::incoming::MetricBacklog;
use crate::store::lock::SackLocks;
use crate::store::object::ArchiveObject;
use crate::store::storage::Storage;
use crate::store::{self, Index, Metric, Store, pass_log, txn};
use crate::time::Timestamp;
use slots::ComputeSlots;

/// Threads a worker runs on S3 or Redis drivers, whose reads each wait a
/// round trip.
const REMOTE_THREADS_PER_CORE: usize = 16;
/// Metrics committed together: bounds memory and the number of syncs.
const METRICS_PER_TRANSACTION: usize = 512;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] store::Error),
    #[error("metric {metric}: {source}")]
    Update { metric: Uuid, source: UpdateError },
    #[error("metric {metric}: {source}")]
    Encode { metric: Uuid, source: codec::Error },
    #[error("metric {metric}: archive policy {policy} does not exist")]
    MissingPolicy { metric: Uuid, policy: String },
    #[error("cannot start {jobs} worker threads: {reason}")]
    Threads { jobs: usize, reason: String },
    /// Another process held the metric's sack as long as a rewrite waited.
    #[error("metric {metric} is being processed by another process: try again later")]
    MetricBusy { metric: Uuid },
}

impl Error {
    /// A pass works on what the store holds: any failure but a busy sack
    /// is the store's.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Store(e) => e.kind(),
            Error::Update { .. }
            | Error::Encode { .. }
            | Error::MissingPolicy { .. }
            | Error::Threads { .. } => ErrorKind::Internal,
            Error::MetricBusy { .. } => ErrorKind::Busy,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct ProcessOptions {
    /// Worker threads; all cores when `None`.
    pub jobs: Option<usize>,
    /// Only these metrics (and only their sacks); every metric when `None`.
    pub metrics: Option<Vec<Uuid>>,
    /// Only these sacks (a worker's share of a deployment's); every sack
    /// when `None`.
    pub sacks: Option<BTreeSet<u32>>,
    /// Set to end the pass early: it stops after the transaction at hand,
    /// leaving what it has not read waiting (a worker asked to stop).
    pub stop: Option<Arc<AtomicBool>>,
    /// Leave deleted metrics to a later janitor run: gnocchi-metricd's
    /// janitor runs every `[metricd] metric_cleanup_delay`, not after
    /// every pass, and its `refresh` never expunges.
    pub skip_janitor: bool,
}

/// What a pass did.
#[derive(Debug, Default)]
pub struct PassReport {
    /// Metrics whose measures were aggregated.
    pub metrics: usize,
    /// Measures taken from the sacks.
    pub measures: u64,
    /// Measures dropped because their metric no longer exists.
    pub orphan_measures: u64,
    /// Measures dropped because they were older than their metric's back
    /// window, per metric (also added to the index's totals).
    pub too_old: Vec<(Uuid, Dropped)>,
    /// Sacks locked and worked on.
    pub sacks: usize,
    /// Sacks skipped because another process held them.
    pub busy_sacks: usize,
    /// Deleted metrics whose data was removed (none when the janitor was
    /// skipped).
    pub expunged: usize,
    /// Ended resources that received a newer measure: active again.
    pub reopened: Vec<Uuid>,
    /// Metrics that could not be processed; their measures stay queued.
    pub failures: Vec<Error>,
    /// Archive objects (bound series, splits) read, written and deleted,
    /// and incoming measure files taken: what a pass costs the storage.
    pub objects: ObjectCounts,
}

/// Counts of the storage objects a pass touched.
#[derive(Debug, Default, Clone, Copy)]
pub struct ObjectCounts {
    pub read: u64,
    pub written: u64,
    pub deleted: u64,
    pub incoming_files: u64,
}

/// The objects one metric's batch changes.
#[derive(Default)]
struct MetricChanges {
    writes: Vec<(ArchiveObject, Vec<u8>)>,
    deletes: Vec<ArchiveObject>,
    /// Measures taken from incoming.
    measures: u64,
    /// Archive objects read: the bound series and the splits merged into.
    reads: u64,
    /// The newest timestamp among the measures taken.
    newest: Option<Timestamp>,
    dropped: Option<Dropped>,
}

/// A metric's measures read from incoming and the changes they make.
type Taken = (MetricBacklog, MetricChanges);

/// Runs one pass over every sack (or over the sacks of `options.metrics`).
pub fn run_pass(
    store: &Store,
    index: &Index,
    options: &ProcessOptions,
) -> Result<PassReport, Error> {
    let pool = thread_pool(store, options.jobs)?;
    run_pass_in_pool(&pool, store, index, options)
}

/// The threads a pass runs on: `jobs`, else [`threads_for`] one worker
/// per core.
fn thread_pool(store: &Store, jobs: Option<usize>) -> Result<rayon::ThreadPool, Error> {
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(threads) = jobs.or_else(|| threads_for(store, None)) {
        builder = builder.num_threads(threads);
    }
    builder.build().map_err(|e| Error::Threads {
        jobs: jobs.unwrap_or(0),
        reason: e.to_string(),
    })
}

/// The threads that do the work of `workers` gnocchi-metricd workers
/// (`[metricd] workers`; `None`: one per core, rayon's default): a thread
/// a worker on files; 16 a worker on S3 or Redis drivers, whose reads each
/// wait a round trip (each gnocchi-metricd worker, too, sends its storage
/// requests from a pool of threads).
pub fn threads_for(store: &Store, workers: Option<usize>) -> Option<usize> {
    if store.is_local_layout() {
        return workers;
    }
    let workers =
        workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from));
    Some(workers * REMOTE_THREADS_PER_CORE)
}

fn run_pass_in_pool(
    pool: &rayon::ThreadPool,
    store: &Store,
    index: &Index,
    options: &ProcessOptions,
) -> Result<PassReport, Error> {
    let mut report = PassReport::default();
    let incoming = store.incoming();
    let mut locks = SackLocks::new(store);
    txn::recover(store, None)?;

    let wanted: Option<BTreeSet<Uuid>> = options
        .metrics
        .as_ref()
        .map(|m| m.iter().copied().collect());
    let mut sacks: BTreeSet<u32> = match &wanted {
        Some(metrics) => metrics.iter().map(|&m| incoming.sack_of(m)).collect(),
        None => (0..store.config().sacks).collect(),
    };
    if let Some(share) = &options.sacks {
        sacks.retain(|sack| share.contains(sack));
    }
    let stopping = || {
        options
            .stop
            .as_ref()
            .is_some_and(|stop| stop.load(Ordering::Relaxed))
    };
    // On Redis or S3 every sack may have measures, and taking a sack's
    // lock costs round trips (two per sack on Redis): one listing of the
    // waiting measures says which sacks to lock. Measures pushed to
    // another sack meanwhile wait for the next pass, as they would had
    // they come just after it. (The listing after the locks is the one
    // the pass works from.)
    let listed: Option<BTreeSet<u32>> = match store.remote_incoming() {
        Some(_) => {
            let all: Vec<u32> = sacks.iter().copied().collect();
            Some(
                incoming
                    .waiting(&all)?
                    .into_iter()
                    .map(|(s, _)| s)
                    .collect(),
            )
        }
        None => None,
    };
    let mut held = Vec::new();
    for sack in sacks {
        let maybe = match &listed {
            Some(listed) => listed.contains(&sack),
            None => incoming.may_have_measures(sack)?,
        };
        if !maybe {
            continue;
        }
        if locks.try_lock(sack)? {
            held.push(sack);
        } else {
            report.busy_sacks += 1;
        }
    }
    report.sacks = held.len();
    // Finish what a killed pass committed before reading the sacks again.
    txn::recover(store, Some(&mut locks))?;
    process_held(
        pool,
        store,
        index,
        &held,
        wanted.as_ref(),
        &stopping,
        &mut report,
    )?;
    let taken = report.measures + report.orphan_measures;
    if taken > 0
        && let Err(error) = pass_log::record(store, taken, Timestamp::now())
    {
        // A statistic: the pass does not fail for it.
        crate::diagnostics::warn(&format!(
            "cannot record the pass for the pass rate: {error}"
        ));
    }
    if !options.skip_janitor && !stopping() {
        report.expunged = janitor::run(store, index, &mut locks)?.expunged_metrics;
    }
    Ok(report)
}

/// Aggregates the measures waiting in `held`, sacks whose locks the
/// caller holds (only those of the `wanted` metrics, if given), until
/// `stopping` says to stop between two transactions.
fn process_held(
    pool: &rayon::ThreadPool,
    store: &Store,
    index: &Index,
    held: &[u32],
    wanted: Option<&BTreeSet<Uuid>>,
    stopping: &dyn Fn() -> bool,
    report: &mut PassReport,
) -> Result<(), Error> {
    let incoming = store.incoming();
    let mut work = incoming.waiting(held)?;
    if let Some(wanted) = wanted {
        work.retain(|(_, metric)| wanted.contains(metric));
    }
    let slots = ComputeSlots::new(std::thread::available_parallelism().map_or(1, usize::from));
    let policies: HashMap<String, ArchivePolicy> = index
        .list_archive_policies()?
        .into_iter()
        .map(|p| (p.name.clone(), p))
        .collect();
    for chunk in work.chunks(METRICS_PER_TRANSACTION) {
        if stopping() {
            break;
        }
        let ids: Vec<Uuid> = chunk.iter().map(|&(_, id)| id).collect();
        let metrics = index.active_metrics(&ids)?;
        let backlogs = pool.install(|| incoming.read_metrics(chunk));
        let results: Vec<(Uuid, Result<Taken, Error>)> = pool.install(|| {
            ids.par_iter()
                .zip(backlogs)
                .map(|(&id, backlog)| {
                    let changes = backlog.map_err(Error::from).and_then(|mut backlog| {
                        let measures = std::mem::take(&mut backlog.measures);
                        let count = measures.len() as u64;
                        let mut changes = match metrics.get(&id) {
                            Some(metric) => process_metric(
                                store.storage(),
                                metric,
                                &policies,
                                measures,
                                &slots,
                            )?,
                            None => MetricChanges::default(),
                        };
                        changes.measures = count;
                        Ok((backlog, changes))
                    });
                    (id, changes)
                })
                .collect()
        });
        let chunk_sacks: Vec<u32> = chunk
            .iter()
            .map(|&(sack, _)| sack)
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let mut done: Vec<(Uuid, MetricBacklog, MetricChanges)> = Vec::new();
        for (id, result) in results {
            match result {
                Ok((backlog, changes)) => done.push((id, backlog, changes)),
                Err(error) => report.failures.push(error),
            }
        }
        let mut too_old = Vec::new();
        let mut newest = Vec::new();
        for (id, backlog, changes) in &done {
            report.objects.read += changes.reads;
            report.objects.written += changes.writes.len() as u64;
            report.objects.deleted += changes.deletes.len() as u64;
            report.objects.incoming_files += backlog.files.len() as u64;
            let measures = changes.measures;
            match metrics.get(id) {
                Some(metric) => {
                    report.metrics += 1;
                    report.measures += measures;
                    newest.extend(metric.resource_id.zip(changes.newest));
                }
                None => report.orphan_measures += measures,
            }
            too_old.extend(changes.dropped.map(|dropped| (*id, dropped)));
        }
        commit(pool, store, index, &chunk_sacks, &mut done, &too_old)?;
        report.too_old.extend(too_old);
        // metricd's side writes (Gnocchi's indexer reads them; the SQLite
        // index has no such columns): one statement per transaction, and
        // ended resources that received newer measures reopened.
        let processed: Vec<Uuid> = done
            .iter()
            .map(|(id, _, _)| *id)
            .filter(|id| metrics.contains_key(id))
            .collect();
        index.record_processed(&processed, Timestamp::now())?;
        report
            .reopened
            .extend(reopen::reopen_resources(index, &newest, Timestamp::now())?);
        for (id, _, _) in &done {
            incoming.remove_metric_dir_if_empty(*id);
        }
    }
    Ok(())
}

/// Makes one chunk's changes durable and takes its measures from
/// incoming: one transaction on a directory archive; Gnocchi's order on
/// the other drivers. Counts of measures too old to keep are recorded in
/// the index with them.
fn commit(
    pool: &rayon::ThreadPool,
    store: &Store,
    index: &Index,
    sacks: &[u32],
    done: &mut [(Uuid, MetricBacklog, MetricChanges)],
    too_old: &[(Uuid, Dropped)],
) -> Result<(), Error> {
    let mut transaction = store.begin(sacks)?;
    match store.storage().as_file() {
        Some(archive) => {
            for (_, backlog, changes) in done.iter_mut() {
                let path = |object: &ArchiveObject| archive.path_of(object);
                transaction.consume(
                    std::mem::take(&mut backlog.files),
                    changes
                        .writes
                        .drain(..)
                        .map(|(object, bytes)| (path(&object), bytes))
                        .collect(),
                    changes.deletes.iter().map(path).collect(),
                );
            }
        }
        None => {
            let deletes: Vec<ArchiveObject> = done
                .iter()
                .flat_map(|(_, _, changes)| changes.deletes.iter().copied())
                .collect();
            let writes: Vec<(ArchiveObject, Vec<u8>)> = done
                .iter_mut()
                .flat_map(|(_, _, changes)| changes.writes.drain(..))
                .collect();
            store.storage().apply(&deletes, &writes)?;
            // The measures go after their archives, in a transaction of
            // their own where they are files.
            for (_, backlog, _) in done.iter_mut() {
                for file in std::mem::take(&mut backlog.files) {
                    transaction.delete(file);
                }
            }
        }
    }
    if too_old.is_empty() {
        pool.install(|| transaction.commit())?;
    } else {
        // The count is stored with the files, so no drop goes untold.
        // The index cannot cross threads: this commit applies its files
        // on rayon's global pool rather than the pass's.
        transaction.commit_with_index(index, |index, _| index.record_dropped(too_old))?;
    }
    let read: Vec<(Uuid, &MetricBacklog)> = done.iter().map(|(id, b, _)| (*id, b)).collect();
    store.incoming().consume(&read, sacks)?;
    Ok(())
}

/// The changes a metric's waiting measures make to its archive. (Measures
/// of a metric the index does not know, deleted, change nothing: they are
/// dropped, as Gnocchi does.)
fn process_metric(
    storage: &Storage,
    metric: &Metric,
    policies: &HashMap<String, ArchivePolicy>,
    measures: Vec<(Timestamp, f64)>,
    slots: &ComputeSlots,
) -> Result<MetricChanges, Error> {
    let id = metric.id;
    let policy = policies
        .get(&metric.archive_policy_name)
        .ok_or_else(|| Error::MissingPolicy {
            metric: id,
            policy: metric.archive_policy_name.clone(),
        })?;
    let mut changes = MetricChanges {
        newest: measures.iter().map(|&(timestamp, _)| timestamp).max(),
        reads: 1,
        ..MetricChanges::default()
    };
    let stored = storage.read_bound(id)?;
    // Without a bound series the metric has never been processed to the
    // end: a split stored by a pass killed before its bound series holds
    // aggregates of measures still waiting, all of them taken again now,
    // so its points are a subset of the new ones and need not be read
    // (on S3 or Redis, a round trip per metric saved on a new metric).
    let first = stored.is_none();
    // Gnocchi makes a metric's directories at its first pass; on S3 and
    // Redis its empty bound series would be overwritten by this pass.
    if first && storage.as_file().is_some() {
        storage.create_metric(id, &policy.aggregation_methods)?;
    }
    let Some(update) = slots
        .run(|| update::apply_batch(policy, stored, measures))
        .map_err(|source| Error::Update { metric: id, source })?
    else {
        return Ok(changes);
    };
    changes.dropped = update.dropped;
    let mut rewritten = Vec::new();
    // Listed once for all the plans that delete: one request on S3 or
    // Redis rather than one per (method, granularity).
    let mut listed = None;
    for plan in &update.splits {
        let method = plan.aggregation.method;
        if let Some(before) = plan.delete_before {
            let stored = match &listed {
                Some(stored) => stored,
                None => {
                    listed.insert(storage.list_metric_split_keys(id, &policy.aggregation_methods)?)
                }
            };
            let keys = stored
                .iter()
                .filter(|(listed_method, _)| *listed_method == method)
                .flat_map(|(_, keys)| keys)
                .filter(|key| key.granularity == plan.aggregation.granularity);
            for &key in keys {
                if key < before {
                    changes.deletes.push(ArchiveObject::Split {
                        metric: id,
                        method,
                        key,
                    });
                }
            }
        }
        rewritten.extend(
            plan.writes
                .iter()
                .map(|(key, points)| (method, *key, points)),
        );
    }
    let splits: Vec<_> = rewritten
        .iter()
        .map(|&(method, key, _)| (method, key))
        .collect();
    let stored_splits = match first {
        true => vec![Points::default(); splits.len()],
        false => {
            changes.reads += splits.len() as u64;
            storage.read_each(id, &splits)?
        }
    };
    slots.run(|| {
        for ((method, key, points), stored) in rewritten.into_iter().zip(stored_splits) {
            changes.writes.push((
                ArchiveObject::Split {
                    metric: id,
                    method,
                    key,
                },
                codec::encode_split(key, &stored.merged_with(points)),
            ));
        }
    });
    let bound = codec::encode_bound(&update.bound)
        .map_err(|source| Error::Encode { metric: id, source })?;
    changes.writes.push((ArchiveObject::Bound(id), bound));
    Ok(changes)
}
