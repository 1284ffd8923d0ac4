//! Moving a metric to another archive policy, without I/O: for each
//! (method, granularity) of the new policy, whether the old archive keeps
//! it, a finer (or the same) granularity derives it and how exactly, or it
//! starts empty; then everything cut to the new timespans and back window
//! (docs/guide.md#moving-a-metric-to-another-archive-policy). `ops::metric`
//! reads the old archive and writes the new one.
//!
//! "Exact" means equal to the bit to what the pass computes when the metric
//! receives the same measures under the new policy in one batch (the pass's
//! own `rate:` and percentile results depend on how measures were batched).

use std::collections::HashMap;

use super::aggregate::Grouped;
use super::points::Points;
use super::update::{first_block_timestamp, truncate_to_timespan};
use crate::policy::{Aggregation, AggregationMethod, ArchivePolicy, BaseMethod};
use crate::time::Span;

/// The old archive: each stored (method, granularity) read whole.
pub type Stored = HashMap<(AggregationMethod, Span), Points>;

/// Where one aggregation of the new policy comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The same method and granularity of the old policy.
    Kept,
    /// Computed from these methods of the old policy at `granularity`,
    /// which divides the new one.
    Derived {
        granularity: Span,
        methods: Vec<AggregationMethod>,
    },
    /// Nothing to compute it from: it starts empty.
    Nothing,
}

/// How close a kept or derived aggregation is to what the pass computes,
/// best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exactness {
    /// Equal to the bit.
    Exact,
    /// Equal in exact arithmetic, but sums are added in another order:
    /// the last bits may differ (never for integer values below 2^53).
    Rounding,
    /// An estimate; the plan's warning says which.
    Approximate,
    /// No points.
    Empty,
}

impl Exactness {
    pub fn as_str(self) -> &'static str {
        match self {
            Exactness::Exact => "exact",
            Exactness::Rounding => "rounding",
            Exactness::Approximate => "approximate",
            Exactness::Empty => "empty",
        }
    }
}

/// One aggregation of the new policy as the move leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct Moved {
    pub aggregation: Aggregation,
    pub source: Source,
    pub exactness: Exactness,
    /// Cut to the new timespan.
    pub points: Points,
    pub warning: Option<String>,
}

/// The whole new archive.
#[derive(Debug, Clone, PartialEq)]
pub struct Move {
    pub aggregations: Vec<Moved>,
    /// The raw points the old back window kept, cut to the new one.
    pub bound: Option<Points>,
}

impl Move {
    /// The warnings of every aggregation, in the policy's order.
    pub fn warnings(&self) -> impl Iterator<Item = &str> {
        self.aggregations
            .iter()
            .filter_map(|moved| moved.warning.as_deref())
    }

    /// True when the old archive holds points and the new one would hold
    /// none: the move would discard the whole history.
    pub fn leaves_nothing(&self, stored: &Stored) -> bool {
        stored.values().any(|points| !points.is_empty())
            && self.aggregations.iter().all(|m| m.points.is_empty())
    }
}

/// Plans the archive of `new` from the archive of `old`.
pub fn move_archive(
    old: &ArchivePolicy,
    new: &ArchivePolicy,
    stored: &Stored,
    bound: Option<Points>,
) -> Move {
    let aggregations = new
        .aggregations()
        .into_iter()
        .map(|target| {
            let mut moved = match old.aggregation(target.method, target.granularity) {
                Some(kept) => Moved {
                    aggregation: target,
                    source: Source::Kept,
                    exactness: Exactness::Exact,
                    points: within_timespan(stored, kept),
                    warning: None,
                },
                None => derive(old, stored, target),
            };
            if let (Some(timespan), false) = (target.timespan, moved.points.is_empty()) {
                truncate_to_timespan(&mut moved.points, timespan);
            }
            if moved.points.is_empty() && moved.exactness < Exactness::Empty {
                moved.exactness = Exactness::Empty;
            }
            moved
        })
        .collect();
    let bound = bound.map(|mut bound| {
        if let Some(last) = bound.last() {
            let first =
                first_block_timestamp(last, new.max_block_size(), new.effective_back_window());
            bound.drain_before(bound.position_of(first));
        }
        bound
    });
    Move {
        aggregations,
        bound,
    }
}

