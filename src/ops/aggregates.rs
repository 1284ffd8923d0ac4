//! Dynamic aggregates in resource mode
//! (docs/gnocchi-semantics.md#resource-mode): the
//! resources of a type that match a search supply the metrics the
//! operations name by (glob) name, all together or grouped by attributes.
//! The engine itself is `query::aggregates`; this finds the resources, in
//! Gnocchi's order, and builds the groups.
//!
//! Also the deprecated cross-metric aggregation (docs/gnocchi-semantics.md#deprecated-cross-metric-aggregation):
//! one metric answers its own series; several go through the engine as
//! `(aggregate REAGGREGATION (metric (ID AGGREGATION) …))`, resampled first
//! when asked, with Gnocchi's checks in its order.

use crate::carbonara::Sampling;
use crate::error::{Error, Result};
use crate::filter::Filter;
use crate::policy::AggregationMethod;
use crate::pyform;
use crate::pyform::document::{self, Shape};
use crate::pyform::json::Json;
use crate::query::aggregates::operation::{MetricRef, Operand, Reducer};
use crate::query::aggregates::references::{IndexLookup, MetricLookup, ResourceMetrics};
use crate::query::aggregates::{
    self, AggregatesQuery, AggregatesResult, Fill, Group, GroupKey, Operation, history,
};
use crate::query::{self, Measures, MeasuresQuery};
use crate::resource::Resource;
use crate::store::{Index, Metric, Page, ResourceQuery, Store};
use crate::time::{Span, Timestamp};

/// Which resources supply the metrics.
#[derive(Debug, Clone)]
pub struct ResourceSelection {
    pub type_name: String,
    /// All the type's resources when `None`.
    pub filter: Option<Filter>,
    /// Attributes to group the resources by; none for one result.
    pub groupby: Vec<String>,
    /// With `groupby`: group every revision by its own values (Gnocchi's
    /// `use_history`).
    pub use_history: bool,
}

/// A result, and the resources whose metrics it used (Gnocchi's
/// `references` with `details=true`).
pub struct ResourceResult {
    pub result: AggregatesResult,
    pub references: Vec<Resource>,
}

pub enum ResourceAggregates {
    All(ResourceResult),
    /// One result per group that has a matching metric.
    Grouped(Vec<(GroupKey, ResourceResult)>),
    /// One result per group of revisions that has points (`use_history`).
    ByRevision(Vec<RevisionGroup>),
}

/// A group of revisions and its points (`use_history`).
pub struct RevisionGroup {
    pub key: GroupKey,
    pub result: AggregatesResult,
    /// The group's last revision read, as Gnocchi's `references` show it.
    pub reference: Json,
}

/// Evaluates `operations` over the metrics of the selected resources.
pub fn over_resources(
    store: &Store,
    index: &Index,
    operations: &Operation,
    selection: &ResourceSelection,
    query: &AggregatesQuery,
    now: Timestamp,
) -> Result<ResourceAggregates> {
    index.get_resource_type(&selection.type_name)?;
    let mut groupby = selection.groupby.clone();
    groupby.sort();
    groupby.dedup();
    if selection.use_history && !groupby.is_empty() {
        return over_history(store, index, operations, selection, &groupby, query, now);
    }
    // Gnocchi's order: by revision, then id; with groups, by the group's
    // attributes, then id.
    let sorts = match groupby.is_empty() {
        true => Vec::new(),
        false => groupby.iter().cloned().chain(["id".to_owned()]).collect(),
    };
    let page = Page {
        sorts,
        ..Page::default()
    };
    let resources = index.search_resources(&ResourceQuery {
        type_name: &selection.type_name,
        filter: selection.filter.as_ref(),
        history: false,
        details: true,
        page: &page,
        now,
    })?;
    let mut lookup = IndexLookup::new(index);
    let supplied = resources
        .iter()
        .map(|resource| metrics_of(resource, &mut lookup))
        .collect::<Result<Vec<_>>>()?;
    let referenced = |group: &[ResourceMetrics]| -> Vec<Resource> {
        let used: Vec<_> = aggregates::references::resource_references(operations, group)
            .into_iter()
            .filter_map(|r| r.resource)
            .collect();
        resources
            .iter()
            .filter(|r| used.contains(&r.id))
            .cloned()
            .collect()
    };
    if groupby.is_empty() {
        let result = aggregates::aggregate_resources(store, operations, &supplied, query)?;
        return Ok(ResourceAggregates::All(ResourceResult {
            result,
            references: referenced(&supplied),
        }));
    }
    let mut groups: Vec<Group> = Vec::new();
    for (resource, metrics) in resources.iter().zip(supplied) {
        let key = group_key(resource, &groupby);
        match groups.last_mut() {
            Some(group) if group.key == key => group.resources.push(metrics),
            _ => groups.push(Group {
                key,
                resources: vec![metrics],
            }),
        }
    }
    let results = aggregates::aggregate_groups(store, operations, &groups, query)?;
    Ok(ResourceAggregates::Grouped(
        results
            .into_iter()
            .map(|(key, result)| {
                let group = groups
                    .iter()
                    .find(|g| g.key == key)
                    .expect("every result is of a group");
                let references = referenced(&group.resources);
                let found = ResourceResult { result, references };
                (key, found)
            })
            .collect(),
    ))
}

