//! `carbonara ingest FORMAT FILE…`: import measures from files. Each file
//! is one transaction, taken whole or not at all; `--skip-invalid` stores
//! the good lines instead and reports the bad ones.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Subcommand, ValueEnum};

use crate::error::{Error, Result};
use crate::ingest::csv::{self, TimeUnit};
use crate::ingest::{
    Declaration, Input, MeasureWriter, NamedMetric, ParseError, ParseSummary, ReadError, Sink,
    SinkError, WriterOptions, input::ByteCounter,
};
use crate::ingest::{batch, ceilometer, influx, prometheus, statsd};
use crate::ops::{self, backfill::MetricBackfill};
use crate::process::{self, ProcessOptions};
use crate::store::{Index, Store};
use crate::time::{Span, Timestamp};

use super::Ctx;
use super::progress::InputProgress;
use super::serve::parse_span_or_zero;
use super::words::{count, metrics_created};

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// CSV: timestamp,value rows for one metric, rows naming their metric, or one column per metric
    Csv(CsvArgs),
    /// statsd lines, a file being one flush interval, stored as gnocchi-statsd stores them
    Statsd(StatsdArgs),
    /// InfluxDB line protocol, mapped as Gnocchi's InfluxDB endpoint maps it
    Influx(InfluxArgs),
    /// Gnocchi batch JSON: {METRIC_ID: MEASURES} or {RESOURCE_ID: {METRIC_NAME: MEASURES}}
    Batch(BatchArgs),
    /// Ceilometer samples, stored as Ceilometer's Gnocchi publisher stores them
    Ceilometer(CeilometerArgs),
    /// Prometheus remote-write bodies (snappy-compressed protobuf), mapped as Gnocchi's endpoint maps them
    Prometheus(PrometheusArgs),
}

/// What every format shares.
#[derive(Debug, clap::Args)]
struct CommonArgs {
    /// Files to read (gzip and zstd are decoded); `-` is standard input
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Store the good lines, report each bad one, and exit 1 at the end
    #[arg(long)]
    skip_invalid: bool,
    /// Run the aggregation pass after the import
    #[arg(long)]
    process: bool,
    /// Store the files even when more measures wait than the store's backlog limit (`carbonara max-backlog`)
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    backfill: BackfillArgs,
}

/// Measures older than the back window, which the pass would drop.
#[derive(Debug, clap::Args)]
struct BackfillArgs {
    /// Aggregate the measures older than a metric's back window into the periods holding no aggregate yet, instead of letting the pass drop them
    #[arg(long)]
    backfill: bool,
    /// With --backfill: recompute the periods that already hold aggregates from the file's measures alone
    #[arg(long, requires = "backfill")]
    replace: bool,
    /// With --backfill: how long to wait for a pass that holds a metric's sack (`0`: one try) [default: 10s]
    #[arg(long, value_name = "SPAN", value_parser = parse_span_or_zero, requires = "backfill")]
    operation_timeout: Option<Span>,
}

/// Creating the metrics an input names that do not exist yet.
#[derive(Debug, clap::Args)]
struct CreateArgs {
    /// Create missing metrics, with --archive-policy-name or the policy of the matching archive-policy rule
    #[arg(long)]
    create_metrics: bool,
    /// Archive policy of the metrics created [default: from the archive-policy rules]
    #[arg(long, value_name = "POLICY", requires = "create_metrics")]
    archive_policy_name: Option<String>,
}

