//! Measures for named metrics of resources that are created when missing,
//! as Gnocchi's InfluxDB and Prometheus endpoints store them
//! (`get_or_create_resource_and_metrics`): a resource is created with its
//! metrics, an existing one gets the metrics it lacks, and the caller must
//! be allowed to post measures to every metric of it. Unlike Gnocchi, a
//! request is one transaction: a refused resource leaves nothing behind.

use super::Work;
use super::auth::{Caller, Rule, Target};
use super::error::{ApiError, ApiResult};
use crate::ingest::{
    Declaration, MeasureWriter, MeasuresByName, MissingResource, NamedMetric, WriterOptions,
};
use crate::pyform::json::Json;
use crate::resource::{AttributeValue, GENERIC, ResourceType, resource_uuid};

/// One resource's measures in a request.
pub struct ResourceWrite<'a> {
    /// The resource id as the request gives it.
    pub original_id: &'a str,
    /// Attributes given to it when it is created.
    pub attributes: Vec<(String, AttributeValue)>,
    pub metrics: &'a MeasuresByName,
}

/// Checks and stores the measures of resources of `type_name`; a
/// `resource_type` is created first when missing.
pub fn store(
    work: &Work<'_>,
    caller: &Caller,
    type_name: &str,
    resource_type: Option<&ResourceType>,
    resources: &[ResourceWrite<'_>],
) -> ApiResult<()> {
    // Past `--max-backlog`, refused before anything is created (backlog.rs).
    work.app.backlog.admit(0)?;
    let measures: u64 = resources
        .iter()
        .flat_map(|resource| resource.metrics.values())
        .map(|measures| measures.len() as u64)
        .sum();
    let mut writer = creating_writer(work, caller)?;
    if let Some(resource_type) = resource_type {
        writer.declare(Declaration::ResourceType(resource_type))?;
    }
    for resource in resources {
        // A new resource is created even when no metric comes with it.
        if !check(work, caller, type_name, resource)? {
            writer.declare(Declaration::Resource {
                id: resource.original_id,
                type_name,
                user_id: None,
                project_id: None,
                attributes: &resource.attributes,
            })?;
        }
        for (name, measures) in resource.metrics {
            let target = NamedMetric {
                resource: resource.original_id,
                missing_resource: MissingResource::Create(type_name),
                name,
                archive_policy_name: None,
                unit: None,
            };
            writer.add_named_measures(&target, measures)?;
        }
    }
    writer.finish()?;
    work.app.backlog.added(measures);
    Ok(())
}

/// A writer that creates what is missing for the caller, metrics with the
/// policy of the archive-policy rules unless one is given.
pub fn creating_writer<'w>(work: &Work<'w>, caller: &Caller) -> ApiResult<MeasureWriter<'w>> {
    let options = WriterOptions {
        creator: caller.creator.clone(),
        create_metrics: true,
        archive_policy_name: None,
    };
    Ok(MeasureWriter::new(
        work.store, work.index, options, work.now,
    )?)
}

/// Gnocchi's checks on an existing resource: of the request's type (else
/// 409), updatable by the caller when it lacks metrics, and every metric
/// of it writable by the caller. Whether it exists.
fn check(
    work: &Work<'_>,
    caller: &Caller,
    type_name: &str,
    resource: &ResourceWrite<'_>,
) -> ApiResult<bool> {
    let id = resource_uuid(resource.original_id, &caller.creator)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let Some(found) = work.index.get_resource(GENERIC, id)? else {
        return Ok(false);
    };
    if found.type_name != type_name {
        return Err(ApiError::with_object(
            axum::http::StatusCode::CONFLICT,
            Json::object([
                ("cause", Json::str("Resource already exists")),
                ("detail", Json::str(id.to_string())),
            ]),
        ));
    }
    let metrics = work.index.resource_metrics(id)?;
    let lacks_metrics = resource
        .metrics
        .keys()
        .any(|name| !metrics.iter().any(|(existing, _)| existing == name));
    if lacks_metrics {
        caller.enforce(Rule::AdminOrServiceOrCreator, Target::resource(&found))?;
    }
    for (_, metric_id) in metrics {
        if let Some(metric) = work.index.get_metric(metric_id)? {
            caller.enforce(
                Rule::AdminOrServiceOrCreator,
                Target::metric(&metric, found.project_id.as_deref()),
            )?;
        }
    }
    Ok(true)
}
