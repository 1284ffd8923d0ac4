//! The program's one error type: wraps each layer's error and is the only
//! place that picks an exit code (0 ok, 1 error, 2 usage; clap exits 2 on
//! its own).

use std::io;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error(transparent)]
    Process(#[from] crate::process::Error),
    #[error(transparent)]
    Query(#[from] crate::query::Error),
    #[error(transparent)]
    Aggregates(#[from] crate::query::aggregates::Error),
    #[error(transparent)]
    Import(#[from] crate::inspect::import_gnocchi::ImportError),
    #[error(transparent)]
    Parse(#[from] crate::ingest::ParseError),
    #[error(transparent)]
    Policy(#[from] crate::policy::PolicyError),
    #[error(transparent)]
    Time(#[from] crate::time::TimeError),
    #[error(transparent)]
    Resource(#[from] crate::resource::ResourceError),
    #[error(transparent)]
    Filter(#[from] crate::filter::FilterError),
    #[error(transparent)]
    Ops(#[from] crate::ops::Error),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    /// Writing the output failed (a closed pipe is not reported).
    #[error("writing output: {0}")]
    Output(io::Error),
    /// Bad arguments that clap cannot see (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The command ran but some of its work failed; already reported.
    #[error("{0}")]
    Failed(String),
}

impl Error {
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => 2,
            Error::Ops(e) if e.is_usage() => 2,
            Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
