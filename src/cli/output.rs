//! Rendering records the way cliff (gnocchiclient's framework) does:
//! `-f table|json|csv|value` and `-c COLUMN`. A record is a list (rows under
//! column names) or a single object (fields). stdout carries only this.

use std::io::Write;

use clap::ValueEnum;
use comfy_table::{ContentArrangement, ContentLineStyle, LineStyle, Table, TableStyle};

use crate::error::{Error, Result};
use crate::json::Json;
use crate::pyfmt;

/// prettytable's look: borders and a header rule, no rules between rows.
const TABLE_STYLE: TableStyle = TableStyle::new()
    .top_border(LineStyle::new('+', '-', '+', '+'))
    .header_lines(ContentLineStyle::new('|', '|', '|'))
    .header_separator(LineStyle::new('+', '-', '+', '+'))
    .content_lines(ContentLineStyle::new('|', '|', '|'))
    .bottom_border(LineStyle::new('+', '-', '+', '+'));

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum Format {
    /// An ASCII table.
    #[default]
    Table,
    /// JSON, floats and NaN as Gnocchi's API writes them.
    Json,
    /// CSV with a header row.
    Csv,
    /// Bare values: one row per line, separated by spaces.
    Value,
}

#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    pub format: Format,
    /// Columns (or fields) to keep, in their original order; all if empty.
    pub columns: Vec<String>,
}

/// What a command prints.
pub enum Record {
    List {
        columns: Vec<String>,
        rows: Vec<Vec<Json>>,
    },
    Show {
        fields: Vec<(String, Json)>,
    },
}

impl Record {
    pub fn list<S: Into<String>>(
        columns: impl IntoIterator<Item = S>,
        rows: Vec<Vec<Json>>,
    ) -> Record {
        Record::List {
            columns: columns.into_iter().map(Into::into).collect(),
            rows,
        }
    }

    pub fn show<S: Into<String>>(fields: impl IntoIterator<Item = (S, Json)>) -> Record {
        Record::Show {
            fields: fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
        }
    }
}

/// A value as text in a table, CSV or value output (Python's `str`).
fn text(value: &Json) -> String {
    match value {
        Json::Null => "None".to_owned(),
        Json::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Json::Int(i) => i.to_string(),
        Json::Float(f) => pyfmt::float_repr(*f),
        Json::Str(s) => s.clone(),
        Json::Array(items)
            if items.iter().all(|i| matches!(i, Json::Object(_))) && !items.is_empty() =>
        {
            items
                .iter()
                .map(|item| format!("- {}", text(item)))
                .collect::<Vec<_>>()
                .join("\n")
        }
        Json::Array(items) => items.iter().map(text).collect::<Vec<_>>().join(", "),
        Json::Object(fields) => fields
            .iter()
            .map(|(k, v)| format!("{k}: {}", text(v)))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// Indexes of the selected columns, or a usage error naming the unknown.
fn select(available: &[String], wanted: &[String]) -> Result<Vec<usize>> {
    if wanted.is_empty() {
        return Ok((0..available.len()).collect());
    }
    let unknown: Vec<&String> = wanted.iter().filter(|w| !available.contains(w)).collect();
    if !unknown.is_empty() {
        return Err(Error::Usage(format!(
            "unknown column {}; the columns are: {}",
            unknown
                .iter()
                .map(|u| format!("`{u}`"))
                .collect::<Vec<_>>()
                .join(", "),
            available.join(", ")
        )));
    }
    Ok((0..available.len())
        .filter(|&i| wanted.contains(&available[i]))
        .collect())
}

fn table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_style(TABLE_STYLE)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().copied());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}

/// One CSV line.
fn csv_line<S: AsRef<[u8]>>(fields: &[S]) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer
        .write_record(fields)
        .expect("writing CSV to memory cannot fail");
    writer
        .into_inner()
        .expect("writing CSV to memory cannot fail")
}

fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut bytes = csv_line(header);
    for row in rows {
        bytes.extend_from_slice(&csv_line(&row));
    }
    bytes
}

fn csv_text(value: &Json) -> String {
    match value {
        Json::Null => String::new(),
        other => text(other),
    }
}

/// Writes a record to `out` in the chosen format.
pub fn write(out: &mut impl Write, record: &Record, options: &OutputOptions) -> Result<()> {
    let bytes = render(record, options)?;
    out.write_all(&bytes)
        .and_then(|()| out.flush())
        .map_err(Error::Output)
}

