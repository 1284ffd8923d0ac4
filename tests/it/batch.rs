//! Gnocchi's JSON measure bodies against Gnocchi's own validation: every
//! body of tests/golden/ingest/batch/bodies.json and what Gnocchi 4.7.1's
//! schemas made of it (expected.json, made by make_cases.py beside it).

use std::path::Path;

use carbonara::ingest::batch::{self, InvalidInput};
use carbonara::time::Timestamp;
use serde_json::{Value, json};

use crate::common::expected_value;

fn measures_json(measures: &[(Timestamp, f64)]) -> Value {
    measures
        .iter()
        .map(|(t, v)| {
            let value = if v.is_finite() {
                json!(v)
            } else {
                json!(carbonara::pyform::fmt::float_repr(*v))
            };
            json!([t.nanos(), value])
        })
        .collect()
}

fn error_json(error: &InvalidInput) -> Value {
    json!({"cause": "Invalid input", "reason": error.reason(), "detail": error.path})
}

/// Compares measure lists value by value, to the bit.
fn assert_same(got: &Value, want: &Value, context: &str) {
    match (got, want) {
        (Value::Array(a), Value::Array(b)) => {
            assert_eq!(a.len(), b.len(), "{context}: {got} vs {want}");
            for (x, y) in a.iter().zip(b) {
                assert_same(x, y, context);
            }
        }
        (Value::String(a), Value::String(b)) if a == b => {}
        (Value::Number(_) | Value::String(_), Value::Number(_) | Value::String(_)) => {
            assert_eq!(
                expected_value(got).to_bits(),
                expected_value(want).to_bits(),
                "{context}: {got} vs {want}"
            );
        }
        _ => assert_eq!(got, want, "{context}"),
    }
}

#[test]
fn bodies_are_read_as_gnocchi_reads_them() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ingest/batch/expected.json");
    let golden: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let now = Timestamp::from_nanos(golden["now_ns"].as_i64().unwrap());
    let cases = golden["cases"].as_array().unwrap();
    for case in cases {
        let body = &case["body"];
        let context = body.to_string();
        let got: Result<Value, Value> = match case["kind"].as_str().unwrap() {
            "measures" => batch::measure_list(body, now)
                .map(|m| measures_json(&m))
                .map_err(|e| json!({"cause": "Invalid input", "reason": e.message, "detail": []})),
            "by_metric" => batch::by_metric(body, now)
                .map(|b| {
                    b.iter()
                        .map(|(id, m)| json!([id.to_string(), measures_json(&m.measures)]))
                        .collect()
                })
                .map_err(|e| error_json(&e)),
            _ => batch::by_resource(body, "admin", now)
                .map(|b| {
                    b.iter()
                        .map(|r| {
                            let metrics: Vec<Value> = r
                                .metrics
                                .iter()
                                .map(|m| {
                                    json!([
                                        m.name,
                                        m.archive_policy_name,
                                        m.unit,
                                        measures_json(&m.measures)
                                    ])
                                })
                                .collect();
                            json!([r.original_resource_id, r.id.to_string(), metrics])
                        })
                        .collect()
                })
                .map_err(|e| error_json(&e)),
        };
        if let Some(ok) = case.get("ok") {
            // Where Gnocchi stores NaT for an overflowing timestamp,
            // carbonara refuses the list.
            if ok.to_string().contains("-9223372036854775808") {
                assert!(got.is_err(), "{context}");
                continue;
            }
            assert_same(
                &got.unwrap_or_else(|e| panic!("{context}: {e}")),
                ok,
                &context,
            );
        } else if let Some(error) = case.get("error") {
            assert_eq!(got.unwrap_err(), *error, "{context}");
        } else {
            // A 500 in Gnocchi: a 400 here.
            assert!(
                got.is_err(),
                "{context}: Gnocchi crashes, carbonara must refuse"
            );
        }
    }
    assert!(cases.len() >= 45);
}
