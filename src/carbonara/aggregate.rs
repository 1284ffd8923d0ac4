//! Grouping points into buckets and every aggregation method, computed the
//! way Gnocchi's numpy code does, to the last bit (spec/processing.md §5):
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
    /// Number of points in each bucket.
    counts: Vec<usize>,
    /// Each bucket's values sorted (NaN last), computed on first use.
    sorted: OnceCell<Vec<f64>>,
}

impl<'a> Grouped<'a> {
    /// Groups by `round_down(t, granularity)`.
    pub fn by_granularity(timestamps: &[Timestamp], values: &'a [f64], granularity: Span) -> Self {
        Self::by_bucket(timestamps.iter().map(|t| t.round_down(granularity)), values)
    }

    /// Groups by a bucket label per point; labels must not decrease.
    pub fn by_bucket(labels: impl Iterator<Item = Timestamp>, values: &'a [f64]) -> Self {
        let mut buckets: Vec<Timestamp> = Vec::new();
        let mut counts: Vec<usize> = Vec::new();
        for label in labels {
            if buckets.last() == Some(&label) {
                *counts.last_mut().expect("a bucket exists") += 1;
            } else {
                buckets.push(label);
                counts.push(1);
            }
        }
        Grouped {
            values,
            buckets,
            counts,
            sorted: OnceCell::new(),
        }
    }

    /// Each bucket's (first index, count) in `values`.
    fn ranges(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.counts.iter().scan(0usize, |start, &count| {
            let range = (*start, count);
            *start += count;
            Some(range)
        })
    }

    fn sorted(&self) -> &[f64] {
        self.sorted.get_or_init(|| {
            let mut sorted = self.values.to_vec();
            for (start, count) in self.ranges() {
                // Stable, like numpy's lexsort: equal values keep time order.
                sorted[start..start + count].sort_by(nan_last);
            }
            sorted
        })
    }

    fn per_bucket(&self, value_of: impl Fn(usize, usize) -> f64) -> Points {
        Points {
            timestamps: self.buckets.clone(),
            values: self
                .ranges()
                .map(|(start, count)| value_of(start, count))
                .collect(),
        }
    }

    fn sums(&self) -> Vec<f64> {
        self.ranges()
            .map(|(start, count)| {
                self.values[start..start + count]
                    .iter()
                    .fold(0.0, |acc, v| acc + v)
            })
            .collect()
    }

    /// Computes one method over every bucket.
    pub fn aggregate(&self, method: BaseMethod) -> Points {
        match method {
            BaseMethod::Count => self.per_bucket(|_, count| count as f64),
            BaseMethod::Sum => Points {
                timestamps: self.buckets.clone(),
                values: self.sums(),
            },
            BaseMethod::Mean => self.mean(),
            BaseMethod::First => self.per_bucket(|start, _| self.values[start]),
            BaseMethod::Last => self.per_bucket(|start, count| self.values[start + count - 1]),
            BaseMethod::Min => self.per_bucket(|start, count| self.min(start, count)),
            BaseMethod::Max => self.per_bucket(|start, count| self.max(start, count)),
            BaseMethod::Median => {
                let sorted = self.sorted();
                self.per_bucket(|start, count| {
                    let high = start + count / 2;
                    let low = if count % 2 == 1 { high } else { high - 1 };
                    (sorted[low] + sorted[high]) / 2.0
                })
            }
            BaseMethod::Std => self.std(),
            BaseMethod::Percentile(q) => self.percentile(q),
        }
    }

    fn mean(&self) -> Points {
        let values = self
            .sums()
            .into_iter()
            .zip(&self.counts)
            .map(|(sum, &count)| sum / count as f64)
            .collect();
        Points {
            timestamps: self.buckets.clone(),
            values,
        }
    }

    /// The first smallest value in sorted order; NaN only if all are NaN.
    fn min(&self, start: usize, count: usize) -> f64 {
        let bucket = &self.values[start..start + count];
        let mut best = bucket[0];
        for &v in &bucket[1..] {
            if nan_last(&v, &best) == Ordering::Less {
                best = v;
            }
        }
        best
    }

    /// The last largest value in sorted order; NaN if any is NaN.
    fn max(&self, start: usize, count: usize) -> f64 {
        let bucket = &self.values[start..start + count];
        let mut best = bucket[0];
        for &v in &bucket[1..] {
            if nan_last(&v, &best) != Ordering::Less {
                best = v;
            }
        }
        best
    }

    /// Sample standard deviation (n − 1); buckets of one point are left out.
    fn std(&self) -> Points {
        let means = self.mean().values;
        let mut out = Points::default();
        for (((start, count), mean), &bucket) in self.ranges().zip(means).zip(&self.buckets) {
            if count < 2 {
                continue;
            }
            let squares = self.values[start..start + count]
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
        self.per_bucket(|start, count| {
            let position = start as f64 + (count - 1) as f64 * fraction;
            let low = position.floor();
            let high = position.ceil();
            let (low_index, high_index) = (low as usize, high as usize);
            if low_index == high_index {
                sorted[low_index]
            } else {
                sorted[low_index] * (high - position) + sorted[high_index] * (position - low)
            }
        })
    }
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

    /// The test-suite example of spec/processing.md "Aggregation methods".
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
