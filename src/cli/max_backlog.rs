//! `carbonara max-backlog`: show or change the store's backlog limit
//! (`store.json`'s `max_backlog`), the measures waiting beyond which
//! `ingest` and `measures add` refuse to write (unless `--force`) and
//! `serve` answers 503 (unless given `--max-backlog`).

use crate::error::{Error, Result};
use crate::ops;
use crate::pyform::json::Json;
use crate::store::{self, Location};

use super::output::Record;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Set the limit: writes are refused while more than MEASURES measures wait to be processed
    #[arg(long, value_name = "MEASURES", conflicts_with = "unset")]
    set: Option<u64>,
    /// Remove the limit
    #[arg(long)]
    unset: bool,
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let (store, _index) = ctx.open_store()?;
    let mut limit = store.config().max_backlog;
    if args.set.is_some() || args.unset {
        let Location::Directory(_) = &ctx.location else {
            return Err(Error::Usage(
                "a Gnocchi deployment given by --gnocchi-conf has no store.json to keep a backlog limit in: give `serve --max-backlog` instead".to_owned(),
            ));
        };
        limit = args.set;
        store::set_max_backlog(&store, limit)?;
    }
    let waiting = ops::measures::backlog(&store)?.measures;
    ctx.print(&Record::show([
        (
            "max backlog",
            limit.map_or(Json::Null, |limit| Json::Int(limit as i64)),
        ),
        ("measures waiting", Json::Int(waiting as i64)),
    ]))
}
