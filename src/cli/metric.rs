//! `carbonara metric`: gnocchiclient's metric commands.

use clap::Subcommand;
use uuid::Uuid;

use crate::document;
use crate::error::Result;
use crate::json::Json;
use crate::store::{Metric, MetricStatus};

use super::Ctx;
use super::output::Record;

/// The creator recorded for objects made from the command line, which acts
/// with Gnocchi's admin rights.
pub const CLI_CREATOR: &str = "admin";

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a metric
    Create {
        /// Name of the metric
        name: Option<String>,
        /// Archive policy [default: the first archive-policy rule matching the name]
        #[arg(short = 'a', long, value_name = "POLICY")]
        archive_policy_name: Option<String>,
        /// Unit of the measures
        #[arg(short = 'u', long)]
        unit: Option<String>,
    },
    /// List the metrics
    List,
    /// Show a metric
    Show {
        /// Id or name of the metric
        metric: String,
    },
    /// Delete metrics; their data is removed by the next `process`
    Delete {
        /// Ids or names of the metrics
        #[arg(required = true)]
        metrics: Vec<String>,
    },
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    match args.command {
        Command::Create {
            name,
            archive_policy_name,
            unit,
        } => {
            let archive_policy_name = match archive_policy_name {
                Some(policy) => policy,
                None => index.archive_policy_for(name.as_deref())?,
            };
            let metric = Metric {
                id: Uuid::new_v4(),
                name,
                unit,
                archive_policy_name,
                creator: CLI_CREATOR.to_owned(),
                resource_id: None,
                status: MetricStatus::Active,
            };
            index.create_metric(&metric)?;
            ctx.print(&Record::show(document::metric(&metric)))
        }
        Command::List => {
            let rows = index
                .list_metrics(None, &crate::store::Page::default())?
                .into_iter()
                .map(|m| {
                    vec![
                        Json::str(m.id.to_string()),
                        Json::str(m.archive_policy_name),
                        Json::opt_str(m.name),
                        Json::opt_str(m.unit),
                        Json::opt_str(m.resource_id.map(|r| r.to_string())),
                    ]
                })
                .collect();
            ctx.print(&Record::list(
                ["id", "archive_policy_name", "name", "unit", "resource_id"],
                rows,
            ))
        }
        Command::Show { metric } => ctx.print(&Record::show(document::metric(
            &index.find_metric(&metric)?,
        ))),
        Command::Delete { metrics } => {
            for reference in metrics {
                let metric = index.find_metric(&reference)?;
                index.mark_metric_deleted(metric.id)?;
                ctx.note(&format!("deleted metric {}", metric.id));
            }
            Ok(())
        }
    }
}
