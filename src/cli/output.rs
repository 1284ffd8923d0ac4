//! Rendering records the way cliff (gnocchiclient's framework) does:
//! `-f table|json|csv|value|yaml`, `-c COLUMN`, `--sort-column`. A record
//! is a list (rows under column names) or a single object (fields); it may
//! carry the Gnocchi API documents it was made from, which `-f json` and
//! `-f yaml` print instead, so scripts get what Gnocchi's API returns.
//! stdout carries only this.

use std::io::Write;

use clap::ValueEnum;
use comfy_table::{ContentArrangement, ContentLineStyle, LineStyle, Table, TableStyle};

use crate::error::{Error, Result};
use crate::pyform;
use crate::pyform::json::Json;

mod yaml {
    //! YAML through serde_norway, mappings with sorted keys like PyYAML's
    //! `safe_dump` (cliff's YAML formatter).

    use serde_norway::{Mapping, Number, Value};

    use crate::error::{Error, Result};
    use crate::pyform::json::Json;

    fn value(json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Int(i) => Value::Number(Number::from(*i)),
            Json::Float(f) => Value::Number(Number::from(*f)),
            Json::Str(s) => Value::String(s.clone()),
            Json::Array(items) => Value::Sequence(items.iter().map(value).collect()),
            Json::Object(fields) => {
                let mut sorted: Vec<&(String, Json)> = fields.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(&b.0));
                let mut mapping = Mapping::new();
                for (key, item) in sorted {
                    mapping.insert(Value::String(key.clone()), value(item));
                }
                Value::Mapping(mapping)
            }
        }
    }

    pub fn to_string(json: &Json) -> Result<String> {
        serde_norway::to_string(&value(json))
            .map_err(|e| Error::Failed(format!("writing YAML: {e}")))
    }
}

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
    /// YAML, keys sorted (PyYAML's `safe_dump`, as cliff).
    Yaml,
}

#[derive(Debug, Clone, Default)]
pub struct OutputOptions {
    pub format: Format,
    /// Columns (or fields) to keep, in their original order; all if empty.
    pub columns: Vec<String>,
    /// Columns to sort list rows by, first one first (cliff's `--sort-column`).
    pub sort_columns: Vec<String>,
    pub sort_descending: bool,
}

/// What a command prints.
pub enum Record {
    List {
        columns: Vec<String>,
        rows: Vec<Vec<Json>>,
        /// The API document of the list, for `-f json` and `-f yaml`: an
        /// array of one document per row (sorted with the rows), or any
        /// other value printed as is.
        document: Option<Json>,
    },
    Show {
        fields: Vec<(String, Json)>,
        /// The API document, for `-f json` and `-f yaml`.
        document: Option<Json>,
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
            document: None,
        }
    }

    pub fn show<S: Into<String>>(fields: impl IntoIterator<Item = (S, Json)>) -> Record {
        Record::Show {
            fields: fields.into_iter().map(|(k, v)| (k.into(), v)).collect(),
            document: None,
        }
    }

    /// The documents JSON and YAML output print: one per row of a list,
    /// or the one of a single object.
    pub fn with_documents(self, new: Vec<Json>) -> Record {
        match self {
            Record::Show { .. } => self.with_document(new.into_iter().next().unwrap_or(Json::Null)),
            list => list.with_document(Json::Array(new)),
        }
    }

    /// The whole document JSON and YAML output print.
    pub fn with_document(self, new: Json) -> Record {
        match self {
            Record::List { columns, rows, .. } => Record::List {
                columns,
                rows,
                document: Some(new),
            },
            Record::Show { fields, .. } => Record::Show {
                fields,
                document: Some(new),
            },
        }
    }
}

/// A size for people, in binary units: `844 B`, `1.2 MiB`, `786 KiB` (one
/// decimal below 10 of a unit). Tables show sizes so; `-f json`, `csv`
/// and `value` keep the exact number of bytes.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    // 1023.6 KiB would round to "1024 KiB": it is "1.0 MiB".
    while value >= 1023.5 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if value < 9.95 {
        format!("{value:.1} {}", UNITS[unit])
    } else {
        format!("{value:.0} {}", UNITS[unit])
    }
}

