//! Gnocchi's dynamic aggregates (`POST /v1/aggregates`,
//! docs/gnocchi-semantics.md#dynamic-aggregates):
//! an operations language evaluated over the stored aggregates of several
//! metrics, aligned on a grid per granularity.
//!
//! The pieces, each its own module:
//! * [`parse`]: operations text (string or JSON form) → untyped tree;
//! * [`validate`]: tree → [`Operation`], with Gnocchi's messages;
//! * [`references`]: which series the operations read, and the checks on
//!   their archive policies (metric-id mode and resource mode);
//! * [`grid`]: the series of one granularity aligned on their timestamps,
//!   filled, checked for overlap;
//! * [`eval`] (with [`reduce`]): the operators on the grid;
//! * [`output`]: the result as Gnocchi's response body;
//! * [`history`]: `use_history`'s windows, weights and sums.
//!
//! [`aggregate`] is the entry point: references in, measures out. The
//! deprecated `/v1/aggregation` endpoint is the same call with a fixed tree.

pub mod eval;
pub mod grid;
pub mod history;
pub mod operation;
pub mod output;
pub mod parse;
pub mod reduce;
pub mod references;
pub mod validate;

use std::fmt;
use std::str::FromStr;

use rayon::prelude::*;

use crate::carbonara::Points;
use crate::error::ErrorKind;
use crate::policy::Aggregation;
use crate::pyform;
use crate::pyform::json::Json;
use crate::store::Store;
use crate::time::{Span, Timestamp};

pub use operation::{MetricRef, Operand, Operation};
pub use output::{AggregatesResult, OutputKey, SeriesBlock};
pub use references::{Reference, ResourceMetrics};

/// The query parameters of `/v1/aggregates`, already parsed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AggregatesQuery {
    /// Each granularity's points from the bucket holding it.
    pub start: Option<Timestamp>,
    /// Exclusive.
    pub stop: Option<Timestamp>,
    /// Only this granularity; else those every reference's policy has.
    pub granularity: Option<Span>,
    pub fill: Fill,
}

/// What fills the grid's missing cells, and which results are dropped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Fill {
    /// Gnocchi's default: nothing filled, NaN and ±inf dropped from results.
    Dropna,
    /// Nothing filled, nothing dropped.
    Null,
    /// Missing cells take this value; nothing dropped.
    Value(f64),
    Ffill,
    Bfill,
    FullFfill,
    FullBfill,
    /// No fill: the series must overlap on this percentage of the rows
    /// (`needed_overlap` without `fill`).
    Overlap(f64),
}

impl Fill {
    pub const CHOICES: &'static str =
        "Must be a float, 'dropna', 'null', 'ffill', 'bfill', 'full_ffill' or 'full_bfill'";

    /// Gnocchi's defaults: `fill` wins; `needed_overlap` alone asks for the
    /// overlap check; neither means `dropna`.
    pub fn from_parameters(fill: Option<Fill>, needed_overlap: Option<f64>) -> Fill {
        match (fill, needed_overlap) {
            (Some(fill), _) => fill,
            (None, Some(overlap)) => Fill::Overlap(overlap),
            (None, None) => Fill::Dropna,
        }
    }

    /// Whether NaN and ±inf are dropped from the results.
    pub fn drops_non_finite(self) -> bool {
        matches!(
            self,
            Fill::Dropna | Fill::Ffill | Fill::Bfill | Fill::FullFfill | Fill::FullBfill
        )
    }
}

impl FromStr for Fill {
    type Err = String;
    /// Gnocchi's `FillSchema`: a number (anything Python's `float()`
    /// takes) or one of the mode names.
    fn from_str(text: &str) -> Result<Fill, String> {
        Ok(match text {
            "null" => Fill::Null,
            "dropna" => Fill::Dropna,
            "ffill" => Fill::Ffill,
            "bfill" => Fill::Bfill,
            "full_ffill" => Fill::FullFfill,
            "full_bfill" => Fill::FullBfill,
            other => Fill::Value(
                pyform::float::parse_python_float(other).ok_or_else(|| Fill::CHOICES.to_owned())?,
            ),
        })
    }
}

