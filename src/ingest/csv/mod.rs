//! CSV measures, read as a stream. Two shapes:
//!
//! * long: one measure per row, `timestamp,value` for one metric or with a
//!   column naming each row's metric (`metric,timestamp,value`);
//! * wide: a timestamp column and one column per metric, the header naming
//!   them; empty cells are skipped.
//!
//! A header row is optional in the long shape (a first row whose value is
//! not a number is one); columns are named by header or by 1-based index.
//! Timestamps are read like Gnocchi's measures endpoint reads them (epoch
//! seconds or ISO 8601 with or without offset), except that epoch numbers
//! may be in another unit: given, or detected from the first one's size.
//! Values are read like Python's `float()`.

use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::{Mutex, PoisonError, mpsc};

use super::{MissingResource, NamedMetric, ParseError, ParseSummary, ReadError, Sink};
use crate::resource::GENERIC;
use crate::time::{self, NANOS_PER_SECOND, Timestamp};

/// Lines between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;

/// A column, by header name or 1-based position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Column {
    Name(String),
    Position(usize),
}

impl std::str::FromStr for Column {
    type Err = std::convert::Infallible;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text.parse::<usize>() {
            Ok(position) if position >= 1 => Column::Position(position),
            _ => Column::Name(text.to_owned()),
        })
    }
}

impl std::fmt::Display for Column {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Column::Name(name) => f.write_str(name),
            Column::Position(position) => write!(f, "column {position}"),
        }
    }
}

/// Where each row's metric comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricSource {
    /// Every row belongs to this metric (id or name).
    Fixed(String),
    /// Each row names its metric in this column.
    Column(Column),
    /// Wide shape: every column but the timestamp is a metric, named by
    /// the header.
    Wide,
}

/// The unit of epoch timestamps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Milliseconds,
    Microseconds,
    Nanoseconds,
}

impl TimeUnit {
    /// The unit an epoch number of this size most likely has: dates
    /// between 1973 and 5138 in seconds, and as many in the smaller units.
    pub fn guess(epoch: f64) -> TimeUnit {
        match epoch.abs() {
            e if e < 1e11 => TimeUnit::Seconds,
            e if e < 1e14 => TimeUnit::Milliseconds,
            e if e < 1e17 => TimeUnit::Microseconds,
            _ => TimeUnit::Nanoseconds,
        }
    }

    fn nanos(self) -> i64 {
        match self {
            TimeUnit::Seconds => NANOS_PER_SECOND,
            TimeUnit::Milliseconds => 1_000_000,
            TimeUnit::Microseconds => 1_000,
            TimeUnit::Nanoseconds => 1,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "seconds",
            TimeUnit::Milliseconds => "milliseconds",
            TimeUnit::Microseconds => "microseconds",
            TimeUnit::Nanoseconds => "nanoseconds",
        }
    }
}

#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub metric: MetricSource,
    pub timestamp_column: Column,
    pub value_column: Column,
    pub delimiter: u8,
    /// Whether the first row is a header; guessed when `None`.
    pub header: Option<bool>,
    /// The unit of epoch timestamps; guessed from the first when `None`.
    pub time_unit: Option<TimeUnit>,
    /// Each row's metric is a named metric of the resource in this column
    /// (long shape only).
    pub resource_column: Option<Column>,
    /// Create the resources named that do not exist, as `generic`.
    pub create_resources: bool,
    /// Resolves relative timestamps (`-5 minutes`).
    pub now: Timestamp,
}

impl CsvOptions {
    pub fn new(metric: MetricSource, now: Timestamp) -> Self {
        CsvOptions {
            metric,
            timestamp_column: Column::Name("timestamp".to_owned()),
            value_column: Column::Name("value".to_owned()),
            delimiter: b',',
            header: None,
            time_unit: None,
            resource_column: None,
            create_resources: false,
            now,
        }
    }
}

/// What a CSV input turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvSummary {
    pub parse: ParseSummary,
    /// The unit epoch timestamps were read in, when it was guessed and
    /// is not seconds (so it should be stated).
    pub guessed_unit: Option<TimeUnit>,
}

/// Where the fields of a row are (0-based).
#[derive(Clone)]
enum Layout {
    Long {
        metric: Option<usize>,
        resource: Option<usize>,
        timestamp: usize,
        value: usize,
    },
    Wide {
        timestamp: usize,
        metrics: Vec<(usize, String)>,
    },
}

