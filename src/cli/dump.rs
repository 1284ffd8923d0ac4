//! `carbonara dump`: the files of a metric, of a Gnocchi file-storage
//! directory or a single archive file, decoded (carbonara-dump for v3).

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::inspect::dump::{self, BackWindowState, DumpItem, DumpOptions, FileDump};
use crate::inspect::layout::FileKind;
use crate::pyform::json::Json;
use crate::store::{self, Index, Metric, Store};
use crate::time::{Span, Timestamp};

use super::output::{self, Format, OutputOptions, Record, RowStream, human_bytes};
use super::{Ctx, OutputArgs};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A metric of the store (id or name), an archive file (`none_v3`, a
    /// split, a measure file), or a directory: a Gnocchi file-storage
    /// directory, its archive root or one metric's directory, read without
    /// any index. Or what Gnocchi's S3 or Redis drivers keep, read without
    /// any index: `s3://PREFIX?endpoint=URL&region=NAME` (its buckets;
    /// credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) or
    /// `redis://HOST:PORT?db=N`. Any other name with a `/` is a path.
    #[arg(value_name = "TARGET")]
    target: String,
    /// The resource whose metric TARGET names
    #[arg(short = 'r', long, value_name = "RESOURCE_ID")]
    resource_id: Option<String>,
    /// One row per file, without the points
    #[arg(long)]
    summary: bool,
    /// Only points at or after this timestamp (files without any are left out)
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    start: Option<String>,
    /// Only points before this timestamp
    #[arg(long, value_name = "TIMESTAMP", allow_hyphen_values = true)]
    stop: Option<String>,
    #[command(flatten)]
    output: OutputArgs,
}

/// The columns of a file's header, in `--summary` rows and before the
/// points of a full dump.
const HEADER_COLUMNS: [&str; 12] = [
    "file",
    "kind",
    "aggregation",
    "granularity",
    "key",
    "version",
    "compression",
    "points",
    "first",
    "last",
    "bytes",
    "bytes_per_point",
];
/// `--summary` as a table, within 100 columns: the file relative to its
/// metric's directory (named above the table), and what its name does not
/// already say (a split's name holds its method, granularity and start),
/// with sizes for people. `-c` picks from all of `HEADER_COLUMNS` instead.
const TABLE_SUMMARY_COLUMNS: [&str; 4] = ["file", "points", "last", "bytes"];
/// A full dump as CSV or values: one row per point.
const POINT_COLUMNS: [&str; 6] = [
    "file",
    "kind",
    "aggregation",
    "granularity",
    "timestamp",
    "value",
];

fn timestamp(t: Option<Timestamp>) -> Json {
    Json::opt_str(t.map(Timestamp::to_precise_string))
}

fn seconds(span: Option<Span>) -> Json {
    span.map_or(Json::Null, |s| Json::Float(s.as_secs_f64()))
}

fn header(dump: &FileDump, file: &str) -> Vec<Json> {
    let (method, key) = match &dump.file.kind {
        FileKind::Split { method, key } => (method.clone(), Some(*key)),
        _ => (None, None),
    };
    let version = (dump.file.kind != FileKind::Measures).then_some("v3");
    let decoded = &dump.decoded;
    vec![
        Json::str(file),
        Json::str(dump.file.kind.name()),
        Json::opt_str(method),
        seconds(key.map(|k| k.granularity)),
        timestamp(key.map(|k| k.start)),
        Json::opt_str(version),
        Json::str(decoded.encoding.name()),
        Json::Int(decoded.points.len() as i64),
        timestamp(decoded.first()),
        timestamp(decoded.last()),
        Json::Int(decoded.bytes as i64),
        decoded.bytes_per_point().map_or(Json::Null, Json::Float),
    ]
}

fn back_window_fields(state: &BackWindowState) -> Vec<(&'static str, Json)> {
    vec![
        ("block", seconds(state.block)),
        (
            "back_window",
            state
                .back_window
                .map_or(Json::Null, |b| Json::Int(b as i64)),
        ),
        ("accepts_from", timestamp(state.accepts_from)),
        (
            "blocks_held",
            state.blocks_held.map_or(Json::Null, Json::Int),
        ),
    ]
}

fn points_json(dump: &FileDump) -> Json {
    Json::Array(
        dump.shown
            .iter()
            .map(|(t, v)| Json::Array(vec![Json::str(t.to_precise_string()), Json::Float(v)]))
            .collect(),
    )
}

/// The directory of the metric a file belongs to: `agg_<method>/`'s
/// parent for a split in its method's directory, else the file's own.
fn metric_dir(dump: &FileDump) -> &Path {
    let parent = dump.file.path.parent().unwrap_or(Path::new(""));
    match &dump.file.kind {
        FileKind::Split {
            method: Some(_), ..
        } => parent.parent().unwrap_or(parent),
        _ => parent,
    }
}

