//! Integration tests, linked into one binary: each module exercises one
//! area, most of them by running the real binary on a fresh temporary store.

mod aggregates;
mod batch;
mod ceilometer;
mod cli;
mod common;
mod coordinator;
mod crash;
mod deployment;
mod dump;
mod examples;
mod generated;
mod gnocchi_schema;
mod golden;
mod hostile;
mod import;
mod index;
mod influx;
mod info;
mod ingest;
mod install;
mod measures;
mod metric;
mod operate;
mod policy;
mod postgresql;
mod process;
mod queries;
mod real_gnocchi;
mod resource;
mod resource_type;
mod search;
mod serve;
mod side_by_side;
mod statsd;
mod verify;
