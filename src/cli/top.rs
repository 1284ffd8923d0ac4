//! `carbonara top`: metrics, or the resources of a type by one of their
//! metrics, ranked by one value each (`query::top`).

use crate::error::{Error, Result};
use crate::ops::resource::{self as resources, ResourceSearch};
use crate::policy::AggregationMethod;
use crate::pyform::json::Json;
use crate::query;
use crate::query::top::{self, Candidate, Lacking, Ranking, Reduce, TopQuery};
use crate::resource::GENERIC;
use crate::store::Index;
use crate::time::{self, Span};

use super::metric::find;
use super::output::Record;
use super::{Ctx, OutputArgs, words};

/// Rank metrics, or the resources of a type by one of their metrics, by one value each
///
/// Each candidate's stored series of --aggregation in the window, at
/// --granularity (by default the finest granularity of its archive
/// policy), is reduced to one value by --reduce; the N largest are listed
/// (the smallest with --ascending), equal values by resource, then metric
/// id. A metric named whose policy lacks the method or granularity is an
/// error; metrics without a point in the window are left out. In resource
/// mode (--metric NAME), resources without a metric NAME, whose policy
/// lacks the method or granularity, or without a point in the window are
/// left out. How many were left out is said on stderr.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Metrics to rank, by id or name (by name on the resource with -r); with --metric, one filter for the resources instead, in Gnocchi's filter syntax (string or JSON) [default: every resource of the type]
    #[arg(value_name = "METRIC|SEARCH", required_unless_present = "metric")]
    targets: Vec<String>,
    /// Id of the resource whose metrics are named
    #[arg(
        short = 'r',
        long,
        value_name = "RESOURCE_ID",
        conflicts_with = "metric"
    )]
    resource_id: Option<String>,
    /// Resource mode: the name of the metric each resource is ranked by
    #[arg(long, value_name = "NAME")]
    metric: Option<String>,
    /// With --metric: the type of the resources ranked [default: generic]
    #[arg(short = 't', long, value_name = "TYPE", requires = "metric")]
    resource_type: Option<String>,
    /// How many to list
    #[arg(short = 'n', value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    limit: u64,
    /// How each series becomes one value
    #[arg(long, value_enum, default_value_t = ReduceArg::Max)]
    reduce: ReduceArg,
    /// Aggregation method whose series is read
    #[arg(long, default_value = "mean", value_name = "METHOD")]
    aggregation: AggregationMethod,
    /// Granularity read (e.g. `60`, `1h`) [default: the finest of each metric's archive policy]
    #[arg(long, value_name = "SPAN", value_parser = time::parse_timespan)]
    granularity: Option<Span>,
    /// First timestamp (ISO 8601, epoch seconds, or relative like `-1 hour`), from the bucket holding it
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    start: Option<String>,
    /// Timestamp to stop before (exclusive)
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    stop: Option<String>,
    /// Rank the smallest values first
    #[arg(long)]
    ascending: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// `--reduce`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ReduceArg {
    /// The largest value
    Max,
    /// The smallest value
    Min,
    /// The mean of the values
    Mean,
    /// The sum of the values
    Sum,
    /// The latest point's value
    Last,
}