/// Errors with the cause, reason and detail of Gnocchi's HTTP errors, so a
/// server can answer with the same bodies.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    Query(#[from] super::Error),
    /// The string form did not parse (pyparsing's message).
    InvalidOperationsString(String),
    /// The JSON form did not parse (carbonara reads JSON itself).
    InvalidOperationsJson(String),
    /// The tree is not a valid operation (voluptuous's message).
    InvalidInput {
        reason: String,
        detail: Vec<String>,
    },
    /// No `metric` node anywhere.
    NoMetric(Json),
    /// A reference is neither a metric id nor (carbonara) a metric name.
    InvalidReferences {
        reason: String,
        references: Vec<MetricRef>,
    },
    UnknownMetrics(Vec<String>),
    UnknownAggregation {
        metric: String,
        aggregation: String,
    },
    /// "Metrics cannot be aggregated": no common granularity, a missing
    /// one, no overlap, a rolling window too long, mismatched operands.
    Unaggregable {
        reason: String,
        detail: Json,
    },
    /// Resource mode: no metric of any resource matches the patterns.
    NoSuchMetric(Vec<String>),
    /// What Gnocchi answers with an internal error; refused cleanly here.
    Unsupported(String),
}

impl Error {
    /// Gnocchi answers 404 to metrics and aggregations it does not find,
    /// 400 to the rest.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Query(e) => e.kind(),
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::UnknownMetrics(_)
            | Error::UnknownAggregation { .. }
            | Error::NoSuchMetric(_) => ErrorKind::NotFound,
            Error::InvalidOperationsString(_)
            | Error::InvalidOperationsJson(_)
            | Error::InvalidInput { .. }
            | Error::NoMetric(_)
            | Error::InvalidReferences { .. }
            | Error::Unaggregable { .. } => ErrorKind::Invalid,
        }
    }

    /// The HTTP status Gnocchi answers with.
    pub fn status(&self) -> u16 {
        self.kind().http_status()
    }

    /// The `description` of Gnocchi's error body.
    pub fn description(&self) -> Json {
        let cause = |cause: &str, reason: Option<&str>, detail: Json| {
            let mut fields = vec![("cause", Json::str(cause))];
            if let Some(reason) = reason {
                fields.push(("reason", Json::str(reason)));
            }
            fields.push(("detail", detail));
            Json::object(fields)
        };
        let pairs = |references: &[MetricRef]| {
            Json::Array(
                references
                    .iter()
                    .map(|r| Json::Array(vec![Json::str(&r.reference), Json::str(&r.aggregation)]))
                    .collect(),
            )
        };
        match self {
            Error::Query(e) => Json::str(e.to_string()),
            Error::Unsupported(message) => Json::str(message),
            Error::InvalidOperationsString(message) => cause(
                "Invalid operations",
                Some("Fail to parse the operations string"),
                Json::str(message),
            ),
            Error::InvalidOperationsJson(message) => cause(
                "Invalid operations",
                Some("Fail to parse the operations JSON"),
                Json::str(message),
            ),
            Error::InvalidInput { reason, detail } => cause(
                "Invalid input",
                Some(reason),
                Json::Array(detail.iter().map(Json::str).collect()),
            ),
            Error::NoMetric(operations) => cause(
                "Operations is invalid",
                Some("At least one 'metric' is required"),
                operations.clone(),
            ),
            Error::InvalidReferences { reason, references } => {
                cause("Invalid metric references", Some(reason), pairs(references))
            }
            Error::UnknownMetrics(ids) => cause(
                "Unknown metrics",
                Some("Provided metrics don't exists"),
                Json::Array(ids.iter().map(Json::str).collect()),
            ),
            Error::UnknownAggregation {
                metric,
                aggregation,
            } => cause(
                "Metrics with unknown aggregation",
                None,
                Json::Array(vec![Json::Array(vec![
                    Json::str(metric),
                    Json::str(aggregation),
                ])]),
            ),
            Error::Unaggregable { reason, detail } => {
                cause("Metrics cannot be aggregated", Some(reason), detail.clone())
            }
            Error::NoSuchMetric(patterns) => Json::str(no_such_metric(patterns)),
        }
    }
}

/// `Metric ['a', 'b'] does not exist`: Python's repr of the sorted list.
fn no_such_metric(patterns: &[String]) -> String {
    let names: Vec<String> = patterns
        .iter()
        .map(|p| crate::pyform::fmt::str_repr(p))
        .collect();
    format!("Metric [{}] does not exist", names.join(", "))
}

impl fmt::Display for Error {
    /// `cause: reason (detail)`, the parts of Gnocchi's error body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.description() {
            Json::Str(message) => f.write_str(&message),
            Json::Object(fields) => {
                let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v);
                if let Some(Json::Str(cause)) = field("cause") {
                    f.write_str(cause)?;
                }
                if let Some(Json::Str(reason)) = field("reason") {
                    write!(f, ": {reason}")?;
                }
                match field("detail") {
                    Some(Json::Str(detail)) => write!(f, ": {detail}"),
                    Some(detail) => write!(f, " (detail: {})", detail.to_python_string()),
                    None => Ok(()),
                }
            }
            other => f.write_str(&other.to_python_string()),
        }
    }
}

