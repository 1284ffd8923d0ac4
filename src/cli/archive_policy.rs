//! `carbonara archive-policy`: gnocchiclient's archive-policy commands.

use clap::Subcommand;

use crate::error::{Error, Result};
use crate::inspect::estimate::{self, EstimateRow};
use crate::ops::archive_policy::{self, NewArchivePolicy};
use crate::policy::{ArchivePolicy, Definition};
use crate::pyform::document;
use crate::pyform::json::Json;
use crate::time::{self, Span};

use super::output::Record;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an archive policy
    Create {
        /// Name of the archive policy
        name: String,
        /// Two of granularity, points and timespan, e.g. `granularity:1m,timespan:7d`; repeat for each granularity
        #[arg(
            short = 'd',
            long = "definition",
            required = true,
            value_name = "DEFINITION"
        )]
        definition: Vec<Definition>,
        /// Extra blocks of raw points kept for late measures
        #[arg(short = 'b', long, default_value_t = 0, value_name = "N")]
        back_window: u64,
        /// Aggregation method (`mean`, `95pct`, `rate:max`, `*`, `+m`, `-m`); repeat for more [default: mean min max sum std count]
        #[arg(
            short = 'm',
            long = "aggregation-method",
            value_name = "METHOD",
            allow_hyphen_values = true
        )]
        aggregation_methods: Vec<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the archive policies
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show an archive policy
    Show {
        /// Name of the archive policy
        name: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Change the points or timespans of an archive policy, or its back window
    Update {
        /// Name of the archive policy
        name: String,
        /// The new definitions, with the same granularities as before
        #[arg(
            short = 'd',
            long = "definition",
            required = true,
            value_name = "DEFINITION"
        )]
        definition: Vec<Definition>,
        /// New back window
        #[arg(short = 'b', long, value_name = "N")]
        back_window: Option<u64>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete an archive policy no metric or rule uses
    Delete {
        /// Name of the archive policy
        name: String,
    },
    /// Estimate the disk one metric needs under a policy, typical and worst case
    Estimate {
        /// An existing archive policy, instead of `-d`/`-m`/`-b`
        #[arg(required_unless_present = "definition", conflicts_with_all = ["definition", "back_window", "aggregation_methods"])]
        name: Option<String>,
        /// Two of granularity, points and timespan, as for `create`; repeat for each granularity
        #[arg(short = 'd', long = "definition", value_name = "DEFINITION")]
        definition: Vec<Definition>,
        /// Extra blocks of raw points kept for late measures
        #[arg(short = 'b', long, value_name = "N")]
        back_window: Option<u64>,
        /// Aggregation method, as for `create`; repeat for more [default: mean min max sum std count]
        #[arg(
            short = 'm',
            long = "aggregation-method",
            value_name = "METHOD",
            allow_hyphen_values = true
        )]
        aggregation_methods: Vec<String>,
        /// How often measures arrive, for the raw points kept [default: the finest granularity]
        #[arg(long, value_name = "SPAN", value_parser = time::parse_timespan)]
        interval: Option<Span>,
        #[command(flatten)]
        output: OutputArgs,
    },
}

fn int(n: u64) -> Json {
    Json::Int(i64::try_from(n).unwrap_or(i64::MAX))
}

fn estimate_rows(rows: &[EstimateRow]) -> Vec<Vec<Json>> {
    let line = |part: &str, row: &EstimateRow| {
        vec![
            Json::str(part),
            row.granularity
                .map_or(Json::Null, |g| Json::Float(g.as_secs_f64())),
            Json::opt_str(row.timespan.map(Span::to_timedelta_string)),
            int(row.points),
            int(row.files),
            int(row.typical_bytes),
            int(row.worst_bytes),
            int(row.typical_disk),
            int(row.worst_disk),
        ]
    };
    let mut lines: Vec<Vec<Json>> = rows
        .iter()
        .map(|row| {
            let part = if row.granularity.is_some() {
                "aggregates"
            } else {
                "bound series"
            };
            line(part, row)
        })
        .collect();
    let sum = |field: fn(&EstimateRow) -> u64| rows.iter().map(field).sum::<u64>();
    let mut total = vec![Json::str("total"), Json::Null, Json::Null, Json::Null];
    total.extend(
        [
            sum(|r| r.files),
            sum(|r| r.typical_bytes),
            sum(|r| r.worst_bytes),
            sum(|r| r.typical_disk),
            sum(|r| r.worst_disk),
        ]
        .map(int),
    );
    lines.push(total);
    lines
}

