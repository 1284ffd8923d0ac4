//! `carbonara metric`: gnocchiclient's metric commands, plus Gnocchi's
//! measure value search (`POST /v1/search/metric`).

use clap::Subcommand;
use uuid::Uuid;

use crate::error::Result;
use crate::ops::metric::{self as ops, NewMetric};
use crate::ops::metric_policy;
use crate::policy::AggregationMethod;
use crate::pyform::document::{self, Shape};
use crate::pyform::json::Json;
use crate::query::{MeasurePredicate, MeasureSearch};
use crate::resource::GENERIC;
use crate::store::{Index, Metric, MetricFilter};
use crate::time::{self, Span};

use super::output::Record;
use super::{Ctx, OutputArgs, PageArgs, WaitArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a metric
    Create {
        /// Name of the metric
        name: Option<String>,
        /// Archive policy [default: the first archive-policy rule matching the name]
        #[arg(short = 'a', long, value_name = "POLICY")]
        archive_policy_name: Option<String>,
        /// Unit of the measures
        #[arg(short = 'u', long)]
        unit: Option<String>,
        /// Id of the resource the metric belongs to (the name must then be unique on it)
        #[arg(short = 'r', long, value_name = "RESOURCE_ID")]
        resource_id: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the metrics
    List {
        /// Only the metrics of this resource
        #[arg(short = 'r', long, value_name = "RESOURCE_ID")]
        resource_id: Option<String>,
        #[command(flatten)]
        page: PageArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show a metric
    Show {
        /// Id or name of the metric (a name on the resource with --resource-id)
        metric: String,
        /// Id of the resource whose metric is named
        #[arg(short = 'r', long, value_name = "RESOURCE_ID")]
        resource_id: Option<String>,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete metrics; their data is removed by the next `process`
    Delete {
        /// Ids or names of the metrics
        #[arg(required = true)]
        metrics: Vec<String>,
        /// Id of the resource whose metrics are named
        #[arg(short = 'r', long, value_name = "RESOURCE_ID")]
        resource_id: Option<String>,
    },
    /// Move a metric to another archive policy, rewriting its archive with its history
    ///
    /// Aggregations both policies have are kept, cut to the new timespan; a
    /// new granularity that is a multiple of an old one is derived from the
    /// finest such one where the method allows (exactly for min, max, sum,
    /// count, first, last, and mean from sum and count); the rest starts
    /// empty. Warnings go to stderr.
    Update {
        /// Id or name of the metric (a name on the resource with --resource-id)
        metric: String,
        /// Id of the resource whose metric is named
        #[arg(short = 'r', long, value_name = "RESOURCE_ID")]
        resource_id: Option<String>,
        /// The archive policy to move the metric to
        #[arg(short = 'a', long, value_name = "POLICY", required = true)]
        archive_policy_name: String,
        /// Print the plan (each aggregation's source, exactness and points); only the waiting measures are aggregated
        #[arg(long)]
        dry_run: bool,
        #[command(flatten)]
        wait: WaitArgs,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Find the aggregates whose value matches a query (Gnocchi's measure value search), e.g. `{"and": [{">=": [{"+": 23}, 50]}, {"!=": 55}]}`
    Search(SearchArgs),
}

/// Gnocchi's measure value search, as `metric search` and gnocchiclient's
/// `measures search`.
#[derive(Debug, clap::Args)]
pub struct SearchArgs {
    /// The query, in Gnocchi's JSON syntax
    query: String,
    /// Id or name of a metric to search; repeat for more
    #[arg(short = 'm', long = "metric", required = true, value_name = "METRIC")]
    metrics: Vec<String>,
    /// Aggregation method to read
    #[arg(long, default_value = "mean", value_name = "METHOD")]
    aggregation: AggregationMethod,
    /// Granularity to read; repeat for more [default: the first metric's]
    #[arg(long, value_name = "SPAN", value_parser = time::parse_timespan)]
    granularity: Vec<Span>,
    /// First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`)
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    start: Option<String>,
    /// Timestamp to stop before (exclusive)
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    stop: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Runs a measure value search and prints what matched.
pub fn search(args: SearchArgs, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let (store, index) = ctx.open_store()?;
    let predicate = MeasurePredicate::parse(&args.query)?;
    let mut ids = Vec::new();
    for reference in &args.metrics {
        // Unknown metric ids are ignored, as Gnocchi does.
        ids.push(match Uuid::parse_str(reference) {
            Ok(id) => id,
            Err(_) => index.find_metric(reference)?.id,
        });
    }
    let search = MeasureSearch {
        predicate,
        aggregation: args.aggregation,
        granularities: args.granularity,
        start: ctx.timestamp("start", args.start)?,
        stop: ctx.timestamp("stop", args.stop)?,
    };
    let found = ops::search_measures(&store, &index, &ids, &search)?;
    let mut rows = Vec::new();
    let mut document = Vec::new();
    for (metric, measures) in &found {
        for measure in measures {
            let mut row = vec![Json::str(metric.id.to_string())];
            if let Json::Array(triple) = document::measure(measure) {
                row.extend(triple);
            }
            rows.push(row);
        }
        document.push((
            metric.id.to_string(),
            Json::Array(measures.iter().map(document::measure).collect()),
        ));
    }
    ctx.print(
        &Record::list(["metric", "timestamp", "granularity", "value"], rows)
            .with_document(Json::Object(document)),
    )
}

/// A metric by id or name, or by name on a resource, as `ctx`'s user
/// names resources.
pub(super) fn find(
    index: &Index,
    reference: &str,
    resource_id: Option<&str>,
    ctx: &Ctx,
) -> Result<Metric> {
    super::words::find_metric(index, reference, resource_id, &ctx.creator)
}

/// gnocchiclient's `metric show`: the policy by name, the resource's fields
/// as `resource/KEY` rows, no `created_by_*`.
fn print_metric(index: &Index, metric: &Metric, ctx: &Ctx) -> Result<()> {
    let policy = index.get_archive_policy(&metric.archive_policy_name)?;
    let resource = match metric.resource_id {
        Some(id) => index.get_resource(GENERIC, id)?,
        None => None,
    };
    let document = document::metric_with_policy(metric, &policy, Some(resource.as_ref()));
    let mut fields: Vec<(String, Json)> = document
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "id" | "creator" | "name" | "unit"))
        .cloned()
        .collect();
    fields.push(("archive_policy/name".into(), Json::str(&policy.name)));
    match &resource {
        Some(resource) => fields.extend(
            document::resource_fields(resource, Shape::Nested)
                .into_iter()
                .map(|(k, v)| (format!("resource/{k}"), v)),
        ),
        None => fields.push(("resource/id".into(), Json::Null)),
    }
    ctx.print(&Record::show(fields).with_documents(vec![Json::Object(document)]))
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        Command::Create {
            name,
            archive_policy_name,
            unit,
            resource_id,
            output,
        } => create(
            name,
            archive_policy_name,
            unit,
            resource_id.as_deref(),
            &ctx.printing(output),
        ),
        Command::List {
            resource_id,
            page,
            output,
        } => list(resource_id.as_deref(), page, &ctx.printing(output)),
        Command::Show {
            metric,
            resource_id,
            output,
        } => show(&metric, resource_id.as_deref(), &ctx.printing(output)),
        Command::Delete {
            metrics,
            resource_id,
        } => delete(&metrics, resource_id.as_deref(), ctx),
        Command::Update {
            metric,
            resource_id,
            archive_policy_name,
            dry_run,
            wait,
            output,
        } => update(
            &metric,
            resource_id.as_deref(),
            &archive_policy_name,
            dry_run,
            &wait,
            &ctx.printing(output),
        ),
        Command::Search(search_args) => search(search_args, ctx),
    }
}

fn create(
    name: Option<String>,
    archive_policy_name: Option<String>,
    unit: Option<String>,
    resource_id: Option<&str>,
    ctx: &Ctx,
) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let new = NewMetric {
        name,
        unit,
        archive_policy_name,
        resource_id: resource_id.map(|r| ctx.resource_id(r)).transpose()?,
    };
    let metric = ops::create(&index, new, &ctx.creator)
        .map_err(super::words::resource(resource_id.unwrap_or_default()))?;
    ctx.print(&Record::show(document::metric(&metric)))
}

fn list(resource_id: Option<&str>, page: PageArgs, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let resource_id = resource_id.map(|r| ctx.resource_id(r)).transpose()?;
    let filter = MetricFilter {
        resource_id,
        ..MetricFilter::default()
    };
    let metrics = index.list_metrics(&filter, &page.page())?;
    let mut rows = Vec::with_capacity(metrics.len());
    let mut documents = Vec::with_capacity(metrics.len());
    for metric in metrics {
        let policy = index.get_archive_policy(&metric.archive_policy_name)?;
        rows.push(vec![
            Json::str(metric.id.to_string()),
            Json::str(&metric.archive_policy_name),
            Json::opt_str(metric.name.clone()),
            Json::opt_str(metric.unit.clone()),
            Json::opt_str(metric.resource_id.map(|r| r.to_string())),
        ]);
        documents.push(Json::Object(document::metric_with_policy(
            &metric, &policy, None,
        )));
    }
    ctx.print(
        &Record::list(
            ["id", "archive_policy/name", "name", "unit", "resource_id"],
            rows,
        )
        .with_documents(documents),
    )
}

fn show(metric: &str, resource_id: Option<&str>, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    print_metric(&index, &find(&index, metric, resource_id, ctx)?, ctx)
}

/// Deletes every metric named, or none: all are found first, then marked
/// deleted in one index transaction.
fn delete(metrics: &[String], resource_id: Option<&str>, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let mut ids = metrics
        .iter()
        .map(|reference| Ok(find(&index, reference, resource_id, ctx)?.id))
        .collect::<Result<Vec<_>>>()?;
    let mut named = std::collections::HashSet::new();
    ids.retain(|id| named.insert(*id));
    index.atomically(|index| ids.iter().try_for_each(|&id| index.mark_metric_deleted(id)))?;
    for id in ids {
        ctx.note(&format!("deleted metric {id}"));
    }
    Ok(())
}

fn update(
    metric: &str,
    resource_id: Option<&str>,
    archive_policy_name: &str,
    dry_run: bool,
    wait: &WaitArgs,
    ctx: &Ctx,
) -> Result<()> {
    let (store, index) = ctx.open_store()?;
    let metric = find(&index, metric, resource_id, ctx)?;
    let moved = metric_policy::move_to_policy(
        &store,
        &index,
        &metric,
        archive_policy_name,
        dry_run,
        wait.timeout(),
    )?;
    for warning in &moved.warnings {
        ctx.warn(&format!("warning: {warning}"));
    }
    if !dry_run {
        ctx.note(&format!(
            "moved metric {} from archive policy {} to {}",
            metric.id, moved.from, moved.to
        ));
        return print_metric(&index, &moved.metric, ctx);
    }
    let rows = moved
        .aggregations
        .iter()
        .map(|planned| {
            vec![
                Json::str(planned.method.to_string()),
                Json::Float(planned.granularity.as_secs_f64()),
                Json::str(metric_policy::source_text(&planned.source)),
                Json::str(planned.exactness.as_str()),
                Json::Int(planned.points as i64),
            ]
        })
        .collect();
    ctx.print(
        &Record::list(
            [
                "aggregation_method",
                "granularity",
                "source",
                "exactness",
                "points",
            ],
            rows,
        )
        .with_document(moved.plan_document()),
    )
}