/// A stored aggregation as Gnocchi shows it: within its timespan (older
/// points may linger in the oldest split).
fn within_timespan(stored: &Stored, aggregation: Aggregation) -> Points {
    let mut points = stored
        .get(&(aggregation.method, aggregation.granularity))
        .cloned()
        .unwrap_or_default();
    if let (Some(timespan), false) = (aggregation.timespan, points.is_empty()) {
        truncate_to_timespan(&mut points, timespan);
    }
    points
}

/// The best derivation of `target` from the old granularities that divide
/// it, the finest first among equally exact ones.
fn derive(old: &ArchivePolicy, stored: &Stored, target: Aggregation) -> Moved {
    let mut granularities: Vec<Span> = old
        .definition
        .iter()
        .map(|d| d.granularity)
        .filter(|g| target.granularity.nanos() % g.nanos() == 0)
        .collect();
    granularities.sort();
    granularities
        .into_iter()
        .filter_map(|granularity| derive_from(old, stored, target, granularity))
        .min_by_key(|moved| moved.exactness)
        .unwrap_or(Moved {
            aggregation: target,
            source: Source::Nothing,
            exactness: Exactness::Empty,
            points: Points::default(),
            warning: None,
        })
}

/// `target` computed from the old aggregations at `granularity`, if the
/// old policy has a method to compute it from.
fn derive_from(
    old: &ArchivePolicy,
    stored: &Stored,
    target: Aggregation,
    granularity: Span,
) -> Option<Moved> {
    let coarse = target.granularity;
    let same_kind = |base| AggregationMethod {
        rate: target.method.rate,
        base,
    };
    let has = |base| old.aggregation_methods.contains(&same_kind(base));
    let series = |base| fine_series(old, stored, same_kind(base), granularity, coarse);
    let regroup = |fine: &Points, base| {
        Grouped::by_granularity(&fine.timestamps, &fine.values, coarse).aggregate(base)
    };
    let derived = |methods: &[BaseMethod], exactness, points, warning| {
        Some(Moved {
            aggregation: target,
            source: Source::Derived {
                granularity,
                methods: methods.iter().map(|&base| same_kind(base)).collect(),
            },
            exactness,
            points,
            warning,
        })
    };
    let base = target.method.base;
    // Every method but std has a point in each occupied period.
    let occupancy = old
        .aggregation_methods
        .iter()
        .find(|m| m.rate == target.method.rate && m.base != BaseMethod::Std)
        .map(|m| series(m.base));
    let one_per_period = occupancy
        .as_ref()
        .is_some_and(|occupied| at_most_one_per_period(occupied, coarse));
    if has(base) && one_per_period {
        // Each coarse period aggregates the same raw points as its one finer period.
        return derived(
            &[base],
            Exactness::Exact,
            regroup(&series(base), BaseMethod::First),
            None,
        );
    }
    let rounding = if one_per_period {
        Exactness::Exact
    } else {
        Exactness::Rounding
    };
    match base {
        BaseMethod::Min | BaseMethod::Max | BaseMethod::First | BaseMethod::Last if has(base) => {
            derived(
                &[base],
                Exactness::Exact,
                regroup(&series(base), base),
                None,
            )
        }
        // Counts are integers: their sums are exact in any order.
        BaseMethod::Count if has(base) => derived(
            &[base],
            Exactness::Exact,
            regroup(&series(base), BaseMethod::Sum),
            None,
        ),
        BaseMethod::Sum if has(base) => derived(
            &[base],
            rounding,
            regroup(&series(base), BaseMethod::Sum),
            None,
        ),
        BaseMethod::Mean if has(BaseMethod::Sum) && has(BaseMethod::Count) => {
            let sums = regroup(&series(BaseMethod::Sum), BaseMethod::Sum);
            let counts = regroup(&series(BaseMethod::Count), BaseMethod::Sum);
            derived(
                &[BaseMethod::Sum, BaseMethod::Count],
                rounding,
                divided(sums, &counts),
                None,
            )
        }
        BaseMethod::Mean if has(BaseMethod::Mean) && has(BaseMethod::Count) => {
            let means = series(BaseMethod::Mean);
            let counts = series(BaseMethod::Count);
            let weighted = Points {
                timestamps: means.timestamps.clone(),
                values: means
                    .values
                    .iter()
                    .zip(&counts.values)
                    .map(|(mean, count)| mean * count)
                    .collect(),
            };
            derived(
                &[BaseMethod::Mean, BaseMethod::Count],
                Exactness::Rounding,
                divided(
                    regroup(&weighted, BaseMethod::Sum),
                    &regroup(&counts, BaseMethod::Sum),
                ),
                None,
            )
        }
        BaseMethod::Mean if has(BaseMethod::Mean) => derived(
            &[BaseMethod::Mean],
            Exactness::Approximate,
            regroup(&series(BaseMethod::Mean), BaseMethod::Mean),
            Some(format!(
                "{} at {coarse}s: approximate, the mean of the {granularity}s means, \
                 each weighted equally (the old policy stores no count)",
                target.method
            )),
        ),
        BaseMethod::Std | BaseMethod::Median | BaseMethod::Percentile(_) if has(base) => derived(
            &[base],
            Exactness::Empty,
            Points::default(),
            Some(format!(
                "{} at {coarse}s: starts empty, it cannot be derived exactly from \
                 {granularity}s where a {coarse}s period holds several {granularity}s periods",
                target.method
            )),
        ),
        _ => None,
    }
}

