//! The CSV reader's row splitters: bytes cut into records, and each
//! record's measures put in chunks for the storing thread ([`Rows`]).
//! Plain blocks (UTF-8, no quote, no carriage return) are split on their
//! line ends and delimiter byte by byte; anything else is read by the `csv`
//! crate. Both give the same records and the same line numbers. What a
//! field means is the parent module's business; where the blocks come from
//! and where the chunks go, the pipeline's.

use std::io::Read;
use std::sync::mpsc;

use super::pipeline::{Chunk, Item, ParseState};
use super::{Layout, Record, detect_layout, parse_row};
use crate::ingest::ParseError;

/// Lines between two progress reports.
const PROGRESS_EVERY: u64 = 1 << 16;

/// Rows are parsed on one thread and stored on another, in chunks of
/// about this many items.
const CHUNK: usize = 1 << 14;

/// Parses a block of whole lines without quotes or carriage returns: split
/// as plain text when it is UTF-8 (as it nearly always is), by the CSV
/// reader otherwise (which reports the lines that are not). False when
/// parsing must stop.
pub(super) fn parse_block(
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
        let chunk = state.pools.chunk();
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
        let full = std::mem::replace(&mut self.chunk, self.state.pools.chunk());
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
pub(super) fn parse_rows(
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

#[cfg(test)]
mod tests {
    use crate::ingest::csv::tests::{fixed, parse};

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
}
