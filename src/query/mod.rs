//! Reading aggregates back: what Gnocchi's measures endpoint returns
//! (`measures`) and its dynamic aggregates (`aggregates`).

pub mod aggregates;
pub mod measures;

pub use measures::{Measure, Measures, MeasuresQuery, get_measures};

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
}
