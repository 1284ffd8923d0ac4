//! statsd lines with gnocchi-statsd's semantics (docs/gnocchi-semantics.md#statsd): gauges
//! (`g`) and timers (`ms`) keep the last value of a flush interval, counters
//! (`c`) the sum of `value × (1 / rate)`; each pending measure carries the
//! time of its last sample. A flush hands out one measure per metric, named
//! `<name>|<type>`, gauges first, then counters, then timers, each in the
//! order they first arrived, and starts again from nothing.
//!
//! Errors read like gnocchi-statsd's log lines. Some only skip their line;
//! others make Gnocchi's datagram handler raise, which loses the rest of
//! the datagram (`LineError::ends_datagram`).

use std::io::BufRead;
use std::path::Path;

use indexmap::IndexMap;

use super::{MissingResource, NamedMetric, ParseError, ParseSummary, ReadError, Sink};
use crate::pyform::float::parse_python_float;
use crate::pyform::fmt::str_repr;
use crate::resource::{GENERIC, check_resource_id};
use crate::time::Timestamp;

/// The three kinds gnocchi-statsd knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gauge,
    Counter,
    Timer,
}

/// A line gnocchi-statsd would not take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    /// The part of the line at fault: `line`, `rate`, `name:value`,
    /// `value` or `type`.
    pub field: &'static str,
    /// Gnocchi's log message.
    pub message: String,
    /// Gnocchi's handler raises here: the rest of the datagram is lost.
    pub ends_datagram: bool,
}

impl LineError {
    fn skips(field: &'static str, message: String) -> Self {
        LineError {
            field,
            message,
            ends_datagram: false,
        }
    }

    fn ends(field: &'static str, message: String) -> Self {
        LineError {
            field,
            message,
            ends_datagram: true,
        }
    }
}

/// One flush interval's pending measures.
#[derive(Debug, Default)]
pub struct Accumulator {
    gauges: IndexMap<String, (Timestamp, f64)>,
    counters: IndexMap<String, (Timestamp, f64)>,
    timers: IndexMap<String, (Timestamp, f64)>,
}

/// Python's `float()`, with its error message.
fn python_float(text: &str) -> Result<f64, String> {
    parse_python_float(text)
        .ok_or_else(|| format!("could not convert string to float: {}", str_repr(text)))
}

/// Python's `"%d" % rate`.
fn percent_d(rate: f64) -> Result<String, String> {
    if rate.is_nan() {
        Err("cannot convert float NaN to integer".to_owned())
    } else if rate.is_infinite() {
        Err("cannot convert float infinity to integer".to_owned())
    } else {
        Ok(format!("{}", rate.trunc() as i128))
    }
}

impl Accumulator {
    /// Takes one line (without its `\n`) received at `now`.
    pub fn feed_line(&mut self, line: &str, now: Timestamp) -> Result<(), LineError> {
        let parts: Vec<&str> = line.split('|').collect();
        let (name_value, kind, rate) = match parts[..] {
            [name_value, kind] => (name_value, kind, None),
            [name_value, kind, rate] => (name_value, kind, Some(rate)),
            _ => {
                return Err(LineError::skips(
                    "line",
                    format!("Invalid number of | in `{line}'"),
                ));
            }
        };
        // Gnocchi drops the rate's first character, whatever it is.
        let rate = match rate {
            Some(text) => {
                let rest = text.char_indices().nth(1).map_or("", |(i, _)| &text[i..]);
                Some(python_float(rest).map_err(|e| LineError::ends("rate", e))?)
            }
            None => None,
        };
        let (name, value) = match name_value.split(':').collect::<Vec<_>>()[..] {
            [name, value] => (name, value),
            [_] => {
                return Err(LineError::ends(
                    "name:value",
                    "not enough values to unpack (expected 2, got 1)".to_owned(),
                ));
            }
            _ => {
                return Err(LineError::ends(
                    "name:value",
                    "too many values to unpack (expected 2)".to_owned(),
                ));
            }
        };
        let value = python_float(value).map_err(|e| LineError::ends("value", e))?;
        self.treat(name, kind, value, rate, now).map_err(|error| {
            LineError::skips("type", format!("Unable to treat metric {line}: {error}"))
        })
    }