/// Reads the layout from the first row. Returns it and whether that row
/// was a header; an error is (field, reason).
fn detect_layout<R: Record + ?Sized>(
    first: &R,
    options: &CsvOptions,
) -> Result<(Layout, bool), (String, String)> {
    let position_of = |column: &Column, default: usize, header: Option<&R>| match (column, header) {
        (Column::Position(position), _) => Ok(position - 1),
        (Column::Name(name), Some(header)) => header
            .fields()
            .position(|h| h.trim() == name)
            .ok_or_else(|| {
                (
                    column.to_string(),
                    format!("no column named `{name}` in the header"),
                )
            }),
        (Column::Name(_), None) => Ok(default),
    };
    if options.metric == MetricSource::Wide {
        if options.header == Some(false) {
            return Err((
                "header".into(),
                "a wide CSV needs its header to name the metrics".into(),
            ));
        }
        let timestamp = position_of(&options.timestamp_column, 0, Some(first))?;
        let metrics = first
            .fields()
            .enumerate()
            .filter(|&(i, _)| i != timestamp)
            .map(|(i, name)| (i, name.trim().to_owned()))
            .collect::<Vec<_>>();
        if let Some((i, _)) = metrics.iter().find(|(_, name)| name.is_empty()) {
            return Err((
                format!("column {}", i + 1),
                "empty metric name in the header".into(),
            ));
        }
        return Ok((Layout::Wide { timestamp, metrics }, true));
    }
    let (metric_default, timestamp_default, value_default) = match options.metric {
        MetricSource::Column(_) => (Some(0), 1, 2),
        _ => (None, 0, 1),
    };
    let is_header = options.header.unwrap_or_else(|| {
        let value_guess = match &options.value_column {
            Column::Position(p) => p - 1,
            Column::Name(_) => value_default,
        };
        first
            .field(value_guess)
            .is_none_or(|v| time::parse_python_float(v).is_none())
    });
    let header = is_header.then_some(first);
    let metric = match &options.metric {
        MetricSource::Column(column) => {
            Some(position_of(column, metric_default.unwrap_or(0), header)?)
        }
        _ => None,
    };
    let resource = match (&options.resource_column, header) {
        (None, _) => None,
        (Some(Column::Name(name)), None) => {
            return Err((
                name.clone(),
                "the resource column is named but the file has no header".into(),
            ));
        }
        (Some(column), header) => Some(position_of(column, 0, header)?),
    };
    let layout = Layout::Long {
        metric,
        resource,
        timestamp: position_of(&options.timestamp_column, timestamp_default, header)?,
        value: position_of(&options.value_column, value_default, header)?,
    };
    Ok((layout, is_header))
}

/// Reads timestamps: epoch numbers in the unit given or guessed, anything
/// else as Gnocchi does.
#[derive(Clone, Copy)]
struct TimestampReader {
    unit: Option<TimeUnit>,
    guessed: bool,
    now: Timestamp,
}

impl TimestampReader {
    /// The unit of epoch numbers: given, or guessed from the first.
    fn unit_of(&mut self, epoch: f64) -> TimeUnit {
        *self.unit.get_or_insert_with(|| {
            self.guessed = true;
            TimeUnit::guess(epoch)
        })
    }

    fn read(&mut self, text: &str) -> Result<Timestamp, String> {
        let bad = |e: time::TimeError| format!("`{text}`: {e}");
        // Whole seconds below 4.6e9 go through Gnocchi's float exactly
        // (n × 5⁹ < 2⁵³): the common case skips it.
        if let Ok(whole @ 0..4_600_000_000) = text.parse::<i64>()
            && self.unit_of(whole as f64) == TimeUnit::Seconds
        {
            return Ok(Timestamp::from_nanos(whole * NANOS_PER_SECOND));
        }
        let Some(number) = time::parse_python_float(text) else {
            return time::parse_timestamp(text, self.now).map_err(bad);
        };
        let unit = self.unit_of(number);
        if unit == TimeUnit::Seconds {
            return time::timestamp_from_epoch_seconds(number, text).map_err(bad);
        }
        let nanos = exact_epoch(text, unit.nanos()).or_else(|| {
            number
                .is_finite()
                .then(|| (number * unit.nanos() as f64) as i64)
        });
        match nanos {
            Some(nanos) if nanos >= 0 => Ok(Timestamp::from_nanos(nanos)),
            Some(_) => Err(bad(time::TimeError::BeforeEpoch(text.to_owned()))),
            None => Err(bad(time::TimeError::UnableToConvertTimestamp(
                text.to_owned(),
            ))),
        }
    }
}

/// `123` or `123.456` in units of `unit_nanos` nanoseconds, exactly; `None`
/// for other number forms (signs, exponents), which go through a float.
fn exact_epoch(text: &str, unit_nanos: i64) -> Option<i64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let all_digits = |part: &str| part.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
        return None;
    }
    let mut nanos = whole.parse::<i64>().ok()?.checked_mul(unit_nanos)?;
    let mut scale = unit_nanos;
    for digit in fraction.bytes() {
        scale /= 10;
        nanos = nanos.checked_add(i64::from(digit - b'0') * scale)?;
    }
    Some(nanos)
}

/// Rows are parsed on one thread and stored on another, in chunks of
/// about this many items.
const CHUNK: usize = 1 << 14;

/// The input is cut into blocks of about this many bytes, at line ends:
/// once the layout and the epoch unit are settled, blocks without a quote
/// are parsed in parallel.
const BLOCK: usize = 1 << 20;

/// Threads parsing blocks in parallel.
const PARSERS: usize = 2;

/// Parsed rows on their way from the parsing thread to the storing one.
#[derive(Default)]
struct Chunk {
    /// The metric and resource names of the items, end to end.
    names: String,
    items: Vec<Item>,
}

/// Kept small: every measure of the input is one.
enum Item {
    Measure {
        line: u64,
        metric: Range<u32>,
        resource: Option<Range<u32>>,
        timestamp: Timestamp,
        value: f64,
    },
    /// A bad row, which `--skip-invalid` may skip.
    Invalid(Box<ParseError>),
    /// A file that cannot be read on (its header, an I/O error).
    Fatal(Box<ParseError>),
    /// This many more lines read.
    LinesRead(u64),
}

impl Chunk {
    /// Adds a name (at most `CHUNK` rows' fields: far below 4 GiB).
    fn name(&mut self, name: &str) -> Range<u32> {
        let start = self.names.len() as u32;
        self.names.push_str(name);
        start..self.names.len() as u32
    }

