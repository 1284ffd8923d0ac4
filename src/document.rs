//! Gnocchi's JSON documents for the objects carbonara keeps (the REST API's
//! shapes, spec/rest-api.md §3–§5), shared by every command that prints
//! them, so scripts can switch between a real Gnocchi and carbonara.

use crate::json::Json;
use crate::policy::{ArchivePolicy, ArchivePolicyRule, Definition};
use crate::store::Metric;

/// `{"granularity": "0:05:00", "points": 8640, "timespan": "30 days, 0:00:00"}`.
pub fn definition(item: &Definition) -> Json {
    Json::object([
        (
            "granularity",
            Json::str(item.granularity.to_timedelta_string()),
        ),
        (
            "points",
            item.points.map_or(Json::Null, |p| Json::Int(p as i64)),
        ),
        (
            "timespan",
            Json::opt_str(item.timespan.map(|t| t.to_timedelta_string())),
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
        (
            "aggregation_methods".into(),
            Json::Array(
                policy
                    .aggregation_methods
                    .iter()
                    .map(|m| Json::str(m.to_string()))
                    .collect(),
            ),
        ),
    ]
}

pub fn archive_policy_rule(rule: &ArchivePolicyRule) -> Vec<(String, Json)> {
    vec![
        ("name".into(), Json::str(&rule.name)),
        ("metric_pattern".into(), Json::str(&rule.metric_pattern)),
        (
            "archive_policy_name".into(),
            Json::str(&rule.archive_policy_name),
        ),
    ]
}

/// The metric as `POST /v1/metric` returns it.
pub fn metric(metric: &Metric) -> Vec<(String, Json)> {
    metric_fields(
        metric,
        (
            "archive_policy_name",
            Json::str(&metric.archive_policy_name),
        ),
        (
            "resource_id",
            Json::opt_str(metric.resource_id.map(|r| r.to_string())),
        ),
    )
}

/// The metric as `GET /v1/metric/<id>` returns it: the archive policy
/// nested. Its resource is shown by id only, until resources are kept.
pub fn metric_with_policy(metric: &Metric, policy: &ArchivePolicy) -> Vec<(String, Json)> {
    let resource = metric.resource_id.map_or(Json::Null, |id| {
        Json::object([("id", Json::str(id.to_string()))])
    });
    metric_fields(
        metric,
        ("archive_policy", Json::Object(archive_policy(policy))),
        ("resource", resource),
    )
}

fn metric_fields(
    metric: &Metric,
    archive_policy: (&str, Json),
    resource: (&str, Json),
) -> Vec<(String, Json)> {
    let (user, project) = metric
        .creator
        .split_once(':')
        .unwrap_or((&metric.creator, ""));
    vec![
        ("id".into(), Json::str(metric.id.to_string())),
        ("creator".into(), Json::str(&metric.creator)),
        ("name".into(), Json::opt_str(metric.name.clone())),
        ("unit".into(), Json::opt_str(metric.unit.clone())),
        (archive_policy.0.into(), archive_policy.1),
        (resource.0.into(), resource.1),
        ("created_by_user_id".into(), Json::str(user)),
        ("created_by_project_id".into(), Json::str(project)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_render_like_gnocchi() {
        let low = ArchivePolicy::defaults().remove(1);
        let doc = Json::Object(archive_policy(&low)).to_python_string();
        assert_eq!(
            doc,
            r#"{"name": "low", "back_window": 0, "definition": [{"granularity": "0:05:00", "points": 8640, "timespan": "30 days, 0:00:00"}], "aggregation_methods": ["count", "max", "mean", "min", "std", "sum"]}"#
        );
    }
}
