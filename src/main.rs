//! The `carbonara` binary: parses the command line, runs it, and turns the
//! outcome into an exit code (0 ok, 1 error, 2 usage). A closed stdout pipe
//! exits quietly with 0.

#![forbid(unsafe_code)]

use std::error::Error as _;
use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use carbonara::cli::{self, Cli};
use carbonara::error::Error;

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
            if !matches!(error, Error::Output(_)) || code != 0 {
                let mut stderr = std::io::stderr().lock();
                let _ = writeln!(stderr, "carbonara: error: {error}");
                let mut source = error.source();
                while let Some(cause) = source {
                    let _ = writeln!(stderr, "  caused by: {cause}");
                    source = cause.source();
                }
            }
            ExitCode::from(code)
        }
    }
}