/// A resource's metrics as the engine takes them.
fn metrics_of(resource: &Resource, lookup: &mut IndexLookup) -> Result<ResourceMetrics> {
    let mut metrics = Vec::with_capacity(resource.metrics.len());
    for (name, id) in &resource.metrics {
        if let Some(metric) = lookup.by_id(*id)? {
            metrics.push((name.clone(), metric));
        }
    }
    Ok(ResourceMetrics {
        id: resource.id,
        metrics,
    })
}

/// `groupby` with `use_history` (docs/gnocchi-semantics.md#grouping-by-past-values):
/// Gnocchi's `Grouper`. Every revision the search finds (in the period,
/// when both bounds are given) is grouped by its own values; each is read
/// over its window, alone, and its `aggregated` points weighted by how much
/// of their period the window covers; a group's neighbouring points at one
/// timestamp are summed. Groups left without points are left out; none
/// left is Gnocchi's 404 for the patterns.
fn over_history(
    store: &Store,
    index: &Index,
    operations: &Operation,
    selection: &ResourceSelection,
    groupby: &[String],
    query: &AggregatesQuery,
    now: Timestamp,
) -> Result<ResourceAggregates> {
    let page = Page {
        sorts: groupby.to_vec(),
        ..Page::default()
    };
    let found = index.search_resources(&ResourceQuery {
        type_name: &selection.type_name,
        filter: selection.filter.as_ref(),
        history: true,
        details: true,
        page: &page,
        now,
    })?;
    let (start, stop) = history::bounds(query.start, query.stop);
    fn revision(r: &Resource) -> history::Revision<'_> {
        history::Revision {
            original_resource_id: &r.original_resource_id,
            revision_start: r.revision_start,
            revision_end: r.revision_end,
        }
    }
    let revisions: Vec<Resource> = found
        .into_iter()
        .filter(|r| history::in_period(&revision(r), start, stop))
        .collect();
    let seen: Vec<history::Revision> = revisions.iter().map(revision).collect();
    // Sorted by `str(value or '')` (stable), grouped by the values.
    let mut keyed: Vec<(Vec<String>, GroupKey, usize, history::Window)> =
        history::windows(&seen, start, stop)
            .into_iter()
            .map(|(i, window)| {
                let key = group_key(&revisions[i], groupby);
                let text = key.iter().map(|(_, v)| history::sort_text(v)).collect();
                (text, key, i, window)
            })
            .collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    let mut groups: Vec<(GroupKey, Vec<(usize, history::Window)>)> = Vec::new();
    for (_, key, i, window) in keyed {
        match groups.last_mut() {
            Some((last, members)) if *last == key => members.push((i, window)),
            _ => groups.push((key, vec![(i, window)])),
        }
    }
    let mut lookup = IndexLookup::new(index);
    let mut results = Vec::new();
    for (key, members) in groups {
        let mut points = Vec::new();
        let mut reference = Json::Null;
        for (i, window) in history::join_sequential(members)? {
            let supplied = metrics_of(&revisions[i], &mut lookup)?;
            let read = AggregatesQuery {
                start: window.start,
                stop: window.stop,
                ..*query
            };
            let result =
                match aggregates::aggregate_resources(store, operations, &[supplied], &read) {
                    Ok(result) => result,
                    Err(aggregates::Error::NoSuchMetric(_)) => continue,
                    Err(other) => return Err(other.into()),
                };
            // Gnocchi keeps the references of the group's last revision read.
            reference = revision_document(&revisions[i], window, (start, stop));
            points.extend(history::weighted(&result, window)?);
        }
        let points = history::sum_same_time(points);
        if !points.is_empty() {
            results.push(RevisionGroup {
                key,
                result: history::result(&points),
                reference,
            });
        }
    }
    if results.is_empty() {
        return Err(
            aggregates::Error::NoSuchMetric(aggregates::references::patterns(operations)).into(),
        );
    }
    Ok(ResourceAggregates::ByRevision(results))
}

