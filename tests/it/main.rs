//! Integration tests, linked into one binary: each module exercises one
//! area, most of them by running the real binary on a fresh temporary store.

mod aggregates;
mod cli;
mod common;
mod crash;
mod generated;
mod golden;
mod ingest;
mod measures;
mod metric;
mod policy;
mod queries;