    /// gnocchi-statsd's `treat_metric`.
    fn treat(
        &mut self,
        name: &str,
        kind: &str,
        value: f64,
        rate: Option<f64>,
        now: Timestamp,
    ) -> Result<(), String> {
        let kind = match kind {
            "g" => Kind::Gauge,
            "c" => Kind::Counter,
            "ms" => Kind::Timer,
            other => return Err(format!("Unknown metric type `{other}'")),
        };
        let key = format!("{name}|{}", kind_suffix(kind));
        match (kind, rate) {
            (Kind::Gauge | Kind::Timer, Some(rate)) => Err(format!(
                "Invalid sampling for {}: `{}`, should be none",
                kind_suffix(kind),
                percent_d(rate)?
            )),
            (Kind::Gauge, None) => {
                self.gauges.insert(key, (now, value));
                Ok(())
            }
            (Kind::Timer, None) => {
                self.timers.insert(key, (now, value));
                Ok(())
            }
            (Kind::Counter, rate) => {
                let rate = rate.unwrap_or(1.0);
                if rate == 0.0 {
                    return Err("float division by zero".to_owned());
                }
                let current = self.counters.get(&key).map_or(0.0, |&(_, v)| v);
                self.counters
                    .insert(key, (now, current + value * (1.0 / rate)));
                Ok(())
            }
        }
    }

    /// Takes a datagram as gnocchi-statsd's handler does and returns what it
    /// would log: a datagram that is not UTF-8 is dropped whole; an error
    /// that Gnocchi raises loses the lines after it.
    pub fn feed_datagram(&mut self, data: &[u8], now: Timestamp) -> Vec<String> {
        let text = match std::str::from_utf8(data) {
            Ok(text) => text,
            Err(error) => {
                return vec![format!(
                    "Unable to decode datagram: {}",
                    utf8_error_message(data, &error)
                )];
            }
        };
        let mut logged = Vec::new();
        for line in text.split('\n').filter(|l| !l.is_empty()) {
            if let Err(error) = self.feed_line(line, now) {
                logged.push(error.message);
                if error.ends_datagram {
                    break;
                }
            }
        }
        logged
    }

    /// The pending measures, `(metric name, time of the last sample,
    /// value)`, and a fresh interval.
    pub fn flush(&mut self) -> Vec<(String, Timestamp, f64)> {
        let gauges = std::mem::take(&mut self.gauges);
        let counters = std::mem::take(&mut self.counters);
        let timers = std::mem::take(&mut self.timers);
        gauges
            .into_iter()
            .chain(counters)
            .chain(timers)
            .map(|(name, (timestamp, value))| (name, timestamp, value))
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.gauges.is_empty() && self.counters.is_empty() && self.timers.is_empty()
    }
}

/// How a statsd file is stored, as gnocchi-statsd's configuration says.
#[derive(Debug, Clone)]
pub struct StatsdOptions {
    /// The resource of every metric (`generic`, created if missing).
    pub resource_id: String,
    /// When the file's lines were received: the time of every measure.
    pub at: Timestamp,
}

