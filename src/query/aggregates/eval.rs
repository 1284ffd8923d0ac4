//! Evaluating an [`Operation`] on one granularity's grid, bottom-up, as
//! Gnocchi's `operations.evaluate` does with numpy
//! (docs/gnocchi-semantics.md#operators and #evaluation there): each node
//! gives a number or a series (granularity, timestamps, columns, and
//! whether it is aggregated); element-wise functions broadcast a single
//! column against several.

use std::rc::Rc;

use super::Error;
use super::grid::Grid;
use super::operation::{
    BinaryFunction, MetricRef, Operand, Operation, ReduceFunction, Reducer, UnaryFunction,
};
use super::reduce::{Summation, reduce};
use crate::carbonara::{Points, Sampling, resample};
use crate::policy::{AggregationMethod, BaseMethod};
use crate::time::{Span, Timestamp};

/// A node's result when it is a time series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub granularity: Span,
    pub timestamps: Rc<Vec<Timestamp>>,
    /// Each column as long as `timestamps`.
    pub columns: Vec<Vec<f64>>,
    /// Cross-series results give one `aggregated` output series; others
    /// give one per reference.
    pub aggregated: bool,
}

enum Value {
    Number(f64),
    Series(Series),
}

struct Context {
    grid: Grid,
    timestamps: Rc<Vec<Timestamp>>,
}

/// Evaluates `operation` on a grid; the result must be a series.
pub fn evaluate(operation: &Operation, grid: Grid) -> Result<Series, Error> {
    let timestamps = Rc::new(grid.timestamps.clone());
    let context = Context { grid, timestamps };
    match context.operation(operation)? {
        Value::Series(series) => Ok(series),
        Value::Number(_) => Err(Error::Unsupported(
            "The operations compute a number, not a time series".to_owned(),
        )),
    }
}

impl Context {
    fn operand(&self, operand: &Operand) -> Result<Value, Error> {
        match operand {
            Operand::Number(n) => Ok(Value::Number(*n)),
            Operand::Operation(operation) => self.operation(operation),
        }
    }

    fn series_operand(&self, operand: &Operand, operator: &str) -> Result<Series, Error> {
        match self.operand(operand)? {
            Value::Series(series) => Ok(series),
            Value::Number(_) => Err(Error::Unsupported(format!(
                "`{operator}` needs a time series, not a number"
            ))),
        }
    }

    fn operation(&self, operation: &Operation) -> Result<Value, Error> {
        Ok(Value::Series(match operation {
            Operation::Metric { references, .. } => self.metric(references),
            Operation::Aggregate { reducer, operand } => {
                let series = self.series_operand(operand, "aggregate")?;
                let rows = series.timestamps.len();
                let values = reduce_rows(reducer.function, &series.columns, rows);
                let timestamps = series.timestamps;
                reduced(
                    *reducer,
                    Series {
                        columns: vec![values],
                        aggregated: true,
                        timestamps,
                        ..series
                    },
                )
            }
            Operation::Rolling {
                reducer,
                window,
                operand,
            } => self.rolling(*reducer, *window, self.series_operand(operand, "rolling")?)?,
            Operation::Resample {
                reducer,
                sampling,
                operand,
            } => resample_series(
                *reducer,
                *sampling,
                self.series_operand(operand, "resample")?,
            )?,
            Operation::Binary {
                operator,
                left,
                right,
            } => {
                let (a, b) = (self.operand(left)?, self.operand(right)?);
                if let (Value::Series(s1), Value::Series(s2)) = (&a, &b)
                    && !s1.same_rows(s2)
                {
                    return Err(self.grid.unaggregable(format!(
                        "Can't compute timeseries with different granularity {} <> {}",
                        left.python_repr(),
                        right.python_repr()
                    )));
                }
                let function = operator.function;
                let both = matches!((&a, &b), (Value::Series(_), Value::Series(_)));
                return self.elementwise(&[a, b], both, |v| binary(function, v[0], v[1]));
            }
            Operation::Clip { operand, min, max } => {
                return self.clip(operand, min, max.as_deref());
            }
            Operation::Unary { operator, operand } => {
                let function = operator.function;
                match function {
                    UnaryFunction::RateOfChange => {
                        rate_of_change(self.series_operand(operand, operator.name)?)
                    }
                    UnaryFunction::RateOfChangeSec => {
                        rate_of_change_per_second(self.series_operand(operand, operator.name)?)
                    }
                    _ => {
                        let value = self.operand(operand)?;
                        return self.elementwise(&[value], false, |v| unary(function, v[0]));
                    }
                }
            }
        }))
    }

