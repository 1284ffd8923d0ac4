//! `?backfill=true[&replace=true]` on the measures endpoints: the same
//! backfill as `ingest --backfill`, its summary in the 202's body.

use axum::http::StatusCode;
use carbonara::server::AuthMode;
use serde_json::json;

use crate::backfill::store_with_sum_policy;
use crate::common::TestStore;
use crate::serve::common::{Answer, send, test_app};

const ADMIN: (&str, &str) = ("authorization", "basic YWRtaW46");
const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json");

async fn post(app: &axum::Router, path: &str, body: &str) -> Answer {
    send(app, "POST", path, &[ADMIN, JSON, ACCEPT], Some(body)).await
}

/// Metric `m` of resource `web1` (1 min sums, back window 0) that
/// received 00:01:10 → 1 and 00:05:00 → 2, processed; its id.
fn processed_metric() -> (TestStore, String) {
    let store = store_with_sum_policy();
    store
        .run(&["resource", "create", "web1", "-n", "m:p"])
        .success();
    let id = store.json(&["metric", "show", "m", "--resource-id", "web1"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    store
        .run(&[
            "measures",
            "add",
            &id,
            "-m",
            "2024-01-01T00:01:10@1",
            "-m",
            "2024-01-01T00:05:00@2",
        ])
        .success();
    store.run(&["process"]).success();
    (store, id)
}

const LATE: &str = r#"[{"timestamp": "2024-01-01T00:00:10", "value": 10},
    {"timestamp": "2024-01-01T00:01:20", "value": 20},
    {"timestamp": "2024-01-01T00:01:30", "value": 30}]"#;

fn sums(store: &TestStore, metric: &[&str]) -> Vec<f64> {
    let mut args = vec!["measures", "show"];
    args.extend(metric);
    args.extend([
        "--refresh",
        "--aggregation",
        "sum",
        "-f",
        "value",
        "-c",
        "value",
    ]);
    store
        .stdout(&args)
        .lines()
        .map(|v| v.parse().unwrap())
        .collect()
}

/// Posts measures that must be accepted; the answer's `backfilled` list.
async fn backfilled(app: &axum::Router, path: &str, body: &str) -> serde_json::Value {
    let answer = post(app, path, body).await;
    assert_eq!(answer.status, StatusCode::ACCEPTED, "{}", answer.body);
    answer.json()["backfilled"].clone()
}

#[tokio::test]
async fn a_metrics_measures_are_backfilled_and_summarised() {
    let (store, id) = processed_metric();
    let app = test_app(&store, AuthMode::Basic);
    let done = backfilled(
        &app,
        &format!("/v1/metric/{id}/measures?backfill=true"),
        LATE,
    )
    .await;
    assert_eq!(
        done,
        json!([{
            "metric": id, "measures": 3, "filled": 1, "replaced": 0, "beyond_timespan": 0,
            "refused": [{"granularity": 60.0, "periods": 1, "measures": 2}]
        }])
    );
    assert_eq!(sums(&store, &[&id]), [10.0, 1.0, 2.0]);

    // The resource's metric by name, replacing.
    let done = backfilled(
        &app,
        "/v1/resource/generic/web1/metric/m/measures?backfill=true&replace=true",
        LATE,
    )
    .await;
    assert_eq!(done[0]["replaced"], 2);
    assert_eq!(sums(&store, &[&id]), [10.0, 50.0, 2.0]);
}

#[tokio::test]
async fn batches_are_backfilled_per_metric() {
    let (store, id) = processed_metric();
    let app = test_app(&store, AuthMode::Basic);
    let body = format!(r#"{{"{id}": {LATE}}}"#);
    let done = backfilled(
        &app,
        "/v1/batch/metrics/measures?backfill=true&replace=true",
        &body,
    )
    .await;
    assert_eq!(done[0]["replaced"], 1);
    assert_eq!(done[0]["filled"], 1);
    assert_eq!(sums(&store, &[&id]), [10.0, 50.0, 2.0]);

    let body = r#"{"web1": {"m": [{"timestamp": "2024-01-01T00:02:00", "value": 7}]}}"#;
    let done = backfilled(
        &app,
        "/v1/batch/resources/metrics/measures?backfill=true",
        body,
    )
    .await;
    assert_eq!(done[0]["filled"], 1);
    assert_eq!(sums(&store, &[&id]), [10.0, 50.0, 7.0, 2.0]);

    // With a metric to create: created and queued with the others in one
    // transaction, then the held-back measures backfilled.
    let body = r#"{"web1": {"m": [{"timestamp": "2024-01-01T00:03:00", "value": 8}],
        "new": {"archive_policy_name": "p", "measures": [{"timestamp": "2024-01-01T00:03:00", "value": 9}]}}}"#;
    let done = backfilled(
        &app,
        "/v1/batch/resources/metrics/measures?backfill=true&create_metrics=true",
        body,
    )
    .await;
    assert_eq!(done[0]["metric"], id.as_str());
    assert_eq!(done[0]["filled"], 1);
    assert_eq!(sums(&store, &[&id]), [10.0, 50.0, 7.0, 8.0, 2.0]);
    assert_eq!(sums(&store, &["new", "-r", "web1"]), [9.0]);
}

#[tokio::test]
async fn bad_parameters_and_measures_store_nothing() {
    let (store, id) = processed_metric();
    let app = test_app(&store, AuthMode::Basic);
    let path = format!("/v1/metric/{id}/measures");
    let answer = post(&app, &format!("{path}?replace=true"), LATE).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert!(
        answer.body.contains("replace=true needs backfill=true"),
        "{}",
        answer.body
    );
    let answer = post(&app, &format!("{path}?backfill=maybe"), LATE).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    let bad = r#"[{"timestamp": "2024-01-01T00:00:10", "value": 10}, {"timestamp": "2024-01-01T00:09:00", "value": "x"}]"#;
    let answer = post(&app, &format!("{path}?backfill=true"), bad).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "{}", answer.body);
    assert_eq!(sums(&store, &[&id]), [1.0, 2.0]);
}

#[tokio::test]
async fn a_busy_sack_answers_503() {
    let (store, id) = processed_metric();
    let app = crate::serve::common::test_app_with(&store, |config| {
        config.operation_timeout = std::time::Duration::from_millis(200);
    });
    let sack = (uuid::Uuid::parse_str(&id).unwrap().as_u128() % 8) as u32;
    let lock = std::fs::File::create(store.path().join(format!("locks/sack-{sack}.lock"))).unwrap();
    lock.lock().unwrap();
    let answer = post(
        &app,
        &format!("/v1/metric/{id}/measures?backfill=true"),
        LATE,
    )
    .await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
    assert!(
        answer
            .body
            .contains("is being processed by another process"),
        "{}",
        answer.body
    );
    drop(lock);
    assert_eq!(sums(&store, &[&id]), [1.0, 2.0]);
}
