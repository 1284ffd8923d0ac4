//! The write endpoints beyond the recorded session: a Prometheus body
//! built here with snappy and protobuf, many concurrent writers sharing
//! commits without losing a measure, and requests stored whole or not at
//! all.

use axum::http::StatusCode;
use carbonara::ingest::prometheus::{TimeSeries, WriteRequest};
use carbonara::server::AuthMode;

use crate::serve::common::{
    ACCEPT, ADMIN, JSON, REMOTE_WRITE, empty_store, get, post, send, send_bytes, send_remote_write,
    test_app,
};

/// A policy `p` of one-second points and a rule giving it to everything.
async fn with_policy(app: &axum::Router) {
    let policy = r#"{"name": "p", "aggregation_methods": ["mean", "count"], "definition": [{"granularity": 1, "points": 86400}]}"#;
    assert_eq!(
        post(app, "/v1/archive_policy", policy).await.status,
        StatusCode::CREATED
    );
    let rule = r#"{"name": "all", "metric_pattern": "*", "archive_policy_name": "p"}"#;
    assert_eq!(
        post(app, "/v1/archive_policy_rule", rule).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn prometheus_remote_write_creates_its_type_resources_and_metrics() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    with_policy(&app).await;
    let request = WriteRequest {
        timeseries: vec![
            TimeSeries::new(
                &[
                    ("__name__", "node_load1"),
                    ("job", "node"),
                    ("instance", "db:9100"),
                ],
                &[(0.5, 1_700_000_000_000), (0.75, 1_700_000_001_500)],
            ),
            TimeSeries::new(
                &[("__name__", "up"), ("job", "node"), ("instance", "db:9100")],
                &[(1.0, 1_700_000_000_000)],
            ),
        ],
    };
    let answer = send_remote_write(&app, &request).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    assert_eq!(answer.body, "");
    let resource = get(&app, "/v1/resource/prometheus/node@db:9100").await;
    assert_eq!(resource.status, StatusCode::OK);
    let document = resource.json();
    assert_eq!(document["job"], "node");
    assert_eq!(document["instance"], "db:9100");
    assert_eq!(document["original_resource_id"], "node@db:9100");
    let measures = get(
        &app,
        "/v1/resource/prometheus/node@db:9100/metric/node_load1/measures?refresh=true",
    )
    .await;
    assert_eq!(
        measures.body,
        r#"[["2023-11-14T22:13:20+00:00", 1.0, 0.5], ["2023-11-14T22:13:21+00:00", 1.0, 0.75]]"#
    );
    // A body that is not snappy is the client's mistake, named.
    let bad = send_bytes(
        &app,
        "POST",
        "/v1/prometheus/write",
        &REMOTE_WRITE,
        Some(b"\x00garbage"),
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.body.contains("not a snappy block"), "{}", bad.body);
}

#[tokio::test]
async fn concurrent_writers_share_commits_and_lose_nothing() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    with_policy(&app).await;
    let metric = post(&app, "/v1/metric", r#"{"name": "cpu"}"#).await.json();
    let id = metric["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/metric/{id}/measures");
    let writers = 200;
    let answers = futures_join(
        (0..writers)
            .map(|i| {
                let (app, path) = (app.clone(), path.clone());
                tokio::spawn(async move {
                    let body = format!(r#"[{{"timestamp": {}, "value": {i}}}]"#, 1_700_000_000 + i);
                    post(&app, &path, &body).await.status
                })
            })
            .collect(),
    )
    .await;
    assert!(answers.iter().all(|s| *s == StatusCode::ACCEPTED));
    let counts = get(&app, &format!("{path}?refresh=true&aggregation=count")).await;
    let points = counts.json();
    assert_eq!(points.as_array().unwrap().len(), writers);
}

/// The requests of a group commit name several metrics, which the group
/// looks up together: each request is still checked on its own (an
/// unknown metric is its 404, another's metric its 403) and the measures
/// of every accepted one are stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writers_to_many_metrics_are_checked_request_by_request() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    with_policy(&app).await;
    let alice = ("authorization", "basic YWxpY2U6");
    let mut paths = Vec::new();
    for name in ["a", "b", "c"] {
        let metric = post(&app, "/v1/metric", &format!(r#"{{"name": "{name}"}}"#)).await;
        paths.push(format!(
            "/v1/metric/{}/measures",
            metric.json()["id"].as_str().unwrap()
        ));
    }
    let unknown = "/v1/metric/00000000-0000-4000-8000-000000000000/measures".to_owned();
    let writers = 120;
    let answers = futures_join(
        (0..writers)
            .map(|i| {
                let app = app.clone();
                // Admin to each metric in turn, alice to admin's first, and
                // anyone to a metric that does not exist.
                let (path, auth) = match i % 5 {
                    3 => (paths[0].clone(), alice),
                    4 => (unknown.clone(), ADMIN),
                    k => (paths[k].clone(), ADMIN),
                };
                tokio::spawn(async move {
                    let body = format!(r#"[{{"timestamp": {}, "value": {i}}}]"#, 1_700_000_000 + i);
                    send(&app, "POST", &path, &[auth, JSON, ACCEPT], Some(&body))
                        .await
                        .status
                })
            })
            .collect(),
    )
    .await;
    for (i, status) in answers.iter().enumerate() {
        let expected = match i % 5 {
            3 => StatusCode::FORBIDDEN,
            4 => StatusCode::NOT_FOUND,
            _ => StatusCode::ACCEPTED,
        };
        assert_eq!(*status, expected, "request {i}");
    }
    for path in &paths {
        let counts = get(&app, &format!("{path}?refresh=true&aggregation=count")).await;
        assert_eq!(
            counts.json().as_array().unwrap().len(),
            writers / 5,
            "{path}"
        );
    }
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<StatusCode>>) -> Vec<StatusCode> {
    let mut statuses = Vec::with_capacity(tasks.len());
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

#[tokio::test]
async fn a_refused_batch_stores_nothing() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    with_policy(&app).await;
    let metric = post(&app, "/v1/metric", r#"{"name": "m"}"#).await.json();
    let id = metric["id"].as_str().unwrap().to_owned();
    let unknown = "5cbcb9f4-cdb7-4a1e-9b8d-71d1b0aa0b1c";
    let body = format!(
        r#"{{"{id}": [{{"timestamp": 1700000000, "value": 1}}], "{unknown}": [{{"timestamp": 1700000000, "value": 2}}]}}"#
    );
    let refused = post(&app, "/v1/batch/metrics/measures", &body).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.json()["description"],
        format!("Unknown metrics: {unknown}")
    );
    // An InfluxDB write whose third line is bad stores none of the others.
    assert_eq!(
        post(&app, "/v1/influxdb/query?q=create+database+telegraf", "")
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let lines =
        "cpu,host=a v=1 1700000000000000000\ncpu,host=b v=2 1700000000000000000\ncpu,host=c v=x";
    let write = post(&app, "/v1/influxdb/write?db=telegraf", lines).await;
    assert_eq!(write.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        get(&app, "/v1/resource/telegraf").await.json(),
        serde_json::json!([])
    );
    let measures = get(&app, &format!("/v1/metric/{id}/measures?refresh=true")).await;
    assert_eq!(measures.body, "[]");
    // The same batch without the unknown metric is taken.
    let body = format!(r#"{{"{id}": [{{"timestamp": 1700000000, "value": 1}}]}}"#);
    assert_eq!(
        post(&app, "/v1/batch/metrics/measures", &body).await.status,
        StatusCode::ACCEPTED
    );
    let measures = get(&app, &format!("/v1/metric/{id}/measures?refresh=true")).await;
    assert_eq!(
        measures.body,
        r#"[["2023-11-14T22:13:20+00:00", 1.0, 1.0]]"#
    );
}
