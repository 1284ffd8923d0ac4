//! `carbonara verify`: check that every file decodes and matches its name
//! and that the index, the archive and the sacks agree; `--repair` moves
//! what is bad into the quarantine and verifies again.

use std::path::Path;

use uuid::Uuid;

use crate::error::{Error, Result};
use crate::inspect::repair::{self, Outcome};
use crate::inspect::verify::{self, Problem, Repair};
use crate::pyform::json::Json;

use super::output::Record;
use super::words::count;
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Only these metrics (ids or names): their archive and sack directories
    #[arg(value_name = "METRIC")]
    metrics: Vec<String>,
    /// Move bad files and directories into STORE/quarantine/ (nothing is
    /// deleted), create missing directories, then verify again
    #[arg(long)]
    repair: bool,
    #[command(flatten)]
    output: OutputArgs,
}

fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .into_owned()
}

fn planned(repair: &Repair) -> String {
    match repair {
        Repair::Quarantine => "quarantine".to_owned(),
        Repair::Create(_) => "create directory".to_owned(),
        Repair::Manual => "none".to_owned(),
    }
}

fn row(root: &Path, problem: &Problem, action: String) -> Vec<Json> {
    vec![
        Json::str(relative(root, &problem.path)),
        Json::opt_str(problem.metric.map(|m| m.to_string())),
        Json::str(&problem.what),
        Json::str(action),
    ]
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let (store, index) = ctx.open_store()?;
    let only: Option<Vec<Uuid>> = if args.metrics.is_empty() {
        None
    } else {
        Some(
            args.metrics
                .iter()
                .map(|m| index.find_metric(m).map(|m| m.id))
                .collect::<Result<_, _>>()?,
        )
    };
    let started = std::time::Instant::now();
    let report = verify::verify(&store, &index, only.as_deref())?;
    let seconds = started.elapsed().as_secs_f64();
    ctx.note(&format!(
        "verified {}, {} ({}) in {seconds:.3} s: {}",
        count(report.metrics as u64, "metric", "metrics"),
        count(report.files as u64, "file", "files"),
        count(report.bytes, "byte", "bytes"),
        count(report.problems.len() as u64, "problem", "problems")
    ));
    let root = store.root();
    let columns = ["path", "metric", "problem", "repair"];
    if !args.repair {
        let rows = report
            .problems
            .iter()
            .map(|p| row(root, p, planned(&p.repair)))
            .collect();
        ctx.print(&Record::list(columns, rows))?;
        return match report.problems.len() {
            0 => Ok(()),
            n => Err(Error::Failed(format!(
                "{} found; `carbonara verify --repair` fixes what it can",
                count(n as u64, "problem", "problems")
            ))),
        };
    }
    let outcomes = repair::repair(&store, report.problems, ctx.now)?;
    let rows = outcomes
        .iter()
        .map(|(problem, outcome)| {
            let action = match outcome {
                Outcome::Quarantined(to) => format!("moved to {}", relative(root, to)),
                Outcome::Created => "created".to_owned(),
                Outcome::Left(reason) => format!("left: {reason}"),
            };
            row(root, problem, action)
        })
        .collect();
    ctx.print(&Record::list(columns, rows))?;
    let after = verify::verify(&store, &index, only.as_deref())?;
    match after.problems.len() {
        0 => {
            ctx.note("the store is consistent");
            Ok(())
        }
        n => {
            for problem in &after.problems {
                ctx.warn(&format!(
                    "{}: {}",
                    relative(root, &problem.path),
                    problem.what
                ));
            }
            Err(Error::Failed(match n {
                1 => "1 problem remains after the repair".to_owned(),
                n => format!("{n} problems remain after the repair"),
            }))
        }
    }
}
