//! `GET /v1/metric/ID/measures.svg` (carbonara's extension): the chart
//! `carbonara plot` draws for the same query, under the same access rules
//! as `GET …/measures`.

use axum::http::StatusCode;
use carbonara::server::AuthMode;

use crate::plot::{plot_cpu, store_with_charted_metrics};
use crate::serve::common::{ADMIN, send, test_app};

#[tokio::test]
async fn the_svg_of_a_metric_is_the_one_plot_writes() {
    let (store, cpu) = store_with_charted_metrics();
    let query = ["--granularity", "1m", "--start", "2024-01-01T13:00:00"];
    let (assert, out) = plot_cpu(&store, "cpu.svg", &query);
    assert.success();
    let from_cli = std::fs::read_to_string(&out).unwrap();
    let app = test_app(&store, AuthMode::Basic);
    let path = format!("/v1/metric/{cpu}/measures.svg?granularity=60&start=2024-01-01T13:00:00");
    let answer = send(&app, "GET", &path, &[ADMIN], None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("image/svg+xml"));
    assert_eq!(answer.body, from_cli);
    // The JSON measures are still there, next to the chart.
    let json = send(
        &app,
        "GET",
        &format!("/v1/metric/{cpu}/measures"),
        &[ADMIN],
        None,
    )
    .await;
    assert_eq!(json.header("content-type"), Some("application/json"));
}

#[tokio::test]
async fn the_svg_is_refused_as_the_measures_are() {
    let (store, cpu) = store_with_charted_metrics();
    let app = test_app(&store, AuthMode::Basic);
    let get = |path: String| {
        let app = app.clone();
        async move { send(&app, "GET", &path, &[ADMIN], None).await }
    };
    let unknown =
        get("/v1/metric/4fd5a7c2-6f0a-4a36-bb8e-9a9f0f0f0f0f/measures.svg".to_owned()).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.body);
    let method = get(format!("/v1/metric/{cpu}/measures.svg?aggregation=last")).await;
    assert_eq!(method.status, StatusCode::NOT_FOUND, "{}", method.body);
    let empty = get(format!("/v1/metric/{cpu}/measures.svg?start=2030-01-01")).await;
    assert_eq!(empty.status, StatusCode::BAD_REQUEST, "{}", empty.body);
    assert!(
        empty
            .body
            .contains("no measures to plot for mean of web1/cpu"),
        "{}",
        empty.body
    );
    let anonymous = send(
        &app,
        "GET",
        &format!("/v1/metric/{cpu}/measures.svg"),
        &[],
        None,
    )
    .await;
    assert_eq!(
        anonymous.status,
        StatusCode::UNAUTHORIZED,
        "{}",
        anonymous.body
    );
}
