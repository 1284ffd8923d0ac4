//! `PATCH /v1/metric/ID` (an extension: Gnocchi answers 405): a metric
//! moved to another archive policy over HTTP, on both index backends, its
//! dry run, and the answers to what is wrong; and the count of points a
//! policy update's shorter timespans leave out.

use axum::http::StatusCode;

use crate::serve::common::{Answer, empty_store, on_each_backend, send, test_app_with};
use crate::serve::hold_sack;

const HEADERS: [(&str, &str); 3] = [
    ("authorization", "basic YWRtaW46"),
    ("content-type", "application/json"),
    ("accept", "application/json"),
];

async fn call(app: &axum::Router, method: &str, path: &str, body: Option<&str>) -> Answer {
    send(app, method, path, &HEADERS, body).await
}

/// A metric under `old` (60 s sum, count, max, std) with two measures a
/// minute for ten minutes, aggregated; its id.
async fn metric_with_history(app: &axum::Router) -> String {
    for policy in [
        r#"{"name": "old", "definition": [{"granularity": "60s", "timespan": "1 day"}], "aggregation_methods": ["sum", "count", "max", "std"]}"#,
        r#"{"name": "new", "definition": [{"granularity": "60s", "points": 60}, {"granularity": "300s", "points": 12}], "aggregation_methods": ["mean", "max", "std"]}"#,
        r#"{"name": "finer", "definition": [{"granularity": "1s", "points": 60}], "aggregation_methods": ["max"]}"#,
    ] {
        let created = call(app, "POST", "/v1/archive_policy", Some(policy)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    let metric = call(
        app,
        "POST",
        "/v1/metric",
        Some(r#"{"archive_policy_name": "old"}"#),
    )
    .await;
    let id = metric.json()["id"].as_str().unwrap().to_owned();
    let measures: Vec<String> = (0..20)
        .map(|i| {
            format!(
                r#"{{"timestamp": "2024-01-01T00:{:02}:{:02}", "value": {}}}"#,
                i / 2,
                (i % 2) * 30,
                i * 3 % 7
            )
        })
        .collect();
    let body = format!("[{}]", measures.join(", "));
    let path = format!("/v1/metric/{id}/measures");
    assert_eq!(
        call(app, "POST", &path, Some(&body)).await.status,
        StatusCode::ACCEPTED
    );
    let refreshed = call(
        app,
        "GET",
        &format!("{path}?refresh=true&aggregation=max"),
        None,
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK);
    id
}

const STD_WARNING: &str = "std at 300.0s: starts empty, it cannot be derived exactly from 60.0s \
                           where a 300.0s period holds several 60.0s periods";

#[test]
fn a_patch_moves_a_metric_to_another_policy_with_its_history() {
    on_each_backend(async |app| {
        let id = metric_with_history(app).await;
        let path = format!("/v1/metric/{id}");
        let body = r#"{"archive_policy_name": "new"}"#;

        let plan = call(app, "PATCH", &format!("{path}?dry_run=true"), Some(body)).await;
        assert_eq!(plan.status, StatusCode::OK, "{}", plan.body);
        let plan = plan.json();
        assert_eq!(
            (plan["from"].as_str(), plan["to"].as_str()),
            (Some("old"), Some("new"))
        );
        let mean_300 = plan["aggregations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["aggregation_method"] == "mean" && a["granularity"] == 300.0)
            .unwrap()
            .clone();
        assert_eq!(
            mean_300,
            serde_json::json!({"aggregation_method": "mean", "granularity": 300.0,
                "source": "sum, count at 60.0", "exactness": "rounding", "points": 2})
        );
        assert_eq!(plan["warnings"], serde_json::json!([STD_WARNING]));
        let unchanged = call(app, "GET", &path, None).await.json();
        assert_eq!(unchanged["archive_policy"]["name"], "old");

        let moved = call(app, "PATCH", &path, Some(body)).await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        let moved = moved.json();
        assert_eq!(moved["archive_policy"]["name"], "new");
        assert_eq!(moved["warnings"], serde_json::json!([STD_WARNING]));
        let shown = call(app, "GET", &path, None).await.json();
        let mut without_warnings = moved.clone();
        without_warnings.as_object_mut().unwrap().remove("warnings");
        assert_eq!(shown, without_warnings);

        // Sums 0+3+6+2+5+1+4+0+3+6 = 30 and 2+5+1+4+0+3+6+2+5+1 = 29 over ten measures each.
        let means = call(
            app,
            "GET",
            &format!("{path}/measures?aggregation=mean&granularity=300"),
            None,
        )
        .await;
        assert_eq!(
            means.body,
            r#"[["2024-01-01T00:00:00+00:00", 300.0, 3.0], ["2024-01-01T00:05:00+00:00", 300.0, 2.9]]"#
        );
    });
}

#[test]
fn a_patch_answers_what_is_wrong() {
    on_each_backend(async |app| {
        let id = metric_with_history(app).await;
        let path = format!("/v1/metric/{id}");
        let cases = [
            (
                path.as_str(),
                r#"{"archive_policy_name": "nope"}"#,
                StatusCode::BAD_REQUEST,
                "Archive policy nope does not exist".to_owned(),
            ),
            (
                path.as_str(),
                r#"{}"#,
                StatusCode::BAD_REQUEST,
                "required key not provided".to_owned(),
            ),
            (
                path.as_str(),
                r#"{"archive_policy_name": "new", "unit": "s"}"#,
                StatusCode::BAD_REQUEST,
                "extra keys not allowed".to_owned(),
            ),
            (
                path.as_str(),
                r#"{"archive_policy_name": "finer"}"#,
                StatusCode::BAD_REQUEST,
                format!(
                    "moving metric {id} from archive policy old to finer would discard its whole history"
                ),
            ),
            (
                "/v1/metric/6b4e4a9c-0c5e-4a5e-9f43-1f6f2a4c6d11",
                r#"{"archive_policy_name": "new"}"#,
                StatusCode::NOT_FOUND,
                "Metric 6b4e4a9c-0c5e-4a5e-9f43-1f6f2a4c6d11 does not exist".to_owned(),
            ),
        ];
        for (target, body, status, words) in cases {
            let answer = call(app, "PATCH", target, Some(body)).await;
            assert_eq!(answer.status, status, "{body}: {}", answer.body);
            assert!(answer.body.contains(&words), "{body}: {}", answer.body);
        }
        let unchanged = call(app, "GET", &path, None).await.json();
        assert_eq!(unchanged["archive_policy"]["name"], "old");
    });
}

/// A sack another process holds longer than `--operation-timeout`: 503.
#[tokio::test]
async fn a_patch_of_a_metric_in_a_busy_sack_answers_503() {
    let store = empty_store();
    let app = test_app_with(&store, |config| {
        config.operation_timeout = std::time::Duration::from_millis(300)
    });
    let id = metric_with_history(&app).await;
    let lock = hold_sack(&store, &id);
    let path = format!("/v1/metric/{id}");
    let busy = call(
        &app,
        "PATCH",
        &path,
        Some(r#"{"archive_policy_name": "new"}"#),
    )
    .await;
    assert_eq!(
        busy.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        busy.body
    );
    assert!(
        busy.body.contains(&format!(
            "metric {id} is being processed by another process"
        )),
        "{}",
        busy.body
    );
    drop(lock);
    let moved = call(
        &app,
        "PATCH",
        &path,
        Some(r#"{"archive_policy_name": "new"}"#),
    )
    .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
}

/// `PATCH /v1/archive_policy/NAME` with shorter timespans keeps Gnocchi's
/// body and counts what reads now leave out in a header of its own.
#[test]
fn a_policy_update_counts_what_shorter_timespans_leave_out() {
    on_each_backend(async |app| {
        metric_with_history(app).await;
        let shorter = r#"{"definition": [{"granularity": "60s", "timespan": "5 min"}]}"#;
        let updated = call(app, "PATCH", "/v1/archive_policy/old", Some(shorter)).await;
        assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
        assert_eq!(updated.json()["definition"][0]["points"], 5);
        // Five of ten minutes, for each of sum, count, max and std.
        assert_eq!(
            updated.header("x-carbonara-beyond-timespans"),
            Some("points=20; metrics=1")
        );
        let same = call(app, "PATCH", "/v1/archive_policy/old", Some(shorter)).await;
        assert_eq!(same.header("x-carbonara-beyond-timespans"), None);
    });
}
