//! Aggregated points as rows `[labels…,] timestamp, granularity, value`,
//! for `measures show` and `aggregates`, in every output format. A read can
//! return millions of points, so the CSV, value and JSON forms are written
//! straight into byte buffers, chunks of rows formatted in parallel and
//! written in order; the table form goes through the ordinary records.

use std::io::Write;

use rayon::prelude::*;

use super::output::{Format, OutputOptions, Record, csv_bytes, csv_text, select, text, write};
use crate::carbonara::Sampling;
use crate::error::{Error, Result};
use crate::pyform;
use crate::pyform::document;
use crate::pyform::json::Json;
use crate::time::{ApiDateCache, Timestamp};

/// Rows formatted by one task.
const CHUNK_ROWS: usize = 1 << 14;
/// Chunks formatted before they are written: enough for every core, few
/// enough that their buffers stay small (fresh memory costs page faults).
const CHUNKS_AT_ONCE: usize = 4;
/// Bytes a row takes at most in most tables (a longer row grows its buffer).
const ROW_BYTES: usize = 64;

pub struct MeasureTable<'a> {
    /// Names of the columns before `timestamp` (`group`, `name`), if any.
    pub label_columns: Vec<&'static str>,
    pub blocks: Vec<MeasureBlock<'a>>,
}

/// Consecutive rows sharing their labels and granularity.
pub struct MeasureBlock<'a> {
    /// One text per label column.
    pub labels: Vec<String>,
    pub granularity: Sampling,
    pub timestamps: &'a [Timestamp],
    pub values: &'a [f64],
}

const MEASURE_COLUMNS: [&str; 3] = ["timestamp", "granularity", "value"];

impl MeasureTable<'_> {
    fn columns(&self) -> Vec<String> {
        self.label_columns
            .iter()
            .chain(MEASURE_COLUMNS.iter())
            .map(|c| (*c).to_owned())
            .collect()
    }

    /// The rows as records, for the table format.
    fn to_record(&self) -> Record {
        let mut rows = Vec::new();
        for block in &self.blocks {
            for (t, v) in block.timestamps.iter().zip(block.values) {
                let mut row: Vec<Json> = block.labels.iter().map(Json::str).collect();
                row.extend([
                    Json::str(t.to_api_string()),
                    document::granularity(block.granularity),
                    Json::Float(*v),
                ]);
                rows.push(row);
            }
        }
        Record::list(self.columns(), rows)
    }
}

/// What a row is made of, in order.
enum Piece {
    /// Text that is the same on every row of the block: labels,
    /// granularity, separators, JSON keys.
    Text(Vec<u8>),
    Timestamp,
    Value,
}

/// How the rows of one block are written.
struct RowFormat {
    json: bool,
    pieces: Vec<Piece>,
}

impl RowFormat {
    /// The pieces of the chosen columns of a block's rows.
    fn new(format: Format, columns: &[String], keep: &[usize], block: &MeasureBlock) -> Self {
        let labels = block.labels.len();
        let json = format == Format::Json;
        let mut pieces = Vec::new();
        let text_piece = |pieces: &mut Vec<Piece>, bytes: &[u8]| match pieces.last_mut() {
            Some(Piece::Text(text)) => text.extend_from_slice(bytes),
            _ => pieces.push(Piece::Text(bytes.to_vec())),
        };
        if json {
            text_piece(&mut pieces, b"\n  {");
        }
        for (n, &i) in keep.iter().enumerate() {
            if json {
                text_piece(&mut pieces, if n == 0 { b"\n    " } else { b",\n    " });
                text_piece(
                    &mut pieces,
                    Json::str(&columns[i]).to_python_string().as_bytes(),
                );
                text_piece(&mut pieces, b": ");
            } else if n > 0 {
                text_piece(&mut pieces, if format == Format::Csv { b"," } else { b" " });
            }
            if i == labels {
                if json {
                    text_piece(&mut pieces, b"\"");
                }
                pieces.push(Piece::Timestamp);
                if json {
                    text_piece(&mut pieces, b"\"");
                }
            } else if i == labels + 2 {
                pieces.push(Piece::Value);
            } else {
                let value = if i < labels {
                    Json::str(&block.labels[i])
                } else {
                    document::granularity(block.granularity)
                };
                let text = match format {
                    Format::Json => value.to_python_string().into_bytes(),
                    Format::Csv => csv_field(&csv_text(&value)),
                    _ => text(&value).into_bytes(),
                };
                text_piece(&mut pieces, &text);
            }
        }
        text_piece(&mut pieces, if json { b"\n  }" } else { b"\n" });
        RowFormat { json, pieces }
    }

    /// Appends the rows; `first` when no row was written before them.
    fn write_rows(&self, timestamps: &[Timestamp], values: &[f64], first: bool, out: &mut Vec<u8>) {
        let mut dates = ApiDateCache::default();
        for (row, (t, v)) in timestamps.iter().zip(values).enumerate() {
            if self.json && !(first && row == 0) {
                out.push(b',');
            }
            for piece in &self.pieces {
                match piece {
                    Piece::Text(text) if text.len() == 1 => out.push(text[0]),
                    Piece::Text(text) => out.extend_from_slice(text),
                    Piece::Timestamp => t.write_api_string(out, &mut dates),
                    Piece::Value if self.json => pyform::fmt::write_json_float(out, *v),
                    Piece::Value => pyform::fmt::write_float_repr(out, *v),
                }
            }
        }
    }
}

