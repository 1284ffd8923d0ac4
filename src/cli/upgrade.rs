//! `carbonara upgrade`: bring a store written by an older carbonara to the
//! current format.

use crate::error::Result;
use crate::pyform::json::Json;
use crate::store::upgrade::{self, Outcome};

use super::output::Record;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    match upgrade::upgrade(&ctx.store_path)? {
        Outcome::Current(format) => {
            ctx.note(&format!(
                "the store is already of the current format {format}"
            ));
            ctx.print(&Record::show([
                ("format", Json::Int(i64::from(format))),
                ("upgraded from", Json::Null),
            ]))
        }
        Outcome::Upgraded { from, steps } => {
            for step in &steps {
                ctx.note(&format!("upgraded: {step}"));
            }
            ctx.print(&Record::show([
                ("format", Json::Int(i64::from(crate::store::FORMAT_VERSION))),
                ("upgraded from", Json::Int(i64::from(from))),
            ]))
        }
    }
}
