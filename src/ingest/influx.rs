//! InfluxDB line protocol as Gnocchi's InfluxDB endpoint reads and maps it
//! (docs/gnocchi-semantics.md#influxdb-line-protocol).
//!
//! The parser follows Gnocchi's pyparsing grammar rule for rule, quirks
//! included: parsing stops without error at the first field it cannot read
//! and then loses the rest of the line, timestamp included (`v=1,b=true
//! 1000` is `v` at the current time); text after the timestamp is ignored;
//! booleans and `.5` are not numbers. A line maps to a resource (the value
//! of the resource tag) and one measure per numeric field, on the metric
//! `<measurement>.<field>[@<tag>=<value>,…]` (other tags sorted, `/` → `_`).

use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::Path;

use indexmap::IndexMap;

use super::{
    Declaration, MeasuresByName, MissingResource, NamedMetric, ParseError, ParseSummary, ReadError,
    Sink,
};
use crate::resource::{ResourceType, check_resource_id};
use crate::time::Timestamp;

/// A field's value, as the grammar reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    /// `12i`: an integer of any size, kept as its digits.
    Integer(String),
    Float(f64),
    /// A quoted string; Gnocchi skips these fields.
    Text(String),
}

impl FieldValue {
    /// The measure value, when the field has one.
    pub fn number(&self) -> Option<f64> {
        match self {
            FieldValue::Integer(digits) => digits.parse().ok(),
            FieldValue::Float(value) => Some(*value),
            FieldValue::Text(_) => None,
        }
    }
}

/// One parsed line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub measurement: String,
    /// Later duplicates replace earlier ones, in first-seen order.
    pub tags: Vec<(String, String)>,
    pub fields: Vec<(String, FieldValue)>,
    /// Nanoseconds since the epoch.
    pub timestamp: Option<i64>,
}

/// Why a line does not parse (Gnocchi answers "Unable to parse line N").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    /// Byte offset where the grammar gave up.
    pub at: usize,
    pub expected: &'static str,
}

type Parsed<'a, T> = Option<(T, &'a str)>;

/// `CharsNotIn(" ,=\\")`: one or more characters other than those.
fn plain_chars(input: &str) -> Parsed<'_, &str> {
    let end = input.find([' ', ',', '=', '\\']).unwrap_or(input.len());
    (end > 0).then(|| (&input[..end], &input[end..]))
}

/// The unquoted strings of names and tag values: runs of plain characters,
/// each followed by any escapes (`\ `, `\,`, `\=` give the second
/// character, a lone `\` itself).
fn unquoted(mut input: &str) -> Parsed<'_, String> {
    let mut out = String::new();
    while let Some((chars, rest)) = plain_chars(input) {
        out.push_str(chars);
        input = rest;
        while let Some(after) = input.strip_prefix('\\') {
            match after.chars().next() {
                Some(c @ (' ' | ',' | '=')) => {
                    out.push(c);
                    input = &after[1..];
                }
                _ => {
                    out.push('\\');
                    input = after;
                }
            }
        }
    }
    (!out.is_empty()).then_some((out, input))
}

/// `QuotedString('"', escChar='\\')`: no raw `\r`, `\n` or `"` inside;
/// `\t`, `\n`, `\f`, `\r` become those characters and `\X` becomes `X`.
fn quoted(input: &str) -> Parsed<'_, String> {
    let mut chars = input.strip_prefix('"')?.char_indices();
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, &input[i + 2..])),
            '\r' | '\n' => return None,
            '\\' => match chars.next()? {
                (_, '\n') => return None,
                (_, 't') => out.push('\t'),
                (_, 'n') => out.push('\n'),
                (_, 'f') => out.push('\u{c}'),
                (_, 'r') => out.push('\r'),
                (_, other) => out.push(other),
            },
            other => out.push(other),
        }
    }
    None
}

/// Measurement, tag keys and values, field keys.
fn name(input: &str) -> Parsed<'_, String> {
    quoted(input).or_else(|| unquoted(input))
}

