//! The arithmetic of one metricd pass for one metric, without I/O: merge a
//! batch of measures into the bound series under the back window, compute
//! the aggregates that changed, and say which splits to write and delete
//! (docs/gnocchi-semantics.md#the-metricd-pass). `process` does the reading and
//! writing.

use super::aggregate::{Grouped, differences};
use super::points::Points;
use super::split::{SplitKey, split_points};
use crate::policy::{Aggregation, ArchivePolicy, BaseMethod};
use crate::time::{Span, Timestamp};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error("a measure at {0} is before the epoch (1970-01-01T00:00:00)")]
    BeforeEpoch(Timestamp),
}

/// What one aggregation's splits need after a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct SplitPlan {
    pub aggregation: Aggregation,
    /// Delete every stored split whose key is before this one.
    pub delete_before: Option<SplitKey>,
    /// New points per split, to merge into the stored split (new points win).
    pub writes: Vec<(SplitKey, Points)>,
}

/// Everything a batch changes for one metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Update {
    /// The bound series to store, truncated to the back window.
    pub bound: Points,
    pub splits: Vec<SplitPlan>,
    /// Measures of the batch older than the back window, dropped.
    pub dropped: Option<Dropped>,
}

/// Measures a batch lost to the back window: Gnocchi drops them without a
/// word; the pass reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dropped {
    pub measures: u64,
    /// The first timestamp the bound series accepted.
    pub accepts_from: Timestamp,
}

/// Sorts a batch by timestamp, ties by value with NaN last, and keeps the
/// first of each timestamp: among duplicates the smallest value wins
/// (numpy's structured sort, docs/gnocchi-semantics.md#merging-a-batch).
pub fn sort_measures(mut measures: Vec<(Timestamp, f64)>) -> Points {
    measures.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| match (a.1.is_nan(), b.1.is_nan()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                (false, false) => a.1.partial_cmp(&b.1).expect("neither is NaN"),
            })
    });
    let mut points = Points::with_capacity(measures.len());
    for (t, v) in measures {
        if points.last() != Some(t) {
            points.push(t, v);
        }
    }
    points
}

/// The first timestamp the bound series keeps: the block (largest
/// granularity) of its newest point, minus `back_window` blocks.
pub fn first_block_timestamp(last: Timestamp, block: Span, back_window: u64) -> Timestamp {
    let behind = block
        .checked_mul(i64::try_from(back_window).unwrap_or(i64::MAX))
        .unwrap_or(Span::from_nanos(i64::MAX));
    last.round_down(block) - behind
}

/// Applies one batch to a metric whose stored bound series is `stored`.
/// Returns `None` for an empty batch.
pub fn apply_batch(
    policy: &ArchivePolicy,
    stored: Option<Points>,
    measures: Vec<(Timestamp, f64)>,
) -> Result<Option<Update>, UpdateError> {
    let block = policy.max_block_size();
    let back_window = policy.effective_back_window();
    let fbt = |series: &Points| {
        series
            .last()
            .map(|last| first_block_timestamp(last, block, back_window))
    };

    let mut batch = sort_measures(measures);
    let Some(batch_first) = batch.first() else {
        return Ok(None);
    };
    let stored = stored.unwrap_or_default();
    let previous_fbt = fbt(&stored);
    let mut dropped = None;
    if let Some(previous_fbt) = previous_fbt {
        // Too late for the back window: dropped, like Gnocchi, but counted.
        let late = batch.position_of(previous_fbt);
        batch.drain_before(late);
        dropped = (late > 0).then_some(Dropped {
            measures: late as u64,
            accepts_from: previous_fbt,
        });
    }
    let merged = stored.merged_with(&batch);
    let merged_first = merged.first().expect("a non-empty stored series or batch");
    if merged_first < Timestamp::EPOCH {
        return Err(UpdateError::BeforeEpoch(merged_first));
    }
    let new_fbt = fbt(&merged).expect("merged series is not empty");
    // The batch minimum counts even when that point was dropped (corner case 9).
    let recompute_from = merged_first.max(batch_first);

    let splits = aggregate_kept(policy, &merged, recompute_from)
        .into_iter()
        .filter(|(_, points)| !points.is_empty())
        .map(|(aggregation, points)| plan_splits(aggregation, points, previous_fbt, new_fbt))
        .collect();

    let mut bound = merged;
    bound.drain_before(bound.position_of(new_fbt));
    Ok(Some(Update {
        bound,
        splits,
        dropped,
    }))
}