    fn text(&self, name: &Range<u32>) -> &str {
        &self.names[name.start as usize..name.end as usize]
    }
}

/// Buffers done with, to be filled again: the blocks and rows of a large
/// input do not each cost fresh memory.
struct Pool<T>(Mutex<Vec<T>>);

impl<T: Default + Emptied> Pool<T> {
    fn new() -> Self {
        Pool(Mutex::new(Vec::new()))
    }

    fn take(&self) -> T {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop()
            .unwrap_or_default()
    }

    fn give_back(&self, mut buffer: T) {
        buffer.empty();
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(buffer);
    }
}

/// A buffer that can be emptied, keeping its memory.
trait Emptied {
    fn empty(&mut self);
}

impl Emptied for Chunk {
    fn empty(&mut self) {
        self.names.clear();
        self.items.clear();
    }
}

impl Emptied for Vec<u8> {
    fn empty(&mut self) {
        self.clear();
    }
}

/// The blocks and chunks in use.
struct Pools {
    blocks: Pool<Vec<u8>>,
    chunks: Pool<Chunk>,
}

/// The chunks of one block, in order; the blocks come in the input's order.
type Blocks = mpsc::Receiver<mpsc::Receiver<Chunk>>;

/// Reads a whole CSV input into `sink`: parsed on threads of their own
/// while this one stores, in the input's order.
pub fn read(
    input: impl Read + Send,
    path: &Path,
    options: &CsvOptions,
    sink: &mut impl Sink,
) -> Result<CsvSummary, ReadError> {
    read_in_blocks(input, path, options, sink, BLOCK)
}

/// [`read`], cutting the input into blocks of about `block` bytes.
fn read_in_blocks(
    input: impl Read + Send,
    path: &Path,
    options: &CsvOptions,
    sink: &mut impl Sink,
    block: usize,
) -> Result<CsvSummary, ReadError> {
    let (blocks, received) = mpsc::sync_channel(2 * PARSERS);
    let pools = Pools {
        blocks: Pool::new(),
        chunks: Pool::new(),
    };
    let state = ParseState {
        options,
        path,
        pools: &pools,
        timestamps: TimestampReader {
            unit: options.time_unit,
            guessed: false,
            now: options.now,
        },
    };
    std::thread::scope(|scope| {
        let parser = scope.spawn(move || parse(input, state, blocks, block));
        let stored = store(received, &pools.chunks, path, options, sink);
        let guessed_unit = parser.join().expect("the CSV parser does not panic");
        let (lines, invalid) = stored?;
        sink.lines_read(lines);
        Ok(CsvSummary {
            parse: ParseSummary { lines, invalid },
            guessed_unit,
        })
    })
}

/// Hands the parsed rows to `sink`; returns how many lines were read and
/// how many were bad.
fn store(
    blocks: Blocks,
    pool: &Pool<Chunk>,
    path: &Path,
    options: &CsvOptions,
    sink: &mut impl Sink,
) -> Result<(u64, u64), ReadError> {
    let error = ParseError::locator(path);
    let mut summary = ParseSummary::default();
    let missing_resource = match options.create_resources {
        true => MissingResource::CreateOrUse(GENERIC),
        false => MissingResource::Refuse,
    };
    for chunk in blocks.iter().flatten() {
        for item in &chunk.items {
            match item {
                Item::Measure {
                    line,
                    metric,
                    resource,
                    timestamp,
                    value,
                } => {
                    let name = chunk.text(metric);
                    let stored = match resource {
                        None => sink.measure(name, *timestamp, *value),
                        Some(resource) => {
                            let target = NamedMetric {
                                resource: chunk.text(resource),
                                missing_resource,
                                name,
                                archive_policy_name: None,
                                unit: None,
                            };
                            sink.named_measure(&target, *timestamp, *value)
                        }
                    };
                    if let Err(stored) = stored {
                        let reason = stored.rejected()?;
                        // Wide files have a column per metric; long ones
                        // name the metric in one column, or not at all.
                        let field = match &options.metric {
                            MetricSource::Wide => name.to_owned(),
                            MetricSource::Column(column) => column.to_string(),
                            MetricSource::Fixed(_) => "metric".to_owned(),
                        };
                        summary.refuse(sink, error(*line, &field, reason))?;
                    }
                }
                Item::Invalid(bad) => summary.refuse(sink, (**bad).clone())?,
                Item::Fatal(bad) => return Err((**bad).clone().into()),
                Item::LinesRead(lines) => {
                    summary.lines += lines;
                    sink.lines_read(summary.lines);
                }
            }
        }
        pool.give_back(chunk);
    }
    Ok((summary.lines, summary.invalid))
}

/// What parsing the rows before a block tells about the rows in it.
#[derive(Clone, Copy)]
struct ParseState<'a> {
    options: &'a CsvOptions,
    path: &'a Path,
    pools: &'a Pools,
    timestamps: TimestampReader,
}

/// A block of whole lines for a parsing thread.
struct Block<'a> {
    bytes: Vec<u8>,
    first_line: u64,
    layout: Layout,
    state: ParseState<'a>,
    chunks: mpsc::SyncSender<Chunk>,
}

