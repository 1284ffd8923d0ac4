//! `POST /v1/aggregates?groupby=…&use_history=true`: groups by the values
//! each revision of a resource had, on both index backends. Gnocchi's own
//! case (aggregates-with-resources.yaml, "aggregates API with history"),
//! and a point whose period the change of revision cuts in two.

use axum::http::StatusCode;
use carbonara::time::{Span, Timestamp, parse_timestamp};
use serde_json::{Value, json};

use crate::serve::common::{ACCEPT, ADMIN, Answer, JSON, get, on_each_backend, post, send};

const INSTANCE: &str = "c14fafd8-2e50-4a1a-ac13-319c82fb2f65";
const F1: &str = "d7a2b16c-fd00-4a6e-8e2f-086886b0637f";
const F2: &str = "ea98441b-2fcb-4bd9-97af-21333f8ddffa";

/// The type `instance` (a `flavor_id`), the instance with flavor F1 and a
/// metric `vm.uptime` of `policy`.
async fn instance(app: &axum::Router, policy: &str) {
    let created = post(app, "/v1/archive_policy", policy).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let kind = r#"{"name": "instance", "attributes": {"flavor_id": {"type": "uuid"}}}"#;
    let created = post(app, "/v1/resource_type", kind).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let resource = format!(
        r#"{{"id": "{INSTANCE}", "flavor_id": "{F1}",
            "metrics": {{"vm.uptime": {{"archive_policy_name": "p"}}}}}}"#
    );
    let created = post(app, "/v1/resource/instance", &resource).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

async fn add_measures(app: &axum::Router, measures: &str) {
    let path = format!("/v1/resource/instance/{INSTANCE}/metric/vm.uptime/measures");
    let added = post(app, &path, measures).await;
    assert_eq!(added.status, StatusCode::ACCEPTED, "{}", added.body);
}

/// Flavor F2 from now on; the time the new revision starts.
async fn change_flavor(app: &axum::Router) -> Timestamp {
    let path = format!("/v1/resource/instance/{INSTANCE}");
    let body = format!(r#"{{"flavor_id": "{F2}"}}"#);
    let patched = send(app, "PATCH", &path, &[ADMIN, JSON, ACCEPT], Some(&body)).await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let start = patched.json()["revision_start"]
        .as_str()
        .unwrap()
        .to_owned();
    parse_timestamp(&start, Timestamp::now()).unwrap()
}

/// The waiting measures aggregated, as metricd would have.
async fn refresh(app: &axum::Router) {
    let path = format!("/v1/resource/instance/{INSTANCE}/metric/vm.uptime/measures?refresh=true");
    let read = get(app, &path).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
}

/// `(aggregate mean (metric vm.uptime mean))` over the instance, grouped
/// by flavor, with more of the query string.
async fn ask(app: &axum::Router, query: &str) -> Answer {
    let body = format!(
        r#"{{"resource_type": "instance", "search": "id = '{INSTANCE}'",
            "operations": "(aggregate mean (metric vm.uptime mean))"}}"#
    );
    post(
        app,
        &format!("/v1/aggregates?groupby=flavor_id{query}"),
        &body,
    )
    .await
}

async fn by_flavor(app: &axum::Router, query: &str) -> Value {
    let answer = ask(app, query).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.json()
}

fn group(flavor: &str, points: Value) -> Value {
    json!({"group": {"flavor_id": flavor}, "measures": {"measures": {"aggregated": points}}})
}

#[test]
fn gnocchis_case_groups_by_each_revisions_flavor() {
    on_each_backend(async |app| {
        let policy = r#"{"name": "p", "definition": [{"granularity": "5 second"}]}"#;
        instance(app, policy).await;
        add_measures(
            app,
            r#"[{"timestamp": "2015-03-06T14:00:00", "value": 1},
                {"timestamp": "2015-03-06T15:00:00", "value": 1}]"#,
        )
        .await;
        change_flavor(app).await;
        add_measures(
            app,
            r#"[{"timestamp": "2099-01-01T01:00:00", "value": 1},
                {"timestamp": "2099-01-01T02:00:00", "value": 1}]"#,
        )
        .await;
        refresh(app).await;
        let in_2015 = json!([
            ["2015-03-06T14:00:00+00:00", 5.0, 1.0],
            ["2015-03-06T15:00:00+00:00", 5.0, 1.0]
        ]);
        let in_2099 = json!([
            ["2099-01-01T01:00:00+00:00", 5.0, 1.0],
            ["2099-01-01T02:00:00+00:00", 5.0, 1.0]
        ]);
        let all: Vec<Value> = [&in_2015, &in_2099]
            .iter()
            .flat_map(|p| p.as_array().unwrap().clone())
            .collect();
        // Without history: the current flavor has every point.
        assert_eq!(
            by_flavor(app, "").await,
            json!([group(F2, Value::Array(all))])
        );
        assert_eq!(
            by_flavor(app, "&use_history=true").await,
            json!([group(F1, in_2015.clone()), group(F2, in_2099.clone())])
        );
        // Both bounds: revisions that overlap them, each cut to them.
        assert_eq!(
            by_flavor(app, "&use_history=true&start=2015-01-01&stop=2100-01-01").await,
            json!([group(F1, in_2015), group(F2, in_2099.clone())])
        );
        // The period is the revisions' own time, not the points': every
        // revision began after 2015, so none is left, and Gnocchi says the
        // metric does not exist.
        let none = ask(app, "&use_history=true&start=2015-03-06&stop=2015-03-07").await;
        assert_eq!(none.status, StatusCode::NOT_FOUND, "{}", none.body);
        assert!(
            none.body.contains("Metric ['vm.uptime'] does not exist"),
            "{}",
            none.body
        );
    });
}

#[test]
fn a_point_the_change_cuts_is_shared_by_covered_time() {
    on_each_backend(async |app| {
        let day = Span::from_secs(86_400);
        let policy = r#"{"name": "p", "definition": [{"granularity": "1 day", "points": 30}]}"#;
        instance(app, policy).await;
        let now = Timestamp::now();
        add_measures(
            app,
            &format!(
                r#"[{{"timestamp": "{}", "value": 10}}]"#,
                now.to_isoformat()
            ),
        )
        .await;
        let change = change_flavor(app).await;
        refresh(app).await;
        let bucket = now.round_down(day);
        let before = (change - bucket).nanos() as f64 / day.nanos() as f64;
        let after = (bucket + day - change).nanos() as f64 / day.nanos() as f64;
        let point = |share: f64| json!([[bucket.to_api_string(), 86400.0, 10.0 * share]]);
        // The first revision has no start: its point counts from its own
        // timestamp until the change; the second from the change on.
        assert_eq!(
            by_flavor(app, "&use_history=true").await,
            json!([group(F1, point(before)), group(F2, point(after))])
        );
        assert!(before > 0.0 && after > 0.0);
    });
}
