//! The deprecated cross-metric aggregation (spec/rest-api.md §11), still
//! called by older Grafana data sources and gnocchiclient's
//! `metric.aggregation()`: `GET|POST /v1/aggregation/metric` and
//! `POST /v1/aggregation/resource/TYPE/metric/NAME`. One metric answers
//! its own series; several go through the aggregates engine as
//! `(aggregate REAGGREGATION (metric (ID AGGREGATION) …))`, resampled
//! first when asked, with Gnocchi's defaults (`needed_overlap` 100) and
//! checks in its order.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use uuid::Uuid;

use super::auth::{Caller, Rule};
use super::call::{Call, JSON};
use super::error::{ApiError, ApiResult};
use super::metric::Found;
use super::{App, Work, reply};
use crate::carbonara::Sampling;
use crate::ops;
use crate::policy::AggregationMethod;
use crate::pyform::document;
use crate::pyform::json::Json;
use crate::query::aggregates::references::IndexLookup;
use crate::query::aggregates::{self, AggregatesQuery, Fill, GroupKey};
use crate::query::{self, Measures, MeasuresQuery};
use crate::resource::{Resource, parse_python_uuid};
use crate::store::{self, Page};
use crate::time::Span;

/// `GET /v1/aggregation/metric?metric=ID…`.
pub async fn get_metric(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let mut ids = Vec::new();
    for (i, text) in call.param_list("metric").iter().enumerate() {
        let id = parse_python_uuid(text).ok_or_else(|| {
            ApiError::bad_request(format!("Invalid input: not a valid value @ data[{i}]"))
        })?;
        ids.push(id);
    }
    by_metric_ids(app, call, ids).await
}

/// `POST /v1/aggregation/metric` with a JSON list of metric ids.
pub async fn post_metric(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let body = call.json_body(JSON)?;
    let items = body
        .as_array()
        .ok_or_else(|| ApiError::invalid_input("expected a list", &[]))?;
    let mut ids = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let id = item
            .as_str()
            .and_then(parse_python_uuid)
            .ok_or_else(|| ApiError::invalid_input("not a valid value", &[i.to_string()]))?;
        ids.push(id);
    }
    by_metric_ids(app, call, ids).await
}

async fn by_metric_ids(app: Arc<App>, call: Call, ids: Vec<Uuid>) -> ApiResult<Response> {
    let answer = app
        .run(move |work| {
            let found = work.index.active_metrics(&ids)?;
            if let Some(missing) = ids.iter().find(|id| !found.contains_key(id)) {
                return Err(ApiError::not_found(
                    store::Error::MetricNotFound(missing.to_string()).to_string(),
                ));
            }
            let mut metrics = Vec::new();
            for id in &ids {
                if !metrics.iter().any(|f: &Found| f.metric.id == *id) {
                    metrics.push(Found::load(work, found[id].clone())?);
                }
            }
            // Gnocchi asks who calls only when it checks the metrics.
            cross_metric(work, &call, None, &metrics)
        })
        .await?;
    Ok(reply::ok(answer))
}

