//! The pure engine: Gnocchi's carbonara time series, their aggregation and
//! their v3 bytes. Bytes and numbers in, bytes and numbers out: no files,
//! no clocks, no threads.

pub mod aggregate;
pub mod backfill;
pub mod calendar;
pub mod codec;
pub mod derive;
pub mod erase;
pub mod lz4;
pub mod points;
pub mod resample;
pub mod split;
pub mod update;

pub use points::Points;
pub use resample::{Sampling, resample};
pub use split::SplitKey;