/// A value as text in a table, CSV or value output (Python's `str`).
pub fn text(value: &Json) -> String {
    match value {
        Json::Null => "None".to_owned(),
        Json::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Json::Int(i) => i.to_string(),
        Json::Float(f) => pyform::fmt::float_repr(*f),
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
pub(super) fn select(available: &[String], wanted: &[String]) -> Result<Vec<usize>> {
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

pub(super) fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut bytes = csv_line(header);
    for row in rows {
        bytes.extend_from_slice(&csv_line(&row));
    }
    bytes
}

pub(super) fn csv_text(value: &Json) -> String {
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

/// The order cliff's `--sort-column` gives the rows: a stable sort per
/// column, last column first, nulls last (first when descending); a
/// column whose values do not compare (text and numbers) is skipped.
fn sorted_order(columns: &[String], rows: &[Vec<Json>], options: &OutputOptions) -> Vec<usize> {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    let normalize = |c: &str| c.to_lowercase().replace(' ', "_");
    let indexes: Vec<usize> = options
        .sort_columns
        .iter()
        .filter_map(|wanted| {
            columns.iter().position(|c| c == wanted).or_else(|| {
                columns
                    .iter()
                    .position(|c| normalize(c) == normalize(wanted))
            })
        })
        .collect();
    for &index in indexes.iter().rev() {
        let comparable = rows.iter().all(|a| {
            rows.iter()
                .all(|b| compare_values(&a[index], &b[index]).is_some())
        });
        if !comparable {
            continue;
        }
        order.sort_by(|&a, &b| {
            let ordering = compare_values(&rows[a][index], &rows[b][index])
                .unwrap_or(std::cmp::Ordering::Equal);
            if options.sort_descending {
                ordering.reverse()
            } else {
                ordering
            }
        });
    }
    order
}

/// Python's ordering of `(value is None, value)`.
fn compare_values(a: &Json, b: &Json) -> Option<std::cmp::Ordering> {
    let number = |v: &Json| match v {
        Json::Int(i) => Some(*i as f64),
        Json::Float(f) => Some(*f),
        Json::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    };
    match (a, b) {
        (Json::Null, Json::Null) => Some(std::cmp::Ordering::Equal),
        (Json::Null, _) => Some(std::cmp::Ordering::Greater),
        (_, Json::Null) => Some(std::cmp::Ordering::Less),
        (Json::Str(x), Json::Str(y)) => Some(x.cmp(y)),
        _ => number(a)?.partial_cmp(&number(b)?),
    }
}

/// A document with only the wanted keys (all when none are named).
fn pick(document: &Json, wanted: &[String]) -> Json {
    match document {
        Json::Object(fields) if !wanted.is_empty() => Json::Object(
            fields
                .iter()
                .filter(|(k, _)| wanted.contains(k))
                .cloned()
                .collect(),
        ),
        other => other.clone(),
    }
}

/// Checks `-c` against the keys of documents (for JSON and YAML output).
fn check_document_keys(documents: &[&Json], wanted: &[String]) -> Result<()> {
    let mut keys: Vec<String> = Vec::new();
    for document in documents {
        if let Json::Object(fields) = document {
            for (key, _) in fields {
                if !keys.contains(key) {
                    keys.push(key.clone());
                }
            }
        }
    }
    if documents.is_empty() {
        return Ok(());
    }
    select(&keys, wanted).map(|_| ())
}

/// JSON or YAML text of what `-f json`/`-f yaml` prints.
fn structured(value: &Json, format: Format) -> Result<Vec<u8>> {
    Ok(match format {
        Format::Yaml => yaml::to_string(value)?.into_bytes(),
        _ => format!("{}\n", value.to_pretty_string(2)).into_bytes(),
    })
}

fn render(record: &Record, options: &OutputOptions) -> Result<Vec<u8>> {
    match record {
        Record::List {
            columns,
            rows,
            document,
        } => {
            let order = sorted_order(columns, rows, options);
            let rows: Vec<Vec<Json>> = order.iter().map(|&i| rows[i].clone()).collect();
            match (document, options.format) {
                (Some(Json::Array(documents)), Format::Json | Format::Yaml)
                    if documents.len() == rows.len() =>
                {
                    let documents: Vec<&Json> = order.iter().map(|&i| &documents[i]).collect();
                    check_document_keys(&documents, &options.columns)?;
                    let picked = documents
                        .iter()
                        .map(|d| pick(d, &options.columns))
                        .collect();
                    return structured(&Json::Array(picked), options.format);
                }
                (Some(document), Format::Json | Format::Yaml) => {
                    return structured(document, options.format);
                }
                _ => {}
            }
            let rows = &rows;
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
                Format::Json | Format::Yaml => {
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
                    structured(&Json::Array(objects), options.format)?
                }
            })
        }
        Record::Show { fields, document } => {
            if let (Some(document), Format::Json | Format::Yaml) = (document, options.format) {
                check_document_keys(&[document], &options.columns)?;
                return structured(&pick(document, &options.columns), options.format);
            }
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
                Format::Json | Format::Yaml => {
                    let object = Json::Object(keep.iter().map(|&i| fields[i].clone()).collect());
                    structured(&object, options.format)?
                }
            })
        }
    }
}

