//! Prometheus remote write as Gnocchi's `POST /v1/prometheus/write` reads
//! and maps it (docs/gnocchi-semantics.md#prometheus-remote-write).
//!
//! The body is a snappy block (not the framed format) holding a protobuf
//! `WriteRequest` (Prometheus' `remote.proto`, package `remote`). Each
//! series with samples becomes measures of the metric named by its
//! `__name__` label, on the resource `<job>@<instance>` (`none` for a
//! missing label) of type `prometheus`, whose `job` and `instance`
//! attributes are set when it is created. Other labels are dropped, so a
//! later series with the same job, instance and name replaces an earlier
//! one, as in Gnocchi. Sample times are milliseconds, read as Gnocchi reads
//! `timestamp_ms / 1000.0` epoch seconds.

use std::path::Path;

use indexmap::IndexMap;

use super::batch::{self, ListError};
use super::{
    Declaration, MeasuresByName, MissingResource, NamedMetric, ParseError, ParseSummary, ReadError,
    Sink,
};
use crate::resource::{Attribute, AttributeKind, AttributeValue, ResourceType};

/// The resource type Gnocchi creates on demand for Prometheus' series.
pub const RESOURCE_TYPE: &str = "prometheus";

/// `remote.proto`'s messages, the fields Gnocchi reads.
mod remote {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct WriteRequest {
        #[prost(message, repeated, tag = "1")]
        pub timeseries: Vec<TimeSeries>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TimeSeries {
        #[prost(message, repeated, tag = "1")]
        pub labels: Vec<LabelPair>,
        #[prost(message, repeated, tag = "2")]
        pub samples: Vec<Sample>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct LabelPair {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub value: String,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Sample {
        #[prost(double, tag = "1")]
        pub value: f64,
        #[prost(int64, tag = "2")]
        pub timestamp_ms: i64,
    }
}

pub use remote::{LabelPair, Sample, TimeSeries, WriteRequest};

impl TimeSeries {
    /// A series of these labels and (value, milliseconds) samples.
    pub fn new(labels: &[(&str, &str)], samples: &[(f64, i64)]) -> TimeSeries {
        TimeSeries {
            labels: labels
                .iter()
                .map(|(name, value)| LabelPair {
                    name: (*name).to_owned(),
                    value: (*value).to_owned(),
                })
                .collect(),
            samples: samples
                .iter()
                .map(|&(value, timestamp_ms)| Sample {
                    value,
                    timestamp_ms,
                })
                .collect(),
        }
    }
}

/// Why a body cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("the body is not a snappy block: {0}")]
    Snappy(String),
    #[error("the body is not a Prometheus WriteRequest: {0}")]
    Protobuf(String),
    /// A series with samples but no `__name__` (Gnocchi fails with a 500).
    #[error("series {0} has no `__name__` label")]
    NoName(usize),
    /// Its samples as a measure list are refused, with Gnocchi's words.
    #[error("Invalid input: {}", .error.message)]
    Measures { series: usize, error: ListError },
}

/// The measures of one resource, by metric name in the order they came.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceMeasures {
    pub job: String,
    pub instance: String,
    pub metrics: MeasuresByName,
}

impl ResourceMeasures {
    /// The resource's original id: `<job>@<instance>`.
    pub fn original_id(&self) -> String {
        format!("{}@{}", self.job, self.instance)
    }

