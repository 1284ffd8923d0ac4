//! `ingest csv` through the binary: layouts, stdin, and files taken whole
//! or not at all.

use predicates::str::contains;

use crate::common::{TestStore, stderr_of};

fn waiting(store: &TestStore) -> u64 {
    store.json(&["status"])["storage/total number of measures to process"]
        .as_u64()
        .unwrap()
}

#[test]
fn one_metric_with_and_without_header() {
    let store = TestStore::new();
    store.create_metric("cpu", "low");
    let with = store.write_file(
        "with.csv",
        "timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T00:05:00,2\n",
    );
    let without = store.write_file("without.csv", "1704067800,3\n");
    let assert = store
        .run(&[
            "ingest",
            "csv",
            "--metric",
            "cpu",
            with.to_str().unwrap(),
            without.to_str().unwrap(),
        ])
        .success();
    assert!(stderr_of(&assert).contains("ingested 3 measures from 2 files"));
    assert_eq!(waiting(&store), 3);
    store.run(&["process"]).success();
    let values = store.stdout(&["measures", "show", "cpu", "-f", "value", "-c", "value"]);
    assert_eq!(values, "1.0\n2.0\n3.0\n");
}

#[test]
fn metric_column_and_stdin_then_process() {
    let store = TestStore::new();
    store.create_metric("a", "low");
    store.create_metric("b", "low");
    store
        .command(&["ingest", "csv", "--metric-column", "metric", "--process", "-"])
        .write_stdin("metric,timestamp,value\na,2024-01-01T00:00:00,1\nb,2024-01-01T00:00:00,10\na,2024-01-01T00:01:00,3\n")
        .assert()
        .success();
    assert_eq!(waiting(&store), 0);
    assert_eq!(
        store.stdout(&["measures", "show", "a", "-f", "value", "-c", "value"]),
        "2.0\n"
    );
    assert_eq!(
        store.stdout(&["measures", "show", "b", "-f", "value", "-c", "value"]),
        "10.0\n"
    );
}

#[test]
fn columns_by_index_and_delimiter() {
    let store = TestStore::new();
    store.create_metric("cpu", "low");
    let file = store.write_file("x.csv", "host;2024-01-01T00:00:00;7.5\n");
    store
        .run(&[
            "ingest",
            "csv",
            "--metric",
            "cpu",
            "--delimiter",
            ";",
            "--timestamp-column",
            "2",
            "--value-column",
            "3",
            file.to_str().unwrap(),
        ])
        .success();
    assert_eq!(waiting(&store), 1);
}

#[test]
fn a_bad_line_stores_nothing_of_its_file() {
    let store = TestStore::new();
    store.create_metric("cpu", "low");
    let good = store.write_file("good.csv", "2024-01-01T00:00:00,1\n");
    let bad = store.write_file(
        "bad.csv",
        "timestamp,value\n2024-01-01T00:00:00,1\n2024-01-01T00:01:00,x\n",
    );
    let assert = store
        .run(&[
            "ingest",
            "csv",
            "--metric",
            "cpu",
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
        ])
        .failure()
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(&format!(
            "{}:3: field `value`: `x` is not a number",
            bad.display()
        )),
        "{stderr}"
    );
    // The good file before it is in; nothing of the bad one.
    assert_eq!(waiting(&store), 1);
    let bad_time = store.write_file("t.csv", "2024-01-01T00:00:00,1\n2024-02-30T00:00:00,2\n");
    store
        .run(&[
            "ingest",
            "csv",
            "--metric",
            "cpu",
            bad_time.to_str().unwrap(),
        ])
        .failure()
        .stderr(contains(":2: field `timestamp`: `2024-02-30T00:00:00`"));
    assert_eq!(waiting(&store), 1);
}

#[test]
fn unknown_metrics_and_files_store_nothing() {
    let store = TestStore::new();
    store.create_metric("a", "low");
    let file = store.write_file(
        "x.csv",
        "metric,timestamp,value\na,2024-01-01T00:00:00,1\nzz,2024-01-01T00:00:00,1\n",
    );
    store
        .run(&[
            "ingest",
            "csv",
            "--metric-column",
            "metric",
            file.to_str().unwrap(),
        ])
        .failure()
        .stderr(contains("Metric zz does not exist"));
    assert_eq!(waiting(&store), 0);
    store
        .run(&["ingest", "csv", "--metric", "a", "/nonexistent/file.csv"])
        .failure()
        .code(1)
        .stderr(contains("/nonexistent/file.csv"));
    store.run(&["ingest", "csv", "x.csv"]).failure().code(2);
}
