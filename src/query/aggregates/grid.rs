//! The series of one granularity aligned on a grid
//! (docs/gnocchi-semantics.md#the-grid): one row per timestamp any series has, one column per
//! reference, missing cells NaN or the fill value; then the fill modes, or
//! the overlap check when there is no fill.

use super::operation::MetricRef;
use super::{AggregatesQuery, Error, Fill};
use crate::carbonara::Points;
use crate::pyform::json::Json;
use crate::time::{Span, Timestamp};

#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub granularity: Span,
    /// Rows, ascending.
    pub timestamps: Vec<Timestamp>,
    /// One column per reference, each as long as `timestamps`.
    pub columns: Vec<Vec<f64>>,
    /// What `metric` nodes select each column by.
    pub lookup_keys: Vec<MetricRef>,
}

impl Grid {
    /// Aligns series on the union of their timestamps and applies the fill
    /// mode, or the overlap rule.
    pub fn align(
        granularity: Span,
        series: &[Points],
        lookup_keys: Vec<MetricRef>,
        query: &AggregatesQuery,
    ) -> Result<Grid, Error> {
        let timestamps = union(series);
        let filler = match query.fill {
            Fill::Value(value) => value,
            _ => f64::NAN,
        };
        let columns = series
            .iter()
            .map(|points| {
                if points.len() == timestamps.len() {
                    // A subset of the rows as long as them: all of them.
                    return points.values.clone();
                }
                let mut column = vec![filler; timestamps.len()];
                let mut row = 0;
                for (t, v) in points.iter() {
                    while timestamps[row] < t {
                        row += 1;
                    }
                    column[row] = v;
                }
                column
            })
            .collect();
        let mut grid = Grid {
            granularity,
            timestamps,
            columns,
            lookup_keys,
        };
        match query.fill {
            Fill::Ffill => grid.columns.iter_mut().for_each(|c| forward_fill(c)),
            Fill::Bfill => grid.columns.iter_mut().for_each(|c| backward_fill(c)),
            Fill::FullFfill => grid.columns.iter_mut().for_each(|c| {
                forward_fill(c);
                backward_fill(c);
            }),
            Fill::FullBfill => grid.columns.iter_mut().for_each(|c| {
                backward_fill(c);
                forward_fill(c);
            }),
            Fill::Overlap(needed) => grid.check_overlap(needed, query)?,
            Fill::Dropna | Fill::Null | Fill::Value(_) => {}
        }
        Ok(grid)
    }

    /// "Metrics cannot be aggregated", detailed by the columns' lookup keys.
    pub fn unaggregable(&self, reason: String) -> Error {
        Error::Unaggregable {
            reason,
            detail: Json::Array(
                self.lookup_keys
                    .iter()
                    .map(|k| Json::Array(vec![Json::str(&k.reference), Json::str(&k.aggregation)]))
                    .collect(),
            ),
        }
    }

    /// Without a fill, rows where any series lacks a value count against
    /// the overlap; rows beyond the overlapping ones are dropped on a side
    /// without a time bound (Gnocchi's `aggregated`).
    fn check_overlap(&mut self, needed: f64, query: &AggregatesQuery) -> Result<(), Error> {
        let overlaps = |row: usize| self.columns.iter().all(|c| !c[row].is_nan());
        let overlapping: Vec<usize> = (0..self.timestamps.len())
            .filter(|&r| overlaps(r))
            .collect();
        if overlapping.is_empty() && needed > 0.0 {
            return Err(self.unaggregable("No overlap".to_owned()));
        }
        if self.timestamps.is_empty() {
            return Ok(());
        }
        if let (Some(&first), Some(&last)) = (overlapping.first(), overlapping.last()) {
            let end = if query.stop.is_none() {
                last + 1
            } else {
                self.timestamps.len()
            };
            let start = if query.start.is_none() { first } else { 0 };
            self.timestamps.truncate(end);
            self.timestamps.drain(..start);
            for column in &mut self.columns {
                column.truncate(end);
                column.drain(..start);
            }
        }
        let percent = overlapping.len() as f64 * 100.0 / self.timestamps.len() as f64;
        if percent < needed {
            return Err(self.unaggregable(format!(
                "Less than {needed:.6}% of datapoints overlap in this timespan ({percent:.2}%)"
            )));
        }
        Ok(())
    }
}

