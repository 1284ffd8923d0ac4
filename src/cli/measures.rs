//! `carbonara measures`: add measures to a metric, read its aggregates.

use clap::Subcommand;

use crate::carbonara::Sampling;
use crate::chart::{Chart, Read};
use crate::error::{Error, Result};
use crate::ops;
use crate::ops::erase::EraseRequest;
use crate::policy::AggregationMethod;
use crate::pyform;
use crate::pyform::json::Json;
use crate::query::{self, MeasuresQuery};
use crate::store::{Index, Metric, Store};
use crate::time::{self, Span};

use super::measure_table::{MeasureBlock, MeasureTable};
use super::metric::find;
use super::output::Record;
use super::{Ctx, OutputArgs, WaitArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Add measures to a metric (processed by the next `process`)
    Add {
        /// Id or name of the metric (its name on the resource with --resource-id)
        metric: String,
        /// Id of the resource whose metric is named
        #[arg(short = 'r', long, value_name = "RESOURCE_ID")]
        resource_id: Option<String>,
        /// A measure as TIMESTAMP@VALUE (ISO 8601, epoch seconds, or relative
        /// like `-1 minute`); repeat for more
        #[arg(
            short = 'm',
            long = "measure",
            required = true,
            value_name = "TIMESTAMP@VALUE",
            allow_hyphen_values = true
        )]
        measures: Vec<String>,
        /// Store them even when more measures wait than the store's backlog limit (`carbonara max-backlog`)
        #[arg(long)]
        force: bool,
    },
    /// Delete the aggregates and raw points of a metric in a time range
    Delete(DeleteArgs),
    /// Find the aggregates whose value matches a query (the same as `metric search`)
    Search(super::metric::SearchArgs),
    /// Show the aggregates of a metric
    Show(ShowArgs),
}

/// What `measures show` reads.
#[derive(Debug, clap::Args)]
struct ShowArgs {
    /// Id or name of the metric (its name on the resource with --resource-id)
    metric: String,
    /// Id of the resource whose metric is named
    #[arg(short = 'r', long, value_name = "RESOURCE_ID")]
    resource_id: Option<String>,
    #[command(flatten)]
    query: QueryArgs,
    /// Process this metric's waiting measures first, waiting up to 10 s for a pass that holds its sack
    #[arg(long)]
    refresh: bool,
    #[command(flatten)]
    plot: super::plot::TerminalArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// Which aggregates of a metric are read (`measures show`, `plot`).
#[derive(Debug, clap::Args)]
pub(super) struct QueryArgs {
    /// Aggregation method to read; repeat for more with --plot or in `plot`
    #[arg(long, default_value = "mean", value_name = "METHOD")]
    aggregation: Vec<AggregationMethod>,
    /// Only this granularity of the archive policy (e.g. `60`, `1h`)
    #[arg(long, value_name = "SPAN", value_parser = time::parse_timespan)]
    granularity: Option<Span>,
    /// First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`)
    ///
    /// Each granularity's points from the bucket holding it on (the
    /// resample period's, with `--resample`).
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    start: Option<String>,
    /// Timestamp to stop before (exclusive)
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    stop: Option<String>,
    /// Regroup the points by a timespan (`1h`, `7d`) or calendar period
    ///
    /// `Y` (year), `H` (half-year), `Q` (quarter), `M` (month) or `W`
    /// (week from Sunday), applying the `--aggregation` method again (a
    /// `rate:` method takes differences again). Needs `--granularity`.
    #[arg(long, value_name = "SPAN|Y|H|Q|M|W")]
    resample: Option<Sampling>,
}

impl QueryArgs {
    /// A query per method, checked before anything is read or processed,
    /// in Gnocchi's order.
    pub(super) fn queries(self, ctx: &Ctx) -> Result<Vec<MeasuresQuery>> {
        if self.resample.is_some() && self.granularity.is_none() {
            return Err(query::Error::ResampleNeedsGranularity.into());
        }
        let (start, stop) = (
            ctx.timestamp("start", self.start)?,
            ctx.timestamp("stop", self.stop)?,
        );
        let mut methods = Vec::with_capacity(self.aggregation.len());
        for method in self.aggregation {
            if !methods.contains(&method) {
                methods.push(method);
            }
        }
        Ok(methods
            .into_iter()
            .map(|aggregation| MeasuresQuery {
                aggregation,
                granularity: self.granularity,
                start,
                stop,
                resample: self.resample,
            })
            .collect())
    }
}

/// What `measures delete` deletes.
#[derive(Debug, clap::Args)]
struct DeleteArgs {
    /// Id or name of the metric (its name on the resource with --resource-id)
    metric: String,
    /// Id of the resource whose metric is named
    #[arg(short = 'r', long, value_name = "RESOURCE_ID")]
    resource_id: Option<String>,
    /// First timestamp deleted (ISO 8601, epoch seconds, or relative like `-1 hour`)
    ///
    /// It must be a multiple of every granularity deleted: an aggregate
    /// covers its whole period.
    #[arg(
        long,
        required = true,
        value_name = "TIMESTAMP",
        allow_hyphen_values = true
    )]
    start: String,
    /// Timestamp to stop before (exclusive), a multiple of every granularity deleted
    #[arg(
        long,
        required = true,
        value_name = "TIMESTAMP",
        allow_hyphen_values = true
    )]
    stop: String,
    /// Only this granularity of the archive policy (e.g. `60`, `1h`); repeat for more [default: all]
    ///
    /// The raw points of the bound series in the range are deleted
    /// whichever granularities are named.
    #[arg(long, value_name = "SPAN", value_parser = time::parse_timespan)]
    granularity: Vec<Span>,
    /// Count what would be deleted, change nothing
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    wait: WaitArgs,
    #[command(flatten)]
    output: OutputArgs,
}

