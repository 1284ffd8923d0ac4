//! What Ceilometer 27.0.0's Gnocchi publisher knows, embedded: its
//! definitions file (`gnocchi_resources.yaml`, as JSON: which meter goes to
//! which resource type, with which archive policy, and which sample fields
//! become attributes) and the resource types `ceilometer-upgrade` creates
//! (as Gnocchi returns them). Both files are written from those packages
//! by tests/golden/ingest/ceilometer/make_cases.py.

use std::collections::HashMap;

use serde_json::Value;

use crate::policy::{AggregationMethod, ArchivePolicy, Definition};
use crate::resource::{AttributeSpec, GENERIC, ResourceType};
use crate::time::{Timestamp, parse_timespan};

const DEFINITIONS: &str = include_str!("definitions.json");
const RESOURCE_TYPES: &str = include_str!("resource_types.json");

/// A field of a sample, as the definitions write it:
/// `resource_metadata.(instance_host|host)`: dotted keys, where a part may
/// be alternatives, themselves dotted (`(flavor.id)`). The value is the
/// first alternative found that is not null.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplePath {
    alternatives: Vec<Vec<String>>,
}

impl SamplePath {
    pub fn parse(text: &str) -> SamplePath {
        SamplePath {
            alternatives: expand(text),
        }
    }

    pub fn find<'v>(&self, sample: &'v Value) -> Option<&'v Value> {
        self.alternatives.iter().find_map(|keys| {
            keys.iter()
                .try_fold(sample, |value, key| value.get(key))
                .filter(|value| !value.is_null())
        })
    }
}

/// Every key path a path text stands for, in order.
fn expand(text: &str) -> Vec<Vec<String>> {
    let mut paths: Vec<Vec<String>> = vec![Vec::new()];
    for part in split_outside_parentheses(text, '.') {
        let choices: Vec<Vec<String>> =
            match part.strip_prefix('(').and_then(|p| p.strip_suffix(')')) {
                Some(inner) => split_outside_parentheses(inner, '|')
                    .into_iter()
                    .flat_map(expand)
                    .collect(),
                None => vec![vec![part.to_owned()]],
            };
        paths = paths
            .iter()
            .flat_map(|prefix| {
                choices
                    .iter()
                    .map(move |choice| [prefix.as_slice(), choice].concat())
            })
            .collect();
    }
    paths
}

fn split_outside_parentheses(text: &str, separator: char) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0, 0);
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            c if c == separator && depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&text[start..]);
    parts
}

/// The resource type a meter's samples go to.
#[derive(Debug, Clone)]
pub struct ResourceDefinition {
    pub resource_type: String,
    /// Attribute name → where the sample has it.
    pub attributes: Vec<(String, SamplePath)>,
}

/// A meter the publisher handles.
#[derive(Debug, Clone)]
pub struct MeterDefinition {
    /// Index in `Definitions::resources`.
    pub resource: usize,
    pub archive_policy_name: String,
}

#[derive(Debug, Clone)]
pub struct Definitions {
    /// Created on the first import, like the publisher's first publish.
    pub archive_policies: Vec<ArchivePolicy>,
    pub resources: Vec<ResourceDefinition>,
    pub meters: HashMap<String, MeterDefinition>,
    resource_types: Vec<ResourceType>,
}

fn policy_from_definition(value: &Value) -> ArchivePolicy {
    let name = value["name"].as_str().expect("policies have names");
    let span = |key: &str, item: &Value| {
        item[key]
            .as_str()
            .map(|text| parse_timespan(text).expect("the definitions' spans parse"))
    };
    let definition = value["definition"]
        .as_array()
        .expect("policies have definitions")
        .iter()
        .map(|item| {
            Definition::new(span("granularity", item), None, span("timespan", item))
                .expect("the definitions are valid")
        })
        .collect();
    let methods = value["aggregation_methods"]
        .as_array()
        .expect("policies list their methods")
        .iter()
        .map(|m| {
            m.as_str()
                .and_then(|m| m.parse::<AggregationMethod>().ok())
                .expect("the definitions' methods are valid")
        })
        .collect();
    let back_window = value["back_window"].as_u64().unwrap_or(0);
    ArchivePolicy::new(name, back_window, definition, methods).expect("the definitions are valid")
}