    /// The attributes Gnocchi gives a new resource.
    pub fn attributes(&self) -> Vec<(String, AttributeValue)> {
        vec![
            ("job".to_owned(), AttributeValue::String(self.job.clone())),
            (
                "instance".to_owned(),
                AttributeValue::String(self.instance.clone()),
            ),
        ]
    }
}

/// The largest decompressed body: a snappy block announces its length,
/// which is allocated before anything is checked.
const MAX_DECOMPRESSED: usize = 256 << 20;

/// Decompresses and decodes a remote-write body.
pub fn decode(body: &[u8]) -> Result<WriteRequest, Error> {
    let length = snap::raw::decompress_len(body).map_err(|e| Error::Snappy(e.to_string()))?;
    if length > MAX_DECOMPRESSED {
        return Err(Error::Snappy(format!(
            "it would decompress to {length} bytes, more than {MAX_DECOMPRESSED}"
        )));
    }
    let bytes = snap::raw::Decoder::new()
        .decompress_vec(body)
        .map_err(|e| Error::Snappy(e.to_string()))?;
    prost::Message::decode(bytes.as_slice()).map_err(|e| Error::Protobuf(e.to_string()))
}

/// Compresses a request as Prometheus sends it (for clients and tests).
pub fn encode(request: &WriteRequest) -> Vec<u8> {
    let bytes = prost::Message::encode_to_vec(request);
    snap::raw::Encoder::new()
        .compress_vec(&bytes)
        .expect("snappy compresses any buffer below 4 GiB")
}

/// Groups a request's series by resource, as Gnocchi does: series without
/// samples are skipped; the first resource and metric seen come first.
pub fn group(request: &WriteRequest) -> Result<Vec<ResourceMeasures>, Error> {
    let mut resources: IndexMap<(String, String), MeasuresByName> = IndexMap::new();
    for (index, series) in request.timeseries.iter().enumerate() {
        // Later labels of the same name win, as in a Python dict.
        let label = |name: &str| {
            series
                .labels
                .iter()
                .rev()
                .find(|l| l.name == name)
                .map(|l| l.value.as_str())
        };
        let key = (
            label("job").unwrap_or("none").to_owned(),
            label("instance").unwrap_or("none").to_owned(),
        );
        let name = label("__name__").ok_or(Error::NoName(index))?;
        if series.samples.is_empty() {
            continue;
        }
        let seconds: Vec<(f64, f64)> = series
            .samples
            .iter()
            .map(|s| (s.timestamp_ms as f64 / 1000.0, s.value))
            .collect();
        let measures = batch::epoch_measures(&seconds).map_err(|error| Error::Measures {
            series: index,
            error,
        })?;
        resources
            .entry(key)
            .or_default()
            .insert(name.to_owned(), measures);
    }
    Ok(resources
        .into_iter()
        .map(|((job, instance), metrics)| ResourceMeasures {
            job,
            instance,
            metrics,
        })
        .collect())
}

/// The `prometheus` resource type: `job` and `instance`, required strings
/// of 1 to 512 characters.
pub fn resource_type() -> ResourceType {
    // Built as Gnocchi builds it, past the 256 characters the API allows
    // for the attributes of the types it creates.
    let attribute = |name: &str| Attribute {
        name: name.to_owned(),
        required: true,
        kind: AttributeKind::String {
            min_length: 1,
            max_length: 512,
        },
        fill: None,
    };
    ResourceType::new(RESOURCE_TYPE, vec![attribute("instance"), attribute("job")])
        .expect("the prometheus resource type is valid")
}

/// Reads a remote-write body into `sink`: the `prometheus` type and each
/// resource are declared (created when missing), then every measure is
/// handed over as a named metric of its resource.
pub fn read(body: &[u8], path: &Path, sink: &mut impl Sink) -> Result<ParseSummary, ReadError> {
    let error = ParseError::locator(path);
    let request = decode(body).map_err(|e| error(0, "body", e.to_string()))?;
    let lines = request.timeseries.len() as u64;
    let resources = group(&request).map_err(|e| {
        let series = match &e {
            Error::NoName(series) | Error::Measures { series, .. } => *series as u64 + 1,
            _ => 0,
        };
        error(series, "series", e.to_string())
    })?;
    let resource_type = resource_type();
    let mut summary = ParseSummary { lines, invalid: 0 };
    sink.declare(Declaration::ResourceType(&resource_type))
        .map_err(|e| e.at(|reason| error(0, "type", reason)))?;
    for resource in &resources {
        let original = resource.original_id();
        let attributes = resource.attributes();
        let declared = sink.declare(Declaration::Resource {
            id: &original,
            type_name: RESOURCE_TYPE,
            user_id: None,
            project_id: None,
            attributes: &attributes,
        });
        if let Err(declared) = declared {
            summary.refuse(sink, error(0, &original, declared.rejected()?))?;
            continue;
        }
        for (name, measures) in &resource.metrics {
            let target = NamedMetric {
                resource: &original,
                missing_resource: MissingResource::Create(RESOURCE_TYPE),
                name,
                archive_policy_name: None,
                unit: None,
            };
            for &(timestamp, value) in measures {
                if let Err(stored) = sink.named_measure(&target, timestamp, value) {
                    summary.refuse(sink, error(0, name, stored.rejected()?))?;
                    break;
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
    use crate::time::Timestamp;
    use proptest::prelude::*;

    #[test]
    fn series_group_by_job_and_instance_and_later_ones_win() {
        let request = WriteRequest {
            timeseries: vec![
                TimeSeries::new(
                    &[("__name__", "up"), ("job", "node"), ("instance", "h:9100")],
                    &[(1.0, 1_425_652_437_000), (0.0, 1_425_652_438_500)],
                ),
                TimeSeries::new(&[("__name__", "idle")], &[]),
                TimeSeries::new(&[("__name__", "load"), ("mode", "x")], &[(3.0, 1000)]),
                TimeSeries::new(
                    &[
                        ("job", "node"),
                        ("instance", "h:9100"),
                        ("__name__", "up"),
                        ("cpu", "1"),
                    ],
                    &[(7.0, 2000)],
                ),
            ],
        };
        let bytes = encode(&request);
        let grouped = group(&decode(&bytes).unwrap()).unwrap();
        assert_eq!(grouped.len(), 2);
        assert_eq!(grouped[0].original_id(), "node@h:9100");
        assert_eq!(
            grouped[0].metrics["up"],
            [(Timestamp::from_nanos(2_000_000_000), 7.0)]
        );
        assert_eq!(grouped[1].original_id(), "none@none");
        assert_eq!(
            grouped[1].metrics["load"],
            [(Timestamp::from_nanos(1_000_000_000), 3.0)]
        );
    }

    #[test]
    fn bad_bodies_say_why() {
        assert!(matches!(decode(b"garbage"), Err(Error::Snappy(_))));
        assert!(matches!(decode(b""), Err(Error::Snappy(_))));
        // A header announcing 4 GiB is refused before any allocation.
        assert!(matches!(
            decode(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]),
            Err(Error::Snappy(reason)) if reason.contains("more than")
        ));
        let not_protobuf = snap::raw::Encoder::new().compress_vec(&[0xff; 8]).unwrap();
        assert!(matches!(decode(&not_protobuf), Err(Error::Protobuf(_))));
        let nameless = WriteRequest {
            timeseries: vec![TimeSeries::new(&[("job", "a")], &[(1.0, 1)])],
        };
        assert_eq!(group(&nameless), Err(Error::NoName(0)));
        let early = WriteRequest {
            timeseries: vec![TimeSeries::new(&[("__name__", "a")], &[(1.0, -1000)])],
        };
        assert_eq!(
            group(&early).unwrap_err().to_string(),
            "Invalid input: unexpected timestamp 'Timestamp must be after Epoch'"
        );
    }

    proptest! {
        #[test]
        fn arbitrary_bodies_never_panic(body in prop::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(request) = decode(&body) {
                let _ = group(&request);
            }
            let compressed = snap::raw::Encoder::new().compress_vec(&body).unwrap();
            if let Ok(request) = decode(&compressed) {
                let _ = group(&request);
            }
        }
    }
}
