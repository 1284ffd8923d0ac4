//! Moving a metric to another archive policy with its history (`metric
//! update --archive-policy-name`, `PATCH /v1/metric/ID`): the old archive
//! read under the metric's sack lock, the new one planned by
//! `carbonara::derive` and committed with the index's new policy name in
//! one transaction (`process::rewrite`). The plan's document is shared by
//! the command line and the API.

use std::collections::HashSet;
use std::time::Duration;

use super::Error;
use crate::carbonara::derive::{self, Exactness, Move, Source, Stored};
use crate::carbonara::split::split_points;
use crate::carbonara::{SplitKey, codec};
use crate::error::Result;
use crate::policy::AggregationMethod;
use crate::process::{self, rewrite};
use crate::pyform::json::Json;
use crate::store::object::ArchiveObject;
use crate::store::{Index, Metric, Store};
use crate::time::Span;

/// One (method, granularity) of the new policy as the move leaves it.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedAggregation {
    pub method: AggregationMethod,
    pub granularity: Span,
    pub source: Source,
    pub exactness: Exactness,
    /// Points it holds after the move.
    pub points: usize,
}

/// What a move did, or would do on a dry run.
#[derive(Debug, Clone, PartialEq)]
pub struct PolicyMove {
    /// The metric, with its new policy unless this was a dry run.
    pub metric: Metric,
    pub from: String,
    pub to: String,
    pub aggregations: Vec<PlannedAggregation>,
    pub warnings: Vec<String>,
}

impl PolicyMove {
    /// The plan as `--dry-run` and `?dry_run=true` answer it.
    pub fn plan_document(&self) -> Json {
        let aggregations = self
            .aggregations
            .iter()
            .map(|planned| {
                Json::object([
                    ("aggregation_method", Json::str(planned.method.to_string())),
                    (
                        "granularity",
                        Json::Float(planned.granularity.as_secs_f64()),
                    ),
                    ("source", Json::str(source_text(&planned.source))),
                    ("exactness", Json::str(planned.exactness.as_str())),
                    ("points", Json::Int(planned.points as i64)),
                ])
            })
            .collect();
        Json::object([
            ("metric", Json::str(self.metric.id.to_string())),
            ("from", Json::str(&self.from)),
            ("to", Json::str(&self.to)),
            ("aggregations", Json::Array(aggregations)),
            ("warnings", self.warnings_document()),
        ])
    }

    pub fn warnings_document(&self) -> Json {
        Json::Array(self.warnings.iter().map(Json::str).collect())
    }
}

/// `kept`, `sum, count at 60.0`, `none`.
pub fn source_text(source: &Source) -> String {
    match source {
        Source::Kept => "kept".to_owned(),
        Source::Derived {
            granularity,
            methods,
        } => {
            let methods: Vec<String> = methods.iter().map(|m| m.to_string()).collect();
            format!("{} at {granularity}", methods.join(", "))
        }
        Source::Nothing => "none".to_owned(),
    }
}

/// Moves `metric` to the archive policy `to`, rewriting its archive, or
/// only plans it when `dry_run`. Waits up to `timeout` for a pass of
/// another process that holds the metric's sack.
pub fn move_to_policy(
    store: &Store,
    index: &Index,
    metric: &Metric,
    to: &str,
    dry_run: bool,
    timeout: Duration,
) -> Result<PolicyMove> {
    let new_policy = index.get_archive_policy(to)?;
    let moved = rewrite::rewrite_metric::<_, crate::error::Error>(
        store,
        index,
        metric,
        timeout,
        |archive| {
            let (id, old_policy, storage) = (metric.id, archive.policy, archive.storage);
            let listed = storage.list_metric_split_keys(id, &old_policy.aggregation_methods)?;
            let mut stored = Stored::new();
            for (method, keys) in &listed {
                for granularity in old_policy.granularities_descending() {
                    let keys: Vec<_> = keys
                        .iter()
                        .copied()
                        .filter(|key| key.granularity == granularity)
                        .collect();
                    if !keys.is_empty() {
                        stored.insert(
                            (*method, granularity),
                            storage.read_splits(id, *method, &keys)?,
                        );
                    }
                }
            }
            let bound = storage.read_bound(id)?;
            let moved = derive::move_archive(old_policy, &new_policy, &stored, bound);
            if moved.leaves_nothing(&stored) {
                return Err(Error::LeavesNothing {
                    metric: id,
                    from: old_policy.name.clone(),
                    to: new_policy.name.clone(),
                }
                .into());
            }
            let mut outcome = PolicyMove {
                metric: archive.metric.clone(),
                from: old_policy.name.clone(),
                to: new_policy.name.clone(),
                aggregations: moved
                    .aggregations
                    .iter()
                    .map(|m| PlannedAggregation {
                        method: m.aggregation.method,
                        granularity: m.aggregation.granularity,
                        source: m.source.clone(),
                        exactness: m.exactness,
                        points: m.points.len(),
                    })
                    .collect(),
                warnings: moved.warnings().map(str::to_owned).collect(),
            };
            if dry_run {
                return Ok(rewrite::Rewrite::unchanged(outcome));
            }
            let changes = changes(id, moved, &listed)?;
            outcome.metric.archive_policy_name = new_policy.name.clone();
            let name = new_policy.name.clone();
            Ok(rewrite::Rewrite {
                changes,
                index_change: Some(Box::new(move |index: &Index| {
                    index.set_metric_archive_policy(id, &name)
                })),
                outcome,
            })
        },
    )?;
    // Gnocchi's file driver reads a method's splits from its directory:
    // one for each method of the new policy, none for the others. Done
    // after the commit, so a move killed before it leaves the old archive
    // as it was; killed after, the same move run again finishes it.
    if !dry_run
        && let Some(archive) = store.storage().as_file()
        && archive.has_metric(metric.id)
    {
        archive.create_metric_dirs(metric.id, &new_policy.aggregation_methods)?;
        let dropped: Vec<AggregationMethod> = AggregationMethod::all()
            .into_iter()
            .filter(|method| !new_policy.aggregation_methods.contains(method))
            .collect();
        archive.remove_aggregation_dirs(metric.id, &dropped)?;
    }
    Ok(moved)
}

/// The new splits and bound series, and the deletion of every old split
/// not written again.
fn changes(
    id: uuid::Uuid,
    moved: Move,
    listed: &[(AggregationMethod, Vec<SplitKey>)],
) -> Result<rewrite::ArchiveChanges> {
    let mut changes = rewrite::ArchiveChanges::default();
    for aggregation in moved.aggregations {
        let method = aggregation.aggregation.method;
        for (key, points) in split_points(&aggregation.points, aggregation.aggregation.granularity)
        {
            changes.writes.push((
                ArchiveObject::Split {
                    metric: id,
                    method,
                    key,
                },
                codec::encode_split(key, &points),
            ));
        }
    }
    let written: HashSet<ArchiveObject> = changes.writes.iter().map(|(o, _)| *o).collect();
    for (method, keys) in listed {
        for &key in keys {
            let object = ArchiveObject::Split {
                metric: id,
                method: *method,
                key,
            };
            if !written.contains(&object) {
                changes.deletes.push(object);
            }
        }
    }
    if let Some(bound) = moved.bound {
        let bytes = codec::encode_bound(&bound)
            .map_err(|source| process::Error::Encode { metric: id, source })?;
        changes.writes.push((ArchiveObject::Bound(id), bytes));
    }
    Ok(changes)
}