    /// The grid's columns whose lookup key the node names, in grid order.
    fn metric(&self, references: &[MetricRef]) -> Series {
        let columns = self
            .grid
            .lookup_keys
            .iter()
            .zip(&self.grid.columns)
            .filter(|(key, _)| references.contains(key))
            .map(|(_, column)| column.clone())
            .collect();
        Series {
            granularity: self.grid.granularity,
            timestamps: Rc::clone(&self.timestamps),
            columns,
            aggregated: false,
        }
    }

    fn rolling(&self, reducer: Reducer, window: usize, series: Series) -> Result<Series, Error> {
        let rows = series.timestamps.len();
        if window > rows {
            return Err(self.grid.unaggregable(format!(
                "Rolling window '{window}' is greater than serie length '{rows}'"
            )));
        }
        // numpy reduces each window as a contiguous array: pairwise sums.
        let columns = series
            .columns
            .iter()
            .map(|column| {
                column
                    .windows(window)
                    .map(|w| reduce(reducer.function, w, Summation::Pairwise))
                    .collect()
            })
            .collect();
        let timestamps = Rc::new(series.timestamps[window - 1..].to_vec());
        Ok(reduced(
            reducer,
            Series {
                timestamps,
                columns,
                ..series
            },
        ))
    }

    /// numpy's `clip(A, LO, HI)`, or `maximum(A, LO)` without `HI`.
    fn clip(
        &self,
        operand: &Operand,
        min: &Operand,
        max: Option<&Operand>,
    ) -> Result<Value, Error> {
        let mut values = vec![self.operand(operand)?, self.operand(min)?];
        if let Some(max) = max {
            values.push(self.operand(max)?);
        }
        if let [Value::Series(a), Value::Series(lo), Value::Series(hi)] = values.as_slice()
            && !a.same_rows(lo)
            && !lo.same_rows(hi)
        {
            // Gnocchi fails with an internal error here.
            return Err(Error::Unsupported(format!(
                "Can't compute timeseries with different granularity {} <> {} <> {}",
                operand.python_repr(),
                min.python_repr(),
                max.map(Operand::python_repr).unwrap_or_default()
            )));
        }
        // Only three series make the result aggregated: Gnocchi's check
        // looks at the third operand, absent from `(clip A LO)`.
        let all_series = values.len() == 3 && values.iter().all(|v| matches!(v, Value::Series(_)));
        if values.len() == 3 {
            self.elementwise(&values, all_series, |v| clip(v[0], v[1], v[2]))
        } else {
            self.elementwise(&values, false, |v| {
                binary(BinaryFunction::ClipMin, v[0], v[1])
            })
        }
    }