/// Reads a file of statsd lines as one flush interval, then hands the
/// flushed measures to `sink`, on metrics `<name>|<type>` of the resource.
/// Every line Gnocchi would log as an error is a bad line here.
pub fn read(
    input: impl BufRead,
    path: &Path,
    options: &StatsdOptions,
    sink: &mut impl Sink,
) -> Result<ParseSummary, ReadError> {
    let mut stats = Accumulator::default();
    let mut summary = ParseSummary::default();
    let error = ParseError::locator(path);
    // A resource id Gnocchi refuses would otherwise be blamed on every
    // metric of the flush, at the last line: refuse the input up front.
    check_resource_id(&options.resource_id).map_err(|e| error(0, "resource-id", e.to_string()))?;
    for bytes in input.split(b'\n') {
        let bytes = bytes.map_err(|e| error(summary.lines + 1, "line", e.to_string()))?;
        summary.lines += 1;
        if bytes.is_empty() {
            continue;
        }
        let outcome = match std::str::from_utf8(&bytes) {
            Ok(line) => stats
                .feed_line(line, options.at)
                .map_err(|e| error(summary.lines, e.field, e.message)),
            Err(e) => Err(error(summary.lines, "line", utf8_error_message(&bytes, &e))),
        };
        if let Err(bad) = outcome {
            summary.refuse(sink, bad)?;
        }
    }
    sink.lines_read(summary.lines);
    for (name, timestamp, value) in stats.flush() {
        let target = NamedMetric {
            resource: &options.resource_id,
            missing_resource: MissingResource::Create(GENERIC),
            name: &name,
            archive_policy_name: None,
            unit: None,
        };
        if let Err(stored) = sink.named_measure(&target, timestamp, value) {
            let reason = stored.rejected()?;
            summary.refuse(
                sink,
                error(
                    summary.lines,
                    "metric",
                    format!("Unable to add measure {name}: {reason}"),
                ),
            )?;
        }
    }
    Ok(summary)
}

fn kind_suffix(kind: Kind) -> &'static str {
    match kind {
        Kind::Gauge => "g",
        Kind::Counter => "c",
        Kind::Timer => "ms",
    }
}

/// Python's `UnicodeDecodeError` text for the first bad byte.
fn utf8_error_message(data: &[u8], error: &std::str::Utf8Error) -> String {
    let position = error.valid_up_to();
    let byte = data[position];
    let reason = match error.error_len() {
        None => "unexpected end of data",
        Some(_) if matches!(byte, 0x80..=0xc1 | 0xf5..=0xff) => "invalid start byte",
        Some(_) => "invalid continuation byte",
    };
    format!("'utf-8' codec can't decode byte {byte:#04x} in position {position}: {reason}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const NOW: Timestamp = Timestamp::from_nanos(1_420_639_116_123_456_000);

    #[test]
    fn counters_sum_over_the_rate_gauges_and_timers_keep_the_last() {
        let mut stats = Accumulator::default();
        let logged = stats.feed_datagram(
            b"api.hits:1|c\napi.hits:2|c|@0.5\nqueue.len:42|g\nqueue.len:40|g\nrender:320|ms",
            NOW,
        );
        assert!(logged.is_empty(), "{logged:?}");
        assert_eq!(
            stats.flush(),
            [
                ("queue.len|g".to_owned(), NOW, 40.0),
                ("api.hits|c".to_owned(), NOW, 5.0),
                ("render|ms".to_owned(), NOW, 320.0)
            ]
        );
        assert!(stats.is_empty());
        assert!(stats.flush().is_empty());
    }

    #[test]
    fn errors_say_what_gnocchi_logs_and_whether_the_datagram_goes_on() {
        let mut stats = Accumulator::default();
        let error = stats.feed_line("a:1|g|@0.5", NOW).unwrap_err();
        assert_eq!(
            error,
            LineError::skips(
                "type",
                "Unable to treat metric a:1|g|@0.5: Invalid sampling for g: `0`, should be none"
                    .into()
            )
        );
        let error = stats.feed_line("a:x|c", NOW).unwrap_err();
        assert_eq!(
            (error.field, error.ends_datagram, error.message.as_str()),
            ("value", true, "could not convert string to float: 'x'")
        );
        assert_eq!(
            stats.feed_datagram(b"ok:1|g\n\xff:1|g", NOW).as_slice(),
            [
                "Unable to decode datagram: 'utf-8' codec can't decode byte 0xff in position 7: invalid start byte"
            ]
        );
        assert!(stats.is_empty(), "a bad datagram is dropped whole");
    }

    proptest! {
        #[test]
        fn arbitrary_datagrams_never_panic(data in prop::collection::vec(any::<u8>(), 0..200)) {
            let mut stats = Accumulator::default();
            stats.feed_datagram(&data, NOW);
            stats.flush();
        }

        #[test]
        fn arbitrary_text_lines_never_panic(line in "[a-z:|@#.0-9\\-+ ]{0,40}") {
            let mut stats = Accumulator::default();
            let _ = stats.feed_line(&line, NOW);
        }
    }
}
