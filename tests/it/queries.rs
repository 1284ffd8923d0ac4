//! `measures show` and `aggregates` against the real Gnocchi's answers
//! (tests/golden/aggregates, made by its make_cases.py): every case run
//! through the binary on a store holding the same measures; resource mode
//! through the library, on references built from stand-in resources.

use std::path::{Path, PathBuf};

use carbonara::pyform::json::Json;
use carbonara::query::aggregates::references::IndexedMetric;
use carbonara::query::aggregates::{self, AggregatesQuery, Fill, Group, ResourceMetrics, output};
use carbonara::store::{Metric, MetricStatus, Store};
use carbonara::time::{self, Timestamp};
use serde_json::Value;
use uuid::Uuid;

use crate::common::{TestStore, parse_python_json, policy_from_json, read_json, stderr_of};

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/aggregates")
}

/// A store with the cases' policies, metrics (same ids) and measures.
fn golden_store() -> TestStore {
    let store = TestStore::empty();
    store
        .run(&["init", "--sacks", "8", "--no-archive-policies"])
        .success();
    {
        let index = Store::open(store.path()).unwrap().index().unwrap();
        for policy in read_json(&cases_dir().join("policies.json"))
            .as_array()
            .unwrap()
        {
            index
                .create_archive_policy(&policy_from_json(policy))
                .unwrap();
        }
        let metrics = read_json(&cases_dir().join("metrics.json"));
        for (name, metric) in metrics.as_object().unwrap() {
            index
                .create_metric(&Metric {
                    id: metric["id"].as_str().unwrap().parse().unwrap(),
                    name: Some(name.clone()),
                    unit: None,
                    archive_policy_name: metric["policy"].as_str().unwrap().to_owned(),
                    creator: "admin".into(),
                    resource_id: None,
                    status: MetricStatus::Active,
                })
                .unwrap();
        }
    }
    store.ingest_and_process(&std::fs::read_to_string(cases_dir().join("batch-0001.csv")).unwrap());
    store
}

fn parameter_args(params: &Value, names: &[(&str, &str)]) -> Vec<String> {
    let mut args = Vec::new();
    for (key, flag) in names {
        if let Some(value) = params.get(*key).and_then(Value::as_str) {
            args.push(format!("--{flag}={value}"));
        }
    }
    args
}

/// What carbonara prints for a Gnocchi error description (see
/// `aggregates::Error`'s Display): `cause: reason (detail: …)`.
fn expected_message(error: &Value) -> String {
    let Some(object) = error.as_object() else {
        return error.as_str().unwrap().to_owned();
    };
    let mut message = object["cause"].as_str().unwrap().to_owned();
    if let Some(reason) = object.get("reason") {
        message.push_str(&format!(": {}", reason.as_str().unwrap()));
    }
    match &object["detail"] {
        Value::String(detail) => message.push_str(&format!(": {detail}")),
        detail => message.push_str(&format!(" (detail: {})", python_json(detail))),
    }
    message
}

/// JSON as Python's `json.dumps` writes it (carbonara's error details).
fn python_json(value: &Value) -> String {
    fn convert(value: &Value) -> Json {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) if n.is_f64() => Json::Float(n.as_f64().unwrap()),
            Value::Number(n) => Json::Int(n.as_i64().unwrap()),
            Value::String(s) => Json::str(s),
            Value::Array(items) => Json::Array(items.iter().map(convert).collect()),
            Value::Object(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), convert(v)))
                    .collect(),
            ),
        }
    }
    convert(value).to_python_string()
}

/// Gnocchi's internal errors (HTTP 500) and what carbonara does instead:
/// `Some(message)` for a clear error, `None` for an answer (checked by a
/// test of its own).
fn instead_of_internal_error(error: &str) -> Option<&'static str> {
    if error.contains("Unknown aggregation method `var'") {
        Some("Unknown aggregation method `var'")
    } else if error.contains("Cannot derive aggregates on calendar granularities") {
        Some("Cannot derive aggregates on calendar granularities")
    } else if error.starts_with("UFuncTypeError") {
        None // calendar resample with --start: carbonara floors start
    } else {
        panic!("an internal error of Gnocchi's nobody looked at: {error}")
    }
}

/// Gnocchi's `Aggregation method 'mean' at granularity '42.0' for metric
/// ID does not exist` in the command line's words.
fn missing_granularity(error: &Value) -> Option<String> {
    let rest = error.as_str()?.strip_prefix("Aggregation method '")?;
    let (method, rest) = rest.split_once("' at granularity '")?;
    let (granularity, _) = rest.split_once('\'')?;
    let granularity = granularity.trim_end_matches(".0");
    Some(format!(
        "has no granularity {granularity} for {method}; its archive policy"
    ))
}