impl From<ReduceArg> for Reduce {
    fn from(reduce: ReduceArg) -> Reduce {
        match reduce {
            ReduceArg::Max => Reduce::Max,
            ReduceArg::Min => Reduce::Min,
            ReduceArg::Mean => Reduce::Mean,
            ReduceArg::Sum => Reduce::Sum,
            ReduceArg::Last => Reduce::Last,
        }
    }
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let query = TopQuery {
        aggregation: args.aggregation,
        granularity: args.granularity,
        start: ctx.timestamp("start", args.start)?,
        stop: ctx.timestamp("stop", args.stop)?,
        reduce: args.reduce.into(),
        limit: args.limit as usize,
        ascending: args.ascending,
    };
    let (store, index) = ctx.open_store()?;
    let (ranking, candidates) = match &args.metric {
        None => {
            let resource_id = args.resource_id.as_deref();
            let candidates = named_metrics(&index, &args.targets, resource_id, ctx)?;
            let ranking = top::rank(&store, &candidates, &query, Lacking::Refuse)
                .map_err(|e| lacking_in_words(e, &candidates, &args.targets, resource_id))?;
            if ranking.left_out > 0 {
                ctx.note(&format!(
                    "{} left out: no value in the window",
                    words::count(ranking.left_out as u64, "metric", "metrics"),
                ));
            }
            (ranking, candidates)
        }
        Some(name) => {
            let search = match args.targets.as_slice() {
                [] => None,
                [text] => words::filter(text, &ctx.creator)?,
                _ => {
                    return Err(Error::Usage(
                        "with --metric, give at most one SEARCH filter (quote it as one argument)"
                            .to_owned(),
                    ));
                }
            };
            let search = ResourceSearch {
                type_name: args.resource_type.as_deref().unwrap_or(GENERIC).to_owned(),
                filter: search,
                ..ResourceSearch::default()
            };
            let found = resources::search(&index, &search, ctx.now)?;
            let (candidates, without) = top::resource_candidates(&index, &found, name)?;
            let mut ranking = top::rank(&store, &candidates, &query, Lacking::LeaveOut)?;
            ranking.left_out += without;
            if ranking.left_out > 0 {
                ctx.note(&format!(
                    "{} left out: no metric {name}, no {} at the granularity read, or no value in the window",
                    words::count(ranking.left_out as u64, "resource", "resources"),
                    query.aggregation
                ));
            }
            (ranking, candidates)
        }
    };
    print_ranking(&ranking, &candidates, args.metric.is_some(), ctx)
}

/// The ranking as a table of rank, metric, its name (when metrics are
/// ranked) or its resource (when resources are), and value; `-f json` the
/// API's documents.
fn print_ranking(
    ranking: &Ranking,
    candidates: &[Candidate],
    with_resource: bool,
    ctx: &Ctx,
) -> Result<()> {
    let mut columns = vec!["rank", "metric"];
    columns.push(if with_resource { "resource" } else { "name" });
    columns.push("value");
    let name_of = |metric: uuid::Uuid| {
        candidates
            .iter()
            .find(|candidate| candidate.metric.id == metric)
            .and_then(|candidate| candidate.metric.name.clone())
            .map_or(Json::Null, Json::str)
    };
    let rows = ranking
        .ranked
        .iter()
        .map(|ranked| {
            let mut row = vec![
                Json::Int(ranked.rank as i64),
                Json::str(ranked.metric.to_string()),
            ];
            row.push(match (with_resource, ranked.resource) {
                (true, Some(resource)) => Json::str(resource.to_string()),
                _ => name_of(ranked.metric),
            });
            row.push(Json::Float(ranked.value));
            row
        })
        .collect();
    let documents = ranking.ranked.iter().map(top::Ranked::document).collect();
    ctx.print(&Record::list(columns, rows).with_documents(documents))
}

/// The metrics named, each as the user named it.
fn named_metrics(
    index: &Index,
    references: &[String],
    resource_id: Option<&str>,
    ctx: &Ctx,
) -> Result<Vec<Candidate>> {
    let metrics = references
        .iter()
        .map(|reference| Ok((find(index, reference, resource_id, ctx)?, None)))
        .collect::<Result<Vec<_>>>()?;
    Ok(top::candidates(index, metrics)?)
}

/// A metric whose policy lacks the method or granularity, said with the
/// metric as typed and what its policy has.
fn lacking_in_words(
    error: query::Error,
    candidates: &[Candidate],
    references: &[String],
    resource_id: Option<&str>,
) -> Error {
    let metric = match &error {
        query::Error::UnknownAggregation { metric, .. }
        | query::Error::UnknownGranularity { metric, .. } => *metric,
        _ => return error.into(),
    };
    let Some(i) = candidates.iter().position(|c| c.metric.id == metric) else {
        return error.into();
    };
    let label = words::metric_label(&references[i], resource_id);
    words::aggregation(&candidates[i].policy, &label)(error.into())
}
