//! `archive-policy estimate`: the disk one metric needs under a policy, in
//! the typical and the worst case (like `whisper-create --estimate`).
//!
//! The model, per definition (granularity g, timespan T, P = T/g points):
//! splits hold 3600 points and are aligned to the epoch, so T is covered by
//! `ceil(P/3600) + 1` split files at worst, and the oldest one keeps the
//! points older than T it already held (the file driver never trims a
//! split). Typical: P points plus half a split, at the bytes per point of a
//! full `'c'` split of regular timestamps and gauge-like values encoded by
//! the real codec (~8 bytes: the steps compress to almost nothing, the
//! values hardly at all). Worst: every split full and incompressible, LZ4's
//! bound of 10 bytes per point plus 1/255, the marker and the length header.
//! The bound series keeps the raw measures of `back_window` blocks (plus
//! one for `rate:` methods) and the current one, a block being the largest
//! granularity; measures are assumed to come every `interval` (by default
//! the finest granularity): typical half a block more, worst a whole one,
//! 16 bytes per raw point at worst. On disk every file takes whole 4 KiB
//! blocks.

use crate::carbonara::codec;
use crate::carbonara::split::POINTS_PER_SPLIT;
use crate::carbonara::{Points, SplitKey};
use crate::policy::ArchivePolicy;
use crate::time::{Span, Timestamp};

/// The filesystem block every file is rounded up to.
pub const DISK_BLOCK: u64 = 4096;
/// LZ4 frame of python-lz4: the u32 length before the block.
const LZ4_HEADER: u64 = 4;

/// One line of an estimate.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimateRow {
    /// `None` for the bound series.
    pub granularity: Option<Span>,
    pub timespan: Option<Span>,
    /// Points kept (per method).
    pub points: u64,
    /// Files at worst, all methods together.
    pub files: u64,
    pub typical_bytes: u64,
    pub worst_bytes: u64,
    pub typical_disk: u64,
    pub worst_disk: u64,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EstimateError {
    #[error("granularity {0} has no timespan: its archive grows without bound")]
    Unbounded(Span),
    #[error("the interval between measures must be positive")]
    BadInterval,
}

/// LZ4's worst case for `n` incompressible bytes (LZ4_COMPRESSBOUND).
fn lz4_bound(n: u64) -> u64 {
    n + n / 255 + 16
}

fn round_up(bytes: u64, block: u64) -> u64 {
    bytes.div_ceil(block) * block
}

/// Values of a noisy gauge with six decimals, as sensors send them.
fn gauge_points(count: i64, step: Span) -> Points {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..count)
        .map(|i| {
            // xorshift: deterministic noise, no dependency.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state % 1_000_000) as f64 / 1e6;
            let value = ((50.0 + 20.0 * (i as f64 / 500.0).sin() + noise) * 1e6).round() / 1e6;
            (Timestamp::from_nanos(i * step.nanos()), value)
        })
        .collect()
}

/// Bytes per point of a full typical split and of a typical bound series.
fn typical_bytes_per_point() -> (f64, f64) {
    let step = Span::from_secs(60);
    let points = gauge_points(POINTS_PER_SPLIT, step);
    let split = codec::encode_split(SplitKey::new(Timestamp::EPOCH, step), &points);
    let bound = codec::encode_bound(&points).expect("regular points encode");
    let per_point = |bytes: usize| bytes as f64 / POINTS_PER_SPLIT as f64;
    (per_point(split.len()), per_point(bound.len()))
}

