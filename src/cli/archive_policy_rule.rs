//! `carbonara archive-policy-rule`: which policy a metric created without
//! one gets, by name pattern.

use clap::Subcommand;

use crate::error::Result;
use crate::ops::archive_policy;
use crate::policy::ArchivePolicyRule;
use crate::pyform::document;
use crate::pyform::json::Json;

use super::output::Record;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a rule
    Create {
        /// Name of the rule
        name: String,
        /// Archive policy given to matching metrics
        #[arg(short = 'a', long, value_name = "POLICY")]
        archive_policy_name: String,
        /// Shell pattern (`*`, `?`, `[seq]`) matched against metric names
        #[arg(short = 'm', long, value_name = "PATTERN")]
        metric_pattern: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// List the rules, in matching order
    List {
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Show a rule
    Show {
        /// Name of the rule
        name: String,
        #[command(flatten)]
        output: OutputArgs,
    },
    /// Delete a rule
    Delete {
        /// Name of the rule
        name: String,
    },
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        Command::Create {
            name,
            archive_policy_name,
            metric_pattern,
            output,
        } => create(
            ArchivePolicyRule {
                name,
                metric_pattern,
                archive_policy_name,
            },
            &ctx.printing(output),
        ),
        Command::List { output } => list(&ctx.printing(output)),
        Command::Show { name, output } => show(&name, &ctx.printing(output)),
        Command::Delete { name } => delete(&name, ctx),
    }
}

fn create(rule: ArchivePolicyRule, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let rule = archive_policy::create_rule(&index, rule)?;
    let others = index.list_rules()?;
    for shadow in ArchivePolicyRule::shadows(&others, &rule) {
        let (winner, loser) = (shadow.winner, shadow.loser);
        ctx.warn(&format!(
            "warning: rule {} ({} → {}) will never match: rule {} ({} → {}) is tried first",
            loser.name,
            loser.metric_pattern,
            loser.archive_policy_name,
            winner.name,
            winner.metric_pattern,
            winner.archive_policy_name,
        ));
    }
    ctx.print(&Record::show(document::archive_policy_rule(&rule)))
}

fn list(ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    let rows = index
        .list_rules()?
        .iter()
        .map(|r| {
            vec![
                Json::str(&r.name),
                Json::str(&r.archive_policy_name),
                Json::str(&r.metric_pattern),
            ]
        })
        .collect();
    // gnocchiclient's columns, in the order of gnocchi-api's documents.
    ctx.print(&Record::list(
        ["name", "archive_policy_name", "metric_pattern"],
        rows,
    ))
}

fn show(name: &str, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    ctx.print(&Record::show(document::archive_policy_rule(
        &index.get_rule(name)?,
    )))
}

fn delete(name: &str, ctx: &Ctx) -> Result<()> {
    let (_store, index) = ctx.open_store()?;
    index.delete_rule(name)?;
    ctx.note(&format!("deleted archive policy rule {name}"));
    Ok(())
}
