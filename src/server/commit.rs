//! Group commit of measures: the measures of requests that arrive while a
//! commit is running are stored together by the next one, as a database's
//! write-ahead log groups the commits of concurrent transactions.
//!
//! A request hands over the measures of metrics it has already found and
//! checked, and waits; one thread takes everything waiting, stages it in
//! one `MeasureWriter` (one incoming file per metric of the group) and
//! commits it (one sync), then answers every request of the group. So a
//! 202 still means the measures are on disk, while the cost of a commit is
//! shared by every request it carries. Requests that create metrics or
//! resources keep their own transaction (they change the index).

use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use crate::error::Result;
use crate::ingest::{MeasureWriter, WriterOptions};
use crate::store::{Index, Store};
use crate::time::Timestamp;

/// Measures of metrics, by id.
pub type Measures = Vec<(Uuid, Vec<(Timestamp, f64)>)>;

struct Pending {
    measures: Measures,
    done: oneshot::Sender<std::result::Result<(), String>>,
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
    /// Starts the thread over its own handles on the store.
    pub fn start(store_path: &Path) -> Result<Committer> {
        let store = Store::open(store_path)?;
        let index = store.index()?;
        let shared = Arc::new(Shared::default());
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("carbonara-commit".to_owned())
            .spawn(move || run(&worker, &store, &index))
            .map_err(|e| crate::error::Error::Failed(format!("cannot start a thread: {e}")))?;
        Ok(Committer {
            shared,
            thread: Some(thread),
        })
    }

    /// Stores the measures with the next group; returns once they are on
    /// disk.
    pub async fn store(&self, measures: Measures) -> ApiResult<()> {
        if measures.iter().all(|(_, m)| m.is_empty()) {
            return Ok(());
        }
        let (done, outcome) = oneshot::channel();
        {
            let mut queue = self
                .shared
                .queue
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            queue.pending.push(Pending { measures, done });
        }
        self.shared.ready.notify_one();
        match outcome.await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(reason)) => Err(ApiError::internal(reason)),
            Err(_) => Err(ApiError::internal("the committing thread has stopped")),
        }
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
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(shared: &Shared, store: &Store, index: &Index) {
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
        let outcome = commit(store, index, &group).map_err(|e| e.to_string());
        for pending in group {
            let _ = pending.done.send(outcome.clone());
        }
    }
}

fn commit(store: &Store, index: &Index, group: &[Pending]) -> crate::store::Result<()> {
    let options = WriterOptions {
        creator: String::new(),
        create_metrics: false,
        archive_policy_name: None,
    };
    let mut writer = MeasureWriter::new(store, index, options, Timestamp::now())?;
    for pending in group {
        for (id, measures) in &pending.measures {
            writer.add_to_metric(*id, measures)?;
        }
    }
    writer.finish()?;
    Ok(())
}