/// The references that are no UUID, named as the command line names
/// unknown metrics.
fn unknown_names(detail: &Value) -> String {
    let mut names: Vec<&str> = Vec::new();
    for pair in detail.as_array().unwrap() {
        let name = pair[0].as_str().unwrap();
        if uuid::Uuid::parse_str(name).is_err() && !names.contains(&name) {
            names.push(name);
        }
    }
    match names.as_slice() {
        [name] => format!("metric {name} does not exist"),
        [init @ .., last] => format!("metrics {} and {last} do not exist", init.join(", ")),
        [] => panic!("no unknown name in {detail}"),
    }
}

/// Checks a failed case's error; `None` when it is as Gnocchi's.
fn check_failure(assert: &assert_cmd::assert::Assert, case: &Value, label: &str) -> Option<String> {
    let status = case["status"].as_u64().unwrap();
    let stderr = stderr_of(assert);
    let code = assert.get_output().status.code();
    let wanted = if status == 500 {
        match instead_of_internal_error(case["error"].as_str().unwrap()) {
            Some(message) => message.to_owned(),
            None if code == Some(0) => return None,
            None => return Some(format!("{label}: failed instead of answering: {stderr}")),
        }
    } else {
        match case["error"].get("cause").and_then(Value::as_str) {
            Some("Argument value error") => {
                // Bad query parameters are usage errors on the command line.
                if code != Some(2) {
                    return Some(format!("{label}: exit {code:?}, wanted 2: {stderr}"));
                }
                case["error"]["reason"].as_str().unwrap().to_owned()
            }
            // The command line names the metric as typed and what its
            // policy has, where Gnocchi names the metric's id.
            Some("Aggregation method does not exist for this metric") => format!(
                "has no aggregation method {}; its archive policy",
                case["error"]["detail"]["aggregation_method"]
                    .as_str()
                    .unwrap()
            ),
            Some("Invalid metric references")
                if case["error"]["reason"] == "badly formed hexadecimal UUID string" =>
            {
                unknown_names(&case["error"]["detail"])
            }
            _ => missing_granularity(&case["error"])
                .unwrap_or_else(|| expected_message(&case["error"])),
        }
    };
    if code == Some(0) || !stderr.contains(&wanted) {
        return Some(format!(
            "{label}: wanted an error with\n  {wanted}\ngot exit {code:?}:\n  {stderr}"
        ));
    }
    None
}

