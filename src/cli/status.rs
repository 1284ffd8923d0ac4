//! `carbonara status`: what waits to be processed, with gnocchiclient's
//! field names.

use crate::error::Result;
use crate::pyform::json::Json;

use super::Ctx;
use super::output::Record;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Ctx) -> Result<()> {
    let (store, _index) = ctx.open_store()?;
    let backlog = store.incoming().backlog()?;
    ctx.print(&Record::show([
        (
            "storage/number of metric having measures to process",
            Json::Int(backlog.metrics as i64),
        ),
        (
            "storage/total number of measures to process",
            Json::Int(backlog.measures as i64),
        ),
    ]))
}
