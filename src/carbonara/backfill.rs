//! Backfill without I/O: the aggregates of measures older than the back
//! window, computed as the pass computes a batch (`update::aggregate_policy`),
//! and their merge into the stored splits. A period — (aggregation method,
//! granularity, period start) — that holds no aggregate is filled; one that
//! holds one is refused, or recomputed from the backfilled measures alone
//! when replacing. The bound series is not touched. `ops::backfill` reads
//! and writes.

use std::collections::{BTreeMap, BTreeSet};

use super::points::Points;
use super::split::{SplitKey, split_points};
use super::update::{UpdateError, aggregate_policy, sort_measures};
use crate::policy::{Aggregation, ArchivePolicy};
use crate::time::{Span, Timestamp};

/// Backfilled measures and their aggregates, before they meet the archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Backfill {
    /// The measures, sorted, duplicates resolved as in one batch.
    pub measures: Points,
    /// Per aggregation, its buckets' aggregates in time order.
    pub aggregates: Vec<(Aggregation, Points)>,
}

/// What one aggregation holds where the backfill lands.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoredAggregation {
    /// The aggregation's newest stored point: its timespan counts back from
    /// there, as queries truncate.
    pub newest: Option<Timestamp>,
    /// The stored split of each key [`Backfill::split_keys`] named for this
    /// aggregation, in that order (empty where there is none).
    pub splits: Vec<Points>,
}

/// The refused periods of one granularity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Refused {
    /// Periods, every method counted.
    pub periods: u64,
    /// Backfilled measures in those periods, each counted once.
    pub measures: u64,
}

/// What a backfill did, in periods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub filled: u64,
    pub replaced: u64,
    /// Periods older than their aggregation's timespan: not stored.
    pub beyond_timespan: u64,
    /// Periods that already held an aggregate, by granularity.
    pub refused: BTreeMap<Span, Refused>,
}

impl Summary {
    pub fn refused_periods(&self) -> u64 {
        self.refused.values().map(|r| r.periods).sum()
    }

    /// Adds another metric's summary to this one.
    pub fn add(&mut self, other: &Summary) {
        self.filled += other.filled;
        self.replaced += other.replaced;
        self.beyond_timespan += other.beyond_timespan;
        for (granularity, refused) in &other.refused {
            let entry = self.refused.entry(*granularity).or_default();
            entry.periods += refused.periods;
            entry.measures += refused.measures;
        }
    }
}

/// The splits to write (each whole: the stored points with the new ones
/// merged in) and the summary.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Merged {
    pub writes: Vec<(Aggregation, SplitKey, Points)>,
    pub summary: Summary,
}

impl Backfill {
    /// Aggregates `measures` as the pass aggregates one batch reaching an
    /// empty metric: every bucket they touch, rate methods taking their
    /// previous point from the measures themselves.
    pub fn compute(
        policy: &ArchivePolicy,
        measures: Vec<(Timestamp, f64)>,
    ) -> Result<Backfill, UpdateError> {
        let measures = sort_measures(measures);
        let aggregates = match measures.first() {
            Some(first) if first < Timestamp::EPOCH => return Err(UpdateError::BeforeEpoch(first)),
            Some(first) => aggregate_policy(policy, &measures, first),
            None => Vec::new(),
        };
        Ok(Backfill {
            measures,
            aggregates,
        })
    }

    /// The split keys each aggregation's aggregates fall in, in the order
    /// [`StoredAggregation::splits`] follows.
    pub fn split_keys(&self) -> Vec<(Aggregation, Vec<SplitKey>)> {
        self.aggregates
            .iter()
            .map(|(aggregation, points)| {
                let keys = split_points(points, aggregation.granularity)
                    .into_iter()
                    .map(|(key, _)| key)
                    .collect();
                (*aggregation, keys)
            })
            .collect()
    }

