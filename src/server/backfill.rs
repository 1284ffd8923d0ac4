//! `?backfill=true[&replace=true]` on the measures endpoints (a carbonara
//! extension: docs/guide.md, "Extensions to Gnocchi's API"): the request's
//! measures older than their metric's back window are backfilled
//! (`ops::backfill`) instead of queued to be dropped, and the answer,
//! still 202, carries what was done:
//!
//! ```json
//! {"backfilled": [{"metric": "<uuid>", "measures": 3, "filled": 1,
//!   "replaced": 0, "beyond_timespan": 0,
//!   "refused": [{"granularity": 60.0, "periods": 1, "measures": 2}]}]}
//! ```
//!
//! Such a request is not grouped with others (commit.rs): it runs alone on
//! a blocking thread, its checks first, so bad input stores nothing.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;

use super::call::Call;
use super::commit::Prepare;
use super::error::{ApiError, ApiResult};
use super::{App, reply};
use crate::ops::backfill::MetricBackfill;
use crate::pyform::json::Json;

/// What the query string asks: `None` without `backfill=true`, else
/// whether to replace.
pub fn requested(call: &Call) -> ApiResult<Option<bool>> {
    let replace = call.bool_param("replace")?;
    match call.bool_param("backfill")? {
        true => Ok(Some(replace)),
        false if replace => Err(ApiError::argument(
            "replace",
            "replace=true needs backfill=true",
        )),
        false => Ok(None),
    }
}

/// Stores what `prepare` returns, backfilling what its metrics' back
/// windows would drop; 202 with the summary.
pub async fn store(app: Arc<App>, prepare: Prepare, replace: bool) -> ApiResult<Response> {
    let done = app
        .run(move |work| {
            // Past `--max-backlog`, refused before anything is read (backlog.rs).
            work.app.backlog.admit(0)?;
            let measures = prepare(work)?;
            let done = work.backfill(&measures, replace)?;
            // Those backfilled are counted too, until the next recount.
            work.app.backlog.added(super::commit::count(&measures));
            Ok(done)
        })
        .await?;
    Ok(reply::with_status(StatusCode::ACCEPTED, &summary(&done)))
}

fn summary(done: &[MetricBackfill]) -> Json {
    let count = |n: u64| Json::Int(i64::try_from(n).unwrap_or(i64::MAX));
    let metrics = done
        .iter()
        .map(|done| {
            let summary = &done.summary;
            let refused = summary
                .refused
                .iter()
                .rev()
                .map(|(granularity, refused)| {
                    Json::object([
                        ("granularity", Json::Float(granularity.as_secs_f64())),
                        ("periods", count(refused.periods)),
                        ("measures", count(refused.measures)),
                    ])
                })
                .collect();
            Json::object([
                ("metric", Json::str(done.metric.id.to_string())),
                ("measures", count(done.measures)),
                ("filled", count(summary.filled)),
                ("replaced", count(summary.replaced)),
                ("beyond_timespan", count(summary.beyond_timespan)),
                ("refused", Json::Array(refused)),
            ])
        })
        .collect();
    Json::object([("backfilled", Json::Array(metrics))])
}
