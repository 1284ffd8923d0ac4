//! Ceilometer samples, stored as Ceilometer 27.0.0's Gnocchi publisher
//! would have stored them (docs/gnocchi-semantics.md#ceilometer): each sample whose
//! meter the definitions know becomes a measure (its timestamp, its volume)
//! of the metric named after the meter, on the resource named by its
//! `resource_id` (`/` → `_`, then Gnocchi's id mapping); the resource's
//! type comes from the meter of its first sample. Missing archive policies,
//! resource types, resources and metrics are created; existing resources
//! get their attributes set.
//!
//! What the publisher takes from which sample (27.0.0, checked against it):
//! `user_id` from a resource's first sample, even when null; `project_id`
//! from its last; attributes from every sample in file order, the last
//! non-null value winning; a metric's unit and archive policy from its
//! first sample. Samples of meters the definitions do not map are skipped
//! (counted, not errors), as the publisher drops them.
//!
//! A file is a JSON array of samples or one sample per line, in the shape
//! Ceilometer keeps in memory (`name`, `volume`, …) or the one of its
//! message bus and dumps (`counter_name`, `counter_volume`, …).

pub mod definitions;

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;
use serde_json::value::RawValue;

use super::{Declaration, MissingResource, NamedMetric, ParseError, ParseSummary, ReadError, Sink};
use crate::pyform;
use crate::time::{self, Timestamp};
pub use definitions::Definitions;
use definitions::ResourceDefinition;

/// The message-bus names of a sample's fields.
const ALIASES: [(&str, &str); 5] = [
    ("counter_name", "name"),
    ("counter_type", "type"),
    ("counter_unit", "unit"),
    ("counter_volume", "volume"),
    ("message_id", "id"),
];

/// What a Ceilometer file held.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CeilometerSummary {
    pub parse: ParseSummary,
    pub samples: u64,
    /// Samples of meters the definitions do not map (the publisher drops
    /// them too).
    pub unmapped: u64,
}

/// One resource as the samples describe it.
struct ResourceInfo {
    key: String,
    type_name: String,
    /// The line of its first sample, for messages.
    line: u64,
    user_id: Option<String>,
    project_id: Option<String>,
    /// In the order first seen; later values replace earlier ones.
    attributes: Vec<(String, Value)>,
    measures: Vec<SampleMeasure>,
}

/// A measure a sample gives.
struct SampleMeasure {
    line: u64,
    metric: String,
    archive_policy_name: String,
    unit: Option<String>,
    timestamp: Timestamp,
    value: f64,
}

/// A sample of the file and the line it starts on.
struct Located<'t> {
    line: u64,
    raw: &'t str,
}

/// The samples of a file: a JSON array, or one JSON object per line.
fn split_samples(text: &str) -> Result<Vec<Located<'_>>, (u64, String)> {
    let line_at = |offset: usize| 1 + text[..offset].bytes().filter(|&b| b == b'\n').count() as u64;
    if text.trim_start().starts_with('[') {
        let items: Vec<&RawValue> = serde_json::from_str(text)
            .map_err(|e| (e.line() as u64, format!("not a JSON array of samples: {e}")))?;
        return Ok(items
            .into_iter()
            .map(|raw| Located {
                line: line_at(raw.get().as_ptr() as usize - text.as_ptr() as usize),
                raw: raw.get(),
            })
            .collect());
    }
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| Located {
            line: i as u64 + 1,
            raw: line,
        })
        .collect())
}

/// A sample in Ceilometer's in-memory shape (`Sample.as_dict()`).
fn in_memory_shape(sample: serde_json::Map<String, Value>) -> Value {
    Value::Object(
        sample
            .into_iter()
            .map(|(key, value)| {
                let key = ALIASES
                    .iter()
                    .find(|(alias, _)| *alias == key)
                    .map_or(key, |(_, name)| (*name).to_owned());
                (key, value)
            })
            .collect(),
    )
}

/// A text field of a sample (`None` when absent or null).
fn text_field<'v>(sample: &'v Value, key: &str) -> Result<Option<&'v str>, String> {
    match sample.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("expected a string, found {other}")),
    }
}

/// Python's `float()` of the volume, as Gnocchi reads a measure value.
fn volume(sample: &Value) -> Result<f64, String> {
    match sample.get("volume") {
        Some(Value::Number(n)) => n.as_f64().ok_or_else(|| format!("`{n}` is not a number")),
        Some(Value::Bool(b)) => Ok(f64::from(u8::from(*b))),
        Some(Value::String(s)) => {
            pyform::float::parse_python_float(s).ok_or_else(|| format!("`{s}` is not a number"))
        }
        None | Some(Value::Null) => Err(
            "no volume (Gnocchi refuses the whole batch of such a sample: Invalid input)"
                .to_owned(),
        ),
        Some(other) => Err(format!("`{other}` is not a number")),
    }
}

