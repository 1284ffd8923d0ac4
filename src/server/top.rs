//! carbonara's top-N extension (`query::top`): `GET /v1/top?metric=ID…`
//! ranks metrics, `POST /v1/top/resource/TYPE?metric=NAME` the resources
//! a search filter finds by their metric NAME. The caller must be allowed
//! to read the measures of every metric ranked.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderName;
use axum::response::Response;
use uuid::Uuid;

use super::auth::{Rule, Target};
use super::call::Call;
use super::error::{ApiError, ApiResult};
use super::metric::Found;
use super::{App, Work, methods, reply};
use crate::ops::resource::{self as resources, ResourceSearch};
use crate::policy::AggregationMethod;
use crate::pyform::json::Json;
use crate::query::top::{self, Lacking, Ranking, TopQuery};
use crate::store;

/// How many resources a resource ranking left out, as a header of its
/// answer.
const LEFT_OUT: HeaderName = HeaderName::from_static("x-carbonara-left-out");

pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/v1/top", methods().get(metrics).into())
        .route(
            "/v1/top/resource/{type}",
            methods().post(by_resource).into(),
        )
}

/// `GET /v1/top?metric=ID&metric=ID…`: a metric unknown is a 404, one
/// whose policy lacks the method or granularity too (as `GET
/// …/measures`).
async fn metrics(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let ids = super::aggregation::metric_ids(&call)?;
    if ids.is_empty() {
        return Err(ApiError::argument("metric", "Required"));
    }
    let ranking = app
        .run(move |work| {
            let query = top_query(&call, work)?;
            let caller = call.caller()?;
            let found = work.index.active_metrics(&ids)?;
            let mut metrics = Vec::with_capacity(ids.len());
            for id in &ids {
                let metric = found.get(id).cloned().ok_or_else(|| {
                    ApiError::not_found(store::Error::MetricNotFound(id.to_string()).to_string())
                })?;
                let found = Found::load(work, metric)?;
                caller.enforce(Rule::AdminOrServiceOrCreatorOrMetricOwner, found.target())?;
                metrics.push((found.metric, None));
            }
            let candidates = top::candidates(work.index, metrics)?;
            Ok(top::rank(work.store, &candidates, &query, Lacking::Refuse)?)
        })
        .await?;
    Ok(answer(&ranking))
}

/// `POST /v1/top/resource/TYPE?metric=NAME`, the body (or `filter=`) a
/// search filter as on `/v1/search/resource/TYPE`: the resources the
/// caller may see, ranked by their metric NAME; those left out counted in
/// `x-carbonara-left-out`.
async fn by_resource(
    State(app): State<Arc<App>>,
    Path(type_name): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    super::resource::resource_type(&app, &type_name).await?;
    let caller = call.caller()?;
    let filter = super::resource::request_filter(&call, &caller)?;
    let name = call
        .param("metric")
        .ok_or_else(|| ApiError::argument("metric", "Required"))?
        .to_owned();
    let ranking = app
        .run(move |work| {
            let query = top_query(&call, work)?;
            let search = ResourceSearch {
                type_name,
                filter: super::resource::visible_to(&caller, filter),
                ..ResourceSearch::default()
            };
            let found = resources::search(work.index, &search, work.now)?;
            let (candidates, without) = top::resource_candidates(work.index, &found, &name)?;
            let projects: HashMap<Uuid, Option<&str>> = found
                .iter()
                .map(|r| (r.id, r.project_id.as_deref()))
                .collect();
            for candidate in &candidates {
                let project = candidate.resource.and_then(|id| projects[&id]);
                caller.enforce(
                    Rule::AdminOrServiceOrCreatorOrMetricOwner,
                    Target::metric(&candidate.metric, project),
                )?;
            }
            let mut ranking = top::rank(work.store, &candidates, &query, Lacking::LeaveOut)?;
            ranking.left_out += without;
            Ok(ranking)
        })
        .await?;
    Ok(reply::with_header(
        answer(&ranking),
        LEFT_OUT,
        &ranking.left_out.to_string(),
    ))
}

/// The query string: `n` (10), `reduce` (max), `aggregation` (mean),
/// `granularity`, `start`, `stop`, `ascending`.
fn top_query(call: &Call, work: &Work<'_>) -> ApiResult<TopQuery> {
    let limit = match call.param("n") {
        None => 10,
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| ApiError::argument("n", "Must be a positive integer"))?,
    };
    let reduce = call
        .param("reduce")
        .unwrap_or("max")
        .parse()
        .map_err(|reason: String| ApiError::argument("reduce", &reason))?;
    let aggregation = call
        .param("aggregation")
        .unwrap_or("mean")
        .parse::<AggregationMethod>()
        .map_err(|e| ApiError::argument("aggregation", &e.to_string()))?;
    Ok(TopQuery {
        aggregation,
        granularity: call.timespan_param("granularity")?,
        start: call.timestamp_param("start", work.now)?,
        stop: call.timestamp_param("stop", work.now)?,
        reduce,
        limit,
        ascending: call.bool_param("ascending")?,
    })
}

/// 200 with the ranking: `[{"rank": 1, "metric": ID, ["resource": ID,]
/// "value": V}, …]`.
fn answer(ranking: &Ranking) -> Response {
    reply::ok(Json::Array(
        ranking.ranked.iter().map(top::Ranked::document).collect(),
    ))
}
