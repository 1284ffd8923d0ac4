//! The program's one error type, which wraps each layer's error, and
//! `ErrorKind`, the one fact about an error that its exit code (0 ok, 1
//! error, 2 usage; clap exits 2 on its own) and its HTTP status are derived
//! from.
//!
//! Each layer's error has a `kind()` written as a match with no wildcard
//! arm, so a new variant does not build until it is classified; the two
//! mappings below are the only places a kind becomes a number.
//!
//! Every message says its own cause (`{path}: {source}`), as std's,
//! rusqlite's and serde_json's do: an error is printed as its message
//! alone, never followed by its `source()` chain.

use std::io;
use std::path::PathBuf;

/// What kind of failure an error is: whose doing it is and what the caller
/// can do about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// What the input names does not exist.
    NotFound,
    /// What the input would create exists already.
    Conflict,
    /// The input is refused as it stands: a bad value, a name no rule
    /// matches, a change Gnocchi does not allow. Gnocchi answers some
    /// lookups with a 400 rather than a 404; those are `Invalid` too.
    Invalid,
    /// Arguments the command line parser cannot check.
    Usage,
    /// Another process holds what is needed; try again later.
    Busy,
    /// What Gnocchi fails on with an internal error (a 500 with the
    /// message), refused here with the reason.
    Unsupported,
    /// The store cannot be used as it is, or it or the system failed: I/O,
    /// a corrupt file or index, threads that would not start. Not the
    /// caller's doing.
    Internal,
    /// The reader of the output went away (a closed pipe): nothing is
    /// wrong and nothing is said.
    Closed,
}

impl ErrorKind {
    /// The process's exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Closed => 0,
            ErrorKind::NotFound
            | ErrorKind::Conflict
            | ErrorKind::Invalid
            | ErrorKind::Busy
            | ErrorKind::Unsupported
            | ErrorKind::Internal => 1,
            ErrorKind::Usage => 2,
        }
    }

    /// The status of the REST API's answer, Gnocchi's where Gnocchi has
    /// one. An internal error's answer does not show its message.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorKind::Invalid | ErrorKind::Usage => 400,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::Unsupported | ErrorKind::Internal | ErrorKind::Closed => 500,
            ErrorKind::Busy => 503,
        }
    }
}

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
    #[error(transparent)]
    Deployment(#[from] crate::deployment::Error),
    #[error(transparent)]
    Chart(#[from] crate::chart::Error),
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
    /// A lower layer's error said in the command line's words (the name
    /// as typed, the valid choices): `cli::words` makes it and keeps the
    /// original's kind, so the exit code stays the same.
    #[error("{message}")]
    Reworded { kind: ErrorKind, message: String },
}

/// An input that stopped at a bad line or at a store failure.
impl From<crate::ingest::ReadError> for Error {
    fn from(error: crate::ingest::ReadError) -> Error {
        match error {
            crate::ingest::ReadError::Parse(e) => Error::Parse(e),
            crate::ingest::ReadError::Store(e) => Error::Store(e),
        }
    }
}

impl Error {
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Store(e) => e.kind(),
            Error::Process(e) => e.kind(),
            Error::Query(e) => e.kind(),
            Error::Aggregates(e) => e.kind(),
            Error::Import(e) => e.kind(),
            Error::Parse(_)
            | Error::Policy(_)
            | Error::Time(_)
            | Error::Resource(_)
            | Error::Filter(_) => ErrorKind::Invalid,
            Error::Ops(e) => e.kind(),
            Error::Deployment(e) => e.kind(),
            Error::Chart(e) => e.kind(),
            Error::Output(e) if e.kind() == io::ErrorKind::BrokenPipe => ErrorKind::Closed,
            Error::Io { .. } | Error::Output(_) | Error::Failed(_) => ErrorKind::Internal,
            Error::Usage(_) => ErrorKind::Usage,
            Error::Reworded { kind, .. } => *kind,
        }
    }

    pub fn exit_code(&self) -> u8 {
        self.kind().exit_code()
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_has_one_exit_code_and_one_status() {
        let table = [
            (ErrorKind::NotFound, 1, 404),
            (ErrorKind::Conflict, 1, 409),
            (ErrorKind::Invalid, 1, 400),
            (ErrorKind::Usage, 2, 400),
            (ErrorKind::Busy, 1, 503),
            (ErrorKind::Unsupported, 1, 500),
            (ErrorKind::Internal, 1, 500),
            (ErrorKind::Closed, 0, 500),
        ];
        for (kind, exit_code, status) in table {
            assert_eq!(
                (kind.exit_code(), kind.http_status()),
                (exit_code, status),
                "{kind:?}"
            );
        }
    }

    #[test]
    fn a_closed_pipe_exits_0_and_a_usage_mistake_2() {
        let closed = Error::Output(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(closed.exit_code(), 0);
        let full = Error::Output(io::Error::from(io::ErrorKind::StorageFull));
        assert_eq!(full.exit_code(), 1);
        assert_eq!(Error::Usage("x".into()).exit_code(), 2);
        assert_eq!(
            Error::from(crate::ops::Error::EmptyDeleteFilter).exit_code(),
            2
        );
        let missing = crate::store::Error::MetricNotFound("cpu".into());
        assert_eq!(Error::from(missing).exit_code(), 1);
    }
}
