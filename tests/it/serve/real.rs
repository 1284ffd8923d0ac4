//! Sessions recorded against a real Gnocchi 4.7.1 (PostgreSQL indexer) by
//! tests/golden/serve/record_real_gnocchi.py (every endpoint but the write
//! ones), record_real_gnocchi_writes.py (batch, InfluxDB, Prometheus) and
//! record_real_gnocchi_history.py (`use_history`),
//! replayed through `serve`'s router: the same statuses, the same headers clients read (Location,
//! Link, Allow, Content-Type, CORS), and the same bodies (JSON documents
//! key order included, error envelopes and webob's HTML and text pages
//! byte for byte). Fresh metric ids, ETags and times are normalised.

use serde_json::Value;

use crate::common::{golden_dir, read_json};
use crate::serve::common::{Answer, Normalizer, compare, empty_store, send_recorded, test_app};
use carbonara::server::AuthMode;

/// Steps where carbonara answers differently on purpose, and why. Sorted
/// listings below are those whose order Gnocchi leaves to the database
/// (policies, types, a resource's metrics by random id, a detailed generic
/// listing, which Gnocchi assembles per type).
const KNOWN_DIFFERENCES: [(&str, &str); 11] = [
    (
        "status without details",
        "real Gnocchi without metricd answers 500; carbonara reports its own backlog",
    ),
    (
        "create rule missing key",
        "two keys are missing: Gnocchi names one at random (a Python set)",
    ),
    (
        "create server missing required",
        "two keys are missing: Gnocchi names one at random (a Python set)",
    ),
    (
        "status",
        "real Gnocchi without metricd answers 500; carbonara reports its own backlog",
    ),
    (
        "metric create on unknown resource",
        "real Gnocchi answers 500; carbonara says the resource does not exist",
    ),
    (
        "search ((",
        "pyparsing's message; carbonara's parser words its own",
    ),
    (
        "search id == s0",
        "pyparsing's message; carbonara's parser words its own",
    ),
    (
        "list metrics page",
        "both pick the first of two metrics sorted by their random ids",
    ),
    (
        "list servers page",
        "real Gnocchi gives the last two in ascending order for a descending page with details",
    ),
    (
        "list servers bad marker",
        "real Gnocchi answers 500; carbonara says the marker is invalid",
    ),
    (
        "search size = 'many'",
        "real Gnocchi answers 500; carbonara says the value does not fit the field",
    ),
];

#[tokio::test]
async fn replays_a_real_gnocchi_session() {
    replay(
        "serve/real_gnocchi.json",
        &KNOWN_DIFFERENCES,
        &[
            "list policies",
            "list types",
            "resource metrics",
            "resource add metric",
            "list generic details",
        ],
    )
    .await;
}

/// Steps of the write endpoints' session where carbonara answers
/// differently on purpose, and why.
const KNOWN_WRITE_DIFFERENCES: [(&str, &str); 14] = [
    (
        "prometheus nameless",
        "real Gnocchi answers 500; carbonara says the series has no name",
    ),
    (
        "prometheus not snappy",
        "real Gnocchi answers 500; carbonara says the body is not snappy",
    ),
    (
        "prometheus empty",
        "real Gnocchi answers 500; carbonara says the body is not snappy",
    ),
    (
        "influx ping head",
        "real Gnocchi answers 405 to HEAD, which its own routing declares; carbonara answers it like GET",
    ),
    (
        "influx write unknown database",
        "real Gnocchi answers 500; carbonara says the resource type does not exist",
    ),
    (
        "batch resources create long unit",
        "real Gnocchi answers 500; carbonara says the unit is too long",
    ),
    (
        "batch resources no measures",
        "real Gnocchi takes an item without measures and fails once the metric exists; carbonara refuses it",
    ),
    (
        "batch resources create on unknown resources",
        "real Gnocchi keeps the metrics it created for the known resource; carbonara stores nothing",
    ),
    (
        "aggregates no operations",
        "real Gnocchi answers 500; carbonara says the key is missing",
    ),
    (
        "aggregates by resource without search",
        "real Gnocchi answers 500; carbonara says the key is missing",
    ),
    (
        "aggregates by resource details",
        "real Gnocchi lists the metric auto.y it kept from a refused batch",
    ),
    (
        "aggregates by resource string search",
        "real Gnocchi lists the metric auto.y it kept from a refused batch",
    ),
    (
        "aggregation by resource groupby",
        "real Gnocchi aggregates only the first page (max_limit) of resources and links the next",
    ),
    (
        "aggregation by resource no such metric",
        "real Gnocchi aggregates only the first page (max_limit) of resources and links the next",
    ),
];

/// Steps that name two metrics, `m1` and `m2`, in the order of their random
/// ids (Gnocchi's `list_metrics` sorts by id): when the fresh ids sort the
/// other way round from the recorded ones, the two are compared with their
/// names swapped, so the first named is the first by id on both sides.
const ORDERED_BY_METRIC_IDS: [&str; 2] = [
    "aggregation two metrics",
    "aggregation unknown method two metrics",
];

