//! Back-pressure (`serve --max-backlog`, Gnocchi #836): the count of
//! measures waiting that this server keeps, so that a write is checked
//! without listing the sacks, and the measures its passes processed over
//! the last minute (`GET /v1/status`). It only counts and refuses: the
//! listings that correct the count run elsewhere (`App::recount_backlog`).
//!
//! The count goes up by what this server's writes store and down by what
//! its background passes take; the measures other processes write or
//! process, and those a `refresh=true` aggregates, are seen at the next
//! listing: after each background pass and every [`RECOUNT_INTERVAL`]
//! (docs/guide.md, "Back-pressure").

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::http::{StatusCode, header};

use super::error::ApiError;

/// How often the count is taken again from the store, whatever the passes do.
pub const RECOUNT_INTERVAL: Duration = Duration::from_secs(10);

/// The span the pass rate is measured over.
const RATE_WINDOW: Duration = Duration::from_secs(60);

pub struct Backlog {
    /// Measures waiting beyond which writes are refused; none: never.
    limit: Option<u64>,
    /// What `Retry-After` says: the time until the next pass.
    retry_after: Duration,
    waiting: AtomicU64,
    /// When each background pass of the last minute ended, and the
    /// measures it took from the sacks.
    passes: Mutex<VecDeque<(Instant, u64)>>,
}

impl Backlog {
    pub fn new(limit: Option<u64>, retry_after: Duration) -> Backlog {
        Backlog {
            limit,
            retry_after,
            waiting: AtomicU64::new(0),
            passes: Mutex::new(VecDeque::new()),
        }
    }

    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// The measures waiting, as far as this server knows.
    pub fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// The count a listing of the sacks found.
    pub fn recounted(&self, waiting: u64) {
        self.waiting.store(waiting, Ordering::Relaxed);
    }

    /// Measures this server stored.
    pub fn added(&self, measures: u64) {
        self.waiting.fetch_add(measures, Ordering::Relaxed);
    }

    /// A background pass that took `measures` from the sacks ended at `now`.
    pub fn processed(&self, measures: u64, now: Instant) {
        let _ = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                Some(w.saturating_sub(measures))
            });
        let mut passes = self
            .passes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        passes.push_back((now, measures));
        while passes
            .front()
            .is_some_and(|(ended, _)| now.duration_since(*ended) > RATE_WINDOW)
        {
            passes.pop_front();
        }
    }

    /// Measures per second this server's background passes processed over
    /// the last minute.
    pub fn pass_rate(&self, now: Instant) -> f64 {
        let passes = self
            .passes
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let measures: u64 = passes
            .iter()
            .filter(|(ended, _)| now.duration_since(*ended) <= RATE_WINDOW)
            .map(|(_, measures)| measures)
            .sum();
        measures as f64 / RATE_WINDOW.as_secs_f64()
    }

    /// Whether `more` measures may be queued on top of what waits: a 503
    /// with `Retry-After` once the waiting measures exceed the limit. A
    /// write that starts under the limit is accepted whole, so the backlog
    /// passes the limit by at most what the writes of one group commit
    /// carry.
    pub fn admit(&self, more: u64) -> Result<(), ApiError> {
        let Some(limit) = self.limit else {
            return Ok(());
        };
        let waiting = self.waiting().saturating_add(more);
        if waiting <= limit {
            return Ok(());
        }
        let seconds = self.retry_after.as_secs_f64().ceil().max(1.0) as u64;
        Err(ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{waiting} measures are waiting to be processed, more than the backlog limit of {limit} (--max-backlog): retry later"
            ),
        )
        .with_header(header::RETRY_AFTER, seconds.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_past_the_limit_with_retry_after() {
        let backlog = Backlog::new(Some(100), Duration::from_millis(1500));
        backlog.added(100);
        assert!(backlog.admit(0).is_ok());
        let refused = backlog.admit(1).unwrap_err();
        assert_eq!(refused.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(
            refused
                .headers
                .iter()
                .find(|(name, _)| name == header::RETRY_AFTER)
                .map(|(_, value)| value.as_str()),
            Some("2")
        );
        backlog.processed(60, Instant::now());
        assert!(backlog.admit(50).is_ok());
        assert!(Backlog::new(None, Duration::ZERO).admit(u64::MAX).is_ok());
    }

    #[test]
    fn pass_rate_counts_the_last_minute() {
        let backlog = Backlog::new(None, Duration::ZERO);
        let start = Instant::now();
        backlog.processed(6000, start);
        backlog.processed(1200, start + Duration::from_secs(30));
        assert_eq!(backlog.pass_rate(start + Duration::from_secs(30)), 120.0);
        assert_eq!(backlog.pass_rate(start + Duration::from_secs(61)), 20.0);
        // Processing never counts below zero.
        assert_eq!(backlog.waiting(), 0);
    }
}
