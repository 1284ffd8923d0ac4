//! The documents that are not about one object: versions (`/`), the
//! health check, the API index (`/v1`), capabilities, status, the resource
//! type index (`/v1/resource`), and the answer for unknown paths.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::App;
use super::auth::{Rule, Target};
use super::call::Call;
use super::error::{ApiError, ApiResult};
use super::methods;
use super::reply;
use crate::ops;
use crate::policy::AggregationMethod;
use crate::pyform::json::Json;
use crate::store::coordinator::fleet;
use crate::store::pass_log;
use crate::time::Timestamp;

/// This module's paths and the handlers of each.
pub fn routes() -> Router<Arc<App>> {
    Router::new()
        .route("/", methods().get(versions).into())
        .route("/healthcheck", methods().get(healthcheck).into())
        .route("/v1", methods().get(index).into())
        .route("/v1/capabilities", methods().get(capabilities).into())
        .route("/v1/status", methods().get(status).into())
}

/// The Gnocchi version this API speaks (`ceilometer-upgrade` wants ≥ 4.2).
pub const GNOCCHI_VERSION: &str = "4.7.1";

/// The API's sub-trees, as `/v1` lists them.
const V1_LINKS: [&str; 12] = [
    "aggregates",
    "aggregation",
    "archive_policy",
    "archive_policy_rule",
    "batch",
    "capabilities",
    "influxdb",
    "metric",
    "resource",
    "resource_type",
    "search",
    "status",
];

fn link(rel: &str, href: String) -> Json {
    Json::object([("rel", Json::str(rel)), ("href", Json::str(href))])
}

pub async fn versions(call: Call) -> Response {
    reply::ok(Json::object([
        ("build", Json::str(GNOCCHI_VERSION)),
        (
            "versions",
            Json::Array(vec![Json::object([
                ("status", Json::str("CURRENT")),
                (
                    "links",
                    Json::Array(vec![link("self", format!("{}/v1/", call.base_url))]),
                ),
                ("id", Json::str("v1.0")),
                ("updated", Json::str("2015-03-19")),
            ])]),
        ),
    ]))
}

/// oslo.middleware's health check: 200, empty plain text.
pub async fn healthcheck() -> Response {
    let mut response = StatusCode::OK.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    response
}

pub async fn index(call: Call) -> Response {
    let base = format!("{}/v1", call.base_url);
    let mut links = vec![link("self", base.clone())];
    links.extend(
        V1_LINKS
            .iter()
            .map(|name| link(name, format!("{base}/{name}"))),
    );
    reply::ok(Json::object([
        ("version", Json::str("1.0")),
        ("links", Json::Array(links)),
    ]))
}

pub async fn capabilities() -> Response {
    let methods = AggregationMethod::all()
        .iter()
        .map(|m| Json::str(m.to_string()))
        .collect();
    reply::ok(Json::object([(
        "aggregation_methods",
        Json::Array(methods),
    )]))
}

/// What waits to be processed, and the workers: the store's `carbonara
/// metricd` workers (and on a Redis coordinator gnocchi-metricd's), with
/// this server's own background pass under the name `carbonara`.
pub async fn status(State(app): State<Arc<App>>, call: Call) -> ApiResult<Response> {
    call.caller()?.enforce(Rule::Admin, Target::NONE)?;
    let details = match call.param("details") {
        None => true,
        Some(text) => super::call::parse_bool("details", text)?,
    };
    let replicas = app.config.processing_replicas;
    let (backlog, workers, pass_rate) = app
        .run(move |work| {
            // A listing of the sacks: as good as a recount.
            let backlog = work
                .app
                .backlog
                .recount(|| ops::measures::backlog(work.store))?;
            let pass_rate = pass_log::rate(work.store, Timestamp::now())?;
            Ok((backlog, fleet::workers(work.store, replicas)?, pass_rate))
        })
        .await?;
    let mut storage = vec![(
        "summary".to_owned(),
        Json::object([
            ("metrics", Json::Int(backlog.metrics as i64)),
            ("measures", Json::Int(backlog.measures as i64)),
        ]),
    )];
    if details {
        storage.push((
            "measures_to_process".to_owned(),
            Json::Object(
                backlog
                    .per_metric
                    .iter()
                    .map(|(id, count)| (id.to_string(), Json::Int(*count as i64)))
                    .collect(),
            ),
        ));
    }
    let mut processors: Vec<String> = workers.into_iter().map(|w| w.id).collect();
    if app.config.process_interval.is_some() {
        processors.push("carbonara".to_owned());
    }
    let metricd = if processors.is_empty() {
        Json::object([
            ("processors", Json::Null),
            ("statistics", Json::object::<&str>([])),
        ])
    } else {
        let statistics = Json::object(
            processors
                .iter()
                .map(|p| (p.clone(), Json::object([("weight", Json::Int(1))]))),
        );
        Json::object([
            (
                "processors",
                Json::Array(processors.into_iter().map(Json::str).collect()),
            ),
            ("statistics", statistics),
        ])
    };
    // A carbonara addition, which gnocchiclient (it reads `storage`'s
    // `summary` and `metricd`'s `processors`) leaves alone.
    let now = Timestamp::now();
    let backlog = Json::object([
        (
            "oldest_measure_age",
            backlog.oldest().map_or(Json::Null, |written| {
                Json::Float(((now.nanos() - written.nanos()).max(0) / 1_000_000_000) as f64)
            }),
        ),
        ("processed_per_second", Json::Float(pass_rate)),
        ("counted", Json::Int(app.backlog.waiting() as i64)),
        (
            "limit",
            app.backlog
                .limit()
                .map_or(Json::Null, |limit| Json::Int(limit as i64)),
        ),
    ]);
    Ok(reply::ok(Json::object([
        ("storage", Json::Object(storage)),
        ("metricd", metricd),
        ("backlog", backlog),
    ])))
}

/// An unknown path: pecan's 404, whose description is `null`.
pub async fn not_found() -> ApiError {
    ApiError::with_object(axum::http::StatusCode::NOT_FOUND, Json::Null)
}
