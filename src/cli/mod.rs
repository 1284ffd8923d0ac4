//! The command line: clap definitions, one file per command group, each
//! with `Args` and `run`. Clap types never leave this module; each `run`
//! turns its arguments into engine values first.

pub mod aggregates;
pub mod archive_policy;
pub mod archive_policy_rule;
pub mod demo;
pub mod dump;
pub mod generate;
pub mod import_gnocchi;
pub mod info;
pub mod ingest;
pub mod init;
pub mod janitor;
pub mod max_backlog;
pub mod measure_table;
pub mod measures;
pub mod metric;
pub mod metricd;
pub mod output;
pub mod plot;
pub mod process;
pub mod progress;
pub mod resource;
pub mod resource_type;
pub mod sacks;
pub mod serve;
pub mod statsd;
pub mod status;
pub mod top;
pub mod upgrade;
pub mod verify;
pub mod words;

use std::io::Write;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::deployment::Deployment;
use crate::error::{Error, Result};
use crate::policy::AggregationMethod;
use crate::store::backends::deployment_state_dir;
use crate::store::lock::SackLocks;
use crate::store::{Backends, Index, Location, Page, Store, txn};
use crate::time::{Span, Timestamp};
use output::{Format, OutputOptions, Record};

/// The creator recorded for objects made from the command line unless
/// `--user` says otherwise: Gnocchi's admin user with basic
/// authentication.
pub const CLI_CREATOR: &str = "admin";

/// The `--help` heading of the options every command takes, listed after a
/// command's own.
const GLOBAL_OPTIONS: &str = "Global options";

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
        hide_env = true,
        help_heading = GLOBAL_OPTIONS
    )]
    pub store: Option<PathBuf>,

    /// Work on the Gnocchi deployment this gnocchi.conf describes (its
    /// PostgreSQL indexer, file or Redis storage and incoming) instead of a
    /// store directory
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "CARBONARA_GNOCCHI_CONF",
        hide_env = true,
        help_heading = GLOBAL_OPTIONS
    )]
    pub gnocchi_conf: Option<PathBuf>,

    /// Act as this user: the creator recorded on what the command makes and
    /// whose names it resolves, as gnocchi-api records it for that user
    /// (`USER` with basic authentication, `USER:PROJECT` with Keystone)
    /// [default: admin]
    #[arg(
        long,
        global = true,
        value_name = "USER[:PROJECT]",
        env = "CARBONARA_USER",
        hide_env = true,
        help_heading = GLOBAL_OPTIONS
    )]
    pub user: Option<String>,

    /// No progress or summaries on stderr
    #[arg(short, long, global = true, help_heading = GLOBAL_OPTIONS)]
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
    /// Create, list, show, search and delete metrics
    Metric(metric::Args),
    /// Create, list, show, update and delete resource types
    ResourceType(resource_type::Args),
    /// Create, list, show, update, search and delete resources
    Resource(resource::Args),
    /// Add measures to a metric and read its aggregates
    Measures(measures::Args),
    Aggregates(aggregates::Args),
    Top(top::Args),
    /// Draw metrics' aggregates as a line chart in an SVG or PNG file
    Plot(plot::Args),
    /// Import measures from files
    Ingest(ingest::Args),
    /// Run the aggregation pass (Gnocchi's metricd) over waiting measures
    ///
    /// Measures older than their metric's back window are dropped, and said
    /// (even with -q). As gnocchi-metricd does, a resource whose metric
    /// receives a measure at or after the resource's ended_at is active
    /// again: its ended_at is cleared, with a revision, and named on stderr.
    Process(process::Args),
    /// Run aggregation passes until stopped, as gnocchi-metricd does
    ///
    /// A pass every --processing-delay over this worker's sacks, the janitor
    /// at most every --cleanup-delay. Workers of a deployment whose
    /// coordination is Redis share the sacks as gnocchi-metricd's workers
    /// do (the `gnocchi-processing` group and tooz's ring), with Gnocchi's
    /// own workers too; otherwise every worker tries every sack and the sack
    /// locks decide. SIGTERM or SIGINT stops it once the transaction at hand
    /// is committed (a second signal at once: nothing is lost either way).
    Metricd(metricd::Args),
    /// Show the measures waiting to be processed
    ///
    /// How many wait and for how many metrics, the age of the oldest, the
    /// measures dropped as older than their back window, the measures the
    /// passes of the last minute processed per second (every process on
    /// this store directory), and the live `metricd` workers with their
    /// sacks.
    Status(status::Args),
    /// Decode archive files: a metric's, a Gnocchi directory's or one file
    Dump(dump::Args),
    /// Remove the data of deleted metrics (the next `process` does it too)
    Janitor(janitor::Args),
    /// Check archive files, sacks and index; `--repair` quarantines what is bad
    Verify(verify::Args),
    /// What a metric's archive or the whole store holds, and its cost on disk
    Info(info::Args),
    /// Show or change the number of sacks (gnocchi-change-sack-size)
    Sacks(sacks::Args),
    /// Show or change the backlog limit past which ingest, measures add and serve refuse writes
    MaxBacklog(max_backlog::Args),
    /// Bring a store written by an older carbonara to the current format
    Upgrade(upgrade::Args),
    /// Adopt the metrics of a Gnocchi file-storage directory, ids kept
    ImportGnocchi(import_gnocchi::Args),
    /// Serve Gnocchi's REST API over the store, aggregating in the background
    Serve(serve::Args),
    /// Receive statsd metrics over UDP and TCP and flush them into the store (gnocchi-statsd)
    Statsd(statsd::Args),
    /// Write the man pages and shell completions
    #[command(hide = true)]
    Generate(generate::Args),
}

