//! `ingest csv` through the binary: layouts, stdin, and files taken whole
//! or not at all.

use predicates::prelude::*;
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

#[test]
fn a_missing_file_is_named_with_its_cause_once() {
    let store = TestStore::new();
    store.create_metric("a", "low");
    let missing = store.path().join("missing.csv");
    let assert = store
        .run(&["ingest", "csv", "--metric", "a", missing.to_str().unwrap()])
        .failure()
        .code(1);
    // "No such file or directory (os error 2)", once, on the line that
    // names the file.
    let cause = std::io::Error::from_raw_os_error(2).to_string();
    assert_eq!(
        stderr_of(&assert),
        format!("carbonara: error: {}: {cause}\n", missing.display())
    );
}

/// `measures show NAME -f value -c value`, one value a line.
fn values(store: &TestStore, metric: &str) -> String {
    store.stdout(&["measures", "show", metric, "-f", "value", "-c", "value"])
}

#[test]
fn wide_files_compressed_or_not() {
    use std::io::Write;
    let store = TestStore::new();
    store.create_metric("cpu", "low");
    store.create_metric("mem", "low");
    let text = "time,cpu,mem\n2024-01-01T00:00:00,1,10\n2024-01-01T00:05:00,,20\n";
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(text.as_bytes()).unwrap();
    let gz = store.write_file("a.csv.gz", gzip.finish().unwrap());
    let zst = store.write_file(
        "b.data",
        zstd::encode_all("time,cpu\n2024-01-01T00:10:00,3\n".as_bytes(), 3).unwrap(),
    );
    let assert = store
        .run(&[
            "ingest",
            "csv",
            "--wide",
            "--process",
            gz.to_str().unwrap(),
            zst.to_str().unwrap(),
        ])
        .success();
    assert!(
        stderr_of(&assert).contains("ingested 4 measures from 2 files (5 lines, 0 invalid) in"),
        "{}",
        stderr_of(&assert)
    );
    assert!(
        stderr_of(&assert).contains("; 0 metrics created\n"),
        "{}",
        stderr_of(&assert)
    );
    assert_eq!(values(&store, "cpu"), "1.0\n3.0\n");
    assert_eq!(values(&store, "mem"), "10.0\n20.0\n");
    let no_header = store.write_file("c.csv", "2024-01-01T00:10:00,3\n");
    store
        .run(&[
            "ingest",
            "csv",
            "--wide",
            "--no-header",
            no_header.to_str().unwrap(),
        ])
        .failure()
        .code(1)
        .stderr(contains(
            "c.csv:1: field `header`: a wide CSV needs its header to name the metrics",
        ));
}

#[test]
fn epoch_units_are_guessed_and_stated_or_given() {
    let store = TestStore::new();
    store.create_metric("cpu", "low");
    let millis = store.write_file("ms.csv", "1704067200000,1\n1704067500000,2\n");
    store
        .run(&["ingest", "csv", "--metric", "cpu", millis.to_str().unwrap()])
        .success()
        .stderr(contains(
            "ms.csv: epoch timestamps read as milliseconds (guessed from the first one",
        ));
    let micros = store.write_file("us.csv", "1704067800000000,3\n");
    store
        .run(&[
            "ingest",
            "csv",
            "--metric",
            "cpu",
            "--time-unit",
            "us",
            "--process",
            micros.to_str().unwrap(),
        ])
        .success()
        .stderr(contains("guessed").not());
    let doc = store.json(&["measures", "show", "cpu"]);
    let timestamps: Vec<&str> = doc
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["timestamp"].as_str().unwrap())
        .collect();
    assert_eq!(
        timestamps,
        [
            "2024-01-01T00:00:00+00:00",
            "2024-01-01T00:05:00+00:00",
            "2024-01-01T00:10:00+00:00"
        ]
    );
}

#[test]
fn skip_invalid_stores_the_good_lines_and_exits_1() {
    let store = TestStore::new();
    store.create_metric("a", "low");
    let file = store.write_file(
        "mixed.csv",
        "metric,timestamp,value\na,2024-01-01T00:00:00,1\nb,2024-01-01T00:00:00,2\na,never,3\na,2024-01-01T00:05:00,4\n",
    );
    let assert = store
        .run(&[
            "ingest",
            "csv",
            "--metric-column",
            "metric",
            "--skip-invalid",
            file.to_str().unwrap(),
        ])
        .failure()
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains("skipped: "), "{stderr}");
    assert!(
        stderr.contains("mixed.csv:3: field `metric`: Metric b does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("mixed.csv:4: field `timestamp`: `never`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("2 invalid lines were skipped; the others were stored"),
        "{stderr}"
    );
    assert_eq!(waiting(&store), 2);
}

