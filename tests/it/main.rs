//! Integration tests, linked into one binary: each module exercises one
//! area, most of them by running the real binary on a fresh temporary store.

mod cli;
mod common;
mod crash;
mod generated;
mod golden;
mod influx;
mod ingest;
mod measures;
mod metric;
mod policy;
mod real_gnocchi;
mod resource;
mod resource_type;
mod search;
mod serve;
mod serve_client;
mod serve_common;
mod serve_real;
mod statsd;