fn record(policy: &ArchivePolicy) -> Record {
    Record::show(document::archive_policy(policy))
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        Command::Create {
            name,
            definition,
            back_window,
            aggregation_methods,
            output,
        } => create(
            NewArchivePolicy {
                name,
                back_window,
                definition,
                aggregation_methods,
                default_methods: ctx.default_aggregation_methods(),
            },
            &ctx.printing(output),
        ),
        Command::List { output } => list(&ctx.printing(output)),
        Command::Show { name, output } => show(&name, &ctx.printing(output)),
        Command::Update {
            name,
            definition,
            back_window,
            output,
        } => update(&name, definition, back_window, &ctx.printing(output)),
        Command::Delete { name } => delete(&name, ctx),
        Command::Estimate {
            name,
            definition,
            back_window,
            aggregation_methods,
            interval,
            output,
        } => estimate(
            name,
            NewArchivePolicy {
                name: "estimate".to_owned(),
                back_window: back_window.unwrap_or(0),
                definition,
                aggregation_methods,
                default_methods: ctx.default_aggregation_methods(),
            },
            interval,
            &ctx.printing(output),
        ),
    }
}

fn create(new: NewArchivePolicy, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    ctx.print(&record(&archive_policy::create(&index, new)?))
}

fn list(ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let columns = ["name", "back_window", "definition", "aggregation_methods"];
    let rows = index
        .list_archive_policies()?
        .iter()
        .map(|p| {
            document::archive_policy(p)
                .into_iter()
                .map(|(_, v)| v)
                .collect()
        })
        .collect();
    ctx.print(&Record::list(columns, rows))
}

fn show(name: &str, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    ctx.print(&record(&index.get_archive_policy(name)?))
}

fn update(
    name: &str,
    definition: Vec<Definition>,
    back_window: Option<u64>,
    ctx: &Ctx,
) -> Result<()> {
    let (store, index) = ctx.open_store()?;
    let (updated, beyond) = archive_policy::update(&store, &index, name, definition, back_window)?;
    if beyond.points > 0 {
        ctx.note(&format!(
            "archive policy {name}: {} of {} are now beyond its timespans: reads leave them out, \
             and each metric's passes delete their splits as Gnocchi's do",
            super::words::count(beyond.points, "point", "points"),
            super::words::count(beyond.metrics, "metric", "metrics"),
        ));
    }
    ctx.print(&record(&updated))
}

fn delete(name: &str, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    index.delete_archive_policy(name)?;
    ctx.note(&format!("deleted archive policy {name}"));
    Ok(())
}

/// The estimate of the policy `name`, else of the one given (`new`);
/// without a store unless a name is given.
fn estimate(
    name: Option<String>,
    new: NewArchivePolicy,
    interval: Option<Span>,
    ctx: &Ctx,
) -> Result<()> {
    let policy = match name {
        Some(name) => ctx.open_store()?.1.get_archive_policy(&name)?,
        None => new.build()?,
    };
    let rows = estimate::estimate(&policy, interval).map_err(|e| Error::Usage(e.to_string()))?;
    let columns = [
        "part",
        "granularity",
        "timespan",
        "points",
        "files",
        "typical_bytes",
        "worst_bytes",
        "typical_on_disk",
        "worst_on_disk",
    ];
    ctx.print(&Record::list(columns, estimate_rows(&rows)))
}