    /// Applies `function` cell by cell, numbers broadcast to every cell
    /// and single columns to every column. The rows are the first
    /// operand's when all are series, else those of the first series after
    /// the first operand, else the first operand's (Gnocchi's choice of
    /// timestamps). `aggregates` marks the result aggregated; it also is
    /// when an operand is.
    fn elementwise(
        &self,
        values: &[Value],
        aggregates: bool,
        function: impl Fn(&[f64]) -> f64,
    ) -> Result<Value, Error> {
        let series: Vec<&Series> = values
            .iter()
            .filter_map(|v| match v {
                Value::Series(s) => Some(s),
                Value::Number(_) => None,
            })
            .collect();
        let Some(&first) = series.first() else {
            let numbers: Vec<f64> = values
                .iter()
                .map(|v| match v {
                    Value::Number(n) => *n,
                    Value::Series(_) => unreachable!("no series among the values"),
                })
                .collect();
            return Ok(Value::Number(function(&numbers)));
        };
        let later_series = values[1..].iter().find_map(|v| match v {
            Value::Series(s) if series.len() < values.len() => Some(s),
            _ => None,
        });
        let shape_of = later_series.unwrap_or(first);
        let rows = shape_of.timestamps.len();
        let mut width = 1;
        for s in &series {
            let columns = s.columns.len();
            if s.timestamps.len() != rows || (columns != 1 && width != 1 && columns != width) {
                return Err(Error::Unsupported(format!(
                    "operands could not be broadcast together ({} rows × {} series, {} rows × {} series)",
                    rows,
                    width,
                    s.timestamps.len(),
                    columns
                )));
            }
            if columns != 1 {
                width = columns;
            }
        }
        let mut cells = vec![0.0; values.len()];
        let columns = (0..width)
            .map(|j| {
                (0..rows)
                    .map(|r| {
                        for (cell, value) in cells.iter_mut().zip(values) {
                            *cell = match value {
                                Value::Number(n) => *n,
                                Value::Series(s) => s.columns[j.min(s.columns.len() - 1)][r],
                            };
                        }
                        function(&cells)
                    })
                    .collect()
            })
            .collect();
        Ok(Value::Series(Series {
            granularity: shape_of.granularity,
            timestamps: Rc::clone(&shape_of.timestamps),
            columns,
            aggregated: aggregates || series.iter().any(|s| s.aggregated),
        }))
    }
}

impl Series {
    /// numpy's `array_equal` of the timestamps, and the same granularity.
    fn same_rows(&self, other: &Series) -> bool {
        self.granularity == other.granularity
            && (Rc::ptr_eq(&self.timestamps, &other.timestamps)
                || self.timestamps == other.timestamps)
    }
}

/// A reduced series; `rate:` reducers take the differences of
/// consecutive rows (one row fewer).
fn reduced(reducer: Reducer, series: Series) -> Series {
    if !reducer.rate {
        return series;
    }
    Series {
        timestamps: Rc::new(series.timestamps.iter().skip(1).copied().collect()),
        columns: series.columns.iter().map(|c| differences(c)).collect(),
        ..series
    }
}

fn differences(values: &[f64]) -> Vec<f64> {
    values.windows(2).map(|w| w[1] - w[0]).collect()
}

/// One value per row, reduced across the columns. numpy's grid is
/// column-major, so with several rows it adds the columns one after the
/// other; a single row is contiguous and summed pairwise.
fn reduce_rows(function: ReduceFunction, columns: &[Vec<f64>], rows: usize) -> Vec<f64> {
    let summation = if rows == 1 {
        Summation::Pairwise
    } else {
        Summation::Sequential
    };
    match function {
        ReduceFunction::Sum | ReduceFunction::Mean | ReduceFunction::Count
            if summation == Summation::Sequential =>
        {
            // The same order of additions as `reduce`, a column at a time.
            let mut sums = vec![0.0; rows];
            let mut counts = vec![0u32; rows];
            for column in columns {
                for ((sum, count), &v) in sums.iter_mut().zip(&mut counts).zip(column) {
                    if !v.is_nan() {
                        *sum += v;
                        *count += 1;
                    } else {
                        *sum += 0.0;
                    }
                }
            }
            match function {
                ReduceFunction::Sum => sums,
                ReduceFunction::Count => counts.into_iter().map(f64::from).collect(),
                _ => sums
                    .into_iter()
                    .zip(counts)
                    .map(|(sum, count)| sum / f64::from(count))
                    .collect(),
            }
        }
        _ => {
            let mut row = Vec::with_capacity(columns.len());
            (0..rows)
                .map(|r| {
                    row.clear();
                    row.extend(columns.iter().map(|c| c[r]));
                    reduce(function, &row, summation)
                })
                .collect()
        }
    }
}

