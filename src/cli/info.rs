//! `carbonara info`: what a metric's archive holds, or what the store
//! holds as a whole.

use crate::error::Result;
use crate::inspect::info::{self, MetricUsage, Usage};
use crate::pyform::document;
use crate::pyform::json::Json;
use crate::store::index::DroppedTotal;
use crate::store::{Index, Metric};
use crate::time::Timestamp;

use super::output::Record;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A metric (id or name); the whole store when absent
    #[arg(value_name = "METRIC")]
    metric: Option<String>,
    /// How many of the most expensive metrics to list
    #[arg(long, default_value_t = 10, value_name = "N")]
    top: usize,
    #[command(flatten)]
    output: OutputArgs,
}

fn timestamp(t: Option<Timestamp>) -> Json {
    Json::opt_str(t.map(Timestamp::to_precise_string))
}

fn int(n: impl TryInto<i64>) -> Json {
    Json::Int(n.try_into().unwrap_or(i64::MAX))
}

fn per_point(usage: &Usage) -> Json {
    usage.bytes_per_point().map_or(Json::Null, Json::Float)
}

fn usage_fields(usage: &Usage) -> Vec<(&'static str, Json)> {
    vec![
        ("points", int(usage.points)),
        ("bytes", int(usage.bytes)),
        ("bytes_per_point", per_point(usage)),
        ("first", timestamp(usage.first)),
        ("last", timestamp(usage.last)),
    ]
}

fn metric_info(
    metric: &Metric,
    usage: &MetricUsage,
    waiting: u64,
    dropped: Option<DroppedTotal>,
    sack: u32,
) -> Record {
    let aggregations = usage
        .aggregations
        .iter()
        .map(|((method, granularity), usage)| {
            let mut fields = vec![
                ("aggregation", Json::str(method)),
                ("granularity", Json::Float(granularity.as_secs_f64())),
                ("splits", int(usage.files)),
            ];
            fields.extend(usage_fields(usage));
            Json::object(fields)
        })
        .collect();
    let mut fields: Vec<(String, Json)> = document::metric(metric)
        .into_iter()
        .filter(|(k, _)| ["id", "name", "archive_policy_name"].contains(&k.as_str()))
        .collect();
    let mut more = vec![
        ("sack", int(sack)),
        ("measures waiting", int(waiting)),
        (
            "measures dropped as older than the back window",
            int(dropped.map_or(0, |d| d.measures)),
        ),
        ("files", int(usage.total.files)),
    ];
    more.extend(usage_fields(&usage.total));
    more.push(("bound series", Json::object(usage_fields(&usage.bound))));
    more.push(("aggregations", Json::Array(aggregations)));
    more.push(("unreadable files", int(usage.unreadable.len())));
    fields.extend(more.into_iter().map(|(k, v)| (k.to_owned(), v)));
    Record::show(fields)
}

fn expensive(index: &Index, usage: &MetricUsage) -> Result<Json> {
    let metric = index.get_metric(usage.metric)?;
    Ok(Json::object([
        ("id", Json::str(usage.metric.to_string())),
        (
            "name",
            Json::opt_str(metric.as_ref().and_then(|m| m.name.clone())),
        ),
        (
            "archive_policy_name",
            Json::opt_str(metric.map(|m| m.archive_policy_name)),
        ),
        ("files", int(usage.total.files)),
        ("points", int(usage.total.points)),
        ("bytes", int(usage.total.bytes)),
        ("bytes_per_point", per_point(&usage.total)),
    ]))
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let (store, index) = ctx.open_store()?;
    if let Some(reference) = args.metric {
        let metric = index.find_metric(&reference)?;
        let usage = info::store_metric_usage(&store, metric.id)?;
        let waiting = store.incoming().measures_waiting(metric.id)?;
        for path in &usage.unreadable {
            ctx.warn(&format!(
                "{}: does not decode (see `carbonara verify`)",
                path.display()
            ));
        }
        let sack = store.incoming().sack_of(metric.id);
        let dropped = index.dropped_measures(Some(metric.id))?.into_iter().next();
        return ctx.print(&metric_info(&metric, &usage, waiting, dropped, sack));
    }
    let info = info::store_info(&store, &index, args.top)?;
    for path in &info.unreadable {
        ctx.warn(&format!(
            "{}: does not decode (see `carbonara verify`)",
            path.display()
        ));
    }
    let config = store.config();
    let dropped = index.dropped_measures(None)?;
    let most_expensive = info
        .most_expensive
        .iter()
        .map(|usage| expensive(&index, usage))
        .collect::<Result<Vec<_>>>()?;
    ctx.print(&Record::show([
        ("format", int(config.format)),
        ("sacks", int(config.sacks)),
        ("subdir_len", int(config.subdir_len)),
        ("archive policies", int(info.archive_policies)),
        ("metrics", int(info.metrics)),
        ("deleted metrics", int(info.deleted_metrics)),
        ("metrics with measures waiting", int(info.metrics_waiting)),
        ("measures waiting", int(info.measures_waiting)),
        (
            "measures dropped as older than the back window",
            int(dropped.iter().map(|d| d.measures).sum::<u64>()),
        ),
        (
            "metrics per sack",
            Json::object([
                ("min", int(info.per_sack.min)),
                ("mean", Json::Float(info.per_sack.mean)),
                ("max", int(info.per_sack.max)),
            ]),
        ),
        ("archive files", int(info.archive.files)),
        ("archive points", int(info.archive.points)),
        ("archive bytes", int(info.archive.bytes)),
        ("archive bytes per point", per_point(&info.archive)),
        ("size on disk", int(info.disk_bytes)),
        ("unreadable files", int(info.unreadable.len())),
        ("most expensive metrics", Json::Array(most_expensive)),
    ]))
}
