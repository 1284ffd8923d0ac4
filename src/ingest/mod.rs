//! Input formats → measures for metrics. One file per format; each parser
//! reads its input as a stream and hands every measure, and every bad line,
//! to a `Sink`: the store's `MeasureWriter`, or a `MeasureBatch` in memory.
//! Parsers know nothing of the store.

pub mod csv;
pub mod influx;
pub mod input;
pub mod statsd;
pub mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::store::{self, Index, Store};
use crate::time::Timestamp;
pub use input::Input;
pub use writer::{CreateMetrics, MeasureWriter, StoreReport};

/// Bad input, located so the user can go straight to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: field `{field}`: {reason}")]
pub struct ParseError {
    pub path: PathBuf,
    pub line: u64,
    pub field: String,
    pub reason: String,
}

/// Where a parser's measures go.
pub trait Sink {
    /// A measure for the metric with this id or name. An error says why the
    /// metric cannot take it (it does not exist, no rule gives it a policy).
    fn measure(&mut self, metric: &str, timestamp: Timestamp, value: f64) -> Result<(), String>;

    /// A bad line. `Ok` lets the parser go on with the next one
    /// (`--skip-invalid`); `Err` ends the input, and nothing of it is kept.
    fn invalid(&mut self, error: ParseError) -> Result<(), ParseError>;

    /// The parser has read `lines` lines so far (called now and then, for
    /// progress reports).
    fn lines_read(&mut self, _lines: u64) {}
}

/// How many lines a parser read and how many it found bad.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ParseSummary {
    pub lines: u64,
    pub invalid: u64,
}

/// Measures per metric reference (a metric id or name), in input order:
/// a sink for small inputs and tests. The first bad line is an error.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MeasureBatch {
    pub measures: BTreeMap<String, Vec<(Timestamp, f64)>>,
}

impl MeasureBatch {
    pub fn add(&mut self, metric: &str, timestamp: Timestamp, value: f64) {
        match self.measures.get_mut(metric) {
            Some(measures) => measures.push((timestamp, value)),
            None => {
                self.measures
                    .insert(metric.to_owned(), vec![(timestamp, value)]);
            }
        }
    }

    pub fn measure_count(&self) -> usize {
        self.measures.values().map(Vec::len).sum()
    }
}

impl Sink for MeasureBatch {
    fn measure(&mut self, metric: &str, timestamp: Timestamp, value: f64) -> Result<(), String> {
        self.add(metric, timestamp, value);
        Ok(())
    }

    fn invalid(&mut self, error: ParseError) -> Result<(), ParseError> {
        Err(error)
    }
}

/// Stores a whole batch in the sacks in one transaction: either every
/// measure is accepted or none. Every metric must exist.
pub fn store_batch(
    store: &Store,
    index: &Index,
    batch: &MeasureBatch,
    now: Timestamp,
) -> Result<StoreReport, store::Error> {
    let mut writer = MeasureWriter::new(store, index, None, now)?;
    for (reference, measures) in &batch.measures {
        for &(timestamp, value) in measures {
            writer.add(reference, timestamp, value)?;
        }
    }
    writer.finish()
}
