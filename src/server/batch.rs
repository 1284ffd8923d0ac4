//! `/v1/batch/metrics/measures` and `/v1/batch/resources/metrics/measures`:
//! measures of many metrics in one request, all stored or none, with
//! Gnocchi's aggregated refusals (`Unknown metrics: a, b`, `Unknown
//! resources`) and its order of checks. Bodies are read by
//! `crate::ingest::batch`; metrics are found by `crate::ops::measures`.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::response::Response;
use uuid::Uuid;

use super::App;
use super::auth::{Caller, Rule, Target};
use super::backfill;
use super::call::{Call, JSON, parse_bool};
use super::commit::{Measures, Prepare};
use super::error::{ApiError, ApiResult};
use super::methods;
use super::reply;
use crate::ingest::batch::{self, ResourceBatch};
use crate::ingest::{MissingResource, NamedMetric};
use crate::ops;
use crate::resource::GENERIC;
use crate::store::{self, Metric};

/// This module's paths and the handlers of each.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/batch/metrics/measures", methods().post(metrics).into())
        .route(
            "/v1/batch/resources/metrics/measures",
            methods().post(resources).into(),
        )
}

/// `POST /v1/batch/metrics/measures`: `{"<metric id>": [measures]}`.
pub async fn metrics(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let backfill = backfill::requested(&call)?;
    let prepare: Prepare = Box::new(move |work| {
        // Gnocchi reads the body before it knows who calls.
        let body = call.json_body(JSON)?;
        let mut by_id: HashMap<Uuid, Vec<_>> = HashMap::new();
        let mut order = Vec::new();
        // A repeated id (in another spelling) keeps its last measures,
        // as the validated Python dict does.
        for (id, item) in batch::by_metric(&body, work.now)? {
            if by_id.insert(id, item.measures).is_none() {
                order.push(id);
            }
        }
        let found = work.index.active_metrics(&order)?;
        let mut unknown: Vec<Uuid> = order
            .iter()
            .copied()
            .filter(|id| !found.contains_key(id))
            .collect();
        if !unknown.is_empty() {
            unknown.sort_unstable();
            let names = unknown.iter().map(Uuid::to_string).collect();
            return Err(ops::Error::UnknownMetrics(names).into());
        }
        let caller = call.caller()?;
        for id in &order {
            may_post(&caller, &found[id])?;
        }
        Ok(order
            .into_iter()
            .filter_map(|id| by_id.remove(&id).map(|m| (id, m)))
            .collect::<Measures>())
    });
    if let Some(replace) = backfill {
        return backfill::store(app, prepare, replace).await;
    }
    app.store_measures(None, prepare).await?;
    Ok(reply::accepted())
}

/// Gnocchi's `post measures` rule on a metric.
fn may_post(caller: &Caller, metric: &Metric) -> ApiResult<()> {
    caller.enforce(Rule::AdminOrServiceOrCreator, Target::metric(metric, None))
}

/// `POST /v1/batch/resources/metrics/measures[?create_metrics=true]`:
/// `{"<resource id>": {"<metric name>": measures | {"measures": …,
/// "archive_policy_name"?, "unit"?}}}`.
pub async fn resources(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let caller = call.caller()?;
    let body = call.json_body(JSON)?;
    let now = crate::time::Timestamp::now();
    let batch = batch::by_resource(&body, &caller.creator, now)?;
    if batch.iter().all(|resource| resource.metrics.is_empty()) {
        return Ok(reply::accepted());
    }
    let create_metrics = match call.param("create_metrics") {
        Some(text) => parse_bool("create_metrics", text)?,
        None => false,
    };
    let backfill = backfill::requested(&call)?;
    let backfilling = backfill.is_some();
    let prepare: Prepare = Box::new(move |work| {
        let resolved = ops::measures::resolve_by_resource(work.index, &batch, create_metrics)
            .map_err(|e| match e {
                // A policy named in the body: the body's fault.
                crate::error::Error::Store(error @ store::Error::ArchivePolicyNotFound(_)) => {
                    ApiError::bad_request(error.to_string())
                }
                other => other.into(),
            })?;
        for (metric, _) in &resolved.existing {
            may_post(&caller, metric)?;
        }
        if resolved.missing.is_empty() {
            return Ok(existing_measures(batch, resolved.existing));
        }
        may_add_metrics(work, &caller, &batch, &resolved)?;
        // Metrics to create: a transaction of its own, with the index.
        store_creating(work, &caller, &batch, &resolved, backfilling)
    });
    if let Some(replace) = backfill {
        return backfill::store(app, prepare, replace).await;
    }
    app.store_measures(None, prepare).await?;
    Ok(reply::accepted())
}

/// The measures of a batch whose metrics all exist.
fn existing_measures(
    mut batch: Vec<ResourceBatch>,
    existing: Vec<(Metric, (usize, usize))>,
) -> Measures {
    existing
        .into_iter()
        .map(|(metric, (r, m))| {
            let measures = std::mem::take(&mut batch[r].metrics[m].measures);
            (metric.id, measures)
        })
        .collect()
}

/// The `update resource` rule on every existing resource the batch adds
/// metrics to, as `POST /v1/resource/TYPE/ID/metric` asks. Gnocchi 4.7.1
/// checks nothing there, which lets any project add metrics to another
/// project's resources; carbonara refuses that.
fn may_add_metrics(
    work: &super::Work<'_>,
    caller: &Caller,
    batch: &[ResourceBatch],
    resolved: &ops::measures::ResolvedBatch,
) -> ApiResult<()> {
    for ((r, _), _) in &resolved.missing {
        if let Some(resource) = work.index.get_resource(GENERIC, batch[*r].id)? {
            caller.enforce(Rule::AdminOrServiceOrCreator, Target::resource(&resource))?;
        }
    }
    Ok(())
}

/// Creates the batch's missing metrics and stores every measure, in one
/// transaction with the index changes; when backfilling, but for the
/// measures their metrics' back windows would drop, returned to be
/// backfilled.
fn store_creating(
    work: &super::Work<'_>,
    caller: &Caller,
    batch: &[ResourceBatch],
    resolved: &ops::measures::ResolvedBatch,
    backfill: bool,
) -> ApiResult<Measures> {
    let mut writer = super::named::creating_writer(work, caller)?;
    if backfill {
        writer.hold_back_late();
    }
    for (metric, (r, m)) in &resolved.existing {
        writer.add_to_metric(metric.id, &batch[*r].metrics[*m].measures)?;
    }
    for ((r, m), policy) in &resolved.missing {
        let (resource, item) = (batch[*r].id.to_string(), &batch[*r].metrics[*m]);
        let target = NamedMetric {
            resource: &resource,
            missing_resource: MissingResource::Refuse,
            name: &item.name,
            archive_policy_name: Some(policy),
            unit: item.unit.as_deref(),
        };
        // Created even without measures, as in Gnocchi.
        writer.add_named_measures(&target, &item.measures)?;
    }
    let held = writer.take_held_back();
    writer.finish()?;
    Ok(held)
}
