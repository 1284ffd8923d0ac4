//! Rewriting one metric's archive outside the pass: deleting measures,
//! backfilling history, moving the metric to another archive policy.
//!
//! A rewrite works as the pass does on one metric: under its sack's lock
//! (so no pass of any process works on it meanwhile), after aggregating
//! the metric's waiting measures (so what it rewrites is the archive as it
//! stands), and it commits its changes the way the pass commits: one
//! transaction on a directory archive, so a SIGKILL at any instant leaves
//! the old archive or the new one; Gnocchi's order (deletes, then writes)
//! on S3 or Redis. What to change is the caller's: a plan that reads the
//! archive and returns the objects to write and delete.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use super::{Error, PassReport, process_held, thread_pool};
use crate::policy::ArchivePolicy;
use crate::store::lock::{ApplyLocks, SackLocks};
use crate::store::object::ArchiveObject;
use crate::store::storage::Storage;
use crate::store::{self, Index, Metric, Store, txn};

/// The first pause between two tries of a busy sack; it doubles up to
/// [`LONGEST_PAUSE`], as a `refresh` waits.
const FIRST_PAUSE: Duration = Duration::from_millis(10);
const LONGEST_PAUSE: Duration = Duration::from_millis(100);

/// What a rewrite changes in one metric's archive.
#[derive(Debug, Default)]
pub struct ArchiveChanges {
    pub writes: Vec<(ArchiveObject, Vec<u8>)>,
    pub deletes: Vec<ArchiveObject>,
}

impl ArchiveChanges {
    pub fn is_empty(&self) -> bool {
        self.writes.is_empty() && self.deletes.is_empty()
    }
}

/// The metric's archive as a rewrite reads it: under its sack's lock,
/// after the metric's waiting measures were aggregated, with the metric
/// and its policy as the index has them then.
pub struct MetricArchive<'a> {
    pub storage: &'a Storage,
    pub metric: &'a Metric,
    pub policy: &'a ArchivePolicy,
}

/// A change to the index made with the archive's: in the same transaction
/// on a directory archive, after the archive's objects elsewhere.
pub type IndexChange = Box<dyn FnOnce(&Index) -> store::Result<()> + Send>;

/// What a plan returns: the changes, the index change that goes with
/// them, and the outcome to hand back.
pub struct Rewrite<T> {
    pub changes: ArchiveChanges,
    pub index_change: Option<IndexChange>,
    pub outcome: T,
}

impl<T> Rewrite<T> {
    /// A plan that changes nothing (a dry run, an empty range).
    pub fn unchanged(outcome: T) -> Rewrite<T> {
        Rewrite {
            changes: ArchiveChanges::default(),
            index_change: None,
            outcome,
        }
    }
}

/// Runs `plan` on one metric under its sack's lock — waiting up to
/// `timeout` for a pass of another process that holds it, then failing
/// with [`Error::MetricBusy`] — after aggregating the metric's waiting
/// measures, and commits the plan's changes.
pub fn rewrite_metric<T, E: From<Error>>(
    store: &Store,
    index: &Index,
    metric: &Metric,
    timeout: Duration,
    plan: impl FnOnce(&MetricArchive) -> Result<Rewrite<T>, E>,
) -> Result<T, E> {
    let sack = store.incoming().sack_of(metric.id);
    let mut locks = SackLocks::new(store);
    lock_sack(&mut locks, sack, metric, timeout)?;
    txn::recover(store, Some(&mut locks)).map_err(Error::from)?;

    let pool = thread_pool(store, Some(1))?;
    let mut report = PassReport::default();
    let wanted = BTreeSet::from([metric.id]);
    process_held(
        &pool,
        store,
        index,
        &[sack],
        Some(&wanted),
        &|| false,
        &mut report,
    )?;
    if let Some(failure) = report.failures.into_iter().next() {
        return Err(failure.into());
    }

    // Read again under the lock: another process may have moved the
    // metric to another policy, or deleted it, before the lock was ours.
    let metric = index
        .get_metric(metric.id)
        .map_err(Error::from)?
        .ok_or_else(|| Error::from(store::Error::MetricNotFound(metric.id.to_string())))?;
    let policy = index
        .get_archive_policy(&metric.archive_policy_name)
        .map_err(Error::from)?;
    let archive = MetricArchive {
        storage: store.storage(),
        metric: &metric,
        policy: &policy,
    };
    let rewrite = plan(&archive)?;
    apply(store, index, sack, rewrite.changes, rewrite.index_change)?;
    Ok(rewrite.outcome)
}

/// Takes the sack's lock, trying again after a pause in which nothing is
/// held until `timeout` has passed.
fn lock_sack(
    locks: &mut SackLocks,
    sack: u32,
    metric: &Metric,
    timeout: Duration,
) -> Result<(), Error> {
    let deadline = Instant::now() + timeout;
    let mut pause = FIRST_PAUSE;
    while !locks.try_lock(sack)? {
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::MetricBusy { metric: metric.id });
        }
        std::thread::sleep(pause.min(deadline - now));
        pause = (pause * 2).min(LONGEST_PAUSE);
    }
    Ok(())
}

