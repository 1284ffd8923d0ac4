//! `DELETE …/measures` (carbonara's extension): by metric id and by
//! resource and metric name, its answer, its refusals, and a metric whose
//! sack another process holds.

use std::time::Duration;

use axum::http::StatusCode;
use carbonara::server::AuthMode;
use serde_json::{Value, json};

use crate::serve::common::{
    ACCEPT, ADMIN, Answer, empty_store, get, post, send, test_app, test_app_with,
};

async fn delete(app: &axum::Router, path: &str) -> Answer {
    send(app, "DELETE", path, &[ADMIN, ACCEPT], None).await
}

/// A policy `p` (1 min and 1 h, mean, back window 2) and a resource `web1`
/// with a metric `cpu` under it, measures at 12:00, 12:30, 13:00 and 13:30
/// waiting; the metric's id.
async fn with_metric(app: &axum::Router) -> String {
    let policy = r#"{"name": "p", "back_window": 2, "aggregation_methods": ["mean"],
        "definition": [{"granularity": "1m", "points": 1440}, {"granularity": "1h", "points": 48}]}"#;
    assert_eq!(
        post(app, "/v1/archive_policy", policy).await.status,
        StatusCode::CREATED
    );
    let resource = r#"{"id": "web1", "metrics": {"cpu": {"archive_policy_name": "p"}}}"#;
    let created = post(app, "/v1/resource/generic", resource).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.json()["metrics"]["cpu"]
        .as_str()
        .unwrap()
        .to_owned();
    let measures = r#"[{"timestamp": "2024-01-01T12:00:00", "value": 1},
        {"timestamp": "2024-01-01T12:30:00", "value": 2},
        {"timestamp": "2024-01-01T13:00:00", "value": 3},
        {"timestamp": "2024-01-01T13:30:00", "value": 4}]"#;
    let path = format!("/v1/metric/{id}/measures");
    assert_eq!(
        post(app, &path, measures).await.status,
        StatusCode::ACCEPTED
    );
    id
}

const RANGE: &str = "start=2024-01-01T12:00:00&stop=2024-01-01T13:00:00";

#[tokio::test]
async fn deleting_a_range_by_id_answers_what_went() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    let id = with_metric(&app).await;
    // A dry run first: the waiting measures are aggregated, nothing goes.
    let dry = delete(
        &app,
        &format!("/v1/metric/{id}/measures?{RANGE}&dry_run=true"),
    )
    .await;
    assert_eq!(dry.status, StatusCode::OK, "{}", dry.body);
    let expected = |dry_run: bool| {
        json!({
            "start": "2024-01-01T12:00:00+00:00",
            "stop": "2024-01-01T13:00:00+00:00",
            "dry_run": dry_run,
            "aggregates": [
                {"aggregation": "mean", "granularity": 3600.0, "points": 1},
                {"aggregation": "mean", "granularity": 60.0, "points": 2},
            ],
            "raw_points": 2,
        })
    };
    assert_eq!(dry.json(), expected(true));
    let measures = format!("/v1/metric/{id}/measures");
    let before = get(&app, &measures).await.json();
    assert_eq!(before.as_array().unwrap().len(), 6);
    let done = delete(&app, &format!("{measures}?{RANGE}")).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.json(), expected(false));
    // The answer kept for the earlier GET is not served again.
    assert_eq!(
        get(&app, &measures).await.json(),
        json!([
            ["2024-01-01T13:00:00+00:00", 3600.0, 3.5],
            ["2024-01-01T13:00:00+00:00", 60.0, 3.0],
            ["2024-01-01T13:30:00+00:00", 60.0, 4.0],
        ])
    );
    // Once more: nothing is left in the range.
    let again = delete(&app, &format!("{measures}?{RANGE}")).await;
    assert_eq!(again.json()["raw_points"], 0);
}

#[tokio::test]
async fn deleting_by_resource_and_metric_name_with_a_granularity() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    let id = with_metric(&app).await;
    let path = "/v1/resource/generic/web1/metric/cpu/measures?start=2024-01-01T12:30:00&stop=2024-01-01T12:31:00&granularity=60";
    let answer = delete(&app, path).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.json()["aggregates"],
        json!([{"aggregation": "mean", "granularity": 60.0, "points": 1}])
    );
    let hours = get(&app, &format!("/v1/metric/{id}/measures?granularity=3600"))
        .await
        .json();
    assert_eq!(hours[0], json!(["2024-01-01T12:00:00+00:00", 3600.0, 1.5]));
}

/// The `description` of an error answer.
fn description(answer: &Answer) -> Value {
    answer.json()["description"].clone()
}

#[tokio::test]
async fn bad_ranges_are_400s() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    let id = with_metric(&app).await;
    let measures = format!("/v1/metric/{id}/measures");
    let misaligned = delete(
        &app,
        &format!("{measures}?start=2024-01-01T12:00:00&stop=2024-01-01T12:30:00"),
    )
    .await;
    assert_eq!(misaligned.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        description(&misaligned),
        "--stop 2024-01-01T12:30:00+00:00 is not aligned to granularity 3600.0: \
         the nearest aligned stop is 2024-01-01T12:00:00+00:00 or 2024-01-01T13:00:00+00:00"
    );
    let unknown = delete(&app, &format!("{measures}?{RANGE}&granularity=300")).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        description(&unknown),
        "granularity 300.0 is not in archive policy p (its granularities: 3600.0, 60.0)"
    );
    let missing = delete(&app, &format!("{measures}?start=2024-01-01T12:00:00")).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        description(&missing),
        json!({"cause": "Argument value error", "detail": "stop", "reason": "Required"})
    );
    let backwards = delete(
        &app,
        &format!("{measures}?start=2024-01-01T13:00:00&stop=2024-01-01T12:00:00"),
    )
    .await;
    assert_eq!(backwards.status, StatusCode::BAD_REQUEST);
    let nobody = delete(
        &app,
        "/v1/metric/6b6e0b7e-8d0a-4c5e-9a55-5f6c8f0c0e11/measures?start=0&stop=3600",
    )
    .await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    // Nothing was deleted meanwhile.
    assert_eq!(
        get(&app, &format!("{measures}?refresh=true"))
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        6
    );
}

#[tokio::test]
async fn only_admin_and_the_creator_may_delete() {
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
    let id = with_metric(&app).await;
    let bob = ("authorization", "basic Ym9iOg==");
    let path = format!("/v1/metric/{id}/measures?{RANGE}");
    let answer = send(&app, "DELETE", &path, &[bob, ACCEPT], None).await;
    assert_eq!(answer.status, StatusCode::FORBIDDEN, "{}", answer.body);
    assert_eq!(delete(&app, &path).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_sack_held_by_another_process_is_a_503() {
    let store = empty_store();
    let app = test_app_with(&store, |config| {
        config.auth = AuthMode::Basic;
        config.operation_timeout = Duration::from_millis(200);
    });
    let id = with_metric(&app).await;
    let sack = (uuid::Uuid::parse_str(&id).unwrap().as_u128() % 8) as u32;
    let lock = std::fs::File::create(store.path().join(format!("locks/sack-{sack}.lock"))).unwrap();
    lock.lock().unwrap();
    let answer = delete(&app, &format!("/v1/metric/{id}/measures?{RANGE}")).await;
    assert_eq!(
        answer.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        answer.body
    );
    assert_eq!(
        description(&answer),
        format!("metric {id} is being processed by another process: try again later")
    );
    drop(lock);
    let answer = delete(&app, &format!("/v1/metric/{id}/measures?{RANGE}")).await;
    assert_eq!(answer.status, StatusCode::OK);
}