fn render(record: &Record, options: &OutputOptions) -> Result<Vec<u8>> {
    match record {
        Record::List { columns, rows } => {
            let keep = select(columns, &options.columns)?;
            let header: Vec<&str> = keep.iter().map(|&i| columns[i].as_str()).collect();
            let keep = &keep;
            let cells = |format: fn(&Json) -> String| {
                rows.iter()
                    .map(move |row| keep.iter().map(|&i| format(&row[i])).collect::<Vec<_>>())
            };
            Ok(match options.format {
                Format::Table => format!("{}\n", table(&header, cells(text))).into_bytes(),
                Format::Csv => csv_bytes(&header, cells(csv_text)),
                Format::Value => cells(text)
                    .map(|row| format!("{}\n", row.join(" ")))
                    .collect::<String>()
                    .into_bytes(),
                Format::Json => {
                    let objects = rows
                        .iter()
                        .map(|row| {
                            Json::Object(
                                keep.iter()
                                    .map(|&i| (columns[i].clone(), row[i].clone()))
                                    .collect(),
                            )
                        })
                        .collect();
                    format!("{}\n", Json::Array(objects).to_pretty_string(2)).into_bytes()
                }
            })
        }
        Record::Show { fields } => {
            let names: Vec<String> = fields.iter().map(|(k, _)| k.clone()).collect();
            let keep = select(&names, &options.columns)?;
            Ok(match options.format {
                Format::Table => {
                    let rows = keep
                        .iter()
                        .map(|&i| vec![fields[i].0.clone(), text(&fields[i].1)]);
                    format!("{}\n", table(&["Field", "Value"], rows)).into_bytes()
                }
                Format::Csv => {
                    let header: Vec<&str> = keep.iter().map(|&i| fields[i].0.as_str()).collect();
                    let row = keep.iter().map(|&i| csv_text(&fields[i].1)).collect();
                    csv_bytes(&header, std::iter::once(row))
                }
                Format::Value => keep
                    .iter()
                    .map(|&i| format!("{}\n", text(&fields[i].1)))
                    .collect::<String>()
                    .into_bytes(),
                Format::Json => {
                    let object = Json::Object(keep.iter().map(|&i| fields[i].clone()).collect());
                    format!("{}\n", object.to_pretty_string(2)).into_bytes()
                }
            })
        }
    }
}

/// Rows printed as they come, for outputs too large to hold (`dump`): CSV
/// and value lines stream, JSON is an array with one compact object per
/// line, and a table is drawn for each group of rows (`end_table`).
pub struct RowStream<W: Write> {
    out: W,
    format: Format,
    columns: Vec<String>,
    keep: Vec<usize>,
    rows: usize,
    table: Vec<Vec<String>>,
}

impl<W: Write> RowStream<W> {
    /// Checks `-c` against `columns`; a CSV header is written at once.
    pub fn new(out: W, columns: Vec<String>, options: &OutputOptions) -> Result<Self> {
        let keep = select(&columns, &options.columns)?;
        let mut stream = RowStream {
            out,
            format: options.format,
            columns,
            keep,
            rows: 0,
            table: Vec::new(),
        };
        if stream.format == Format::Csv {
            let header = stream.header();
            stream.emit(&csv_line(&header))?;
        }
        Ok(stream)
    }

    fn header(&self) -> Vec<String> {
        self.keep.iter().map(|&i| self.columns[i].clone()).collect()
    }

    fn emit(&mut self, bytes: &[u8]) -> Result<()> {
        self.out.write_all(bytes).map_err(Error::Output)
    }

    /// One row, a value per column.
    pub fn row(&mut self, row: &[Json]) -> Result<()> {
        let cells = |format: fn(&Json) -> String| -> Vec<String> {
            self.keep.iter().map(|&i| format(&row[i])).collect()
        };
        match self.format {
            Format::Table => {
                let cells = cells(text);
                self.table.push(cells);
            }
            Format::Csv => {
                let line = csv_line(&cells(csv_text));
                self.emit(&line)?;
            }
            Format::Value => {
                let line = format!("{}\n", cells(text).join(" "));
                self.emit(line.as_bytes())?;
            }
            Format::Json => {
                let object = Json::Object(
                    self.keep
                        .iter()
                        .map(|&i| (self.columns[i].clone(), row[i].clone()))
                        .collect(),
                );
                let separator = if self.rows == 0 { "[\n" } else { ",\n" };
                let line = format!("{separator}{}", object.to_python_string());
                self.emit(line.as_bytes())?;
            }
        }
        self.rows += 1;
        Ok(())
    }

