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
    let dir = golden_dir().join("cases");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("expected.json").exists())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 7,
        "golden cases missing from {}",
        dir.display()
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

/// Parses JSON as Python writes it: the `NaN`, `Infinity` and `-Infinity`
/// tokens (and the oracle's quoted "NaN") become the strings "NaN", "inf"
/// and "-inf".
pub fn parse_python_json(text: &str) -> Value {
    let text = text
        .replace("\"NaN\"", "NaN")
        .replace("-Infinity", "\"-inf\"")
        .replace("Infinity", "\"inf\"")
        .replace("NaN", "\"NaN\"");
    serde_json::from_str(&text).unwrap()
}

/// The `key` string of every item of a JSON listing, in its order.
pub fn strings_of(listing: &Value, key: &str) -> Vec<String> {
    listing
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item[key].as_str().unwrap().to_owned())
        .collect()
}

pub fn read_json(path: &Path) -> Value {
    parse_python_json(&std::fs::read_to_string(path).unwrap())
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

/// An expected value of `expected.json`: a float, "NaN", "inf" or "-inf".
pub fn expected_value(value: &Value) -> f64 {
    match value {
        Value::String(s) => s.parse().unwrap(),
        other => other.as_f64().unwrap(),
    }
}

/// A fresh store in a temporary directory, created with `carbonara init`.
pub struct TestStore {
    pub dir: tempfile::TempDir,
}

impl TestStore {
    pub fn new() -> TestStore {
        let store = TestStore::empty();
        store.run(&["init", "--sacks", "8"]).success();
        store
    }

    /// A temporary directory that is not a store yet.
    pub fn empty() -> TestStore {
        TestStore {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `carbonara --store DIR ARGS…`, not yet run.
    pub fn command(&self, args: &[&str]) -> assert_cmd::Command {
        let mut command = assert_cmd::cargo_bin_cmd!("carbonara");
        command
            .env_remove("CARBONARA_STORE")
            .arg("--store")
            .arg(self.path())
            .args(args);
        command
    }

    pub fn run(&self, args: &[&str]) -> assert_cmd::assert::Assert {
        self.command(args).assert()
    }

    /// Runs a command that must succeed and returns its stdout.
    pub fn stdout(&self, args: &[&str]) -> String {
        let output = self.run(args).success().get_output().stdout.clone();
        String::from_utf8(output).unwrap()
    }

    /// Runs a command that must succeed and parses its `-f json` output.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut all = args.to_vec();
        all.extend(["-f", "json"]);
        parse_python_json(&self.stdout(&all))
    }

    /// Creates a metric and returns its id.
    pub fn create_metric(&self, name: &str, policy: &str) -> String {
        let doc = self.json(&["metric", "create", name, "--archive-policy-name", policy]);
        doc["id"].as_str().unwrap().to_owned()
    }

    /// Creates a policy in Gnocchi's REST shape with `archive-policy create`.
    pub fn create_policy(&self, doc: &Value) -> ArchivePolicy {
        let policy = policy_from_json(doc);
        let mut args = vec![
            "archive-policy".to_owned(),
            "create".to_owned(),
            policy.name.clone(),
        ];
        args.extend(["-b".to_owned(), policy.back_window.to_string()]);
        for item in &policy.definition {
            let mut spec = format!("granularity:{}", item.granularity);
            if let Some(points) = item.points {
                spec.push_str(&format!(",points:{points}"));
            }
            args.extend(["-d".to_owned(), spec]);
        }
        for method in &policy.aggregation_methods {
            args.extend(["-m".to_owned(), method.to_string()]);
        }
        self.run(&args.iter().map(String::as_str).collect::<Vec<_>>())
            .success();
        policy
    }

    /// Imports `metric,timestamp,value` rows through `ingest csv
    /// --metric-column metric`, then processes them.
    pub fn ingest_and_process(&self, csv: &str) {
        let file = self.write_file("rows.csv", csv);
        let file = file.to_str().unwrap();
        let args = [
            "ingest",
            "csv",
            "--metric-column",
            "metric",
            file,
            "--process",
        ];
        self.run(&args).success();
    }

    /// Writes a file in the store's directory and returns its path.
    pub fn write_file(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.path().join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

/// stderr of a finished command, as text.
pub fn stderr_of(assert: &assert_cmd::assert::Assert) -> String {
    String::from_utf8(assert.get_output().stderr.clone()).unwrap()
}

#[path = "../support/copy_dir.rs"]
mod copy_dir;
pub use copy_dir::copy_dir;

/// Checks `measures show` for every metric, method and granularity of an
/// oracle `expected.json`; `reference(name, metric)` names the metric in
/// the store.
pub fn assert_gnocchi_measures(
    store: &TestStore,
    expected: &Value,
    reference: impl Fn(&str, &Value) -> String,
    label: &str,
) {
    for (name, metric) in expected["metrics"].as_object().unwrap() {
        let metric_ref = reference(name, metric);
        for (method, by_granularity) in metric["measures"].as_object().unwrap() {
            for (granularity, want) in by_granularity.as_object().unwrap() {
                let got = store.json(&[
                    "measures",
                    "show",
                    &metric_ref,
                    "--aggregation",
                    method,
                    "--granularity",
                    granularity,
                ]);
                let got: Vec<Value> = got
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| serde_json::json!([r["timestamp"], r["granularity"], r["value"]]))
                    .collect();
                assert_eq!(
                    &Value::Array(got),
                    want,
                    "{label}: {name} {method} {granularity}"
                );
            }
        }
    }
}
