//! A long-running aggregation worker, gnocchi-metricd's job
//! (`carbonara metricd`): the pass in a loop, every `processing_delay`,
//! over the sacks the worker's fleet gives it (store/coordinator/fleet.rs),
//! with the janitor at most every `cleanup_delay`. On Redis incoming, when
//! `greedy`, a sack of its share that receives measures starts a pass at
//! once (store/redis/notify.rs), as gnocchi-metricd's greedy mode does.
//!
//! A worker survives its backends' failures: a pass that fails is
//! reported and tried again at the next period, on a fresh connection to
//! the index. Setting the stop flag (SIGTERM, SIGINT) ends it once the
//! transaction at hand is committed; its sack locks are released and it
//! leaves its fleet as it returns.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::store::coordinator::fleet::Fleet;
use crate::store::{Index, Store};

use super::{Error, PassReport, ProcessOptions, run_pass_in_pool, thread_pool};

/// How often a waiting worker looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);

#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Its member id in the fleet.
    pub member_id: String,
    /// Threads of each pass; `None`: as `process` (one per core, 16 per
    /// core on S3 or Redis drivers).
    pub jobs: Option<usize>,
    /// From the start of a pass to the start of the next.
    pub processing_delay: Duration,
    /// Least time between two passes that run the janitor; the first pass
    /// runs it.
    pub cleanup_delay: Duration,
    /// Workers per sack where a ring shares them (`[metricd]
    /// processing_replicas`).
    pub processing_replicas: u32,
    /// Woken by Redis's notifications of new measures (`[metricd] greedy`).
    pub greedy: bool,
}

/// Wakes a waiting worker: set by the notifications of the sacks of its
/// share.
#[derive(Default)]
struct Alarm {
    rung: Mutex<bool>,
    bell: Condvar,
}

impl Alarm {
    fn ring(&self) {
        *self.rung.lock().unwrap_or_else(PoisonError::into_inner) = true;
        self.bell.notify_all();
    }

    /// Waits at most `timeout`; true (and reset) when it rang.
    fn wait(&self, timeout: Duration) -> bool {
        let rung = self.rung.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut rung, _) = self
            .bell
            .wait_timeout_while(rung, timeout, |rung| !*rung)
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::take(&mut *rung)
    }
}

/// What a worker tells as it runs.
pub enum Event<'a> {
    /// It joined its fleet; `share` is its sacks (`None`: every sack);
    /// `notified`: Redis wakes it when measures arrive.
    Joined {
        member_id: &'a str,
        share: Option<&'a BTreeSet<u32>>,
        notified: bool,
    },
    /// Its sacks changed: a worker joined or left the ring.
    Share(Option<&'a BTreeSet<u32>>),
    /// A pass ended, in `seconds`.
    Pass {
        report: &'a PassReport,
        index: &'a Index,
        seconds: f64,
    },
    /// A pass, or the reading of its share, failed; retried next period.
    Failed(&'a Error),
    /// It stopped when asked to, and left its fleet.
    Stopped,
}

/// Runs passes until `stop` is set. An error only when the worker cannot
/// start: its threads, or its joining the fleet.
pub fn run(
    store: &Store,
    options: &WorkerOptions,
    stop: &Arc<AtomicBool>,
    mut tell: impl FnMut(Event<'_>),
) -> Result<(), Error> {
    let pool = thread_pool(store, options.jobs)?;
    let mut fleet = Fleet::join(store, &options.member_id, options.processing_replicas)?;
    let mut share = fleet.share()?;
    let alarm = Arc::new(Alarm::default());
    // The share the notifications filter on, kept up to date below.
    let watched = Arc::new(Mutex::new(share.clone()));
    let notifications = match store.remote_incoming() {
        Some(remote) if options.greedy => {
            let (alarm, watched) = (alarm.clone(), watched.clone());
            remote.notifications(store.config().sacks, move |sack| {
                let watched = watched.lock().unwrap_or_else(PoisonError::into_inner);
                if watched.as_ref().is_none_or(|share| share.contains(&sack)) {
                    alarm.ring();
                }
            })?
        }
        _ => None,
    };
    tell(Event::Joined {
        member_id: fleet.member_id(),
        share: share.as_ref(),
        notified: notifications.is_some(),
    });
    let mut index: Option<Index> = None;
    let mut last_janitor: Option<Instant> = None;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let janitor = last_janitor.is_none_or(|t| t.elapsed() >= options.cleanup_delay);
        let outcome = fleet.share().map_err(Error::from).and_then(|now| {
            if now != share {
                share = now;
                *watched.lock().unwrap_or_else(PoisonError::into_inner) = share.clone();
                tell(Event::Share(share.as_ref()));
            }
            let index = match &mut index {
                Some(index) => index,
                empty => empty.insert(store.index()?),
            };
            let pass = ProcessOptions {
                jobs: options.jobs,
                metrics: None,
                sacks: share.clone(),
                skip_janitor: !janitor,
                stop: Some(stop.clone()),
            };
            let report = run_pass_in_pool(&pool, store, index, &pass)?;
            tell(Event::Pass {
                report: &report,
                index,
                seconds: started.elapsed().as_secs_f64(),
            });
            Ok(())
        });
        match outcome {
            Ok(()) if janitor => last_janitor = Some(started),
            Ok(()) => {}
            Err(error) => {
                tell(Event::Failed(&error));
                // The index may have lost its server: a fresh one next pass.
                index = None;
            }
        }
        while !stop.load(Ordering::Relaxed) && started.elapsed() < options.processing_delay {
            let left = options.processing_delay.saturating_sub(started.elapsed());
            if alarm.wait(STOP_POLL.min(left)) {
                break;
            }
        }
    }
    drop(notifications);
    drop(fleet);
    tell(Event::Stopped);
    Ok(())
}
