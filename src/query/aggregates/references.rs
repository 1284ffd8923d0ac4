//! The series the operations read: one [`Reference`] per (metric,
//! aggregation) column, built from metric ids (metric-id mode) or from the
//! metrics of resources whose names match the patterns (resource mode),
//! and the checks Gnocchi makes on their archive policies before reading
//! (docs/gnocchi-semantics.md#references and #granularities there).

use std::collections::HashMap;

use uuid::Uuid;

use super::Error;
use super::operation::{MetricRef, Operation};
use crate::policy::{Aggregation, AggregationMethod, ArchivePolicy, fnmatch};
use crate::pyform::json::Json;
use crate::query::Error as QueryError;
use crate::store::{Error as StoreError, Index, Metric};
use crate::time::Span;

/// One column of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// What `metric` nodes select it by: `[metric id, aggregation]`, or
    /// `[name pattern, aggregation]` in resource mode.
    pub lookup_key: MetricRef,
    /// The metric id (metric-id mode) or metric name (resource mode), as
    /// error details and output keys name it.
    pub name: String,
    pub metric: Uuid,
    /// The resource the metric was found on (resource mode).
    pub resource: Option<Uuid>,
    pub policy: ArchivePolicy,
}

impl Reference {
    pub fn aggregation_name(&self) -> &str {
        &self.lookup_key.aggregation
    }

    /// The stored aggregation this reference reads at `granularity`.
    pub fn aggregation(&self, granularity: Span) -> Option<Aggregation> {
        let method: AggregationMethod = self.aggregation_name().parse().ok()?;
        self.policy.aggregation(method, granularity)
    }

    fn pair(&self) -> Json {
        Json::Array(vec![
            Json::str(&self.name),
            Json::str(self.aggregation_name()),
        ])
    }
}

/// A metric as the references need it.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexedMetric {
    pub id: Uuid,
    pub name: Option<String>,
    pub policy: ArchivePolicy,
}

/// Finds metrics for metric-id mode.
pub trait MetricLookup {
    fn by_id(&mut self, id: Uuid) -> Result<Option<IndexedMetric>, Error>;
    /// carbonara also takes a metric's name where Gnocchi needs its id.
    fn by_name(&mut self, name: &str) -> Result<Option<IndexedMetric>, Error>;
}

/// Finds metrics in a store's index, each policy read once.
pub struct IndexLookup<'a> {
    index: &'a Index,
    policies: HashMap<String, ArchivePolicy>,
}

impl<'a> IndexLookup<'a> {
    pub fn new(index: &'a Index) -> Self {
        IndexLookup {
            index,
            policies: HashMap::new(),
        }
    }

    fn indexed(&mut self, metric: Metric) -> Result<IndexedMetric, Error> {
        let policy = match self.policies.get(&metric.archive_policy_name) {
            Some(policy) => policy.clone(),
            None => {
                let policy = self
                    .index
                    .get_archive_policy(&metric.archive_policy_name)
                    .map_err(QueryError::from)?;
                self.policies
                    .insert(metric.archive_policy_name.clone(), policy.clone());
                policy
            }
        };
        Ok(IndexedMetric {
            id: metric.id,
            name: metric.name,
            policy,
        })
    }
}

impl MetricLookup for IndexLookup<'_> {
    fn by_id(&mut self, id: Uuid) -> Result<Option<IndexedMetric>, Error> {
        match self.index.get_metric(id).map_err(QueryError::from)? {
            Some(metric) => self.indexed(metric).map(Some),
            None => Ok(None),
        }
    }

    fn by_name(&mut self, name: &str) -> Result<Option<IndexedMetric>, Error> {
        match self.index.find_metric(name) {
            Ok(metric) => self.indexed(metric).map(Some),
            Err(StoreError::MetricNotFound(_)) => Ok(None),
            Err(other) => Err(QueryError::from(other).into()),
        }
    }
}

