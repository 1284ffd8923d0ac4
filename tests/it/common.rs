//! Helpers shared by the integration tests: golden cases and the policies
//! they use.

use std::path::{Path, PathBuf};

use carbonara::policy::{
    AggregationMethod, ArchivePolicy, Definition, resolve_aggregation_methods,
};
use carbonara::time::{self, Span};
use serde_json::Value;

pub fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

pub fn golden_cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").exists())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 7,
        "golden cases missing from {}",
        golden_dir().display()
    );
    cases
}

pub fn batch_files(case: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(case)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with("batch-") && name.ends_with(".csv")
        })
        .collect();
    files.sort();
    files
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn span(value: &Value) -> Option<Span> {
    match value {
        Value::Null => None,
        Value::Number(n) => Some(Span::from_secs_f64(n.as_f64().unwrap())),
        Value::String(s) => Some(time::parse_timespan(s).unwrap()),
        other => panic!("not a timespan: {other}"),
    }
}

/// A policy in Gnocchi's REST shape (`policy.json` of a golden case).
pub fn policy_from_json(doc: &Value) -> ArchivePolicy {
    let definition = doc["definition"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let points = item.get("points").and_then(Value::as_i64);
            Definition::new(
                item.get("granularity").and_then(span),
                points,
                item.get("timespan").and_then(span),
            )
            .unwrap()
        })
        .collect();
    let methods: Vec<String> = doc["aggregation_methods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap().to_owned())
        .collect();
    let methods = resolve_aggregation_methods(&methods, &AggregationMethod::defaults()).unwrap();
    ArchivePolicy::new(
        doc["name"].as_str().unwrap(),
        doc["back_window"].as_u64().unwrap_or(0),
        definition,
        methods,
    )
    .unwrap()
}

/// Every file below `dir`, relative, sorted; directories end with `/`.
pub fn tree(dir: &Path) -> Vec<String> {
    let mut entries = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(current) = stack.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let path = entry.unwrap().path();
            let relative = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                entries.push(format!("{relative}/"));
                stack.push(path);
            } else {
                entries.push(relative);
            }
        }
    }
    entries.sort();
    entries
}

/// An expected value of `expected.json`: a float, or "NaN".
pub fn expected_value(value: &Value) -> f64 {
    match value {
        Value::String(s) if s == "NaN" => f64::NAN,
        other => other.as_f64().unwrap(),
    }
}