/// How long a command that rewrites one metric's archive waits for a pass
/// that holds the metric's sack (`process::rewrite`).
#[derive(Debug, Clone, clap::Args)]
pub struct WaitArgs {
    /// How long to wait for a pass that holds the metric's sack (`0`: one try) [default: 10s]
    #[arg(long, value_name = "SPAN", value_parser = serve::parse_span_or_zero)]
    operation_timeout: Option<Span>,
}

impl WaitArgs {
    pub fn timeout(&self) -> std::time::Duration {
        self.operation_timeout
            .map_or(crate::ops::measures::OPERATION_TIMEOUT, serve::duration)
    }
}

/// The output options of a command that prints records (cliff's `-f`,
/// `-c`, `--sort-column`), flattened into its own arguments: a command
/// that prints no records does not offer them.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Output options")]
pub struct OutputArgs {
    /// Output format
    #[arg(short = 'f', long, value_enum, default_value_t, value_name = "FORMAT")]
    format: Format,

    /// Print only this column (or field); repeat for more
    #[arg(short = 'c', long = "column", value_name = "COLUMN")]
    columns: Vec<String>,

    /// Sort listed rows by this column; repeat for more (first one first)
    #[arg(long = "sort-column", value_name = "COLUMN")]
    sort_columns: Vec<String>,

    /// Sort the rows in ascending order (the default)
    #[arg(long, conflicts_with = "sort_descending")]
    sort_ascending: bool,

    /// Sort the rows in descending order
    #[arg(long)]
    sort_descending: bool,
}

impl From<OutputArgs> for OutputOptions {
    fn from(args: OutputArgs) -> Self {
        OutputOptions {
            format: args.format,
            columns: args.columns,
            sort_columns: args.sort_columns,
            sort_descending: args.sort_descending,
        }
    }
}

/// What every command may need, resolved once from the global options;
/// a command that prints records gets its own, with its output options
/// (`Ctx::printing`).
pub struct Ctx {
    pub location: Location,
    /// The deployment `--gnocchi-conf` names, as read.
    pub deployment: Option<Deployment>,
    /// The creator of what the command makes (`--user`).
    pub creator: String,
    pub output: OutputOptions,
    pub quiet: bool,
    /// The time relative timestamps (`-1 hour`) are taken from.
    pub now: Timestamp,
}

impl Ctx {
    /// This context for a command that prints records as `output` asks.
    pub fn printing(&self, output: OutputArgs) -> Ctx {
        Ctx {
            location: self.location.clone(),
            deployment: self.deployment.clone(),
            creator: self.creator.clone(),
            output: output.into(),
            quiet: self.quiet,
            now: self.now,
        }
    }

    /// Opens the store, first finishing what killed processes committed
    /// (like SQLite's hot journals), so every command sees a whole state.
    pub fn open_store(&self) -> Result<(Store, Index)> {
        let store = self.location.open()?;
        txn::recover(&store, Some(&mut SackLocks::new(&store)))?;
        let index = store.index()?;
        Ok((store, index))
    }

    /// The methods of a policy created without any: the deployment's
    /// `[archive_policy] default_aggregation_methods`, else Gnocchi's.
    pub fn default_aggregation_methods(&self) -> Vec<AggregationMethod> {
        match &self.deployment {
            Some(deployment) => deployment.default_aggregation_methods.clone(),
            None => AggregationMethod::defaults(),
        }
    }

    /// A resource id as this command's user addresses it: a UUID as it
    /// is, any other name mapped with the creator, as Gnocchi maps it.
    pub fn resource_id(&self, text: &str) -> Result<uuid::Uuid> {
        Ok(crate::resource::resource_uuid(text, &self.creator)?)
    }

    /// The store directory, for the commands that work on one only.
    pub fn store_dir(&self, command: &str) -> Result<&std::path::Path> {
        match &self.location {
            Location::Directory(root) => Ok(root),
            Location::Deployment { .. } => Err(Error::Usage(format!(
                "`carbonara {command}` works on a store directory, not with --gnocchi-conf"
            ))),
        }
    }

    /// Prints a record on stdout in the chosen format.
    pub fn print(&self, record: &Record) -> Result<()> {
        output::write(&mut std::io::stdout().lock(), record, &self.output)
    }

