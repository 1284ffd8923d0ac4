//! Input formats → measures for metrics. One file per format; each parser
//! reads its input as a stream and hands every measure, and every bad line,
//! to a `Sink`: the store's `MeasureWriter`, or a `MeasureBatch` in memory.
//! Parsers know nothing of the store.

pub mod batch;
pub mod ceilometer;
pub mod csv;
pub mod influx;
pub mod input;
pub mod json_location;
pub mod prometheus;
pub mod statsd;
pub mod writer;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::ErrorKind;
use crate::policy::ArchivePolicy;
use crate::resource::{AttributeValue, ResourceType};
use crate::store::{self, Index, Store};
use crate::time::Timestamp;
pub use input::Input;
pub use writer::{MeasureWriter, StoreReport, WriterOptions};

/// Measures by metric name, in the order the names first came.
pub type MeasuresByName = indexmap::IndexMap<String, Vec<(Timestamp, f64)>>;

/// Bad input, located so the user can go straight to it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}: field `{field}`: {reason}")]
pub struct ParseError {
    pub path: PathBuf,
    pub line: u64,
    pub field: String,
    pub reason: String,
}

impl ParseError {
    /// Makes the errors of one input: `error(line, field, reason)`.
    pub fn locator(path: &Path) -> impl Fn(u64, &str, String) -> ParseError + '_ {
        move |line, field, reason| ParseError {
            path: path.to_owned(),
            line,
            field: field.to_owned(),
            reason,
        }
    }
}

/// Why a sink did not take a measure or a declaration.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// The store refuses what the input asks (a metric that does not
    /// exist, a name no rule gives a policy): the line is bad.
    #[error("{0}")]
    Rejected(String),
    /// The store failed: the input ends here, even with `--skip-invalid`.
    #[error(transparent)]
    Store(store::Error),
}

impl SinkError {
    /// Why the line is bad; a store failure ends the input.
    pub fn rejected(self) -> Result<String, store::Error> {
        match self {
            SinkError::Rejected(reason) => Ok(reason),
            SinkError::Store(error) => Err(error),
        }
    }

    /// The bad line `locate` makes of the reason, or the store failure.
    pub fn at(self, locate: impl FnOnce(String) -> ParseError) -> ReadError {
        match self {
            SinkError::Rejected(reason) => ReadError::Parse(locate(reason)),
            SinkError::Store(error) => ReadError::Store(error),
        }
    }
}

impl From<store::Error> for SinkError {
    /// An outcome of what the input asked for rejects its line; a failure
    /// of the store, or a store held by another process, does not.
    fn from(error: store::Error) -> SinkError {
        match error.kind() {
            ErrorKind::NotFound | ErrorKind::Conflict | ErrorKind::Invalid | ErrorKind::Usage => {
                SinkError::Rejected(error.to_string())
            }
            ErrorKind::Busy | ErrorKind::Unsupported | ErrorKind::Internal | ErrorKind::Closed => {
                SinkError::Store(error)
            }
        }
    }
}

/// Why reading an input stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A bad line the sink did not let the parser skip.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::Error),
}

impl ReadError {
    /// The bad line to refuse; a store failure ends the input.
    pub fn bad_line(self) -> Result<ParseError, store::Error> {
        match self {
            ReadError::Parse(error) => Ok(error),
            ReadError::Store(error) => Err(error),
        }
    }
}

/// What to do when a resource an input names does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissingResource<'a> {
    /// It is an error (`Unknown resources`).
    Refuse,
    /// Create it, of this type; an existing resource must be of this type.
    Create(&'a str),
    /// Create it, of this type; an existing resource of any type will do.
    CreateOrUse(&'a str),
}

/// A named metric of a resource, and how to create the metric if missing.
#[derive(Debug, Clone, Copy)]
pub struct NamedMetric<'a> {
    /// The resource id as the input gives it.
    pub resource: &'a str,
    pub missing_resource: MissingResource<'a>,
    pub name: &'a str,
    pub archive_policy_name: Option<&'a str>,
    pub unit: Option<&'a str>,
}

/// What an input says must exist besides measures.
#[derive(Debug, Clone, Copy)]
pub enum Declaration<'a> {
    /// Created unless a policy of that name exists.
    ArchivePolicy(&'a ArchivePolicy),
    /// Created unless a type of that name exists.
    ResourceType(&'a ResourceType),
    /// The fields of a resource the input names: given to it at creation,
    /// or set on it (a new revision if anything changes).
    Resource {
        id: &'a str,
        type_name: &'a str,
        user_id: Option<&'a str>,
        project_id: Option<&'a str>,
        attributes: &'a [(String, AttributeValue)],
    },
}

/// Where a parser's measures go.
pub trait Sink {
    /// A measure for the metric with this id or name. An error says why the
    /// metric cannot take it (it does not exist, no rule gives it a policy),
    /// or that the store failed.
    fn measure(&mut self, metric: &str, timestamp: Timestamp, value: f64) -> Result<(), SinkError>;

    /// A measure for a named metric of a resource.
    fn named_measure(
        &mut self,
        target: &NamedMetric<'_>,
        timestamp: Timestamp,
        value: f64,
    ) -> Result<(), SinkError>;

    /// Something that must exist for the measures.
    fn declare(&mut self, declaration: Declaration<'_>) -> Result<(), SinkError>;

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

impl ParseSummary {
    /// Counts a bad line and hands it to the sink, which says whether the
    /// input goes on.
    pub fn refuse(&mut self, sink: &mut impl Sink, error: ParseError) -> Result<(), ParseError> {
        self.invalid += 1;
        sink.invalid(error)
    }
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

/// Keeps metric names and measures only: named metrics go under
/// `resource/name`, declarations are not kept.
impl Sink for MeasureBatch {
    fn measure(&mut self, metric: &str, timestamp: Timestamp, value: f64) -> Result<(), SinkError> {
        self.add(metric, timestamp, value);
        Ok(())
    }

    fn named_measure(
        &mut self,
        target: &NamedMetric<'_>,
        timestamp: Timestamp,
        value: f64,
    ) -> Result<(), SinkError> {
        self.add(
            &format!("{}/{}", target.resource, target.name),
            timestamp,
            value,
        );
        Ok(())
    }

    fn declare(&mut self, _: Declaration<'_>) -> Result<(), SinkError> {
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
    let mut writer = MeasureWriter::new(store, index, WriterOptions::measures_only(), now)?;
    for (reference, measures) in &batch.measures {
        for &(timestamp, value) in measures {
            writer.add(reference, timestamp, value)?;
        }
    }
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_input_asks_rejects_a_line_and_a_store_failure_ends_the_input() {
        let missing = SinkError::from(store::Error::MetricNotFound("cpu".into()));
        assert_eq!(missing.rejected().unwrap(), "Metric cpu does not exist");
        let io = store::Error::Io {
            path: "incoming".into(),
            source: std::io::Error::from(std::io::ErrorKind::StorageFull),
        };
        let failed = SinkError::from(io).at(|reason| ParseError {
            path: "in.csv".into(),
            line: 1,
            field: "value".into(),
            reason,
        });
        assert!(matches!(failed.bad_line(), Err(store::Error::Io { .. })));
    }
}
