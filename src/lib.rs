//! carbonara: Gnocchi's time-series engine as one Rust binary.
//!
//! Layers, each calling only the ones below it: `cli`, `server` → `ops` →
//! `process`, `query`, `ingest` → `store` → `carbonara`, `policy`, `time`. Nothing below `cli`
//! prints.
#![deny(clippy::print_stdout, clippy::print_stderr)]

pub mod carbonara;
pub mod cli;
pub mod diagnostics;
pub mod document;
pub mod error;
pub mod filter;
pub mod import_gnocchi;
pub mod ingest;
pub mod inspect;
pub mod janitor;
pub mod json;
pub mod ops;
pub mod policy;
pub mod process;
pub mod pyfmt;
pub mod query;
pub mod resource;
pub mod server;
pub mod statsd;
pub mod store;
pub mod time;