/// Reads a Ceilometer file into `sink`.
pub fn read(
    text: &str,
    path: &Path,
    definitions: &Definitions,
    now: Timestamp,
    sink: &mut impl Sink,
) -> Result<CeilometerSummary, ReadError> {
    let error = ParseError::locator(path);
    let samples = split_samples(text).map_err(|(line, reason)| error(line, "samples", reason))?;
    let mut summary = CeilometerSummary {
        parse: ParseSummary {
            lines: text.lines().count() as u64,
            invalid: 0,
        },
        ..CeilometerSummary::default()
    };
    for policy in &definitions.archive_policies {
        sink.declare(Declaration::ArchivePolicy(policy))
            .map_err(|e| e.at(|reason| error(0, "archive policy", reason)))?;
    }
    let mut resources: Vec<ResourceInfo> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    // First every sample, so that each resource is known whole (its last
    // attributes) before anything of it is stored.
    for located in samples {
        let line = located.line;
        summary.samples += 1;
        let sample = match serde_json::from_str::<Value>(located.raw) {
            Ok(Value::Object(object)) => in_memory_shape(object),
            Ok(_) => {
                let bad = error(line, "sample", "not a JSON object".to_owned());
                summary.parse.refuse(sink, bad)?;
                continue;
            }
            Err(e) => {
                let bad = error(line, "sample", format!("not JSON: {e}"));
                summary.parse.refuse(sink, bad)?;
                continue;
            }
        };
        match read_sample(&sample, line, definitions, now, &error) {
            Ok(None) => summary.unmapped += 1,
            Ok(Some((key, definition, measure))) => {
                let index = *by_key.entry(key.clone()).or_insert_with(|| {
                    resources.push(ResourceInfo {
                        key,
                        type_name: definition.resource_type.clone(),
                        line,
                        user_id: text_field(&sample, "user_id")
                            .ok()
                            .flatten()
                            .map(str::to_owned),
                        project_id: None,
                        attributes: Vec::new(),
                        measures: Vec::new(),
                    });
                    resources.len() - 1
                });
                let info = &mut resources[index];
                info.project_id = text_field(&sample, "project_id")
                    .ok()
                    .flatten()
                    .map(str::to_owned);
                for (attribute, path) in &definition.attributes {
                    if let Some(found) = path.find(&sample) {
                        match info.attributes.iter_mut().find(|(n, _)| n == attribute) {
                            Some(slot) => slot.1 = found.clone(),
                            None => info.attributes.push((attribute.clone(), found.clone())),
                        }
                    }
                }
                info.measures.push(measure);
            }
            Err(bad) => summary.parse.refuse(sink, bad)?,
        }
    }
    // Then each resource: created (or updated) first, then its measures;
    // a resource that cannot be is a bad sample, and its measures go with it.
    for info in &resources {
        if let Err(bad) = store_resource(info, definitions, now, sink, &error) {
            summary.parse.refuse(sink, bad.bad_line()?)?;
            continue;
        }
        for measure in &info.measures {
            let target = NamedMetric {
                resource: &info.key,
                missing_resource: MissingResource::CreateOrUse(&info.type_name),
                name: &measure.metric,
                archive_policy_name: Some(&measure.archive_policy_name),
                unit: measure.unit.as_deref(),
            };
            if let Err(stored) = sink.named_measure(&target, measure.timestamp, measure.value) {
                let reason = stored.rejected()?;
                summary
                    .parse
                    .refuse(sink, error(measure.line, "counter_name", reason))?;
            }
        }
    }
    sink.lines_read(summary.parse.lines);
    Ok(summary)
}