    /// Draws the rows given since the last table (tables only).
    pub fn end_table(&mut self) -> Result<()> {
        if self.table.is_empty() {
            return Ok(());
        }
        let header = self.header();
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let drawn = table(&header, std::mem::take(&mut self.table).into_iter());
        self.emit(format!("{drawn}\n").as_bytes())
    }

    /// Ends the output.
    pub fn finish(mut self) -> Result<()> {
        self.end_table()?;
        if self.format == Format::Json {
            let end: &[u8] = if self.rows == 0 { b"[]\n" } else { b"\n]\n" };
            self.emit(end)?;
        }
        self.out.flush().map_err(Error::Output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render_text(record: &Record, format: Format, columns: &[&str]) -> String {
        let options = OutputOptions {
            format,
            columns: columns.iter().map(|c| c.to_string()).collect(),
        };
        String::from_utf8(render(record, &options).unwrap()).unwrap()
    }

    fn measures() -> Record {
        Record::list(
            ["timestamp", "granularity", "value"],
            vec![
                vec![
                    Json::str("2024-01-01T00:00:00+00:00"),
                    Json::Float(60.0),
                    Json::Float(1.5),
                ],
                vec![
                    Json::str("2024-01-01T00:01:00+00:00"),
                    Json::Float(60.0),
                    Json::Float(f64::NAN),
                ],
            ],
        )
    }

    #[test]
    fn tables_look_like_cliff() {
        assert_eq!(
            render_text(&measures(), Format::Table, &[]),
            "\
+---------------------------+-------------+-------+
| timestamp                 | granularity | value |
+---------------------------+-------------+-------+
| 2024-01-01T00:00:00+00:00 | 60.0        | 1.5   |
| 2024-01-01T00:01:00+00:00 | 60.0        | nan   |
+---------------------------+-------------+-------+
"
        );
    }

    #[test]
    fn other_formats() {
        assert_eq!(
            render_text(&measures(), Format::Csv, &["timestamp", "value"]),
            "timestamp,value\n2024-01-01T00:00:00+00:00,1.5\n2024-01-01T00:01:00+00:00,nan\n"
        );
        assert_eq!(
            render_text(&measures(), Format::Value, &["value"]),
            "1.5\nnan\n"
        );
        let json = render_text(&measures(), Format::Json, &["value"]);
        assert_eq!(
            json,
            "[\n  {\n    \"value\": 1.5\n  },\n  {\n    \"value\": NaN\n  }\n]\n"
        );
        let show = Record::show([("name", Json::str("low")), ("back_window", Json::Int(0))]);
        assert_eq!(render_text(&show, Format::Value, &[]), "low\n0\n");
        assert_eq!(
            render_text(&show, Format::Csv, &[]),
            "name,back_window\nlow,0\n"
        );
        assert!(render_text(&show, Format::Table, &["name"]).contains("| name  | low   |"));
    }

    fn streamed(format: Format, columns: &[&str], groups: &[&[i64]]) -> String {
        let options = OutputOptions {
            format,
            columns: columns.iter().map(|c| c.to_string()).collect(),
        };
        let mut out = Vec::new();
        let mut stream =
            RowStream::new(&mut out, vec!["n".into(), "twice".into()], &options).unwrap();
        for group in groups {
            for &n in *group {
                stream.row(&[Json::Int(n), Json::Int(2 * n)]).unwrap();
            }
            stream.end_table().unwrap();
        }
        stream.finish().unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn streamed_rows() {
        assert_eq!(
            streamed(Format::Csv, &[], &[&[1], &[2]]),
            "n,twice\n1,2\n2,4\n"
        );
        assert_eq!(streamed(Format::Value, &["twice"], &[&[1, 2]]), "2\n4\n");
        assert_eq!(
            streamed(Format::Json, &[], &[&[1], &[2]]),
            "[\n{\"n\": 1, \"twice\": 2},\n{\"n\": 2, \"twice\": 4}\n]\n"
        );
        assert_eq!(streamed(Format::Json, &[], &[]), "[]\n");
        let tables = streamed(Format::Table, &["n"], &[&[1], &[], &[22]]);
        assert_eq!(
            tables,
            "+---+\n| n |\n+---+\n| 1 |\n+---+\n+----+\n| n  |\n+----+\n| 22 |\n+----+\n"
        );
    }

    #[test]
    fn unknown_columns_are_usage_errors() {
        let options = OutputOptions {
            format: Format::Table,
            columns: vec!["nope".into()],
        };
        let err = render(&measures(), &options).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("`nope`"));
    }
}
