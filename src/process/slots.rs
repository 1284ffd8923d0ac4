//! A bound on how many metrics a pass computes at once. On S3 or Redis a
//! pass runs many threads so that their requests overlap, but only as many
//! of them aggregate and encode at a time as there are cores: ten metrics
//! of 100 000 points computed at once on two cores only take turns and
//! crowd the caches (and the S3 server on the same machine).

use std::sync::{Condvar, Mutex, PoisonError};

pub struct ComputeSlots {
    free: Mutex<usize>,
    freed: Condvar,
}

impl ComputeSlots {
    /// `slots` computations at once (at least one).
    pub fn new(slots: usize) -> ComputeSlots {
        ComputeSlots {
            free: Mutex::new(slots.max(1)),
            freed: Condvar::new(),
        }
    }

    /// Runs `work` once a slot is free.
    pub fn run<T>(&self, work: impl FnOnce() -> T) -> T {
        let mut free = self
            .freed
            .wait_while(
                self.free.lock().unwrap_or_else(PoisonError::into_inner),
                |free| *free == 0,
            )
            .unwrap_or_else(PoisonError::into_inner);
        *free -= 1;
        drop(free);
        let _slot = Slot(self);
        work()
    }
}

/// A slot taken, given back when dropped (a panic included).
struct Slot<'a>(&'a ComputeSlots);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        *self.0.free.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        self.0.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn no_more_than_the_slots_run_at_once() {
        let slots = ComputeSlots::new(2);
        let (running, most) = (AtomicUsize::new(0), AtomicUsize::new(0));
        std::thread::scope(|scope| {
            for _ in 0..8 {
                scope.spawn(|| {
                    slots.run(|| {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 2);
    }
}
