//! `Points`: a time series as two columns (timestamps strictly increasing,
//! values), and the merge rules Gnocchi applies when a newer series meets a
//! stored one.

use crate::time::Timestamp;

/// Points in time order, as two columns of equal length.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Points {
    pub timestamps: Vec<Timestamp>,
    pub values: Vec<f64>,
}

impl Points {
    pub fn with_capacity(capacity: usize) -> Self {
        Points {
            timestamps: Vec::with_capacity(capacity),
            values: Vec::with_capacity(capacity),
        }
    }

    pub fn push(&mut self, timestamp: Timestamp, value: f64) {
        self.timestamps.push(timestamp);
        self.values.push(value);
    }

    pub fn len(&self) -> usize {
        self.timestamps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.timestamps.is_empty()
    }

    pub fn first(&self) -> Option<Timestamp> {
        self.timestamps.first().copied()
    }

    pub fn last(&self) -> Option<Timestamp> {
        self.timestamps.last().copied()
    }

    /// Index of the first point at or after `from`.
    pub fn position_of(&self, from: Timestamp) -> usize {
        self.timestamps.partition_point(|&t| t < from)
    }

    /// Index of the first point strictly after `after`.
    pub fn position_after(&self, after: Timestamp) -> usize {
        self.timestamps.partition_point(|&t| t <= after)
    }

    /// Drops the points before index `start`.
    pub fn drain_before(&mut self, start: usize) {
        self.timestamps.drain(..start);
        self.values.drain(..start);
    }

    /// Drops the points from index `end` on.
    pub fn truncate(&mut self, end: usize) {
        self.timestamps.truncate(end);
        self.values.truncate(end);
    }

    /// Index range of the points in `from <= t < to` (either bound optional).
    pub fn range(&self, from: Option<Timestamp>, to: Option<Timestamp>) -> (usize, usize) {
        let start = from.map_or(0, |f| self.position_of(f));
        let end = to.map_or(self.len(), |t| self.position_of(t)).max(start);
        (start, end)
    }

    /// Removes the points in `from <= t < to`; returns how many there were.
    pub fn remove_range(&mut self, from: Timestamp, to: Timestamp) -> usize {
        let (start, end) = self.range(Some(from), Some(to));
        self.timestamps.drain(start..end);
        self.values.drain(start..end);
        end - start
    }

    /// Keeps the points in `from <= t < to` (either bound optional).
    pub fn slice(&self, from: Option<Timestamp>, to: Option<Timestamp>) -> Points {
        let (start, end) = self.range(from, to);
        Points {
            timestamps: self.timestamps[start..end].to_vec(),
            values: self.values[start..end].to_vec(),
        }
    }

    /// Orders points appended from index `from` on: nothing to do when they
    /// start after the earlier ones (consecutive splits), else they are
    /// merged in, their values winning.
    pub fn merge_tail(&mut self, from: usize) {
        if from == 0 || from >= self.len() || self.timestamps[from] > self.timestamps[from - 1] {
            return;
        }
        let newer = Points {
            timestamps: self.timestamps.split_off(from),
            values: self.values.split_off(from),
        };
        *self = self.merged_with(&newer);
    }

    pub fn iter(&self) -> impl Iterator<Item = (Timestamp, f64)> + '_ {
        self.timestamps
            .iter()
            .copied()
            .zip(self.values.iter().copied())
    }

    /// Same timestamps and the same value bits (NaN equals NaN).
    pub fn bitwise_eq(&self, other: &Points) -> bool {
        self.timestamps == other.timestamps
            && self.values.len() == other.values.len()
            && self
                .values
                .iter()
                .zip(&other.values)
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }

    /// The union of two series; where both have a timestamp, `newer` wins.
    pub fn merged_with(&self, newer: &Points) -> Points {
        let mut out = Points::with_capacity(self.len() + newer.len());
        let (mut i, mut j) = (0, 0);
        while i < self.len() || j < newer.len() {
            let take_old =
                j == newer.len() || (i < self.len() && self.timestamps[i] < newer.timestamps[j]);
            if take_old {
                out.push(self.timestamps[i], self.values[i]);
                i += 1;
            } else {
                if i < self.len() && self.timestamps[i] == newer.timestamps[j] {
                    i += 1;
                }
                out.push(newer.timestamps[j], newer.values[j]);
                j += 1;
            }
        }
        out
    }
}

impl FromIterator<(Timestamp, f64)> for Points {
    fn from_iter<I: IntoIterator<Item = (Timestamp, f64)>>(iter: I) -> Self {
        let mut points = Points::default();
        for (t, v) in iter {
            points.push(t, v);
        }
        points
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn series(pairs: &[(i64, f64)]) -> Points {
        pairs
            .iter()
            .map(|&(t, v)| (Timestamp::from_nanos(t), v))
            .collect()
    }

    #[test]
    fn newer_values_win_on_equal_timestamps() {
        let old = series(&[(1, 1.0), (3, 3.0), (5, 5.0)]);
        let new = series(&[(2, 20.0), (3, 30.0), (6, 60.0)]);
        let merged = old.merged_with(&new);
        assert_eq!(
            merged,
            series(&[(1, 1.0), (2, 20.0), (3, 30.0), (5, 5.0), (6, 60.0)])
        );
    }

    #[test]
    fn slices_are_half_open() {
        let points = series(&[(1, 1.0), (2, 2.0), (3, 3.0)]);
        let t = Timestamp::from_nanos;
        assert_eq!(points.slice(Some(t(2)), Some(t(3))), series(&[(2, 2.0)]));
        assert_eq!(points.slice(None, None), points);
        assert_eq!(points.position_after(t(2)), 2);
    }

    #[test]
    fn removed_ranges_are_half_open() {
        let t = Timestamp::from_nanos;
        let mut points = series(&[(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]);
        assert_eq!(points.remove_range(t(2), t(4)), 2);
        assert_eq!(points, series(&[(1, 1.0), (4, 4.0)]));
        assert_eq!(points.remove_range(t(5), t(9)), 0);
        assert_eq!(points.len(), 2);
    }

    #[test]
    fn appended_tails_are_merged_when_out_of_order() {
        let mut points = series(&[(1, 1.0), (3, 3.0), (4, 4.0), (5, 5.0)]);
        points.merge_tail(2);
        assert_eq!(points, series(&[(1, 1.0), (3, 3.0), (4, 4.0), (5, 5.0)]));
        let mut points = series(&[(1, 1.0), (3, 3.0), (4, 4.0), (5, 5.0), (2, 2.0), (3, 30.0)]);
        points.merge_tail(4);
        assert_eq!(
            points,
            series(&[(1, 1.0), (2, 2.0), (3, 30.0), (4, 4.0), (5, 5.0)])
        );
        points.merge_tail(5);
        points.merge_tail(0);
        assert_eq!(points.len(), 5);
    }

    proptest! {
        #[test]
        fn merge_is_a_sorted_union(
            a in prop::collection::btree_map(0i64..500, -1e6f64..1e6, 0..60),
            b in prop::collection::btree_map(0i64..500, -1e6f64..1e6, 0..60),
        ) {
            let old: Points = a.iter().map(|(&t, &v)| (Timestamp::from_nanos(t), v)).collect();
            let new: Points = b.iter().map(|(&t, &v)| (Timestamp::from_nanos(t), v)).collect();
            let merged = old.merged_with(&new);
            let mut expected = a.clone();
            expected.extend(b.iter());
            let expected: Points = expected.into_iter().map(|(t, v)| (Timestamp::from_nanos(t), v)).collect();
            prop_assert_eq!(merged, expected);
        }
    }
}