/// `resample` on each column, with the archive's aggregation code.
fn resample_series(reducer: Reducer, sampling: Span, series: Series) -> Result<Series, Error> {
    let base = match reducer.function {
        ReduceFunction::Mean => BaseMethod::Mean,
        ReduceFunction::Median => BaseMethod::Median,
        ReduceFunction::Std => BaseMethod::Std,
        ReduceFunction::Min => BaseMethod::Min,
        ReduceFunction::Max => BaseMethod::Max,
        ReduceFunction::Sum => BaseMethod::Sum,
        ReduceFunction::Count => BaseMethod::Count,
        // Not an archive method: Gnocchi fails with an internal error.
        ReduceFunction::Var => {
            return Err(Error::Unsupported(
                "Unknown aggregation method `var' (resample cannot use var)".to_owned(),
            ));
        }
    };
    let method = AggregationMethod {
        rate: reducer.rate,
        base,
    };
    let mut timestamps = Rc::clone(&series.timestamps);
    let mut columns = Vec::with_capacity(series.columns.len());
    for column in series.columns {
        let points = Points {
            timestamps: series.timestamps.to_vec(),
            values: column,
        };
        let resampled = resample(&points, method, Sampling::Span(sampling))
            .expect("timespans resample any method");
        timestamps = Rc::new(resampled.timestamps);
        columns.push(resampled.values);
    }
    Ok(Series {
        granularity: sampling,
        timestamps,
        columns,
        aggregated: series.aggregated,
    })
}

fn rate_of_change(series: Series) -> Series {
    Series {
        timestamps: Rc::new(series.timestamps.iter().skip(1).copied().collect()),
        columns: series.columns.iter().map(|c| differences(c)).collect(),
        ..series
    }
}

/// Differences divided by the seconds between the rows; NaN on the first.
fn rate_of_change_per_second(series: Series) -> Series {
    let seconds: Vec<f64> = std::iter::once(f64::NAN)
        .chain(
            series
                .timestamps
                .windows(2)
                .map(|t| (t[1].nanos() - t[0].nanos()) as f64 / 1e9),
        )
        .collect();
    let rows = series.timestamps.len();
    let columns = series
        .columns
        .iter()
        .map(|column| {
            std::iter::once(f64::NAN)
                .chain(differences(column))
                .zip(&seconds)
                .take(rows)
                .map(|(d, s)| d / s)
                .collect()
        })
        .collect();
    Series { columns, ..series }
}

/// numpy's `remainder`: the sign of the divisor (floored modulo).
fn remainder(a: f64, b: f64) -> f64 {
    let modulo = a % b;
    if b == 0.0 {
        return modulo;
    }
    if modulo != 0.0 {
        if (b < 0.0) != (modulo < 0.0) {
            modulo + b
        } else {
            modulo
        }
    } else {
        0.0f64.copysign(b)
    }
}

fn boolean(condition: bool) -> f64 {
    if condition { 1.0 } else { 0.0 }
}

/// numpy's binary functions on float64, comparisons as 1.0 / 0.0.
fn binary(function: BinaryFunction, a: f64, b: f64) -> f64 {
    match function {
        BinaryFunction::Add => a + b,
        BinaryFunction::Subtract => a - b,
        BinaryFunction::Multiply => a * b,
        BinaryFunction::Divide => a / b,
        BinaryFunction::Modulo => remainder(a, b),
        BinaryFunction::Power => a.powf(b),
        BinaryFunction::Equal => boolean(a == b),
        BinaryFunction::NotEqual => boolean(a != b),
        BinaryFunction::Less => boolean(a < b),
        BinaryFunction::LessEqual => boolean(a <= b),
        BinaryFunction::Greater => boolean(a > b),
        BinaryFunction::GreaterEqual => boolean(a >= b),
        // numpy `maximum` / `minimum`: NaN on either side wins.
        BinaryFunction::ClipMin => {
            if a >= b || a.is_nan() {
                a
            } else {
                b
            }
        }
        BinaryFunction::ClipMax => {
            if a <= b || a.is_nan() {
                a
            } else {
                b
            }
        }
        // numpy `fmax`: NaN loses.
        BinaryFunction::Fmax => {
            if a >= b || b.is_nan() {
                a
            } else {
                b
            }
        }
    }
}

