//! Gnocchi's JSON measure bodies (docs/gnocchi-semantics.md#gnocchis-json-bodies), validated
//! as its REST API validates them, with its error texts:
//!
//! * a measure list, `[{"timestamp": T, "value": V}, …]`, as
//!   `POST /v1/metric/ID/measures` takes it: the first timestamp decides
//!   how all are read (epoch seconds, ISO 8601, or spans relative to now);
//! * a batch by metric id, `{"<uuid>": [measures], …}`
//!   (`POST /v1/batch/metrics/measures`);
//! * a batch by resource and metric name, `{"<resource id>": {"<name>":
//!   [measures] | {"measures": […], "archive_policy_name"?, "unit"?}}}`
//!   (`POST /v1/batch/resources/metrics/measures`), resource ids mapped
//!   with the caller as creator.
//!
//! Where Gnocchi stores garbage or fails with a 500 (a timestamp that
//! overflows, `null` among ISO timestamps, a metric item without
//! `measures`), this refuses the input with a 400-style error instead.

use std::path::Path;

use serde_json::Value;
use uuid::Uuid;

use super::json_location::line_of;
use super::{MissingResource, NamedMetric, ParseError, ParseSummary, ReadError, Sink};
use crate::pyform;
use crate::pyform::fmt::str_repr;
use crate::resource::{parse_python_uuid, resource_uuid};
use crate::time::{self, Span, Timestamp};

/// Gnocchi's `Invalid input` error: `{"cause": "Invalid input", "reason":
/// reason(), "detail": path}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidInput {
    pub message: String,
    /// Keys from the top of the document to the faulty value.
    pub path: Vec<String>,
    /// voluptuous says `for dictionary value` when a value under a key,
    /// rather than the key, is at fault.
    pub for_value: bool,
    /// The element of a measure list at fault, when known (Gnocchi does
    /// not say; files can).
    pub element: Option<usize>,
}

impl InvalidInput {
    fn at(error: ListError, path: Vec<String>) -> Self {
        InvalidInput {
            message: error.message,
            for_value: !path.is_empty(),
            path,
            element: error.element,
        }
    }

    fn key(message: impl Into<String>, path: Vec<String>) -> Self {
        InvalidInput {
            message: message.into(),
            path,
            for_value: false,
            element: None,
        }
    }

    /// voluptuous's text: `message[ for dictionary value] @ data['k']…`.
    pub fn reason(&self) -> String {
        if self.path.is_empty() {
            return self.message.clone();
        }
        let suffix = if self.for_value {
            " for dictionary value"
        } else {
            ""
        };
        let keys: String = self
            .path
            .iter()
            .map(|k| format!("[{}]", str_repr(k)))
            .collect();
        format!("{}{suffix} @ data{keys}", self.message)
    }
}

/// A measure list that Gnocchi refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListError {
    pub message: String,
    /// Which element, when one is at fault.
    pub element: Option<usize>,
}

const FORMAT: &str = "unexpected measures format";
const VALUE: &str = "unexpected measures value";
const UNCONVERTIBLE: &str = "unexpected timestamp 'Unable to convert timestamps'";
const BEFORE_EPOCH: &str = "unexpected timestamp 'Timestamp must be after Epoch'";

fn list_error(message: &str, element: usize) -> ListError {
    ListError {
        message: message.to_owned(),
        element: Some(element),
    }
}

/// Python's `float(v)` of a JSON value: `Err(true)` for a `TypeError`
/// (null, objects, lists), `Err(false)` for a `ValueError`.
fn python_float(value: &Value) -> Result<f64, bool> {
    match value {
        Value::Number(n) => n.as_f64().ok_or(false),
        Value::Bool(b) => Ok(f64::from(u8::from(*b))),
        Value::String(s) => pyform::float::parse_python_float(s).ok_or(false),
        _ => Err(true),
    }
}

/// Seconds since the epoch as a float, to nanoseconds as numpy casts them.
fn from_seconds(seconds: f64) -> Option<Timestamp> {
    let nanos = seconds * 1e9;
    (nanos.is_finite() && nanos.abs() < 9.2e18).then(|| Timestamp::from_nanos(nanos as i64))
}