/// A revision as Gnocchi's `references` show it under `use_history`: its
/// history row with the window it was read over after `metrics`
/// (`search_start`, `search_end`, which the `Grouper` set on it). A bound
/// the query gave is a numpy value, written to the second; one from the
/// revision itself a datetime, written in full.
fn revision_document(
    revision: &Resource,
    window: history::Window,
    bounds: (Option<Timestamp>, Option<Timestamp>),
) -> Json {
    let written = |t: Option<Timestamp>, from_query: bool| match t {
        None => Json::Null,
        Some(t) if from_query => Json::str(t.to_api_string()),
        Some(t) => Json::str(t.to_isoformat()),
    };
    let mut fields = document::resource_fields(revision, Shape::History);
    let after_metrics = fields
        .iter()
        .position(|(name, _)| name == "metrics")
        .map_or(fields.len(), |p| p + 1);
    fields.insert(
        after_metrics,
        (
            "search_end".to_owned(),
            written(window.stop, bounds.1.is_some()),
        ),
    );
    fields.insert(
        after_metrics,
        (
            "search_start".to_owned(),
            written(window.start, bounds.0.is_some()),
        ),
    );
    Json::Object(fields)
}

impl ResourceAggregates {
    /// Gnocchi's response body: one, or one per group; with `details`,
    /// the resources used as `references`.
    pub fn body(&self, details: bool) -> Json {
        let body = |found: &ResourceResult| {
            let references = details.then(|| {
                Json::Array(
                    found
                        .references
                        .iter()
                        .map(|r| Json::Object(document::resource_fields(r, Shape::Current)))
                        .collect(),
                )
            });
            found.result.body(references)
        };
        match self {
            ResourceAggregates::All(found) => body(found),
            ResourceAggregates::Grouped(groups) => {
                let bodies: Vec<(GroupKey, Json)> = groups
                    .iter()
                    .map(|(key, found)| (key.clone(), body(found)))
                    .collect();
                aggregates::output::grouped_body(&bodies)
            }
            ResourceAggregates::ByRevision(groups) => {
                let bodies: Vec<(GroupKey, Json)> = groups
                    .iter()
                    .map(|group| {
                        let references =
                            details.then(|| Json::Array(vec![group.reference.clone()]));
                        (group.key.clone(), group.result.body(references))
                    })
                    .collect();
                aggregates::output::revision_grouped_body(&bodies)
            }
        }
    }
}

/// A resource's values of the `groupby` attributes (as its document gives
/// them; `null` when it has no such field).
pub fn group_key(resource: &Resource, groupby: &[String]) -> GroupKey {
    let fields = document::resource_fields(resource, Shape::Current);
    groupby
        .iter()
        .map(|attribute| {
            let value = fields
                .iter()
                .find(|(name, _)| name == attribute)
                .map_or(Json::Null, |(_, value)| value.clone());
            (attribute.clone(), value)
        })
        .collect()
}

/// What a cross-metric aggregation asks, its query string read.
#[derive(Debug, Clone)]
pub struct CrossMetricQuery {
    /// `aggregation`: the method read from each metric.
    pub method: String,
    /// `reaggregation`: the method across the metrics (Gnocchi's default
    /// is `method`).
    pub reaggregation: String,
    pub start: Option<Timestamp>,
    pub stop: Option<Timestamp>,
    pub granularity: Option<Span>,
    pub fill: Fill,
    /// Resample each metric first (only with a granularity).
    pub resample: Option<Sampling>,
}

