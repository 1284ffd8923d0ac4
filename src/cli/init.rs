//! `carbonara init`: create a store, like gnocchi-upgrade on a new
//! deployment (default archive policies and the `default` rule).

use crate::error::Result;
use crate::policy::{ArchivePolicy, ArchivePolicyRule};
use crate::store::{Backends, Store};

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of sacks (incoming queues), 1 to 65535 [default: 128, or
    /// what a Gnocchi incoming directory has]
    #[arg(long, value_name = "N")]
    sacks: Option<u32>,

    /// Create no archive policies and no rule
    #[arg(long)]
    no_archive_policies: bool,

    /// Keep the index in a Gnocchi deployment's PostgreSQL database
    /// (postgresql://USER:PASSWORD@HOST:PORT/DB), in Gnocchi 4.7's schema;
    /// an empty database gets that schema
    #[arg(long, value_name = "URL")]
    index: Option<String>,

    /// Keep the archives in a directory of Gnocchi's file storage driver
    /// (file:///DIR, its `file_basepath`) or in its Redis driver's hashes
    /// (redis://[:PASSWORD@]HOST:PORT[?db=N], its `redis_url`)
    #[arg(long, value_name = "URL")]
    storage: Option<String>,

    /// Keep the incoming measures in a directory of Gnocchi's file incoming
    /// driver (file:///DIR, its `file_basepath`) or in its Redis driver's
    /// lists (redis://[:PASSWORD@]HOST:PORT[?db=N], its `redis_url`)
    #[arg(long, value_name = "URL")]
    incoming: Option<String>,
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let backends = Backends {
        index: args.index,
        storage: args.storage,
        incoming: args.incoming,
        coordination_url: None,
    };
    let root = ctx.store_dir("init")?;
    let store = Store::init_with(root, args.sacks, backends)?;
    let index = store.index()?;
    // A deployment that has policies or rules keeps them, as
    // gnocchi-upgrade leaves them.
    let untouched = index.list_archive_policies()?.is_empty() && index.list_rules()?.is_empty();
    if !args.no_archive_policies && untouched {
        index.atomically(|index| {
            for policy in ArchivePolicy::defaults() {
                index.create_archive_policy(&policy)?;
            }
            index.create_rule(&ArchivePolicyRule::default_rule())
        })?;
    }
    ctx.note(&format!(
        "created store {} with {}",
        root.display(),
        super::words::count(store.config().sacks, "sack", "sacks")
    ));
    Ok(())
}