/// `POST /v1/aggregation/resource/TYPE/metric/NAME`: the metric NAME of
/// every resource the body (or `filter=`) finds, grouped by `groupby`.
pub async fn by_resource(
    State(app): State<Arc<App>>,
    Path((type_name, name)): Path<(String, String)>,
    call: Call,
) -> ApiResult<Response> {
    super::resource::resource_type(&app, &type_name).await?;
    let caller = call.caller()?;
    let filter = super::resource::request_filter(&call, &caller)?;
    let mut groupby: Vec<String> = call
        .param_list("groupby")
        .iter()
        .map(|g| (*g).to_owned())
        .collect();
    groupby.sort();
    groupby.dedup();
    let answer = app
        .run(move |work| {
            let search = ops::resource::ResourceSearch {
                type_name,
                filter: super::resource::visible_to(&caller, filter),
                page: Page {
                    sorts: groupby.clone(),
                    ..Page::default()
                },
                ..ops::resource::ResourceSearch::default()
            };
            let resources =
                ops::resource::search(work.index, &search, work.now).map_err(|e| match e {
                    crate::error::Error::Store(store::Error::InvalidPagination(_)) => {
                        ApiError::bad_request("Invalid groupby attribute")
                    }
                    other => other.into(),
                })?;
            let metrics_of = |resources: &[&Resource]| -> ApiResult<Vec<Found>> {
                let mut found = Vec::new();
                for resource in resources {
                    if let Some(metric) = work.index.resource_metric(resource.id, &name)? {
                        found.push(Found::load(work, metric)?);
                    }
                }
                Ok(found)
            };
            if groupby.is_empty() {
                let all: Vec<&Resource> = resources.iter().collect();
                return cross_metric(work, &call, Some(&caller), &metrics_of(&all)?);
            }
            let mut groups: Vec<(GroupKey, Vec<&Resource>)> = Vec::new();
            for resource in &resources {
                let key = ops::aggregates::group_key(resource, &groupby);
                match groups.last_mut() {
                    Some((last, members)) if *last == key => members.push(resource),
                    _ => groups.push((key, vec![resource])),
                }
            }
            let mut answers = Vec::with_capacity(groups.len());
            for (key, members) in groups {
                let measures = cross_metric(work, &call, Some(&caller), &metrics_of(&members)?)?;
                answers.push(Json::object([
                    ("group", Json::Object(key)),
                    ("measures", measures),
                ]));
            }
            Ok(Json::Array(answers))
        })
        .await?;
    Ok(reply::ok(answer))
}

/// The query string, as Gnocchi's `validate_qs` reads it here.
struct Parameters {
    start: Option<crate::time::Timestamp>,
    stop: Option<crate::time::Timestamp>,
    granularity: Option<Span>,
    fill: Fill,
}

fn parameters(call: &Call, work: &Work<'_>) -> ApiResult<Parameters> {
    let needed_overlap = call.number_param("needed_overlap")?.unwrap_or(100.0);
    let (start, stop) = (
        call.timestamp_param("start", work.now)?,
        call.timestamp_param("stop", work.now)?,
    );
    let granularity = call.timespan_param("granularity")?;
    let fill = call.fill_param()?;
    Ok(Parameters {
        start,
        stop,
        granularity,
        fill: Fill::from_parameters(fill, Some(needed_overlap)),
    })
}