fn digits(input: &str) -> Parsed<'_, &str> {
    let end = input
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(input.len());
    (end > 0).then(|| (&input[..end], &input[end..]))
}

/// `[+-]?\d+(:?\.\d*)?(:?[eE][+-]?\d+)?` then Python's `float()`: the
/// regex's stray `:?` lets `1:.5` match, which `float()` then refuses.
fn number(input: &str) -> Result<Parsed<'_, f64>, SyntaxError> {
    let unsigned = input.strip_prefix(['+', '-']).unwrap_or(input);
    let Some((_, mut rest)) = digits(unsigned) else {
        return Ok(None);
    };
    let mut colon = false;
    // `(:?\.\d*)?`
    let (has_colon, after) = strip_colon(rest);
    if let Some(after) = after.strip_prefix('.') {
        colon |= has_colon;
        rest = after.trim_start_matches(|c: char| c.is_ascii_digit());
    }
    // `(:?[eE][+-]?\d+)?`
    let (has_colon, after) = strip_colon(rest);
    if let Some(after) = after.strip_prefix(['e', 'E']) {
        let after = after.strip_prefix(['+', '-']).unwrap_or(after);
        if let Some((_, after)) = digits(after) {
            colon |= has_colon;
            rest = after;
        }
    }
    let text = &input[..input.len() - rest.len()];
    let value = match colon {
        true => None,
        false => text.parse::<f64>().ok(),
    };
    match value {
        Some(value) => Ok(Some((value, rest))),
        None => Err(SyntaxError {
            at: 0,
            expected: "a number Python can read",
        }),
    }
}

fn strip_colon(text: &str) -> (bool, &str) {
    match text.strip_prefix(':') {
        Some(after) => (true, after),
        None => (false, text),
    }
}

/// `integer | number | quoted_string`.
fn field_value(input: &str) -> Result<Parsed<'_, FieldValue>, SyntaxError> {
    if let Some((whole, rest)) = digits(input)
        && let Some(rest) = rest.strip_prefix('i')
    {
        return Ok(Some((FieldValue::Integer(whole.to_owned()), rest)));
    }
    if let Some((value, rest)) = number(input)? {
        return Ok(Some((FieldValue::Float(value), rest)));
    }
    Ok(quoted(input).map(|(text, rest)| (FieldValue::Text(text), rest)))
}

/// `delimitedList(OneOrMore(Group(key "=" value)), ",")`: pairs, with or
/// without commas between them; a pair that does not parse ends the list
/// where the last good one ended.
fn pairs<'a, V>(
    input: &'a str,
    value: impl Fn(&'a str) -> Result<Parsed<'a, V>, SyntaxError>,
) -> Result<Parsed<'a, Vec<(String, V)>>, SyntaxError> {
    let pair = |text: &'a str| -> Result<Parsed<'a, (String, V)>, SyntaxError> {
        let Some((key, rest)) = name(text) else {
            return Ok(None);
        };
        let Some(rest) = rest.strip_prefix('=') else {
            return Ok(None);
        };
        Ok(value(rest)?.map(|(v, rest)| ((key, v), rest)))
    };
    let mut found = Vec::new();
    let mut input = input;
    loop {
        // One item of the list: one or more pairs.
        let mut item_input = match found.is_empty() {
            true => input,
            false => match input.strip_prefix(',') {
                Some(rest) => rest,
                None => break,
            },
        };
        let mut item = Vec::new();
        while let Some((pair, rest)) = pair(item_input)? {
            item.push(pair);
            item_input = rest;
        }
        if item.is_empty() {
            break;
        }
        found.extend(item);
        input = item_input;
    }
    Ok((!found.is_empty()).then_some((found, input)))
}

/// Later duplicates replace earlier ones, keeping the first position, as a
/// Python dict does.
fn deduplicated<V>(pairs: Vec<(String, V)>) -> Vec<(String, V)> {
    let mut out: Vec<(String, V)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => out.push((key, value)),
        }
    }
    out
}