/// numpy's `clip`: `min(max(x, lo), hi)`, NaN propagating.
fn clip(x: f64, lo: f64, hi: f64) -> f64 {
    let raised = if x.is_nan() || x > lo { x } else { lo };
    if raised.is_nan() || raised < hi {
        raised
    } else {
        hi
    }
}

fn unary(function: UnaryFunction, x: f64) -> f64 {
    match function {
        UnaryFunction::Absolute => x.abs(),
        UnaryFunction::Negative => -x,
        UnaryFunction::Cos => x.cos(),
        UnaryFunction::Sin => x.sin(),
        UnaryFunction::Tan => x.tan(),
        UnaryFunction::Floor => x.floor(),
        UnaryFunction::Ceil => x.ceil(),
        UnaryFunction::RateOfChange | UnaryFunction::RateOfChangeSec => {
            unreachable!("row functions are not element-wise")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::aggregates::parse_operations;

    const S: i64 = 1_000_000_000;

    fn grid(columns: &[(&str, &[f64])]) -> Grid {
        let rows = columns[0].1.len();
        Grid {
            granularity: Span::from_secs(60),
            timestamps: (0..rows as i64)
                .map(|i| Timestamp::from_nanos(i * 60 * S))
                .collect(),
            columns: columns.iter().map(|(_, c)| c.to_vec()).collect(),
            lookup_keys: columns
                .iter()
                .map(|(name, _)| MetricRef {
                    reference: (*name).to_owned(),
                    aggregation: "mean".to_owned(),
                })
                .collect(),
        }
    }

    fn run(text: &str, columns: &[(&str, &[f64])]) -> Result<Series, Error> {
        evaluate(&parse_operations(text).unwrap(), grid(columns))
    }

    #[test]
    fn remainders_take_the_divisors_sign() {
        assert_eq!(remainder(-7.0, 3.0), 2.0);
        assert_eq!(remainder(7.0, -3.0), -2.0);
        assert_eq!(remainder(6.0, -3.0).to_bits(), (-0.0f64).to_bits());
        assert!(remainder(1.0, 0.0).is_nan());
    }

    #[test]
    fn series_and_numbers_broadcast() {
        let s = run(
            "(- (metric (a mean) (b mean)) (metric c mean))",
            &[("a", &[1.0, 2.0]), ("b", &[10.0, 20.0]), ("c", &[1.0, 1.0])],
        )
        .unwrap();
        assert!(s.aggregated);
        assert_eq!(s.columns, [vec![0.0, 1.0], vec![9.0, 19.0]]);
        let s = run(
            "(* 2 (metric (a mean) (b mean)))",
            &[("a", &[1.0]), ("b", &[3.0])],
        )
        .unwrap();
        assert!(!s.aggregated);
        assert_eq!(s.columns, [vec![2.0], vec![6.0]]);
    }

    #[test]
    fn rolling_and_rates_shorten_the_rows() {
        let s = run(
            "(rolling rate:sum 2 (metric a mean))",
            &[("a", &[1.0, 2.0, 4.0, 8.0])],
        )
        .unwrap();
        assert_eq!(s.columns, [vec![3.0, 6.0]]);
        assert_eq!(s.timestamps.len(), 2);
        let err = run("(rolling sum 5 (metric a mean))", &[("a", &[1.0, 2.0])]).unwrap_err();
        assert!(
            err.to_string()
                .contains("Rolling window '5' is greater than serie length '2'")
        );
        let s = run("(rateofchangesec (metric a mean))", &[("a", &[1.0, 7.0])]).unwrap();
        assert!(s.columns[0][0].is_nan());
        assert_eq!(s.columns[0][1], 0.1);
    }

    #[test]
    fn mismatched_rows_are_refused() {
        let err = run(
            "(- (rolling mean 2 (metric a mean)) (metric a mean))",
            &[("a", &[1.0, 2.0])],
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Metrics cannot be aggregated: Can't compute timeseries with different granularity \
             ['rolling', 'mean', 2, ['metric', 'a', 'mean']] <> ['metric', 'a', 'mean'] \
             (detail: [[\"a\", \"mean\"]])"
        );
    }
}