/// Gnocchi's `utils.to_timestamps` over a list's timestamps.
fn timestamps(values: &[&Value], now: Timestamp) -> Result<Vec<Timestamp>, ListError> {
    let Some(first) = values.first() else {
        return Ok(Vec::new());
    };
    let converted: Vec<Timestamp> = match python_float(first) {
        Err(true) => return Err(list_error(FORMAT, 0)),
        // Epoch seconds, all of them.
        Ok(_) => values
            .iter()
            .enumerate()
            .map(|(i, v)| match python_float(v) {
                Ok(seconds) => from_seconds(seconds).ok_or_else(|| list_error(UNCONVERTIBLE, i)),
                Err(true) => Err(list_error(FORMAT, i)),
                Err(false) => Err(list_error(UNCONVERTIBLE, i)),
            })
            .collect::<Result<_, _>>()?,
        Err(false) => {
            let text = first.as_str().unwrap_or_default();
            if time::parse_iso8601(text.trim(), now).is_some() {
                // numpy's datetime64 array: strings as ISO 8601, integers as
                // nanoseconds since the epoch.
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        match v {
                            Value::String(s) => time::parse_iso8601(s.trim(), now),
                            Value::Number(n) => n.as_i64().map(Timestamp::from_nanos),
                            Value::Bool(b) => Some(Timestamp::from_nanos(i64::from(*b))),
                            _ => None,
                        }
                        .ok_or_else(|| list_error(UNCONVERTIBLE, i))
                    })
                    .collect::<Result<_, _>>()?
            } else {
                // Spans relative to now, each read on its own.
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let seconds = match python_float(v) {
                            Ok(seconds) => Some(seconds),
                            Err(true) if v.is_null() => None,
                            Err(true) => return Err(list_error(FORMAT, i)),
                            Err(false) => v.as_str().and_then(time::parse_timespan_seconds),
                        };
                        seconds
                            .map(|s| now + Span::from_secs_f64(s))
                            .ok_or_else(|| list_error(UNCONVERTIBLE, i))
                    })
                    .collect::<Result<_, _>>()?
            }
        }
    };
    match converted.iter().position(|&t| t < Timestamp::EPOCH) {
        Some(i) => Err(list_error(BEFORE_EPOCH, i)),
        None => Ok(converted),
    }
}

/// Measures given as epoch seconds (a float) and a value, checked as a
/// measure list of numbers is (Prometheus' samples, Gnocchi's
/// `{"timestamp": timestamp_ms / 1000.0, "value": value}`).
pub fn epoch_measures(pairs: &[(f64, f64)]) -> Result<Vec<(Timestamp, f64)>, ListError> {
    let mut measures = Vec::with_capacity(pairs.len());
    for (i, &(seconds, value)) in pairs.iter().enumerate() {
        let timestamp = from_seconds(seconds).ok_or_else(|| list_error(UNCONVERTIBLE, i))?;
        measures.push((timestamp, value));
    }
    match measures.iter().position(|&(t, _)| t < Timestamp::EPOCH) {
        Some(i) => Err(list_error(BEFORE_EPOCH, i)),
        None => Ok(measures),
    }
}

/// A measure list as Gnocchi's `MeasuresListSchema` reads it.
pub fn measure_list(list: &Value, now: Timestamp) -> Result<Vec<(Timestamp, f64)>, ListError> {
    let items: &[Value] = match list {
        Value::Array(items) => items,
        // Python iterates these: empty ones are empty lists.
        Value::Object(map) if map.is_empty() => &[],
        Value::String(s) if s.is_empty() => &[],
        _ => {
            return Err(ListError {
                message: FORMAT.to_owned(),
                element: None,
            });
        }
    };
    let mut stamps = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item.get("timestamp") {
            Some(timestamp) if item.is_object() => stamps.push(timestamp),
            _ => return Err(list_error(FORMAT, i)),
        }
    }
    let times = timestamps(&stamps, now)?;
    let mut measures = Vec::with_capacity(items.len());
    for (i, (item, timestamp)) in items.iter().zip(times).enumerate() {
        let value = item
            .get("value")
            .and_then(|v| python_float(v).ok())
            .ok_or_else(|| list_error(VALUE, i))?;
        measures.push((timestamp, value));
    }
    Ok(measures)
}

/// The measures of one metric of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricBatch {
    /// The key as it was written.
    pub key: String,
    pub measures: Vec<(Timestamp, f64)>,
}

