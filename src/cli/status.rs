//! `carbonara status`: what waits to be processed, with gnocchiclient's
//! field names (measures of deleted metrics are not waiting: the next pass
//! throws them away), and how many measures passes have dropped as older
//! than their metric's back window.

use crate::error::Result;
use crate::ops;
use crate::pyform::json::Json;

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
    ctx.print(&Record::show([
        (
            "storage/number of metric having measures to process",
            Json::Int(backlog.metrics as i64),
        ),
        (
            "storage/total number of measures to process",
            Json::Int(backlog.measures as i64),
        ),
        (
            "storage/total number of measures dropped as older than the back window",
            Json::Int(dropped as i64),
        ),
    ]))
}
