//! `carbonara import-gnocchi`: adopt the metrics of a Gnocchi file-storage
//! directory, archives and waiting measures, ids kept.

use std::path::PathBuf;

use crate::error::Result;
use crate::inspect::import_gnocchi;
use crate::pyform::json::Json;

use super::output::Record;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Gnocchi's `[storage] file_basepath` (or its archive root, or one
    /// metric's directory)
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// The archive policy of the adopted metrics; it must have the methods
    /// and granularities their archives have
    #[arg(short = 'a', long, value_name = "POLICY")]
    archive_policy_name: String,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let (store, index) = ctx.open_store()?;
    let report = import_gnocchi::import(
        &store,
        &index,
        &args.dir,
        &args.archive_policy_name,
        &ctx.creator,
    )?;
    for warning in &report.warnings {
        ctx.warn(warning);
    }
    let policies = std::collections::BTreeMap::from([(args.archive_policy_name, report.metrics)]);
    ctx.note(&super::words::metrics_created(report.metrics, &policies));
    ctx.print(&Record::show([
        ("metrics", Json::Int(report.metrics as i64)),
        ("archive files", Json::Int(report.archive_files as i64)),
        ("measure files", Json::Int(report.measure_files as i64)),
        ("measures", Json::Int(report.measures as i64)),
    ]))
}
