//! The CSV reader's parallel machinery: the input cut into blocks of
//! whole lines; blocks parsed on threads of their own once the first rows
//! have settled the layout and the epoch unit; their rows carried in chunks
//! to the storing thread in the input's order; blocks and chunks recycled.
//! What a row means is the parent module's business, and how a block
//! becomes records and chunks [`super::split`]'s: nothing here reads a
//! field.

use std::io::Read;
use std::ops::Range;
use std::path::Path;
use std::sync::{Mutex, PoisonError, mpsc};

use super::split::{parse_block, parse_rows};
use super::{CsvOptions, CsvSummary, Layout, TimeUnit, TimestampReader};
use crate::ingest::{NamedMetric, ParseError, ParseSummary, ReadError, Sink};
use crate::time::Timestamp;

/// The input is cut into blocks of about this many bytes, at line ends:
/// once the layout and the epoch unit are settled, blocks without a quote
/// are parsed in parallel.
pub(super) const BLOCK: usize = 1 << 20;

/// Threads parsing blocks in parallel.
const PARSERS: usize = 2;

/// Parsed rows on their way from the parsing thread to the storing one.
#[derive(Default)]
pub(super) struct Chunk {
    /// The metric and resource names of the items, end to end.
    pub(super) names: String,
    pub(super) items: Vec<Item>,
}

/// Kept small: every measure of the input is one.
pub(super) enum Item {
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
    /// Adds a name (a chunk holds the fields of at most `split::CHUNK`
    /// rows: far below 4 GiB).
    pub(super) fn name(&mut self, name: &str) -> Range<u32> {
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
pub(super) struct Pools {
    blocks: Pool<Vec<u8>>,
    chunks: Pool<Chunk>,
}

impl Pools {
    /// A chunk to fill: one given back, or a new one.
    pub(super) fn chunk(&self) -> Chunk {
        self.chunks.take()
    }
}

/// The chunks of one block, in order; the blocks come in the input's order.
type Blocks = mpsc::Receiver<mpsc::Receiver<Chunk>>;

/// [`super::read`], cutting the input into blocks of about `block` bytes.
pub(super) fn read_in_blocks(
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
        timestamps: TimestampReader::new(options),
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
    let missing_resource = options.missing_resource();
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
                        let field = options.metric.field_of(name);
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
pub(super) struct ParseState<'a> {
    pub(super) options: &'a CsvOptions,
    pub(super) path: &'a Path,
    pub(super) pools: &'a Pools,
    pub(super) timestamps: TimestampReader,
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
    state.timestamps.guessed_unit()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::MeasureBatch;
    use crate::ingest::csv::tests::Lenient;
    use crate::ingest::csv::{Column, MetricSource};
    use proptest::prelude::*;

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
    }
}
