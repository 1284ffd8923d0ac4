//! `/v1/search/resource/TYPE` (Gnocchi's filter language, as a JSON body
//! or `filter=`) and `/v1/search/metric` (the measure value search).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode, header};
use axum::response::Response;
use axum::routing::any;

use super::App;
use super::auth::{Rule, Target};
use super::call::Call;
use super::error::{ApiError, ApiResult};
use super::methods;
use super::reply;
use super::resource::{request_filter, search_response};
use crate::ops::resource::ResourceSearch;
use crate::policy::AggregationMethod;
use crate::pyform::json::Json;
use crate::query::{MeasurePredicate, MeasureSearch};
use crate::resource::parse_python_uuid;
use crate::time::{self, Timestamp};

/// This module's paths and the handlers of each. Gnocchi's routing looks
/// the resource type up before it looks at the method or the rest of the
/// path: an unknown type is a 404 whatever follows.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/search/resource", methods().custom_action().into())
        .route("/v1/search/resource/{type}", any(resources_any_method))
        .route("/v1/search/resource/{type}/{*rest}", any(below_type))
        .route("/v1/search/metric", methods().post(metrics).into())
        .route("/v1/search/metric/{*rest}", any(below_metric))
}

fn post_only() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "").with_header(header::ALLOW, "POST")
}

/// `/v1/search/resource/TYPE`, whatever the method.
async fn resources_any_method(
    State(app): State<Arc<App>>,
    Path(type_name): Path<String>,
    method: Method,
    call: Call,
) -> ApiResult<Response> {
    if method == Method::POST {
        return resources(State(app), Path(type_name), call).await;
    }
    super::resource::resource_type(&app, &type_name).await?;
    Err(post_only())
}

/// `/v1/search/resource/TYPE/…`: pecan finds no handler under the type's
/// search (a bare 404) for a POST, and refuses other methods.
async fn below_type(
    State(app): State<Arc<App>>,
    Path((type_name, _)): Path<(String, String)>,
    method: Method,
) -> ApiResult<Response> {
    super::resource::resource_type(&app, &type_name).await?;
    Err(match method {
        Method::POST => ApiError::new(StatusCode::NOT_FOUND, ""),
        _ => post_only(),
    })
}

/// `/v1/search/metric/…`: other methods than POST are refused as on
/// `/v1/search/metric` (a POST is a 404, docs/differences.md#serve).
async fn below_metric(method: Method) -> ApiError {
    match method {
        Method::POST => super::root::not_found().await,
        _ => post_only(),
    }
}

pub async fn resources(
    State(app): State<Arc<App>>,
    Path(type_name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    super::resource::resource_type(&app, &type_name).await?;
    let caller = call.caller()?;
    let search = ResourceSearch {
        type_name,
        filter: request_filter(&call, &caller)?,
        ..ResourceSearch::default()
    };
    search_response(
        &app,
        &call,
        search,
        &caller,
        Rule::AdminOrServiceOrCreatorOrResourceOwner,
    )
    .await
}

pub async fn metrics(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let caller = call.caller()?;
    let ids: Vec<uuid::Uuid> = call
        .param_list("metric_id")
        .iter()
        .filter_map(|id| parse_python_uuid(id))
        .collect();
    if !call.has_body() {
        return Err(ApiError::bad_request("No query specified in body"));
    }
    let body = call.json_body(&["application/json"])?;
    let predicate = MeasurePredicate::parse(&body.to_string())?;
    let now = Timestamp::now();
    let timestamp = |name: &str| -> ApiResult<Option<Timestamp>> {
        call.param(name)
            .map(|t| {
                time::parse_timestamp(t, now)
                    .map_err(|_| ApiError::bad_request(format!("Invalid value for {name}")))
            })
            .transpose()
    };
    let (start, stop) = (timestamp("start")?, timestamp("stop")?);
    let aggregation = call.param("aggregation").unwrap_or("mean");
    let aggregation = aggregation
        .parse::<AggregationMethod>()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let granularities = call
        .param_list("granularity")
        .iter()
        .map(|g| time::parse_timespan(g).map_err(|e| ApiError::bad_request(e.to_string())))
        .collect::<ApiResult<Vec<_>>>()?;
    let search = MeasureSearch {
        predicate,
        aggregation,
        granularities,
        start,
        stop,
    };
    let found = app
        .run(move |work| {
            let found = crate::ops::metric::search_measures(work.store, work.index, &ids, &search)?;
            // Gnocchi checks metrics listed without their resource: the
            // resource's project never lets anyone in.
            for (metric, _) in &found {
                caller.enforce(
                    Rule::AdminOrCreatorOrMetricOwner,
                    Target::metric(metric, None),
                )?;
            }
            Ok(found)
        })
        .await?;
    Ok(reply::ok(Json::Object(
        found
            .iter()
            .map(|(metric, measures)| {
                (
                    metric.id.to_string(),
                    Json::Array(
                        measures
                            .iter()
                            .map(crate::pyform::document::measure)
                            .collect(),
                    ),
                )
            })
            .collect(),
    )))
}
