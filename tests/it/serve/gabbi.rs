//! Cases of Gnocchi 4.7.1's own functional tests (the gabbi files in
//! gnocchi/tests/functional/gabbits/), sent through the router: each test
//! names the file and the case it mirrors, and asserts the status and body
//! Gnocchi gives there, on a store of each index backend (SQLite and
//! PostgreSQL) in turn. scripts/oracle/gabbi.sh runs the whole files
//! against `carbonara serve` on both.

use axum::http::StatusCode;
use carbonara::ingest::prometheus::{TimeSeries, WriteRequest};

use crate::serve::common::{Answer, on_each_backend, send, send_remote_write};

const ADMIN: (&str, &str) = ("authorization", "basic YWRtaW46");
const FOOBAR: (&str, &str) = ("authorization", "basic Zm9vYmFyOg==");
const JSON: (&str, &str) = ("content-type", "application/json");
const ACCEPT: (&str, &str) = ("accept", "application/json");

async fn call(
    app: &axum::Router,
    method: &str,
    path: &str,
    who: (&str, &str),
    body: Option<&str>,
) -> Answer {
    send(app, method, path, &[who, JSON, ACCEPT], body).await
}

fn assert_answer(answer: &Answer, status: StatusCode, body: &str) {
    assert_eq!((answer.status, answer.body.as_str()), (status, body));
}

/// Creates an archive policy as the gabbi files' admin does.
async fn create_policy(app: &axum::Router, policy: &str) {
    let created = call(app, "POST", "/v1/archive_policy", ADMIN, Some(policy)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

// archive.yaml, "patch archive policy with non-matching granularity": the
// policy has 1 s and 2 s; the new definition 5 s and 2 s. Gnocchi pairs
// both sorted by granularity and names the current one of the first pair
// that differs.
#[test]
fn a_changed_granularity_is_named_as_gnocchi_finds_it_first() {
    on_each_backend(async |app| {
        create_policy(
            app,
            r#"{"name": "medium", "definition": [
                    {"granularity": "1 second", "points": 20},
                    {"granularity": "2 second"}]}"#,
        )
        .await;
        let patched = call(
            app,
            "PATCH",
            "/v1/archive_policy/medium",
            ADMIN,
            Some(
                r#"{"definition": [
                    {"granularity": "5 second", "points": 20},
                    {"granularity": "2 second"}]}"#,
            ),
        )
        .await;
        assert_answer(
            &patched,
            StatusCode::BAD_REQUEST,
            r#"{"code": 400, "title": "Bad Request", "description": "Archive policy medium does not support change: 1.0 granularity interval was changed"}"#,
        );
    });
}

// aggregation.yaml, "get measure aggregates with invalid aggregation method":
// two metrics of a policy of 1 s and 300 s; Gnocchi checks the method at the
// first granularity of the definition as created, and names the first metric
// by id.
#[test]
fn an_unknown_method_of_several_metrics_names_the_first_granularity_defined() {
    on_each_backend(async |app| {
        create_policy(
            app,
            r#"{"name": "low", "definition": [
                    {"granularity": "1 second"}, {"granularity": "300 seconds"}]}"#,
        )
        .await;
        let mut ids = Vec::new();
        for _ in 0..2 {
            let metric = call(
                app,
                "POST",
                "/v1/metric",
                FOOBAR,
                Some(r#"{"archive_policy_name": "low"}"#),
            )
            .await;
            assert_eq!(metric.status, StatusCode::CREATED);
            ids.push(metric.json()["id"].as_str().unwrap().to_owned());
        }
        ids.sort();
        let path = format!(
            "/v1/aggregation/metric?metric={}&metric={}&aggregation=wtf",
            ids[1], ids[0]
        );
        let answer = call(app, "GET", &path, FOOBAR, None).await;
        assert_answer(
            &answer,
            StatusCode::NOT_FOUND,
            &format!(
                r#"{{"code": 404, "title": "Not Found", "description": "Aggregation method 'wtf' at granularity '1.0' for metric {} does not exist"}}"#,
                ids[0]
            ),
        );
    });
}

