//! Top-N: metrics ranked by one value each, the stored series of one
//! method over a window reduced to a number (`carbonara top`, `GET
//! /v1/top`, `POST /v1/top/resource/TYPE`). Each candidate's splits are
//! read once, the candidates in parallel.

use std::str::FromStr;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;
use uuid::Uuid;

use super::Error;
use super::measures::read_aggregations;
use crate::policy::{Aggregation, AggregationMethod, ArchivePolicy};
use crate::pyform::json::Json;
use crate::resource::Resource;
use crate::store::{Index, Metric, Store};
use crate::time::{Span, Timestamp};

/// How a series becomes the one value it is ranked by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reduce {
    Max,
    Min,
    Mean,
    Sum,
    /// The value of the latest point in the window.
    Last,
}

impl Reduce {
    /// The series' value; `None` when it has no point that is a number
    /// (NaN points are skipped).
    fn apply(self, values: &[f64]) -> Option<f64> {
        let mut numbers = values.iter().copied().filter(|v| !v.is_nan());
        match self {
            Reduce::Max => numbers.reduce(f64::max),
            Reduce::Min => numbers.reduce(f64::min),
            Reduce::Sum => numbers.reduce(|a, b| a + b),
            Reduce::Mean => {
                let (count, sum) = numbers.fold((0usize, 0.0), |(n, s), v| (n + 1, s + v));
                (count > 0).then(|| sum / count as f64)
            }
            Reduce::Last => numbers.next_back(),
        }
    }
}

impl FromStr for Reduce {
    type Err = String;

    fn from_str(text: &str) -> Result<Reduce, String> {
        Ok(match text {
            "max" => Reduce::Max,
            "min" => Reduce::Min,
            "mean" => Reduce::Mean,
            "sum" => Reduce::Sum,
            "last" => Reduce::Last,
            _ => {
                return Err(format!(
                    "unknown reduction '{text}': expected max, min, mean, sum or last"
                ));
            }
        })
    }
}

/// What to rank by and how many to keep.
#[derive(Debug, Clone)]
pub struct TopQuery {
    pub aggregation: AggregationMethod,
    /// The granularity read; by default each candidate's finest.
    pub granularity: Option<Span>,
    /// Inclusive, rounded down to the granularity.
    pub start: Option<Timestamp>,
    /// Exclusive.
    pub stop: Option<Timestamp>,
    pub reduce: Reduce,
    /// How many to keep, at least 1.
    pub limit: usize,
    /// Smallest first.
    pub ascending: bool,
}

/// A metric to rank, with the resource it stands for when resources are
/// ranked.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub metric: Metric,
    pub resource: Option<Uuid>,
    pub policy: Arc<ArchivePolicy>,
}

/// The candidates for metrics, each with its archive policy (read once a
/// policy).
pub fn candidates(
    index: &Index,
    metrics: impl IntoIterator<Item = (Metric, Option<Uuid>)>,
) -> Result<Vec<Candidate>, Error> {
    let mut policies: HashMap<String, Arc<ArchivePolicy>> = HashMap::new();
    let mut candidates = Vec::new();
    for (metric, resource) in metrics {
        let policy = match policies.get(&metric.archive_policy_name) {
            Some(policy) => policy.clone(),
            None => {
                let policy = Arc::new(index.get_archive_policy(&metric.archive_policy_name)?);
                policies.insert(metric.archive_policy_name.clone(), policy.clone());
                policy
            }
        };
        candidates.push(Candidate {
            metric,
            resource,
            policy,
        });
    }
    Ok(candidates)
}

/// The metric `name` of each resource, as candidates standing for their
/// resources, and how many resources have no such metric.
pub fn resource_candidates(
    index: &Index,
    resources: &[Resource],
    name: &str,
) -> Result<(Vec<Candidate>, usize), Error> {
    let named: Vec<(Uuid, Uuid)> = resources
        .iter()
        .filter_map(|resource| {
            let (_, metric) = resource.metrics.iter().find(|(n, _)| n == name)?;
            Some((resource.id, *metric))
        })
        .collect();
    let ids: Vec<Uuid> = named.iter().map(|(_, metric)| *metric).collect();
    let mut metrics = index.active_metrics(&ids)?;
    let found = named
        .into_iter()
        .filter_map(|(resource, id)| Some((metrics.remove(&id)?, Some(resource))));
    let candidates = candidates(index, found)?;
    let without = resources.len() - candidates.len();
    Ok((candidates, without))
}

/// What to do with a candidate whose policy lacks the method or
/// granularity asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lacking {
    /// An error naming the metric (metrics named one by one).
    Refuse,
    /// Left out of the ranking, counted (resources found by a search).
    LeaveOut,
}

/// One place of the ranking.
#[derive(Debug, Clone, PartialEq)]
pub struct Ranked {
    /// From 1.
    pub rank: usize,
    pub metric: Uuid,
    pub resource: Option<Uuid>,
    pub value: f64,
}