/// Cuts the input into blocks and parses them: on this thread until the
/// layout and the epoch unit are settled (the first rows decide them), on
/// `PARSERS` threads after that, and on this thread again, as one stream,
/// from the first block with a quote or a carriage return on (a quoted
/// field may hold a line end, and a record may end at a carriage return,
/// so the blocks after it cannot be cut at line ends). Returns the epoch
/// unit, when it was guessed and is not seconds.
fn parse(
    mut input: impl Read,
    mut state: ParseState<'_>,
    blocks: mpsc::SyncSender<mpsc::Receiver<Chunk>>,
    block_size: usize,
) -> Option<TimeUnit> {
    let path = state.path;
    let mut layout: Option<Layout> = None;
    let (work, queue) = mpsc::channel::<Block>();
    let queue = Mutex::new(queue);
    std::thread::scope(|scope| {
        for _ in 0..PARSERS {
            scope.spawn(|| parse_blocks(&queue));
        }
        let mut first_line = 1;
        let mut carry = Vec::new();
        loop {
            let (chunks, received) = mpsc::sync_channel(4);
            if blocks.send(received).is_err() {
                break;
            }
            let fresh = state.pools.blocks.take();
            let block = match next_block(&mut input, &mut carry, block_size, fresh) {
                Ok(Some(block)) => block,
                Ok(None) => break,
                Err(e) => {
                    let error = ParseError::locator(path);
                    let fatal = error(first_line, "record", e.to_string());
                    let _ = chunks.send(Chunk {
                        items: vec![Item::Fatal(Box::new(fatal))],
                        ..Chunk::default()
                    });
                    break;
                }
            };
            let lines = memchr::memchr_iter(b'\n', &block).count() as u64;
            if memchr::memchr2(b'"', b'\r', &block).is_some() {
                let rest = std::io::Cursor::new(block)
                    .chain(std::io::Cursor::new(carry))
                    .chain(input);
                parse_rows(rest, first_line, &mut layout, &mut state, &chunks);
                break;
            }
            match (&layout, state.timestamps.unit) {
                (Some(settled), Some(_)) => {
                    let block = Block {
                        bytes: block,
                        first_line,
                        layout: settled.clone(),
                        state,
                        chunks,
                    };
                    if work.send(block).is_err() {
                        break;
                    }
                }
                _ => {
                    let going_on =
                        parse_block(&block, first_line, &mut layout, &mut state, &chunks);
                    state.pools.blocks.give_back(block);
                    if !going_on {
                        break;
                    }
                }
            }
            first_line += lines;
        }
        drop(work);
    });
    let timestamps = state.timestamps;
    timestamps
        .unit
        .filter(|&unit| timestamps.guessed && unit != TimeUnit::Seconds)
}

/// The next block of whole lines, about `size` bytes or one line (the last
/// one may lack its line end), in `block`; what follows its last line end
/// waits in `carry`.
fn next_block(
    input: &mut impl Read,
    carry: &mut Vec<u8>,
    size: usize,
    mut block: Vec<u8>,
) -> std::io::Result<Option<Vec<u8>>> {
    block.clear();
    block.append(carry);
    loop {
        let filled = block.len();
        block.resize(filled + size, 0);
        let read = loop {
            match input.read(&mut block[filled..]) {
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                other => break other?,
            }
        };
        block.truncate(filled + read);
        if read == 0 {
            return Ok((!block.is_empty()).then_some(block));
        }
        if let Some(end) = record_end(&block) {
            *carry = block.split_off(end);
            return Ok(Some(block));
        }
    }
}

/// Where the last line that is not blank ends in `bytes` (just past its
/// line end): a block cut there starts where the CSV reader would start
/// the next record, so line numbers come out as in one stream.
fn record_end(bytes: &[u8]) -> Option<usize> {
    let mut end = memchr::memrchr(b'\n', bytes)? + 1;
    while end >= 2 && bytes[end - 2] == b'\n' {
        end -= 1;
    }
    (end >= 2).then_some(end)
}

/// A parsing thread: blocks from the queue until there are no more.
fn parse_blocks(queue: &Mutex<mpsc::Receiver<Block>>) {
    loop {
        let next = queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .recv();
        let Ok(block) = next else { return };
        let Block {
            bytes,
            first_line,
            layout,
            mut state,
            chunks,
        } = block;
        parse_block(&bytes, first_line, &mut Some(layout), &mut state, &chunks);
        state.pools.blocks.give_back(bytes);
    }
}

/// Parses a block of whole lines without quotes or carriage returns: split
/// as plain text when it is UTF-8 (as it nearly always is), by the CSV
/// reader otherwise (which reports the lines that are not). False when
/// parsing must stop.
fn parse_block(
    bytes: &[u8],
    first_line: u64,
    layout: &mut Option<Layout>,
    state: &mut ParseState<'_>,
    chunks: &mpsc::SyncSender<Chunk>,
) -> bool {
    match std::str::from_utf8(bytes) {
        Ok(text) if plain_delimiter(state.options.delimiter) => {
            parse_plain_rows(text, first_line, layout, state, chunks)
        }
        _ => parse_rows(bytes, first_line, layout, state, chunks),
    }
}

/// Whether lines split on `delimiter` are the CSV reader's records (in text
/// without quotes and carriage returns).
fn plain_delimiter(delimiter: u8) -> bool {
    delimiter.is_ascii() && !matches!(delimiter, b'\n' | b'\r' | b'"')
}

/// The fields of one record.
trait Record {
    fn field(&self, index: usize) -> Option<&str>;
    fn field_count(&self) -> usize;
    fn fields(&self) -> impl Iterator<Item = &str> {
        (0..self.field_count()).filter_map(|i| self.field(i))
    }