// resource.yaml, "post generic with invalid metric name": no `id`, and a
// metric named with a `/`; Gnocchi aborts on the name while voluptuous walks
// the body, before it reports the missing `id`.
#[test]
fn a_slash_in_a_metric_name_is_reported_before_a_missing_id() {
    on_each_backend(async |app| {
        create_policy(
            app,
            r#"{"name": "medium", "definition": [{"granularity": "1 second", "points": 20}]}"#,
        )
        .await;
        let answer = call(
            app,
            "POST",
            "/v1/resource/generic",
            FOOBAR,
            Some(r#"{"metrics": {"disk/iops": {"archive_policy_name": "medium"}}}"#),
        )
        .await;
        assert_answer(
            &answer,
            StatusCode::BAD_REQUEST,
            r#"{"code": 400, "title": "Bad Request", "description": "'/' is not supported in metric name"}"#,
        );
        // Without the `/`, the missing `id` is what is said.
        let answer = call(
            app,
            "POST",
            "/v1/resource/generic",
            FOOBAR,
            Some(r#"{"metrics": {"disk.iops": {"archive_policy_name": "medium"}}}"#),
        )
        .await;
        assert_answer(
            &answer,
            StatusCode::BAD_REQUEST,
            r#"{"code": 400, "title": "Bad Request", "description": {"cause": "Invalid input", "reason": "required key not provided @ data['id']", "detail": ["id"]}}"#,
        );
    });
}

// search.yaml, "search invalid ne value": a list (or a dict) where a
// comparison takes one value; voluptuous's `Any(str, float, int, bool, None)`
// reports its first alternative's error. Inside an `in` list, the item is
// not a dictionary value.
#[test]
fn a_list_or_dict_compared_is_refused_in_voluptuouss_words() {
    on_each_backend(async |app| {
        let invalid = |reason: &str, detail: &str| {
            format!(
                r#"{{"code": 400, "title": "Bad Request", "description": {{"cause": "Invalid input", "reason": "{reason}", "detail": {detail}}}}}"#
            )
        };
        for (body, reason, detail) in [
            (
                r#"{"ne": {"project_id": ["foobar"]}}"#,
                "expected str for dictionary value @ data['ne']['project_id']",
                r#"["ne", "project_id"]"#,
            ),
            (
                r#"{"ne": {"project_id": {"a": 1}}}"#,
                "expected str for dictionary value @ data['ne']['project_id']",
                r#"["ne", "project_id"]"#,
            ),
            (
                r#"{"not": {"like": {"user_id": [1]}}}"#,
                "expected str for dictionary value @ data['not']['like']['user_id']",
                r#"["not", "like", "user_id"]"#,
            ),
            (
                r#"{"in": {"user_id": [[1]]}}"#,
                "expected str @ data['in']['user_id'][0]",
                r#"["in", "user_id", "0"]"#,
            ),
        ] {
            let answer = call(
                app,
                "POST",
                "/v1/search/resource/generic",
                FOOBAR,
                Some(body),
            )
            .await;
            assert_answer(&answer, StatusCode::BAD_REQUEST, &invalid(reason, detail));
        }
    });
}

// aggregation.yaml's negative tests ("get measure aggregates with wrong
// GET", "… wrong resource", "… wrong path", "… wrong path 2", "… no resource
// name") and search.yaml's "typo of search" and "typo of search in
// resource": pecan looks a path of four segments or more under
// `/v1/aggregation/` up as `resource/TYPE/metric/NAME` (a bare 404 when it
// is not that shape), and a resource type before the method.
#[test]
fn wrong_paths_under_aggregation_and_search_are_404s_as_in_gnocchi() {
    on_each_backend(async |app| {
        let not_found = r#"{"code": 404, "title": "Not Found", "description": ""}"#;
        let not_allowed = r#"{"code": 405, "title": "Method Not Allowed", "description": ""}"#;
        let no_type = |name: &str| {
            format!(
                r#"{{"code": 404, "title": "Not Found", "description": "Resource type {name} does not exist"}}"#
            )
        };
        for (method, path, status, body, allow) in [
            (
                "POST",
                "/v1/aggregation/re/generic/metric/agg_meter",
                404,
                not_found.to_owned(),
                None,
            ),
            (
                "POST",
                "/v1/aggregation/resource/generic/notexists/agg_meter",
                404,
                not_found.to_owned(),
                None,
            ),
            (
                "GET",
                "/v1/aggregation/a/b/c/d/e",
                404,
                not_found.to_owned(),
                None,
            ),
            (
                "POST",
                "/v1/aggregation/resource/notexits/metric/agg_meter",
                404,
                no_type("notexits"),
                None,
            ),
            (
                "GET",
                "/v1/aggregation/resource/notexits/metric/agg_meter",
                404,
                no_type("notexits"),
                None,
            ),
            (
                "GET",
                "/v1/aggregation/resource/generic/metric/agg_meter",
                405,
                not_allowed.to_owned(),
                Some("POST"),
            ),
            // Gnocchi's own refusal inside the `metric` action: no `Allow`.
            (
                "POST",
                "/v1/aggregation/resource/generic/metric",
                405,
                not_allowed.to_owned(),
                None,
            ),
            // Fewer segments: refused as pecan refuses a custom action.
            (
                "POST",
                "/v1/aggregation/resource/generic",
                405,
                not_allowed.to_owned(),
                Some(""),
            ),
            (
                "GET",
                "/v1/aggregation",
                405,
                not_allowed.to_owned(),
                Some(""),
            ),
            (
                "GET",
                "/v1/search/notexists",
                404,
                r#"{"code": 404, "title": "Not Found", "description": null}"#.to_owned(),
                None,
            ),
            (
                "GET",
                "/v1/search/resource/foobar",
                404,
                no_type("foobar"),
                None,
            ),
            (
                "DELETE",
                "/v1/search/resource/foobar/x",
                404,
                no_type("foobar"),
                None,
            ),
            (
                "GET",
                "/v1/search/resource/generic",
                405,
                not_allowed.to_owned(),
                Some("POST"),
            ),
            (
                "POST",
                "/v1/search/resource/generic/x",
                404,
                not_found.to_owned(),
                None,
            ),
            (
                "GET",
                "/v1/search/resource/generic/x",
                405,
                not_allowed.to_owned(),
                Some("POST"),
            ),
            (
                "GET",
                "/v1/search/resource",
                405,
                not_allowed.to_owned(),
                Some(""),
            ),
        ] {
            let answer = call(app, method, path, FOOBAR, Some("{}")).await;
            assert_eq!(
                (
                    answer.status.as_u16(),
                    answer.body.as_str(),
                    answer.header("allow")
                ),
                (status, body.as_str(), allow),
                "{method} {path}"
            );
        }
    });
}

// influxdb.yaml, "ping influxdb status with head" and "… with get": Gnocchi
// expects 204 for both but marks the HEAD case an expected failure, since
// pecan answers it 405; carbonara answers HEAD like GET
// (docs/differences.md#serve).
#[test]
fn head_on_the_influxdb_ping_answers_like_get() {
    on_each_backend(async |app| {
        for method in ["HEAD", "GET"] {
            let answer = send(app, method, "/v1/influxdb/ping", &[FOOBAR, JSON], None).await;
            assert_eq!(answer.status, StatusCode::NO_CONTENT, "{method}");
            assert_eq!(answer.body, "", "{method}");
            assert_eq!(
                answer.header("x-influxdb-version"),
                Some("Gnocchi 4.7.1"),
                "{method}"
            );
        }
    });
}

// prometheus.yaml, "post some measures", "ensure resource has been
// created" and "ensure one resource have all metrics created": a remote
// write by the admin, with a rule giving every metric a policy, makes
// Gnocchi's `prometheus` type (strings of up to 512 characters, past what
// the API allows), one resource per job and instance, and its metrics.
#[test]
fn a_prometheus_remote_write_makes_its_type_resource_and_metrics() {
    on_each_backend(async |app| {
        create_policy(
            app,
            r#"{"name": "space", "definition": [{"granularity": "1 second"}]}"#,
        )
        .await;
        let rule =
            r#"{"name": "test_prom", "metric_pattern": "*", "archive_policy_name": "space"}"#;
        let created = call(app, "POST", "/v1/archive_policy_rule", ADMIN, Some(rule)).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let labels = |name| {
            [
                ("__name__", name),
                ("job", "prometheus"),
                ("instance", "localhost:9090"),
            ]
        };
        let request = WriteRequest {
            timeseries: vec![
                TimeSeries::new(
                    &labels("scrape_samples_scraped"),
                    &[(558.0, 1_506_146_578_000)],
                ),
                TimeSeries::new(&labels("up"), &[(1.0, 1_506_146_578_000)]),
            ],
        };
        let written = send_remote_write(app, &request).await;
        assert_answer(&written, StatusCode::ACCEPTED, "");
        let listed = call(app, "GET", "/v1/resource/prometheus", ADMIN, None).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
        let resources = listed.json();
        assert_eq!(resources.as_array().unwrap().len(), 1, "{resources}");
        assert_eq!(resources[0]["job"], "prometheus");
        assert_eq!(resources[0]["instance"], "localhost:9090");
        let resource = call(
            app,
            "GET",
            "/v1/resource/prometheus/prometheus@localhost:9090",
            ADMIN,
            None,
        )
        .await;
        assert_eq!(resource.status, StatusCode::OK, "{}", resource.body);
        let metrics = resource.json()["metrics"].clone();
        let mut names: Vec<&String> = metrics.as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(names, ["scrape_samples_scraped", "up"]);
        let resource_type = call(app, "GET", "/v1/resource_type/prometheus", ADMIN, None).await;
        assert_eq!(
            resource_type.json()["attributes"]["instance"],
            serde_json::json!({"type": "string", "required": true, "min_length": 1, "max_length": 512})
        );
    });
}