/// A measure file's name (`<uuid4>_<YYYYMMDD>_<HH:MM:SS>`) with the uuid
/// cut to its first 8 digits, as git shortens hashes: enough to find the
/// file in its directory, and the row fits 100 columns.
fn short_measure_name(name: &str) -> String {
    match name.split_at_checked(36) {
        Some((uuid, rest)) if uuid::Uuid::parse_str(uuid).is_ok() => {
            format!("{}…{rest}", &uuid[..8])
        }
        _ => name.to_owned(),
    }
}

/// A `--summary` table row: the file relative to its metric's directory
/// (when under the base), times and sizes for people; only
/// `TABLE_SUMMARY_COLUMNS` unless `all`.
fn table_summary(dump: &FileDump, header: Vec<Json>, base: &Path, all: bool) -> Vec<Json> {
    let dir = metric_dir(dump);
    let within = if dir.starts_with(base) { dir } else { base };
    let mut file = dump
        .file
        .path
        .strip_prefix(within)
        .unwrap_or(&dump.file.path)
        .to_string_lossy()
        .into_owned();
    if dump.file.kind == FileKind::Measures {
        file = short_measure_name(&file);
    }
    let decoded = &dump.decoded;
    let mut row: Vec<(&str, Json)> = HEADER_COLUMNS.into_iter().zip(header).collect();
    for (column, value) in &mut row {
        *value = match *column {
            "file" => Json::str(&file),
            "bytes" => Json::str(human_bytes(decoded.bytes)),
            "bytes_per_point" => decoded
                .bytes_per_point()
                .map_or(Json::Null, |b| Json::str(format!("{b:.1} B"))),
            _ => continue,
        };
    }
    row.into_iter()
        .filter(|(column, _)| all || TABLE_SUMMARY_COLUMNS.contains(column))
        .map(|(_, value)| value)
        .collect()
}

/// Prints each file as the dump hands it over.
struct Printer<'c, W: Write> {
    ctx: &'c Ctx,
    base: PathBuf,
    summary: bool,
    /// `--summary` as a table: `TABLE_SUMMARY_COLUMNS` unless `-c` is given.
    compact: bool,
    rows: Option<RowStream<W>>,
    /// The metric of the table being drawn.
    group: Option<Option<uuid::Uuid>>,
    unreadable: usize,
}

impl<W: Write> Printer<'_, W> {
    fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.base)
            .unwrap_or(path)
            .to_string_lossy()
            .into_owned()
    }

    fn file(&mut self, dump: FileDump, out: &mut impl Write) -> Result<()> {
        let file = self.relative(&dump.file.path);
        let header = header(&dump, &file);
        let new_group = self.group != Some(dump.file.metric);
        // A table's title: the metric's directory, when the files are
        // named within it.
        let dir = metric_dir(&dump);
        let title = (new_group && dir != self.base && dir.starts_with(&self.base))
            .then(|| format!("{}/", self.relative(dir)));
        let Some(rows) = self.rows.as_mut() else {
            return self.table_file(&dump, header, out);
        };
        if new_group && self.group.is_some() {
            rows.end_table()?;
        }
        if let Some(title) = title {
            rows.title(title);
        }
        self.group = Some(dump.file.metric);
        if self.summary && self.ctx.output.format == Format::Table {
            return rows.row(&table_summary(&dump, header, &self.base, !self.compact));
        }
        if self.summary {
            return rows.row(&header);
        }
        if matches!(self.ctx.output.format, Format::Json | Format::Yaml) {
            let state = dump
                .back_window
                .as_ref()
                .map_or(Json::Null, |s| Json::object(back_window_fields(s)));
            let mut record = header;
            record.extend([state, points_json(&dump)]);
            return rows.row(&record);
        }
        for (t, v) in dump.shown.iter() {
            let mut row = header[..4].to_vec();
            row.extend([Json::str(t.to_precise_string()), Json::Float(v)]);
            rows.row(&row)?;
        }
        Ok(())
    }

    /// A full dump as tables: the file's header, then its points.
    fn table_file(&self, dump: &FileDump, header: Vec<Json>, out: &mut impl Write) -> Result<()> {
        let mut fields: Vec<(String, Json)> = HEADER_COLUMNS
            .iter()
            .map(|c| c.to_string())
            .zip(header)
            .collect();
        if let Some(state) = &dump.back_window {
            fields.extend(
                back_window_fields(state)
                    .into_iter()
                    .map(|(k, v)| (k.to_owned(), v)),
            );
        }
        output::write(out, &Record::show(fields), &self.ctx.output)?;
        let points = dump
            .shown
            .iter()
            .map(|(t, v)| vec![Json::str(t.to_precise_string()), Json::Float(v)])
            .collect();
        let all_columns = OutputOptions {
            format: Format::Table,
            ..OutputOptions::default()
        };
        output::write(
            out,
            &Record::list(["timestamp", "value"], points),
            &all_columns,
        )
    }

    fn item(&mut self, item: DumpItem, out: &mut impl Write) -> Result<()> {
        match item {
            DumpItem::File(dump) => self.file(dump, out),
            DumpItem::Unreadable(error) => {
                self.unreadable += 1;
                self.ctx.warn(&format!("error: {error}"));
                Ok(())
            }
            DumpItem::Stray(path) => {
                self.ctx
                    .note(&format!("skipped {}: not archive data", path.display()));
                Ok(())
            }
        }
    }
}