#[test]
fn missing_metrics_are_created_when_asked() {
    let store = TestStore::new();
    store
        .run(&[
            "archive-policy-rule",
            "create",
            "disks",
            "-a",
            "medium",
            "-m",
            "disk.*",
        ])
        .success();
    let file = store.write_file(
        "new.csv",
        "metric,timestamp,value\ndisk.io,2024-01-01T00:00:00,1\ncpu,2024-01-01T00:00:00,2\n",
    );
    let assert = store
        .run(&[
            "ingest",
            "csv",
            "--metric-column",
            "metric",
            "--create-metrics",
            file.to_str().unwrap(),
        ])
        .success();
    assert!(stderr_of(&assert).contains("2 metrics created"));
    // The summary names the policy each created metric got.
    assert!(
        stderr_of(&assert).contains("; 2 metrics created (low: 1, medium: 1)\n"),
        "{}",
        stderr_of(&assert)
    );
    let policy_of =
        |name: &str| store.json(&["metric", "show", name])["archive_policy"]["name"].clone();
    assert_eq!(policy_of("disk.io"), "medium");
    assert_eq!(policy_of("cpu"), "low");
    let other = store.write_file(
        "other.csv",
        "metric,timestamp,value\nnet,2024-01-01T00:00:00,1\n",
    );
    store
        .run(&[
            "ingest",
            "csv",
            "--metric-column",
            "metric",
            "--create-metrics",
            "--archive-policy-name",
            "high",
            other.to_str().unwrap(),
        ])
        .success()
        .stderr(contains("; 1 metric created (high: 1)\n"));
    assert_eq!(policy_of("net"), "high");
    store
        .run(&["archive-policy-rule", "delete", "default"])
        .success();
    let unmatched = store.write_file(
        "u.csv",
        "metric,timestamp,value\nmem,2024-01-01T00:00:00,1\n",
    );
    store
        .run(&["ingest", "csv", "--metric-column", "metric", "--create-metrics", unmatched.to_str().unwrap()])
        .failure()
        .code(1)
        .stderr(contains(
            "u.csv:2: field `metric`: No archive policy name specified and no archive policy rule found matching the metric name mem",
        ));
}

/// The id of metric `name` of resource `resource`.
fn metric_of(store: &TestStore, resource: &str, name: &str) -> String {
    let doc = store.json(&["metric", "show", name, "--resource-id", resource]);
    doc["id"].as_str().unwrap().to_owned()
}