/// Estimates one metric's disk use; `interval` is how often measures come.
pub fn estimate(
    policy: &ArchivePolicy,
    interval: Option<Span>,
) -> Result<Vec<EstimateRow>, EstimateError> {
    let (split_per_point, bound_per_point) = typical_bytes_per_point();
    let methods = policy.aggregation_methods.len() as u64;
    let per_split = POINTS_PER_SPLIT as u64;
    let worst_split = 1 + LZ4_HEADER + lz4_bound(10 * per_split);
    let mut definitions = policy.definition.clone();
    definitions.sort_by_key(|d| d.granularity);
    let mut rows = Vec::new();
    for definition in &definitions {
        let granularity = definition.granularity;
        let timespan = definition
            .timespan
            .ok_or(EstimateError::Unbounded(granularity))?;
        let points = (timespan.nanos() / granularity.nanos()) as u64;
        let splits = points.div_ceil(per_split) + 1;
        let typical_points = points + per_split / 2;
        let typical_split = 1 + LZ4_HEADER + (split_per_point * per_split as f64) as u64;
        let full_splits = typical_points / per_split;
        let partial = typical_points % per_split;
        let typical_bytes =
            (split_per_point * typical_points as f64) as u64 + (1 + LZ4_HEADER) * splits;
        let typical_disk = full_splits * round_up(typical_split, DISK_BLOCK)
            + round_up(
                1 + LZ4_HEADER + (split_per_point * partial as f64) as u64,
                DISK_BLOCK,
            );
        rows.push(EstimateRow {
            granularity: Some(granularity),
            timespan: Some(timespan),
            points,
            files: splits * methods,
            typical_bytes: typical_bytes * methods,
            worst_bytes: worst_split * splits * methods,
            typical_disk: typical_disk * methods,
            worst_disk: round_up(worst_split, DISK_BLOCK) * splits * methods,
        });
    }
    let finest = definitions.first().map(|d| d.granularity);
    let interval = interval
        .or(finest)
        .filter(|i| i.nanos() > 0)
        .ok_or(EstimateError::BadInterval)?;
    let block = policy.max_block_size();
    let blocks = policy.effective_back_window();
    let per_block = (block.nanos() / interval.nanos()).max(1) as u64;
    let worst_points = (blocks + 1) * per_block;
    let typical_points = blocks * per_block + per_block.div_ceil(2);
    let typical = LZ4_HEADER + (bound_per_point * typical_points as f64) as u64;
    let worst = LZ4_HEADER + lz4_bound(16 * worst_points);
    rows.push(EstimateRow {
        granularity: None,
        timespan: Some(Span::from_nanos(
            block.nanos().saturating_mul(blocks as i64 + 1),
        )),
        points: worst_points,
        files: 1,
        typical_bytes: typical,
        worst_bytes: worst,
        typical_disk: round_up(typical, DISK_BLOCK),
        worst_disk: round_up(worst, DISK_BLOCK),
    });
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{AggregationMethod, Definition};

    fn policy(items: &[(i64, i64)], back_window: u64, methods: &[&str]) -> ArchivePolicy {
        let definition = items
            .iter()
            .map(|&(g, t)| {
                Definition::new(Some(Span::from_secs(g)), None, Some(Span::from_secs(t))).unwrap()
            })
            .collect();
        let methods = methods
            .iter()
            .map(|m| m.parse::<AggregationMethod>().unwrap())
            .collect();
        ArchivePolicy::new("p", back_window, definition, methods).unwrap()
    }

    #[test]
    fn typical_splits_cost_about_eight_bytes_a_point() {
        let (split, bound) = typical_bytes_per_point();
        assert!((8.0..8.5).contains(&split), "{split}");
        assert!((8.0..9.0).contains(&bound), "{bound}");
    }

    #[test]
    fn a_day_of_minutes() {
        // 1440 points: one split, two at worst (unaligned to the epoch).
        let rows = estimate(&policy(&[(60, 86_400)], 0, &["mean", "max"]), None).unwrap();
        let minutes = &rows[0];
        assert_eq!((minutes.points, minutes.files), (1440, 4));
        let worst_split = 1 + 4 + 36_000 + 36_000 / 255 + 16;
        assert_eq!(minutes.worst_bytes, 2 * 2 * worst_split);
        assert_eq!(minutes.worst_disk, 2 * 2 * 36_864);
        assert!(minutes.typical_bytes < minutes.worst_bytes / 2);
        assert_eq!(minutes.typical_disk % DISK_BLOCK, 0);
        // The bound series: one block of 60 raw points at worst.
        let bound = &rows[1];
        assert_eq!((bound.granularity, bound.points, bound.files), (None, 1, 1));
        assert_eq!(bound.worst_bytes, 4 + 16 + 16);
    }

    #[test]
    fn the_bound_series_follows_back_window_and_interval() {
        let p = policy(&[(1, 3600), (3600, 86_400)], 2, &["rate:mean"]);
        let rows = estimate(&p, Some(Span::from_secs(10))).unwrap();
        let bound = rows.last().unwrap();
        // 2 blocks + 1 for rate: + the current one, of 360 measures each.
        assert_eq!(bound.points, 4 * 360);
        assert_eq!(bound.timespan, Some(Span::from_secs(4 * 3600)));
        assert_eq!(
            estimate(&p, Some(Span::from_nanos(0))),
            Err(EstimateError::BadInterval)
        );
    }
}