impl CreateArgs {
    fn options(&self, ctx: &Ctx) -> WriterOptions {
        WriterOptions {
            creator: ctx.creator.clone(),
            create_metrics: self.create_metrics,
            archive_policy_name: self.archive_policy_name.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum TimeUnitArg {
    S,
    Ms,
    Us,
    Ns,
}

impl From<TimeUnitArg> for TimeUnit {
    fn from(unit: TimeUnitArg) -> TimeUnit {
        match unit {
            TimeUnitArg::S => TimeUnit::Seconds,
            TimeUnitArg::Ms => TimeUnit::Milliseconds,
            TimeUnitArg::Us => TimeUnit::Microseconds,
            TimeUnitArg::Ns => TimeUnit::Nanoseconds,
        }
    }
}

#[derive(Debug, clap::Args)]
struct CsvArgs {
    #[command(flatten)]
    common: CommonArgs,
    #[command(flatten)]
    create: CreateArgs,
    /// Every row belongs to this metric (id or name)
    #[arg(long, value_name = "METRIC", conflicts_with_all = ["metric_column", "wide"])]
    metric: Option<String>,
    /// Each row names its metric in this column (header name or 1-based index)
    #[arg(long, value_name = "COLUMN", conflicts_with = "wide")]
    metric_column: Option<csv::Column>,
    /// One column per metric, named by the header; the timestamp column is the other one
    #[arg(long)]
    wide: bool,
    /// Each row's metric is a metric of the resource named in this column (header name or 1-based index)
    #[arg(long, value_name = "COLUMN", conflicts_with = "wide")]
    resource_column: Option<csv::Column>,
    /// Create the resources the resource column names that do not exist, as generic resources
    #[arg(long, requires = "resource_column")]
    create_resources: bool,
    /// The timestamp column (header name or 1-based index) [default: timestamp, else the first]
    #[arg(long, value_name = "COLUMN")]
    timestamp_column: Option<csv::Column>,
    /// The value column (header name or 1-based index)
    #[arg(
        long,
        default_value = "value",
        value_name = "COLUMN",
        conflicts_with = "wide"
    )]
    value_column: csv::Column,
    /// Field delimiter
    #[arg(long, default_value_t = ',', value_name = "CHAR")]
    delimiter: char,
    /// The first row is a header [default: when its value field is not a number]
    #[arg(long, conflicts_with = "no_header")]
    header: bool,
    /// The first row is data
    #[arg(long)]
    no_header: bool,
    /// Unit of epoch timestamps [default: guessed from the first one's size, and stated]
    #[arg(long, value_enum, value_name = "UNIT")]
    time_unit: Option<TimeUnitArg>,
}

#[derive(Debug, clap::Args)]
struct StatsdArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The generic resource that holds the metrics (created if missing); gnocchi-statsd's resource_id
    #[arg(long, value_name = "ID")]
    resource_id: String,
    /// Creator of the resource and the metrics; gnocchi-statsd's creator [default: --user's]
    #[arg(long, value_name = "CREATOR")]
    creator: Option<String>,
    /// Archive policy of new metrics [default: from the archive-policy rules, matched on NAME|TYPE]
    #[arg(long, value_name = "POLICY")]
    archive_policy_name: Option<String>,
    /// When the lines were received: the time of every measure [default: now]
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    at: Option<String>,
}

#[derive(Debug, clap::Args)]
struct InfluxArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// The database: the resource type of the resources (created if missing)
    #[arg(long, default_value = "influxdb", value_name = "NAME")]
    db: String,
    /// The tag whose value is the resource id
    #[arg(long, default_value = "host", value_name = "TAG")]
    resource_tag: String,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ShapeArg {
    /// By resource if any top-level value is an object, else by metric
    Guess,
    /// {METRIC_ID: MEASURES}, as POST /v1/batch/metrics/measures
    Metric,
    /// {RESOURCE_ID: {METRIC_NAME: MEASURES}}, as POST /v1/batch/resources/metrics/measures
    Resource,
}

#[derive(Debug, clap::Args)]
struct BatchArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Create missing metrics of existing resources (their policy from the item, else the rules)
    #[arg(long)]
    create_metrics: bool,
    /// Which body the files hold
    #[arg(long, value_enum, default_value_t = ShapeArg::Guess, value_name = "SHAPE")]
    shape: ShapeArg,
}

#[derive(Debug, clap::Args)]
struct CeilometerArgs {
    #[command(flatten)]
    common: CommonArgs,
    /// Archive policy of every metric, instead of the definitions' (the publisher's archive_policy option)
    #[arg(long, value_name = "POLICY")]
    archive_policy: Option<String>,
    /// Creator of what is created, and the owner of resource ids that are not UUIDs (Ceilometer's Gnocchi user, e.g. USER_ID:PROJECT_ID with Keystone) [default: --user's]
    #[arg(long, value_name = "CREATOR")]
    creator: Option<String>,
}

#[derive(Debug, clap::Args)]
struct PrometheusArgs {
    #[command(flatten)]
    common: CommonArgs,
}

/// Feeds one file's measures to its writer and reports as it goes.
struct FileSink<'a, 's> {
    writer: MeasureWriter<'s>,
    skip_invalid: bool,
    ctx: &'a Ctx,
    progress: InputProgress,
    bytes: ByteCounter,
}

impl Sink for FileSink<'_, '_> {
    fn measure(&mut self, metric: &str, timestamp: Timestamp, value: f64) -> Result<(), SinkError> {
        Ok(self.writer.add(metric, timestamp, value)?)
    }

    fn named_measure(
        &mut self,
        target: &NamedMetric<'_>,
        timestamp: Timestamp,
        value: f64,
    ) -> Result<(), SinkError> {
        Ok(self.writer.add_named(target, timestamp, value)?)
    }

