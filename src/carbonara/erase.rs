//! Deleting the points of a time range from a metric's archive (`measures
//! delete`), without I/O: which ranges may be deleted, and what a deletion
//! leaves of a stored series. ops/erase.rs reads and writes the archive.

use super::points::Points;
use super::split::SplitKey;
use crate::time::{Span, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RangeError {
    #[error("--stop {stop} must be after --start {start}")]
    StopNotAfterStart { start: Timestamp, stop: Timestamp },
    /// An aggregate at `p` covers `[p, p + granularity)`: a bound inside
    /// it would leave an aggregate of measures partly deleted.
    #[error(
        "--{bound} {at} is not aligned to granularity {granularity}: the nearest aligned {bound} is {before} or {after}"
    )]
    Misaligned {
        bound: &'static str,
        at: Timestamp,
        granularity: Span,
        before: Timestamp,
        after: Timestamp,
    },
    /// Gnocchi's metricd fails on a bound series without points (it reads
    /// its last timestamp), and one without a file would be taken for a
    /// metric never processed.
    #[error(
        "the range holds every raw point of the bound series (from {first} to {last}); a metric keeps at least one: delete a smaller range or add a measure after it first"
    )]
    EmptiesBoundSeries { first: Timestamp, last: Timestamp },
}

/// A range `[start, stop)` checked against the granularities it applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EraseRange {
    pub start: Timestamp,
    pub stop: Timestamp,
}

impl EraseRange {
    /// `start` and `stop` must be multiples of each of `granularities`
    /// (rounded as Gnocchi rounds timestamps into buckets), `stop` after
    /// `start`.
    pub fn new(
        start: Timestamp,
        stop: Timestamp,
        granularities: &[Span],
    ) -> Result<EraseRange, RangeError> {
        if stop <= start {
            return Err(RangeError::StopNotAfterStart { start, stop });
        }
        for &granularity in granularities {
            for (bound, at) in [("start", start), ("stop", stop)] {
                let before = at.round_down(granularity);
                if before != at {
                    return Err(RangeError::Misaligned {
                        bound,
                        at,
                        granularity,
                        before,
                        after: before + granularity,
                    });
                }
            }
        }
        Ok(EraseRange { start, stop })
    }

    /// Whether the split may hold points of the range.
    pub fn overlaps(self, key: SplitKey) -> bool {
        key.overlaps(self.start, self.stop)
    }

    /// Removes the range's points from a stored series: how many there
    /// were, and what is left to store.
    pub fn erase(self, mut points: Points) -> (usize, Left) {
        let removed = points.remove_range(self.start, self.stop);
        let left = match (removed, points.is_empty()) {
            (0, _) => Left::Unchanged,
            (_, true) => Left::Empty,
            (_, false) => Left::Points(points),
        };
        (removed, left)
    }

    /// [`EraseRange::erase`] for the bound series, which must keep a point.
    pub fn erase_bound(self, points: Points) -> Result<(usize, Left), RangeError> {
        let (first, last) = (points.first(), points.last());
        match self.erase(points) {
            (_, Left::Empty) => Err(RangeError::EmptiesBoundSeries {
                first: first.expect("an emptied series had points"),
                last: last.expect("an emptied series had points"),
            }),
            erased => Ok(erased),
        }
    }
}

/// What a deletion leaves of a stored series.
#[derive(Debug, Clone, PartialEq)]
pub enum Left {
    /// No point was in the range: nothing to write.
    Unchanged,
    /// Every point was: a split is deleted, as Gnocchi deletes splits.
    Empty,
    /// The points to write back.
    Points(Points),
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;
    const NOON: i64 = 1_388_577_600; // 2014-01-01T12:00:00

    fn at(seconds_after_noon: i64) -> Timestamp {
        Timestamp::from_nanos((NOON + seconds_after_noon) * S)
    }

    fn series(seconds: &[i64]) -> Points {
        seconds.iter().map(|&s| (at(s), s as f64)).collect()
    }

    #[test]
    fn bounds_must_be_aligned_to_every_granularity() {
        let minute_and_5 = [Span::from_secs(60), Span::from_secs(300)];
        assert!(EraseRange::new(at(0), at(600), &minute_and_5).is_ok());
        assert_eq!(
            EraseRange::new(at(0), at(660), &minute_and_5),
            Err(RangeError::Misaligned {
                bound: "stop",
                at: at(660),
                granularity: Span::from_secs(300),
                before: at(600),
                after: at(900),
            })
        );
        let error = EraseRange::new(at(30), at(600), &minute_and_5).unwrap_err();
        assert_eq!(
            error.to_string(),
            "--start 2014-01-01T12:00:30+00:00 is not aligned to granularity 60.0: \
             the nearest aligned start is 2014-01-01T12:00:00+00:00 or 2014-01-01T12:01:00+00:00"
        );
        // Only the granularities named count.
        assert!(EraseRange::new(at(60), at(120), &[Span::from_secs(60)]).is_ok());
    }

    #[test]
    fn stop_must_be_after_start() {
        for stop in [at(0), at(-60)] {
            assert_eq!(
                EraseRange::new(at(0), stop, &[Span::from_secs(60)]),
                Err(RangeError::StopNotAfterStart { start: at(0), stop })
            );
        }
    }

    #[test]
    fn erasing_says_what_is_left() {
        let range = EraseRange::new(at(60), at(180), &[Span::from_secs(60)]).unwrap();
        assert_eq!(
            range.erase(series(&[0, 60, 120, 180])),
            (2, Left::Points(series(&[0, 180])))
        );
        assert_eq!(range.erase(series(&[0, 180])), (0, Left::Unchanged));
        assert_eq!(range.erase(series(&[60, 120])), (2, Left::Empty));
        assert_eq!(range.erase(Points::default()), (0, Left::Unchanged));
    }

    #[test]
    fn the_bound_series_keeps_a_point() {
        let range = EraseRange::new(at(60), at(180), &[Span::from_secs(60)]).unwrap();
        assert_eq!(
            range.erase_bound(series(&[61, 179])),
            Err(RangeError::EmptiesBoundSeries {
                first: at(61),
                last: at(179)
            })
        );
        assert_eq!(
            range.erase_bound(series(&[61, 180])),
            Ok((1, Left::Points(series(&[180]))))
        );
    }

    #[test]
    fn splits_are_picked_by_overlap() {
        let g = Span::from_secs(1);
        let range = EraseRange::new(at(0), at(60), &[g]).unwrap();
        let key = SplitKey::of(at(0), g);
        // Noon starts a one-second split of an hour.
        assert_eq!(key.start, at(0));
        assert!(range.overlaps(key));
        assert!(!range.overlaps(key.next()));
    }
}