/// Metric-id mode: every reference must be a metric id (or, in carbonara,
/// a metric name); the operations are rewritten to name each metric by its
/// canonical id, which is also the reference's lookup key.
pub fn metric_references(
    operations: &mut Operation,
    lookup: &mut impl MetricLookup,
) -> Result<Vec<Reference>, Error> {
    let written = operations.references();
    let mut resolved: Vec<(String, Option<IndexedMetric>)> = Vec::new();
    let mut missing = Vec::new();
    for pair in &written {
        if resolved.iter().any(|(text, _)| *text == pair.reference) {
            continue;
        }
        let metric = match Uuid::parse_str(&pair.reference) {
            Ok(id) => {
                let found = lookup.by_id(id)?;
                if found.is_none() {
                    missing.push(id.to_string());
                }
                found
            }
            Err(_) => match lookup.by_name(&pair.reference)? {
                Some(metric) => Some(metric),
                None => {
                    return Err(Error::InvalidReferences {
                        reason: "badly formed hexadecimal UUID string".to_owned(),
                        references: written,
                    });
                }
            },
        };
        resolved.push((pair.reference.clone(), metric));
    }
    if !missing.is_empty() {
        missing.sort();
        missing.dedup();
        return Err(Error::UnknownMetrics(missing));
    }
    let canonical = |text: &str| -> String {
        resolved
            .iter()
            .find(|(written, _)| written == text)
            .and_then(|(_, metric)| metric.as_ref())
            .map_or_else(|| text.to_owned(), |m| m.id.to_string())
    };
    operations.map_references(&canonical);
    Ok(operations
        .references()
        .into_iter()
        .map(|lookup_key| {
            let metric = resolved
                .iter()
                .filter_map(|(_, metric)| metric.as_ref())
                .find(|m| m.id.to_string() == lookup_key.reference)
                .expect("every reference was resolved")
                .clone();
            Reference {
                name: metric.id.to_string(),
                metric: metric.id,
                resource: None,
                policy: metric.policy,
                lookup_key,
            }
        })
        .collect())
}

/// A resource and its named metrics, for resource mode.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceMetrics {
    pub id: Uuid,
    /// Each metric with its name on this resource.
    pub metrics: Vec<(String, IndexedMetric)>,
}

/// Resource mode: for each resource in order, each `(pattern, aggregation)`
/// of the operations, each of its metrics whose name matches the shell
/// pattern becomes a reference looked up by `[pattern, aggregation]`.
pub fn resource_references(
    operations: &Operation,
    resources: &[ResourceMetrics],
) -> Vec<Reference> {
    let patterns = operations.references();
    let mut references = Vec::new();
    for resource in resources {
        for pattern in &patterns {
            for (name, metric) in &resource.metrics {
                if fnmatch(&pattern.reference, name) {
                    references.push(Reference {
                        lookup_key: pattern.clone(),
                        name: name.clone(),
                        metric: metric.id,
                        resource: Some(resource.id),
                        policy: metric.policy.clone(),
                    });
                }
            }
        }
    }
    references
}

/// The sorted distinct patterns, as "Metric [...] does not exist" lists them.
pub fn patterns(operations: &Operation) -> Vec<String> {
    let mut patterns: Vec<String> = operations
        .references()
        .into_iter()
        .map(|r| r.reference)
        .collect();
    patterns.sort();
    patterns.dedup();
    patterns
}