/// Parses operations as given on the command line or in a request body:
/// JSON when the text starts with `[` or `{`, else the string form.
pub fn parse_operations(text: &str) -> Result<Operation, Error> {
    let trimmed = text.trim_start();
    let item = if trimmed.starts_with('[') || trimmed.starts_with('{') {
        parse::parse_json(trimmed).map_err(Error::InvalidOperationsJson)?
    } else {
        parse::parse_string(text).map_err(Error::InvalidOperationsString)?
    };
    let operation = validate::validate(&item)?;
    if operation.references().is_empty() {
        return Err(Error::NoMetric(operation.to_json()));
    }
    Ok(operation)
}

/// Where the aggregates of the references are read from.
pub trait SeriesSource: Sync {
    /// The stored points of some aggregations of one reference's metric,
    /// each cut to `[round_down(start), stop)`
    /// (docs/gnocchi-semantics.md#reading-aggregates-back);
    /// empty when the metric has no data.
    fn read(
        &self,
        reference: &Reference,
        aggregations: &[Aggregation],
        start: Option<Timestamp>,
        stop: Option<Timestamp>,
    ) -> Result<Vec<Points>, Error>;
}

impl SeriesSource for Store {
    fn read(
        &self,
        reference: &Reference,
        aggregations: &[Aggregation],
        start: Option<Timestamp>,
        stop: Option<Timestamp>,
    ) -> Result<Vec<Points>, Error> {
        Ok(super::measures::read_aggregations(
            self,
            reference.metric,
            aggregations,
            start,
            stop,
        )?)
    }
}

/// Evaluates `operations` over the series of `references`: granularities
/// chosen and checked (docs/gnocchi-semantics.md#granularities), one grid per
/// granularity,
/// the tree evaluated on each, coarsest granularity first.
pub fn aggregate(
    source: &impl SeriesSource,
    operations: &Operation,
    references: &[Reference],
    query: &AggregatesQuery,
) -> Result<AggregatesResult, Error> {
    let granularities = references::granularities(references, query.granularity)?;
    // Every reference at every granularity, the references in parallel.
    let mut series = references
        .par_iter()
        .map(|reference| {
            let aggregations: Vec<Aggregation> = granularities
                .iter()
                .map(|&g| {
                    reference
                        .aggregation(g)
                        .expect("granularities() checked every reference stores them")
                })
                .collect();
            source.read(reference, &aggregations, query.start, query.stop)
        })
        .collect::<Result<Vec<Vec<Points>>, Error>>()?;
    let lookup_keys: Vec<MetricRef> = references.iter().map(|r| r.lookup_key.clone()).collect();
    let mut results = Vec::with_capacity(granularities.len());
    for (i, &granularity) in granularities.iter().enumerate() {
        let columns: Vec<Points> = series
            .iter_mut()
            .map(|s| std::mem::take(&mut s[i]))
            .collect();
        let grid = grid::Grid::align(granularity, &columns, lookup_keys.clone(), query)?;
        results.push((granularity, eval::evaluate(operations, grid)?));
    }
    output::shape(references, results, query.fill)
}

/// The attribute values a group of resources shares (`{"project_id": "P1"}`).
pub type GroupKey = Vec<(String, Json)>;

/// A group of resources and its key.
pub struct Group {
    pub key: GroupKey,
    pub resources: Vec<ResourceMetrics>,
}

/// Resource mode: each resource's metrics matching the operations'
/// patterns are the references (docs/gnocchi-semantics.md#resource-mode).
pub fn aggregate_resources(
    source: &impl SeriesSource,
    operations: &Operation,
    resources: &[ResourceMetrics],
    query: &AggregatesQuery,
) -> Result<AggregatesResult, Error> {
    let references = references::resource_references(operations, resources);
    if references.is_empty() {
        return Err(Error::NoSuchMetric(references::patterns(operations)));
    }
    aggregate(source, operations, &references, query)
}

/// Resource mode with `groupby`: each group evaluated on its own; groups
/// without a matching metric are left out, and if that leaves none, the
/// patterns do not exist (docs/gnocchi-semantics.md#resource-mode).
pub fn aggregate_groups(
    source: &impl SeriesSource,
    operations: &Operation,
    groups: &[Group],
    query: &AggregatesQuery,
) -> Result<Vec<(GroupKey, AggregatesResult)>, Error> {
    let mut results = Vec::new();
    for group in groups {
        match aggregate_resources(source, operations, &group.resources, query) {
            Ok(result) => results.push((group.key.clone(), result)),
            Err(Error::NoSuchMetric(_)) => {}
            Err(other) => return Err(other),
        }
    }
    if results.is_empty() {
        return Err(Error::NoSuchMetric(references::patterns(operations)));
    }
    Ok(results)
}