    /// Merges the aggregates into what is stored (`stored`: one per
    /// aggregation, in the order of `aggregates`).
    pub fn merge(&self, stored: &[StoredAggregation], replace: bool) -> Merged {
        let mut merged = Merged::default();
        let mut refused_starts: BTreeMap<Span, BTreeSet<Timestamp>> = BTreeMap::new();
        for ((aggregation, computed), stored) in self.aggregates.iter().zip(stored) {
            let granularity = aggregation.granularity;
            let mut kept = computed.clone();
            if let (Some(timespan), Some(last)) = (aggregation.timespan, computed.last()) {
                let newest = stored.newest.map_or(last, |newest| newest.max(last));
                // As the pass truncates: the points after `newest - timespan`.
                let start = computed.position_after(newest - timespan);
                merged.summary.beyond_timespan += start as u64;
                kept.drain_before(start);
            }
            let keys = split_points(computed, granularity)
                .into_iter()
                .map(|(key, _)| key);
            for (key, old) in keys.zip(&stored.splits) {
                let new = kept.slice(Some(key.start), Some(key.next().start));
                let mut written = Points::with_capacity(new.len());
                for (timestamp, value) in new.iter() {
                    let held = old.timestamps.binary_search(&timestamp).is_ok();
                    match (held, replace) {
                        (false, _) => merged.summary.filled += 1,
                        (true, true) => merged.summary.replaced += 1,
                        (true, false) => {
                            merged
                                .summary
                                .refused
                                .entry(granularity)
                                .or_default()
                                .periods += 1;
                            refused_starts
                                .entry(granularity)
                                .or_default()
                                .insert(timestamp);
                            continue;
                        }
                    }
                    written.push(timestamp, value);
                }
                if !written.is_empty() {
                    merged
                        .writes
                        .push((*aggregation, key, old.merged_with(&written)));
                }
            }
        }
        for (granularity, starts) in refused_starts {
            let measures = starts
                .iter()
                .map(|&start| {
                    let (first, end) = self.measures.range(Some(start), Some(start + granularity));
                    (end - first) as u64
                })
                .sum();
            merged
                .summary
                .refused
                .get_mut(&granularity)
                .expect("a refused period was counted")
                .measures = measures;
        }
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carbonara::update::apply_batch;
    use crate::carbonara::update::tests::{S, at};
    use crate::policy::AggregationMethod;

    /// A policy with back window 0.
    fn policy(items: &[(i64, Option<i64>)], methods: &[&str]) -> ArchivePolicy {
        crate::carbonara::update::tests::policy(items, 0, methods)
    }

    fn measures(points: &[(f64, f64)]) -> Vec<(Timestamp, f64)> {
        points.iter().map(|&(t, v)| (at(t), v)).collect()
    }

    /// Nothing stored for any aggregation.
    fn empty(backfill: &Backfill) -> Vec<StoredAggregation> {
        backfill
            .split_keys()
            .iter()
            .map(|(_, keys)| StoredAggregation {
                newest: None,
                splits: vec![Points::default(); keys.len()],
            })
            .collect()
    }

    fn find<'a>(merged: &'a Merged, method: &str, granularity: i64) -> &'a Points {
        let method: AggregationMethod = method.parse().unwrap();
        &merged
            .writes
            .iter()
            .find(|(a, _, _)| a.method == method && a.granularity == Span::from_secs(granularity))
            .expect("a split of that aggregation")
            .2
    }

    #[test]
    fn an_empty_archive_gets_what_one_pass_would_write() {
        let policy = policy(
            &[(60, Some(100)), (300, Some(100))],
            &["mean", "rate:mean", "90pct", "std"],
        );
        let history = measures(&[
            (0.0, 3.0),
            (7.0, 2.5),
            (61.0, 9.0),
            (62.0, 1.0),
            (299.0, 4.0),
            (301.0, 8.0),
            (301.0, -2.0),
            (900.0, 5.0),
        ]);
        let pass = apply_batch(&policy, None, history.clone())
            .unwrap()
            .unwrap();
        let backfill = Backfill::compute(&policy, history).unwrap();
        let merged = backfill.merge(&empty(&backfill), false);
        let mut want: Vec<_> = pass
            .splits
            .into_iter()
            .flat_map(|plan| {
                let aggregation = plan.aggregation;
                plan.writes
                    .into_iter()
                    .map(move |(k, p)| (aggregation, k, p))
            })
            .collect();
        let mut got = merged.writes.clone();
        let order =
            |w: &(Aggregation, SplitKey, Points)| (w.0.method.to_string(), w.0.granularity, w.1);
        want.sort_by_key(order);
        got.sort_by_key(order);
        assert_eq!(got.len(), want.len());
        for (got, want) in got.iter().zip(&want) {
            assert!(
                got.2.bitwise_eq(&want.2),
                "{:?}: {:?} != {:?}",
                got.0,
                got.2,
                want.2
            );
        }
        let periods: usize = want.iter().map(|w| w.2.len()).sum();
        assert_eq!(merged.summary.filled, periods as u64);
        assert_eq!(merged.summary.refused_periods(), 0);
    }

    #[test]
    fn duplicates_keep_the_smallest_value_and_rate_uses_the_previous_measure() {
        let policy = policy(&[(60, None)], &["mean", "rate:last"]);
        let backfill =
            Backfill::compute(&policy, measures(&[(0.0, 5.0), (0.0, 3.0), (70.0, 10.0)])).unwrap();
        let merged = backfill.merge(&empty(&backfill), false);
        assert_eq!(find(&merged, "mean", 60).values, [3.0, 10.0]);
        assert_eq!(
            find(&merged, "rate:last", 60).iter().collect::<Vec<_>>(),
            [(at(60.0), 7.0)]
        );
    }

    #[test]
    fn periods_holding_aggregates_are_refused_unless_replaced() {
        let policy = policy(&[(60, None)], &["sum"]);
        let backfill = Backfill::compute(
            &policy,
            measures(&[
                (0.0, 1.0),
                (10.0, 2.0),
                (60.0, 4.0),
                (70.0, 8.0),
                (130.0, 16.0),
            ]),
        )
        .unwrap();
        let mut held = Points::default();
        held.push(at(60.0), 100.0);
        held.push(at(600.0), 7.0);
        let stored = [StoredAggregation {
            newest: Some(at(600.0)),
            splits: vec![held],
        }];

        let kept = backfill.merge(&stored, false);
        assert_eq!(
            find(&kept, "sum", 60).iter().collect::<Vec<_>>(),
            [
                (at(0.0), 3.0),
                (at(60.0), 100.0),
                (at(120.0), 16.0),
                (at(600.0), 7.0)
            ]
        );
        let minute = Span::from_secs(60);
        assert_eq!(
            (
                kept.summary.filled,
                kept.summary.replaced,
                kept.summary.refused[&minute]
            ),
            (
                2,
                0,
                Refused {
                    periods: 1,
                    measures: 2
                }
            )
        );

        let replaced = backfill.merge(&stored, true);
        assert_eq!(find(&replaced, "sum", 60).values, [3.0, 12.0, 16.0, 7.0]);
        assert_eq!((replaced.summary.filled, replaced.summary.replaced), (2, 1));
        assert!(replaced.summary.refused.is_empty());
    }

    #[test]
    fn periods_beyond_the_timespan_are_counted_not_stored() {
        // 60 s × 5 points: the timespan reaches back 5 min from the newest point.
        let policy = policy(&[(60, Some(5))], &["max"]);
        let backfill =
            Backfill::compute(&policy, measures(&[(0.0, 1.0), (60.0, 2.0), (400.0, 3.0)])).unwrap();
        let stored = [StoredAggregation {
            newest: Some(at(600.0)),
            splits: vec![Points::default()],
        }];
        let merged = backfill.merge(&stored, false);
        assert_eq!(
            find(&merged, "max", 60).iter().collect::<Vec<_>>(),
            [(at(360.0), 3.0)]
        );
        assert_eq!(
            (merged.summary.filled, merged.summary.beyond_timespan),
            (1, 2)
        );
    }

    #[test]
    fn measures_before_the_epoch_are_refused() {
        let policy = policy(&[(60, None)], &["mean"]);
        let before = Timestamp::from_nanos(-S);
        assert_eq!(
            Backfill::compute(&policy, vec![(before, 1.0)]),
            Err(UpdateError::BeforeEpoch(before))
        );
    }
}
