//! Group commit of measures: the measures of requests that arrive while a
//! commit is running are stored together by the next one, as a database's
//! write-ahead log groups the commits of concurrent transactions.
//!
//! A request hands over a `prepare` function and waits. One thread takes
//! every request waiting, runs each one's `prepare` (find the metrics,
//! check the caller, read the body: whatever fails answers that request
//! alone, with nothing of it staged), stages the measures of all the
//! others in one `MeasureWriter` (one incoming file per metric of the
//! group) and commits them (one sync), then answers them. The metrics the
//! requests of a group name by id are looked up together, in one query. So a 202 still
//! means the measures are on disk, while a commit's cost, and the
//! hand-over between threads, is shared by every request it carries.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;

use tokio::sync::oneshot;
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use super::metric::Found;
use super::{App, Work};
use crate::error::Result;
use crate::ingest::{MeasureWriter, WriterOptions};
use crate::store::{Index, Store};
use crate::time::Timestamp;

/// Measures of metrics, by id.
pub type Measures = Vec<(Uuid, Vec<(Timestamp, f64)>)>;

/// What a request does before its measures can be staged.
pub type Prepare = Box<dyn FnOnce(&Work<'_>) -> ApiResult<Measures> + Send>;

struct Pending {
    /// The metric the request names by id, if it names one: the group
    /// looks all of them up in one query before the checks.
    metric: Option<Uuid>,
    prepare: Prepare,
    done: oneshot::Sender<ApiResult<()>>,
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    closed: bool,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// The committing thread and its queue; the thread ends when this drops.
pub struct Committer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Committer {
    /// Starts the thread, with an index connection of its own.
    pub fn start(app: Weak<App>, store: &Store) -> Result<Committer> {
        let index = store.index()?;
        let shared = Arc::new(Shared::default());
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("carbonara-commit".to_owned())
            .spawn(move || run(&worker, &app, &index))
            .map_err(|e| crate::error::Error::Failed(format!("cannot start a thread: {e}")))?;
        Ok(Committer {
            shared,
            thread: Some(thread),
        })
    }

    /// Runs `prepare` and stores its measures with the next group; returns
    /// once they are on disk. `metric`: the metric `prepare` will find by
    /// id, if any.
    pub async fn store(&self, metric: Option<Uuid>, prepare: Prepare) -> ApiResult<()> {
        let (done, outcome) = oneshot::channel();
        let first = {
            let mut queue = self
                .shared
                .queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.pending.push(Pending {
                metric,
                prepare,
                done,
            });
            queue.pending.len() == 1
        };
        // The thread waits only on an empty queue (and looks again under
        // the lock before it does): one wake-up per group is enough.
        if first {
            self.shared.ready.notify_one();
        }
        outcome
            .await
            .unwrap_or_else(|_| Err(ApiError::internal("the committing thread has stopped")))
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.shared
            .queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .closed = true;
        self.shared.ready.notify_one();
        if let Some(thread) = self.thread.take()
            // The last handle on the App may be the thread's own.
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, app: &Weak<App>, index: &Index) {
    loop {
        let group = {
            let mut queue = shared
                .queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            while queue.pending.is_empty() && !queue.closed {
                queue = shared
                    .ready
                    .wait(queue)
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
            }
            if queue.pending.is_empty() {
                return;
            }
            std::mem::take(&mut queue.pending)
        };
        let Some(app) = app.upgrade() else {
            return;
        };
        commit_group(&app, index, group);
    }
}

fn commit_group(app: &App, index: &Index, group: Vec<Pending>) {
    let work = Work {
        store: &app.store,
        index,
        now: Timestamp::now(),
        app,
        group_found: Some(RefCell::default()),
    };
    find_group_metrics(&work, &group);
    let mut staged = Vec::with_capacity(group.len());
    let mut staged_measures = 0;
    for pending in group {
        // Past `--max-backlog`, refused before its body is read (backlog.rs).
        if let Err(refused) = app.backlog.admit(staged_measures) {
            let _ = pending.done.send(Err(refused));
            continue;
        }
        // A request that panics fails alone (as it would on tokio's
        // blocking pool); the thread goes on for the others.
        let prepare = pending.prepare;
        let prepared = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| prepare(&work)))
            .unwrap_or_else(|_| Err(ApiError::internal("a request's checks panicked")));
        match prepared {
            Ok(measures) => {
                staged_measures += count(&measures);
                staged.push((pending.done, measures));
            }
            Err(error) => {
                let _ = pending.done.send(Err(error));
            }
        }
    }
    if staged.iter().all(|(_, measures)| measures.is_empty()) {
        for (done, _) in staged {
            let _ = done.send(Ok(()));
        }
        return;
    }
    let outcome = commit(&work, &staged).map_err(ApiError::from);
    if outcome.is_ok() {
        app.backlog.added(staged_measures);
    }
    for (done, _) in staged {
        let _ = done.send(outcome.clone());
    }
}

/// How many measures a request stores.
pub fn count(measures: &Measures) -> u64 {
    measures.iter().map(|(_, m)| m.len() as u64).sum()
}

/// Looks up the metrics the group's requests name by id, all in one
/// query, for their checks to find. Whatever this cannot find (an unknown
/// metric, a failed lookup) each request looks up on its own, and answers
/// its own error.
fn find_group_metrics(work: &Work<'_>, group: &[Pending]) {
    let ids: Vec<Uuid> = group
        .iter()
        .filter_map(|pending| pending.metric)
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if ids.len() < 2 {
        return;
    }
    let Ok(metrics) = work.index.active_metrics(&ids) else {
        return;
    };
    for metric in metrics.into_values() {
        if let Ok(found) = Found::load(work, metric) {
            work.keep_for_group(&found);
        }
    }
}

fn commit(
    work: &Work<'_>,
    staged: &[(oneshot::Sender<ApiResult<()>>, Measures)],
) -> crate::store::Result<()> {
    let mut writer = MeasureWriter::new(
        work.store,
        work.index,
        WriterOptions::measures_only(),
        work.now,
    )?;
    for (_, measures) in staged {
        for (id, measures) in measures {
            writer.add_to_metric(*id, measures)?;
        }
    }
    writer.finish()?;
    Ok(())
}
