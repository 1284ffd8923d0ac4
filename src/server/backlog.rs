//! Back-pressure (`serve --max-backlog`, Gnocchi #836): the count of
//! measures waiting that this server keeps, so that a write is checked
//! without listing the sacks. It only counts and refuses: the listings
//! that correct the count run elsewhere (`App::recount_backlog`).
//!
//! The count goes up by what this server's writes store and down by what
//! its background passes and `refresh=true` reads take; the measures other
//! processes write or process are seen at the next listing: every
//! [`RECOUNT_INTERVAL`] and with each `GET /v1/status`, unless one of this
//! server's passes ran meanwhile (docs/guide.md, "Back-pressure").

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::http::{StatusCode, header};

use super::error::ApiError;
use crate::store::incoming::BacklogReport;

/// How often the count is taken again from the store, whatever the passes do.
pub const RECOUNT_INTERVAL: Duration = Duration::from_secs(10);

pub struct Backlog {
    /// Measures waiting beyond which writes are refused; none: never.
    limit: Option<u64>,
    /// What `Retry-After` says: the time until the next pass.
    retry_after: Duration,
    waiting: AtomicU64,
    /// Odd while a background pass runs: bumped when one starts and when it
    /// ends, so that a listing that overlapped a pass, which may have seen
    /// some of its measures gone and not others, is not taken.
    pass_epoch: AtomicU64,
}

impl Backlog {
    pub fn new(limit: Option<u64>, retry_after: Duration) -> Backlog {
        Backlog {
            limit,
            retry_after,
            waiting: AtomicU64::new(0),
            pass_epoch: AtomicU64::new(0),
        }
    }

    pub fn limit(&self) -> Option<u64> {
        self.limit
    }

    /// The measures waiting, as far as this server knows.
    pub fn waiting(&self) -> u64 {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Takes the count `list` finds in the sacks, unless a pass of this
    /// server ran meanwhile (the next listing will do); its listing.
    pub fn recount<E>(
        &self,
        list: impl FnOnce() -> Result<BacklogReport, E>,
    ) -> Result<BacklogReport, E> {
        let before = self.pass_epoch.load(Ordering::SeqCst);
        let listed = list()?;
        if before.is_multiple_of(2) && self.pass_epoch.load(Ordering::SeqCst) == before {
            self.waiting.store(listed.measures, Ordering::SeqCst);
        }
        Ok(listed)
    }

    /// A background pass starts.
    pub fn pass_started(&self) {
        self.pass_epoch.fetch_add(1, Ordering::SeqCst);
    }

    /// Measures this server stored.
    pub fn added(&self, measures: u64) {
        self.waiting.fetch_add(measures, Ordering::Relaxed);
    }

    /// A background pass that took `measures` from the sacks ended.
    pub fn pass_ended(&self, measures: u64) {
        let _ = self
            .waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |w| {
                Some(w.saturating_sub(measures))
            });
        self.pass_epoch.fetch_add(1, Ordering::SeqCst);
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
        backlog.pass_started();
        backlog.pass_ended(60);
        assert!(backlog.admit(50).is_ok());
        assert!(Backlog::new(None, Duration::ZERO).admit(u64::MAX).is_ok());
    }

    fn waiting(measures: u64) -> BacklogReport {
        BacklogReport {
            measures,
            ..BacklogReport::default()
        }
    }

    #[test]
    fn a_listing_that_overlaps_a_pass_is_not_taken() {
        let backlog = Backlog::new(Some(10), Duration::ZERO);
        backlog.recount(|| Ok::<_, ()>(waiting(8))).unwrap();
        assert_eq!(backlog.waiting(), 8);
        backlog.pass_started();
        backlog.recount(|| Ok::<_, ()>(waiting(3))).unwrap();
        assert_eq!(backlog.waiting(), 8);
        backlog
            .recount(|| {
                backlog.pass_ended(5);
                Ok::<_, ()>(waiting(0))
            })
            .unwrap();
        assert_eq!(backlog.waiting(), 3);
        backlog.recount(|| Ok::<_, ()>(waiting(1))).unwrap();
        assert_eq!(backlog.waiting(), 1);
    }

    #[test]
    fn processing_never_counts_below_zero() {
        let backlog = Backlog::new(None, Duration::ZERO);
        backlog.added(1200);
        backlog.pass_ended(6000);
        assert_eq!(backlog.waiting(), 0);
    }
}
