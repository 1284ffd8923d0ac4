//! Gnocchi's janitor: removes the data of what was deleted. `metric delete`
//! only marks a metric; here its waiting measures, then its archive
//! directory, then its index row go, each step repeatable if the process
//! is killed in between. `process` runs it after its pass, `janitor` on
//! its own, and `serve` after a background pass at most every
//! `--cleanup-delay` (Gnocchi's `[metricd] metric_cleanup_delay`); a
//! `refresh` never does, as Gnocchi's.
//!
//! Nothing is removed while in use: a metric whose sack another process
//! holds (a pass is working on it) waits for the next run, and readers of
//! the sack are waited for. When the index has resources, deleted
//! resources come first here: deleting a resource marks its metrics
//! deleted, and the metric step below then removes them.

use crate::store::lock::{ApplyLocks, SackLocks};
use crate::store::{Index, Result, Store};

/// What a janitor run removed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JanitorReport {
    /// Deleted metrics whose data and index row were removed.
    pub expunged_metrics: usize,
    /// Deleted metrics left for next time: another process held their sack.
    pub busy_metrics: usize,
}

/// Removes the data of every deleted metric whose sack can be locked into
/// `locks` (a pass hands over the locks it already holds).
pub fn run(store: &Store, index: &Index, locks: &mut SackLocks) -> Result<JanitorReport> {
    let incoming = store.incoming();
    let mut report = JanitorReport::default();
    for metric in index.deleted_metrics()? {
        let sack = incoming.sack_of(metric.id);
        if !locks.try_lock(sack)? {
            report.busy_metrics += 1;
            continue;
        }
        {
            let _no_readers = ApplyLocks::exclusive(store, &[sack])?;
            incoming.remove_metric(metric.id)?;
            store.storage().remove_metric(metric.id)?;
        }
        index.expunge_metric(metric.id)?;
        report.expunged_metrics += 1;
    }
    Ok(report)
}
