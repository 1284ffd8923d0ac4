//! `use_history=true` with `groupby` (docs/gnocchi-semantics.md#grouping-by-past-values):
//! the arithmetic of Gnocchi's `Grouper` (`gnocchi/rest/aggregates/api.py`),
//! to the letter: which revisions count, the window each one's points are
//! read over, revisions of a group that start together joined, the weight of
//! a point its window covers in part, and a group's neighbouring points at
//! one timestamp summed. Pure: `ops::aggregates` reads the revisions and
//! their points and hands them here.

use super::Error;
use super::output::{AggregatesResult, OutputKey, SeriesBlock};
use crate::pyform;
use crate::pyform::json::Json;
use crate::time::{Span, Timestamp};

/// One revision of a resource, as the grouping sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Revision<'a> {
    pub original_resource_id: &'a str,
    pub revision_start: Timestamp,
    pub revision_end: Option<Timestamp>,
}

/// Where a revision's points are read, `[start, stop)` (Gnocchi's
/// `search_start`, `search_end`); `None` is unbounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Option<Timestamp>,
    pub stop: Option<Timestamp>,
}

/// One point of a group: Gnocchi's `Measure`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub timestamp: Timestamp,
    pub granularity: Span,
    pub value: f64,
}

/// The query's bounds as the `Grouper` tests them: by truth value, and
/// numpy's `datetime64` of the epoch is false, so it counts as absent.
pub fn bounds(
    start: Option<Timestamp>,
    stop: Option<Timestamp>,
) -> (Option<Timestamp>, Option<Timestamp>) {
    let given = |t: Option<Timestamp>| t.filter(|t| *t != Timestamp::EPOCH);
    (given(start), given(stop))
}

/// The history period filter, applied only when both bounds are given:
/// `revision_start < stop` and (`revision_end >= start` or still current).
pub fn in_period(revision: &Revision, start: Option<Timestamp>, stop: Option<Timestamp>) -> bool {
    match (start, stop) {
        (Some(start), Some(stop)) => {
            revision.revision_start < stop && revision.revision_end.is_none_or(|end| end >= start)
        }
        _ => true,
    }
}

/// `Grouper.group`'s first pass: the revisions sorted by
/// `(original_resource_id, revision_start)` (a stable sort), each with its
/// window. A resource's first revision starts at `start` (unbounded
/// without), the others at `max(revision_start, start)`; each stops at
/// `min(revision_end, stop)`. Gives indices into `revisions`.
pub fn windows(
    revisions: &[Revision],
    start: Option<Timestamp>,
    stop: Option<Timestamp>,
) -> Vec<(usize, Window)> {
    let mut order: Vec<usize> = (0..revisions.len()).collect();
    order.sort_by_key(|&i| {
        (
            revisions[i].original_resource_id,
            revisions[i].revision_start,
        )
    });
    let mut previous: Option<&str> = None;
    order
        .into_iter()
        .map(|i| {
            let revision = &revisions[i];
            let first = previous != Some(revision.original_resource_id);
            previous = Some(revision.original_resource_id);
            let window_start = match (first, start) {
                (true, start) => start,
                (false, Some(start)) => Some(start.max(revision.revision_start)),
                (false, None) => Some(revision.revision_start),
            };
            let window_stop = match stop {
                Some(stop) => Some(revision.revision_end.map_or(stop, |end| end.min(stop))),
                None => revision.revision_end,
            };
            let window = Window {
                start: window_start,
                stop: window_stop,
            };
            (i, window)
        })
        .collect()
}

/// The text a group value sorts by: Python's `str(value or '')`, so every
/// false value (`None`, `False`, `0`, `''`) sorts as `''`. (Gnocchi's
/// `str()` of a datetime has a space where the document has `T`; at the
/// same place in every such value, so the order is the same.)
pub fn sort_text(value: &Json) -> String {
    match value {
        Json::Null | Json::Bool(false) | Json::Int(0) => String::new(),
        Json::Float(f) if *f == 0.0 => String::new(),
        Json::Bool(true) => "True".to_owned(),
        Json::Int(i) => i.to_string(),
        Json::Float(f) => pyform::fmt::float_repr(*f),
        Json::Str(s) => s.clone(),
        other => other.to_python_string(),
    }
}