/// Commits a plan's changes: one transaction on a directory archive (with
/// the index change, if any); on S3 or Redis the objects in Gnocchi's
/// order under the sack's apply lock (readers wait, cached answers go
/// stale), then the index change.
fn apply(
    store: &Store,
    index: &Index,
    sack: u32,
    changes: ArchiveChanges,
    index_change: Option<IndexChange>,
) -> Result<(), Error> {
    if changes.is_empty() && index_change.is_none() {
        return Ok(());
    }
    match store.storage().as_file() {
        Some(archive) => {
            let mut transaction = store.begin(&[sack])?;
            for (object, bytes) in changes.writes {
                transaction.write(archive.path_of(&object), bytes);
            }
            for object in &changes.deletes {
                transaction.delete(archive.path_of(object));
            }
            match index_change {
                Some(change) => {
                    transaction.commit_with_index(index, |index, _| change(index))?;
                }
                None => transaction.commit()?,
            }
        }
        None => {
            {
                let _applying = ApplyLocks::exclusive(store, &[sack])?;
                store.storage().apply(&changes.deletes, &changes.writes)?;
            }
            if let Some(change) = index_change {
                change(index)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{MeasureWriter, WriterOptions};
    use crate::policy::ArchivePolicyRule;
    use crate::time::Timestamp;

    /// A store with the default policies and a metric `cpu` (policy
    /// `low`) with three measures waiting.
    fn store_with_waiting_measures() -> (tempfile::TempDir, Store, Metric) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), 4).unwrap();
        let index = store.index().unwrap();
        for policy in ArchivePolicy::defaults() {
            index.create_archive_policy(&policy).unwrap();
        }
        index
            .create_rule(&ArchivePolicyRule::default_rule())
            .unwrap();
        let options = WriterOptions {
            creator: "admin".into(),
            create_metrics: true,
            archive_policy_name: None,
        };
        let mut writer = MeasureWriter::new(&store, &index, options, Timestamp::EPOCH).unwrap();
        for (seconds, value) in [(60, 1.0), (120, 2.0), (180, 4.0)] {
            writer
                .add("cpu", Timestamp::from_nanos(seconds * 1_000_000_000), value)
                .unwrap();
        }
        writer.finish().unwrap();
        let metric = index.find_metric("cpu").unwrap();
        (dir, store, metric)
    }

    #[test]
    fn the_plan_reads_the_archive_with_the_waiting_measures_aggregated() {
        let (_dir, store, metric) = store_with_waiting_measures();
        let index = store.index().unwrap();
        let bound_points = rewrite_metric(&store, &index, &metric, Duration::ZERO, |archive| {
            let bound = archive.storage.read_bound(archive.metric.id)?;
            Ok::<_, Error>(Rewrite::unchanged(bound.map(|b| b.len())))
        })
        .unwrap();
        assert_eq!(bound_points, Some(3));
        assert_eq!(store.incoming().backlog().unwrap().measures, 0);
    }

    #[test]
    fn the_changes_and_the_index_change_are_committed_together() {
        let (_dir, store, metric) = store_with_waiting_measures();
        let index = store.index().unwrap();
        let mut moved = index.get_archive_policy("low").unwrap();
        moved.name = "moved".into();
        rewrite_metric(&store, &index, &metric, Duration::ZERO, |archive| {
            Ok::<_, Error>(Rewrite {
                changes: ArchiveChanges {
                    writes: Vec::new(),
                    deletes: vec![ArchiveObject::Bound(archive.metric.id)],
                },
                index_change: Some(Box::new(move |index: &Index| {
                    index.create_archive_policy(&moved)
                })),
                outcome: (),
            })
        })
        .unwrap();
        assert_eq!(store.storage().read_bound(metric.id).unwrap(), None);
        assert!(index.get_archive_policy("moved").is_ok());
        assert!(store.tmp_dir().read_dir().unwrap().next().is_none());
    }

    #[test]
    fn a_sack_held_by_another_process_fails_after_the_timeout() {
        let (_dir, store, metric) = store_with_waiting_measures();
        let index = store.index().unwrap();
        let mut other = SackLocks::new(&store);
        assert!(other.try_lock(store.incoming().sack_of(metric.id)).unwrap());
        let result = rewrite_metric(
            &store,
            &index,
            &metric,
            Duration::from_millis(30),
            |_| -> Result<Rewrite<()>, Error> { panic!("the plan runs only under the lock") },
        );
        assert!(matches!(result, Err(Error::MetricBusy { metric: m }) if m == metric.id));
        assert_eq!(store.incoming().backlog().unwrap().measures, 3);
    }
}
