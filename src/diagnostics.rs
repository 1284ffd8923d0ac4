//! The one way code below `cli/` speaks to the operator: lines on stderr.
//! The engine returns errors and reports to its caller and prints nothing;
//! only what has no caller to go back to (a server's internal error, the
//! background aggregation pass, what gnocchi-statsd would log) comes here.
//! The command line's own notes and warnings are `cli::Ctx`'s.

use std::io::Write;

/// Writes `text` and a newline to stderr in one write, so that the lines
/// of two threads do not interleave. A stderr that cannot be written to is
/// ignored: there is nowhere else to say it.
#[allow(clippy::disallowed_methods)] // the one writer of stderr below `cli/`
pub fn warn(text: &str) {
    let mut line = String::with_capacity(text.len() + 1);
    line.push_str(text);
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}