/// The old aggregation `method` at `granularity` as far as it is complete
/// for `coarse` periods: within its timespan, and without the first coarse
/// period when the timespan cut into it.
fn fine_series(
    old: &ArchivePolicy,
    stored: &Stored,
    method: AggregationMethod,
    granularity: Span,
    coarse: Span,
) -> Points {
    let Some(aggregation) = old.aggregation(method, granularity) else {
        return Points::default();
    };
    let mut points = stored
        .get(&(method, granularity))
        .cloned()
        .unwrap_or_default();
    if let (Some(timespan), false) = (aggregation.timespan, points.is_empty()) {
        let oldest = truncate_to_timespan(&mut points, timespan);
        if coarse != granularity {
            // A coarse period starting at or before `oldest` lost its first
            // finer periods to the timespan.
            points.drain_before(points.position_of(oldest.round_down(coarse) + coarse));
        }
    }
    points
}

fn at_most_one_per_period(occupied: &Points, coarse: Span) -> bool {
    occupied
        .timestamps
        .windows(2)
        .all(|w| w[0].round_down(coarse) != w[1].round_down(coarse))
}

/// Divides two series with the same timestamps, point by point.
fn divided(mut numerators: Points, denominators: &Points) -> Points {
    for (n, d) in numerators.values.iter_mut().zip(&denominators.values) {
        *n /= d;
    }
    numerators
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carbonara::update::apply_batch;
    use crate::policy::Definition;
    use crate::time::Timestamp;

    const S: i64 = 1_000_000_000;
    const NOON: i64 = 1_388_577_600; // 2014-01-01T12:00:00

    fn policy(name: &str, items: &[(i64, Option<i64>)], methods: &[&str]) -> ArchivePolicy {
        let definition = items
            .iter()
            .map(|&(g, points)| Definition::new(Some(Span::from_secs(g)), points, None).unwrap())
            .collect();
        let methods = methods.iter().map(|m| m.parse().unwrap()).collect();
        ArchivePolicy::new(name, 0, definition, methods).unwrap()
    }

    /// Measures every `step` seconds from noon, with values from `value`.
    fn measures(count: i64, step: i64, value: impl Fn(i64) -> f64) -> Vec<(Timestamp, f64)> {
        (0..count)
            .map(|i| (Timestamp::from_nanos((NOON + i * step) * S), value(i)))
            .collect()
    }

    /// The archive the pass makes of `measures` sent in one batch.
    fn pass(policy: &ArchivePolicy, measures: Vec<(Timestamp, f64)>) -> (Stored, Points) {
        let update = apply_batch(policy, None, measures).unwrap().unwrap();
        let mut stored = Stored::new();
        for plan in update.splits {
            let id = (plan.aggregation.method, plan.aggregation.granularity);
            for (_, points) in plan.writes {
                let series = stored.entry(id).or_default();
                *series = series.merged_with(&points);
            }
        }
        (stored, update.bound)
    }

    /// Moves an archive made under `old` to `new` and returns it with the
    /// archive the pass makes under `new` from the same measures.
    fn moved_and_direct(
        old: &ArchivePolicy,
        new: &ArchivePolicy,
        measures: Vec<(Timestamp, f64)>,
    ) -> (Move, Stored) {
        let (stored, bound) = pass(old, measures.clone());
        let (direct, _) = pass(new, measures);
        (move_archive(old, new, &stored, Some(bound)), direct)
    }

    fn find<'a>(moved: &'a Move, method: &str, granularity: i64) -> &'a Moved {
        let method: AggregationMethod = method.parse().unwrap();
        moved
            .aggregations
            .iter()
            .find(|m| {
                m.aggregation.method == method
                    && m.aggregation.granularity == Span::from_secs(granularity)
            })
            .unwrap()
    }

    fn direct<'a>(direct: &'a Stored, method: &str, granularity: i64) -> &'a Points {
        &direct[&(method.parse().unwrap(), Span::from_secs(granularity))]
    }

    /// Irregular non-integer values, some negative, with NaN-free sums
    /// that depend on their order.
    fn irregular(i: i64) -> f64 {
        ((i * 7919) % 113) as f64 / 10.0 - 3.3
    }

    #[test]
    fn min_max_first_last_count_and_their_rates_are_exact_to_the_bit() {
        let methods = [
            "min",
            "max",
            "first",
            "last",
            "count",
            "rate:min",
            "rate:max",
            "rate:first",
            "rate:last",
            "rate:count",
        ];
        let old = policy("old", &[(60, None)], &methods);
        let new = policy("new", &[(60, None), (300, None), (3600, None)], &methods);
        let (moved, direct_archive) = moved_and_direct(&old, &new, measures(500, 17, irregular));
        for method in methods {
            for granularity in [60, 300, 3600] {
                let got = find(&moved, method, granularity);
                assert_eq!(got.exactness, Exactness::Exact, "{method} {granularity}");
                assert!(
                    got.points
                        .bitwise_eq(direct(&direct_archive, method, granularity)),
                    "{method} at {granularity}s"
                );
            }
        }
        assert_eq!(find(&moved, "min", 60).source, Source::Kept);
        assert_eq!(
            find(&moved, "count", 300).source,
            Source::Derived {
                granularity: Span::from_secs(60),
                methods: vec!["count".parse().unwrap()]
            }
        );
        assert_eq!(moved.warnings().count(), 0);
    }

    #[test]
    fn sums_and_means_from_sum_and_count_are_exact_for_integers() {
        let methods = ["sum", "count", "rate:sum", "rate:count"];
        let old = policy("old", &[(60, None)], &methods);
        let new = policy(
            "new",
            &[(300, None)],
            &["sum", "mean", "rate:sum", "rate:mean", "count"],
        );
        let (moved, direct_archive) =
            moved_and_direct(&old, &new, measures(500, 17, |i| ((i * 37) % 101) as f64));
        for method in ["sum", "mean", "rate:sum", "rate:mean"] {
            let got = find(&moved, method, 300);
            assert_eq!(got.exactness, Exactness::Rounding, "{method}");
            assert!(
                got.points.bitwise_eq(direct(&direct_archive, method, 300)),
                "{method}"
            );
        }
        assert_eq!(
            find(&moved, "mean", 300).source,
            Source::Derived {
                granularity: Span::from_secs(60),
                methods: vec!["sum".parse().unwrap(), "count".parse().unwrap()]
            }
        );
    }

    #[test]
    fn sums_of_fractions_are_exact_up_to_rounding() {
        let old = policy("old", &[(60, None)], &["sum", "count", "mean"]);
        let new = policy("new", &[(3600, None)], &["sum", "mean"]);
        let (moved, direct_archive) = moved_and_direct(&old, &new, measures(500, 17, irregular));
        for method in ["sum", "mean"] {
            let got = &find(&moved, method, 3600).points;
            let want = direct(&direct_archive, method, 3600);
            assert_eq!(got.timestamps, want.timestamps);
            for (g, w) in got.values.iter().zip(&want.values) {
                assert!(
                    (g - w).abs() <= 1e-12 * w.abs().max(1.0),
                    "{method}: {g} vs {w}"
                );
            }
        }
    }

    #[test]
    fn mean_from_mean_and_count_is_weighted_by_the_counts() {
        let old = policy("old", &[(60, None)], &["mean", "count"]);
        let new = policy("new", &[(300, None)], &["mean"]);
        let (moved, direct_archive) =
            moved_and_direct(&old, &new, measures(500, 17, |i| ((i * 37) % 101) as f64));
        let got = find(&moved, "mean", 300);
        assert_eq!(got.exactness, Exactness::Rounding);
        assert_eq!(got.warning, None);
        let want = direct(&direct_archive, "mean", 300);
        for (g, w) in got.points.values.iter().zip(&want.values) {
            assert!((g - w).abs() <= 1e-12 * w.abs(), "{g} vs {w}");
        }
    }

    #[test]
    fn mean_without_count_weighs_each_finer_period_equally_and_warns() {
        let old = policy("old", &[(60, None)], &["mean"]);
        let new = policy("new", &[(120, None)], &["mean"]);
        // 12:00 holds 0 and 3 (mean 1.5), 12:01 holds 6: the true mean is 3.
        let at = |s: i64| Timestamp::from_nanos((NOON + s) * S);
        let (moved, _) =
            moved_and_direct(&old, &new, vec![(at(0), 0.0), (at(30), 3.0), (at(60), 6.0)]);
        let got = find(&moved, "mean", 120);
        assert_eq!(got.exactness, Exactness::Approximate);
        assert_eq!(got.points.values, [3.75]);
        assert_eq!(
            got.warning.as_deref(),
            Some(
                "mean at 120.0s: approximate, the mean of the 60.0s means, each weighted \
                 equally (the old policy stores no count)"
            )
        );
    }

    #[test]
    fn std_median_and_percentiles_are_exact_with_one_finer_period_per_period() {
        let methods = ["std", "median", "95pct", "rate:std", "count", "rate:count"];
        let old = policy("old", &[(60, None)], &methods);
        let new = policy("new", &[(300, None)], &methods[..4]);
        // Three measures in the first minute of every fifth minute.
        let sparse: Vec<(Timestamp, f64)> = (0..60)
            .map(|i| {
                let t = NOON + (i / 3) * 300 + (i % 3) * 20;
                (Timestamp::from_nanos(t * S), irregular(i))
            })
            .collect();
        let (moved, direct_archive) = moved_and_direct(&old, &new, sparse);
        for method in &methods[..4] {
            let got = find(&moved, method, 300);
            assert_eq!(got.exactness, Exactness::Exact, "{method}");
            assert!(
                got.points.bitwise_eq(direct(&direct_archive, method, 300)),
                "{method}"
            );
        }
    }

    #[test]
    fn std_median_and_percentiles_start_empty_when_periods_merge() {
        let old = policy("old", &[(60, None)], &["std", "median", "95pct", "count"]);
        let new = policy("new", &[(300, None)], &["std", "median", "95pct"]);
        let (moved, _) = moved_and_direct(&old, &new, measures(100, 17, irregular));
        for method in ["std", "median", "95pct"] {
            let got = find(&moved, method, 300);
            assert_eq!(got.exactness, Exactness::Empty, "{method}");
            assert!(got.points.is_empty());
            assert_eq!(
                got.warning.as_deref(),
                Some(
                    format!(
                        "{method} at 300.0s: starts empty, it cannot be derived exactly from \
                         60.0s where a 300.0s period holds several 60.0s periods"
                    )
                    .as_str()
                )
            );
        }
    }

    #[test]
    fn finer_granularities_and_methods_without_source_start_empty() {
        let old = policy("old", &[(300, None)], &["mean", "max"]);
        let new = policy("new", &[(60, None), (300, None)], &["max", "last"]);
        let (moved, _) = moved_and_direct(&old, &new, measures(100, 17, irregular));
        for (method, granularity) in [("max", 60), ("last", 60), ("last", 300)] {
            let got = find(&moved, method, granularity);
            assert_eq!(got.source, Source::Nothing, "{method} {granularity}");
            assert_eq!(got.exactness, Exactness::Empty);
            assert!(got.points.is_empty());
        }
        assert!(!moved.leaves_nothing(&pass(&old, measures(100, 17, irregular)).0));
    }

    #[test]
    fn a_policy_with_nothing_to_keep_leaves_nothing() {
        let old = policy("old", &[(300, None)], &["mean"]);
        let new = policy("new", &[(60, None)], &["max"]);
        let (stored, bound) = pass(&old, measures(100, 17, irregular));
        let moved = move_archive(&old, &new, &stored, Some(bound));
        assert!(moved.leaves_nothing(&stored));
        assert!(
            !moved.leaves_nothing(&Stored::new()),
            "no data, nothing lost"
        );
    }

    #[test]
    fn everything_is_cut_to_the_new_timespans() {
        let old = policy("old", &[(60, None)], &["max", "count"]);
        // 10 points of 60 s, 2 of 300 s.
        let new = policy("new", &[(60, Some(10)), (300, Some(2))], &["max", "count"]);
        let (moved, direct_archive) = moved_and_direct(&old, &new, measures(500, 17, irregular));
        for (method, granularity, kept) in [("max", 60, 10), ("count", 300, 2)] {
            let got = &find(&moved, method, granularity).points;
            assert_eq!(got.len(), kept);
            assert!(got.bitwise_eq(direct(&direct_archive, method, granularity)));
        }
    }

    #[test]
    fn a_coarse_period_the_finer_timespan_cut_into_is_left_out() {
        // 60 s kept for 10 minutes: the first 300 s period it touches is partial.
        let old = policy("old", &[(60, Some(10))], &["max"]);
        let new = policy("new", &[(300, None)], &["max"]);
        let (moved, direct_archive) = moved_and_direct(&old, &new, measures(60, 17, irregular));
        let got = &find(&moved, "max", 300).points;
        let want = direct(&direct_archive, "max", 300);
        // 17 minutes of measures: 12:10–12:16 kept at 60 s, so 12:10 and 12:15.
        assert_eq!(got.len(), 2);
        assert!(got.bitwise_eq(&want.slice(got.first(), None)));
    }

    #[test]
    fn the_bound_series_is_cut_to_the_new_back_window() {
        let old = policy("old", &[(3600, None)], &["max"]);
        let new = policy("new", &[(60, None)], &["max"]);
        let (stored, bound) = pass(&old, measures(500, 17, irregular));
        let last = bound.last().unwrap();
        let moved = move_archive(&old, &new, &stored, Some(bound));
        let kept = moved.bound.unwrap();
        assert_eq!(kept.last(), Some(last));
        assert_eq!(
            kept.first().unwrap().round_down(Span::from_secs(60)),
            last.round_down(Span::from_secs(60))
        );
    }
}
