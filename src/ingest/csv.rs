//! CSV measures: `timestamp,value` rows for one metric, or
//! `metric,timestamp,value` rows naming the metric in a column. A header
//! row is optional; columns are named by header or by 1-based index.
//! Timestamps are parsed row by row like Gnocchi's measures endpoint
//! (epoch seconds or ISO 8601); values like Python's `float()`.

use std::io::Read;
use std::path::Path;

use super::{MeasureBatch, ParseError};
use crate::time::{self, Timestamp};

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

/// Where the metric of each row comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MetricSource {
    /// Every row belongs to this metric (id or name).
    Fixed(String),
    /// Each row names its metric in this column.
    Column(Column),
}

#[derive(Debug, Clone)]
pub struct CsvOptions {
    pub metric: MetricSource,
    pub timestamp_column: Column,
    pub value_column: Column,
    pub delimiter: u8,
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
            now,
        }
    }

    /// Positions used when the file has no header: metric column (if any)
    /// first, then timestamp, then value.
    fn default_positions(&self) -> (Option<usize>, usize, usize) {
        match self.metric {
            MetricSource::Fixed(_) => (None, 0, 1),
            MetricSource::Column(_) => (Some(0), 1, 2),
        }
    }
}

/// Resolved 0-based column indexes.
struct Layout {
    metric: Option<usize>,
    timestamp: usize,
    value: usize,
}

fn header_name(column: &Column) -> String {
    match column {
        Column::Name(name) => name.clone(),
        Column::Position(position) => format!("column {position}"),
    }
}

fn resolve(
    column: &Column,
    header: Option<&csv::StringRecord>,
    default: usize,
) -> Result<usize, String> {
    match (column, header) {
        (Column::Position(position), _) => Ok(position - 1),
        (Column::Name(name), Some(header)) => header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| format!("no column named `{name}` in the header")),
        (Column::Name(_), None) => Ok(default),
    }
}

fn looks_like_header(record: &csv::StringRecord, value_position: usize) -> bool {
    record
        .get(value_position)
        .is_none_or(|v| time::parse_python_float(v).is_none())
}

/// Reads the column layout from the first row, which is a header when its
/// value field is not a number. Returns the layout and whether the row was
/// a header; an error is (field, reason).
fn detect_layout(
    record: &csv::StringRecord,
    options: &CsvOptions,
) -> Result<(Layout, bool), (String, String)> {
    let (metric_default, timestamp_default, value_default) = options.default_positions();
    let value_guess = match &options.value_column {
        Column::Position(p) => p - 1,
        Column::Name(_) => value_default,
    };
    let header = looks_like_header(record, value_guess).then_some(record);
    let locate = |column: &Column, default: usize| {
        resolve(column, header, default).map_err(|reason| (header_name(column), reason))
    };
    let metric = match &options.metric {
        MetricSource::Fixed(_) => None,
        MetricSource::Column(column) => Some(locate(column, metric_default.unwrap_or(0))?),
    };
    let layout = Layout {
        metric,
        timestamp: locate(&options.timestamp_column, timestamp_default)?,
        value: locate(&options.value_column, value_default)?,
    };
    Ok((layout, header.is_some()))
}

/// Parses a whole CSV input; the first bad row fails it all.
pub fn read(
    input: impl Read,
    path: &Path,
    options: &CsvOptions,
) -> Result<MeasureBatch, ParseError> {
    let error = |line: u64, field: &str, reason: String| ParseError {
        path: path.to_owned(),
        line,
        field: field.to_owned(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(options.delimiter)
        .from_reader(input);
    let mut batch = MeasureBatch::default();
    let mut layout: Option<Layout> = None;
    let mut record = csv::StringRecord::new();
    loop {
        let more = reader.read_record(&mut record).map_err(|e| {
            let line = e.position().map_or(batch.lines + 1, |p| p.line());
            error(line, "record", e.to_string())
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(batch.lines + 1, |p| p.line());
        batch.lines += 1;
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if layout.is_none() {
            let (detected, is_header) = detect_layout(&record, options)
                .map_err(|(field, reason)| error(line, &field, reason))?;
            layout = Some(detected);
            if is_header {
                continue;
            }
        }
        let layout = layout.as_ref().expect("detected on the first row");
        let field = |index: usize, column: &Column| {
            record.get(index).map(str::trim).ok_or_else(|| {
                error(
                    line,
                    &header_name(column),
                    format!("missing: the row has {} fields", record.len()),
                )
            })
        };
        let timestamp_text = field(layout.timestamp, &options.timestamp_column)?;
        let timestamp = time::parse_timestamp(timestamp_text, options.now).map_err(|e| {
            error(
                line,
                &header_name(&options.timestamp_column),
                format!("`{timestamp_text}`: {e}"),
            )
        })?;
        let value_text = field(layout.value, &options.value_column)?;
        let value = time::parse_python_float(value_text).ok_or_else(|| {
            error(
                line,
                &header_name(&options.value_column),
                format!("`{value_text}` is not a number"),
            )
        })?;
        let metric = match (&options.metric, layout.metric) {
            (MetricSource::Fixed(metric), _) => metric.as_str(),
            (MetricSource::Column(column), Some(index)) => {
                let name = field(index, column)?;
                if name.is_empty() {
                    return Err(error(
                        line,
                        &header_name(column),
                        "empty metric name".to_owned(),
                    ));
                }
                name
            }
            (MetricSource::Column(_), None) => {
                unreachable!("a metric column always has a position")
            }
        };
        batch.add(metric, timestamp, value);
    }
    Ok(batch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const S: i64 = 1_000_000_000;

    fn parse(text: &str, metric: MetricSource) -> Result<MeasureBatch, ParseError> {
        read(
            text.as_bytes(),
            Path::new("in.csv"),
            &CsvOptions::new(metric, Timestamp::EPOCH),
        )
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
        let batch = parse(text, MetricSource::Column(Column::Name("metric".into()))).unwrap();
        assert_eq!(batch.measures["a"].len(), 2);
        assert_eq!(batch.measures["b"][0].1, 2.0);
        assert_eq!(batch.lines, 4);
    }

    #[test]
    fn columns_by_name_in_any_order() {
        let text = "value;when\n4.5;2024-01-01T00:00:00+01:00\n";
        let mut options = CsvOptions::new(fixed(), Timestamp::EPOCH);
        options.timestamp_column = Column::Name("when".into());
        options.delimiter = b';';
        let batch = read(text.as_bytes(), Path::new("x"), &options).unwrap();
        assert_eq!(
            batch.measures["cpu"],
            [(Timestamp::from_nanos(1_704_063_600 * S), 4.5)]
        );
    }

    #[test]
    fn errors_name_line_and_field() {
        let err = parse(
            "timestamp,value\n2014-01-01T12:00:00,1\n2014-01-01T12:00:01,abc\n",
            fixed(),
        )
        .unwrap_err();
        assert_eq!(err.line, 3);
        assert_eq!(err.field, "value");
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
        let err = parse("time,value\n1,2\n", fixed()).unwrap_err();
        assert_eq!(err.reason, "no column named `timestamp` in the header");
    }

    #[test]
    fn blank_lines_are_skipped() {
        let batch = parse("1388577600,1\n\n1388577601,2\n", fixed()).unwrap();
        assert_eq!(batch.measure_count(), 2);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let result = read(&bytes[..], Path::new("x"), &CsvOptions::new(fixed(), Timestamp::EPOCH));
            if let Ok(batch) = result {
                prop_assert!(batch.lines >= batch.measure_count() as u64);
            }
        }
    }
}