/// A batch by metric id, in body order.
pub fn by_metric(body: &Value, now: Timestamp) -> Result<Vec<(Uuid, MetricBatch)>, InvalidInput> {
    let map = body
        .as_object()
        .ok_or_else(|| InvalidInput::key("expected a dictionary", Vec::new()))?;
    let mut batch = Vec::with_capacity(map.len());
    for (key, list) in map {
        let id = parse_python_uuid(key)
            .ok_or_else(|| InvalidInput::key("not a valid value", vec![key.clone()]))?;
        let measures =
            measure_list(list, now).map_err(|e| InvalidInput::at(e, vec![key.clone()]))?;
        batch.push((
            id,
            MetricBatch {
                key: key.clone(),
                measures,
            },
        ));
    }
    Ok(batch)
}

/// A named metric's measures in a batch by resource, and what to create it
/// with if it does not exist.
#[derive(Debug, Clone, PartialEq)]
pub struct NamedMetricBatch {
    pub name: String,
    pub archive_policy_name: Option<String>,
    pub unit: Option<String>,
    pub measures: Vec<(Timestamp, f64)>,
}

/// One resource of a batch by resource.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceBatch {
    pub original_resource_id: String,
    pub id: Uuid,
    pub metrics: Vec<NamedMetricBatch>,
}

/// The new form's item: `{"measures": […], "archive_policy_name"?,
/// "unit"?}`, nothing else.
fn named_item(
    name: &str,
    item: &serde_json::Map<String, Value>,
    path: &[String],
    now: Timestamp,
) -> Result<NamedMetricBatch, InvalidInput> {
    let at = |key: &str| [path, &[key.to_owned()]].concat();
    let mut metric = NamedMetricBatch {
        name: name.to_owned(),
        archive_policy_name: None,
        unit: None,
        measures: Vec::new(),
    };
    for (key, value) in item {
        let text = || {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| InvalidInput {
                    for_value: true,
                    ..InvalidInput::key("expected str", at(key))
                })
        };
        match key.as_str() {
            "measures" => {
                metric.measures =
                    measure_list(value, now).map_err(|e| InvalidInput::at(e, at(key)))?;
            }
            "archive_policy_name" => metric.archive_policy_name = Some(text()?),
            "unit" => metric.unit = Some(text()?),
            _ => return Err(InvalidInput::key("extra keys not allowed", at(key))),
        }
    }
    if !item.contains_key("measures") {
        return Err(InvalidInput::key(
            "required key not provided",
            at("measures"),
        ));
    }
    Ok(metric)
}

/// A batch by resource id and metric name, in body order; ids that are
/// not UUIDs are mapped with `creator`.
pub fn by_resource(
    body: &Value,
    creator: &str,
    now: Timestamp,
) -> Result<Vec<ResourceBatch>, InvalidInput> {
    let map = body
        .as_object()
        .ok_or_else(|| InvalidInput::key("expected a dictionary", Vec::new()))?;
    let mut batch = Vec::with_capacity(map.len());
    for (original, metrics) in map {
        let id = resource_uuid(original, creator)
            .map_err(|e| InvalidInput::key(e.to_string(), vec![original.clone()]))?;
        let metrics = metrics.as_object().ok_or_else(|| InvalidInput {
            for_value: true,
            ..InvalidInput::key("expected a dictionary", vec![original.clone()])
        })?;
        let mut named = Vec::with_capacity(metrics.len());
        for (name, item) in metrics {
            let path = vec![original.clone(), name.clone()];
            // Old form (a list) first; an object that is not one is the new
            // form, whose errors win as the deeper ones.
            let metric = match measure_list(item, now) {
                Ok(measures) => NamedMetricBatch {
                    name: name.clone(),
                    archive_policy_name: None,
                    unit: None,
                    measures,
                },
                Err(error) => match item.as_object() {
                    Some(object) => named_item(name, object, &path, now)?,
                    None => return Err(InvalidInput::at(error, path)),
                },
            };
            named.push(metric);
        }
        batch.push(ResourceBatch {
            original_resource_id: original.clone(),
            id,
            metrics: named,
        });
    }
    Ok(batch)
}

/// Which of Gnocchi's two batch bodies a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// By resource when any top-level value is an object, else by metric.
    Guess,
    ByMetric,
    ByResource,
}

