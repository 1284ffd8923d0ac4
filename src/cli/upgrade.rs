//! `carbonara upgrade`: bring a store written by an older carbonara to the
//! current format; with `--gnocchi-conf`, gnocchi-upgrade's job on the
//! deployment (Gnocchi 4.7's schema on an empty database, the sack count,
//! the default policies and rule).

use crate::error::{Error, Result};
use crate::pyform::json::Json;
use crate::store::upgrade::{self, Outcome};
use crate::store::{Location, Store};

use super::output::Record;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// With --gnocchi-conf: create no archive policies and no rule on a new
    /// deployment (gnocchi-upgrade's option)
    #[arg(long)]
    skip_archive_policies_creation: bool,

    /// With --gnocchi-conf: the number of sacks of a new deployment, 1 to
    /// 65535 (gnocchi-upgrade's option; an existing deployment keeps its own)
    #[arg(long, value_name = "N")]
    sacks_number: Option<u32>,

    #[command(flatten)]
    output: OutputArgs,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    if let Location::Deployment {
        state, backends, ..
    } = &ctx.location
    {
        let (created, sacks) = Store::upgrade_deployment(
            state,
            backends,
            args.sacks_number,
            !args.skip_archive_policies_creation,
        )?;
        ctx.note(&format!(
            "{} with {}",
            if created {
                "created Gnocchi 4.7's schema"
            } else {
                "the deployment is at Gnocchi 4.7's schema"
            },
            super::words::count(sacks, "sack", "sacks")
        ));
        return ctx.print(&Record::show([
            ("schema created", Json::Bool(created)),
            ("sacks", Json::Int(i64::from(sacks))),
        ]));
    }
    if args.skip_archive_policies_creation || args.sacks_number.is_some() {
        return Err(Error::Usage(
            "--skip-archive-policies-creation and --sacks-number are for a Gnocchi deployment (--gnocchi-conf)"
                .to_owned(),
        ));
    }
    match upgrade::upgrade(ctx.store_dir("upgrade")?)? {
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