/// Rows printed as they come, for outputs too large to hold (`dump`): CSV
/// and value lines stream, JSON is an array with one compact object per
/// line, YAML a sequence, and a table is drawn for each group of rows (`end_table`).
pub struct RowStream<W: Write> {
    out: W,
    format: Format,
    columns: Vec<String>,
    keep: Vec<usize>,
    rows: usize,
    table: Vec<Vec<String>>,
    /// A line drawn above the next table.
    title: Option<String>,
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
            title: None,
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
            Format::Json | Format::Yaml => {
                let object = Json::Object(
                    self.keep
                        .iter()
                        .map(|&i| (self.columns[i].clone(), row[i].clone()))
                        .collect(),
                );
                let text = if self.format == Format::Json {
                    let separator = if self.rows == 0 { "[\n" } else { ",\n" };
                    format!("{separator}{}", object.to_python_string())
                } else {
                    // A one-item sequence: `- key: value` lines, which
                    // add up to the whole list.
                    yaml::to_string(&Json::Array(vec![object]))?
                };
                self.emit(text.as_bytes())?;
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
        let title = self
            .title
            .take()
            .map_or(String::new(), |title| format!("{title}\n"));
        self.emit(format!("{title}{drawn}\n").as_bytes())
    }

    /// A line above the next table, saying what its rows share (tables
    /// only: the other formats repeat it in every row).
    pub fn title(&mut self, title: String) {
        if self.format == Format::Table {
            self.title = Some(title);
        }
    }

