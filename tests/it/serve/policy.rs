//! Gnocchi's policy for callers who are not admin, endpoint by endpoint:
//! the sessions tests/golden/serve/record_real_gnocchi_policy.py recorded
//! against a real Gnocchi 4.7.1, as Keystone users of several projects
//! and roles (`noauth`) and as basic users, replayed through `serve`'s
//! router with the same auth mode. On top of the comparison: no caller of
//! project B ever gets a 2xx answer about project A's objects.

use serde_json::Value;

use crate::common::{golden_dir, read_json};
use crate::serve::real::replay_as;
use carbonara::server::AuthMode;

/// Listings whose order Gnocchi leaves to the database (types, policies
/// and rules in creation order there, metrics by random id).
const SORTED: [&str; 5] = [
    "list types",
    "list policies",
    "list rules",
    "list metrics",
    "resource add metric",
];

/// Gnocchi filters a listing of metrics by their resource's project by
/// joining them to it, which leaves out those without a resource.
const RESOURCELESS_HIDDEN: &str = "Gnocchi hides the caller's own metrics without a resource; \
     carbonara lists them";

/// Gnocchi 4.7.1 checks no rule on the resource a batch adds metrics to.
const BATCH_ADDS_METRICS: &str = "Gnocchi lets project B add a metric to project A's resource \
     in a batch with create_metrics; carbonara asks for the update resource rule (403)";

/// Steps where carbonara answers differently on purpose, and why.
const KNOWN_DIFFERENCES: [(&str, &str); 10] = [
    (
        "status as admin",
        "real Gnocchi without metricd answers 500; carbonara reports its own backlog",
    ),
    (
        "no identity as nobody",
        "Gnocchi without Keystone's filter takes a request without headers as user ':'; \
         carbonara answers 401, as the filter does",
    ),
    ("list metrics as other", RESOURCELESS_HIDDEN),
    ("list metrics as peer", RESOURCELESS_HIDDEN),
    ("list metrics as owner", RESOURCELESS_HIDDEN),
    ("list metrics by creator as peer", RESOURCELESS_HIDDEN),
    ("list metrics by creator as owner", RESOURCELESS_HIDDEN),
    ("batch resources create a_own as other", BATCH_ADDS_METRICS),
    (
        "batch resources create a_for_c as other",
        BATCH_ADDS_METRICS,
    ),
    ("batch resources create a_none as other", BATCH_ADDS_METRICS),
];

/// In the basic session, the owner's batch after `carol`'s: in Gnocchi the
/// metric it names is then `carol`'s, which the owner may not post to.
const CAROLS_METRIC: &str =
    "the metric is carol's in Gnocchi, which carbonara did not let her create";

const KNOWN_BASIC_DIFFERENCES: [(&str, &str); 3] = [
    ("batch resources create a_own as owner", CAROLS_METRIC),
    ("batch resources create a_for_c as owner", CAROLS_METRIC),
    ("batch resources create a_none as owner", CAROLS_METRIC),
];

/// The steps of a recording whose names begin with one of `SORTED`.
fn sorted_steps(steps: &[Value]) -> Vec<&str> {
    steps
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .filter(|name| SORTED.iter().any(|prefix| name.starts_with(prefix)))
        .collect()
}

#[tokio::test]
async fn replays_the_policy_for_keystone_users() {
    let file = "serve/real_gnocchi_policy.json";
    let steps = steps(file);
    let answers = replay_as(
        file,
        AuthMode::Noauth,
        &KNOWN_DIFFERENCES,
        &sorted_steps(&steps),
    )
    .await;
    let ours: Vec<(u64, &str)> = answers
        .iter()
        .map(|a| (u64::from(a.status.as_u16()), a.body.as_str()))
        .collect();
    assert_eq!(cross_project(&steps, &ours), Vec::<String>::new());
}

#[tokio::test]
async fn replays_the_policy_for_basic_users() {
    let file = "serve/real_gnocchi_policy_basic.json";
    let steps = steps(file);
    let known = [KNOWN_DIFFERENCES.as_slice(), &KNOWN_BASIC_DIFFERENCES].concat();
    replay_as(file, AuthMode::Basic, &known, &sorted_steps(&steps)).await;
}

/// What real Gnocchi lets project B do to project A's objects: create a
/// metric on any resource it names by id in a batch with
/// `create_metrics=true` (4.7.1 checks no rule on the resource), then
/// post to it, since the metric is B's.
const REAL_GNOCCHI_CROSS_PROJECT: [&str; 3] = [
    "batch resources create a_own as other",
    "batch resources create a_for_c as other",
    "batch resources create a_none as other",
];

#[test]
fn real_gnocchi_keeps_projects_apart_but_for_batch_created_metrics() {
    let steps = steps("serve/real_gnocchi_policy.json");
    let real: Vec<(u64, &str)> = steps
        .iter()
        .map(|s| {
            (
                s["status"].as_u64().unwrap(),
                s["response_body"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(cross_project(&steps, &real), REAL_GNOCCHI_CROSS_PROJECT);
}

fn steps(file: &str) -> Vec<Value> {
    read_json(&golden_dir().join(file))["steps"]
        .as_array()
        .unwrap()
        .clone()
}

/// Steps by project B's member (`other`) answered 2xx that addressed one
/// of project A's objects or whose answer names project A: reads or
/// writes across projects. `answers` are (status, body), one per step.
fn cross_project(steps: &[Value], answers: &[(u64, &str)]) -> Vec<String> {
    assert!(answers.len() == steps.len());
    let by_b = steps.iter().filter(|s| s["caller"] == "other").count();
    assert!(by_b > 100, "{by_b} steps by project B");
    steps
        .iter()
        .zip(answers)
        .filter(|(step, (status, body))| {
            step["caller"] == "other"
                && (200..300).contains(status)
                && (step["target"] == "project A" || body.contains("project-a"))
        })
        .map(|(step, _)| step["name"].as_str().unwrap().to_owned())
        .collect()
}