/// `MeasureGroup.join_sequential_groups`: a group's revisions sorted by
/// window start (stable), and each revision starting where the one kept
/// before it starts is dropped, that one's window then stopping where the
/// dropped one's stopped. So with `start`, the first revisions of several
/// resources in one group are one: the first resource's, read until the
/// last one's window stops.
///
/// Without `start`, a first revision's window has no start, which Python
/// cannot sort against anything: Gnocchi fails with an internal error
/// whenever such a group has two revisions or more; refused here.
pub fn join_sequential(mut members: Vec<(usize, Window)>) -> Result<Vec<(usize, Window)>, Error> {
    if members.len() > 1 && members.iter().any(|(_, w)| w.start.is_none()) {
        return Err(Error::Unsupported(
            "use_history without start: a group holds the first revision of a resource and \
             another revision, which Gnocchi cannot order (an internal error); give start"
                .to_owned(),
        ));
    }
    members.sort_by_key(|(_, w)| w.start);
    let mut joined: Vec<(usize, Window)> = Vec::with_capacity(members.len());
    for (i, window) in members {
        match joined.last_mut() {
            Some((_, kept)) if kept.start == window.start => kept.stop = window.stop,
            _ => joined.push((i, window)),
        }
    }
    Ok(joined)
}

/// `Measure.usage_coefficient`: the part of the point's period
/// `[timestamp, timestamp + granularity)` its window covers, in
/// nanoseconds over the granularity's nanoseconds.
pub fn usage_coefficient(timestamp: Timestamp, granularity: Span, window: Window) -> f64 {
    let next = timestamp + granularity;
    let begin = window.start.unwrap_or(timestamp).max(timestamp);
    let end = window.stop.unwrap_or(next).min(next);
    (end - begin).nanos() as f64 / granularity.nanos() as f64
}

/// One revision's `aggregated` points, each weighted by its usage
/// coefficient, in the answer's order. Operations that do not aggregate
/// answer per metric, which Gnocchi's `Grouper` cannot read (a `KeyError`,
/// an internal error): refused here.
pub fn weighted(result: &AggregatesResult, window: Window) -> Result<Vec<Point>, Error> {
    let [(OutputKey::Aggregated, blocks)] = result.series.as_slice() else {
        return Err(Error::Unsupported(
            "use_history needs operations that aggregate the metrics into one series \
             (Gnocchi fails with an internal error)"
                .to_owned(),
        ));
    };
    Ok(blocks
        .iter()
        .flat_map(|block| {
            block
                .timestamps
                .iter()
                .zip(&block.values)
                .map(|(&t, &v)| Point {
                    timestamp: t,
                    granularity: block.granularity,
                    value: v * usage_coefficient(t, block.granularity, window),
                })
        })
        .collect())
}

/// `MeasureGroup.sum_groups_same_time_values`: a point with the timestamp
/// of the one before it in the list takes the sum (its value plus the
/// sum so far) and replaces it, whatever the granularities. Only
/// neighbours: the same timestamp further down the list stays apart.
pub fn sum_same_time(points: Vec<Point>) -> Vec<Point> {
    let mut summed: Vec<Point> = Vec::with_capacity(points.len());
    for point in points {
        match summed.last_mut() {
            Some(last) if last.timestamp == point.timestamp => {
                *last = Point {
                    value: point.value + last.value,
                    ..point
                };
            }
            _ => summed.push(point),
        }
    }
    summed
}

