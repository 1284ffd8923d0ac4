//! Reading back: what Gnocchi's measures endpoint returns, its dynamic
//! aggregates, resource searches, measure value searches and top-N
//! rankings.

pub mod aggregates;
pub mod measures;
pub mod search;
pub mod top;

pub use measures::{Measure, Measures, MeasuresQuery, get_measures, get_measures_locked};
pub use search::{MeasurePredicate, MeasureSearch, search_measures, search_resources};

use crate::error::ErrorKind;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("Aggregation method '{method}' does not exist for metric {metric}")]
    UnknownAggregation { metric: uuid::Uuid, method: String },
    #[error(
        "Aggregation method '{method}' at granularity '{granularity}' for metric {metric} does not exist"
    )]
    UnknownGranularity {
        metric: uuid::Uuid,
        method: String,
        granularity: String,
    },
    #[error("A granularity must be specified to resample")]
    ResampleNeedsGranularity,
    #[error(transparent)]
    Resample(#[from] crate::carbonara::resample::ResampleError),
    /// A measure value search that Gnocchi's schema refuses.
    #[error("{0}")]
    InvalidSearch(String),
    #[error(
        "Aggregation does not exist: metric {metric} has no {method} aggregation at granularity {granularity}"
    )]
    AggregationDoesNotExist {
        metric: uuid::Uuid,
        method: String,
        granularity: String,
    },
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Store(e) => e.kind(),
            Error::UnknownAggregation { .. } | Error::UnknownGranularity { .. } => {
                ErrorKind::NotFound
            }
            // A rate resampled by calendar periods: an internal error in
            // Gnocchi, a bad request here.
            Error::ResampleNeedsGranularity
            | Error::Resample(_)
            | Error::InvalidSearch(_)
            | Error::AggregationDoesNotExist { .. } => ErrorKind::Invalid,
        }
    }
}
