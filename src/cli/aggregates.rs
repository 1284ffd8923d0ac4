//! `carbonara aggregates`: gnocchiclient's `aggregates` command, Gnocchi's
//! dynamic aggregates over metrics named by id (or name).

use std::io::Write;

use uuid::Uuid;

use crate::carbonara::Sampling;
use crate::error::{Error, Result};
use crate::ops::{
    self,
    aggregates::{ResourceAggregates, ResourceSelection},
};
use crate::pyform;
use crate::pyform::document;
use crate::pyform::json::Json;
use crate::query::aggregates::{
    self, AggregatesQuery, AggregatesResult, Fill, GroupKey, output, references::IndexLookup,
};
use crate::resource::GENERIC;
use crate::store::Index;
use crate::time::{self, Span};

use super::measure_table::{MeasureBlock, MeasureTable};
use super::output::Format;
use super::{Ctx, OutputArgs};

/// Evaluate operations over the aggregates of several metrics
///
/// OPERATIONS is Gnocchi's operations language, as a string
/// (`(aggregate mean (metric (ID1 mean) (ID2 mean)))`) or as JSON
/// (`["aggregate", "mean", ["metric", ["ID1", "mean"], ["ID2", "mean"]]]`,
/// recognised by its leading `[`). Metrics are named by id or, unlike
/// Gnocchi, by name. The operators: `metric`, `aggregate`, `rolling`,
/// `resample`, arithmetic (`+ - * / % **`), comparisons (`= != < <= > >=`),
/// `max`, `clip`, `clip_min`, `clip_max`, `abs`, `neg`, `cos`, `sin`,
/// `tan`, `floor`, `ceil`, `rateofchange`, `rateofchangesec`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The operations, in string or JSON form
    operations: String,
    /// With --resource-type: the resources whose metrics to use, in Gnocchi's filter syntax (string or JSON) [default: all of the type]
    #[arg(requires = "resource_type")]
    search: Option<String>,
    /// Resource mode: metrics are named (with shell patterns) on the resources of this type
    #[arg(long, value_name = "TYPE")]
    resource_type: Option<String>,
    /// With --resource-type: evaluate the operations per group of resources with equal values of this attribute; repeat for more
    #[arg(long, value_name = "ATTRIBUTE", requires = "resource_type")]
    groupby: Vec<String>,
    /// With --groupby: group every past revision of the resources by its own values, as Gnocchi's use_history
    ///
    /// Each revision supplies the points of its own time, from
    /// `max(revision start, --start)` until `min(revision end, --stop)`
    /// (a resource's first revision from `--start`); a point its revision
    /// covers in part is weighted by the part covered, and a group's
    /// points at one timestamp are summed. The operations must aggregate
    /// (`(aggregate …)`).
    #[arg(long, requires = "groupby")]
    use_history: bool,
    /// First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`)
    ///
    /// Each granularity's points from the bucket holding it on.
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    start: Option<String>,
    /// Timestamp to stop before (exclusive)
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    stop: Option<String>,
    /// Only this granularity [default: every granularity all the metrics' policies have]
    #[arg(long, value_name = "SPAN", value_parser = time::parse_timespan)]
    granularity: Option<Span>,
    /// Percentage of the timestamps where every series must have a value
    ///
    /// Only without `--fill`: then the series are not filled, and rows
    /// after the last (before the first) overlapping one are left out when
    /// `--stop` (`--start`) is not given.
    #[arg(long, value_name = "PERCENT", value_parser = parse_needed_overlap)]
    needed_overlap: Option<f64>,
    /// How to fill the timestamps where a series has no value
    ///
    /// A number, `null` (leave them NaN), `ffill` / `bfill` (the previous /
    /// next value), `full_ffill` / `full_bfill` (then the other way for the
    /// ends), or `dropna` (leave them, drop NaN results). `dropna`, `ffill`
    /// and `bfill` modes also drop infinite results. Default: `dropna`,
    /// unless `--needed-overlap` is given.
    #[arg(long, value_name = "FILL", value_parser = parse_fill)]
    fill: Option<Fill>,
    /// With `-f json`: add the metrics used (`references`), as Gnocchi does
    #[arg(long)]
    details: bool,
    #[command(flatten)]
    output: OutputArgs,
}

fn parse_needed_overlap(text: &str) -> std::result::Result<f64, String> {
    pyform::float::parse_python_float(text).ok_or_else(|| "Must be a number".to_owned())
}

