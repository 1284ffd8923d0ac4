//! Gnocchi's JSON documents for the objects carbonara keeps (the REST API's
//! shapes, docs/gnocchi-semantics.md#documents), shared by every command that
//! prints them, so scripts can switch between a real Gnocchi and carbonara.
//! Keys come in the order Gnocchi 4.7's SQL models give them.

use crate::carbonara::Sampling;
use crate::policy::{ArchivePolicy, ArchivePolicyRule, Definition};
use crate::pyform::json::Json;
use crate::query::{Measure, Measures};
use crate::resource::{Resource, ResourceType, split_creator};
use crate::store::Metric;
use crate::time::ApiDateCache;

/// `{"timespan": "30 days, 0:00:00", "granularity": "0:05:00", "points": 8640}`
/// (Gnocchi's key order).
pub fn definition(item: &Definition) -> Json {
    Json::object([
        (
            "timespan",
            Json::opt_str(item.timespan.map(|t| t.to_timedelta_string())),
        ),
        (
            "granularity",
            Json::str(item.granularity.to_timedelta_string()),
        ),
        (
            "points",
            item.points.map_or(Json::Null, |p| Json::Int(p as i64)),
        ),
    ])
}

pub fn archive_policy(policy: &ArchivePolicy) -> Vec<(String, Json)> {
    vec![
        ("name".into(), Json::str(&policy.name)),
        ("back_window".into(), Json::Int(policy.back_window as i64)),
        (
            "definition".into(),
            Json::Array(policy.definition.iter().map(definition).collect()),
        ),
        ("aggregation_methods".into(), aggregation_methods(policy)),
    ]
}

/// A policy's aggregation methods: the list of their names.
pub fn aggregation_methods(policy: &ArchivePolicy) -> Json {
    Json::Array(
        policy
            .aggregation_methods
            .iter()
            .map(|m| Json::str(m.to_string()))
            .collect(),
    )
}

pub fn archive_policy_rule(rule: &ArchivePolicyRule) -> Vec<(String, Json)> {
    vec![
        ("name".into(), Json::str(&rule.name)),
        (
            "archive_policy_name".into(),
            Json::str(&rule.archive_policy_name),
        ),
        ("metric_pattern".into(), Json::str(&rule.metric_pattern)),
    ]
}

fn created_by(creator: &str) -> [(String, Json); 2] {
    let (user, project) = split_creator(creator);
    [
        ("created_by_user_id".into(), Json::str(user)),
        ("created_by_project_id".into(), Json::str(project)),
    ]
}

/// The metric as `POST /v1/metric` returns it (the real Gnocchi's key
/// order: `resource_id` before `archive_policy_name`).
pub fn metric(metric: &Metric) -> Vec<(String, Json)> {
    let mut fields = vec![
        ("id".into(), Json::str(metric.id.to_string())),
        ("creator".into(), Json::str(&metric.creator)),
        ("name".into(), Json::opt_str(metric.name.clone())),
        ("unit".into(), Json::opt_str(metric.unit.clone())),
        (
            "resource_id".into(),
            Json::opt_str(metric.resource_id.map(|r| r.to_string())),
        ),
        (
            "archive_policy_name".into(),
            Json::str(&metric.archive_policy_name),
        ),
    ];
    fields.extend(created_by(&metric.creator));
    fields
}

/// The metric as `GET /v1/metric/ID` returns it: the policy nested, and
/// the resource (base fields, no metrics) or null. A listing
/// (`GET /v1/metric`) has `resource_id` instead: `resource` is `None`.
pub fn metric_with_policy(
    metric: &Metric,
    policy: &ArchivePolicy,
    resource: Option<Option<&Resource>>,
) -> Vec<(String, Json)> {
    let mut fields = vec![
        ("id".into(), Json::str(metric.id.to_string())),
        ("creator".into(), Json::str(&metric.creator)),
        ("name".into(), Json::opt_str(metric.name.clone())),
        ("unit".into(), Json::opt_str(metric.unit.clone())),
    ];
    fields.push(match resource {
        Some(resource) => (
            "resource".into(),
            resource.map_or(Json::Null, |r| {
                Json::Object(resource_fields(r, Shape::Nested))
            }),
        ),
        None => (
            "resource_id".into(),
            Json::opt_str(metric.resource_id.map(|r| r.to_string())),
        ),
    });
    fields.push((
        "archive_policy".into(),
        Json::Object(archive_policy(policy)),
    ));
    fields.extend(created_by(&metric.creator));
    fields
}

/// An aggregate as the measures endpoints list it:
/// `["2015-03-06T14:33:57+00:00", 1.0, 43.1]`.
pub fn measure(measure: &Measure) -> Json {
    Json::Array(vec![
        Json::str(measure.timestamp.to_api_string()),
        granularity(measure.granularity),
        Json::Float(measure.value),
    ])
}