/// `2015-01-01T00:00:00@12.5`: the value follows the last `@`.
fn parse_measure(text: &str, ctx: &Ctx) -> Result<(time::Timestamp, f64)> {
    let bad = |reason: String| Error::Usage(format!("--measure `{text}`: {reason}"));
    let (timestamp, value) = text
        .rsplit_once('@')
        .ok_or_else(|| bad("expected TIMESTAMP@VALUE".to_owned()))?;
    let timestamp = time::parse_timestamp(timestamp, ctx.now).map_err(|e| bad(e.to_string()))?;
    let value = pyform::float::parse_python_float(value)
        .ok_or_else(|| bad(format!("`{value}` is not a number")))?;
    Ok((timestamp, value))
}

/// Says on stderr when measures of the metric wait for the aggregation
/// pass, so a read that lacks them is not mistaken for the whole story.
fn note_waiting(ctx: &Ctx, store: &Store, metric: &Metric, typed: &str) -> Result<()> {
    let waiting = store.incoming().measures_waiting(metric.id)?;
    if waiting > 0 {
        let (count, verb) = match waiting {
            1 => ("1 measure".to_owned(), "waits"),
            n => (format!("{n} measures"), "wait"),
        };
        ctx.note(&format!(
            "{count} of {typed} {verb} for the aggregation pass: `carbonara process` or `--refresh` includes them"
        ));
    }
    Ok(())
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        Command::Add {
            metric,
            resource_id,
            measures,
            force,
        } => add(&metric, resource_id.as_deref(), &measures, force, ctx),
        Command::Delete(delete_args) => delete(delete_args, ctx),
        Command::Search(search_args) => super::metric::search(search_args, ctx),
        Command::Show(show_args) => show(show_args, ctx),
    }
}

fn add(
    metric: &str,
    resource_id: Option<&str>,
    measures: &[String],
    force: bool,
    ctx: &Ctx,
) -> Result<()> {
    let (store, index) = ctx.open_store()?;
    if !force {
        ops::measures::check_backlog(&store)?;
    }
    let metric = find(&index, metric, resource_id, ctx)?;
    let measures_read = measures
        .iter()
        .map(|text| parse_measure(text, ctx))
        .collect::<Result<Vec<_>>>()?;
    ops::measures::add(&store, &index, &metric, &measures_read, ctx.now)?;
    ctx.note(&format!(
        "added {} to metric {}",
        super::words::count(measures.len() as u64, "measure", "measures"),
        metric.id
    ));
    Ok(())
}