/// Writes the rows of a measure table in the chosen format.
pub fn write_measures(
    out: &mut impl Write,
    table: &MeasureTable,
    options: &OutputOptions,
) -> Result<()> {
    // Tables, YAML and sorted rows go through the ordinary records.
    if matches!(options.format, Format::Table | Format::Yaml) || !options.sort_columns.is_empty() {
        return write(out, &table.to_record(), options);
    }
    let columns = table.columns();
    let keep = select(&columns, &options.columns)?;
    let mut put = |bytes: &[u8]| out.write_all(bytes).map_err(Error::Output);
    match options.format {
        Format::Csv => {
            let header: Vec<&str> = keep.iter().map(|&i| columns[i].as_str()).collect();
            put(&csv_bytes(&header, std::iter::empty()))?;
        }
        Format::Json => put(b"[")?,
        _ => {}
    }
    let mut first = true;
    // Reused from window to window: fresh memory costs page faults.
    let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); CHUNKS_AT_ONCE];
    for block in &table.blocks {
        let format = RowFormat::new(options.format, &columns, &keep, block);
        let chunks: Vec<(&[Timestamp], &[f64])> = block
            .timestamps
            .chunks(CHUNK_ROWS)
            .zip(block.values.chunks(CHUNK_ROWS))
            .collect();
        for (window_index, window) in chunks.chunks(CHUNKS_AT_ONCE).enumerate() {
            let buffers = &mut buffers[..window.len()];
            buffers
                .par_iter_mut()
                .zip(window.par_iter())
                .enumerate()
                .for_each(|(i, (buffer, (timestamps, values)))| {
                    buffer.clear();
                    buffer.reserve(timestamps.len() * ROW_BYTES);
                    let first_chunk = first && window_index == 0 && i == 0;
                    format.write_rows(timestamps, values, first_chunk, buffer);
                });
            for buffer in buffers.iter() {
                put(buffer)?;
            }
        }
        first &= block.timestamps.is_empty();
    }
    if options.format == Format::Json {
        put(if first { b"]\n" } else { b"\n]\n" })?;
    }
    out.flush().map_err(Error::Output)
}

/// One CSV field, quoted as the csv crate quotes it.
fn csv_field(field: &str) -> Vec<u8> {
    let mut bytes = csv_bytes(&[field, ""], std::iter::empty());
    // Written as a two-field record so an empty field is not quoted alone.
    bytes.truncate(bytes.len() - 2);
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Span;

    fn render(table: &MeasureTable, format: Format, columns: &[&str]) -> String {
        let options = OutputOptions {
            format,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            ..OutputOptions::default()
        };
        let mut out = Vec::new();
        write_measures(&mut out, table, &options).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn table<'a>(timestamps: &'a [Timestamp], values: &'a [f64]) -> MeasureTable<'a> {
        MeasureTable {
            label_columns: vec!["name"],
            blocks: vec![
                MeasureBlock {
                    labels: vec!["a, \"b\"".to_owned()],
                    granularity: Sampling::Span(Span::from_secs(60)),
                    timestamps,
                    values,
                },
                MeasureBlock {
                    labels: vec!["c".to_owned()],
                    granularity: "Q".parse().unwrap(),
                    timestamps: &timestamps[..1],
                    values: &values[..1],
                },
            ],
        }
    }

    #[test]
    fn every_format_writes_the_same_rows_as_the_records() {
        let timestamps: Vec<Timestamp> = (0..3)
            .map(|i| Timestamp::from_nanos(1_420_070_400_000_000_000 + i * 60_000_000_000))
            .collect();
        let values = [1.5, f64::NAN, 1e-5];
        let t = table(&timestamps, &values);
        assert_eq!(
            render(&t, Format::Csv, &[]),
            "name,timestamp,granularity,value\n\
             \"a, \"\"b\"\"\",2015-01-01T00:00:00+00:00,60.0,1.5\n\
             \"a, \"\"b\"\"\",2015-01-01T00:01:00+00:00,60.0,nan\n\
             \"a, \"\"b\"\"\",2015-01-01T00:02:00+00:00,60.0,1e-05\n\
             c,2015-01-01T00:00:00+00:00,Q,1.5\n"
        );
        assert_eq!(
            render(&t, Format::Value, &["granularity", "value"]),
            "60.0 1.5\n60.0 nan\n60.0 1e-05\nQ 1.5\n"
        );
        // The JSON form is the records' JSON, byte for byte.
        let mut records = Vec::new();
        write(
            &mut records,
            &t.to_record(),
            &OutputOptions {
                format: Format::Json,
                columns: vec!["timestamp".into(), "value".into()],
                ..OutputOptions::default()
            },
        )
        .unwrap();
        assert_eq!(
            render(&t, Format::Json, &["timestamp", "value"]),
            String::from_utf8(records).unwrap()
        );
        let empty = MeasureTable {
            label_columns: Vec::new(),
            blocks: Vec::new(),
        };
        assert_eq!(render(&empty, Format::Json, &[]), "[]\n");
    }

    #[test]
    fn chunks_are_written_in_order() {
        let rows = CHUNK_ROWS * (CHUNKS_AT_ONCE + 2) + 7;
        let timestamps: Vec<Timestamp> = (0..rows as i64)
            .map(|i| Timestamp::from_nanos(i * 1_000_000_000))
            .collect();
        let values: Vec<f64> = (0..rows).map(|i| i as f64).collect();
        let t = MeasureTable {
            label_columns: Vec::new(),
            blocks: vec![MeasureBlock {
                labels: Vec::new(),
                granularity: Sampling::Span(Span::from_secs(1)),
                timestamps: &timestamps,
                values: &values,
            }],
        };
        let csv = render(&t, Format::Value, &["value"]);
        let parsed: Vec<f64> = csv.lines().map(|l| l.parse().unwrap()).collect();
        assert_eq!(parsed, values);
    }
}
