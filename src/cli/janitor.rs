//! `carbonara janitor`: remove the data of deleted metrics now, as the
//! next `process` would (Gnocchi's metricd janitor).

use crate::error::Result;
use crate::process::janitor;
use crate::pyform::json::Json;
use crate::store::lock::SackLocks;

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
    let report = janitor::run(&store, &index, &mut SackLocks::new(&store))?;
    ctx.print(&Record::show([
        (
            "expunged metrics",
            Json::Int(report.expunged_metrics as i64),
        ),
        ("busy metrics", Json::Int(report.busy_metrics as i64)),
    ]))?;
    if report.busy_metrics > 0 {
        ctx.note(&format!(
            "{} in a sack another process holds; run janitor again later",
            super::words::count(
                report.busy_metrics as u64,
                "deleted metric is",
                "deleted metrics are"
            )
        ));
    }
    Ok(())
}
