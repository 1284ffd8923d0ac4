//! carbonara: Gnocchi's time-series engine as one Rust binary.
//!
//! Layers, each calling only the ones below it: `cli` → `server`, `statsd` →
//! `ops`, `chart` (charts of what `query` reads) → `process` (with its `janitor`, and `worker`, the loop of `metricd`), `query`, `ingest`, `inspect` (with
//! `import_gnocchi`) → `store` → `deployment` → `filter` → `resource` →
//! `carbonara` → `policy` → `time` → `pyform`. `pyform`, Gnocchi's text forms, is at the
//! bottom but for its `document`, which renders the objects of `store`,
//! `query` and `resource` for `ops`, `server` and `cli`. `error` gathers every
//! layer's error into the one the binary reports and classifies it by kind.
//! Nothing below `cli` prints; `diagnostics` is the one way below it to
//! write a line on stderr (the server's and the statsd daemon's logs).
//! `fuzz` holds the fuzz targets' bodies, calling the parsers of every
//! layer and the server.
#![deny(clippy::print_stdout, clippy::print_stderr)]
#![forbid(unsafe_code)]

pub mod carbonara;
pub mod chart;
pub mod cli;
pub mod deployment;
pub mod diagnostics;
pub mod error;
pub mod filter;
pub mod fuzz;
pub mod ingest;
pub mod inspect;
pub mod ops;
pub mod policy;
pub mod process;
pub mod pyform;
pub mod query;
pub mod resource;
pub mod server;
pub mod statsd;
pub mod store;
pub mod time;