/// Gnocchi's `get_cross_metric_measures_from_objs`: the `[timestamp,
/// granularity, value]` list answered for `metrics`. `refresh` runs where
/// Gnocchi reads its `refresh` argument, after the granularity checks, and
/// processes the metrics' waiting measures when asked.
pub fn cross_metric<E: From<Error>>(
    store: &Store,
    index: &Index,
    metrics: &[Metric],
    query: &CrossMetricQuery,
    refresh: impl FnOnce(&[Metric]) -> std::result::Result<(), E>,
) -> std::result::Result<Json, E> {
    let method = &query.method;
    let policies = metrics
        .iter()
        .map(|m| index.get_archive_policy(&m.archive_policy_name))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(Error::from)?;
    let Some(first_policy) = policies.first() else {
        return Ok(Json::Array(Vec::new()));
    };
    // Gnocchi checks the granularities in the order of the first metric's
    // definition, as created (`AggregationController.get_cross_metric_measures_from_objs`).
    let granularities: Vec<Span> = match query.granularity {
        Some(granularity) => vec![granularity],
        None => {
            let common: Vec<Span> = first_policy
                .definition
                .iter()
                .map(|d| d.granularity)
                .filter(|g| {
                    policies
                        .iter()
                        .all(|p| p.definition.iter().any(|d| d.granularity == *g))
                })
                .collect();
            if common.is_empty() {
                return Err(Error::from(aggregates::Error::Unaggregable {
                    reason: "No granularity match".to_owned(),
                    detail: Json::Array(
                        metrics
                            .iter()
                            .map(|m| {
                                Json::Array(vec![Json::str(m.id.to_string()), Json::str(method)])
                            })
                            .collect(),
                    ),
                })
                .into());
            }
            common
        }
    };
    let unknown = |metric: &Metric, granularity: Span| {
        E::from(Error::from(query::Error::UnknownGranularity {
            metric: metric.id,
            method: method.clone(),
            granularity: pyform::fmt::float_repr(granularity.as_secs_f64()),
        }))
    };
    for (metric, policy) in metrics.iter().zip(&policies) {
        for &granularity in &granularities {
            if !policy
                .definition
                .iter()
                .any(|d| d.granularity == granularity)
            {
                return Err(unknown(metric, granularity));
            }
        }
    }
    refresh(metrics)?;
    let parsed_method = method.parse::<AggregationMethod>().ok();
    // Several metrics: the engine finds the method missing and names the
    // first granularity of the metric's definition (Gnocchi's
    // `processor.get_measures`); one metric: its own message below.
    if metrics.len() > 1 {
        for (metric, policy) in metrics.iter().zip(&policies) {
            if !parsed_method.is_some_and(|m| policy.aggregation_methods.contains(&m)) {
                return Err(unknown(metric, policy.definition[0].granularity));
            }
        }
    }
    let Some(aggregation) = parsed_method.filter(|m| first_policy.aggregation_methods.contains(m))
    else {
        return Err(Error::from(query::Error::UnknownAggregation {
            metric: metrics[0].id,
            method: method.clone(),
        })
        .into());
    };
    if let [metric] = metrics {
        let mut measures = Measures { blocks: Vec::new() };
        // Coarsest first, as Gnocchi answers.
        let mut granularities = granularities;
        granularities.sort_by(|a, b| b.cmp(a));
        for &granularity in &granularities {
            let read = MeasuresQuery {
                aggregation,
                granularity: Some(granularity),
                start: query.start,
                stop: query.stop,
                resample: query.resample,
            };
            let series =
                query::get_measures(store, metric.id, first_policy, &read).map_err(Error::from)?;
            measures.blocks.extend(series.blocks);
        }
        return Ok(Json::Array(
            measures.iter().map(|m| document::measure(&m)).collect(),
        ));
    }
    let aggregated = across(store, index, metrics, query).map_err(Error::from)?;
    Ok(aggregated)
}

/// Several metrics: `(aggregate REAGGREGATION (metric (ID AGGREGATION) …))`,
/// the metrics resampled first when asked; the `aggregated` list.
fn across(
    store: &Store,
    index: &Index,
    metrics: &[Metric],
    query: &CrossMetricQuery,
) -> std::result::Result<Json, aggregates::Error> {
    let ids: Vec<String> = metrics.iter().map(|m| m.id.to_string()).collect();
    let mut operations = operations(&ids, query)?;
    let references =
        aggregates::references::metric_references(&mut operations, &mut IndexLookup::new(index))?;
    let aggregates_query = AggregatesQuery {
        start: query.start,
        stop: query.stop,
        granularity: query.granularity,
        fill: query.fill,
    };
    let result = aggregates::aggregate(store, &operations, &references, &aggregates_query)?;
    let field = |json: Json, name: &str| match json {
        Json::Object(fields) => fields
            .into_iter()
            .find(|(key, _)| key == name)
            .map_or(Json::Array(Vec::new()), |(_, value)| value),
        _ => Json::Array(Vec::new()),
    };
    Ok(field(result.measures_json(), "aggregated"))
}