    fn declare(&mut self, declaration: Declaration<'_>) -> Result<(), SinkError> {
        Ok(self.writer.declare(declaration)?)
    }

    fn invalid(&mut self, error: ParseError) -> Result<(), ParseError> {
        if !self.skip_invalid {
            return Err(error);
        }
        self.progress
            .suspend(|| self.ctx.warn(&format!("skipped: {error}")));
        Ok(())
    }

    fn lines_read(&mut self, lines: u64) {
        self.progress.update(self.bytes.get(), lines);
    }
}

/// What the files of one command added up to.
#[derive(Default)]
struct Totals {
    files: usize,
    parse: ParseSummary,
    measures: usize,
    metrics_created: usize,
    /// The archive policies of the created metrics, and how many got each.
    policies_created: BTreeMap<String, usize>,
}

/// Reads every file of `import`, each in its own transaction.
fn ingest_files(ctx: &Ctx, store: &Store, index: &Index, import: &Import) -> Result<Totals> {
    let mut totals = Totals::default();
    for path in &import.common.files {
        let mut input = Input::open(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        let mut sink = FileSink {
            writer: MeasureWriter::new(store, index, import.writer.clone(), ctx.now)?,
            skip_invalid: import.common.skip_invalid,
            ctx,
            progress: InputProgress::new(
                &path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                ),
                input.size,
                ctx.quiet,
            ),
            bytes: input.counter(),
        };
        let backfill = &import.common.backfill;
        if backfill.backfill {
            sink.writer.hold_back_late();
        }
        let parsed = import.format.read(&mut input, &mut sink, ctx);
        sink.progress.finish();
        let summary = parsed.map_err(|e| stopped_at(e.into(), &totals))?;
        let prepared = ops::backfill::prepare(index, sink.writer.take_held_back())
            .map_err(|e| stopped_at(e, &totals))?;
        let report = sink
            .writer
            .finish()
            .map_err(|e| stopped_at(e.into(), &totals))?;
        // The queued measures are stored: a failure from here on leaves them.
        let timeout = backfill
            .operation_timeout
            .map_or(ops::measures::OPERATION_TIMEOUT, super::serve::duration);
        let done = ops::backfill::apply(store, index, prepared, backfill.replace, timeout)
            .map_err(|e| Error::Reworded {
                kind: e.kind(),
                message: format!(
                    "{e}\n(the measures of that file not to backfill were stored, \
                     and the metrics before this one backfilled)"
                ),
            })?;
        for done in done {
            ctx.note(&say_backfilled(index, &done)?);
        }
        totals.files += 1;
        totals.parse.lines += summary.lines;
        totals.parse.invalid += summary.invalid;
        totals.measures += report.measures;
        totals.metrics_created += report.metrics_created;
        for (policy, created) in report.policies_created {
            *totals.policies_created.entry(policy).or_default() += created;
        }
    }
    Ok(totals)
}

/// `backfilled cpu (web1): 12 measures; 20 periods filled, 0 replaced, 3
/// refused (already aggregated; --replace recomputes them): 300 s: 2
/// periods, 7 measures; 60 s: …; 0 beyond the timespan`.
fn say_backfilled(index: &Index, done: &MetricBackfill) -> Result<String> {
    let summary = &done.summary;
    let mut refused = format!("{} refused", summary.refused_periods());
    if !summary.refused.is_empty() {
        let per_granularity: Vec<String> = summary
            .refused
            .iter()
            .rev()
            .map(|(granularity, refused)| {
                format!(
                    "{} s: {}, {}",
                    granularity.as_secs_f64(),
                    count(refused.periods, "period", "periods"),
                    count(refused.measures, "measure", "measures"),
                )
            })
            .collect();
        refused.push_str(&format!(
            " (already aggregated; --replace recomputes them): {}",
            per_granularity.join("; ")
        ));
    }
    Ok(format!(
        "backfilled {}: {}; {} filled, {} replaced, {refused}; {} beyond the timespan",
        ops::measures::metric_words(index, done.metric.id)?,
        count(done.measures, "measure", "measures"),
        count(summary.filled, "period", "periods"),
        summary.replaced,
        summary.beyond_timespan,
    ))
}

/// An error that stopped a file: nothing of it was stored, but the files
/// before it were.
fn stopped_at(error: Error, totals: &Totals) -> Error {
    match totals.files {
        0 => error,
        1 => Error::Failed(format!(
            "{error}\n(nothing of that file was stored; the file before it was)"
        )),
        files => Error::Failed(format!(
            "{error}\n(nothing of that file was stored; the {files} files before it were)"
        )),
    }
}

