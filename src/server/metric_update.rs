//! `PATCH /v1/metric/ID` with `{"archive_policy_name": NAME}`: moves the
//! metric to another archive policy with its history, an extension of
//! Gnocchi's API, which answers 405 to a PATCH of a metric
//! (docs/guide.md#serve). `?dry_run=true` answers the plan and
//! changes nothing; otherwise the answer is the metric as `GET` shows it,
//! with a `warnings` list.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;

use super::auth::Rule;
use super::call::{Call, JSON};
use super::error::{ApiError, ApiResult};
use super::input::Body;
use super::metric::{Found, by_id};
use super::{App, reply};
use crate::ops::metric_policy;
use crate::pyform::json::Json;
use crate::store;

pub async fn update(
    State(app): State<Arc<App>>,
    Path(id): Path<String>,
    call: Call,
) -> ApiResult<Response> {
    let caller = call.caller()?;
    let dry_run = call.bool_param("dry_run")?;
    let body = Body::new(call.json_body(JSON)?);
    let root = body.root();
    let map = root.checked_object(&["archive_policy_name"], &["archive_policy_name"])?;
    let path = super::input::child_path(root.path(), "archive_policy_name");
    let policy = super::input::Field::new(&map["archive_policy_name"], &path, true)
        .str()?
        .to_owned();
    let document = app
        .run(move |work| {
            let found = by_id(work, &id)?;
            caller.enforce(Rule::AdminOrCreator, found.target())?;
            let moved = metric_policy::move_to_policy(
                work.store,
                work.index,
                &found.metric,
                &policy,
                dry_run,
                work.app.config.operation_timeout,
            )
            .map_err(|e| match e {
                crate::error::Error::Store(store::Error::ArchivePolicyNotFound(name)) => {
                    ApiError::bad_request(store::Error::ArchivePolicyNotFound(name).to_string())
                }
                other => other.into(),
            })?;
            if dry_run {
                return Ok(moved.plan_document());
            }
            let found = Found {
                metric: moved.metric.clone(),
                policy: None,
                ..found
            };
            let Json::Object(mut fields) = found.document(work)? else {
                unreachable!("a metric's document is an object");
            };
            fields.push(("warnings".to_owned(), moved.warnings_document()));
            Ok(Json::Object(fields))
        })
        .await?;
    Ok(reply::ok(document))
}
