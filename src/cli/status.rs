//! `carbonara status`: what waits to be processed, with gnocchiclient's
//! field names (measures of deleted metrics are not waiting: the next pass
//! throws them away), and how many measures passes have dropped as older
//! than their metric's back window, the age of the oldest measure
//! waiting, and the measures the passes of the last minute processed per
//! second (`store::pass_log`); and the live aggregation workers
//! (`carbonara metricd`, and gnocchi-metricd's where they share a Redis
//! coordinator) with the sacks each processes.

use crate::error::Result;
use crate::ops;
use crate::pyform::json::Json;
use crate::store::coordinator::fleet::{self, Worker};
use crate::store::pass_log;
use crate::time::Timestamp;

use super::output::Record;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let (store, index) = ctx.open_store()?;
    let backlog = ops::measures::live_backlog(&store, &index)?;
    let dropped: u64 = index
        .dropped_measures(None)?
        .iter()
        .map(|total| total.measures)
        .sum();
    let replicas = ctx.deployment.as_ref().map_or(3, |d| {
        u32::try_from(d.metricd.processing_replicas).unwrap_or(u32::MAX)
    });
    let workers = fleet::workers(&store, replicas)?;
    let mut fields = vec![
        (
            "storage/number of metric having measures to process".to_owned(),
            Json::Int(backlog.metrics as i64),
        ),
        (
            "storage/total number of measures to process".to_owned(),
            Json::Int(backlog.measures as i64),
        ),
        (
            // To the second, from the names of the files or S3 objects;
            // unknown (null) on Redis, whose lists keep no write time.
            "storage/age in seconds of the oldest measure to process".to_owned(),
            backlog.oldest().map_or(Json::Null, |written| {
                Json::Int((Timestamp::now().nanos() - written.nanos()).max(0) / 1_000_000_000)
            }),
        ),
        (
            "storage/total number of measures dropped as older than the back window".to_owned(),
            Json::Int(dropped as i64),
        ),
        (
            "metricd/measures processed per second over the last minute".to_owned(),
            Json::Float(pass_log::rate(&store, Timestamp::now())?),
        ),
        (
            "metricd/processors".to_owned(),
            // gnocchiclient's null when no worker reports.
            match workers.is_empty() {
                true => Json::Null,
                false => Json::Array(workers.iter().map(|w| Json::str(w.id.clone())).collect()),
            },
        ),
    ];
    fields.extend(workers.iter().map(|worker| {
        (
            format!("metricd/sacks of {}", worker.id),
            Json::str(describe_sacks(worker)),
        )
    }));
    ctx.print(&Record::show(fields))
}

/// A worker's sacks: `every sack`, or their numbers with runs shortened
/// (`0-3, 7, 9-12`).
fn describe_sacks(worker: &Worker) -> String {
    let Some(sacks) = &worker.sacks else {
        return "every sack (shared through the sack locks)".to_owned();
    };
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for sack in sacks {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == sack.number => *last = sack.number,
            _ => runs.push((sack.number, sack.number)),
        }
    }
    let numbers: Vec<String> = runs
        .iter()
        .map(|&(first, last)| match first == last {
            true => first.to_string(),
            false => format!("{first}-{last}"),
        })
        .collect();
    format!(
        "{} of {}: {}",
        sacks.len(),
        sacks.first().map_or(0, |s| s.total),
        numbers.join(", ")
    )
}
