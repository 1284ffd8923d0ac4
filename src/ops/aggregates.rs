//! Dynamic aggregates in resource mode (spec/aggregates.md §6): the
//! resources of a type that match a search supply the metrics the
//! operations name by (glob) name, all together or grouped by attributes.
//! The engine itself is `query::aggregates`; this finds the resources, in
//! Gnocchi's order, and builds the groups.

use crate::error::Result;
use crate::filter::Filter;
use crate::pyform::document::{self, Shape};
use crate::pyform::json::Json;
use crate::query::aggregates::references::{IndexLookup, MetricLookup, ResourceMetrics};
use crate::query::aggregates::{
    self, AggregatesQuery, AggregatesResult, Group, GroupKey, Operation,
};
use crate::resource::Resource;
use crate::store::{Index, Page, ResourceQuery, Store};
use crate::time::Timestamp;

/// Which resources supply the metrics.
#[derive(Debug, Clone)]
pub struct ResourceSelection {
    pub type_name: String,
    /// All the type's resources when `None`.
    pub filter: Option<Filter>,
    /// Attributes to group the resources by; none for one result.
    pub groupby: Vec<String>,
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
    let mut supplied = Vec::with_capacity(resources.len());
    for resource in &resources {
        let mut metrics = Vec::with_capacity(resource.metrics.len());
        for (name, id) in &resource.metrics {
            if let Some(metric) = lookup.by_id(*id)? {
                metrics.push((name.clone(), metric));
            }
        }
        supplied.push(ResourceMetrics {
            id: resource.id,
            metrics,
        });
    }
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
                (key, ResourceResult { result, references })
            })
            .collect(),
    ))
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