    /// Ends the output.
    pub fn finish(mut self) -> Result<()> {
        self.end_table()?;
        match (self.format, self.rows) {
            (Format::Json, 0) | (Format::Yaml, 0) => self.emit(b"[]\n")?,
            (Format::Json, _) => self.emit(b"\n]\n")?,
            _ => {}
        }
        self.out.flush().map_err(Error::Output)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_for_people() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1023), "1023 B");
        assert_eq!(human_bytes(1024), "1.0 KiB");
        assert_eq!(human_bytes(10_188), "9.9 KiB");
        assert_eq!(human_bytes(10_200), "10 KiB");
        assert_eq!(human_bytes(804_864), "786 KiB");
        assert_eq!(human_bytes(1_258_291), "1.2 MiB");
        assert_eq!(human_bytes(1_048_500), "1.0 MiB");
        assert_eq!(human_bytes(u64::MAX), "16 EiB");
    }

    fn render_text(record: &Record, format: Format, columns: &[&str]) -> String {
        let options = OutputOptions {
            format,
            columns: columns.iter().map(|c| c.to_string()).collect(),
            ..OutputOptions::default()
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
            ..OutputOptions::default()
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
        assert_eq!(
            streamed(Format::Yaml, &[], &[&[1], &[2]]),
            "- n: 1\n  twice: 2\n- n: 2\n  twice: 4\n"
        );
        assert_eq!(streamed(Format::Yaml, &[], &[]), "[]\n");
        let tables = streamed(Format::Table, &["n"], &[&[1], &[], &[22]]);
        assert_eq!(
            tables,
            "+---+\n| n |\n+---+\n| 1 |\n+---+\n+----+\n| n  |\n+----+\n| 22 |\n+----+\n"
        );
    }

    #[test]
    fn sort_columns_sort_like_cliff() {
        let record = Record::list(
            ["name", "size"],
            vec![
                vec![Json::str("b"), Json::Float(2.0)],
                vec![Json::str("a"), Json::Null],
                vec![Json::str("c"), Json::Float(1.0)],
                vec![Json::str("a"), Json::Float(5.0)],
            ],
        )
        .with_documents(vec![
            Json::object([("n", Json::Int(0))]),
            Json::object([("n", Json::Int(1))]),
            Json::object([("n", Json::Int(2))]),
            Json::object([("n", Json::Int(3))]),
        ]);
        let render_sorted = |format, columns: &[&str], descending| {
            let options = OutputOptions {
                format,
                sort_columns: columns.iter().map(|c| c.to_string()).collect(),
                sort_descending: descending,
                ..OutputOptions::default()
            };
            String::from_utf8(render(&record, &options).unwrap()).unwrap()
        };
        // Nulls last ascending; ties keep their order.
        assert_eq!(
            render_sorted(Format::Value, &["size"], false),
            "c 1.0\nb 2.0\na 5.0\na None\n"
        );
        assert_eq!(
            render_sorted(Format::Value, &["name", "size"], false),
            "a 5.0\na None\nb 2.0\nc 1.0\n"
        );
        assert_eq!(
            render_sorted(Format::Value, &["size"], true),
            "a None\na 5.0\nb 2.0\nc 1.0\n"
        );
        // Unknown columns are ignored; the documents follow the rows.
        assert_eq!(
            render_sorted(Format::Value, &["nope"], false),
            "b 2.0\na None\nc 1.0\na 5.0\n"
        );
        assert_eq!(
            render_sorted(Format::Json, &["name"], false).replace([' ', '\n'], ""),
            r#"[{"n":1},{"n":3},{"n":0},{"n":2}]"#
        );
        assert_eq!(
            render_sorted(Format::Yaml, &["size"], false),
            "- n: 2\n- n: 0\n- n: 3\n- n: 1\n"
        );
    }

    #[test]
    fn documents_are_what_json_prints() {
        let record = Record::show([("metrics", Json::str("cpu: x"))]).with_documents(vec![
            Json::object([("metrics", Json::object([("cpu", Json::str("x"))]))]),
        ]);
        assert_eq!(
            render_text(&record, Format::Table, &[]).lines().nth(3),
            Some("| metrics | cpu: x |")
        );
        assert_eq!(
            render_text(&record, Format::Json, &[]),
            "{\n  \"metrics\": {\n    \"cpu\": \"x\"\n  }\n}\n"
        );
        assert_eq!(
            render_text(&record, Format::Yaml, &["metrics"]),
            "metrics:\n  cpu: x\n"
        );
        assert!(
            render(
                &record,
                &OutputOptions {
                    format: Format::Json,
                    columns: vec!["x".into()],
                    ..OutputOptions::default()
                }
            )
            .is_err()
        );
    }

    #[test]
    fn unknown_columns_are_usage_errors() {
        let options = OutputOptions {
            format: Format::Table,
            columns: vec!["nope".into()],
            ..OutputOptions::default()
        };
        let err = render(&measures(), &options).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("`nope`"));
    }
}
