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
pub(super) fn text(value: &Json) -> String {
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

pub(super) fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Vec<u8> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let write_all = || -> csv::Result<()> {
        writer.write_record(header)?;
        for row in rows {
            writer.write_record(&row)?;
        }
        writer.flush()?;
        Ok(())
    };
    write_all().expect("writing CSV to memory cannot fail");
    writer.into_inner().expect("flushed above")
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