#[test]
fn statsd_files_are_one_flush_on_one_resource() {
    let store = TestStore::new();
    store
        .run(&[
            "archive-policy-rule",
            "create",
            "counters",
            "-a",
            "medium",
            "-m",
            "*|c",
        ])
        .success();
    let file = store.write_file(
        "flush.statsd",
        "api.hits:1|c\napi.hits:2|c|@0.5\nqueue.len:42|g\nqueue.len:40|g\nrender:320|ms\n",
    );
    let assert = store
        .run(&[
            "ingest",
            "statsd",
            "--resource-id",
            "statsd-host",
            "--at",
            "2015-01-07T13:58:36",
            "--process",
            file.to_str().unwrap(),
        ])
        .success();
    assert!(
        stderr_of(&assert).contains("ingested 3 measures from 1 file (5 lines, 0 invalid) in"),
        "{}",
        stderr_of(&assert)
    );
    // Each created metric's policy is named: the rules gave two of them low.
    assert!(
        stderr_of(&assert).contains("; 3 metrics created (low: 2, medium: 1)\n"),
        "{}",
        stderr_of(&assert)
    );
    let resource = store.json(&["resource", "show", "statsd-host"]);
    assert_eq!(resource["original_resource_id"], "statsd-host");
    let mut names: Vec<&str> = resource["metrics"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort();
    assert_eq!(names, ["api.hits|c", "queue.len|g", "render|ms"]);
    let hits = metric_of(&store, "statsd-host", "api.hits|c");
    assert_eq!(
        store.json(&["metric", "show", &hits])["archive_policy"]["name"],
        "medium"
    );
    let doc = store.json(&["measures", "show", &hits, "--granularity", "60"]);
    assert_eq!(doc[0]["timestamp"], "2015-01-07T13:58:00+00:00");
    assert_eq!(doc[0]["value"], 5.0);
    // `|#` tags are refused as gnocchi-statsd refuses them.
    let tagged = store.write_file("tags.statsd", "a:1|c\nb:1|c|#env:prod\n");
    store
        .run(&[
            "ingest",
            "statsd",
            "--resource-id",
            "statsd-host",
            tagged.to_str().unwrap(),
        ])
        .failure()
        .code(1)
        .stderr(contains(
            "tags.statsd:2: field `rate`: could not convert string to float: 'env:prod'",
        ));
}

#[test]
fn influx_lines_become_resources_of_the_db_type() {
    let store = TestStore::new();
    let file = store.write_file(
        "points.lp",
        "mymetric,host=foobar,mytag=myvalue field=123 1510581804179554816\n\ncpu,path=/foobar,host=foobar v=43i,s=\"x\" 1510581804179554816\n",
    );
    store
        .run(&[
            "ingest",
            "influx",
            "--db",
            "influxdbtest",
            "--process",
            file.to_str().unwrap(),
        ])
        .success();
    let resource = store.json(&["resource", "show", "foobar", "-t", "influxdbtest"]);
    // The id a real Gnocchi gives `foobar` written by admin (spec E4).
    assert_eq!(resource["id"], "b4d568e4-7af1-5aec-ac3f-9c09fa3685a9");
    assert_eq!(resource["type"], "influxdbtest");
    let mut names: Vec<&str> = resource["metrics"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["cpu.v@path=_foobar", "mymetric.field@mytag=myvalue"]
    );
    let field = metric_of(&store, "foobar", "mymetric.field@mytag=myvalue");
    let doc = store.json(&["measures", "show", &field]);
    assert_eq!(doc[0]["timestamp"], "2017-11-13T14:00:00+00:00");
    assert_eq!(doc[0]["value"], 123.0);
    let bad = store.write_file("bad.lp", "a,host=h v=1\ncpu,host=a b=true 1000\n");
    store
        .run(&["ingest", "influx", bad.to_str().unwrap()])
        .failure()
        .code(1)
        .stderr(contains("bad.lp:2: field `line`: Unable to parse line 2"));
    let untagged = store.write_file("untagged.lp", "cpu v=1\n");
    store
        .run(&["ingest", "influx", untagged.to_str().unwrap()])
        .failure()
        .stderr(contains(
            "untagged.lp:1: field `tags`: Unable to find key `host' in tags",
        ));
    // Nothing of the refused files: no resource type `influxdb`.
    store.run(&["resource", "list", "-t", "influxdb"]).failure();
}

#[test]
fn batch_files_by_metric_and_by_resource() {
    let store = TestStore::new();
    let cpu = store.create_metric("cpu", "low");
    store
        .run(&["resource", "create", "46c9418d-d63b-4cdd-be89-8f57ffc5952e"])
        .success();
    store
        .run(&[
            "archive-policy-rule",
            "create",
            "auto",
            "-a",
            "medium",
            "-m",
            "auto.*",
        ])
        .success();
    let by_metric = store.write_file(
        "metrics.json",
        format!("{{\"{cpu}\": [{{\"timestamp\": \"2015-03-06T14:33:57\", \"value\": 43.1}}, {{\"timestamp\": 1425652452, \"value\": 12}}]}}"),
    );
    store
        .run(&["ingest", "batch", by_metric.to_str().unwrap()])
        .success();
    assert_eq!(waiting(&store), 2);
    let by_resource = store.write_file(
        "resources.json",
        r#"{"46c9418d-d63b-4cdd-be89-8f57ffc5952e": {
  "auto.test": {"measures": [{"timestamp": "2015-03-06T14:33:57", "value": 43.1}]},
  "newformat": {"archive_policy_name": "high", "unit": "ks",
                "measures": [{"timestamp": "2015-03-06T14:34:12", "value": 42}]}}}"#,
    );
    store
        .run(&["ingest", "batch", by_resource.to_str().unwrap()])
        .failure()
        .code(1)
        .stderr(contains("resources.json:2: field `['46c9418d-d63b-4cdd-be89-8f57ffc5952e']['auto.test']`: Metric 46c9418d-d63b-4cdd-be89-8f57ffc5952e/auto.test does not exist"));
    store
        .run(&[
            "ingest",
            "batch",
            "--create-metrics",
            "--process",
            by_resource.to_str().unwrap(),
        ])
        .success();
    let resource = "46c9418d-d63b-4cdd-be89-8f57ffc5952e";
    let created = store.json(&["metric", "show", "newformat", "--resource-id", resource]);
    assert_eq!(
        (
            created["archive_policy"]["name"].as_str(),
            created["unit"].as_str()
        ),
        (Some("high"), Some("ks"))
    );
    let auto = store.json(&["metric", "show", "auto.test", "--resource-id", resource]);
    assert_eq!(auto["archive_policy"]["name"], "medium");
    let unknown = store.write_file(
        "unknown.json",
        r#"{"foobar": {"auto.test": [{"timestamp": 1, "value": 1}]}}"#,
    );
    store
        .run(&[
            "ingest",
            "batch",
            "--create-metrics",
            unknown.to_str().unwrap(),
        ])
        .failure()
        .stderr(contains("Resource foobar does not exist"));
    let invalid = store.write_file(
        "invalid.json",
        "{\"r\": {\"m\": {\n  \"measures\": [], \"unit\": 5}}}",
    );
    store
        .run(&["ingest", "batch", invalid.to_str().unwrap()])
        .failure()
        .stderr(contains("invalid.json:2: field `['r']['m']['unit']`: Invalid input: expected str for dictionary value @ data['r']['m']['unit']"));
}