impl Ranked {
    /// `{"rank": 1, "metric": ID, "resource": ID, "value": 4.0}`, the
    /// resource only when resources are ranked.
    pub fn document(&self) -> Json {
        let mut fields = vec![
            ("rank", Json::Int(self.rank as i64)),
            ("metric", Json::str(self.metric.to_string())),
        ];
        if let Some(resource) = self.resource {
            fields.push(("resource", Json::str(resource.to_string())));
        }
        fields.push(("value", Json::Float(self.value)));
        Json::object(fields)
    }
}

/// The first places, and how many candidates had no value to rank by.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Ranking {
    pub ranked: Vec<Ranked>,
    /// Candidates without the method or granularity (when left out) or
    /// without a point in the window.
    pub left_out: usize,
}

/// Ranks the candidates (each metric once) by their value, largest first
/// unless `query.ascending`; equal values by resource, then metric id.
pub fn rank(
    store: &Store,
    candidates: &[Candidate],
    query: &TopQuery,
    lacking: Lacking,
) -> Result<Ranking, Error> {
    let mut seen = HashSet::new();
    let mut readable = Vec::with_capacity(candidates.len());
    let mut left_out = 0;
    for candidate in candidates {
        if !seen.insert(candidate.metric.id) {
            continue;
        }
        match (aggregation(candidate, query), lacking) {
            (Ok(aggregation), _) => readable.push((candidate, aggregation)),
            (Err(_), Lacking::LeaveOut) => left_out += 1,
            (Err(error), Lacking::Refuse) => return Err(error),
        }
    }
    let values = readable
        .par_iter()
        .map(|(candidate, aggregation)| {
            let series = read_aggregations(
                store,
                candidate.metric.id,
                std::slice::from_ref(aggregation),
                query.start,
                query.stop,
            )?;
            Ok(series
                .first()
                .and_then(|points| query.reduce.apply(&points.values)))
        })
        .collect::<Result<Vec<Option<f64>>, Error>>()?;
    let mut valued: Vec<(f64, &Candidate)> = Vec::with_capacity(values.len());
    for ((candidate, _), value) in readable.iter().zip(values) {
        match value {
            Some(value) => valued.push((value, candidate)),
            None => left_out += 1,
        }
    }
    valued.sort_by(|(a, x), (b, y)| {
        let by_value = match query.ascending {
            true => a.total_cmp(b),
            false => b.total_cmp(a),
        };
        by_value.then_with(|| order_of(x).cmp(&order_of(y)))
    });
    let ranked = valued
        .into_iter()
        .take(query.limit)
        .enumerate()
        .map(|(i, (value, candidate))| Ranked {
            rank: i + 1,
            metric: candidate.metric.id,
            resource: candidate.resource,
            value,
        })
        .collect();
    Ok(Ranking { ranked, left_out })
}

/// How equal values are ordered: by resource, then metric id.
fn order_of(candidate: &Candidate) -> (Option<Uuid>, Uuid) {
    (candidate.resource, candidate.metric.id)
}

/// The aggregation a candidate is read at: the granularity asked, else
/// the finest of its policy.
fn aggregation(candidate: &Candidate, query: &TopQuery) -> Result<Aggregation, Error> {
    let policy = &candidate.policy;
    if !policy.aggregation_methods.contains(&query.aggregation) {
        return Err(Error::UnknownAggregation {
            metric: candidate.metric.id,
            method: query.aggregation.to_string(),
        });
    }
    let finest = policy.definition.iter().map(|d| d.granularity).min();
    let granularity = query.granularity.or(finest);
    granularity
        .and_then(|g| policy.aggregation(query.aggregation, g))
        .ok_or_else(|| Error::UnknownGranularity {
            metric: candidate.metric.id,
            method: query.aggregation.to_string(),
            granularity: granularity.map_or_else(String::new, |g| {
                crate::pyform::fmt::float_repr(g.as_secs_f64())
            }),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reductions_skip_nan_and_say_none_for_nothing() {
        let values = [3.0, f64::NAN, 1.0, 2.0];
        assert_eq!(Reduce::Max.apply(&values), Some(3.0));
        assert_eq!(Reduce::Min.apply(&values), Some(1.0));
        assert_eq!(Reduce::Sum.apply(&values), Some(6.0));
        assert_eq!(Reduce::Mean.apply(&values), Some(2.0));
        assert_eq!(Reduce::Last.apply(&values), Some(2.0));
        assert_eq!(Reduce::Max.apply(&[]), None);
        assert_eq!(Reduce::Mean.apply(&[f64::NAN]), None);
    }

    #[test]
    fn reductions_are_named_by_their_words() {
        let names = ["max", "min", "mean", "sum", "last"];
        let reductions = [
            Reduce::Max,
            Reduce::Min,
            Reduce::Mean,
            Reduce::Sum,
            Reduce::Last,
        ];
        for (name, reduce) in names.into_iter().zip(reductions) {
            assert_eq!(name.parse::<Reduce>(), Ok(reduce));
        }
        assert!("median".parse::<Reduce>().unwrap_err().contains("median"));
    }
}