    fn is_blank(&self) -> bool {
        self.fields().all(|f| time::trim_ascii_fast(f).is_empty())
    }
}

impl Record for csv::StringRecord {
    fn field(&self, index: usize) -> Option<&str> {
        self.get(index)
    }

    fn field_count(&self) -> usize {
        self.len()
    }
}

impl Record for [&str] {
    fn field(&self, index: usize) -> Option<&str> {
        self.get(index).copied()
    }

    fn field_count(&self) -> usize {
        self.len()
    }
}

/// Turns records into chunks of items and sends them.
struct Rows<'a, 'o> {
    layout: &'a mut Option<Layout>,
    state: &'a mut ParseState<'o>,
    chunks: &'a mpsc::SyncSender<Chunk>,
    chunk: Chunk,
    /// Records read, blank or not.
    lines: u64,
}

impl<'a, 'o> Rows<'a, 'o> {
    fn new(
        layout: &'a mut Option<Layout>,
        state: &'a mut ParseState<'o>,
        chunks: &'a mpsc::SyncSender<Chunk>,
    ) -> Self {
        let chunk = state.pools.chunks.take();
        Rows {
            layout,
            state,
            chunks,
            chunk,
            lines: 0,
        }
    }

    /// Sends the chunk once it is full. False when the storing side
    /// stopped listening.
    fn send_full(&mut self) -> bool {
        if self.chunk.items.len() < CHUNK {
            return true;
        }
        let full = std::mem::replace(&mut self.chunk, self.state.pools.chunks.take());
        self.chunks.send(full).is_ok()
    }

    /// Counts a record read, bad or not.
    fn count(&mut self) {
        self.lines += 1;
        if self.lines.is_multiple_of(PROGRESS_EVERY) {
            self.chunk.items.push(Item::LinesRead(PROGRESS_EVERY));
        }
    }

    /// One record, which starts on `line`. False when the file cannot be
    /// read on (its first row gives no layout).
    fn record(&mut self, record: &(impl Record + ?Sized), line: u64) -> bool {
        self.count();
        if record.is_blank() {
            return true;
        }
        let options = self.state.options;
        let error = ParseError::locator(self.state.path);
        let layout = match self.layout {
            Some(layout) => &*layout,
            None => match detect_layout(record, options) {
                Ok((detected, is_header)) => {
                    let layout = self.layout.insert(detected);
                    if is_header {
                        return true;
                    }
                    &*layout
                }
                Err((field, reason)) => {
                    let fatal = error(line, &field, reason);
                    self.chunk.items.push(Item::Fatal(Box::new(fatal)));
                    return false;
                }
            },
        };
        let chunk = &mut self.chunk;
        let mark = (chunk.items.len(), chunk.names.len());
        let parsed = parse_row(
            record,
            line,
            layout,
            options,
            &mut self.state.timestamps,
            chunk,
            &error,
        );
        if let Err(bad) = parsed {
            // Nothing of a bad row: a wide row's good cells go with it.
            chunk.items.truncate(mark.0);
            chunk.names.truncate(mark.1);
            chunk.items.push(Item::Invalid(Box::new(bad)));
        }
        true
    }

    /// Sends the last chunk. False when parsing must stop: `going_on` is
    /// false, or the storing side stopped listening.
    fn finish(mut self, going_on: bool) -> bool {
        self.chunk
            .items
            .push(Item::LinesRead(self.lines % PROGRESS_EVERY));
        self.chunks.send(self.chunk).is_ok() && going_on
    }
}

/// Parses the rows of `input`, whose first line is the file's line
/// `first_line`, and sends them in chunks. False when parsing must stop:
/// the file cannot be read on, or the storing side stopped listening.
fn parse_rows(
    input: impl Read,
    first_line: u64,
    layout: &mut Option<Layout>,
    state: &mut ParseState<'_>,
    chunks: &mpsc::SyncSender<Chunk>,
) -> bool {
    let error = ParseError::locator(state.path);
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(state.options.delimiter)
        .from_reader(RecentBytes::new(input));
    // The line a record starts on: the reader gives where it started
    // looking for it, before the line ends it skips (blank lines, and the
    // line feed of a CRLF that ended the record before).
    let start_line = |reader: &csv::Reader<RecentBytes<_>>, position: &csv::Position| {
        first_line - 1 + position.line() + reader.get_ref().line_ends_at(position.byte())
    };
    let mut record = csv::StringRecord::new();
    let mut rows = Rows::new(layout, state, chunks);
    let going_on = loop {
        if !rows.send_full() {
            return false;
        }
        let line = first_line - 1 + reader.position().line();
        match reader.read_record(&mut record) {
            Ok(false) => break true,
            Ok(true) => {}
            Err(e) => {
                // Bad UTF-8 or a broken quote: the reader can go on after
                // the record, but not after an I/O error.
                let line = e
                    .position()
                    .map_or(line, |position| start_line(&reader, position));
                rows.count();
                let bad = error(line, "record", e.to_string());
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    rows.chunk.items.push(Item::Fatal(Box::new(bad)));
                    break false;
                }
                rows.chunk.items.push(Item::Invalid(Box::new(bad)));
                continue;
            }
        }
        // Where the record starts, past any blank lines before it.
        let line = record
            .position()
            .map_or(line, |position| start_line(&reader, position));
        if !rows.record(&record, line) {
            break false;
        }
    };
    rows.finish(going_on)
}

/// The last bytes read from `inner`, where the CSV reader's positions can
/// look at them.
struct RecentBytes<R> {
    inner: R,
    kept: Vec<u8>,
    /// Offset in the input of `kept[0]`.
    start: u64,
}

