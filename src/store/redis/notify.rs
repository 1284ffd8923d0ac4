//! gnocchi-metricd's greedy wake-up on Redis incoming
//! (`gnocchi/incoming/redis.py: iter_on_sacks_to_process`): Redis is told
//! to publish keyspace events of string commands (`CONFIG SET
//! notify-keyspace-events K$`, as Gnocchi does), and a thread subscribes to
//! `__keyspace@<db>__:incoming<total>-*`. A push sets its sack's wake-up
//! key (`SETNX incoming<total>-<n> 1`) when the last pass cleared it, so the
//! first measures of a sack after a pass publish its name.
//!
//! The thread connects again (every second) after losing its server, and
//! ends when dropped, within a second.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use super::Pool;
use crate::store::Result;
use crate::store::incoming::SackName;

/// How long a read waits for an event before looking at the stop flag,
/// and the pause before connecting again.
const TICK: Duration = Duration::from_secs(1);

/// A subscription to the sacks' wake-up events, ended when dropped.
pub struct Notifications {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Notifications {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notifications").finish_non_exhaustive()
    }
}

impl Notifications {
    /// Calls `woken` with the number of every sack of `total` that
    /// receives measures after a pass cleared its wake-up key.
    pub fn start(
        pool: &Pool,
        total: u32,
        woken: impl Fn(u32) + Send + 'static,
    ) -> Result<Notifications> {
        // A pool of its own: the thread outlives the caller's borrow.
        let pool = Pool::new("incoming", &pool.text)?;
        let prefix = format!("__keyspace@{}__:", pool.db);
        let pattern = format!("{prefix}incoming{total}-*");
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                // Errors end a subscription; the next one starts a tick later.
                let _ = subscribe(&pool, &pattern, &stopping, |channel| {
                    let sack = channel
                        .strip_prefix(prefix.as_str())
                        .and_then(SackName::parse)
                        .filter(|sack| sack.total == total);
                    if let Some(sack) = sack {
                        woken(sack.number);
                    }
                });
                if !stopping.load(Ordering::Relaxed) {
                    std::thread::sleep(TICK);
                }
            }
        });
        Ok(Notifications {
            stop,
            thread: Some(thread),
        })
    }
}

/// One subscription, until its connection fails or `stop` is set.
fn subscribe(
    pool: &Pool,
    pattern: &str,
    stop: &AtomicBool,
    mut event: impl FnMut(&str),
) -> redis::RedisResult<()> {
    let mut connection = pool.connect()?;
    // A server that refuses CONFIG (a managed one) may be set up already.
    let _ = redis::cmd("CONFIG")
        .arg("SET")
        .arg("notify-keyspace-events")
        .arg("K$")
        .exec(&mut connection);
    let mut pubsub = connection.as_pubsub();
    pubsub.set_read_timeout(Some(TICK))?;
    pubsub.psubscribe(pattern)?;
    while !stop.load(Ordering::Relaxed) {
        match pubsub.get_message() {
            Ok(message) => event(message.get_channel_name()),
            Err(e) if e.is_timeout() => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Drop for Notifications {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            // A panicked thread has nothing left to stop.
            let _ = thread.join();
        }
    }
}