/// The resource key, its definition and the measure of a sample whose
/// meter the definitions map; `None` for another meter.
fn read_sample<'d>(
    sample: &Value,
    line: u64,
    definitions: &'d Definitions,
    now: Timestamp,
    error: &impl Fn(u64, &str, String) -> ParseError,
) -> Result<Option<(String, &'d ResourceDefinition, SampleMeasure)>, ParseError> {
    let name = text_field(sample, "name").map_err(|e| error(line, "counter_name", e))?;
    let Some((name, meter)) = name.and_then(|n| Some((n, definitions.meters.get(n)?))) else {
        return Ok(None);
    };
    let resource_id = text_field(sample, "resource_id")
        .map_err(|e| error(line, "resource_id", e))?
        .ok_or_else(|| error(line, "resource_id", "no resource id".to_owned()))?;
    let timestamp_text = text_field(sample, "timestamp")
        .map_err(|e| error(line, "timestamp", e))?
        .ok_or_else(|| error(line, "timestamp", "no timestamp".to_owned()))?;
    let timestamp = time::parse_timestamp(timestamp_text, now)
        .map_err(|e| error(line, "timestamp", format!("`{timestamp_text}`: {e}")))?;
    let measure = SampleMeasure {
        line,
        metric: name.to_owned(),
        archive_policy_name: meter.archive_policy_name.clone(),
        unit: text_field(sample, "unit")
            .map_err(|e| error(line, "counter_unit", e))?
            .map(str::to_owned),
        timestamp,
        value: volume(sample).map_err(|e| error(line, "counter_volume", e))?,
    };
    // `/` is not allowed in Gnocchi's resource ids.
    let key = resource_id.replace('/', "_");
    Ok(Some((key, &definitions.resources[meter.resource], measure)))
}

/// Declares a resource's type and fields.
fn store_resource(
    info: &ResourceInfo,
    definitions: &Definitions,
    now: Timestamp,
    sink: &mut impl Sink,
    error: &impl Fn(u64, &str, String) -> ParseError,
) -> Result<(), ReadError> {
    let key = &info.key;
    let resource_type = definitions.resource_type(&info.type_name).ok_or_else(|| {
        error(
            info.line,
            "resource",
            format!("Resource type {} does not exist", info.type_name),
        )
    })?;
    sink.declare(Declaration::ResourceType(resource_type))
        .map_err(|e| e.at(|reason| error(info.line, "resource type", reason)))?;
    let mut attributes = Vec::with_capacity(info.attributes.len());
    for (name, value) in &info.attributes {
        let typed = resource_type
            .attribute(name)
            .ok_or_else(|| format!("Resource type {} has no {name} attribute", info.type_name))
            .and_then(|attribute| attribute.value_from_json(value, now).map_err(|e| e.0))
            .map_err(|reason| error(info.line, name, format!("resource {key}: {reason}")))?;
        attributes.push((name.clone(), typed));
    }
    sink.declare(Declaration::Resource {
        id: key,
        type_name: &info.type_name,
        user_id: info.user_id.as_deref(),
        project_id: info.project_id.as_deref(),
        attributes: &attributes,
    })
    .map_err(|e| e.at(|reason| error(info.line, "resource", format!("resource {key}: {reason}"))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::MeasureBatch;
    use proptest::prelude::*;

    #[test]
    fn both_shapes_and_both_layouts_read_alike() {
        let definitions = Definitions::builtin(None);
        let memory = r#"{"name": "image.size", "unit": "B", "volume": 5, "resource_id": "a/b", "timestamp": "2024-05-01T10:00:00"}"#;
        let bus = r#"{"counter_name": "image.size", "counter_unit": "B", "counter_volume": 5, "resource_id": "a/b", "timestamp": "2024-05-01T10:00:00"}"#;
        let read_all = |text: &str| {
            let mut batch = MeasureBatch::default();
            let summary = read(
                text,
                Path::new("x"),
                &definitions,
                Timestamp::EPOCH,
                &mut batch,
            )
            .unwrap();
            (batch.measures, summary.samples)
        };
        let lines = read_all(&format!("{memory}\n\n{bus}\n"));
        assert_eq!(lines, read_all(&format!("[{memory},\n {bus}]")));
        assert_eq!(lines.1, 2);
        assert_eq!(
            lines.0["a_b/image.size"].len(),
            2,
            "`/` becomes `_` in resource ids"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_text_never_panics(text in "[\\[\\]{}\",:0-9a-z_ .\n-]{0,80}") {
            let definitions = Definitions::builtin(None);
            let _ = read(&text, Path::new("x"), &definitions, Timestamp::EPOCH, &mut MeasureBatch::default());
        }

        #[test]
        fn arbitrary_samples_never_panic(
            name in prop_oneof![Just("cpu"), Just("image.size"), Just("nope")],
            volume in prop_oneof![Just("1"), Just("null"), Just("\"x\""), Just("[]"), Just("1e400")],
            metadata in prop_oneof![Just("{}"), Just("[]"), Just("{\"flavor\": {\"id\": 3}}"), Just("null")],
        ) {
            let definitions = Definitions::builtin(None);
            let text = format!(r#"{{"name": "{name}", "volume": {volume}, "resource_id": "r", "timestamp": "2024-05-01", "resource_metadata": {metadata}}}"#);
            let _ = read(&text, Path::new("x"), &definitions, Timestamp::EPOCH, &mut MeasureBatch::default());
        }
    }
}
