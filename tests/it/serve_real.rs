//! A session recorded against a real Gnocchi 4.7.1 (PostgreSQL indexer) by
//! tests/golden/serve/record_real_gnocchi.py, replayed through `serve`'s
//! router: the same statuses, the same headers clients read (Location,
//! Link, Allow, Content-Type, CORS), and the same bodies (JSON documents
//! key order included, error envelopes and webob's HTML and text pages
//! byte for byte). Fresh metric ids, ETags and times are normalised.

use serde_json::Value;

use crate::common::{golden_dir, read_json};
use crate::serve_common::{Normalizer, compare, empty_store, send_recorded, test_app};
use carbonara::server::AuthMode;

/// Steps where carbonara answers differently on purpose, and why.
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
    let recording = read_json(&golden_dir().join("serve/real_gnocchi.json"));
    assert_eq!(recording["gnocchi_version"], "4.7.1");
    let host = recording["host"].as_str().unwrap();
    let store = empty_store();
    let app = test_app(&store, AuthMode::Basic);
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
        if KNOWN_DIFFERENCES.iter().any(|(n, _)| *n == name) {
            continue;
        }
        // Listings whose order Gnocchi leaves to the database (policies,
        // types, a resource's metrics by random id, a detailed generic
        // listing, which Gnocchi assembles per type).
        let sort_arrays = matches!(
            name,
            "list policies"
                | "list types"
                | "resource metrics"
                | "resource add metric"
                | "list generic details"
        );
        let problems = compare(
            step,
            &ours,
            (&mut real_norm, &real_captured),
            (&mut our_norm, &our_captured),
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
}
