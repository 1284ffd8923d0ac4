//! `POST /v1/prometheus/write`: Prometheus remote write (snappy block of a
//! protobuf `WriteRequest`, read by `crate::ingest::prometheus`). Series
//! become metrics named by `__name__` of resources `<job>@<instance>` of
//! type `prometheus`, which is created on first use by a caller allowed to
//! create resource types.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::App;
use super::auth::{Rule, Target};
use super::call::Call;
use super::error::{ApiError, ApiResult};
use super::methods;
use super::named::{self, ResourceWrite};
use super::reply;
use crate::ingest::prometheus::{self, Error};
use crate::store;

/// This module's paths and the handlers of each.
pub fn routes() -> Router<Arc<App>> {
    Router::new().route("/v1/prometheus/write", methods().post(write).into())
}

pub async fn write(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    // Gnocchi fails with a 500 on a body it cannot read or a series
    // without a name; these are the client's mistakes.
    let request =
        prometheus::decode(&call.body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let resources = prometheus::group(&request).map_err(|e| match e {
        Error::Measures { error, .. } => ApiError::from(error),
        error @ (Error::Snappy(_) | Error::Protobuf(_) | Error::NoName(_)) => {
            ApiError::bad_request(error.to_string())
        }
    })?;
    let caller = call.caller()?;
    if !resources.is_empty() {
        app.run(move |work| {
            let missing_type = match work.index.get_resource_type(prometheus::RESOURCE_TYPE) {
                Ok(_) => None,
                Err(store::Error::ResourceTypeNotFound(_)) => {
                    caller.enforce(Rule::AdminOrService, Target::NONE)?;
                    Some(prometheus::resource_type())
                }
                Err(error) => return Err(error.into()),
            };
            let originals: Vec<String> = resources.iter().map(|r| r.original_id()).collect();
            let writes: Vec<ResourceWrite<'_>> = resources
                .iter()
                .zip(&originals)
                .map(|(resource, original)| ResourceWrite {
                    original_id: original,
                    attributes: resource.attributes(),
                    metrics: &resource.metrics,
                })
                .collect();
            named::store(
                work,
                &caller,
                prometheus::RESOURCE_TYPE,
                missing_type.as_ref(),
                &writes,
            )
        })
        .await?;
    }
    // Gnocchi's handler is not a JSON one: its 202 says HTML.
    Ok(reply::with_header(
        StatusCode::ACCEPTED.into_response(),
        header::CONTENT_TYPE,
        "text/html; charset=UTF-8",
    ))
}
