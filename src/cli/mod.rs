//! The command line: clap definitions, one file per command group, each
//! with `Args` and `run`. Clap types never leave this module; each `run`
//! turns its arguments into engine values first.

pub mod aggregates;
pub mod archive_policy;
pub mod archive_policy_rule;
pub mod demo;
pub mod generate;
pub mod ingest;
pub mod init;
pub mod measure_table;
pub mod measures;
pub mod metric;
pub mod output;
pub mod process;
pub mod status;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::error::{Error, Result};
use crate::store::lock::SackLocks;
use crate::store::{Index, Store, txn};
use crate::time::Timestamp;
use output::{Format, OutputOptions, Record};

/// Gnocchi's time-series engine as one binary: archive policies, metrics,
/// measures, the metricd aggregation pass and byte-exact carbonara archives,
/// over a plain directory store.
#[derive(Debug, Parser)]
#[command(
    name = "carbonara",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// The store directory [default: $CARBONARA_STORE, else ./carbonara-data]
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "CARBONARA_STORE",
        hide_env = true
    )]
    pub store: Option<PathBuf>,

    /// Output format of commands that print records
    #[arg(
        short = 'f',
        long,
        global = true,
        value_enum,
        default_value_t,
        value_name = "FORMAT"
    )]
    pub format: Format,

    /// Print only this column (or field); repeat for more
    #[arg(short = 'c', long = "column", global = true, value_name = "COLUMN")]
    pub columns: Vec<String>,

    /// No progress or summaries on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a store, with Gnocchi's default archive policies
    Init(init::Args),
    /// Build a sample store, process it and print what it holds
    Demo(demo::Args),
    /// Create, list, show, update and delete archive policies
    ArchivePolicy(archive_policy::Args),
    /// Create, list, show and delete archive-policy rules
    ArchivePolicyRule(archive_policy_rule::Args),
    /// Create, list, show and delete metrics
    Metric(metric::Args),
    /// Add measures to a metric and read its aggregates
    Measures(measures::Args),
    Aggregates(aggregates::Args),
    /// Import measures from files
    Ingest(ingest::Args),
    /// Run the aggregation pass (Gnocchi's metricd) over waiting measures
    Process(process::Args),
    /// Show the measures waiting to be processed
    Status(status::Args),
    /// Write the man pages and shell completions
    #[command(hide = true)]
    Generate(generate::Args),
}

/// What every command may need, resolved once from the global options.
pub struct Ctx {
    pub store_path: PathBuf,
    pub output: OutputOptions,
    pub quiet: bool,
    /// The time relative timestamps (`-1 hour`) are taken from.
    pub now: Timestamp,
}

impl Ctx {
    /// Opens the store, first finishing what killed processes committed
    /// (like SQLite's hot journals), so every command sees a whole state.
    pub fn open_store(&self) -> Result<(Store, Index)> {
        let store = Store::open(&self.store_path)?;
        txn::recover(&store, Some(&mut SackLocks::new(&store)))?;
        let index = store.index()?;
        Ok((store, index))
    }

    /// Prints a record on stdout in the chosen format.
    pub fn print(&self, record: &Record) -> Result<()> {
        output::write(&mut std::io::stdout().lock(), record, &self.output)
    }

    /// Prints aggregated points on stdout in the chosen format.
    pub fn print_measures(&self, table: &measure_table::MeasureTable) -> Result<()> {
        measure_table::write_measures(&mut std::io::stdout().lock(), table, &self.output)
    }

    /// A diagnostic or summary line on stderr, unless `--quiet`.
    pub fn note(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{message}");
        }
    }

    /// A warning on stderr, even with `--quiet`.
    pub fn warn(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "carbonara: {message}");
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    let ctx = Ctx {
        store_path: cli.store.unwrap_or_else(|| PathBuf::from("carbonara-data")),
        output: OutputOptions {
            format: cli.format,
            columns: cli.columns,
        },
        quiet: cli.quiet,
        now: Timestamp::now(),
    };
    match cli.command {
        Command::Init(args) => init::run(args, &ctx),
        Command::Demo(args) => demo::run(args, &ctx),
        Command::ArchivePolicy(args) => archive_policy::run(args, &ctx),
        Command::ArchivePolicyRule(args) => archive_policy_rule::run(args, &ctx),
        Command::Metric(args) => metric::run(args, &ctx),
        Command::Measures(args) => measures::run(args, &ctx),
        Command::Aggregates(args) => aggregates::run(args, &ctx),
        Command::Ingest(args) => ingest::run(args, &ctx),
        Command::Process(args) => process::run(args, &ctx),
        Command::Status(args) => status::run(args, &ctx),
        Command::Generate(args) => generate::run(args, &ctx),
    }
}

/// Parses a timestamp argument; a bad one is a usage error.
pub fn timestamp_arg(name: &str, text: &str, now: Timestamp) -> Result<Timestamp> {
    crate::time::parse_timestamp(text, now)
        .map_err(|e| Error::Usage(format!("--{name}: Must be a datetime or a timestamp ({e})")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }
}