/// Bytes `RecentBytes` keeps at least (the CSV reader reads ahead 8 KiB).
const RECENT: usize = 1 << 20;

impl<R: Read> RecentBytes<R> {
    fn new(inner: R) -> Self {
        RecentBytes {
            inner,
            kept: Vec::new(),
            start: 0,
        }
    }

    /// The line feeds in the line ends that start at `offset`: 0 when they
    /// are no longer kept (before a record over a megabyte long).
    fn line_ends_at(&self, offset: u64) -> u64 {
        let Some(at) = offset
            .checked_sub(self.start)
            .and_then(|at| usize::try_from(at).ok())
        else {
            return 0;
        };
        let ends = self.kept.get(at..).unwrap_or_default();
        ends.iter()
            .take_while(|&&b| b == b'\n' || b == b'\r')
            .filter(|&&b| b == b'\n')
            .count() as u64
    }
}

impl<R: Read> Read for RecentBytes<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let read = self.inner.read(buf)?;
        self.kept.extend_from_slice(&buf[..read]);
        if self.kept.len() > 2 * RECENT {
            let dropped = self.kept.len() - RECENT;
            self.kept.drain(..dropped);
            self.start += dropped as u64;
        }
        Ok(read)
    }
}

/// [`parse_rows`] for text without a quote or a carriage return, split on
/// its line ends and an ASCII delimiter as the CSV reader would split it:
/// an empty line is no record, and every other line is one.
fn parse_plain_rows(
    text: &str,
    first_line: u64,
    layout: &mut Option<Layout>,
    state: &mut ParseState<'_>,
    chunks: &mpsc::SyncSender<Chunk>,
) -> bool {
    let delimiter = state.options.delimiter;
    let mut rows = Rows::new(layout, state, chunks);
    let bytes = text.as_bytes();
    let mut fields: Vec<&str> = Vec::new();
    let (mut line, mut start) = (first_line, 0);
    // Separators come every few bytes: a plain scan beats a vector search.
    let ends = (0..bytes.len())
        .filter(|&i| bytes[i] == b'\n' || bytes[i] == delimiter)
        .chain([bytes.len()]);
    for end in ends {
        fields.push(&text[start..end]);
        start = end + 1;
        if bytes.get(end).is_some_and(|&b| b == delimiter) {
            continue;
        }
        if fields != [""] {
            if !rows.send_full() {
                return false;
            }
            if !rows.record(fields.as_slice(), line) {
                return rows.finish(false);
            }
        }
        fields.clear();
        line += 1;
    }
    rows.finish(true)
}

