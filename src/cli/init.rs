//! `carbonara init`: create a store, like gnocchi-upgrade on a new
//! deployment (default archive policies and the `default` rule).

use crate::error::Result;
use crate::policy::{ArchivePolicy, ArchivePolicyRule};
use crate::store::{DEFAULT_SACKS, Store};

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of sacks (incoming queues), 1 to 65535
    #[arg(long, default_value_t = DEFAULT_SACKS, value_name = "N")]
    sacks: u32,

    /// Create no archive policies and no rule
    #[arg(long)]
    no_archive_policies: bool,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let store = Store::init(&ctx.store_path, args.sacks)?;
    if !args.no_archive_policies {
        let index = store.index()?;
        index.atomically(|index| {
            for policy in ArchivePolicy::defaults() {
                index.create_archive_policy(&policy)?;
            }
            index.create_rule(&ArchivePolicyRule::default_rule())
        })?;
    }
    ctx.note(&format!(
        "created store {} with {}",
        ctx.store_path.display(),
        super::words::count(args.sacks, "sack", "sacks")
    ));
    Ok(())
}
