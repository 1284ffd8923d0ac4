//! Split keys: aggregated series are stored in chunks of 3600 points,
//! aligned to the epoch, one file per (method, granularity, key), named
//! `<key seconds>_<granularity seconds>_v3` with Python's float repr
//! (docs/format/carbonara-v3.md#split-keys and #file-names there).

use std::cmp::Ordering;

use super::points::Points;
use crate::pyform::fmt::float_repr;
use crate::time::{Span, Timestamp};

/// Points per split file, whatever the granularity.
pub const POINTS_PER_SPLIT: i64 = 3600;
const FILE_SUFFIX: &str = "v3";

/// Where a split starts, and the granularity of its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SplitKey {
    pub start: Timestamp,
    pub granularity: Span,
}

impl SplitKey {
    pub const fn new(start: Timestamp, granularity: Span) -> Self {
        SplitKey { start, granularity }
    }

    /// The span one split covers: granularity × 3600.
    pub fn span(granularity: Span) -> Span {
        Span::from_nanos(granularity.nanos().saturating_mul(POINTS_PER_SPLIT))
    }

    /// The key of the split holding `timestamp` (Gnocchi's float rounding).
    pub fn of(timestamp: Timestamp, granularity: Span) -> SplitKey {
        SplitKey::new(timestamp.round_down(Self::span(granularity)), granularity)
    }

    pub fn next(self) -> SplitKey {
        SplitKey::new(self.start + Self::span(self.granularity), self.granularity)
    }

    /// Whether the split holds timestamps in `start <= t < stop`.
    pub fn overlaps(self, start: Timestamp, stop: Timestamp) -> bool {
        self.start < stop && start < self.next().start
    }

    /// `1388448000.0_60.0_v3`.
    pub fn file_name(self) -> String {
        format!(
            "{}_{}_{FILE_SUFFIX}",
            float_repr(self.start.as_secs_f64()),
            float_repr(self.granularity.as_secs_f64())
        )
    }

    /// Reads a split file name back: `(key, granularity)` with Gnocchi's
    /// `trunc(seconds × 1e9)`; `None` for names that are not v3 splits.
    pub fn parse_file_name(name: &str) -> Option<SplitKey> {
        let mut fields = name.split('_');
        let (key, granularity, suffix) = (fields.next()?, fields.next()?, fields.next()?);
        if suffix != FILE_SUFFIX || fields.next().is_some() {
            return None;
        }
        let key: f64 = key.parse().ok()?;
        let granularity: f64 = granularity.parse().ok()?;
        if !key.is_finite() || !granularity.is_finite() || granularity <= 0.0 {
            return None;
        }
        Some(SplitKey::new(
            Timestamp::from_nanos((key * 1e9) as i64),
            Span::from_secs_f64(granularity),
        ))
    }
}

impl PartialOrd for SplitKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SplitKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.start
            .cmp(&other.start)
            .then(self.granularity.cmp(&other.granularity))
    }
}

