//! The index in Gnocchi 4.7's own PostgreSQL schema, shared with a running
//! gnocchi-api and gnocchi-metricd (spec gnocchi-deployments.md §5).

pub mod schema;

/// A PostgreSQL client error with its causes: rust-postgres says only
/// "db error" and keeps the server's message in its `source()`.
pub fn error_message(error: &postgres::Error) -> String {
    let mut message = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(error) = cause {
        message.push_str(": ");
        message.push_str(&error.to_string());
        cause = error.source();
    }
    message
}
