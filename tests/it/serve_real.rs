//! A session recorded against a real Gnocchi 4.7.1 (PostgreSQL indexer) by
//! tests/golden/serve/record_real_gnocchi.py, replayed through `serve`'s
//! router: the same statuses, the same headers clients read (Location,
//! Link, Allow, Content-Type, CORS), and the same bodies (JSON documents
//! key order included, error envelopes and webob's HTML and text pages
//! byte for byte). Fresh metric ids, ETags and times are normalised.

use serde_json::Value;

use crate::common::{golden_dir, read_json};
use crate::serve_common::{Normalizer, empty_store, send, test_app};
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

/// JSON bodies whose arrays are sets (or lists in an unspecified order).
fn canonical(value: &mut Value, sort_arrays: bool) {
    match value {
        Value::Object(fields) => {
            for (key, item) in fields.iter_mut() {
                if key == "aggregation_methods"
                    && let Value::Array(items) = item
                {
                    items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
                }
                canonical(item, false);
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                canonical(item, false);
            }
            if sort_arrays {
                items.sort_by_key(|a| {
                    let key = |k: &str| a.get(k).and_then(Value::as_str).map(str::to_owned);
                    key("name")
                        .or_else(|| key("id"))
                        .unwrap_or_else(|| a.to_string())
                });
            }
        }
        _ => {}
    }
}

fn comparable(body: &str, content_type: Option<&str>, sort_arrays: bool) -> String {
    if content_type == Some("application/json") && !body.is_empty() {
        let mut value = crate::common::parse_python_json(body);
        canonical(&mut value, sort_arrays);
        value.to_string()
    } else {
        body.to_owned()
    }
}

const COMPARED_HEADERS: [&str; 10] = [
    "content-type",
    "location",
    "link",
    "allow",
    "vary",
    "access-control-allow-origin",
    "access-control-allow-credentials",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-max-age",
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
        let mut headers: Vec<(String, String)> = step["headers"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), resolve(v.as_str().unwrap(), &our_captured)))
            .collect();
        headers.push(("host".to_owned(), host.to_owned()));
        let header_refs: Vec<(&str, &str)> = headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let body = step["body"].as_str().map(|b| resolve(b, &our_captured));
        let ours = send(
            &app,
            step["method"].as_str().unwrap(),
            &path,
            &header_refs,
            body.as_deref(),
        )
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
        let mut problems = Vec::new();
        let real_status = step["status"].as_u64().unwrap();
        if u64::from(ours.status.as_u16()) != real_status {
            problems.push(format!("status {} instead of {real_status}", ours.status));
        }
        for header in COMPARED_HEADERS {
            let real = step["response_headers"][header]
                .as_str()
                .map(|v| real_norm.apply(v, &real_captured));
            let our = ours
                .header(header)
                .map(|v| our_norm.apply(v, &our_captured));
            if real != our {
                problems.push(format!("header {header}: {our:?} instead of {real:?}"));
            }
        }
        for header in ["etag", "last-modified"] {
            let real = step["response_headers"][header].is_string();
            if real != ours.header(header).is_some() {
                problems.push(format!("header {header} present: {}", !real));
            }
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
        let real_body = real_norm.apply(
            &comparable(
                step["response_body"].as_str().unwrap(),
                step["response_headers"]["content-type"].as_str(),
                sort_arrays,
            ),
            &real_captured,
        );
        let our_body = our_norm.apply(
            &comparable(&ours.body, ours.header("content-type"), sort_arrays),
            &our_captured,
        );
        if real_body != our_body {
            problems.push(format!("body\n   ours: {our_body}\n   real: {real_body}"));
        }
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
