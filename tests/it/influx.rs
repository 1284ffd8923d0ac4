//! InfluxDB line parsing against Gnocchi's own grammar: every line of
//! tests/golden/ingest/influx/expected.json (hand-picked and random ones,
//! made by make_cases.py beside it with Gnocchi 4.7.1's pyparsing grammar)
//! must parse to the same thing, or fail where Gnocchi fails.

use std::path::Path;

use carbonara::ingest::influx::{FieldValue, parse_line};
use serde_json::Value;

#[test]
fn lines_parse_as_gnocchi_parses_them() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ingest/influx/expected.json");
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert!(cases.len() > 4000);
    let mut parsed = 0;
    for case in &cases {
        let text = case["line"].as_str().unwrap();
        let result = parse_line(text);
        if case.get("error").is_some() {
            assert!(
                result.is_err(),
                "{text:?} parsed as {result:?}; Gnocchi fails"
            );
            continue;
        }
        let line = result.unwrap_or_else(|e| panic!("{text:?}: {e:?}"));
        parsed += 1;
        assert_eq!(line.measurement, case["measurement"], "{text:?}");
        let tags: Vec<Value> = line
            .tags
            .iter()
            .map(|(k, v)| serde_json::json!([k, v]))
            .collect();
        assert_eq!(Value::from(tags), case["tags"], "{text:?}");
        let fields: Vec<Value> = line
            .fields
            .iter()
            .map(|(key, value)| match value {
                FieldValue::Integer(digits) => serde_json::json!([key, "integer", digits]),
                FieldValue::Float(v) => {
                    serde_json::json!([key, "float", carbonara::pyform::fmt::float_repr(*v)])
                }
                FieldValue::Text(text) => serde_json::json!([key, "string", text]),
            })
            .collect();
        assert_eq!(Value::from(fields), case["fields"], "{text:?}");
        let timestamp = line.timestamp.map(|t| t.to_string());
        assert_eq!(timestamp.as_deref(), case["timestamp"].as_str(), "{text:?}");
    }
    assert!(parsed > 800, "only {parsed} lines parsed");
}