/// `use_history` answers the real Gnocchi gave with every window edge in
/// 2099 (record_real_gnocchi_history.py): points weighted by the part of
/// their hour the window covers, revisions that start together joined.
#[tokio::test]
async fn replays_a_real_gnocchi_history_session() {
    replay(
        "serve/real_gnocchi_history.json",
        &[(
            "two resources no start",
            "real Gnocchi answers 500; carbonara says why it cannot group them",
        )],
        &[],
    )
    .await;
}

#[tokio::test]
async fn replays_a_real_gnocchi_write_session() {
    replay(
        "serve/real_gnocchi_writes.json",
        &KNOWN_WRITE_DIFFERENCES,
        &["influx types", "batch resources created"],
    )
    .await;
}

/// Sends a recorded session to a fresh router (basic auth, as the real
/// Gnocchi was) and compares every answer, but for the known differences;
/// `sorted` names listings whose order Gnocchi leaves to the database.
async fn replay(file: &str, known: &[(&str, &str)], sorted: &[&str]) {
    replay_as(file, AuthMode::Basic, known, sorted).await;
}

/// The same with the callers identified by `auth`; returns our answers,
/// one per step.
pub(crate) async fn replay_as(
    file: &str,
    auth: AuthMode,
    known: &[(&str, &str)],
    sorted: &[&str],
) -> Vec<Answer> {
    let recording = read_json(&golden_dir().join(file));
    assert_eq!(recording["gnocchi_version"], "4.7.1");
    let host = recording["host"].as_str().unwrap();
    let store = empty_store();
    let app = test_app(&store, auth);
    let mut answers = Vec::new();
    let (mut real_norm, mut our_norm) = (Normalizer::new(), Normalizer::new());
    let (mut real_captured, mut our_captured) = (Vec::new(), Vec::new());
    let mut failures = Vec::new();
    for step in recording["steps"].as_array().unwrap() {
        let name = step["name"].as_str().unwrap();
        let resolve = |text: &str, captured: &[(String, String)]| {
            captured.iter().fold(text.to_owned(), |t, (k, v)| {
                t.replace(&format!("{{{k}}}"), v)
            })
        };
        let path = resolve(step["path"].as_str().unwrap(), &our_captured);
        let body = step["body"].as_str().map(|b| resolve(b, &our_captured));
        let ours = send_recorded(&app, step, host, &path, body.as_deref(), |v| {
            resolve(v, &our_captured)
        })
        .await;
        // Values later steps use, from each server's own answer.
        for (var, spec) in step["capture"].as_object().unwrap() {
            let spec = spec.as_str().unwrap();
            let (source, key) = spec.split_once(':').unwrap();
            let real_headers = &step["response_headers"];
            let (real, our) = if source == "header" {
                (
                    real_headers[key].as_str().unwrap_or("").to_owned(),
                    ours.header(key).unwrap_or("").to_owned(),
                )
            } else {
                let pick = |mut value: Value| {
                    for part in key.split('.') {
                        value = value[part].clone();
                    }
                    value.as_str().unwrap_or("").to_owned()
                };
                (
                    pick(crate::common::parse_python_json(
                        step["response_body"].as_str().unwrap(),
                    )),
                    pick(ours.json()),
                )
            };
            real_captured.push((var.clone(), real));
            our_captured.push((var.clone(), our));
        }
        answers.push(ours);
        let ours = answers.last().unwrap();
        if known.iter().any(|(n, _)| *n == name) {
            continue;
        }
        let id_order = |captured: &[(String, String)]| {
            let id = |var: &str| {
                captured
                    .iter()
                    .find(|(k, _)| k == var)
                    .map(|(_, v)| v.clone())
            };
            id("m1") < id("m2")
        };
        let swapped: Vec<(String, String)>;
        let our_names = if ORDERED_BY_METRIC_IDS.contains(&name)
            && id_order(&real_captured) != id_order(&our_captured)
        {
            swapped = our_captured
                .iter()
                .map(|(var, value)| {
                    let var = match var.as_str() {
                        "m1" => "m2",
                        "m2" => "m1",
                        other => other,
                    };
                    (var.to_owned(), value.clone())
                })
                .collect();
            &swapped
        } else {
            &our_captured
        };
        let sort_arrays = sorted.contains(&name);
        let problems = compare(
            step,
            ours,
            (&mut real_norm, &real_captured),
            (&mut our_norm, our_names),
            sort_arrays,
        );
        if !problems.is_empty() {
            failures.push(format!(
                "{name} ({} {path}):\n  {}",
                step["method"].as_str().unwrap(),
                problems.join("\n  ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} steps differ:\n{}",
        failures.len(),
        recording["steps"].as_array().unwrap().len(),
        failures.join("\n")
    );
    answers
}
