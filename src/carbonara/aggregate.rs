//! Grouping points into buckets and every aggregation method, computed the
//! way Gnocchi's numpy code does, to the last bit
//! (docs/gnocchi-semantics.md#aggregation-methods):
//! sequential sums, sample std omitting single-point buckets, percentiles
//! interpolated at absolute positions of the grouped input, NaN sorted
//! above +inf.

use std::cell::OnceCell;
use std::cmp::Ordering;

use super::points::Points;
use crate::policy::BaseMethod;
use crate::time::{Span, Timestamp};

/// numpy's sort order for floats: ascending, NaN after +inf, ±0 equal.
fn nan_last(a: &f64, b: &f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.partial_cmp(b).expect("neither is NaN"),
    }
}

/// Values in time order, grouped into consecutive buckets.
pub struct Grouped<'a> {
    values: &'a [f64],
    /// Start of each non-empty bucket, ascending.
    buckets: Vec<Timestamp>,
    /// Bucket i holds `values[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    /// Each bucket's values sorted (NaN last), computed on first use.
    sorted: OnceCell<Vec<f64>>,
}

impl<'a> Grouped<'a> {
    /// Groups by `round_down(t, granularity)`. Bucket ends are found by
    /// galloping: `round_down` is monotonic, so a bucket of n points costs
    /// O(log n) roundings instead of n.
    pub fn by_granularity(timestamps: &[Timestamp], values: &'a [f64], granularity: Span) -> Self {
        let n = timestamps.len();
        let bucket_of = |i: usize| timestamps[i].round_down(granularity);
        let mut buckets = Vec::new();
        let mut offsets = vec![0];
        let mut start = 0;
        let mut label = if n > 0 {
            bucket_of(0)
        } else {
            Timestamp::EPOCH
        };
        while start < n {
            // Gallop: [start, known_in) is in the bucket; find a point outside.
            let mut known_in = start + 1;
            let mut step = 1;
            let (mut outside, mut next_label) = (n, label);
            while known_in < n {
                let probe = (known_in + step - 1).min(n - 1);
                let probe_label = bucket_of(probe);
                if probe_label != label {
                    (outside, next_label) = (probe, probe_label);
                    break;
                }
                known_in = probe + 1;
                step *= 2;
            }
            let end = if outside == known_in {
                outside
            } else {
                known_in
                    + timestamps[known_in..outside]
                        .partition_point(|t| t.round_down(granularity) == label)
            };
            buckets.push(label);
            offsets.push(end);
            if end < n {
                label = if end == outside {
                    next_label
                } else {
                    bucket_of(end)
                };
            }
            start = end;
        }
        Grouped {
            values,
            buckets,
            offsets,
            sorted: OnceCell::new(),
        }
    }

    /// Groups by a bucket label per point; labels must not decrease.
    pub fn by_bucket(labels: impl Iterator<Item = Timestamp>, values: &'a [f64]) -> Self {
        let mut buckets: Vec<Timestamp> = Vec::new();
        let mut offsets = vec![0];
        for (i, label) in labels.enumerate() {
            if buckets.last() == Some(&label) {
                *offsets.last_mut().expect("offsets start with 0") = i + 1;
            } else {
                buckets.push(label);
                offsets.push(i + 1);
            }
        }
        Grouped {
            values,
            buckets,
            offsets,
            sorted: OnceCell::new(),
        }
    }