/// Parses one line (without its `\n`) as Gnocchi does.
pub fn parse_line(line: &str) -> Result<Line, SyntaxError> {
    let at = |rest: &str, expected| SyntaxError {
        at: line.len() - rest.len(),
        expected,
    };
    let (measurement, rest) = name(line).ok_or_else(|| at(line, "a measurement name"))?;
    let (tags, rest) = match rest.strip_prefix(',') {
        Some(after) => match pairs(after, |text| Ok(name(text)))? {
            Some((tags, after_tags)) => (tags, after_tags),
            None => (Vec::new(), rest),
        },
        None => (Vec::new(), rest),
    };
    let rest = rest
        .strip_prefix(' ')
        .ok_or_else(|| at(rest, "a space before the fields"))?;
    let (fields, rest) = pairs(rest, field_value)
        .map_err(|e| SyntaxError {
            at: line.len() - rest.len() + e.at,
            ..e
        })?
        .ok_or_else(|| at(rest, "fields: key=value"))?;
    let timestamp = match rest.strip_prefix(' ').and_then(digits) {
        Some((text, _)) => Some(
            text.parse::<i64>()
                .map_err(|_| at(rest, "a timestamp that fits in 64 bits"))?,
        ),
        None => None,
    };
    Ok(Line {
        measurement,
        tags: deduplicated(tags),
        fields: deduplicated(fields),
        timestamp,
    })
}

/// A line's measures, as Gnocchi's InfluxDB endpoint stores them.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The resource tag's value: the resource's original id.
    pub resource: String,
    /// (metric name, timestamp, value), one per numeric field.
    pub measures: Vec<(String, Timestamp, f64)>,
}

/// Maps a parsed line; `now` stands for a missing timestamp. An error is
/// Gnocchi's message for a line without the resource tag.
pub fn map_line(line: Line, resource_tag: &str, now: Timestamp) -> Result<Mapped, String> {
    let mut tags: BTreeMap<String, String> = line.tags.into_iter().collect();
    let resource = tags
        .remove(resource_tag)
        .ok_or_else(|| format!("Unable to find key `{resource_tag}' in tags"))?;
    let suffix = match tags.is_empty() {
        true => String::new(),
        false => {
            let pairs: Vec<String> = tags.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("@{}", pairs.join(","))
        }
    };
    let timestamp = line.timestamp.map_or(now, Timestamp::from_nanos);
    let measures = line
        .fields
        .iter()
        .filter_map(|(field, value)| {
            let metric = format!("{}.{field}{suffix}", line.measurement).replace('/', "_");
            value.number().map(|v| (metric, timestamp, v))
        })
        .collect();
    Ok(Mapped { resource, measures })
}

/// How InfluxDB lines are stored, as Gnocchi's write endpoint maps them.
#[derive(Debug, Clone)]
pub struct InfluxOptions {
    /// The database: the resource type of every resource (created if
    /// missing, without attributes, as `CREATE DATABASE` does).
    pub db: String,
    /// The tag whose value names the resource (Gnocchi's
    /// `X-Gnocchi-InfluxDB-Tag-Resource-ID`, default `host`).
    pub resource_tag: String,
    /// The time of lines without a timestamp (Gnocchi's request time).
    pub now: Timestamp,
}

/// Why a line cannot be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
enum LineProblem {
    /// It does not parse (not UTF-8, or the grammar gave up): what was
    /// expected where.
    Syntax(String),
    /// It lacks the resource tag: Gnocchi's message.
    NoResource(String),
}

/// Parses and maps one line (without its `\n`).
fn line_measures(bytes: &[u8], resource_tag: &str, now: Timestamp) -> Result<Mapped, LineProblem> {
    let text =
        std::str::from_utf8(bytes).map_err(|e| LineProblem::Syntax(format!("UTF-8 ({e})")))?;
    let line = parse_line(text)
        .map_err(|e| LineProblem::Syntax(format!("{} at column {}", e.expected, e.at + 1)))?;
    map_line(line, resource_tag, now).map_err(LineProblem::NoResource)
}