/// The summary line, the aggregation pass if asked, and the exit status.
fn finish(
    ctx: &Ctx,
    store: &Store,
    index: &Index,
    common: &CommonArgs,
    totals: &Totals,
    started: Instant,
) -> Result<()> {
    let seconds = started.elapsed().as_secs_f64();
    ctx.note(&format!(
        "ingested {} from {} ({}, {} invalid) in {seconds:.3} s, {:.0} lines/s; {}",
        count(totals.measures as u64, "measure", "measures"),
        count(totals.files as u64, "file", "files"),
        count(totals.parse.lines, "line", "lines"),
        totals.parse.invalid,
        totals.parse.lines as f64 / seconds.max(1e-9),
        metrics_created(totals.metrics_created, &totals.policies_created),
    ));
    if common.process {
        let report = process::run_pass(store, index, &ProcessOptions::default())?;
        super::process::say_too_old(ctx, index, &report)?;
        ctx.note(&format!(
            "processed {} of {}",
            count(report.measures, "measure", "measures"),
            count(report.metrics as u64, "metric", "metrics"),
        ));
        if let Some(failure) = report.failures.into_iter().next() {
            return Err(failure.into());
        }
    }
    match totals.parse.invalid {
        0 => Ok(()),
        1 => Err(Error::Failed(
            "1 invalid line was skipped; the others were stored".to_owned(),
        )),
        invalid => Err(Error::Failed(format!(
            "{invalid} invalid lines were skipped; the others were stored"
        ))),
    }
}

/// One command's import: the files and what to do with them, the format
/// they are read in, and as whom their measures are written.
struct Import {
    common: CommonArgs,
    format: Format,
    writer: WriterOptions,
}

impl Import {
    /// Every format's path: the store opened, each file read in its own
    /// transaction, then the summary, the aggregation pass if asked, and
    /// the exit status.
    fn run(&self, ctx: &Ctx) -> Result<()> {
        let (store, index) = ctx.open_store()?;
        if !self.common.force {
            ops::measures::check_backlog(&store)?;
        }
        let started = Instant::now();
        let totals = ingest_files(ctx, &store, &index, self)?;
        finish(ctx, &store, &index, &self.common, &totals, started)
    }
}

/// An input format with its options.
enum Format {
    Csv(csv::CsvOptions),
    Statsd(statsd::StatsdOptions),
    Influx(influx::InfluxOptions),
    Batch(batch::Shape),
    Ceilometer(ceilometer::Definitions),
    Prometheus,
}

impl Format {
    /// Reads one input into `sink`, noting on stderr what the user should
    /// know about it.
    fn read(
        &self,
        input: &mut Input,
        sink: &mut FileSink<'_, '_>,
        ctx: &Ctx,
    ) -> Result<ParseSummary, ReadError> {
        let path = input.path.clone();
        match self {
            Format::Csv(options) => {
                let summary = csv::read(input.reader(), &path, options, sink)?;
                if let Some(unit) = summary.guessed_unit {
                    ctx.note(&format!(
                        "{}: epoch timestamps read as {} (guessed from the first one; --time-unit sets it)",
                        path.display(),
                        unit.name()
                    ));
                }
                Ok(summary.parse)
            }
            Format::Statsd(options) => statsd::read(input.reader(), &path, options, sink),
            Format::Influx(options) => influx::read(input.reader(), &path, options, sink),
            Format::Batch(shape) => {
                let text = read_whole(input)?;
                batch::read(&text, &path, *shape, &ctx.creator, ctx.now, sink)
            }
            Format::Ceilometer(definitions) => {
                let text = read_whole(input)?;
                let summary = ceilometer::read(&text, &path, definitions, ctx.now, sink)?;
                if summary.unmapped > 0 {
                    ctx.note(&format!(
                        "{}: {} of {} skipped: {} not in Ceilometer's Gnocchi definitions",
                        path.display(),
                        summary.unmapped,
                        count(summary.samples as u64, "sample", "samples"),
                        if summary.unmapped == 1 {
                            "its meter is"
                        } else {
                            "their meters are"
                        }
                    ));
                }
                Ok(summary.parse)
            }
            Format::Prometheus => {
                let mut body = Vec::new();
                input
                    .reader()
                    .read_to_end(&mut body)
                    .map_err(|e| read_error(input, &e))?;
                prometheus::read(&body, &path, sink)
            }
        }
    }
}