    /// Each bucket's range in `values`.
    fn ranges(&self) -> impl Iterator<Item = std::ops::Range<usize>> + '_ {
        self.offsets.windows(2).map(|w| w[0]..w[1])
    }

    fn sorted(&self) -> &[f64] {
        self.sorted.get_or_init(|| {
            let mut sorted = self.values.to_vec();
            for range in self.ranges() {
                if range.len() > 1 {
                    // Stable, like numpy's lexsort: equal values keep time order.
                    sorted[range].sort_by(nan_last);
                }
            }
            sorted
        })
    }

    fn per_bucket(&self, value_of: impl Fn(std::ops::Range<usize>) -> f64) -> Points {
        Points {
            timestamps: self.buckets.clone(),
            values: self.ranges().map(value_of).collect(),
        }
    }

    /// Sequential sums, starting from +0.0 like numpy's `bincount`.
    fn sum(&self, range: std::ops::Range<usize>) -> f64 {
        self.values[range].iter().fold(0.0, |acc, v| acc + v)
    }

    /// Computes one method over every bucket.
    pub fn aggregate(&self, method: BaseMethod) -> Points {
        match method {
            BaseMethod::Count => self.per_bucket(|r| r.len() as f64),
            BaseMethod::Sum => self.per_bucket(|r| self.sum(r)),
            BaseMethod::Mean => self.per_bucket(|r| {
                let count = r.len() as f64;
                self.sum(r) / count
            }),
            BaseMethod::First => self.per_bucket(|r| self.values[r.start]),
            BaseMethod::Last => self.per_bucket(|r| self.values[r.end - 1]),
            BaseMethod::Min => self.per_bucket(|r| min(&self.values[r])),
            BaseMethod::Max => self.per_bucket(|r| max(&self.values[r])),
            BaseMethod::Median => {
                let sorted = self.sorted();
                self.per_bucket(|r| {
                    let high = r.start + r.len() / 2;
                    let low = if r.len() % 2 == 1 { high } else { high - 1 };
                    (sorted[low] + sorted[high]) / 2.0
                })
            }
            BaseMethod::Std => self.std(),
            BaseMethod::Percentile(q) => self.percentile(q),
        }
    }

    /// Sample standard deviation (n − 1); buckets of one point are left out.
    fn std(&self) -> Points {
        let mut out = Points::default();
        for (range, &bucket) in self.ranges().zip(&self.buckets) {
            let count = range.len();
            if count < 2 {
                continue;
            }
            let mean = self.sum(range.clone()) / count as f64;
            let squares = self.values[range]
                .iter()
                .fold(0.0, |acc, v| acc + (v - mean) * (v - mean));
            out.push(bucket, (squares / (count - 1) as f64).sqrt());
        }
        out
    }

    /// Linear interpolation at `p0 + (n − 1) × q/100`, where p0 is the
    /// bucket's absolute position in the grouped input: the last bits of
    /// the result depend on it, as in Gnocchi.
    fn percentile(&self, q: u8) -> Points {
        let sorted = self.sorted();
        let fraction = f64::from(q) / 100.0;
        self.per_bucket(|r| {
            let position = r.start as f64 + (r.len() - 1) as f64 * fraction;
            // floor and ceil of a non-negative position, without libm calls.
            let low_index = position as usize;
            let low = low_index as f64;
            let high_index = if low == position {
                low_index
            } else {
                low_index + 1
            };
            let high = high_index as f64;
            if low_index == high_index {
                sorted[low_index]
            } else {
                sorted[low_index] * (high - position) + sorted[high_index] * (position - low)
            }
        })
    }
}

/// The first smallest value in sorted order; NaN only if all are NaN.
fn min(bucket: &[f64]) -> f64 {
    let mut best = bucket[0];
    for &v in &bucket[1..] {
        if v < best || (best.is_nan() && !v.is_nan()) {
            best = v;
        }
    }
    best
}

/// The last largest value in sorted order; NaN if any is NaN.
fn max(bucket: &[f64]) -> f64 {
    let mut best = bucket[0];
    for &v in &bucket[1..] {
        if v.is_nan() || (!best.is_nan() && v >= best) {
            best = v;
        }
    }
    best
}

/// The differences between consecutive points (`rate:` methods), each placed
/// at the later point's timestamp.
pub fn differences(points: &Points) -> Points {
    Points {
        timestamps: points.timestamps.iter().skip(1).copied().collect(),
        values: points.values.windows(2).map(|w| w[1] - w[0]).collect(),
    }
}