fn show(args: ShowArgs, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let queries = args.query.queries(ctx)?;
    if queries.len() > 1 && !args.plot.plot {
        return Err(Error::Usage(
            "--aggregation: one method, or several with --plot".to_owned(),
        ));
    }
    let (store, index) = ctx.open_store()?;
    let (_, mut reads) = read_metric(
        ctx,
        (&store, &index),
        &args.metric,
        args.resource_id.as_deref(),
        args.refresh,
        &queries,
    )?;
    if args.plot.plot {
        return super::plot::print_terminal_chart(&Chart::of_reads(&reads), &args.plot);
    }
    let measures = reads.remove(0).measures;
    ctx.print_measures(&MeasureTable {
        label_columns: Vec::new(),
        blocks: measures
            .blocks
            .iter()
            .map(|(granularity, points)| MeasureBlock {
                labels: Vec::new(),
                granularity: *granularity,
                timestamps: &points.timestamps,
                values: &points.values,
            })
            .collect(),
    })
}

/// The metric `typed` names (on the resource `resource_id`) and its
/// aggregates as each query asks, named `typed`, after processing its
/// waiting measures with `refresh` (else saying on stderr when some wait).
pub(super) fn read_metric(
    ctx: &Ctx,
    (store, index): (&Store, &Index),
    typed: &str,
    resource_id: Option<&str>,
    refresh: bool,
    queries: &[MeasuresQuery],
) -> Result<(Metric, Vec<Read>)> {
    let metric = find(index, typed, resource_id, ctx)?;
    if refresh {
        ops::measures::refresh(store, index, &metric, ops::measures::OPERATION_TIMEOUT)?;
    } else {
        note_waiting(ctx, store, &metric, typed)?;
    }
    let policy = index.get_archive_policy(&metric.archive_policy_name)?;
    let label = super::words::metric_label(typed, resource_id);
    let reads = queries
        .iter()
        .map(|query| {
            let measures = query::get_measures(store, metric.id, &policy, query)
                .map_err(|e| super::words::aggregation(&policy, &label)(e.into()))?;
            Ok(Read {
                name: typed.to_owned(),
                method: query.aggregation,
                measures,
            })
        })
        .collect::<Result<_>>()?;
    Ok((metric, reads))
}

fn delete(args: DeleteArgs, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let request = EraseRequest {
        start: super::timestamp_arg("start", &args.start, ctx.now)?,
        stop: super::timestamp_arg("stop", &args.stop, ctx.now)?,
        granularities: args.granularity,
        dry_run: args.dry_run,
    };
    let (store, index) = ctx.open_store()?;
    let metric = find(&index, &args.metric, args.resource_id.as_deref(), ctx)?;
    let erased = ops::erase::erase(&store, &index, &metric, &request, args.wait.timeout())?;
    let mut rows: Vec<Vec<Json>> = erased
        .aggregates
        .iter()
        .map(|&(method, granularity, points)| {
            vec![
                Json::str(method.to_string()),
                Json::Float(granularity.as_secs_f64()),
                Json::Int(points as i64),
            ]
        })
        .collect();
    // The bound series is Gnocchi's `none_v3`: raw points, no method.
    rows.push(vec![
        Json::str("raw"),
        Json::Null,
        Json::Int(erased.raw_points as i64),
    ]);
    ctx.print(
        &Record::list(["aggregation", "granularity", "points"], rows)
            .with_document(erased.document()),
    )?;
    let (start, stop) = (erased.range.start, erased.range.stop);
    if erased.is_empty() {
        ctx.note(&format!("nothing to delete between {start} and {stop}"));
    } else if erased.dry_run {
        ctx.note("dry run: nothing was deleted");
    }
    Ok(())
}