/// Runs each case through the binary: `command` gives its arguments (or
/// `None` to skip it), `body` turns the JSON printed into Gnocchi's body.
/// Returns the differences.
fn run_cases(
    store: &TestStore,
    cases: &Value,
    command: impl Fn(&Value) -> Option<Vec<String>>,
    body: impl Fn(Value) -> Value,
) -> Vec<String> {
    let mut failures = Vec::new();
    for (i, case) in cases.as_array().unwrap().iter().enumerate() {
        let Some(mut args) = command(case) else {
            continue;
        };
        args.extend(["-f".to_owned(), "json".to_owned()]);
        let label = format!("case {i}: {} {}", args[..2].join(" "), case["params"]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let assert = store.run(&args);
        let output = assert.get_output();
        if case["status"] != 200 {
            failures.extend(check_failure(&assert, case, &label));
        } else if !output.status.success() {
            failures.push(format!("{label}: failed: {}", stderr_of(&assert)));
        } else {
            let got = body(parse_python_json(
                &String::from_utf8(output.stdout.clone()).unwrap(),
            ));
            if got != case["body"] {
                failures.push(format!("{label}:\n  got  {got}\n  want {}", case["body"]));
            }
        }
    }
    failures
}

#[test]
fn aggregates_cases_answer_like_gnocchi() {
    let store = golden_store();
    let cases = read_json(&cases_dir().join("aggregates.json"));
    let failures = run_cases(
        &store,
        &cases,
        |case| {
            let operations = match &case["operations"] {
                Value::String(text) => {
                    if matches!(text.trim_start().chars().next(), Some('[' | '{')) {
                        // On the command line a leading `[` or `{` means the
                        // JSON form: such strings are checked elsewhere.
                        return None;
                    }
                    text.clone()
                }
                json => serde_json::to_string(json).unwrap(),
            };
            let mut args = vec!["aggregates".to_owned(), operations];
            args.extend(parameter_args(
                &case["params"],
                &[
                    ("start", "start"),
                    ("stop", "stop"),
                    ("granularity", "granularity"),
                    ("needed_overlap", "needed-overlap"),
                    ("fill", "fill"),
                ],
            ));
            Some(args)
        },
        |body| body,
    );
    assert!(
        failures.is_empty(),
        "{} of {} cases differ:\n{}",
        failures.len(),
        cases.as_array().unwrap().len(),
        failures.join("\n")
    );
}

#[test]
fn measures_cases_answer_like_gnocchi() {
    let store = golden_store();
    let cases = read_json(&cases_dir().join("measures.json"));
    let failures = run_cases(
        &store,
        &cases,
        |case| {
            let metric = case["metric"].as_str().unwrap();
            let mut args = vec!["measures".to_owned(), "show".into(), metric.into()];
            args.extend(parameter_args(
                &case["params"],
                &[
                    ("aggregation", "aggregation"),
                    ("granularity", "granularity"),
                    ("start", "start"),
                    ("stop", "stop"),
                    ("resample", "resample"),
                ],
            ));
            Some(args)
        },
        // cliff's records become the API's [timestamp, granularity, value].
        |rows| {
            Value::Array(
                rows.as_array()
                    .unwrap()
                    .iter()
                    .map(|r| {
                        Value::Array(vec![
                            r["timestamp"].clone(),
                            r["granularity"].clone(),
                            r["value"].clone(),
                        ])
                    })
                    .collect(),
            )
        },
    );
    assert!(
        failures.is_empty(),
        "{} cases differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn calendar_resample_floors_start_to_the_period() {
    // Gnocchi fails (HTTP 500) on a calendar resample with a start; carbonara
    // floors the start to its period
    // (docs/differences.md#reading-measures-and-dynamic-aggregates).
    let store = golden_store();
    let show = |start: &str| {
        store.stdout(&[
            "measures",
            "show",
            "cal",
            "--granularity",
            "1d",
            "--resample",
            "Q",
            "--start",
            start,
            "-f",
            "csv",
        ])
    };
    let all = "timestamp,granularity,value\n\
               2015-04-01T00:00:00+00:00,Q,3.0\n\
               2015-10-01T00:00:00+00:00,Q,7.0\n\
               2016-01-01T00:00:00+00:00,Q,8.0\n";
    assert_eq!(show("2015-05-17"), all);
    assert_eq!(show("2015-04-01T00:00:00"), all);
    assert_eq!(show("2015-10-01T00:00:01").lines().count(), 3);
}

fn resource_query(params: &Value) -> AggregatesQuery {
    let parse_time = |key: &str| {
        params
            .get(key)
            .and_then(Value::as_str)
            .map(|t| time::parse_timestamp(t, Timestamp::EPOCH).unwrap())
    };
    AggregatesQuery {
        start: parse_time("start"),
        stop: parse_time("stop"),
        granularity: params
            .get("granularity")
            .and_then(Value::as_str)
            .map(|g| time::parse_timespan(g).unwrap()),
        fill: Fill::from_parameters(
            params
                .get("fill")
                .and_then(Value::as_str)
                .map(|f| f.parse().unwrap()),
            params
                .get("needed_overlap")
                .and_then(Value::as_str)
                .map(|n| n.parse().unwrap()),
        ),
    }
}

#[test]
fn resource_mode_answers_like_gnocchi() {
    let test_store = golden_store();
    let store = Store::open(test_store.path()).unwrap();
    let index = store.index().unwrap();
    let doc = read_json(&cases_dir().join("resources.json"));
    let resources: Vec<(ResourceMetrics, &serde_json::Map<String, Value>)> = doc["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let metrics = r["metrics"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(name, source)| {
                    let metric = index.find_metric(source.as_str().unwrap()).unwrap();
                    let policy = index
                        .get_archive_policy(&metric.archive_policy_name)
                        .unwrap();
                    (
                        name.clone(),
                        IndexedMetric {
                            id: metric.id,
                            name: metric.name,
                            policy,
                        },
                    )
                })
                .collect();
            let id: Uuid = r["id"].as_str().unwrap().parse().unwrap();
            (
                ResourceMetrics { id, metrics },
                r["attributes"].as_object().unwrap(),
            )
        })
        .collect();
    let mut failures = Vec::new();
    for case in doc["cases"].as_array().unwrap() {
        let operations =
            aggregates::parse_operations(case["operations"].as_str().unwrap()).unwrap();
        let query = resource_query(&case["params"]);
        let got = match case["groupby"].as_array() {
            None => {
                let all: Vec<ResourceMetrics> = resources.iter().map(|(r, _)| r.clone()).collect();
                aggregates::aggregate_resources(&store, &operations, &all, &query)
                    .map(|result| result.body(None))
            }
            Some(keys) => {
                let mut keys: Vec<&str> = keys.iter().map(|k| k.as_str().unwrap()).collect();
                keys.sort();
                // The index lists resources sorted by the group keys, then id.
                let mut sorted: Vec<&(ResourceMetrics, &serde_json::Map<String, Value>)> =
                    resources.iter().collect();
                let key_of = |attributes: &serde_json::Map<String, Value>| -> Vec<(String, Json)> {
                    keys.iter()
                        .map(|k| (k.to_string(), to_json(&attributes[*k])))
                        .collect()
                };
                sorted.sort_by_key(|(r, a)| {
                    (
                        key_of(a)
                            .iter()
                            .map(|(_, v)| v.to_python_string())
                            .collect::<Vec<_>>(),
                        r.id,
                    )
                });
                let mut groups: Vec<Group> = Vec::new();
                for (resource, attributes) in sorted {
                    let key = key_of(attributes);
                    match groups.last_mut() {
                        Some(group) if group.key == key => group.resources.push(resource.clone()),
                        _ => groups.push(Group {
                            key,
                            resources: vec![resource.clone()],
                        }),
                    }
                }
                aggregates::aggregate_groups(&store, &operations, &groups, &query).map(|results| {
                    let bodies: Vec<(Vec<(String, Json)>, Json)> = results
                        .into_iter()
                        .map(|(key, r)| (key, r.body(None)))
                        .collect();
                    output::grouped_body(&bodies)
                })
            }
        };
        let label = format!("{} {}", case["operations"], case["groupby"]);
        match (got, case["status"].as_u64().unwrap()) {
            (Ok(body), 200) => {
                let got = parse_python_json(&body.to_python_string());
                if got != case["body"] {
                    failures.push(format!("{label}:\n  got  {got}\n  want {}", case["body"]));
                }
            }
            (Err(e), status) if status != 200 => {
                assert_eq!(u64::from(e.status()), status, "{label}");
                assert_eq!(e.to_string(), expected_message(&case["error"]), "{label}");
            }
            (other, status) => failures.push(format!("{label}: {other:?}, wanted {status}")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::String(s) => Json::str(s),
        Value::Number(n) => Json::Float(n.as_f64().unwrap()),
        Value::Bool(b) => Json::Bool(*b),
        _ => Json::Null,
    }
}

/// The resource-mode cases again, through the binary: the stand-in
/// resources become resources of a type with a `flavor` attribute, holding
/// the same metrics (a metric used twice on one resource becomes two empty
/// ones), and `aggregates --resource-type` must find, order and group them
/// as Gnocchi's indexer did.
#[test]
fn resource_mode_through_the_binary() {
    let store = golden_store();
    let metrics = read_json(&cases_dir().join("metrics.json"));
    store
        .run(&[
            "resource-type",
            "create",
            "flavored",
            "-a",
            "flavor:number:false",
        ])
        .success();
    let doc = read_json(&cases_dir().join("resources.json"));
    for (n, resource) in doc["resources"].as_array().unwrap().iter().enumerate() {
        let attributes = &resource["attributes"];
        let mut args: Vec<String> = [
            "resource",
            "create",
            resource["id"].as_str().unwrap(),
            "-t",
            "flavored",
            "--user-id",
            attributes["user_id"].as_str().unwrap(),
            "--project-id",
            attributes["project_id"].as_str().unwrap(),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect();
        args.push(format!("-a=flavor:{}", attributes["flavor"]));
        for (name, source) in resource["metrics"].as_object().unwrap() {
            let source = source.as_str().unwrap();
            let id = if source == "empty" {
                let policy = metrics["empty"]["policy"].as_str().unwrap();
                let own = format!("empty-{n}-{name}");
                store.create_metric(&own, policy)
            } else {
                metrics[source]["id"].as_str().unwrap().to_owned()
            };
            args.push(format!("-m={name}:{id}"));
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        store.run(&args).success();
    }
    for case in doc["cases"].as_array().unwrap() {
        let operations = case["operations"].as_str().unwrap();
        let mut args: Vec<String> = vec![
            "aggregates".into(),
            operations.into(),
            "--resource-type".into(),
            "flavored".into(),
            "-f".into(),
            "json".into(),
        ];
        for key in case["groupby"].as_array().into_iter().flatten() {
            args.push(format!("--groupby={}", key.as_str().unwrap()));
        }
        args.extend(parameter_args(
            &case["params"],
            &[
                ("granularity", "granularity"),
                ("fill", "fill"),
                ("start", "start"),
                ("stop", "stop"),
            ],
        ));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let label = format!("{operations} {}", case["groupby"]);
        if case["status"] == 200 {
            let body = parse_python_json(&store.stdout(&args));
            assert_eq!(body, case["body"], "{label}");
        } else {
            let assert = store.run(&args).failure();
            assert!(
                stderr_of(&assert).contains(&expected_message(&case["error"])),
                "{label}: {}",
                stderr_of(&assert)
            );
        }
    }
}
