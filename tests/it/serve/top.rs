//! `GET /v1/top` and `POST /v1/top/resource/TYPE` (carbonara's
//! extension) over the store of `crate::top`: the rankings, the count of
//! resources left out, Gnocchi-style refusals, a basic user who may not
//! read the metrics ranked, and keystone callers who rank their project's
//! resources only.

use axum::http::StatusCode;
use carbonara::server::AuthMode;
use serde_json::json;

use crate::serve::common::{ACCEPT, ADMIN, JSON, get, post, send, test_app};
use crate::top::{b_and_d, fixture, metrics_ranked, resources_ranked, s_b_and_s_d};

/// Basic authentication as user `foobar`.
const FOOBAR: (&str, &str) = ("authorization", "basic Zm9vYmFyOg==");

#[tokio::test]
async fn metrics_are_ranked_by_the_query_string() {
    let fixture = fixture();
    let app = test_app(&fixture.store, AuthMode::Basic);
    let ids = ["a", "b", "c", "d"]
        .map(|name| format!("metric={}", fixture.metric(name)))
        .join("&");
    let [first, second] = b_and_d(&fixture);
    let cases = [
        (
            "",
            vec![("c", 9.0), ("a", 5.0), (first, 3.0), (second, 3.0)],
        ),
        ("&reduce=sum&n=2", vec![("c", 11.0), ("b", 9.0)]),
        (
            "&reduce=last&ascending=true",
            vec![("a", 2.0), (first, 3.0), (second, 3.0), ("c", 9.0)],
        ),
        (
            "&aggregation=max&granularity=3600&start=2024-01-01T00:30:00&stop=2024-01-01T01:00:00",
            vec![("a", 5.0), (first, 3.0), (second, 3.0), ("c", 2.0)],
        ),
    ];
    for (query, expected) in cases {
        let answer = get(&app, &format!("/v1/top?{ids}{query}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.body);
        assert_eq!(
            answer.json(),
            metrics_ranked(&fixture, &expected),
            "{query}"
        );
    }
}

#[tokio::test]
async fn resources_are_ranked_from_a_search_filter() {
    let fixture = fixture();
    let app = test_app(&fixture.store, AuthMode::Basic);
    let [first, second] = s_b_and_s_d(&fixture);
    let answer = post(
        &app,
        "/v1/top/resource/server?metric=cpu",
        r#"{"=": {"host": "x"}}"#,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.json(),
        resources_ranked(&fixture, &[("s-a", 5.0), (first, 3.0), (second, 3.0)])
    );
    // `empty` has no value, `bare` no cpu.
    assert_eq!(answer.header("x-carbonara-left-out"), Some("2"));
    // The filter as a string, every reduction's parameters.
    let answer = send(
        &app,
        "POST",
        "/v1/top/resource/server?metric=cpu&filter=host%3D%27y%27&reduce=min",
        &[ADMIN, ACCEPT],
        None,
    )
    .await;
    assert_eq!(answer.json(), resources_ranked(&fixture, &[("s-c", 2.0)]));
    assert_eq!(answer.header("x-carbonara-left-out"), Some("0"));
}

#[tokio::test]
async fn refusals_are_gnocchi_style_400s_and_404s() {
    let fixture = fixture();
    let app = test_app(&fixture.store, AuthMode::Basic);
    let a = fixture.metric("a");
    let unknown = "00000000-0000-0000-0000-000000000001";
    let description = |body: &str| crate::common::parse_python_json(body)["description"].clone();
    let cases = [
        (
            format!("/v1/top?metric={a}&metric={unknown}"),
            StatusCode::NOT_FOUND,
            json!(format!("Metric {unknown} does not exist")),
        ),
        (
            "/v1/top?metric=web1".to_owned(),
            StatusCode::BAD_REQUEST,
            json!("Invalid input: not a valid value @ data[0]"),
        ),
        (
            format!(
                "/v1/top?metric={a}&metric={}&aggregation=max",
                fixture.metric("lone")
            ),
            StatusCode::NOT_FOUND,
            json!({"cause": "Aggregation method does not exist for this metric",
                "detail": {"metric": fixture.metric("lone"), "aggregation_method": "max"}}),
        ),
        (
            format!("/v1/top?metric={a}&n=0"),
            StatusCode::BAD_REQUEST,
            json!({"cause": "Argument value error", "detail": "n", "reason": "Must be a positive integer"}),
        ),
        (
            format!("/v1/top?metric={a}&reduce=median"),
            StatusCode::BAD_REQUEST,
            json!({"cause": "Argument value error", "detail": "reduce",
                "reason": "unknown reduction 'median': expected max, min, mean, sum or last"}),
        ),
        (
            "/v1/top".to_owned(),
            StatusCode::BAD_REQUEST,
            json!({"cause": "Argument value error", "detail": "metric", "reason": "Required"}),
        ),
    ];
    for (path, status, expected) in cases {
        let answer = get(&app, &path).await;
        assert_eq!(answer.status, status, "{path}: {}", answer.body);
        assert_eq!(description(&answer.body), expected, "{path}");
    }
    let no_name = post(&app, "/v1/top/resource/server", "{}").await;
    assert_eq!(no_name.status, StatusCode::BAD_REQUEST);
    let no_type = post(&app, "/v1/top/resource/nosuch?metric=cpu", "{}").await;
    assert_eq!(no_type.status, StatusCode::NOT_FOUND, "{}", no_type.body);
    assert_eq!(
        description(&no_type.body),
        "Resource type nosuch does not exist"
    );
    let put = send(&app, "PUT", "/v1/top", &[ADMIN, ACCEPT], None).await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_user_ranks_only_what_they_may_read() {
    let fixture = fixture();
    let app = test_app(&fixture.store, AuthMode::Basic);
    let theirs = format!("/v1/top?metric={}", fixture.metric("a"));
    let refused = send(&app, "GET", &theirs, &[FOOBAR, ACCEPT], None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    // Their own metric, without measures: nothing to rank.
    let own = send(
        &app,
        "POST",
        "/v1/metric",
        &[FOOBAR, JSON, ACCEPT],
        Some(r#"{"archive_policy_name": "p"}"#),
    )
    .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
    let path = format!("/v1/top?metric={}", own.json()["id"].as_str().unwrap());
    let answer = send(&app, "GET", &path, &[FOOBAR, ACCEPT], None).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "[]")
    );
    // Basic users see every resource in searches (Gnocchi cuts lists for
    // keystone callers only), but may not read admin's metrics on them.
    let search = send(
        &app,
        "POST",
        "/v1/top/resource/server?metric=cpu",
        &[FOOBAR, JSON, ACCEPT],
        Some("{}"),
    )
    .await;
    assert_eq!(search.status, StatusCode::FORBIDDEN, "{}", search.body);
}

/// Keystone-header callers (`x-user-id`, `x-project-id`, `x-roles`).
fn member(user: &'static str, project: &'static str) -> [(&'static str, &'static str); 5] {
    [
        ("x-user-id", user),
        ("x-project-id", project),
        ("x-roles", "member"),
        JSON,
        ACCEPT,
    ]
}

#[tokio::test]
async fn keystone_callers_rank_their_projects_resources_only() {
    let fixture = fixture();
    let app = test_app(&fixture.store, AuthMode::Noauth);
    let (alice, bob) = (member("alice", "p1"), member("bob", "p2"));
    let mut cpus = Vec::new();
    for (caller, id, value) in [(&alice, "web-a", 4), (&bob, "web-b", 7)] {
        let body =
            format!(r#"{{"id": "{id}", "metrics": {{"cpu": {{"archive_policy_name": "p"}}}}}}"#);
        let created = send(&app, "POST", "/v1/resource/generic", caller, Some(&body)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let cpu = created.json()["metrics"]["cpu"]
            .as_str()
            .unwrap()
            .to_owned();
        let measures = format!(r#"[{{"timestamp": "2024-01-01T00:00:00", "value": {value}}}]"#);
        let path = format!("/v1/metric/{cpu}/measures");
        assert_eq!(
            send(&app, "POST", &path, caller, Some(&measures))
                .await
                .status,
            StatusCode::ACCEPTED
        );
        let refreshed = send(&app, "GET", &format!("{path}?refresh=true"), caller, None).await;
        assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
        cpus.push((cpu, created.json()["id"].as_str().unwrap().to_owned()));
    }
    // Each sees and ranks only the resources of their project.
    for (caller, (cpu, resource), value) in [(&alice, &cpus[0], 4.0), (&bob, &cpus[1], 7.0)] {
        let answer = send(
            &app,
            "POST",
            "/v1/top/resource/generic?metric=cpu",
            caller,
            Some("{}"),
        )
        .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(
            answer.json(),
            json!([{"rank": 1, "metric": cpu, "resource": resource, "value": value}])
        );
    }
    // Named by id, the other project's metric is refused.
    let theirs = format!("/v1/top?metric={}&metric={}", cpus[0].0, cpus[1].0);
    let refused = send(&app, "GET", &theirs, &alice, None).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
}
