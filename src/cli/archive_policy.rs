//! `carbonara archive-policy`: gnocchiclient's archive-policy commands.

use clap::Subcommand;

use crate::document;
use crate::error::Result;
use crate::ops::archive_policy::{self, NewArchivePolicy};
use crate::policy::{ArchivePolicy, Definition};

use super::Ctx;
use super::output::Record;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create an archive policy
    Create {
        /// Name of the archive policy
        name: String,
        /// Two of granularity, points and timespan, e.g. `granularity:1m,timespan:7d`; repeat for each granularity
        #[arg(
            short = 'd',
            long = "definition",
            required = true,
            value_name = "DEFINITION"
        )]
        definition: Vec<Definition>,
        /// Extra blocks of raw points kept for late measures
        #[arg(short = 'b', long, default_value_t = 0, value_name = "N")]
        back_window: u64,
        /// Aggregation method (`mean`, `95pct`, `rate:max`, `*`, `+m`, `-m`); repeat for more [default: mean min max sum std count]
        #[arg(
            short = 'm',
            long = "aggregation-method",
            value_name = "METHOD",
            allow_hyphen_values = true
        )]
        aggregation_methods: Vec<String>,
    },
    /// List the archive policies
    List,
    /// Show an archive policy
    Show {
        /// Name of the archive policy
        name: String,
    },
    /// Change the points or timespans of an archive policy, or its back window
    Update {
        /// Name of the archive policy
        name: String,
        /// The new definitions, with the same granularities as before
        #[arg(
            short = 'd',
            long = "definition",
            required = true,
            value_name = "DEFINITION"
        )]
        definition: Vec<Definition>,
        /// New back window
        #[arg(short = 'b', long, value_name = "N")]
        back_window: Option<u64>,
    },
    /// Delete an archive policy no metric or rule uses
    Delete {
        /// Name of the archive policy
        name: String,
    },
}

fn show(policy: &ArchivePolicy) -> Record {
    Record::show(document::archive_policy(policy))
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    match args.command {
        Command::Create {
            name,
            definition,
            back_window,
            aggregation_methods,
        } => {
            let new = NewArchivePolicy {
                name,
                back_window,
                definition,
                aggregation_methods,
            };
            ctx.print(&show(&archive_policy::create(&index, new)?))
        }
        Command::List => {
            let columns = ["name", "back_window", "definition", "aggregation_methods"];
            let rows = index
                .list_archive_policies()?
                .iter()
                .map(|p| {
                    document::archive_policy(p)
                        .into_iter()
                        .map(|(_, v)| v)
                        .collect()
                })
                .collect();
            ctx.print(&Record::list(columns, rows))
        }
        Command::Show { name } => ctx.print(&show(&index.get_archive_policy(&name)?)),
        Command::Update {
            name,
            definition,
            back_window,
        } => ctx.print(&show(&archive_policy::update(
            &index,
            &name,
            definition,
            back_window,
        )?)),
        Command::Delete { name } => {
            index.delete_archive_policy(&name)?;
            ctx.note(&format!("deleted archive policy {name}"));
            Ok(())
        }
    }
}
