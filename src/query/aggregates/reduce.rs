//! numpy's NaN-ignoring reductions (`nanmean`, `nanmedian`, `nanstd`,
//! `nanvar`, `nanmin`, `nanmax`, `nansum`, non-NaN count) to the last bit:
//! which summation order numpy uses depends on the memory layout, so the
//! callers say whether the values are contiguous (numpy's pairwise sum) or
//! strided (a running sum, one value at a time).

use super::operation::ReduceFunction;

/// How numpy adds the values of one reduction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summation {
    /// Reduced along a strided axis: left to right from 0.0.
    Sequential,
    /// Reduced along the contiguous axis: numpy's `pairwise_sum`.
    Pairwise,
}

impl Summation {
    pub fn sum(self, values: impl ExactSizeIterator<Item = f64> + Clone) -> f64 {
        match self {
            Summation::Sequential => values.fold(0.0, |acc, v| acc + v),
            Summation::Pairwise => {
                let values: Vec<f64> = values.collect();
                0.0 + pairwise_sum(&values)
            }
        }
    }
}

/// numpy's `pairwise_sum_DOUBLE`: below 8 values a running sum, up to 128
/// eight interleaved running sums combined as a tree, above that split in
/// two halves (the first a multiple of 8 long).
pub fn pairwise_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        values.iter().fold(-0.0, |acc, v| acc + v)
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&values[..8]);
        let whole = n - n % 8;
        for chunk in values[8..whole].chunks_exact(8) {
            for (acc, v) in r.iter_mut().zip(chunk) {
                *acc += v;
            }
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &values[whole..] {
            sum += v;
        }
        sum
    } else {
        let half = n / 2;
        let half = half - half % 8;
        pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
    }
}

/// numpy's `fmin`/`fmax` reductions: NaN only if every value is.
fn fold_ignoring_nan(values: &[f64], keep_first: impl Fn(f64, f64) -> bool) -> f64 {
    let mut best = f64::NAN;
    for &v in values {
        if best.is_nan() || (!v.is_nan() && !keep_first(best, v)) {
            best = v;
        }
    }
    best
}

/// One reduction of `values` (the cells of a grid row, or of a window)
/// ignoring NaN, as Gnocchi's `AGG_MAP` computes it.
pub fn reduce(function: ReduceFunction, values: &[f64], summation: Summation) -> f64 {
    let present = || {
        values
            .iter()
            .copied()
            .map(|v| if v.is_nan() { 0.0 } else { v })
    };
    let count = values.iter().filter(|v| !v.is_nan()).count();
    match function {
        ReduceFunction::Count => count as f64,
        ReduceFunction::Sum => summation.sum(present()),
        ReduceFunction::Mean => summation.sum(present()) / count as f64,
        ReduceFunction::Min => fold_ignoring_nan(values, |best, v| best <= v),
        ReduceFunction::Max => fold_ignoring_nan(values, |best, v| best >= v),
        ReduceFunction::Var | ReduceFunction::Std => {
            let mean = summation.sum(present()) / count as f64;
            let squares = values.iter().map(|&v| {
                if v.is_nan() {
                    0.0
                } else {
                    (v - mean) * (v - mean)
                }
            });
            let variance = if count == 0 {
                f64::NAN
            } else {
                summation.sum(squares) / count as f64
            };
            if function == ReduceFunction::Std {
                variance.sqrt()
            } else {
                variance
            }
        }
        ReduceFunction::Median => median(values),
    }
}

/// numpy's `nanmedian`: the mean of the two middle values of the sorted
/// non-NaN ones (both the middle one when their number is odd, computed as
/// `(v + v) / 2` below 600 values and `v` from 600 on, as numpy does).
fn median(values: &[f64]) -> f64 {
    let mut present: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    let n = present.len();
    if n == 0 {
        return f64::NAN;
    }
    present.sort_by(|a, b| a.partial_cmp(b).expect("NaN filtered out"));
    let high = n / 2;
    if n % 2 == 1 && values.len() >= 600 {
        return present[high];
    }
    let low = if n % 2 == 1 { high } else { high - 1 };
    (present[low] + present[high]) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairwise_sums_group_like_numpy() {
        // Eight interleaved sums: 1e16 and -1e16 meet before the ones are added.
        let mut values = vec![1.0; 16];
        values[0] = 1e16;
        values[8] = -1e16;
        assert_eq!(pairwise_sum(&values), 14.0);
        assert_eq!(Summation::Sequential.sum(values.iter().copied()), 7.0);
    }

    #[test]
    fn nan_is_ignored_and_empty_rows_follow_numpy() {
        use ReduceFunction::*;
        let row = [1.0, f64::NAN, 4.0];
        let r = |f| reduce(f, &row, Summation::Sequential);
        assert_eq!(r(Mean), 2.5);
        assert_eq!(r(Sum), 5.0);
        assert_eq!(r(Count), 2.0);
        assert_eq!(r(Min), 1.0);
        assert_eq!(r(Max), 4.0);
        assert_eq!(r(Median), 2.5);
        assert_eq!(r(Var), 2.25);
        assert_eq!(r(Std), 1.5);
        let empty = [f64::NAN, f64::NAN];
        let e = |f| reduce(f, &empty, Summation::Sequential);
        assert_eq!(e(Sum), 0.0);
        assert_eq!(e(Count), 0.0);
        for f in [Mean, Min, Max, Median, Var, Std] {
            assert!(e(f).is_nan(), "{f:?}");
        }
    }
}
