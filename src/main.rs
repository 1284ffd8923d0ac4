//! The `carbonara` binary: parses the command line, runs it, and turns the
//! outcome into an exit code (0 ok, 1 error, 2 usage). A closed stdout pipe
//! exits quietly with 0.
//!
//! An error is printed as one line, its message alone: every message already
//! says its cause (as std's, rusqlite's and serde_json's do), so walking
//! `source()` as well would say each cause twice.

#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;

use carbonara::cli::{self, Cli};
use carbonara::error::ErrorKind;

/// mimalloc keeps freed memory for reuse; glibc hands large blocks back to
/// the kernel, so every batch paid page faults again for its columns.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            let code = error.exit_code();
            if error.kind() != ErrorKind::Closed {
                // One write: a line cut by a failing write would not say
                // what failed.
                carbonara::diagnostics::warn(&format!("carbonara: error: {error}"));
            }
            ExitCode::from(code)
        }
    }
}
