//! `carbonara upgrade`: bring a store written by an older carbonara to the
//! current format.

use crate::error::Result;
use crate::pyform::json::Json;
use crate::store::upgrade::{self, Outcome};

use super::Ctx;
use super::output::Record;

#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args, ctx: &Ctx) -> Result<()> {
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