pub fn run(args: Args, ctx: &Ctx) -> Result<()> {
    let ctx = &ctx.printing(args.output);
    let options = DumpOptions {
        start: ctx.timestamp("start", args.start)?,
        stop: ctx.timestamp("stop", args.stop)?,
        with_points: !args.summary,
    };
    let compact =
        args.summary && ctx.output.format == Format::Table && ctx.output.columns.is_empty();
    let columns: Option<Vec<String>> = if compact {
        Some(
            TABLE_SUMMARY_COLUMNS
                .iter()
                .map(|c| c.to_string())
                .collect(),
        )
    } else if args.summary {
        Some(HEADER_COLUMNS.iter().map(|c| c.to_string()).collect())
    } else {
        match ctx.output.format {
            Format::Table => None,
            Format::Json | Format::Yaml => Some(
                HEADER_COLUMNS
                    .iter()
                    .chain(&["back_window_state", "measures"])
                    .map(|c| c.to_string())
                    .collect(),
            ),
            Format::Csv | Format::Value => {
                Some(POINT_COLUMNS.iter().map(|c| c.to_string()).collect())
            }
        }
    };
    let target = Path::new(&args.target);
    let in_store = match &args.resource_id {
        None if dump::is_remote(&args.target) => None,
        Some(resource) => {
            let (store, index) = ctx.open_store()?;
            let metric =
                super::words::find_metric(&index, &args.target, Some(resource), &ctx.creator)?;
            Some(((store, index), metric))
        }
        None => resolve(&args.target, ctx)?,
    };
    let base = match &in_store {
        Some(((store, _), _)) => store.root().to_owned(),
        None if target.is_dir() => target.to_owned(),
        None => target.parent().unwrap_or(Path::new("")).to_owned(),
    };
    let stdout = std::io::stdout();
    let rows = columns
        .map(|columns| RowStream::new(BufWriter::new(stdout.lock()), columns, &ctx.output))
        .transpose()?;
    let mut printer = Printer {
        ctx,
        base,
        summary: args.summary,
        compact,
        rows,
        group: None,
        unreadable: 0,
    };
    let mut out = BufWriter::new(stdout.lock());
    let mut visit = |item| printer.item(item, &mut out);
    match in_store {
        Some(((store, index), metric)) => {
            let policy = index.get_archive_policy(&metric.archive_policy_name)?;
            dump::dump_metric(&store, &metric, &policy, &options, &mut visit)?;
        }
        None if dump::is_remote(&args.target) => {
            dump::dump_remote(&args.target, &options, &mut visit)?;
        }
        None => dump::dump_path(target, &options, &mut visit)?,
    }
    out.flush().map_err(Error::Output)?;
    if let Some(rows) = printer.rows.take() {
        rows.finish()?;
    }
    match printer.unreadable {
        0 => Ok(()),
        1 => Err(Error::Failed("1 file could not be read".to_owned())),
        n => Err(Error::Failed(format!("{n} files could not be read"))),
    }
}

/// A metric of the store, when `target` names one: a name without `/`
/// that the index knows. Otherwise `target` is a path.
fn resolve(target: &str, ctx: &Ctx) -> Result<Option<((Store, Index), Metric)>> {
    let exists = Path::new(target).exists();
    if target.contains('/') {
        return Ok(None);
    }
    let (store, index) = match ctx.open_store() {
        Ok(opened) => opened,
        Err(Error::Store(store::Error::NotAStore { .. })) if exists => return Ok(None),
        Err(error) => return Err(error),
    };
    match index.find_metric(target) {
        Ok(metric) => Ok(Some(((store, index), metric))),
        Err(store::Error::MetricNotFound(_)) if exists => Ok(None),
        Err(_) => super::words::find_metric(&index, target, None, &ctx.creator)
            .map(|metric| Some(((store, index), metric))),
    }
}