#[test]
fn ceilometer_samples_with_errors_are_located() {
    let store = TestStore::new();
    let file = store.write_file(
        "samples.jsonl",
        concat!(
            r#"{"counter_name": "memory.usage", "counter_unit": "MB", "counter_volume": 5, "resource_id": "vm-1", "timestamp": "2024-05-01T10:00:00", "project_id": "p", "user_id": "u", "resource_metadata": {"display_name": "one", "flavor_id": "1"}}"#,
            "\n",
            r#"{"counter_name": "memory.usage", "counter_unit": "MB", "counter_volume": null, "resource_id": "vm-1", "timestamp": "2024-05-01T10:05:00"}"#,
            "\n",
            r#"{"counter_name": "cpu_util", "counter_volume": 1, "resource_id": "vm-1", "timestamp": "2024-05-01T10:05:00"}"#,
            "\n",
        ),
    );
    let assert = store
        .run(&["ingest", "ceilometer", file.to_str().unwrap()])
        .failure()
        .code(1);
    assert!(
        stderr_of(&assert).contains("samples.jsonl:2: field `counter_volume`: no volume"),
        "{}",
        stderr_of(&assert)
    );
    store
        .run(&["resource", "show", "vm-1", "-t", "instance"])
        .failure();
    let assert = store
        .run(&[
            "ingest",
            "ceilometer",
            "--skip-invalid",
            file.to_str().unwrap(),
        ])
        .failure()
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains(
            "1 of 3 samples skipped: its meter is not in Ceilometer's Gnocchi definitions"
        ),
        "{stderr}"
    );
    // An instance needs its flavor name: Gnocchi refuses to create one
    // without, and the publisher drops its measures.
    assert!(
        stderr.contains("samples.jsonl:1: field `resource`: resource vm-1: Invalid input: required key not provided @ data['flavor_name']"),
        "{stderr}"
    );
    assert!(stderr.contains("2 invalid lines were skipped"), "{stderr}");
    store
        .run(&["resource", "show", "vm-1", "-t", "instance"])
        .failure();
    let complete = store.write_file(
        "complete.jsonl",
        r#"{"counter_name": "memory.usage", "counter_unit": "MB", "counter_volume": 5, "resource_id": "vm-1", "timestamp": "2024-05-01T10:00:00", "project_id": "p", "user_id": "u", "resource_metadata": {"display_name": "one", "flavor_id": "1", "instance_type": "m1.tiny"}}"#,
    );
    store
        .run(&["ingest", "ceilometer", complete.to_str().unwrap()])
        .success();
    let resource = store.json(&["resource", "show", "vm-1", "-t", "instance"]);
    assert_eq!(resource["display_name"], "one");
    assert_eq!(resource["flavor_name"], "m1.tiny");
    assert_eq!(resource["project_id"], "p");
}

#[test]
fn a_resource_column_names_each_rows_resource() {
    let store = TestStore::new();
    store.run(&["resource", "create", "web-1"]).success();
    let file = store.write_file(
        "hosts.csv",
        "host,metric,timestamp,value\nweb-1,cpu,2024-01-01T00:00:00,1\nweb-2,cpu,2024-01-01T00:00:00,2\nweb-1,mem,2024-01-01T00:00:00,3\n",
    );
    let args = |extra: &[&'static str]| {
        let mut args = vec![
            "ingest",
            "csv",
            "--metric-column",
            "metric",
            "--resource-column",
            "host",
            "--create-metrics",
        ];
        args.extend_from_slice(extra);
        args.push(file.to_str().unwrap());
        args
    };
    store.run(&args(&[])).failure().stderr(contains(
        "hosts.csv:3: field `metric`: Resource web-2 does not exist",
    ));
    store
        .run(&args(&["--create-resources", "--process"]))
        .success();
    let resource = store.json(&["resource", "show", "web-2"]);
    assert_eq!(resource["original_resource_id"], "web-2");
    let cpu = metric_of(&store, "web-2", "cpu");
    assert_eq!(store.json(&["measures", "show", &cpu])[0]["value"], 2.0);
    let mem = metric_of(&store, "web-1", "mem");
    assert_eq!(store.json(&["measures", "show", &mem])[0]["value"], 3.0);
}