/// The granularities to evaluate, coarsest first: the one asked for, or
/// those every reference's policy has; then every reference must store its
/// aggregation at each of them (Gnocchi's `processor.get_measures`).
pub fn granularities(
    references: &[Reference],
    requested: Option<Span>,
) -> Result<Vec<Span>, Error> {
    let mut granularities = match requested {
        Some(granularity) => vec![granularity],
        None => {
            let first = references
                .first()
                .map(|r| r.policy.granularities_descending())
                .unwrap_or_default();
            let common: Vec<Span> = first
                .into_iter()
                .filter(|g| {
                    references
                        .iter()
                        .all(|r| r.policy.definition.iter().any(|d| d.granularity == *g))
                })
                .collect();
            if common.is_empty() {
                return Err(Error::Unaggregable {
                    reason: "No granularity match".to_owned(),
                    detail: Json::Array(references.iter().map(Reference::pair).collect()),
                });
            }
            common
        }
    };
    let mut missing = Vec::new();
    for reference in references {
        let known = reference
            .aggregation_name()
            .parse::<AggregationMethod>()
            .is_ok_and(|m| reference.policy.aggregation_methods.contains(&m));
        if !known {
            return Err(Error::UnknownAggregation {
                metric: reference.metric.to_string(),
                aggregation: reference.aggregation_name().to_owned(),
            });
        }
        let stored = |g: &Span| {
            reference
                .policy
                .definition
                .iter()
                .any(|d| d.granularity == *g)
        };
        if let Some(absent) = granularities.iter().find(|g| !stored(g)) {
            missing.push(Json::Array(vec![
                Json::str(&reference.name),
                Json::str(reference.aggregation_name()),
                Json::Float(absent.as_secs_f64()),
            ]));
        }
    }
    if !missing.is_empty() {
        return Err(Error::Unaggregable {
            reason: "Granularities are missing".to_owned(),
            detail: Json::Array(missing),
        });
    }
    granularities.sort_by(|a, b| b.cmp(a));
    Ok(granularities)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::aggregates::parse_operations;

    fn policy(seconds: &[i64]) -> ArchivePolicy {
        let definition = seconds
            .iter()
            .map(|&s| {
                crate::policy::Definition::new(Some(Span::from_secs(s)), Some(10), None).unwrap()
            })
            .collect();
        ArchivePolicy::new("p", 0, definition, AggregationMethod::defaults()).unwrap()
    }

    fn metric(byte: u8, seconds: &[i64]) -> IndexedMetric {
        IndexedMetric {
            id: Uuid::from_bytes([byte; 16]),
            name: Some(format!("m{byte}")),
            policy: policy(seconds),
        }
    }

    #[test]
    fn resources_give_one_reference_per_matching_metric() {
        let operations = parse_operations("(metric (cpu.* mean) (*way max))").unwrap();
        let resources = vec![
            ResourceMetrics {
                id: Uuid::from_bytes([1; 16]),
                metrics: vec![
                    ("cpu.util".to_owned(), metric(1, &[60])),
                    ("noway".to_owned(), metric(2, &[60])),
                    ("disk".to_owned(), metric(3, &[60])),
                ],
            },
            ResourceMetrics {
                id: Uuid::from_bytes([2; 16]),
                metrics: vec![("cpu.idle".to_owned(), metric(4, &[60]))],
            },
        ];
        let references = resource_references(&operations, &resources);
        let found: Vec<(&str, &str, u8)> = references
            .iter()
            .map(|r| {
                (
                    r.name.as_str(),
                    r.lookup_key.reference.as_str(),
                    r.resource.unwrap().as_bytes()[0],
                )
            })
            .collect();
        assert_eq!(
            found,
            [
                ("cpu.util", "cpu.*", 1),
                ("noway", "*way", 1),
                ("cpu.idle", "cpu.*", 2)
            ]
        );
        assert_eq!(patterns(&operations), ["*way", "cpu.*"]);
    }

    #[test]
    fn granularities_must_be_common_and_present() {
        let reference = |byte, seconds: &[i64], aggregation: &str| Reference {
            lookup_key: MetricRef {
                reference: format!("m{byte}"),
                aggregation: aggregation.to_owned(),
            },
            name: format!("m{byte}"),
            metric: Uuid::from_bytes([byte; 16]),
            resource: None,
            policy: policy(seconds),
        };
        let both = [
            reference(1, &[1, 60, 300], "mean"),
            reference(2, &[60, 300], "max"),
        ];
        assert_eq!(
            granularities(&both, None).unwrap(),
            [Span::from_secs(300), Span::from_secs(60)]
        );
        let err = granularities(&both, Some(Span::from_secs(1))).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Metrics cannot be aggregated: Granularities are missing (detail: [[\"m2\", \"max\", 1.0]])"
        );
        let disjoint = [reference(1, &[1], "mean"), reference(2, &[5], "mean")];
        assert!(
            granularities(&disjoint, None)
                .unwrap_err()
                .to_string()
                .contains("No granularity match")
        );
        let unknown = [reference(1, &[1], "what?")];
        assert_eq!(granularities(&unknown, None).unwrap_err().status(), 404);
    }
}