/// The body of the measures endpoints, `[["2015-03-06T14:33:57+00:00",
/// 1.0, 43.1], …]`: what `measure` gives each point, written straight into
/// bytes (a read returns up to many thousands of points).
pub fn measures_body(measures: &Measures) -> String {
    let mut out = Vec::with_capacity(2 + measures.len() * 48);
    out.push(b'[');
    let mut dates = ApiDateCache::default();
    for (granularity, points) in &measures.blocks {
        let granularity = self::granularity(*granularity).to_ascii_python_string();
        for (timestamp, value) in points.iter() {
            if out.len() > 1 {
                out.extend_from_slice(b", ");
            }
            out.extend_from_slice(b"[\"");
            timestamp.write_api_string(&mut out, &mut dates);
            out.extend_from_slice(b"\", ");
            out.extend_from_slice(granularity.as_bytes());
            out.extend_from_slice(b", ");
            crate::pyform::fmt::write_json_float(&mut out, value);
            out.push(b']');
        }
    }
    out.push(b']');
    String::from_utf8(out).expect("timestamps, floats and granularities are ASCII")
}

/// A measure's granularity as Gnocchi writes it: float seconds, or the
/// calendar letter of a resample (`"Q"`).
pub fn granularity(granularity: Sampling) -> Json {
    match granularity {
        Sampling::Span(span) => Json::Float(span.as_secs_f64()),
        Sampling::Calendar(unit) => Json::str(unit.letter()),
    }
}

/// Which of Gnocchi's resource documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// `GET /v1/resource/T/ID`, searches and listings.
    Current,
    /// A row of a history listing (Gnocchi's union mapper orders the keys
    /// `id, revision_end, creator, …`).
    History,
    /// Inside a metric (`GET /v1/metric/ID`): no metrics.
    Nested,
}

/// A resource document.
pub fn resource_fields(resource: &Resource, shape: Shape) -> Vec<(String, Json)> {
    let date = |t: crate::time::Timestamp| Json::str(t.to_isoformat());
    let revision_end = (
        "revision_end".to_owned(),
        resource.revision_end.map_or(Json::Null, date),
    );
    let mut fields: Vec<(String, Json)> = vec![("id".into(), Json::str(resource.id.to_string()))];
    if shape == Shape::History {
        fields.push(revision_end.clone());
    }
    fields.extend([
        ("creator".into(), Json::str(&resource.creator)),
        ("started_at".into(), date(resource.started_at)),
        ("revision_start".into(), date(resource.revision_start)),
        (
            "ended_at".into(),
            resource.ended_at.map_or(Json::Null, date),
        ),
        ("user_id".into(), Json::opt_str(resource.user_id.clone())),
        (
            "project_id".into(),
            Json::opt_str(resource.project_id.clone()),
        ),
        (
            "original_resource_id".into(),
            Json::str(&resource.original_resource_id),
        ),
        ("type".into(), Json::str(&resource.type_name)),
    ]);
    if let Some(attributes) = &resource.attributes {
        fields.extend(
            attributes
                .iter()
                .map(|(name, value)| (name.clone(), value.to_json())),
        );
    }
    if shape != Shape::History {
        fields.push(revision_end);
    }
    if shape != Shape::Nested {
        fields.push((
            "metrics".into(),
            Json::Object(
                resource
                    .metrics
                    .iter()
                    .map(|(name, id)| (name.clone(), Json::str(id.to_string())))
                    .collect(),
            ),
        ));
    }
    fields.extend(created_by(&resource.creator));
    fields
}

/// `{"name": …, "attributes": {…}, "state": "active"}`.
pub fn resource_type(resource_type: &ResourceType) -> Json {
    resource_type.to_json()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_bodies_are_their_documents() {
        use crate::carbonara::Points;
        use crate::carbonara::calendar::CalendarUnit;
        use crate::time::{Span, Timestamp};
        let points = |values: &[(i64, f64)]| {
            let mut points = Points::with_capacity(values.len());
            for &(t, v) in values {
                points.push(Timestamp::from_nanos(t), v);
            }
            points
        };
        let measures = Measures {
            blocks: vec![
                (
                    Sampling::Calendar(CalendarUnit::Quarter),
                    points(&[(0, 1.5)]),
                ),
                (
                    Sampling::Span(Span::from_secs(60)),
                    points(&[(86_399_000_000_000, f64::NAN), (86_400_000_000_000, 1e16)]),
                ),
            ],
        };
        let documents: Vec<Json> = measures.iter().map(|m| measure(&m)).collect();
        assert_eq!(
            measures_body(&measures),
            Json::Array(documents).to_ascii_python_string()
        );
        assert_eq!(measures_body(&Measures { blocks: Vec::new() }), "[]");
    }

    #[test]
    fn policies_render_like_gnocchi() {
        let low = ArchivePolicy::defaults().remove(1);
        let doc = Json::Object(archive_policy(&low)).to_python_string();
        assert_eq!(
            doc,
            r#"{"name": "low", "back_window": 0, "definition": [{"timespan": "30 days, 0:00:00", "granularity": "0:05:00", "points": 8640}], "aggregation_methods": ["count", "max", "mean", "min", "std", "sum"]}"#
        );
    }
}