/// 200 000 rows (about 5 MB): read in blocks parsed in parallel.
fn large_csv(bad_line: Option<usize>) -> String {
    let mut text = String::from("metric,timestamp,value\n");
    for line in 2..200_002 {
        let value = if Some(line) == bad_line {
            "x".to_owned()
        } else {
            (line % 7).to_string()
        };
        text.push_str(&format!("m{},{},{value}\n", line % 3, 1_704_067_200 + line));
    }
    text
}

#[test]
fn a_large_file_in_parallel_blocks_keeps_its_line_numbers_and_is_taken_whole() {
    let store = TestStore::new();
    let bad = store.write_file("bad.csv", large_csv(Some(187_654)));
    let args = [
        "ingest",
        "csv",
        "--metric-column",
        "metric",
        "--create-metrics",
    ];
    let assert = store
        .run(&[&args[..], &[bad.to_str().unwrap()]].concat())
        .failure()
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("bad.csv:187654: field `value`: `x` is not a number"),
        "{stderr}"
    );
    assert_eq!(waiting(&store), 0);
    let good = store.write_file("good.csv", large_csv(None));
    let assert = store
        .run(&[&args[..], &[good.to_str().unwrap()]].concat())
        .success();
    assert!(
        stderr_of(&assert)
            .contains("ingested 200000 measures from 1 file (200001 lines, 0 invalid) in"),
        "{}",
        stderr_of(&assert)
    );
    assert!(
        stderr_of(&assert).contains("; 3 metrics created (low: 3)\n"),
        "{}",
        stderr_of(&assert)
    );
    assert_eq!(waiting(&store), 200_000);
    // Every row in its metric, in the file's order.
    store.run(&["process", "--quiet"]);
    let sums = store.stdout(&[
        "measures",
        "show",
        "m1",
        "--aggregation",
        "count",
        "--granularity",
        "300",
        "-f",
        "value",
        "-c",
        "value",
    ]);
    let expected = (2..200_002).filter(|line| line % 3 == 1).count();
    assert_eq!(
        sums.lines().map(|v| v.parse::<f64>().unwrap()).sum::<f64>(),
        expected as f64
    );
}

#[test]
fn an_influx_tag_naming_a_resource_of_another_type_says_so() {
    let store = TestStore::new();
    store.run(&["resource", "create", "web1"]).success();
    let file = store.write_file("points.lp", "cpu,host=web1 value=1 1704067200000000000\n");
    store
        .run(&["ingest", "influx", file.to_str().unwrap()])
        .failure()
        .code(1)
        .stderr(contains(
            "points.lp:1: field `cpu.value`: resource web1 (f30e3cd2-7bc2-5fc5-b4eb-b238fa43937b) \
             exists with type generic, not influxdb\n",
        ));
}

#[test]
fn a_header_without_the_columns_lists_them_and_hints_at_the_delimiter() {
    let store = TestStore::new();
    store.create_metric("cpu", "low");
    let cases = [
        (
            "time;value\n2024-01-01T00:00:00;1\n",
            "its one column is `time;value`; it looks separated by `;`: try `--delimiter ';'`\n",
        ),
        (
            "time\tvalue\n2024-01-01T00:00:00\t1\n",
            "it looks separated by tabs: try `--delimiter $'\\t'`\n",
        ),
        (
            "ts,v\n2024-01-01T00:00:00,1\n",
            "its 2 columns are `ts`, `v`; name the column with `--timestamp-column COLUMN` \
             (a name or a 1-based index)\n",
        ),
    ];
    for (text, hint) in cases {
        let file = store.write_file("in.csv", text);
        store
            .run(&["ingest", "csv", "--metric", "cpu", file.to_str().unwrap()])
            .failure()
            .code(1)
            .stderr(contains(
                "in.csv:1: field `timestamp`: no column named `timestamp` in the header; ",
            ))
            .stderr(contains(hint));
    }
}