/// Reads a batch file (one JSON document, read whole) into `sink`. Ids
/// that are not UUIDs are mapped with `creator`. A metric or resource that
/// does not exist is a bad item: reported, and its measures skipped.
pub fn read(
    text: &str,
    path: &Path,
    shape: Shape,
    creator: &str,
    now: Timestamp,
    sink: &mut impl Sink,
) -> Result<ParseSummary, ReadError> {
    let lines = text.lines().count() as u64;
    let error = ParseError::locator(path);
    let field_of = |keys: &[String]| match keys {
        [] => "body".to_owned(),
        keys => keys.iter().map(|k| format!("[{}]", str_repr(k))).collect(),
    };
    let body: Value = serde_json::from_str(text)
        .map_err(|e| error(e.line() as u64, "body", format!("not JSON: {e}")))?;
    let invalid = |e: InvalidInput| {
        error(
            line_of(text, &e.path, e.element),
            &field_of(&e.path),
            format!("Invalid input: {}", e.reason()),
        )
    };
    let shape = match shape {
        Shape::Guess
            if body
                .as_object()
                .is_some_and(|o| o.values().any(Value::is_object)) =>
        {
            Shape::ByResource
        }
        Shape::Guess => Shape::ByMetric,
        given => given,
    };
    let mut summary = ParseSummary { lines, invalid: 0 };
    // The first measure a metric cannot take is reported; the others of
    // that metric are skipped with it.
    let refused =
        |keys: &[String], reason: String| error(line_of(text, keys, None), &field_of(keys), reason);
    match shape {
        Shape::ByMetric => {
            for (id, metric) in by_metric(&body, now).map_err(invalid)? {
                for &(timestamp, value) in &metric.measures {
                    if let Err(error) = sink.measure(&id.to_string(), timestamp, value) {
                        let reason = error.rejected()?;
                        summary.refuse(sink, refused(std::slice::from_ref(&metric.key), reason))?;
                        break;
                    }
                }
            }
        }
        _ => {
            for resource in by_resource(&body, creator, now).map_err(invalid)? {
                for metric in &resource.metrics {
                    let target = NamedMetric {
                        resource: &resource.original_resource_id,
                        missing_resource: MissingResource::Refuse,
                        name: &metric.name,
                        archive_policy_name: metric.archive_policy_name.as_deref(),
                        unit: metric.unit.as_deref(),
                    };
                    for &(timestamp, value) in &metric.measures {
                        if let Err(error) = sink.named_measure(&target, timestamp, value) {
                            let reason = error.rejected()?;
                            let keys = [resource.original_resource_id.clone(), metric.name.clone()];
                            summary.refuse(sink, refused(&keys, reason))?;
                            break;
                        }
                    }
                }
            }
        }
    }
    sink.lines_read(lines);
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const NOW: Timestamp = Timestamp::from_nanos(1_714_557_600_123_456_000);

    #[test]
    fn the_first_timestamp_decides_for_all() {
        let list = json!([{"timestamp": "2015-03-06T14:33:57", "value": 1}, {"timestamp": 1425652437, "value": 2}]);
        let measures = measure_list(&list, NOW).unwrap();
        assert_eq!(
            measures[1].0,
            Timestamp::from_nanos(1_425_652_437),
            "nanoseconds, as numpy reads them"
        );
        let list =
            json!([{"timestamp": 1478012832, "value": 1}, {"timestamp": "-5 minutes", "value": 2}]);
        assert_eq!(
            measure_list(&list, NOW).unwrap_err(),
            list_error(UNCONVERTIBLE, 1)
        );
    }

    #[test]
    fn errors_read_like_voluptuous() {
        let body = json!({"r": {"m": {"measures": [], "unit": 5}}});
        let error = by_resource(&body, "admin", NOW).unwrap_err();
        assert_eq!(
            error.reason(),
            "expected str for dictionary value @ data['r']['m']['unit']"
        );
        assert_eq!(error.path, ["r", "m", "unit"]);
        let error = by_metric(&json!({"x": []}), NOW).unwrap_err();
        assert_eq!(error.reason(), "not a valid value @ data['x']");
    }

    proptest! {
        #[test]
        fn arbitrary_json_never_panics(text in "[\\[\\]{}\",:0-9a-z .\\-]{0,60}") {
            if let Ok(value) = serde_json::from_str::<Value>(&text) {
                let _ = measure_list(&value, NOW);
                let _ = by_metric(&value, NOW);
                let _ = by_resource(&value, "admin", NOW);
            }
        }
    }
}