/// A group's points as one `aggregated` series, in their order (a block
/// per run of one granularity).
pub fn result(points: &[Point]) -> AggregatesResult {
    let mut blocks: Vec<SeriesBlock> = Vec::new();
    for point in points {
        let block = match blocks.last_mut() {
            Some(block) if block.granularity == point.granularity => block,
            _ => {
                blocks.push(SeriesBlock {
                    granularity: point.granularity,
                    timestamps: Vec::new(),
                    values: Vec::new(),
                });
                blocks.last_mut().expect("a block was just pushed")
            }
        };
        block.timestamps.push(point.timestamp);
        block.values.push(point.value);
    }
    AggregatesResult {
        series: vec![(OutputKey::Aggregated, blocks)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_nanos(seconds * 1_000_000_000)
    }

    fn revision(id: &str, start: i64, end: Option<i64>) -> Revision<'_> {
        Revision {
            original_resource_id: id,
            revision_start: at(start),
            revision_end: end.map(at),
        }
    }

    fn window(start: Option<i64>, stop: Option<i64>) -> Window {
        Window {
            start: start.map(at),
            stop: stop.map(at),
        }
    }

    #[test]
    fn the_period_filter_needs_both_bounds() {
        let past = revision("a", 100, Some(200));
        let current = revision("a", 200, None);
        // `revision_end >= start`: a revision that ended at `start` counts.
        assert!(!in_period(&past, Some(at(201)), Some(at(300))));
        assert!(in_period(&past, Some(at(200)), Some(at(300))));
        assert!(in_period(&current, Some(at(500)), Some(at(600))));
        assert!(!in_period(&current, Some(at(0)), Some(at(200))));
        assert!(in_period(&past, Some(at(500)), None));
        assert!(in_period(&past, None, Some(at(50))));
    }

    #[test]
    fn the_epoch_is_no_bound() {
        assert_eq!(
            bounds(Some(Timestamp::EPOCH), Some(at(5))),
            (None, Some(at(5)))
        );
    }

    #[test]
    fn first_revisions_start_at_start_and_others_at_their_own() {
        let revisions = [
            revision("b", 300, None),
            revision("a", 200, None),
            revision("a", 100, Some(200)),
        ];
        let got = windows(&revisions, Some(at(150)), Some(at(250)));
        assert_eq!(
            got,
            vec![
                (2, window(Some(150), Some(200))),
                (1, window(Some(200), Some(250))),
                // b's only revision starts at `start`, before its own start.
                (0, window(Some(150), Some(250))),
            ]
        );
        let unbounded = windows(&revisions, None, None);
        assert_eq!(
            unbounded,
            vec![
                (2, window(None, Some(200))),
                (1, window(Some(200), None)),
                (0, window(None, None)),
            ]
        );
        // A later revision that began before `start` starts at `start`.
        assert_eq!(
            windows(&revisions[1..], Some(at(250)), None)[1],
            (0, window(Some(250), None))
        );
    }

    #[test]
    fn revisions_starting_together_are_joined() {
        let joined = join_sequential(vec![
            (0, window(Some(100), Some(150))),
            (1, window(Some(50), Some(80))),
            (2, window(Some(100), Some(300))),
        ])
        .unwrap();
        assert_eq!(
            joined,
            vec![
                (1, window(Some(50), Some(80))),
                (0, window(Some(100), Some(300)))
            ]
        );
    }

    #[test]
    fn an_unbounded_start_in_a_group_of_two_is_refused() {
        assert!(join_sequential(vec![(0, window(None, Some(5)))]).is_ok());
        let two = vec![(0, window(None, Some(5))), (1, window(Some(5), None))];
        assert!(matches!(join_sequential(two), Err(Error::Unsupported(_))));
    }

    #[test]
    fn points_weigh_the_part_of_their_period_the_window_covers() {
        let minute = Span::from_secs(60);
        // Whole periods, or no bound at all: 1.
        assert_eq!(usage_coefficient(at(60), minute, window(None, None)), 1.0);
        assert_eq!(
            usage_coefficient(at(60), minute, window(Some(60), Some(120))),
            1.0
        );
        // The window starts 15 s into the period, or stops 20 s into it.
        assert_eq!(
            usage_coefficient(at(60), minute, window(Some(75), None)),
            0.75
        );
        assert_eq!(
            usage_coefficient(at(60), minute, window(None, Some(80))),
            20.0 / 60.0
        );
        // Both: 10 s of 60.
        assert_eq!(
            usage_coefficient(at(60), minute, window(Some(70), Some(80))),
            10.0 / 60.0
        );
    }

    #[test]
    fn only_neighbours_at_one_timestamp_are_summed() {
        let point = |t: i64, g: i64, v: f64| Point {
            timestamp: at(t),
            granularity: Span::from_secs(g),
            value: v,
        };
        let summed = sum_same_time(vec![
            point(0, 60, 1.0),
            point(60, 60, 2.0),
            point(60, 1, 4.0),
            point(60, 60, 8.0),
            point(0, 60, 16.0),
        ]);
        assert_eq!(
            summed,
            vec![point(0, 60, 1.0), point(60, 60, 14.0), point(0, 60, 16.0)]
        );
    }

    #[test]
    fn a_groups_points_keep_their_order_in_blocks() {
        let point = |t: i64, g: i64| Point {
            timestamp: at(t),
            granularity: Span::from_secs(g),
            value: t as f64,
        };
        let result = result(&[point(300, 300), point(5, 1), point(0, 300)]);
        let [(OutputKey::Aggregated, blocks)] = result.series.as_slice() else {
            panic!("one aggregated series");
        };
        let shape: Vec<(i64, usize)> = blocks
            .iter()
            .map(|b| (b.granularity.nanos() / 1_000_000_000, b.timestamps.len()))
            .collect();
        assert_eq!(shape, vec![(300, 1), (1, 1), (300, 1)]);
    }

    #[test]
    fn false_values_sort_as_empty_text() {
        assert_eq!(sort_text(&Json::Null), "");
        assert_eq!(sort_text(&Json::Bool(false)), "");
        assert_eq!(sort_text(&Json::Float(0.0)), "");
        assert_eq!(sort_text(&Json::Float(2.0)), "2.0");
        assert_eq!(sort_text(&Json::Bool(true)), "True");
        assert_eq!(sort_text(&Json::str("m1")), "m1");
    }
}