/// Cuts aggregated points into their splits, in key order.
pub fn split_points(points: &Points, granularity: Span) -> Vec<(SplitKey, Points)> {
    let mut splits: Vec<(SplitKey, Points)> = Vec::new();
    for (&t, &v) in points.timestamps.iter().zip(&points.values) {
        let key = SplitKey::of(t, granularity);
        match splits.last_mut() {
            Some((last, chunk)) if *last == key => {
                chunk.timestamps.push(t);
                chunk.values.push(v);
            }
            _ => splits.push((
                key,
                Points {
                    timestamps: vec![t],
                    values: vec![v],
                },
            )),
        }
    }
    splits
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn key_secs(t_secs: i64, g_secs: i64) -> f64 {
        SplitKey::of(Timestamp::from_nanos(t_secs * S), Span::from_secs(g_secs))
            .start
            .as_secs_f64()
    }

    #[test]
    fn keys_align_to_the_epoch() {
        // 2014-01-01T12:00:01, docs/format/carbonara-v3.md#split-keys.
        let t = 1_388_577_601;
        assert_eq!(key_secs(t, 1), 1_388_577_600.0);
        assert_eq!(key_secs(t, 60), 1_388_448_000.0);
        assert_eq!(key_secs(t, 300), 1_387_800_000.0);
        assert_eq!(key_secs(t, 3600), 1_386_720_000.0);
        assert_eq!(key_secs(t, 86_400), 1_244_160_000.0);
        // 2015-01-01T15:03 with 1 h: 2014-10-07, then 2015-03-06.
        let key = SplitKey::of(
            Timestamp::from_nanos(1_420_124_580 * S),
            Span::from_secs(3600),
        );
        assert_eq!(key.start.nanos(), 1_412_640_000 * S);
        assert_eq!(key.next().start.nanos(), 1_425_600_000 * S);
        // 2015-01-01T15:03:58 with 58 s: 2014-12-31T18:00.
        assert_eq!(key_secs(1_420_124_638, 58), 1_420_048_800.0);
    }

    #[test]
    fn splits_overlap_half_open_ranges() {
        let g = Span::from_secs(60);
        let key = SplitKey::new(Timestamp::from_nanos(216_000 * S), g);
        let at = |s: i64| Timestamp::from_nanos(s * S);
        // The split covers [216000, 432000).
        assert!(key.overlaps(at(0), at(216_001)));
        assert!(!key.overlaps(at(0), at(216_000)));
        assert!(key.overlaps(at(431_940), at(500_000)));
        assert!(!key.overlaps(at(432_000), at(500_000)));
        assert!(key.overlaps(at(300_000), at(300_060)));
    }

    #[test]
    fn file_names_use_python_float_repr() {
        let name = |start: i64, g: Span| SplitKey::new(Timestamp::from_nanos(start), g).file_name();
        assert_eq!(
            name(1_388_448_000 * S, Span::from_secs(60)),
            "1388448000.0_60.0_v3"
        );
        assert_eq!(
            name(1_388_577_600 * S, Span::from_nanos(200_000_000)),
            "1388577600.0_0.2_v3"
        );
        assert_eq!(
            name(1_388_577_600 * S, Span::from_nanos(1_000_000)),
            "1388577600.0_0.001_v3"
        );
        assert_eq!(name(0, Span::from_secs(5)), "0.0_5.0_v3");
        assert_eq!(name(0, Span::from_nanos(10_000)), "0.0_1e-05_v3");
    }

    #[test]
    fn file_names_parse_back() {
        for g in [
            Span::from_secs(60),
            Span::from_nanos(200_000_000),
            Span::from_nanos(1_000),
        ] {
            let key = SplitKey::of(Timestamp::from_nanos(1_388_577_601 * S), g);
            assert_eq!(SplitKey::parse_file_name(&key.file_name()), Some(key));
        }
        assert_eq!(SplitKey::parse_file_name("none_v3"), None);
        assert_eq!(SplitKey::parse_file_name("1388448000.0_60.0_v2"), None);
        assert_eq!(SplitKey::parse_file_name("gnocchiab12cd34"), None);
        assert_eq!(SplitKey::parse_file_name("x_60.0_v3"), None);
    }

    #[test]
    fn points_are_cut_at_split_boundaries() {
        let g = Span::from_secs(10);
        let span = 36_000;
        let points = Points {
            timestamps: [0, 10, span - 10, span, 3 * span]
                .iter()
                .map(|s| Timestamp::from_nanos(s * S))
                .collect(),
            values: vec![1.0, 2.0, 3.0, 4.0, 5.0],
        };
        let splits = split_points(&points, g);
        let starts: Vec<i64> = splits.iter().map(|(k, _)| k.start.nanos() / S).collect();
        assert_eq!(starts, [0, span, 3 * span]);
        assert_eq!(splits[0].1.values, [1.0, 2.0, 3.0]);
    }
}
