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
//!
//! This file says what a row means; it neither reads bytes nor starts
//! threads: `pipeline.rs` cuts the input into blocks and parses them on
//! threads of their own, in the input's order, and `split.rs` cuts a block
//! into records and gathers their measures in chunks.

mod pipeline;
mod split;

use std::io::Read;
use std::path::Path;

use super::{MissingResource, ParseError, ParseSummary, ReadError, Sink};
use crate::pyform;
use crate::resource::GENERIC;
use crate::time::{self, NANOS_PER_SECOND, Timestamp};
use pipeline::{Chunk, Item};

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

impl MetricSource {
    /// The field blamed when `metric` refuses a measure: wide files have a
    /// column per metric; long ones name the metric in one column, or not
    /// at all.
    fn field_of(&self, metric: &str) -> String {
        match self {
            MetricSource::Wide => metric.to_owned(),
            MetricSource::Column(column) => column.to_string(),
            MetricSource::Fixed(_) => "metric".to_owned(),
        }
    }
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

    /// What to do when the resource column names a resource that does not
    /// exist.
    fn missing_resource(&self) -> MissingResource<'static> {
        match self.create_resources {
            true => MissingResource::CreateOrUse(GENERIC),
            false => MissingResource::Refuse,
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

const TIMESTAMP_FLAG: &str = "--timestamp-column";

/// Why the header has no column `name`: the columns it has, and what to
/// try. A header that is one field holding another delimiter was most
/// likely split with the wrong one.
fn missing_column<R: Record + ?Sized>(name: &str, flag: &str, header: &R, delimiter: u8) -> String {
    let columns: Vec<&str> = header.fields().map(str::trim).collect();
    let listed = columns
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let saw = match columns.len() {
        1 => format!("its one column is {listed}"),
        n => format!("its {n} columns are {listed}"),
    };
    let other_delimiter = [b';', b'\t', b'|', b',']
        .into_iter()
        .filter(|&d| d != delimiter)
        .find(|&d| columns.len() == 1 && columns[0].contains(char::from(d)));
    let hint = match other_delimiter {
        Some(b'\t') => "it looks separated by tabs: try `--delimiter $'\\t'`".to_owned(),
        Some(d) => format!(
            "it looks separated by `{0}`: try `--delimiter '{0}'`",
            char::from(d)
        ),
        None => format!("name the column with `{flag} COLUMN` (a name or a 1-based index)"),
    };
    format!("no column named `{name}` in the header; {saw}; {hint}")
}

/// Reads the layout from the first row. Returns it and whether that row
/// was a header; an error is (field, reason).
fn detect_layout<R: Record + ?Sized>(
    first: &R,
    options: &CsvOptions,
) -> Result<(Layout, bool), (String, String)> {
    let position_of =
        |column: &Column, flag: &str, default: usize, header: Option<&R>| match (column, header) {
            (Column::Position(position), _) => Ok(position - 1),
            (Column::Name(name), Some(header)) => header
                .fields()
                .position(|h| h.trim() == name)
                .ok_or_else(|| {
                    (
                        column.to_string(),
                        missing_column(name, flag, header, options.delimiter),
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
        let timestamp = position_of(&options.timestamp_column, TIMESTAMP_FLAG, 0, Some(first))?;
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
            .is_none_or(|v| pyform::float::parse_python_float(v).is_none())
    });
    let header = is_header.then_some(first);
    let metric = match &options.metric {
        MetricSource::Column(column) => Some(position_of(
            column,
            "--metric-column",
            metric_default.unwrap_or(0),
            header,
        )?),
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
        (Some(column), header) => Some(position_of(column, "--resource-column", 0, header)?),
    };
    let layout = Layout::Long {
        metric,
        resource,
        timestamp: position_of(
            &options.timestamp_column,
            TIMESTAMP_FLAG,
            timestamp_default,
            header,
        )?,
        value: position_of(
            &options.value_column,
            "--value-column",
            value_default,
            header,
        )?,
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
    fn new(options: &CsvOptions) -> Self {
        TimestampReader {
            unit: options.time_unit,
            guessed: false,
            now: options.now,
        }
    }

    /// The unit epoch numbers were read in, when it was guessed and is not
    /// seconds (so it should be stated).
    fn guessed_unit(&self) -> Option<TimeUnit> {
        self.unit
            .filter(|&unit| self.guessed && unit != TimeUnit::Seconds)
    }

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
        let Some(number) = pyform::float::parse_python_float(text) else {
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

/// Reads a whole CSV input into `sink`: parsed on threads of their own
/// while this one stores, in the input's order.
pub fn read(
    input: impl Read + Send,
    path: &Path,
    options: &CsvOptions,
    sink: &mut impl Sink,
) -> Result<CsvSummary, ReadError> {
    pipeline::read_in_blocks(input, path, options, sink, pipeline::BLOCK)
}

/// [`read`] cutting the input into blocks of about `block` bytes rather
/// than 1 MiB: the fuzzer's, whose inputs are small (allocating a whole
/// block each would be most of its time) and cross block ends more often.
pub(crate) fn read_in_blocks_of(
    block: usize,
    input: impl Read + Send,
    path: &Path,
    options: &CsvOptions,
    sink: &mut impl Sink,
) -> Result<CsvSummary, ReadError> {
    pipeline::read_in_blocks(input, path, options, sink, block)
}

/// The fields of one record.
trait Record {
    fn field(&self, index: usize) -> Option<&str>;
    fn field_count(&self) -> usize;
    fn fields(&self) -> impl Iterator<Item = &str> {
        (0..self.field_count()).filter_map(|i| self.field(i))
    }

    fn is_blank(&self) -> bool {
        self.fields()
            .all(|f| pyform::float::trim_ascii_fast(f).is_empty())
    }
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
            .map(pyform::float::trim_ascii_fast)
            .ok_or_else(|| {
                error(
                    &column.to_string(),
                    match record.field_count() {
                        1 => "missing: the row has 1 field".to_owned(),
                        n => format!("missing: the row has {n} fields"),
                    },
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
            let value = pyform::float::parse_python_float(value_text).ok_or_else(|| {
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
                (Some(index), Some(column)) => {
                    let id = field(*index, column)?;
                    // An id Gnocchi refuses is this column's fault, not the metric's.
                    crate::resource::check_resource_id(id)
                        .map_err(|e| error(&column.to_string(), e.to_string()))?;
                    Some(id)
                }
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
                let text = record
                    .field(*index)
                    .map_or("", pyform::float::trim_ascii_fast);
                if text.is_empty() {
                    continue;
                }
                let value = pyform::float::parse_python_float(text)
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

    pub(super) fn parse(text: &str, metric: MetricSource) -> Result<MeasureBatch, ParseError> {
        parse_with(text, &CsvOptions::new(metric, Timestamp::EPOCH)).map(|(batch, _)| batch)
    }

    pub(super) fn fixed() -> MetricSource {
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
        assert_eq!(err.reason, "missing: the row has 1 field");
        let err = parse("time,value\n1,2\n", fixed()).unwrap_err();
        assert_eq!(
            err.reason,
            "no column named `timestamp` in the header; its 2 columns are `time`, `value`; \
             name the column with `--timestamp-column COLUMN` (a name or a 1-based index)"
        );
        let err = parse("time;value\n1;2\n", fixed()).unwrap_err();
        assert!(err.reason.ends_with("try `--delimiter ';'`"), "{err}");
    }

    /// Keeps the good rows and counts the bad ones, as `--skip-invalid`.
    #[derive(Default)]
    pub(super) struct Lenient {
        pub(super) batch: MeasureBatch,
        pub(super) bad_lines: Vec<u64>,
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

    proptest! {
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