/// `(aggregate REAGGREGATION (metric (ID AGGREGATION) …))`, with
/// `(resample AGGREGATION PERIOD …)` around the metrics when asked.
fn operations(
    ids: &[String],
    query: &CrossMetricQuery,
) -> std::result::Result<Operation, aggregates::Error> {
    let selection = Operation::Metric {
        references: ids
            .iter()
            .map(|id| MetricRef {
                reference: id.clone(),
                aggregation: query.method.clone(),
            })
            .collect(),
        listed: true,
    };
    let selection = match query.resample {
        None => selection,
        Some(sampling) => {
            let sampling = match sampling {
                Sampling::Span(span) => Some(span),
                // The operations language has no calendar periods.
                Sampling::Calendar(_) => None,
            };
            let (Some(reducer), Some(sampling)) = (Reducer::parse(&query.method), sampling) else {
                return Err(invalid_operations());
            };
            Operation::Resample {
                reducer,
                sampling,
                operand: Box::new(Operand::Operation(selection)),
            }
        }
    };
    let reducer = Reducer::parse(&query.reaggregation).ok_or_else(invalid_operations)?;
    Ok(Operation::Aggregate {
        reducer,
        operand: Box::new(Operand::Operation(selection)),
    })
}

/// What the operations schema answers when a method or the resampling
/// period cannot be read: no shape fits the top node, and the first one
/// tried (`metric`) gives the message.
fn invalid_operations() -> aggregates::Error {
    aggregates::Error::InvalidInput {
        reason: "'aggregate' operation invalid for dictionary value @ data['operations']"
            .to_owned(),
        detail: vec!["operations".to_owned()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(method: &str, reaggregation: &str, resample: Option<&str>) -> CrossMetricQuery {
        CrossMetricQuery {
            method: method.to_owned(),
            reaggregation: reaggregation.to_owned(),
            start: None,
            stop: None,
            granularity: Some(Span::from_secs(1)),
            fill: Fill::Dropna,
            resample: resample.map(|p| p.parse().unwrap()),
        }
    }

    /// The tree Gnocchi builds, as text, read by the operations parser.
    fn parsed(method: &str, reaggregation: &str, resample: Option<&str>) -> String {
        let metrics = format!(r#"["metric", ["a", "{method}"], ["b", "{method}"]]"#);
        let selection = match resample {
            Some(period) => format!(r#"["resample", "{method}", "{period}", {metrics}]"#),
            None => metrics,
        };
        format!(r#"["aggregate", "{reaggregation}", {selection}]"#)
    }

    fn both(method: &str, reaggregation: &str, resample: Option<&str>) -> (String, String) {
        let ids = ["a".to_owned(), "b".to_owned()];
        let built = operations(&ids, &query(method, reaggregation, resample));
        let text = parsed(method, reaggregation, resample);
        let read = aggregates::parse_operations(&text);
        (format!("{built:?}"), format!("{read:?}"))
    }

    #[test]
    fn operations_are_those_of_gnocchis_tree() {
        for (method, reaggregation, resample) in [
            ("mean", "mean", None),
            ("rate:max", "sum", None),
            ("mean", "max", Some("60")),
            ("min", "std", Some("1 hour")),
        ] {
            let (built, read) = both(method, reaggregation, resample);
            assert!(built.starts_with("Ok("), "{built}");
            assert_eq!(built, read);
        }
    }

    #[test]
    fn unreadable_methods_and_periods_fail_as_the_schema_fails() {
        for (method, reaggregation, resample) in [
            ("mean", "wtf", None),
            ("95pct", "mean", Some("60")),
            ("mean", "last", Some("60")),
            ("mean", "mean", Some("H")),
        ] {
            let (built, read) = both(method, reaggregation, resample);
            assert!(built.starts_with("Err(InvalidInput"), "{built}");
            assert_eq!(built, read);
        }
    }
}
