//! The store under test: carbonara run on it, copies of it, and what it
//! holds after recovery (each metric's measures and archive files, by
//! names that do not depend on the ids a run drew; tmp/; `verify`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_carbonara");

/// The granularity whose `count` shows each measure: one per second.
pub const POLICY: &str = "torture";

pub fn command(store: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    command.arg("--store").arg(store).args(args);
    command
}

pub fn run(store: &Path, args: &[&str]) -> Output {
    command(store, args).stdin(Stdio::null()).output().unwrap()
}

/// Runs a command that must succeed; its stdout.
pub fn ok(store: &Path, args: &[&str]) -> String {
    let output = run(store, args);
    assert!(
        output.status.success(),
        "carbonara {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

pub fn json(store: &Path, args: &[&str]) -> Value {
    let mut args = args.to_vec();
    args.extend(["-f", "json"]);
    serde_json::from_str(&ok(store, &args)).unwrap()
}

/// A new store whose every metric gets the `torture` policy: seconds for
/// two hours (each measure its own `count` point), minutes for a day.
pub fn template() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path();
    ok(store, &["init", "--no-archive-policies", "--sacks", "8"]);
    ok(
        store,
        &[
            "archive-policy",
            "create",
            POLICY,
            "-d",
            "granularity:1s,timespan:2h",
            "-d",
            "granularity:1m,timespan:1d",
            "-m",
            "count",
            "-m",
            "mean",
            "-m",
            "max",
            "-m",
            "last",
            "-m",
            "sum",
        ],
    );
    ok(
        store,
        &[
            "archive-policy-rule",
            "create",
            "all",
            "--metric-pattern",
            "*",
            "--archive-policy-name",
            POLICY,
        ],
    );
    dir
}

/// A copy of the store at `from`.
pub fn copy(from: &Path) -> tempfile::TempDir {
    let to = tempfile::tempdir().unwrap();
    crate::copy_dir::copy_dir(from, to.path());
    to
}

/// `count` moments spread over `total` and a quarter more (so that some
/// runs end, or are killed after their commit), in a scrambled but fixed
/// order.
pub fn kill_delays(total: Duration, count: u32) -> Vec<Duration> {
    (0..count)
        .map(|i| total * 5 / 4 * ((i * 7 + 3) % count) / count + Duration::from_millis(1))
        .collect()
}

/// What a store holds, each metric named by its resource and name (or
/// its name alone). Its policy must have `count`.
#[derive(Debug, PartialEq, Eq)]
pub struct Contents {
    /// Per metric, the seconds of its measures with how many each.
    pub measures: BTreeMap<String, BTreeMap<String, u64>>,
    /// Per metric, its archive files below its directory, with their bytes.
    pub archives: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
}

impl Contents {
    pub fn total(&self) -> u64 {
        self.measures.values().flat_map(|m| m.values()).sum()
    }
}

pub fn contents(store: &Path) -> Contents {
    let mut names = BTreeMap::new();
    for metric in json(store, &["metric", "list", "--limit", "100000"])
        .as_array()
        .unwrap()
    {
        let id = metric["id"].as_str().unwrap().to_owned();
        let name = match (metric["resource_id"].as_str(), metric["name"].as_str()) {
            (Some(resource), Some(name)) => format!("{resource}/{name}"),
            (None, Some(name)) => name.to_owned(),
            _ => id.clone(),
        };
        names.insert(id, name);
    }
    let mut measures = BTreeMap::new();
    for (id, name) in &names {
        // Each measure once in the `count` of the finest granularity.
        let shown = json(store, &["measures", "show", id, "--aggregation", "count"]);
        let rows = shown.as_array().unwrap();
        let finest = rows
            .iter()
            .map(|row| row["granularity"].as_f64().unwrap())
            .fold(f64::INFINITY, f64::min);
        let counts: BTreeMap<String, u64> = rows
            .iter()
            .filter(|row| row["granularity"].as_f64() == Some(finest))
            .map(|row| {
                (
                    row["timestamp"].as_str().unwrap().to_owned(),
                    row["value"].as_f64().unwrap() as u64,
                )
            })
            .collect();
        measures.insert(name.clone(), counts);
    }
    let mut archives: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    let root = store.join("archive");
    for entry in walkdir::WalkDir::new(&root) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let relative = entry.path().strip_prefix(&root).unwrap();
        let parts: Vec<String> = relative
            .iter()
            .map(|part| part.to_string_lossy().into_owned())
            .collect();
        let owner = parts.iter().position(|part| names.contains_key(part));
        let (metric, file) = match owner {
            Some(at) => (names[&parts[at]].clone(), parts[at + 1..].join("/")),
            None => (String::new(), parts.join("/")),
        };
        archives
            .entry(metric)
            .or_default()
            .insert(file, std::fs::read(entry.path()).unwrap());
    }
    Contents { measures, archives }
}

/// Entries left in tmp/.
pub fn tmp_left(store: &Path) -> u32 {
    match std::fs::read_dir(store.join("tmp")) {
        Ok(entries) => entries.count() as u32,
        Err(_) => 0,
    }
}

/// The problems `verify` reports.
pub fn verify_problems(store: &Path) -> u32 {
    let output = run(store, &["verify", "-f", "json"]);
    let problems: Value = serde_json::from_slice(&output.stdout).unwrap_or(Value::Null);
    match problems.as_array() {
        Some(rows) => rows.len() as u32,
        None => 1,
    }
}

/// Whether a process's stderr shows a panic.
pub fn panicked(stderr: &[u8]) -> bool {
    String::from_utf8_lossy(stderr).contains("panicked")
}