impl Definitions {
    /// Ceilometer 27.0.0's definitions. `archive_policy` replaces every
    /// meter's policy (the publisher URL's `archive_policy` option).
    pub fn builtin(archive_policy: Option<&str>) -> Definitions {
        let data: Value = serde_json::from_str(DEFINITIONS).expect("the definitions are JSON");
        let default_policy = data["archive_policy_default"]
            .as_str()
            .unwrap_or("ceilometer-low");
        let archive_policies = data["archive_policies"]
            .as_array()
            .into_iter()
            .flatten()
            .map(policy_from_definition)
            .collect();
        let mut resources = Vec::new();
        let mut meters = HashMap::new();
        for resource in data["resources"].as_array().into_iter().flatten() {
            let index = resources.len();
            resources.push(ResourceDefinition {
                resource_type: resource["resource_type"]
                    .as_str()
                    .expect("resources have types")
                    .to_owned(),
                attributes: resource["attributes"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .filter_map(|(name, path)| {
                        path.as_str().map(|p| (name.clone(), SamplePath::parse(p)))
                    })
                    .collect(),
            });
            let metrics: Vec<(String, Option<&str>)> = match &resource["metrics"] {
                Value::Object(map) => map
                    .iter()
                    .map(|(meter, extra)| (meter.clone(), extra["archive_policy_name"].as_str()))
                    .collect(),
                Value::Array(list) => list
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|meter| (meter.to_owned(), None))
                    .collect(),
                _ => Vec::new(),
            };
            for (meter, policy) in metrics {
                let archive_policy_name = archive_policy
                    .or(policy)
                    .unwrap_or(default_policy)
                    .to_owned();
                meters.insert(
                    meter,
                    MeterDefinition {
                        resource: index,
                        archive_policy_name,
                    },
                );
            }
        }
        let resource_types = serde_json::from_str::<Vec<Value>>(RESOURCE_TYPES)
            .expect("the resource types are JSON")
            .iter()
            .filter(|t| t["name"] != GENERIC)
            .map(|t| {
                let attributes = t["attributes"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(name, definition)| {
                        AttributeSpec::from_json(name, definition)
                            .to_attribute(false, Timestamp::EPOCH)
                            .expect("the resource types are valid")
                    })
                    .collect();
                ResourceType::new(t["name"].as_str().expect("types have names"), attributes)
                    .expect("the resource types are valid")
            })
            .collect();
        Definitions {
            archive_policies,
            resources,
            meters,
            resource_types,
        }
    }

    /// The resource type `ceilometer-upgrade` creates with this name.
    pub fn resource_type(&self, name: &str) -> Option<&ResourceType> {
        self.resource_types.iter().find(|t| t.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_take_the_first_value_found() {
        let path =
            SamplePath::parse("resource_metadata.(instance_flavor_id|(flavor.id)|flavor_id)");
        let sample = json!({"resource_metadata": {"flavor": {"id": "42"}, "flavor_id": "7", "instance_flavor_id": null}});
        assert_eq!(path.find(&sample), Some(&json!("42")));
        let sample = json!({"resource_metadata": {"flavor_id": "7"}});
        assert_eq!(path.find(&sample), Some(&json!("7")));
        assert_eq!(path.find(&json!({"resource_metadata": []})), None);
    }

    #[test]
    fn the_builtin_definitions_load() {
        let definitions = Definitions::builtin(None);
        let cpu = &definitions.meters["cpu"];
        assert_eq!(cpu.archive_policy_name, "ceilometer-low-rate");
        assert_eq!(
            definitions.resources[cpu.resource].resource_type,
            "instance"
        );
        assert!(
            !definitions.meters.contains_key("cpu_util"),
            "no longer mapped in 27.0.0"
        );
        let names: Vec<&str> = definitions
            .archive_policies
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "ceilometer-low",
                "ceilometer-low-rate",
                "ceilometer-high",
                "ceilometer-high-rate"
            ]
        );
        let instance = definitions.resource_type("instance").unwrap();
        assert!(
            !instance.attribute("host").unwrap().required,
            "made optional by 27.0.0"
        );
        let overridden = Definitions::builtin(Some("high"));
        assert_eq!(overridden.meters["cpu"].archive_policy_name, "high");
    }
}
