//! Input formats → measures for named metrics, and storing a parsed batch
//! in the sacks atomically. One file per format; each parser turns bytes
//! into a `MeasureBatch` and knows nothing of the store.

pub mod csv;
pub mod writer;

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::store::{self, Index, Store};
use crate::time::Timestamp;
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

/// Measures per metric reference (a metric id or name), in input order.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct MeasureBatch {
    pub measures: BTreeMap<String, Vec<(Timestamp, f64)>>,
    /// Input lines read (data and header).
    pub lines: u64,
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

/// Stores a whole batch in the sacks, one file per metric, in one
/// transaction: either every measure is accepted or none. Every metric
/// must exist.
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