/// Every aggregation of the policy, finest granularity first, recomputed
/// from the bucket holding `from` on. Rate methods take the previous point
/// from the bucket before, when `series` holds one.
pub fn aggregate_policy(
    policy: &ArchivePolicy,
    series: &Points,
    from: Timestamp,
) -> Vec<(Aggregation, Points)> {
    let aggregations = policy.aggregations();
    let mut aggregated = Vec::with_capacity(aggregations.len());
    for (granularity, group) in by_granularity(policy, &aggregations) {
        aggregated.extend(aggregate_from(series, from, granularity, &group));
    }
    aggregated
}

/// The policy's aggregations by granularity, finest first.
fn by_granularity<'a>(
    policy: &ArchivePolicy,
    aggregations: &'a [Aggregation],
) -> Vec<(Span, Vec<&'a Aggregation>)> {
    policy
        .granularities_descending()
        .into_iter()
        .rev()
        .map(|granularity| {
            let group = aggregations
                .iter()
                .filter(|a| a.granularity == granularity)
                .collect();
            (granularity, group)
        })
        .collect()
}

/// [`aggregate_policy`] as the pass needs it: of a granularity with a
/// timespan, only the buckets [`truncate_to_timespan`] will keep. The
/// pass used to compute every bucket from `from` and drop most of them: a
/// batch of a day of 1 s points under `high` (1 s for an hour) computed
/// 24 times the 1 s aggregates it kept. What stays computed from `from`:
/// rate methods (a bucket's first difference needs the point before,
/// which may lie before the cut), percentiles (their last bits depend on
/// the bucket's position in the grouped input, as in Gnocchi) and any
/// aggregate whose newest bucket is older than the series' (`std` leaves
/// out a bucket of one point), which keeps older buckets.
fn aggregate_kept(
    policy: &ArchivePolicy,
    series: &Points,
    from: Timestamp,
) -> Vec<(Aggregation, Points)> {
    let Some(last) = series.last() else {
        return aggregate_policy(policy, series, from);
    };
    let aggregations = policy.aggregations();
    let mut aggregated = Vec::with_capacity(aggregations.len());
    for (granularity, group) in by_granularity(policy, &aggregations) {
        let timespan = group.first().and_then(|a| a.timespan);
        // The bucket at or before the first one the truncation keeps.
        let cut = timespan
            .filter(|_| group.iter().all(|a| a.timespan == timespan))
            .map(|timespan| (last.round_down(granularity) - timespan).round_down(granularity))
            .filter(|&cut| cut > from.round_down(granularity));
        let (Some(cut), Some(timespan)) = (cut, timespan) else {
            aggregated.extend(aggregate_from(series, from, granularity, &group));
            continue;
        };
        let same_from_any_start =
            |a: &Aggregation| !a.method.rate && !matches!(a.method.base, BaseMethod::Percentile(_));
        let plain: Vec<&Aggregation> = group
            .iter()
            .copied()
            .filter(|a| same_from_any_start(a))
            .collect();
        let mut from_cut = aggregate_from(series, cut, granularity, &plain).into_iter();
        for aggregation in group {
            let kept = if !same_from_any_start(aggregation) {
                None
            } else {
                from_cut.next().map(|(_, points)| points).filter(|points| {
                    points
                        .last()
                        .is_some_and(|newest| newest - timespan >= cut - granularity)
                })
            };
            aggregated.push(match kept {
                Some(points) => (*aggregation, points),
                None => aggregate_from(series, from, granularity, &[aggregation])
                    .pop()
                    .expect("one aggregate for one aggregation"),
            });
        }
    }
    aggregated
}

/// Recomputes the buckets of one granularity from the one holding `from`.
fn aggregate_from(
    merged: &Points,
    from: Timestamp,
    granularity: Span,
    aggregations: &[&Aggregation],
) -> Vec<(Aggregation, Points)> {
    let start = from.round_down(granularity);
    let first = merged.position_of(start);
    let grouped = Grouped::by_granularity(
        &merged.timestamps[first..],
        &merged.values[first..],
        granularity,
    );
    // rate: differences use the previous point if it lies in the bucket before.
    let derived = if aggregations.iter().any(|a| a.method.rate) {
        let window_start = merged.position_of(start - granularity);
        let window = merged.slice(
            Some(
                merged
                    .timestamps
                    .get(window_start)
                    .copied()
                    .unwrap_or(start),
            ),
            None,
        );
        let mut diff = differences(&window);
        diff.drain_before(diff.position_of(start));
        Some(diff)
    } else {
        None
    };
    let derived_grouped = derived
        .as_ref()
        .map(|d| Grouped::by_granularity(&d.timestamps, &d.values, granularity));
    aggregations
        .iter()
        .map(|aggregation| {
            let source = if aggregation.method.rate {
                derived_grouped
                    .as_ref()
                    .expect("derived series computed for rate methods")
            } else {
                &grouped
            };
            (**aggregation, source.aggregate(aggregation.method.base))
        })
        .collect()
}