    /// Prints aggregated points on stdout in the chosen format.
    pub fn print_measures(&self, table: &measure_table::MeasureTable) -> Result<()> {
        measure_table::write_measures(&mut std::io::stdout().lock(), table, &self.output)
    }

    /// An optional timestamp argument (`--start`), relative to `now`.
    pub fn timestamp(&self, name: &str, text: Option<String>) -> Result<Option<Timestamp>> {
        text.map(|t| timestamp_arg(name, &t, self.now)).transpose()
    }

    /// A diagnostic or summary line on stderr, unless `--quiet`.
    #[allow(clippy::disallowed_methods)] // the command line writes stderr itself
    pub fn note(&self, message: &str) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr(), "{message}");
        }
    }

    /// A warning on stderr, even with `--quiet`.
    #[allow(clippy::disallowed_methods)] // the command line writes stderr itself
    pub fn warn(&self, message: &str) {
        let _ = writeln!(std::io::stderr(), "carbonara: {message}");
    }
}

/// Runs a parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    // Checked here, not by clap: clap does not compare global options
    // given after the subcommand.
    if cli.gnocchi_conf.is_some() && cli.store.is_some() {
        return Err(Error::Usage(
            "--gnocchi-conf and --store (or CARBONARA_GNOCCHI_CONF and CARBONARA_STORE) name two stores; give one"
                .to_owned(),
        ));
    }
    let deployment = cli
        .gnocchi_conf
        .as_deref()
        .map(Deployment::read)
        .transpose()?;
    let location = match &deployment {
        Some(deployment) => Location::Deployment {
            conf: deployment.path.clone(),
            state: deployment_state_dir(deployment),
            backends: Backends::from(deployment),
        },
        None => Location::Directory(cli.store.unwrap_or_else(|| PathBuf::from("carbonara-data"))),
    };
    let ctx = Ctx {
        location,
        deployment,
        creator: cli.user.unwrap_or_else(|| CLI_CREATOR.to_owned()),
        // Tables, until a command that prints records reads its `-f`.
        output: OutputOptions::default(),
        quiet: cli.quiet,
        now: Timestamp::now(),
    };
    let done = match cli.command {
        Command::Init(args) => init::run(args, &ctx),
        Command::Demo(args) => demo::run(args, &ctx),
        Command::ArchivePolicy(args) => archive_policy::run(args, &ctx),
        Command::ArchivePolicyRule(args) => archive_policy_rule::run(args, &ctx),
        Command::Metric(args) => metric::run(args, &ctx),
        Command::ResourceType(args) => resource_type::run(args, &ctx),
        Command::Resource(args) => resource::run(args, &ctx),
        Command::Measures(args) => measures::run(args, &ctx),
        Command::Aggregates(args) => aggregates::run(args, &ctx),
        Command::Top(args) => top::run(args, &ctx),
        Command::Plot(args) => plot::run(args, &ctx),
        Command::Ingest(args) => ingest::run(args, &ctx),
        Command::Process(args) => process::run(args, &ctx),
        Command::Metricd(args) => metricd::run(args, &ctx),
        Command::Status(args) => status::run(args, &ctx),
        Command::Dump(args) => dump::run(args, &ctx),
        Command::Janitor(args) => janitor::run(args, &ctx),
        Command::Verify(args) => verify::run(args, &ctx),
        Command::Info(args) => info::run(args, &ctx),
        Command::Sacks(args) => sacks::run(args, &ctx),
        Command::MaxBacklog(args) => max_backlog::run(args, &ctx),
        Command::Upgrade(args) => upgrade::run(args, &ctx),
        Command::ImportGnocchi(args) => import_gnocchi::run(args, &ctx),
        Command::Serve(args) => serve::run(args, &ctx),
        Command::Statsd(args) => statsd::run(args, &ctx),
        Command::Generate(args) => generate::run(args, &ctx),
    };
    done.map_err(|error| match (error, &ctx.location) {
        (Error::Store(error), Location::Directory(root)) => {
            Error::Store(error.on_index_failure(root))
        }
        (Error::Process(crate::process::Error::Store(error)), Location::Directory(root)) => {
            Error::Process(crate::process::Error::Store(error.on_index_failure(root)))
        }
        (error, _) => error,
    })
}

/// Gnocchi's pagination options, on every list that can be long.
#[derive(Debug, Clone, clap::Args)]
pub struct PageArgs {
    /// Return at most this many items
    #[arg(long, value_name = "LIMIT", value_parser = clap::value_parser!(u64).range(1..))]
    limit: Option<u64>,
    /// Last item of the previous page (an id; `ID@REVISION` for histories): list what follows it
    #[arg(long, value_name = "MARKER")]
    marker: Option<String>,
    /// Sort key and direction, e.g. `started_at:desc-nullslast`; repeat for more
    #[arg(long, value_name = "KEY[:DIRECTION]")]
    sort: Vec<String>,
}

impl PageArgs {
    pub fn page(self) -> Page {
        Page {
            limit: self.limit.map(|l| l as usize),
            marker: self.marker,
            sorts: self.sort,
        }
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