/// The measures of one resource in a write request, by metric name, in
/// the order they first came.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceMeasures {
    /// The resource tag's value: the resource's original id.
    pub resource: String,
    pub metrics: MeasuresByName,
}

/// Why Gnocchi's write endpoint refuses a request: `{"cause": "Value
/// error", "detail": detail, "reason": reason}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestError {
    /// `line` (a line that does not parse) or `key` (no resource tag).
    pub detail: &'static str,
    pub reason: String,
}

/// Reads a `POST /v1/influxdb/write` body as Gnocchi does: every line is
/// parsed before anything is stored, and the first bad one refuses the
/// whole request. Lines without a timestamp take `now`.
pub fn read_request(
    body: &[u8],
    resource_tag: &str,
    now: Timestamp,
) -> Result<Vec<ResourceMeasures>, RequestError> {
    let mut resources: IndexMap<String, MeasuresByName> = IndexMap::new();
    for (index, bytes) in body.split(|&b| b == b'\n').enumerate() {
        if bytes.is_empty() {
            continue;
        }
        let mapped = line_measures(bytes, resource_tag, now).map_err(|problem| match problem {
            LineProblem::Syntax(_) => RequestError {
                detail: "line",
                reason: format!("Unable to parse line {}", index + 1),
            },
            LineProblem::NoResource(reason) => RequestError {
                detail: "key",
                reason,
            },
        })?;
        let metrics = resources.entry(mapped.resource).or_default();
        for (metric, timestamp, value) in mapped.measures {
            metrics.entry(metric).or_default().push((timestamp, value));
        }
    }
    Ok(resources
        .into_iter()
        .map(|(resource, metrics)| ResourceMeasures { resource, metrics })
        .collect())
}