/// The sorted union of the series' timestamps.
fn union(series: &[Points]) -> Vec<Timestamp> {
    match series.split_first() {
        None => Vec::new(),
        Some((first, rest)) if rest.iter().all(|s| s.timestamps == first.timestamps) => {
            first.timestamps.clone()
        }
        Some(_) => {
            let mut all: Vec<Timestamp> = series
                .iter()
                .flat_map(|s| s.timestamps.iter().copied())
                .collect();
            // A stable sort finds the sorted runs, one per series.
            all.sort();
            all.dedup();
            all
        }
    }
}

/// Gnocchi's `utils.forward_fill` on one column: NaN takes the last value
/// before it (leading NaN stay).
fn forward_fill(column: &mut [f64]) {
    let mut last = f64::NAN;
    for v in column {
        if v.is_nan() {
            *v = last;
        } else {
            last = *v;
        }
    }
}

fn backward_fill(column: &mut [f64]) {
    column.reverse();
    forward_fill(column);
    column.reverse();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(pairs: &[(i64, f64)]) -> Points {
        pairs
            .iter()
            .map(|&(t, v)| (Timestamp::from_nanos(t), v))
            .collect()
    }

    fn key(name: &str) -> MetricRef {
        MetricRef {
            reference: name.to_owned(),
            aggregation: "mean".to_owned(),
        }
    }

    fn query(fill: Fill) -> AggregatesQuery {
        AggregatesQuery {
            start: None,
            stop: None,
            granularity: None,
            fill,
        }
    }

    fn align(fill: Fill) -> Result<Grid, Error> {
        let series = [
            points(&[(1, 1.0), (3, 3.0)]),
            points(&[(2, 20.0), (3, 30.0), (4, 40.0)]),
        ];
        Grid::align(
            Span::from_nanos(1),
            &series,
            vec![key("a"), key("b")],
            &query(fill),
        )
    }

    #[test]
    fn series_align_on_the_union_of_timestamps() {
        let grid = align(Fill::Null).unwrap();
        assert_eq!(grid.timestamps.len(), 4);
        assert!(grid.columns[0][1].is_nan() && grid.columns[0][3].is_nan());
        assert_eq!(grid.columns[1][1..], [20.0, 30.0, 40.0]);
        assert_eq!(
            align(Fill::Value(5.0)).unwrap().columns[0],
            [1.0, 5.0, 3.0, 5.0]
        );
    }

    #[test]
    fn fill_modes_fill_columns() {
        let first = |fill| align(fill).unwrap().columns[1][0];
        assert!(first(Fill::Ffill).is_nan());
        assert_eq!(first(Fill::Bfill), 20.0);
        assert_eq!(
            align(Fill::FullFfill).unwrap().columns[0],
            [1.0, 1.0, 3.0, 3.0]
        );
        assert_eq!(
            align(Fill::FullBfill).unwrap().columns[1],
            [20.0, 20.0, 30.0, 40.0]
        );
    }

    #[test]
    fn overlap_trims_unbounded_sides_and_is_checked() {
        // Only row 3 has both: 1 of the rows 3..=3 once trimmed.
        let grid = align(Fill::Overlap(100.0)).unwrap();
        assert_eq!(grid.timestamps, [Timestamp::from_nanos(3)]);
        let err = Grid::align(
            Span::from_nanos(1),
            &[
                points(&[(1, 1.0), (3, 3.0)]),
                points(&[(2, 20.0), (3, 30.0)]),
            ],
            vec![key("a"), key("b")],
            &AggregatesQuery {
                start: Some(Timestamp::EPOCH),
                ..query(Fill::Overlap(50.0))
            },
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("Less than 50.000000% of datapoints overlap in this timespan (33.33%)"),
            "{err}"
        );
        let disjoint = Grid::align(
            Span::from_nanos(1),
            &[points(&[(1, 1.0)]), points(&[(2, 2.0)])],
            vec![key("a"), key("b")],
            &query(Fill::Overlap(10.0)),
        );
        assert!(disjoint.unwrap_err().to_string().contains("No overlap"));
    }
}