/// Keeps the points of an aggregate that are within `timespan` of its
/// newest point, as the pass writes them, and returns the timestamp the
/// timespan starts after (points at or before it are dropped). `points`
/// must not be empty.
pub fn truncate_to_timespan(points: &mut Points, timespan: Span) -> Timestamp {
    let oldest = points.last().expect("points are not empty") - timespan;
    points.drain_before(points.position_after(oldest));
    oldest
}

/// Gnocchi's `_compute_split_operations` for a write-full driver.
fn plan_splits(
    aggregation: Aggregation,
    mut points: Points,
    previous_fbt: Option<Timestamp>,
    new_fbt: Timestamp,
) -> SplitPlan {
    let granularity = aggregation.granularity;
    let oldest_key = match aggregation.timespan {
        Some(timespan) => SplitKey::of(truncate_to_timespan(&mut points, timespan), granularity),
        None => SplitKey::of(points.first().expect("points are not empty"), granularity),
    };
    // Old splits are only looked at when the first block moved to another
    // split; numpy treats an epoch timestamp as false
    // (docs/gnocchi-semantics.md#splits).
    let delete_before = match previous_fbt {
        Some(previous)
            if previous != Timestamp::EPOCH
                && aggregation.timespan.is_some()
                && SplitKey::of(previous, granularity) != SplitKey::of(new_fbt, granularity) =>
        {
            Some(oldest_key)
        }
        _ => None,
    };
    let writes = split_points(&points, granularity)
        .into_iter()
        .filter(|(key, _)| *key >= oldest_key)
        .collect();
    SplitPlan {
        aggregation,
        delete_before,
        writes,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::policy::{AggregationMethod, Definition};

    pub(crate) const S: i64 = 1_000_000_000;
    const NOON: i64 = 1_388_577_600; // 2014-01-01T12:00:00

    pub(crate) fn at(seconds_after_noon: f64) -> Timestamp {
        Timestamp::from_nanos(NOON * S + (seconds_after_noon * 1e9) as i64)
    }

    pub(crate) fn policy(
        items: &[(i64, Option<i64>)],
        back_window: u64,
        methods: &[&str],
    ) -> ArchivePolicy {
        let definition = items
            .iter()
            .map(|&(g, points)| Definition::new(Some(Span::from_secs(g)), points, None).unwrap())
            .collect();
        let methods = methods
            .iter()
            .map(|m| m.parse::<AggregationMethod>().unwrap())
            .collect();
        ArchivePolicy::new("test", back_window, definition, methods).unwrap()
    }

    /// Runs batches through a tiny in-memory store of splits and returns
    /// (method, granularity seconds) → points.
    struct MemoryMetric {
        policy: ArchivePolicy,
        bound: Option<Points>,
        splits: std::collections::BTreeMap<(String, i64, SplitKey), Points>,
    }

    impl MemoryMetric {
        fn new(policy: ArchivePolicy) -> Self {
            MemoryMetric {
                policy,
                bound: None,
                splits: Default::default(),
            }
        }

        fn add(&mut self, measures: &[(f64, f64)]) {
            let measures = measures.iter().map(|&(t, v)| (at(t), v)).collect();
            let update = apply_batch(&self.policy, self.bound.take(), measures)
                .unwrap()
                .unwrap();
            for plan in update.splits {
                let id = (
                    plan.aggregation.method.to_string(),
                    plan.aggregation.granularity.nanos(),
                );
                if let Some(before) = plan.delete_before {
                    self.splits
                        .retain(|(m, g, k), _| (m.clone(), *g) != id || *k >= before);
                }
                for (key, points) in plan.writes {
                    let slot = self.splits.entry((id.0.clone(), id.1, key)).or_default();
                    *slot = slot.merged_with(&points);
                }
            }
            self.bound = Some(update.bound);
        }

        fn values(&self, method: &str, granularity: i64) -> Vec<(f64, f64)> {
            self.splits
                .iter()
                .filter(|((m, g, _), _)| m == method && *g == granularity * S)
                .flat_map(|(_, p)| p.iter().collect::<Vec<_>>())
                .map(|(t, v)| ((t.nanos() - NOON * S) as f64 / 1e9, v))
                .collect()
        }
    }

    #[test]
    fn duplicates_keep_the_smallest_value_then_newer_batches_win() {
        let mut metric = MemoryMetric::new(policy(&[(60, None)], 0, &["mean", "first"]));
        metric.add(&[(0.0, 5.0), (0.0, 3.0), (0.0, 9.0), (10.0, 7.0), (70.0, 8.0)]);
        assert_eq!(metric.values("mean", 60), [(0.0, 5.0), (60.0, 8.0)]);
        assert_eq!(metric.values("first", 60)[0], (0.0, 3.0));
        // 12:00:10 is before the first block (12:01) and dropped; 12:01:10 replaced.
        metric.add(&[(10.0, 100.0), (70.0, 1.0)]);
        assert_eq!(metric.values("mean", 60), [(0.0, 5.0), (60.0, 1.0)]);
    }

    #[test]
    fn back_window_counts_blocks_of_the_largest_granularity() {
        // The example of docs/gnocchi-semantics.md#the-back-window.
        for (back_window, want) in [
            (0, vec![(7200.0, 8.0)]),
            (2, vec![(0.0, 9.0), (3600.0, 5.0), (7200.0, 8.0)]),
        ] {
            let mut metric = MemoryMetric::new(policy(
                &[(3600, Some(100)), (60, Some(1000))],
                back_window,
                &["sum", "count"],
            ));
            metric.add(&[(2.0 * 3600.0 + 34.0 * 60.0, 1.0)]);
            metric.add(&[
                (3600.0 + 59.0 * 60.0, 5.0),
                (7200.0, 7.0),
                (0.0, 9.0),
                (-1.0, 11.0),
            ]);
            assert_eq!(
                metric.values("sum", 3600),
                want,
                "back window {back_window}"
            );
        }
    }

    #[test]
    fn measures_older_than_the_back_window_are_counted() {
        for (back_window, dropped, accepts_from) in [(0, 3, 7200.0), (2, 1, 0.0)] {
            let policy = policy(
                &[(3600, Some(100)), (60, Some(1000))],
                back_window,
                &["sum"],
            );
            let first = apply_batch(&policy, None, vec![(at(2.0 * 3600.0 + 34.0 * 60.0), 1.0)])
                .unwrap()
                .unwrap();
            assert_eq!(first.dropped, None, "nothing stored, nothing too old");
            let batch = [
                (3600.0 + 59.0 * 60.0, 5.0),
                (7200.0, 7.0),
                (0.0, 9.0),
                (-1.0, 11.0),
            ];
            let second = apply_batch(
                &policy,
                Some(first.bound),
                batch.iter().map(|&(t, v)| (at(t), v)).collect(),
            )
            .unwrap()
            .unwrap();
            assert_eq!(
                second.dropped,
                Some(Dropped {
                    measures: dropped,
                    accepts_from: at(accepts_from)
                }),
                "back window {back_window}"
            );
        }
    }

    #[test]
    fn rate_depends_on_batch_boundaries() {
        let rate_policy = || policy(&[(60, None)], 0, &["rate:mean"]);
        let mut two = MemoryMetric::new(rate_policy());
        two.add(&[(0.0, 10.0), (5.0, 20.0)]);
        two.add(&[(150.0, 50.0), (160.0, 55.0)]);
        assert_eq!(two.values("rate:mean", 60).last(), Some(&(120.0, 5.0)));
        let mut one = MemoryMetric::new(rate_policy());
        one.add(&[(0.0, 10.0), (5.0, 20.0), (150.0, 50.0), (160.0, 55.0)]);
        assert_eq!(one.values("rate:mean", 60).last(), Some(&(120.0, 17.5)));
    }

    #[test]
    fn rate_mean_reference_example() {
        let mut metric = MemoryMetric::new(policy(&[(60, None)], 0, &["rate:mean"]));
        metric.add(&[
            (0.0, 50.0),
            (4.0, 55.0),
            (62.0, 65.0),
            (74.0, 66.0),
            (84.0, 70.0),
            (124.0, 83.0),
            (155.0, 92.0),
            (162.0, 103.0),
            (182.0, 105.0),
            (202.0, 5.0),
            (222.0, 7.0),
            (249.0, 23.0),
        ]);
        assert_eq!(
            metric.values("rate:mean", 60),
            [
                (0.0, 5.0),
                (60.0, 5.0),
                (120.0, 11.0),
                (180.0, -32.0),
                (240.0, 16.0)
            ]
        );
    }

    #[test]
    fn bound_series_is_truncated_to_the_first_block() {
        let mut metric = MemoryMetric::new(policy(&[(60, None)], 0, &["mean"]));
        metric.add(&[(300.0, 1.0), (360.000002, 3.0)]);
        assert_eq!(metric.bound.as_ref().unwrap().timestamps, [at(360.000002)]);
        metric.add(&[(360.0, 5.0)]);
        assert_eq!(metric.values("mean", 60).last(), Some(&(360.0, 4.0)));
    }

    #[test]
    fn partial_granularities_are_recomputed_from_partial_data() {
        // docs/gnocchi-semantics.md#which-aggregates-are-recomputed: 3 s + 5 s policy.
        let mut metric = MemoryMetric::new(policy(&[(3, None), (5, None)], 0, &["mean", "count"]));
        metric.add(&[(4.0, 10.0), (5.0, 20.0)]);
        metric.add(&[(5.5, 30.0)]);
        assert_eq!(metric.values("mean", 3), [(3.0, 25.0)]);
        assert_eq!(metric.values("count", 3), [(3.0, 2.0)]);
    }

    #[test]
    fn timespan_drops_old_aggregates_and_splits() {
        // Policy "low" of the test-suite: 5 min × 12, 1 h × 24, 1 d × 30.
        let mut metric = MemoryMetric::new(policy(
            &[(300, Some(12)), (3600, Some(24)), (86_400, Some(30))],
            0,
            &["mean"],
        ));
        metric.add(&[(1.0, 69.0), (451.0, 42.0), (571.0, 4.0), (765.0, 44.0)]);
        assert_eq!(metric.values("mean", 86_400), [(-43_200.0, 39.75)]);
        assert_eq!(
            metric.values("mean", 300),
            [(0.0, 69.0), (300.0, 23.0), (600.0, 44.0)]
        );
        let year = 365.0 * 86_400.0;
        metric.add(&[(year + 1.0, 69.0)]);
        let keys: Vec<f64> = metric
            .splits
            .keys()
            .map(|(_, _, k)| k.start.as_secs_f64())
            .collect();
        assert_eq!(keys, [1_419_120_000.0, 1_412_640_000.0, 1_244_160_000.0]);
    }

    #[test]
    fn empty_batches_change_nothing() {
        let policy = policy(&[(60, None)], 0, &["mean"]);
        assert_eq!(apply_batch(&policy, None, vec![]).unwrap(), None);
    }

    /// The splits the pass plans from `aggregates`, NaN comparable.
    fn planned(aggregates: Vec<(Aggregation, Points)>, fbt: Timestamp) -> String {
        let plans: Vec<SplitPlan> = aggregates
            .into_iter()
            .filter(|(_, points)| !points.is_empty())
            .map(|(aggregation, points)| plan_splits(aggregation, points, Some(at(0.0)), fbt))
            .collect();
        format!("{plans:?}")
    }

    proptest::proptest! {
        /// Leaving out the buckets the timespan drops plans the same
        /// splits as computing them all: lone points (std), rates, NaN,
        /// timespans shorter and longer than the series.
        #[test]
        fn the_kept_buckets_plan_what_all_buckets_plan(
            series in proptest::collection::btree_map(
                0u32..4000,
                proptest::prop_oneof![proptest::strategy::Just(f64::NAN), -5.0f64..5.0],
                1..300,
            ),
            from_index in 0usize..300,
            fine_points in 1i64..40,
            coarse_points in 1i64..10,
        ) {
            let policy = policy(
                &[(1, Some(fine_points)), (60, Some(coarse_points)), (300, None)],
                0,
                &["mean", "std", "count", "last", "median", "90pct", "rate:mean", "rate:std"],
            );
            let series: Points = series.iter().map(|(&t, &v)| (at(f64::from(t)), v)).collect();
            let from = series.timestamps[from_index % series.len()];
            let fbt = at(0.0);
            proptest::prop_assert_eq!(
                planned(aggregate_kept(&policy, &series, from), fbt),
                planned(aggregate_policy(&policy, &series, from), fbt)
            );
        }
    }
}
