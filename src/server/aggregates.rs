//! `POST /v1/aggregates`: Gnocchi's dynamic aggregates
//! (docs/gnocchi-semantics.md#dynamic-aggregates)
//! over the engine of `crate::query::aggregates`, by metric ids or over
//! the metrics of the resources a search finds (`resource_type`, `search`,
//! `groupby`, `use_history`), with `details` adding the metrics or
//! resources used.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use uuid::Uuid;

use super::App;
use super::auth::Rule;
use super::call::{Call, JSON};
use super::error::{ApiError, ApiResult};
use super::methods;
use super::reply;
use crate::filter::{Filter, Raw};
use crate::ops::aggregates::ResourceSelection;
use crate::pyform::json::Json;
use crate::query::aggregates::references::{IndexLookup, IndexedMetric, MetricLookup};
use crate::query::aggregates::{self, AggregatesQuery, Fill};
use crate::time::Timestamp;

/// This module's paths and the handlers of each.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/v1/aggregates", methods().post(aggregates).into())
}

impl From<aggregates::Error> for ApiError {
    fn from(error: aggregates::Error) -> ApiError {
        use aggregates::Error as E;
        match error {
            E::Query(error) => error.into(),
            E::InvalidOperationsString(_)
            | E::InvalidOperationsJson(_)
            | E::InvalidInput { .. }
            | E::NoMetric(_)
            | E::InvalidReferences { .. }
            | E::UnknownMetrics(_)
            | E::UnknownAggregation { .. }
            | E::Unaggregable { .. }
            | E::NoSuchMetric(_)
            | E::Unsupported(_) => {
                ApiError::with_object(super::error::status(error.kind()), error.description())
            }
        }
    }
}

/// The query string, checked as Gnocchi's `validate_qs` checks it.
fn query(call: &Call, now: Timestamp) -> ApiResult<AggregatesQuery> {
    let needed_overlap = call.number_param("needed_overlap")?;
    let (start, stop) = (
        call.timestamp_param("start", now)?,
        call.timestamp_param("stop", now)?,
    );
    let granularity = call.timespan_param("granularity")?;
    let fill = call.fill_param()?;
    Ok(AggregatesQuery {
        start,
        stop,
        granularity,
        fill: Fill::from_parameters(fill, needed_overlap),
    })
}

/// The body: `{"operations": …}`, or with `resource_type` and `search`.
struct Fetch {
    operations: String,
    resource: Option<(String, Value)>,
}

fn fetch(body: &Value) -> ApiResult<Fetch> {
    let map = body
        .as_object()
        .ok_or_else(|| ApiError::invalid_input("expected a dictionary", &[]))?;
    let key = |name: &str| vec![name.to_owned()];
    if let Some(extra) = map
        .keys()
        .find(|k| !matches!(k.as_str(), "operations" | "resource_type" | "search"))
    {
        return Err(ApiError::invalid_input(
            "extra keys not allowed",
            &key(extra),
        ));
    }
    let operations = match map.get("operations") {
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
        None => {
            return Err(ApiError::invalid_input(
                "required key not provided",
                &key("operations"),
            ));
        }
    };
    let resource = match (map.get("resource_type"), map.get("search")) {
        (None, None) => None,
        (Some(Value::String(type_name)), Some(search)) => Some((type_name.clone(), search.clone())),
        (Some(_), Some(_)) => {
            return Err(ApiError::invalid_input(
                "expected str for dictionary value",
                &key("resource_type"),
            ));
        }
        (Some(_), None) => {
            return Err(ApiError::invalid_input(
                "required key not provided",
                &key("search"),
            ));
        }
        (None, Some(_)) => {
            return Err(ApiError::invalid_input(
                "extra keys not allowed",
                &key("search"),
            ));
        }
    };
    Ok(Fetch {
        operations,
        resource,
    })
}

/// Metric-id mode takes ids only, as Gnocchi does.
struct IdsOnly<'a>(IndexLookup<'a>);

impl MetricLookup for IdsOnly<'_> {
    fn by_id(&mut self, id: Uuid) -> Result<Option<IndexedMetric>, aggregates::Error> {
        self.0.by_id(id)
    }

    fn by_name(&mut self, _: &str) -> Result<Option<IndexedMetric>, aggregates::Error> {
        Ok(None)
    }
}

pub async fn aggregates(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    let details = call.bool_param("details")?;
    let use_history = call.bool_param("use_history")?;
    let now = Timestamp::now();
    let query = query(&call, now)?;
    let fetch = fetch(&call.json_body(JSON)?)?;
    let mut operations = aggregates::parse_operations(&fetch.operations)?;
    let answer = app
        .run(move |work| match fetch.resource {
            None => {
                let references = aggregates::references::metric_references(
                    &mut operations,
                    &mut IdsOnly(IndexLookup::new(work.index)),
                )?;
                let caller = call.caller()?;
                let mut documents = Vec::new();
                let mut seen: Vec<Uuid> = Vec::new();
                for reference in &references {
                    if seen.contains(&reference.metric) {
                        continue;
                    }
                    seen.push(reference.metric);
                    let found = super::metric::by_id(work, &reference.metric.to_string())?;
                    caller.enforce(Rule::AdminOrServiceOrCreatorOrMetricOwner, found.target())?;
                    documents.push(found.document(work)?);
                }
                let result = aggregates::aggregate(work.store, &operations, &references, &query)?;
                Ok(result.body(details.then_some(Json::Array(documents))))
            }
            Some((type_name, search)) => {
                let caller = call.caller()?;
                let selection = ResourceSelection {
                    type_name,
                    filter: visible_filter(&search, &caller)?,
                    groupby: call
                        .param_list("groupby")
                        .iter()
                        .map(|g| (*g).to_owned())
                        .collect(),
                    use_history,
                };
                let found = crate::ops::aggregates::over_resources(
                    work.store,
                    work.index,
                    &operations,
                    &selection,
                    &query,
                    work.now,
                )
                .map_err(|e| match e {
                    crate::error::Error::Store(crate::store::Error::ResourceTypeNotFound(name)) => {
                        ApiError::with_object(
                            StatusCode::BAD_REQUEST,
                            Json::object([
                                ("cause", Json::str("Resource type does not exist")),
                                ("detail", Json::str(name)),
                            ]),
                        )
                    }
                    other => other.into(),
                })?;
                Ok(found.body(details))
            }
        })
        .await?;
    Ok(reply::ok(answer))
}

/// The search (a JSON filter or a filter string), cut to what the caller
/// may see.
fn visible_filter(search: &Value, caller: &super::auth::Caller) -> ApiResult<Option<Filter>> {
    let raw = match search {
        Value::String(text) => {
            crate::filter::string::parse(text).map_err(super::resource::filter_error)?
        }
        other => Raw::from_serde(other),
    };
    let filter = Filter::from_raw(&raw, &caller.creator).map_err(super::resource::filter_error)?;
    Ok(super::resource::visible_to(caller, filter))
}
