//! `carbonara process`: one aggregation pass over every sack.

use crate::error::{Error, Result};
use crate::ops;
use crate::process::{self, PassReport, ProcessOptions};
use crate::pyform::json::Json;
use crate::store::Index;

use super::output::Record;
use super::words::count;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Worker threads [default: one per core, or per `[metricd] workers`
    /// with --gnocchi-conf; 16 times that on S3 or Redis drivers, whose
    /// reads wait on the network]
    #[arg(short = 'j', long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let (store, index) = ctx.open_store()?;
    let options = ProcessOptions {
        jobs: args.jobs.map(usize::from).or_else(|| {
            let workers = ctx.deployment.as_ref().and_then(|d| d.metricd.workers);
            process::threads_for(&store, workers)
        }),
        ..ProcessOptions::default()
    };
    let started = std::time::Instant::now();
    let report = process::run_pass(&store, &index, &options)?;
    say_too_old(ctx, &index, &report)?;
    if ctx.quiet {
        return failed(ctx, &report);
    }
    ctx.print(&Record::show([
        ("metrics", Json::Int(report.metrics as i64)),
        ("measures", Json::Int(report.measures as i64)),
        ("orphan measures", Json::Int(report.orphan_measures as i64)),
        ("busy sacks", Json::Int(report.busy_sacks as i64)),
        ("expunged metrics", Json::Int(report.expunged as i64)),
    ]))?;
    for resource in &report.reopened {
        ctx.note(&format!(
            "resource {resource} received a measure at or after its ended_at: ended_at cleared"
        ));
    }
    let seconds = started.elapsed().as_secs_f64();
    ctx.note(&format!(
        "processed {} of {} in {seconds:.3} s",
        count(report.measures, "measure", "measures"),
        count(report.metrics as u64, "metric", "metrics"),
    ));
    failed(ctx, &report)
}

/// Warns of each metric's measures the pass dropped as older than its
/// back window (even with `--quiet`: it is data not kept).
pub fn say_too_old(ctx: &Ctx, index: &Index, report: &PassReport) -> Result<()> {
    for sentence in ops::measures::describe_too_old(index, &report.too_old)? {
        ctx.warn(&sentence);
    }
    Ok(())
}

/// Exit 1 naming how many metrics failed, each reported first.
fn failed(ctx: &Ctx, report: &PassReport) -> Result<()> {
    if report.failures.is_empty() {
        return Ok(());
    }
    for failure in &report.failures {
        ctx.warn(&format!("error: {failure}"));
    }
    Err(Error::Failed(format!(
        "{} not be processed; {} kept",
        count(
            report.failures.len() as u64,
            "metric could",
            "metrics could"
        ),
        if report.failures.len() == 1 {
            "its measures are"
        } else {
            "their measures are"
        }
    )))
}
