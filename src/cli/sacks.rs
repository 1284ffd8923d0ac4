//! `carbonara sacks`: show the number of sacks, or change it as
//! gnocchi-change-sack-size does.

use crate::error::{Error, Result};
use crate::process::{self, ProcessOptions};
use crate::pyform::json::Json;
use crate::store::lock::SackLocks;
use crate::store::{Location, Store, sacks, txn};

use super::output::Record;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Change the number of sacks to N (1 to 65535); needs the store to
    /// itself and no measures waiting
    #[arg(long, value_name = "N")]
    set: Option<u32>,
    /// Process the waiting measures first
    #[arg(long, requires = "set")]
    process: bool,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let Some(wanted) = args.set else {
        let (store, _index) = ctx.open_store()?;
        return ctx.print(&Record::show([(
            "sacks",
            Json::Int(i64::from(store.config().sacks)),
        )]));
    };
    let mut store = match &ctx.location {
        Location::Directory(root) => Store::open_exclusive(root)?,
        deployment => deployment.open()?,
    };
    txn::recover(&store, Some(&mut SackLocks::new(&store)))?;
    if args.process {
        let index = store.index()?;
        let report = process::run_pass(&store, &index, &ProcessOptions::default())?;
        super::process::say_too_old(ctx, &index, &report)?;
        for failure in &report.failures {
            ctx.warn(&format!("error: {failure}"));
        }
        if !report.failures.is_empty() {
            return Err(Error::Failed(format!(
                "{} not be processed; the sacks are unchanged",
                super::words::count(
                    report.failures.len() as u64,
                    "metric could",
                    "metrics could"
                )
            )));
        }
    }
    let previous = sacks::set_sacks(&mut store, wanted)?;
    ctx.print(&Record::show([
        ("sacks", Json::Int(i64::from(wanted))),
        ("previous sacks", Json::Int(i64::from(previous))),
    ]))
}
