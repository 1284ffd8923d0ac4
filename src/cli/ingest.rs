//! `carbonara ingest`: import measures from files. Each file is taken whole
//! or not at all: a bad line stores nothing of its file.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use clap::Subcommand;

use crate::error::{Error, Result};
use crate::ingest::{self, csv};
use crate::process::{self, ProcessOptions};

use super::Ctx;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// CSV rows of timestamp and value, for one metric or a metric column
    Csv(CsvArgs),
}

#[derive(Debug, clap::Args)]
struct CsvArgs {
    /// Files to read; `-` is standard input
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Every row belongs to this metric (id or name)
    #[arg(
        long,
        value_name = "METRIC",
        required_unless_present = "metric_column",
        conflicts_with = "metric_column"
    )]
    metric: Option<String>,
    /// Each row names its metric in this column (header name or 1-based index)
    #[arg(long, value_name = "COLUMN")]
    metric_column: Option<csv::Column>,
    /// The timestamp column (header name or 1-based index)
    #[arg(long, default_value = "timestamp", value_name = "COLUMN")]
    timestamp_column: csv::Column,
    /// The value column (header name or 1-based index)
    #[arg(long, default_value = "value", value_name = "COLUMN")]
    value_column: csv::Column,
    /// Field delimiter
    #[arg(long, default_value_t = ',', value_name = "CHAR")]
    delimiter: char,
    /// Run the aggregation pass after the import
    #[arg(long)]
    process: bool,
}

fn open(path: &Path) -> Result<Box<dyn Read>> {
    if path == Path::new("-") {
        return Ok(Box::new(std::io::stdin().lock()));
    }
    let file = File::open(path).map_err(|source| Error::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, file)))
}

fn run_csv(args: CsvArgs, ctx: &Ctx) -> Result<()> {
    let delimiter = u8::try_from(args.delimiter)
        .ok()
        .filter(u8::is_ascii)
        .ok_or_else(|| {
            Error::Usage(format!(
                "--delimiter `{}` must be one ASCII character",
                args.delimiter
            ))
        })?;
    let metric = match (args.metric, args.metric_column) {
        (Some(metric), _) => csv::MetricSource::Fixed(metric),
        (None, Some(column)) => csv::MetricSource::Column(column),
        (None, None) => unreachable!("clap requires --metric or --metric-column"),
    };
    let mut options = csv::CsvOptions::new(metric, ctx.now);
    options.timestamp_column = args.timestamp_column;
    options.value_column = args.value_column;
    options.delimiter = delimiter;

    let (store, index) = ctx.open_store()?;
    let started = std::time::Instant::now();
    let (mut lines, mut measures) = (0, 0);
    for path in &args.files {
        let batch = csv::read(open(path)?, path, &options)?;
        let report = ingest::store_batch(&store, &index, &batch, ctx.now)?;
        lines += batch.lines;
        measures += report.measures;
    }
    let seconds = started.elapsed().as_secs_f64();
    ctx.note(&format!(
        "ingested {measures} measures from {} files ({lines} lines) in {seconds:.3} s",
        args.files.len()
    ));
    if args.process {
        let report = process::run_pass(&store, &index, &ProcessOptions::default())?;
        ctx.note(&format!(
            "processed {} measures of {} metrics",
            report.measures, report.metrics
        ));
        if let Some(failure) = report.failures.into_iter().next() {
            return Err(failure.into());
        }
    }
    Ok(())
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    match args.command {
        Command::Csv(csv_args) => run_csv(csv_args, ctx),
    }
}
