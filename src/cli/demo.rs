//! `carbonara demo`: the main job on a built-in sample — create a store
//! with Gnocchi's default policies, import two days of three metrics,
//! run the aggregation pass and print what the store now holds.

use std::path::{Path, PathBuf};
use std::time::Instant;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::ingest::{self, MeasureBatch, csv};
use crate::policy::{AggregationMethod, ArchivePolicy, ArchivePolicyRule};
use crate::process::{self, ProcessOptions};
use crate::pyform::json::Json;
use crate::query::{self, MeasuresQuery};
use crate::store::{Index, Metric, MetricStatus, Store};
use crate::time::Span;

use super::output::{Format, Record};
use super::{CLI_CREATOR, Ctx, OutputArgs};

/// Two days (2024-03-01 and 02) of a CPU gauge every 2 min, a disk byte
/// counter every 2 min (reset once, as after a reboot) and a room
/// temperature every 5 min.
const SAMPLE: &str = include_str!("../../data/demo-sample.csv");
const SAMPLE_METRICS: [(&str, &str, &str); 3] = [
    ("cpu.util", "high", "%"),
    ("disk.io.bytes", "medium", "B"),
    ("room.temperature", "low", "°C"),
];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Build the sample store here and keep it (default: a temporary store, removed at the end)
    #[arg(long, value_name = "DIR")]
    keep: Option<PathBuf>,
    #[command(flatten)]
    output: OutputArgs,
}

/// Removes the temporary store when the demo ends, however it ends.
struct TemporaryDir(PathBuf);

impl Drop for TemporaryDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn heading(ctx: &Ctx, text: &str) -> Result<()> {
    if ctx.output.format != Format::Table {
        return Ok(());
    }
    use std::io::Write;
    writeln!(std::io::stdout(), "\n{text}").map_err(Error::Output)
}

fn create_store(root: &Path) -> Result<(Store, Index)> {
    let store = Store::init(root, crate::store::DEFAULT_SACKS)?;
    let index = store.index()?;
    for policy in ArchivePolicy::defaults() {
        index.create_archive_policy(&policy)?;
    }
    index.create_rule(&ArchivePolicyRule::default_rule())?;
    for (name, policy, unit) in SAMPLE_METRICS {
        index.create_metric(&Metric {
            id: Uuid::new_v4(),
            name: Some(name.to_owned()),
            unit: Some(unit.to_owned()),
            archive_policy_name: policy.to_owned(),
            creator: CLI_CREATOR.to_owned(),
            resource_id: None,
            status: MetricStatus::Active,
        })?;
    }
    Ok((store, index))
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let (root, _cleanup) = match args.keep {
        Some(dir) => (dir, None),
        None => {
            let dir =
                std::env::temp_dir().join(format!("carbonara-demo-{}", Uuid::new_v4().simple()));
            (dir.clone(), Some(TemporaryDir(dir)))
        }
    };
    let (store, index) = create_store(&root)?;

    let started = Instant::now();
    let options = csv::CsvOptions::new(
        csv::MetricSource::Column(csv::Column::Name("metric".into())),
        ctx.now,
    );
    let mut batch = MeasureBatch::default();
    csv::read(
        SAMPLE.as_bytes(),
        Path::new("<built-in sample>"),
        &options,
        &mut batch,
    )?;
    let stored = ingest::store_batch(&store, &index, &batch, ctx.now)?;
    let ingested = started.elapsed();
    let report = process::run_pass(&store, &index, &ProcessOptions::default())?;
    if let Some(failure) = report.failures.into_iter().next() {
        return Err(failure.into());
    }
    let processed = started.elapsed() - ingested;

    heading(
        ctx,
        &format!(
            "carbonara demo: a sample store at {} ({})",
            root.display(),
            if _cleanup.is_some() {
                "removed at the end; --keep DIR keeps one"
            } else {
                "kept"
            }
        ),
    )?;
    heading(
        ctx,
        &format!(
            "Ingested {} of {} in {:.1} ms; the aggregation pass took {:.1} ms.",
            super::words::count(stored.measures as u64, "measure", "measures"),
            super::words::count(stored.metrics as u64, "metric", "metrics"),
            ingested.as_secs_f64() * 1e3,
            processed.as_secs_f64() * 1e3
        ),
    )?;

    let mut summary = Vec::new();
    let mut latest = Vec::new();
    for (name, _, _) in SAMPLE_METRICS {
        let metric = index.find_metric(name)?;
        let policy = index.get_archive_policy(&metric.archive_policy_name)?;
        let mut stored_points = Vec::new();
        for granularity in policy.granularities_descending() {
            let points = read(&store, &metric, &policy, "mean", granularity)?.len();
            stored_points.push(format!("{points} × {}", granularity.to_timedelta_string()));
        }
        summary.push(vec![
            Json::str(name),
            Json::opt_str(metric.unit.clone()),
            Json::str(&policy.name),
            Json::Int(batch.measures[name].len() as i64),
            Json::str(stored_points.join(", ")),
        ]);
        let coarse = policy.granularities_descending()[0];
        let means: Vec<_> = read(&store, &metric, &policy, "mean", coarse)?
            .iter()
            .collect();
        let maxima: Vec<_> = read(&store, &metric, &policy, "max", coarse)?
            .iter()
            .collect();
        for (mean, max) in means.iter().zip(&maxima).rev().take(3).rev() {
            latest.push(vec![
                Json::str(name),
                Json::str(mean.timestamp.to_api_string()),
                Json::Float(coarse.as_secs_f64()),
                Json::Float(mean.value),
                Json::Float(max.value),
            ]);
        }
    }
    heading(
        ctx,
        "Metrics and the mean aggregates their archive policy keeps:",
    )?;
    ctx.print(&Record::list(
        [
            "metric",
            "unit",
            "archive policy",
            "measures",
            "mean points × granularity",
        ],
        summary,
    ))?;
    heading(ctx, "The last three buckets of the coarsest granularity:")?;
    ctx.print(&Record::list(
        ["metric", "timestamp", "granularity", "mean", "max"],
        latest,
    ))?;
    heading(
        ctx,
        "Next: carbonara init, metric create, ingest csv, process, measures show (see `carbonara help`).",
    )?;
    Ok(())
}

fn read(
    store: &Store,
    metric: &Metric,
    policy: &ArchivePolicy,
    method: &str,
    granularity: Span,
) -> Result<query::Measures> {
    let query = MeasuresQuery {
        aggregation: method.parse::<AggregationMethod>()?,
        granularity: Some(granularity),
        start: None,
        stop: None,
        resample: None,
    };
    Ok(query::get_measures(store, metric.id, policy, &query)?)
}