/// Gnocchi's `get_cross_metric_measures_from_objs`.
fn cross_metric(
    work: &Work<'_>,
    call: &Call,
    caller: Option<&Caller>,
    metrics: &[Found],
) -> ApiResult<Json> {
    let parameters = parameters(call, work)?;
    let method = call.param("aggregation").unwrap_or("mean").to_owned();
    let reaggregation = call.param("reaggregation").unwrap_or(&method).to_owned();
    if !metrics.is_empty() {
        let identified;
        let caller = match caller {
            Some(caller) => caller,
            None => {
                identified = call.caller()?;
                &identified
            }
        };
        for found in metrics {
            caller.enforce(Rule::AdminOrServiceOrCreatorOrMetricOwner, found.target())?;
        }
    }
    if metrics.is_empty() {
        return Ok(Json::Array(Vec::new()));
    }
    let resample: Option<Sampling> = match call.param("resample") {
        None => None,
        Some(_) if parameters.granularity.is_none() => {
            return Err(ApiError::bad_request(
                "A granularity must be specified to resample",
            ));
        }
        Some(text) => Some(
            text.parse()
                .map_err(|e| ApiError::bad_request(super::input::timespan_reason(&e)))?,
        ),
    };
    let policies = metrics
        .iter()
        .map(|f| work.index.get_archive_policy(&f.metric.archive_policy_name))
        .collect::<Result<Vec<_>, _>>()?;
    let granularities: Vec<Span> = match parameters.granularity {
        Some(granularity) => vec![granularity],
        None => {
            let common: Vec<Span> = policies[0]
                .granularities_descending()
                .into_iter()
                .filter(|g| {
                    policies
                        .iter()
                        .all(|p| p.granularities_descending().contains(g))
                })
                .collect();
            if common.is_empty() {
                return Err(unaggregable(metrics, &method, "No granularity match"));
            }
            common
        }
    };
    let parsed_method = method.parse::<AggregationMethod>().ok();
    for (found, policy) in metrics.iter().zip(&policies) {
        for &granularity in &granularities {
            let stored = policy.granularities_descending().contains(&granularity);
            // Several metrics: the engine finds the method missing at the
            // first granularity (Gnocchi's storage error); one metric: its
            // own message below.
            let method_stored =
                parsed_method.is_some_and(|m| policy.aggregation(m, granularity).is_some());
            if !stored || (metrics.len() > 1 && !method_stored) {
                return Err(query::Error::UnknownGranularity {
                    metric: found.metric.id,
                    method: method.clone(),
                    granularity: crate::pyform::fmt::float_repr(granularity.as_secs_f64()),
                }
                .into());
            }
        }
    }
    if call.bool_param("refresh")? {
        for found in metrics {
            work.exclusively(|| ops::measures::refresh(work.store, work.index, &found.metric))?;
        }
    }
    let aggregation = match parsed_method.filter(|m| policies[0].aggregation_methods.contains(m)) {
        Some(aggregation) => aggregation,
        None => {
            return Err(query::Error::UnknownAggregation {
                metric: metrics[0].metric.id,
                method,
            }
            .into());
        }
    };
    if let [found] = metrics {
        let mut measures = Measures { blocks: Vec::new() };
        for &granularity in &granularities {
            let read = MeasuresQuery {
                aggregation,
                granularity: Some(granularity),
                start: parameters.start,
                stop: parameters.stop,
                resample,
            };
            let series = query::get_measures(work.store, found.metric.id, &policies[0], &read)?;
            measures.blocks.extend(series.blocks);
        }
        return Ok(Json::Array(
            measures.iter().map(|m| document::measure(&m)).collect(),
        ));
    }
    let references: Vec<Value> = metrics
        .iter()
        .map(|f| Value::from(vec![f.metric.id.to_string(), method.clone()]))
        .collect();
    let mut selection = vec![Value::from("metric")];
    selection.extend(references);
    let selection = match call.param("resample") {
        Some(period) => Value::from(vec![
            Value::from("resample"),
            Value::from(method.as_str()),
            Value::from(period),
            Value::from(selection),
        ]),
        None => Value::from(selection),
    };
    let tree = Value::from(vec![
        Value::from("aggregate"),
        Value::from(reaggregation.as_str()),
        selection,
    ]);
    let mut operations = aggregates::parse_operations(&tree.to_string())?;
    let references = aggregates::references::metric_references(
        &mut operations,
        &mut IndexLookup::new(work.index),
    )?;
    let query = AggregatesQuery {
        start: parameters.start,
        stop: parameters.stop,
        granularity: parameters.granularity,
        fill: parameters.fill,
    };
    let result = aggregates::aggregate(work.store, &operations, &references, &query)?;
    Ok(aggregated(result.body(None)))
}

/// The `aggregated` list of an aggregates body.
fn aggregated(body: Json) -> Json {
    let field = |json: Json, name: &str| match json {
        Json::Object(fields) => fields
            .into_iter()
            .find(|(key, _)| key == name)
            .map_or(Json::Array(Vec::new()), |(_, value)| value),
        _ => Json::Array(Vec::new()),
    };
    field(field(body, "measures"), "aggregated")
}

/// Gnocchi's `UnAggregableTimeseries`.
fn unaggregable(metrics: &[Found], method: &str, reason: &str) -> ApiError {
    ApiError::with_object(
        StatusCode::BAD_REQUEST,
        Json::object([
            ("cause", Json::str("Metrics cannot be aggregated")),
            ("reason", Json::str(reason)),
            (
                "detail",
                Json::Array(
                    metrics
                        .iter()
                        .map(|f| {
                            Json::Array(vec![Json::str(f.metric.id.to_string()), Json::str(method)])
                        })
                        .collect(),
                ),
            ),
        ]),
    )
}