/// One data row's measures, into `chunk`.
fn parse_row(
    record: &(impl Record + ?Sized),
    line: u64,
    layout: &Layout,
    options: &CsvOptions,
    timestamps: &mut TimestampReader,
    chunk: &mut Chunk,
    located: &impl Fn(u64, &str, String) -> ParseError,
) -> Result<(), ParseError> {
    let error = |field: &str, reason: String| located(line, field, reason);
    let field = |index: usize, column: &dyn std::fmt::Display| {
        record
            .field(index)
            .map(time::trim_ascii_fast)
            .ok_or_else(|| {
                error(
                    &column.to_string(),
                    format!("missing: the row has {} fields", record.field_count()),
                )
            })
    };
    match layout {
        Layout::Long {
            metric,
            resource,
            timestamp,
            value,
        } => {
            let timestamp_text = field(*timestamp, &options.timestamp_column)?;
            let timestamp = timestamps
                .read(timestamp_text)
                .map_err(|reason| error(&options.timestamp_column.to_string(), reason))?;
            let value_text = field(*value, &options.value_column)?;
            let value = time::parse_python_float(value_text).ok_or_else(|| {
                error(
                    &options.value_column.to_string(),
                    format!("`{value_text}` is not a number"),
                )
            })?;
            let name = match (&options.metric, metric) {
                (MetricSource::Fixed(name), _) => name.as_str(),
                (MetricSource::Column(column), Some(index)) => {
                    let name = field(*index, column)?;
                    if name.is_empty() {
                        return Err(error(&column.to_string(), "empty metric name".to_owned()));
                    }
                    name
                }
                _ => unreachable!("a long layout has a metric column or a fixed metric"),
            };
            let resource = match (resource, &options.resource_column) {
                (Some(index), Some(column)) => Some(field(*index, column)?),
                _ => None,
            };
            let metric = chunk.name(name);
            let resource = resource.map(|r| chunk.name(r));
            chunk.items.push(Item::Measure {
                line,
                metric,
                resource,
                timestamp,
                value,
            });
        }
        Layout::Wide { timestamp, metrics } => {
            let timestamp_text = field(*timestamp, &options.timestamp_column)?;
            let timestamp = timestamps
                .read(timestamp_text)
                .map_err(|reason| error(&options.timestamp_column.to_string(), reason))?;
            for (index, name) in metrics {
                let text = record.field(*index).map_or("", time::trim_ascii_fast);
                if text.is_empty() {
                    continue;
                }
                let value = time::parse_python_float(text)
                    .ok_or_else(|| error(name, format!("`{text}` is not a number")))?;
                let metric = chunk.name(name);
                chunk.items.push(Item::Measure {
                    line,
                    metric,
                    resource: None,
                    timestamp,
                    value,
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{MeasureBatch, SinkError};
    use proptest::prelude::*;

    const S: i64 = 1_000_000_000;

    fn parse_with(
        text: &str,
        options: &CsvOptions,
    ) -> Result<(MeasureBatch, CsvSummary), ParseError> {
        let mut batch = MeasureBatch::default();
        let summary = read(text.as_bytes(), Path::new("in.csv"), options, &mut batch)
            .map_err(|e| e.bad_line().expect("a batch has no store to fail"))?;
        Ok((batch, summary))
    }

    fn parse(text: &str, metric: MetricSource) -> Result<MeasureBatch, ParseError> {
        parse_with(text, &CsvOptions::new(metric, Timestamp::EPOCH)).map(|(batch, _)| batch)
    }

    fn fixed() -> MetricSource {
        MetricSource::Fixed("cpu".into())
    }

    #[test]
    fn header_is_optional() {
        let with = parse(
            "timestamp,value\n2014-01-01T12:00:00,1.5\n1388577601,2\n",
            fixed(),
        )
        .unwrap();
        let without = parse("2014-01-01T12:00:00,1.5\n1388577601,2\n", fixed()).unwrap();
        assert_eq!(with.measures, without.measures);
        assert_eq!(
            with.measures["cpu"],
            [
                (Timestamp::from_nanos(1_388_577_600 * S), 1.5),
                (Timestamp::from_nanos(1_388_577_601 * S), 2.0)
            ]
        );
    }

    #[test]
    fn metric_column_splits_rows() {
        let text = "metric,timestamp,value\na,2024-01-01T00:00:00,1\nb,2024-01-01T00:00:00,2\na,2024-01-01T00:01:00,3\n";
        let (batch, summary) = parse_with(
            text,
            &CsvOptions::new(
                MetricSource::Column(Column::Name("metric".into())),
                Timestamp::EPOCH,
            ),
        )
        .unwrap();
        assert_eq!(batch.measures["a"].len(), 2);
        assert_eq!(batch.measures["b"][0].1, 2.0);
        assert_eq!(
            summary.parse,
            ParseSummary {
                lines: 4,
                invalid: 0
            }
        );
    }

    #[test]
    fn columns_by_name_in_any_order() {
        let text = "value;when\n4.5;2024-01-01T00:00:00+01:00\n";
        let mut options = CsvOptions::new(fixed(), Timestamp::EPOCH);
        options.timestamp_column = Column::Name("when".into());
        options.delimiter = b';';
        let (batch, _) = parse_with(text, &options).unwrap();
        assert_eq!(
            batch.measures["cpu"],
            [(Timestamp::from_nanos(1_704_063_600 * S), 4.5)]
        );
    }

    #[test]
    fn wide_rows_give_one_measure_per_filled_cell() {
        let text = "time,cpu,mem\n2024-01-01T00:00:00,1,10\n2024-01-01T00:01:00,,11\n2024-01-01T00:02:00,3\n";
        let mut options = CsvOptions::new(MetricSource::Wide, Timestamp::EPOCH);
        options.timestamp_column = Column::Name("time".into());
        let (batch, _) = parse_with(text, &options).unwrap();
        let t0 = 1_704_067_200 * S;
        assert_eq!(
            batch.measures["cpu"],
            [
                (Timestamp::from_nanos(t0), 1.0),
                (Timestamp::from_nanos(t0 + 120 * S), 3.0)
            ]
        );
        assert_eq!(batch.measures["mem"].len(), 2);
        let err = parse_with("time,cpu\n2024-01-01T00:00:00,x\n", &options).unwrap_err();
        assert_eq!(
            err.to_string(),
            "in.csv:2: field `cpu`: `x` is not a number"
        );
        let err = parse_with("time,,mem\n", &options).unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (1, "column 2"));
    }

    #[test]
    fn epoch_units_are_guessed_and_stated() {
        let options = CsvOptions::new(fixed(), Timestamp::EPOCH);
        let (batch, summary) =
            parse_with("1704067200000,1\n1704067200500.5,2\n", &options).unwrap();
        assert_eq!(summary.guessed_unit, Some(TimeUnit::Milliseconds));
        assert_eq!(
            batch.measures["cpu"],
            [
                (Timestamp::from_nanos(1_704_067_200 * S), 1.0),
                (Timestamp::from_nanos(1_704_067_200 * S + 500_500_000), 2.0)
            ]
        );
        let (batch, summary) = parse_with("1704067200000000001,1\n", &options).unwrap();
        assert_eq!(summary.guessed_unit, Some(TimeUnit::Nanoseconds));
        assert_eq!(batch.measures["cpu"][0].0.nanos(), 1_704_067_200 * S + 1);
        let (_, summary) = parse_with("1704067200,1\n", &options).unwrap();
        assert_eq!(summary.guessed_unit, None, "seconds are Gnocchi's default");
        let mut given = options.clone();
        given.time_unit = Some(TimeUnit::Microseconds);
        let (batch, summary) = parse_with("5,1\n", &given).unwrap();
        assert_eq!(
            (batch.measures["cpu"][0].0.nanos(), summary.guessed_unit),
            (5_000, None)
        );
    }

    #[test]
    fn errors_name_line_and_field() {
        let err = parse(
            "timestamp,value\n2014-01-01T12:00:00,1\n2014-01-01T12:00:01,abc\n",
            fixed(),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "in.csv:3: field `value`: `abc` is not a number"
        );
        let err = parse("2014-13-01T00:00:00,1\n", fixed()).unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (1, "timestamp"));
        let err = parse("1969-01-01,1\n", fixed()).unwrap_err();
        assert!(err.reason.contains("Epoch"), "{err}");
        let err = parse("timestamp,value\n1388577600\n", fixed()).unwrap_err();
        assert_eq!((err.line, err.field.as_str()), (2, "value"));
        assert_eq!(err.reason, "missing: the row has 1 fields");
        let err = parse("time,value\n1,2\n", fixed()).unwrap_err();
        assert_eq!(err.reason, "no column named `timestamp` in the header");
    }

    #[test]
    fn lines_are_counted_across_blank_lines_and_crlf_ends() {
        // Without quotes the text is split as it is; with one the CSV
        // reader reads it: both give the line a bad row starts on.
        for quote in ["", "\""] {
            for (end, skipped) in [("\n", "\n\n"), ("\r\n", "\r\n  \r\n")] {
                let text = format!(
                    "timestamp,value{end}{skipped}{quote}1388577600{quote},1{end}{skipped}1388577601,x{end}"
                );
                let err = parse(&text, fixed()).unwrap_err();
                assert_eq!(err.line, 7, "{text:?}");
            }
        }
    }

    /// Keeps the good rows and counts the bad ones, as `--skip-invalid`.
    #[derive(Default)]
    struct Lenient {
        batch: MeasureBatch,
        bad_lines: Vec<u64>,
    }

    impl Sink for Lenient {
        fn measure(
            &mut self,
            metric: &str,
            timestamp: Timestamp,
            value: f64,
        ) -> Result<(), SinkError> {
            if metric == "unknown" {
                return Err(SinkError::Rejected("Metric unknown does not exist".into()));
            }
            self.batch.measure(metric, timestamp, value)
        }
        fn named_measure(
            &mut self,
            _: &crate::ingest::NamedMetric<'_>,
            _: Timestamp,
            _: f64,
        ) -> Result<(), SinkError> {
            unreachable!("CSV names metrics by id or name")
        }
        fn declare(&mut self, _: crate::ingest::Declaration<'_>) -> Result<(), SinkError> {
            unreachable!("CSV declares nothing")
        }
        fn invalid(&mut self, error: ParseError) -> Result<(), ParseError> {
            self.bad_lines.push(error.line);
            Ok(())
        }
    }

    #[test]
    fn a_lenient_sink_gets_every_bad_line() {
        let text: &[u8] = b"m,timestamp,value\na,1,1\na,x,2\nunknown,3,3\n\xff,4,4\na,5,5\n";
        let mut sink = Lenient::default();
        let options = CsvOptions::new(
            MetricSource::Column(Column::Name("m".into())),
            Timestamp::EPOCH,
        );
        let summary = read(text, Path::new("x"), &options, &mut sink).unwrap();
        assert_eq!(sink.bad_lines, [3, 4, 5]);
        assert_eq!(
            summary.parse,
            ParseSummary {
                lines: 6,
                invalid: 3
            }
        );
        assert_eq!(sink.batch.measures["a"].len(), 2);
    }

    #[test]
    fn blank_lines_are_skipped() {
        let batch = parse("1388577600,1\n\n1388577601,2\n", fixed()).unwrap();
        assert_eq!(batch.measure_count(), 2);
    }

    /// Rows of a long file with a metric column: good ones, bad ones of
    /// every kind, blank lines and, sometimes, a quoted field.
    fn long_row() -> impl Strategy<Value = String> {
        prop_oneof![
            24 => (0..3u8, 0..100u32, -5..5i32).prop_map(|(m, t, v)| format!("m{m},{},{v}.5", 1_388_577_600 + t)),
            1 => Just("m1,x,1".to_owned()),
            1 => Just("m1,1388577600,y".to_owned()),
            1 => Just("unknown,1388577600,1".to_owned()),
            1 => Just("m2,1388577600".to_owned()),
            1 => Just(String::new()),
            1 => Just("  ".to_owned()),
            1 => Just(" m1 , 1388577602 , 4 ,extra".to_owned()),
            1 => Just("\"m0\",1388577605,2".to_owned()),
            1 => Just("m0,1388577606,3\r".to_owned()),
        ]
    }

    /// Everything a lenient sink received.
    fn read_lenient(text: &str, block: usize) -> (Vec<u64>, MeasureBatch, ParseSummary) {
        let mut sink = Lenient::default();
        let options = CsvOptions::new(
            MetricSource::Column(Column::Name("metric".into())),
            Timestamp::EPOCH,
        );
        let summary =
            read_in_blocks(text.as_bytes(), Path::new("x"), &options, &mut sink, block).unwrap();
        (sink.bad_lines, sink.batch, summary.parse)
    }

    proptest! {
        #[test]
        fn blocks_parsed_in_parallel_read_as_one_stream(
            rows in prop::collection::vec(long_row(), 1..200),
            block in 1..64usize,
        ) {
            let text = format!("metric,timestamp,value\n{}\n", rows.join("\n"));
            prop_assert_eq!(read_lenient(&text, block), read_lenient(&text, 1 << 20));
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300), wide: bool) {
            let metric = if wide { MetricSource::Wide } else { fixed() };
            let mut batch = MeasureBatch::default();
            let options = CsvOptions::new(metric, Timestamp::EPOCH);
            if let Ok(summary) = read(&bytes[..], Path::new("x"), &options, &mut batch) {
                prop_assert!(summary.parse.lines * 300 >= batch.measure_count() as u64);
            }
        }
    }
}