fn parse_fill(text: &str) -> std::result::Result<Fill, String> {
    text.parse()
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let query = AggregatesQuery {
        start: ctx.timestamp("start", args.start)?,
        stop: ctx.timestamp("stop", args.stop)?,
        granularity: args.granularity,
        fill: Fill::from_parameters(args.fill, args.needed_overlap),
    };
    if ctx.output.format == Format::Json && !ctx.output.columns.is_empty() {
        return Err(Error::Usage(
            "-c does not apply to `aggregates -f json`, which prints Gnocchi's response body"
                .to_owned(),
        ));
    }
    let (store, index) = ctx.open_store()?;
    let mut operations = aggregates::parse_operations(&args.operations)?;
    if let Some(type_name) = args.resource_type {
        let selection = ResourceSelection {
            type_name,
            filter: match &args.search {
                Some(text) => super::words::filter(text, &ctx.creator)?,
                None => None,
            },
            groupby: args.groupby,
            use_history: args.use_history,
        };
        let found = ops::aggregates::over_resources(
            &store,
            &index,
            &operations,
            &selection,
            &query,
            ctx.now,
        )?;
        return print_resource_mode(&found, args.details, ctx);
    }
    let references =
        aggregates::references::metric_references(&mut operations, &mut IndexLookup::new(&index))
            .map_err(|e| super::words::references(&index)(e.into()))?;
    let result = aggregates::aggregate(&store, &operations, &references, &query)?;
    if ctx.output.format == Format::Json {
        let details = if args.details {
            let ids: Vec<Uuid> = references.iter().map(|r| r.metric).collect();
            Some(metric_documents(&index, &ids)?)
        } else {
            None
        };
        let body = result.body(details).to_python_string();
        let mut stdout = std::io::stdout().lock();
        return writeln!(stdout, "{body}").map_err(Error::Output);
    }
    ctx.print_measures(&measure_table(&result))
}

/// Resource mode's output: one body, or one per group.
fn print_resource_mode(found: &ResourceAggregates, details: bool, ctx: &Ctx) -> Result<()> {
    if ctx.output.format == Format::Json {
        let document = found.body(details);
        let mut stdout = std::io::stdout().lock();
        return writeln!(stdout, "{}", document.to_python_string()).map_err(Error::Output);
    }
    match found {
        ResourceAggregates::All(found) => ctx.print_measures(&measure_table(&found.result)),
        ResourceAggregates::Grouped(groups) => {
            print_groups(groups.iter().map(|(key, found)| (key, &found.result)), ctx)
        }
        ResourceAggregates::ByRevision(groups) => {
            print_groups(groups.iter().map(|g| (&g.key, &g.result)), ctx)
        }
    }
}

/// Grouped results as one table with a `group` column.
fn print_groups<'a>(
    groups: impl Iterator<Item = (&'a GroupKey, &'a AggregatesResult)>,
    ctx: &Ctx,
) -> Result<()> {
    let mut table = MeasureTable {
        label_columns: vec!["group", "name"],
        blocks: Vec::new(),
    };
    for (key, result) in groups {
        let group = output::group_label(key);
        for mut block in measure_table(result).blocks {
            block.labels.insert(0, group.clone());
            table.blocks.push(block);
        }
    }
    ctx.print_measures(&table)
}

/// The distinct metrics, as `GET /v1/metric/<id>` shows them (with their
/// resource).
fn metric_documents(index: &Index, ids: &[Uuid]) -> Result<Json> {
    let mut seen = Vec::new();
    let mut documents = Vec::new();
    for &id in ids {
        if seen.contains(&id) {
            continue;
        }
        seen.push(id);
        let metric = index.find_metric(&id.to_string())?;
        let policy = index.get_archive_policy(&metric.archive_policy_name)?;
        let resource = match metric.resource_id {
            Some(resource) => index.get_resource(GENERIC, resource)?,
            None => None,
        };
        documents.push(Json::Object(document::metric_with_policy(
            &metric,
            &policy,
            Some(resource.as_ref()),
        )));
    }
    Ok(Json::Array(documents))
}

/// gnocchiclient's rows: `name` (`aggregated`, `ID/AGG`), then the points.
fn measure_table(result: &AggregatesResult) -> MeasureTable<'_> {
    MeasureTable {
        label_columns: vec!["name"],
        blocks: result
            .series
            .iter()
            .flat_map(|(key, blocks)| {
                let label = key.label();
                blocks.iter().map(move |block| MeasureBlock {
                    labels: vec![label.clone()],
                    granularity: Sampling::Span(block.granularity),
                    timestamps: &block.timestamps,
                    values: &block.values,
                })
            })
            .collect(),
    }
}
