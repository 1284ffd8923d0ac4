//! The deprecated cross-metric aggregation
//! (docs/gnocchi-semantics.md#deprecated-cross-metric-aggregation), still
//! called by older Grafana data sources and gnocchiclient's
//! `metric.aggregation()`: `GET|POST /v1/aggregation/metric` and
//! `POST /v1/aggregation/resource/TYPE/metric/NAME`. Reads the request
//! (Gnocchi's defaults: `needed_overlap` 100), checks the caller, and leaves
//! the aggregation to `ops::aggregates::cross_metric`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use axum::routing::any;
use uuid::Uuid;

use super::auth::{Caller, Rule, Target};
use super::call::{Call, JSON};
use super::error::{ApiError, ApiResult};
use super::methods;
use super::metric::Found;
use super::{App, Work, reply};
use crate::carbonara::Sampling;
use crate::ops;
use crate::ops::aggregates::CrossMetricQuery;
use crate::pyform::json::Json;
use crate::query::aggregates::{Fill, GroupKey};
use crate::resource::{Resource, parse_python_uuid};
use crate::store::{self, Metric, Page};

/// The deprecated cross-metric aggregation.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route(
            "/v1/aggregation/metric",
            methods().get(get_metric).post(post_metric).into(),
        )
        .route(
            "/v1/aggregation/resource/{type}/metric/{name}",
            any(by_resource_any_method),
        )
        .route("/v1/aggregation", methods().custom_action().into())
        .route("/v1/aggregation/{*rest}", any(other_path))
}

fn post_only() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "").with_header(header::ALLOW, "POST")
}

/// `/v1/aggregation/resource/TYPE/metric/NAME`: Gnocchi's routing looks
/// the type up before the method (an unknown type is a 404 for any).
async fn by_resource_any_method(
    State(app): State<Arc<App>>,
    Path((type_name, name)): Path<(String, String)>,
    method: Method,
    call: Call,
) -> ApiResult<Response> {
    if method == Method::POST {
        return by_resource(State(app), Path((type_name, name)), call).await;
    }
    super::resource::resource_type(&app, &type_name).await?;
    Err(post_only())
}

/// Any other path under `/v1/aggregation/`, as pecan routes it there: a
/// path ending in `metric` is the custom action `metric` for GET and POST
/// (which Gnocchi refuses under `resource/` for POST, with no `Allow`);
/// four segments or more go to its lookup of
/// `resource/TYPE/metric/NAME`, a bare 404 when they are not that shape;
/// fewer are refused as a custom action refuses them (an empty `Allow`).
/// Gnocchi passes the segments before a `metric` action, and those after
/// `NAME`, to the handler as its first parameters; carbonara does not
/// (docs/differences.md#serve).
async fn other_path(
    State(app): State<Arc<App>>,
    Path(rest): Path<String>,
    method: Method,
) -> ApiResult<Response> {
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let custom_action =
        matches!(method, Method::GET | Method::POST) && segments.last() == Some(&"metric");
    if custom_action {
        return Err(match (&method, segments.first()) {
            (&Method::POST, Some(&"resource")) => ApiError::new(StatusCode::METHOD_NOT_ALLOWED, ""),
            _ => ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "").with_header(header::ALLOW, ""),
        });
    }
    match segments.as_slice() {
        ["resource", type_name, "metric", _, ..] => {
            super::resource::resource_type(&app, type_name).await?;
            Err(match method {
                Method::POST => ApiError::new(StatusCode::NOT_FOUND, ""),
                _ => post_only(),
            })
        }
        [_, _, _, _, ..] => Err(ApiError::new(StatusCode::NOT_FOUND, "")),
        _ => Err(ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "").with_header(header::ALLOW, "")),
    }
}

/// `GET /v1/aggregation/metric?metric=ID…`.
pub async fn get_metric(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let ids = metric_ids(&call)?;
    by_metric_ids(app, call, ids).await
}

/// The `metric=ID` parameters, in order; one that is not a UUID is
/// Gnocchi's `Invalid input: not a valid value @ data[i]`.
pub fn metric_ids(call: &Call) -> ApiResult<Vec<Uuid>> {
    call.param_list("metric")
        .iter()
        .enumerate()
        .map(|(i, text)| {
            parse_python_uuid(text).ok_or_else(|| {
                ApiError::bad_request(format!("Invalid input: not a valid value @ data[{i}]"))
            })
        })
        .collect()
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
            // Gnocchi's `list_metrics` gives them once each, sorted by id.
            let mut ids = ids;
            ids.sort();
            ids.dedup();
            let mut metrics = Vec::new();
            for id in &ids {
                metrics.push(Found::load(work, found[id].clone())?);
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
fn parameters(call: &Call, work: &Work<'_>) -> ApiResult<CrossMetricQuery> {
    let needed_overlap = call.number_param("needed_overlap")?.unwrap_or(100.0);
    let (start, stop) = (
        call.timestamp_param("start", work.now)?,
        call.timestamp_param("stop", work.now)?,
    );
    let granularity = call.timespan_param("granularity")?;
    let fill = call.fill_param()?;
    let method = call.param("aggregation").unwrap_or("mean").to_owned();
    let reaggregation = call.param("reaggregation").unwrap_or(&method).to_owned();
    Ok(CrossMetricQuery {
        method,
        reaggregation,
        start,
        stop,
        granularity,
        fill: Fill::from_parameters(fill, Some(needed_overlap)),
        resample: None,
    })
}

/// Gnocchi's `get_cross_metric_measures_from_objs`: the caller checked
/// against every metric, then `ops::aggregates::cross_metric`.
fn cross_metric(
    work: &Work<'_>,
    call: &Call,
    caller: Option<&Caller>,
    metrics: &[Found],
) -> ApiResult<Json> {
    let mut query = parameters(call, work)?;
    if metrics.is_empty() {
        return Ok(Json::Array(Vec::new()));
    }
    let identified;
    let caller = match caller {
        Some(caller) => caller,
        None => {
            identified = call.caller()?;
            &identified
        }
    };
    // Gnocchi checks metrics listed without their resource (or reached
    // through one): the resource's project never lets anyone in.
    for found in metrics {
        caller.enforce(
            Rule::AdminOrServiceOrCreatorOrMetricOwner,
            Target::metric(&found.metric, None),
        )?;
    }
    query.resample = match call.param("resample") {
        None => None,
        Some(_) if query.granularity.is_none() => {
            return Err(ApiError::bad_request(
                "A granularity must be specified to resample",
            ));
        }
        Some(text) => Some(
            text.parse::<Sampling>()
                .map_err(|e| ApiError::bad_request(super::input::timespan_reason(&e)))?,
        ),
    };
    let metrics: Vec<Metric> = metrics.iter().map(|f| f.metric.clone()).collect();
    ops::aggregates::cross_metric(work.store, work.index, &metrics, &query, |metrics| {
        if call.bool_param("refresh")? {
            for metric in metrics {
                work.refresh(metric)?;
            }
        }
        Ok(())
    })
}