/// Reads InfluxDB lines into `sink`: each line's numeric fields become
/// measures of metrics of the resource its tag names, both created when
/// missing (metrics with the archive-policy rules).
pub fn read(
    input: impl BufRead,
    path: &Path,
    options: &InfluxOptions,
    sink: &mut impl Sink,
) -> Result<ParseSummary, ReadError> {
    let error = ParseError::locator(path);
    let resource_type =
        ResourceType::new(&options.db, Vec::new()).map_err(|e| error(0, "db", e.to_string()))?;
    sink.declare(Declaration::ResourceType(&resource_type))
        .map_err(|e| e.at(|reason| error(0, "db", reason)))?;
    let mut summary = ParseSummary::default();
    for bytes in input.split(b'\n') {
        let bytes = bytes.map_err(|e| error(summary.lines + 1, "line", e.to_string()))?;
        summary.lines += 1;
        let number = summary.lines;
        if bytes.is_empty() {
            continue;
        }
        let mapped = line_measures(&bytes, &options.resource_tag, options.now).map_err(|problem| {
            match problem {
                LineProblem::Syntax(detail) => error(
                    number,
                    "line",
                    format!("Unable to parse line {number}: expected {detail}"),
                ),
                LineProblem::NoResource(reason) => error(number, "tags", reason),
            }
        });
        let outcome = mapped.map_err(ReadError::from).and_then(|mapped| {
            // An id Gnocchi refuses (a `/`, too long) is the resource tag's
            // fault, not the metric's.
            check_resource_id(&mapped.resource)
                .map_err(|e| error(number, &options.resource_tag, e.to_string()))?;
            for (metric, timestamp, value) in &mapped.measures {
                let target = NamedMetric {
                    resource: &mapped.resource,
                    missing_resource: MissingResource::Create(&options.db),
                    name: metric,
                    archive_policy_name: None,
                    unit: None,
                };
                sink.named_measure(&target, *timestamp, *value)
                    .map_err(|e| e.at(|reason| error(number, metric, reason)))?;
            }
            Ok(())
        });
        if let Err(bad) = outcome {
            summary.refuse(sink, bad.bad_line()?)?;
        }
        if number % (1 << 16) == 0 {
            sink.lines_read(number);
        }
    }
    sink.lines_read(summary.lines);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_and_quotes() {
        let line = parse_line(r"my\ measure,host=my\,host,k\=ey=v\ al f\ ield=1 5").unwrap();
        assert_eq!(line.measurement, "my measure");
        assert_eq!(
            line.tags,
            [
                ("host".into(), "my,host".into()),
                ("k=ey".into(), "v al".into())
            ]
        );
        assert_eq!(line.fields, [("f ield".into(), FieldValue::Float(1.0))]);
        assert_eq!(line.timestamp, Some(5));
    }

    #[test]
    fn an_unreadable_field_ends_the_line_silently() {
        let line = parse_line("a v=1,b=true 1000").unwrap();
        assert_eq!((line.fields.len(), line.timestamp), (1, None));
        let line = parse_line("a f=-5i 123").unwrap();
        assert_eq!(
            (line.fields[0].1.clone(), line.timestamp),
            (FieldValue::Float(-5.0), None)
        );
        assert!(parse_line("cpu,host=a b=true 1000").is_err());
    }

    #[test]
    fn lines_map_to_metrics_of_a_resource() {
        let now = Timestamp::from_nanos(7);
        let line = parse_line("cpu,path=/foobar,mytag=myvalue,host=h field=43i,s=\"x\"").unwrap();
        let mapped = map_line(line, "host", now).unwrap();
        assert_eq!(mapped.resource, "h");
        assert_eq!(
            mapped.measures,
            [("cpu.field@mytag=myvalue,path=_foobar".into(), now, 43.0)]
        );
        let line = parse_line("cpu v=1").unwrap();
        assert_eq!(
            map_line(line, "host", now).unwrap_err(),
            "Unable to find key `host' in tags"
        );
    }

    #[test]
    fn requests_group_by_resource_and_refuse_the_first_bad_line() {
        let now = Timestamp::from_nanos(7);
        let body = b"cpu,host=a v=1 1000\n\ncpu,host=b v=2\ncpu,host=a v=3,w=4i 2000\n";
        let resources = read_request(body, "host", now).unwrap();
        assert_eq!(resources.len(), 2);
        assert_eq!(resources[0].resource, "a");
        assert_eq!(
            resources[0].metrics["cpu.v"],
            [
                (Timestamp::from_nanos(1000), 1.0),
                (Timestamp::from_nanos(2000), 3.0)
            ]
        );
        assert_eq!(
            resources[0].metrics["cpu.w"],
            [(Timestamp::from_nanos(2000), 4.0)]
        );
        assert_eq!(resources[1].metrics["cpu.v"], [(now, 2.0)]);
        let error = read_request(b"cpu,host=a v=1\n\ncpu,host=a v=true", "host", now).unwrap_err();
        assert_eq!(
            (error.detail, error.reason.as_str()),
            ("line", "Unable to parse line 3")
        );
        let error = read_request(b"cpu v=1", "host", now).unwrap_err();
        assert_eq!(
            (error.detail, error.reason.as_str()),
            ("key", "Unable to find key `host' in tags")
        );
        assert!(read_request(b"", "host", now).unwrap().is_empty());
    }

    proptest! {
        #[test]
        fn arbitrary_lines_never_panic(line in ".{0,40}") {
            let _ = parse_line(&line);
        }

        #[test]
        fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..80)) {
            let _ = read_request(&body, "host", Timestamp::EPOCH);
        }

        #[test]
        fn lines_of_the_grammar_characters_never_panic(line in "[a-c=, \\\\\"0-9i.eE+:\\-\r]{0,30}") {
            if let Ok(line) = parse_line(&line) {
                let _ = map_line(line, "a", Timestamp::EPOCH);
            }
        }
    }
}
