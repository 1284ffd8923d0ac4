//! `carbonara info`: what a metric's archive holds, or what the store
//! holds as a whole.

use crate::error::Result;
use crate::inspect::info::{self, MetricUsage, Usage};
use crate::pyform::json::Json;
use crate::resource::GENERIC;
use crate::store::index::DroppedTotal;
use crate::store::{Index, Metric};
use crate::time::Timestamp;

use super::output::{Format, Record, human_bytes};
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A metric (id or name); the whole store when absent
    #[arg(value_name = "METRIC")]
    metric: Option<String>,
    /// The resource whose metric METRIC names
    #[arg(short = 'r', long, value_name = "RESOURCE_ID", requires = "metric")]
    resource_id: Option<String>,
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

/// Sizes as numbers of bytes, or for people in tables (`786 KiB`).
#[derive(Clone, Copy)]
struct Sizes {
    human: bool,
}

impl Sizes {
    fn of(ctx: &Ctx) -> Sizes {
        Sizes {
            human: ctx.output.format == Format::Table,
        }
    }

    fn bytes(self, bytes: u64) -> Json {
        if self.human {
            Json::str(human_bytes(bytes))
        } else {
            int(bytes)
        }
    }

    fn per_point(self, usage: &Usage) -> Json {
        match usage.bytes_per_point() {
            None => Json::Null,
            Some(bytes) if self.human => Json::str(format!("{bytes:.1} B")),
            Some(bytes) => Json::Float(bytes),
        }
    }

    fn usage_fields(self, usage: &Usage) -> Vec<(&'static str, Json)> {
        vec![
            ("points", int(usage.points)),
            ("bytes", self.bytes(usage.bytes)),
            ("bytes_per_point", self.per_point(usage)),
            ("first", timestamp(usage.first)),
            ("last", timestamp(usage.last)),
        ]
    }
}

/// The original id of the resource a metric belongs to, as it was given.
fn resource_of(index: &Index, metric: &Metric) -> Result<Option<String>> {
    Ok(match metric.resource_id {
        Some(id) => index
            .get_resource(GENERIC, id)?
            .map(|resource| resource.original_resource_id),
        None => None,
    })
}

/// `cpu (web1)` for a metric of a resource, `cpu` for one of its own.
fn metric_words(metric: &Metric, resource: Option<&str>) -> Option<String> {
    let name = metric.name.clone()?;
    Some(match resource {
        Some(resource) => format!("{name} ({resource})"),
        None => name,
    })
}

struct MetricView<'a> {
    metric: &'a Metric,
    resource: Option<String>,
    usage: &'a MetricUsage,
    waiting: u64,
    dropped: Option<DroppedTotal>,
    sack: u32,
}

fn metric_info(view: &MetricView, sizes: Sizes) -> Record {
    let usage = view.usage;
    let aggregations = usage
        .aggregations
        .iter()
        .map(|((method, granularity), usage)| {
            let mut fields = vec![
                ("aggregation", Json::str(method)),
                ("granularity", Json::Float(granularity.as_secs_f64())),
                ("splits", int(usage.files)),
            ];
            fields.extend(sizes.usage_fields(usage));
            Json::object(fields)
        })
        .collect();
    let metric = view.metric;
    let mut fields = vec![
        ("id", Json::str(metric.id.to_string())),
        ("name", Json::opt_str(metric.name.clone())),
        ("resource", Json::opt_str(view.resource.clone())),
        (
            "archive_policy_name",
            Json::str(&metric.archive_policy_name),
        ),
        ("sack", int(view.sack)),
        ("measures waiting", int(view.waiting)),
        (
            "measures dropped as older than the back window",
            int(view.dropped.map_or(0, |d| d.measures)),
        ),
        ("files", int(usage.total.files)),
    ];
    fields.extend(sizes.usage_fields(&usage.total));
    fields.push((
        "bound series",
        Json::object(sizes.usage_fields(&usage.bound)),
    ));
    fields.push(("aggregations", Json::Array(aggregations)));
    fields.push(("unreadable files", int(usage.unreadable.len())));
    Record::show(fields)
}

/// One of the most expensive metrics; in a table, the metric by name and
/// resource first (`cpu (web1)`).
fn expensive(index: &Index, usage: &MetricUsage, sizes: Sizes) -> Result<Json> {
    let metric = index.get_metric(usage.metric)?;
    let resource = match &metric {
        Some(metric) => resource_of(index, metric)?,
        None => None,
    };
    let id = ("id", Json::str(usage.metric.to_string()));
    let mut fields = if sizes.human {
        let words = metric
            .as_ref()
            .and_then(|m| metric_words(m, resource.as_deref()));
        vec![("metric", Json::opt_str(words)), id]
    } else {
        let name = metric.as_ref().and_then(|m| m.name.clone());
        vec![
            id,
            ("name", Json::opt_str(name)),
            ("resource", Json::opt_str(resource)),
        ]
    };
    fields.extend([
        (
            "archive_policy_name",
            Json::opt_str(metric.map(|m| m.archive_policy_name)),
        ),
        ("files", int(usage.total.files)),
        ("points", int(usage.total.points)),
        ("bytes", sizes.bytes(usage.total.bytes)),
        ("bytes_per_point", sizes.per_point(&usage.total)),
    ]);
    Ok(Json::object(fields))
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let sizes = Sizes::of(ctx);
    let (store, index) = ctx.open_store()?;
    if let Some(reference) = args.metric {
        let metric = super::words::find_metric(
            &index,
            &reference,
            args.resource_id.as_deref(),
            &ctx.creator,
        )?;
        let usage = info::store_metric_usage(&store, metric.id)?;
        for path in &usage.unreadable {
            ctx.warn(&format!(
                "{}: does not decode (see `carbonara verify`)",
                path.display()
            ));
        }
        let view = MetricView {
            resource: resource_of(&index, &metric)?,
            usage: &usage,
            waiting: store.incoming().measures_waiting(metric.id)?,
            dropped: index.dropped_measures(Some(metric.id))?.into_iter().next(),
            sack: store.incoming().sack_of(metric.id),
            metric: &metric,
        };
        return ctx.print(&metric_info(&view, sizes));
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
        .map(|usage| expensive(&index, usage, sizes))
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
        ("archive bytes", sizes.bytes(info.archive.bytes)),
        ("archive bytes per point", sizes.per_point(&info.archive)),
        ("size on disk", sizes.bytes(info.disk_bytes)),
        ("unreadable files", int(info.unreadable.len())),
        ("most expensive metrics", Json::Array(most_expensive)),
    ]))
}