#[cfg(test)]
// Expected values are Gnocchi's printed floats, kept verbatim.
#[allow(clippy::excessive_precision, clippy::approx_constant)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;
    const NOON: i64 = 1_388_577_600; // 2014-01-01T12:00:00

    fn at(seconds_after_noon: i64) -> Timestamp {
        Timestamp::from_nanos((NOON + seconds_after_noon) * S)
    }

    fn compute(points: &[(i64, f64)], granularity: i64, method: &str) -> Vec<f64> {
        let series: Points = points.iter().map(|&(t, v)| (at(t), v)).collect();
        let grouped = Grouped::by_granularity(
            &series.timestamps,
            &series.values,
            Span::from_secs(granularity),
        );
        grouped.aggregate(method.parse().unwrap()).values
    }

    /// The test-suite example of docs/gnocchi-semantics.md#aggregation-methods.
    fn example() -> Vec<(i64, f64)> {
        vec![
            (0, 3.0),
            (10, 5.0),
            (20, 2.0),
            (30, 3.0),
            (40, 5.0),
            (60, 8.0),
            (70, 11.0),
            (80, 22.0),
            (90, 10.0),
            (100, 42.0),
            (110, 9.0),
            (120, 4.0),
            (130, 2.0),
        ]
    }

    #[test]
    fn every_method_on_the_reference_example() {
        let cases: &[(&str, [f64; 3])] = &[
            ("first", [3.0, 8.0, 4.0]),
            ("last", [5.0, 9.0, 2.0]),
            ("count", [5.0, 6.0, 2.0]),
            ("sum", [18.0, 102.0, 6.0]),
            ("mean", [3.6, 17.0, 3.0]),
            ("median", [3.0, 10.5, 3.0]),
            ("50pct", [3.0, 10.5, 3.0]),
            ("56pct", [3.4800000000000004, 10.8, 3.120000000000001]),
            ("min", [2.0, 8.0, 2.0]),
            ("max", [5.0, 42.0, 4.0]),
            (
                "std",
                [1.3416407864998738, 13.266499161421599, 1.4142135623730951],
            ),
        ];
        for (method, want) in cases {
            let got = compute(&example(), 60, method);
            assert_eq!(got, want, "{method}");
        }
    }

    #[test]
    fn percentiles_interpolate() {
        assert_eq!(
            compute(&[(0, 3.0), (1, 5.0), (2, 6.0)], 60, "74pct"),
            [5.48]
        );
        assert_eq!(
            compute(&[(0, 3.0), (1, 5.0), (2, 6.0)], 60, "95pct"),
            [5.9000000000000004]
        );
    }

    #[test]
    fn std_omits_single_points() {
        let points = [(0, 3.0), (10, 6.0), (20, 5.0), (60, 9.0)];
        assert_eq!(compute(&points, 60, "std"), [1.5275252316519465]);
    }

    #[test]
    fn nan_and_infinity_follow_numpy() {
        let nan_mid = [(0, 1.0), (1, f64::NAN), (2, 3.0)];
        assert_eq!(compute(&nan_mid, 60, "min"), [1.0]);
        assert!(compute(&nan_mid, 60, "max")[0].is_nan());
        assert!(compute(&nan_mid, 60, "mean")[0].is_nan());
        assert_eq!(compute(&nan_mid, 60, "median"), [3.0]);
        assert_eq!(compute(&nan_mid, 60, "50pct"), [3.0]);
        assert!(compute(&nan_mid, 60, "90pct")[0].is_nan());
        assert_eq!(compute(&nan_mid, 60, "first"), [1.0]);
        assert_eq!(compute(&nan_mid, 60, "last"), [3.0]);
        let inf = [(0, f64::INFINITY), (1, 2.0)];
        assert_eq!(compute(&inf, 60, "max"), [f64::INFINITY]);
        assert_eq!(compute(&inf, 60, "min"), [2.0]);
        assert_eq!(compute(&inf, 60, "median"), [f64::INFINITY]);
        assert!(compute(&inf, 60, "std")[0].is_nan());
        let both = [(0, f64::NEG_INFINITY), (1, f64::INFINITY)];
        assert!(compute(&both, 60, "mean")[0].is_nan());
        assert!(compute(&both, 60, "median")[0].is_nan());
        let lone_nan = [(0, f64::NAN)];
        assert_eq!(compute(&lone_nan, 60, "count"), [1.0]);
        assert!(compute(&lone_nan, 60, "std").is_empty());
        assert_eq!(compute(&[(0, 1.7e308)], 60, "median"), [f64::INFINITY]);
    }

    #[test]
    fn percentile_depends_on_absolute_position() {
        // 56pct of [2, 4] is 3.12 at p0 = 0 but 3.120000000000001 at p0 = 11.
        let mut points: Vec<(i64, f64)> = (0..11).map(|i| (i, 1.0)).collect();
        points.extend([(60, 2.0), (61, 4.0)]);
        assert_eq!(compute(&points, 60, "56pct")[1], 3.120000000000001);
        assert_eq!(compute(&[(0, 2.0), (1, 4.0)], 60, "56pct"), [3.12]);
    }

    #[test]
    fn min_and_max_keep_numpys_order_for_zeros_and_nan() {
        // Stable sorted order: the first of equal minima, the last of equal maxima.
        assert_eq!(min(&[0.0, -0.0]).to_bits(), 0.0f64.to_bits());
        assert_eq!(max(&[0.0, -0.0]).to_bits(), (-0.0f64).to_bits());
        assert_eq!(min(&[f64::NAN, 2.0, 1.0]), 1.0);
        assert!(max(&[1.0, f64::NAN, 3.0]).is_nan());
        assert!(min(&[f64::NAN, f64::NAN]).is_nan());
    }

    proptest::proptest! {
        #[test]
        fn galloping_groups_like_rounding_each_point(
            steps in proptest::collection::vec(1i64..5_000_000_000, 1..300),
            granularity in 1i64..100_000_000_000,
        ) {
            let mut t = 1_388_577_600 * S;
            let timestamps: Vec<Timestamp> = steps.iter().map(|s| { t += s; Timestamp::from_nanos(t) }).collect();
            let values = vec![1.0; timestamps.len()];
            let span = Span::from_nanos(granularity);
            let galloped = Grouped::by_granularity(&timestamps, &values, span);
            let each = Grouped::by_bucket(timestamps.iter().map(|t| t.round_down(span)), &values);
            proptest::prop_assert_eq!(&galloped.buckets, &each.buckets);
            proptest::prop_assert_eq!(&galloped.offsets, &each.offsets);
        }
    }

    #[test]
    fn differences_feed_rates() {
        let series: Points = [(0, 50.0), (4, 55.0), (62, 65.0)]
            .iter()
            .map(|&(t, v)| (at(t), v))
            .collect();
        let diff = differences(&series);
        assert_eq!(diff.timestamps, [at(4), at(62)]);
        assert_eq!(diff.values, [5.0, 10.0]);
    }
}