impl CsvArgs {
    fn import(self, ctx: &Ctx) -> Result<Import> {
        let delimiter = u8::try_from(self.delimiter)
            .ok()
            .filter(u8::is_ascii)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "--delimiter `{}` must be one ASCII character",
                    self.delimiter
                ))
            })?;
        let metric = match (self.metric, self.metric_column, self.wide) {
            (Some(metric), _, _) => csv::MetricSource::Fixed(metric),
            (None, Some(column), _) => csv::MetricSource::Column(column),
            (None, None, true) => csv::MetricSource::Wide,
            (None, None, false) => {
                return Err(Error::Usage(
                    "say where the metric comes from: --metric, --metric-column or --wide".into(),
                ));
            }
        };
        let mut options = csv::CsvOptions::new(metric, ctx.now);
        if let Some(column) = self.timestamp_column {
            options.timestamp_column = column;
        } else if options.metric == csv::MetricSource::Wide {
            options.timestamp_column = csv::Column::Position(1);
        }
        options.value_column = self.value_column;
        options.delimiter = delimiter;
        options.header = match (self.header, self.no_header) {
            (true, _) => Some(true),
            (_, true) => Some(false),
            _ => None,
        };
        options.time_unit = self.time_unit.map(TimeUnit::from);
        options.resource_column = self.resource_column;
        options.create_resources = self.create_resources;
        Ok(Import {
            common: self.common,
            format: Format::Csv(options),
            writer: self.create.options(ctx),
        })
    }
}

impl StatsdArgs {
    fn import(self, ctx: &Ctx) -> Result<Import> {
        let at = match &self.at {
            Some(at) => super::timestamp_arg("at", at, ctx.now)?,
            None => ctx.now,
        };
        Ok(Import {
            common: self.common,
            format: Format::Statsd(statsd::StatsdOptions {
                resource_id: self.resource_id,
                at,
            }),
            writer: WriterOptions {
                creator: self.creator.unwrap_or_else(|| ctx.creator.clone()),
                create_metrics: true,
                archive_policy_name: self.archive_policy_name,
            },
        })
    }
}

impl InfluxArgs {
    fn import(self, ctx: &Ctx) -> Import {
        Import {
            common: self.common,
            format: Format::Influx(influx::InfluxOptions {
                db: self.db,
                resource_tag: self.resource_tag,
                now: ctx.now,
            }),
            writer: cli_writer(true, ctx),
        }
    }
}

impl BatchArgs {
    fn import(self, ctx: &Ctx) -> Import {
        let shape = match self.shape {
            ShapeArg::Guess => batch::Shape::Guess,
            ShapeArg::Metric => batch::Shape::ByMetric,
            ShapeArg::Resource => batch::Shape::ByResource,
        };
        Import {
            common: self.common,
            format: Format::Batch(shape),
            writer: cli_writer(self.create_metrics, ctx),
        }
    }
}

impl CeilometerArgs {
    fn import(self, ctx: &Ctx) -> Import {
        Import {
            common: self.common,
            format: Format::Ceilometer(ceilometer::Definitions::builtin(
                self.archive_policy.as_deref(),
            )),
            writer: WriterOptions {
                creator: self.creator.unwrap_or_else(|| ctx.creator.clone()),
                create_metrics: true,
                archive_policy_name: None,
            },
        }
    }
}

impl PrometheusArgs {
    fn import(self, ctx: &Ctx) -> Import {
        Import {
            common: self.common,
            format: Format::Prometheus,
            writer: cli_writer(true, ctx),
        }
    }
}

/// An input read whole, for formats that are one document.
fn read_whole(input: &mut Input) -> Result<String, ParseError> {
    let mut text = String::new();
    input
        .reader()
        .read_to_string(&mut text)
        .map_err(|e| read_error(input, &e))?;
    Ok(text)
}

fn read_error(input: &Input, error: &std::io::Error) -> ParseError {
    ParseError {
        path: input.path.clone(),
        line: 0,
        field: "file".into(),
        reason: error.to_string(),
    }
}

/// What the command line writes as: its user (`--user`).
fn cli_writer(create_metrics: bool, ctx: &Ctx) -> WriterOptions {
    WriterOptions {
        creator: ctx.creator.clone(),
        create_metrics,
        archive_policy_name: None,
    }
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let import = match args.command {
        Command::Csv(csv_args) => csv_args.import(ctx)?,
        Command::Statsd(statsd_args) => statsd_args.import(ctx)?,
        Command::Influx(influx_args) => influx_args.import(ctx),
        Command::Batch(batch_args) => batch_args.import(ctx),
        Command::Ceilometer(ceilometer_args) => ceilometer_args.import(ctx),
        Command::Prometheus(prometheus_args) => prometheus_args.import(ctx),
    };
    import.run(ctx)
}
