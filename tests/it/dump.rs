//! `carbonara dump` on archives the real Gnocchi 4.7.1 wrote: every file of
//! tests/golden/cases/*/gnocchi-store and of tests/data/gnocchi-backlog (processed
//! archives and unprocessed measures). Expected points come from the
//! oracle's expected.json and from the input CSVs, never from our decoder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use carbonara::time::{Timestamp, parse_timestamp};
use serde_json::Value;

use crate::common::{
    TestStore, batch_files, expected_value, golden_cases, parse_python_json, read_json, stderr_of,
    tree,
};

pub fn backlog_case() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gnocchi-backlog")
}

/// `carbonara dump -f json ARGS…`, parsed.
fn dump_json(args: &[&str]) -> Vec<Value> {
    let store = TestStore::empty();
    let mut all = vec!["dump", "-f", "json"];
    all.extend(args);
    store.json_array(&all)
}

impl TestStore {
    fn json_array(&self, args: &[&str]) -> Vec<Value> {
        parse_python_json(&self.stdout(args))
            .as_array()
            .unwrap()
            .clone()
    }
}

fn nanos(text: &str) -> i64 {
    parse_timestamp(text, Timestamp::EPOCH).unwrap().nanos()
}

/// (timestamp ns, value bits) of a dumped record's points.
fn points(record: &Value) -> Vec<(i64, u64)> {
    record["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                nanos(p[0].as_str().unwrap()),
                expected_value(&p[1]).to_bits(),
            )
        })
        .collect()
}

/// Rows of batch CSVs, per metric name, in file order.
fn csv_rows(files: &[PathBuf]) -> BTreeMap<String, Vec<(i64, u64)>> {
    let mut rows: BTreeMap<String, Vec<(i64, u64)>> = BTreeMap::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split(',').collect();
            let value: f64 = fields[2].parse().unwrap();
            rows.entry(fields[0].to_owned())
                .or_default()
                .push((nanos(fields[1]), value.to_bits()));
        }
    }
    rows
}

/// Checks a dump of a genuine Gnocchi store against what Gnocchi returns
/// (`expected`) and against its input (`processed` batches fed the bound
/// series, `waiting` ones are still in the sacks).
fn check_store(store: &Path, expected: &Value, processed: &[PathBuf], waiting: &[PathBuf]) {
    let records = dump_json(&[store.to_str().unwrap()]);
    let label = store.display();
    let files: Vec<String> = tree(store)
        .into_iter()
        .filter(|f| !f.ends_with('/') && !f.starts_with("tmp/"))
        .collect();
    let mut dumped: Vec<String> = records
        .iter()
        .map(|r| r["file"].as_str().unwrap().to_owned())
        .collect();
    dumped.sort();
    assert_eq!(dumped, files, "{label}: every file");
    let processed_rows = csv_rows(processed);
    let waiting_rows = csv_rows(waiting);
    for (name, metric) in expected["metrics"].as_object().unwrap() {
        let id = metric["id"].as_str().unwrap();
        let of_metric: Vec<&Value> = records
            .iter()
            .filter(|r| r["file"].as_str().unwrap().contains(id))
            .collect();
        for (method, by_granularity) in metric["measures"].as_object().unwrap() {
            for (granularity, want) in by_granularity.as_object().unwrap() {
                let want = want.as_array().unwrap();
                let mut got: Vec<(i64, u64)> = of_metric
                    .iter()
                    .filter(|r| {
                        r["kind"] == "split"
                            && r["aggregation"] == method.as_str()
                            && r["granularity"].as_f64().unwrap().to_string()
                                == granularity.parse::<f64>().unwrap().to_string()
                    })
                    .flat_map(|r| points(r))
                    .collect();
                // Splits keep points older than the timespan; Gnocchi's
                // answer is cut to it.
                if let Some(first) = want.first() {
                    let first = nanos(first[0].as_str().unwrap());
                    got.retain(|&(t, _)| t >= first);
                }
                let want: Vec<(i64, u64)> = want
                    .iter()
                    .map(|p| {
                        (
                            nanos(p[0].as_str().unwrap()),
                            expected_value(&p[2]).to_bits(),
                        )
                    })
                    .collect();
                assert_eq!(got, want, "{label}: {name} {method} {granularity}");
            }
        }
        let bound: Vec<&&Value> = of_metric.iter().filter(|r| r["kind"] == "bound").collect();
        assert_eq!(bound.len(), 1, "{label}: {name}: one none_v3");
        let inputs: BTreeSet<(i64, u64)> = processed_rows[name].iter().copied().collect();
        let raw = points(bound[0]);
        for point in &raw {
            assert!(
                inputs.contains(point),
                "{label}: {name}: bound point {point:?}"
            );
        }
        let newest = processed_rows[name].iter().map(|p| p.0).max();
        assert_eq!(raw.last().map(|p| p.0), newest, "{label}: {name}");
        let measures: Vec<(i64, u64)> = of_metric
            .iter()
            .filter(|r| r["kind"] == "measures")
            .flat_map(|r| points(r))
            .collect();
        let want = waiting_rows.get(name).cloned().unwrap_or_default();
        assert_eq!(measures, want, "{label}: {name}: waiting measures");
    }
}

#[test]
fn every_golden_file_dumps_as_gnocchi_wrote_it() {
    for case in golden_cases() {
        let expected = read_json(&case.join("expected.json"));
        check_store(
            &case.join("gnocchi-store"),
            &expected,
            &batch_files(&case),
            &[],
        );
    }
}

#[test]
fn a_gnocchi_store_with_a_backlog_dumps_its_sacks_too() {
    let case = backlog_case();
    let expected = read_json(&case.join("expected-before.json"));
    let batches = batch_files(&case);
    check_store(
        &case.join("gnocchi"),
        &expected,
        &batches[..2],
        &batches[2..],
    );
}

#[test]
fn summaries_describe_each_file() {
    let case = backlog_case().join("gnocchi");
    let store = TestStore::empty();
    let csv = store.stdout(&["dump", "--summary", "-f", "csv", case.to_str().unwrap()]);
    let mut lines = csv.lines();
    assert_eq!(
        lines.next(),
        Some(
            "file,kind,aggregation,granularity,key,version,compression,points,first,last,bytes,bytes_per_point"
        )
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 42);
    for row in &rows {
        let size = std::fs::metadata(case.join(row[0])).unwrap().len();
        assert_eq!(row[10], size.to_string(), "{row:?}");
        let per_point: f64 = row[11].parse().unwrap();
        assert_eq!(per_point, size as f64 / row[7].parse::<f64>().unwrap());
    }
    let gauge = "6ca28ecb-eee3-5ee2-97cd-176c16849311";
    let mean_minutes: Vec<&Vec<&str>> = rows
        .iter()
        .filter(|r| r[0].contains(gauge) && r[2] == "mean" && r[3] == "60.0")
        .collect();
    // Two splits of 60 h: the data crosses 2024-01-03T00:00.
    let keys: Vec<&str> = mean_minutes.iter().map(|r| r[4]).collect();
    assert_eq!(
        keys,
        ["2023-12-31T12:00:00+00:00", "2024-01-03T00:00:00+00:00"]
    );
    assert!(mean_minutes.iter().all(|r| r[5] == "v3" && r[6] == "c"));
    let measures: Vec<&Vec<&str>> = rows.iter().filter(|r| r[1] == "measures").collect();
    assert_eq!(measures.len(), 3);
    assert!(measures.iter().all(|r| r[5].is_empty() && r[6] == "none"));
    // A table per metric directory.
    let table = store.stdout(&["dump", "--summary", case.to_str().unwrap()]);
    assert_eq!(table.matches("| file ").count(), 6, "{table}");
}

#[test]
fn summary_tables_fit_100_columns() {
    let case = backlog_case().join("gnocchi");
    let store = TestStore::empty();
    let table = store.stdout(&["dump", "--summary", case.to_str().unwrap()]);
    for line in table.lines() {
        assert!(
            line.chars().count() <= 100,
            "{} columns: {line}",
            line.chars().count()
        );
    }
    let gauge = "6ca28ecb-eee3-5ee2-97cd-176c16849311";
    // Each metric's table is titled with its directory; files are named
    // within it.
    let title = format!("6c/a2/8e/cb/ee/e3/5e/e2/97/cd/17/6c/16/84/93/11/{gauge}/\n");
    let at = table.find(&title).expect(&table);
    let own: String = table[at + title.len()..]
        .lines()
        .take_while(|line| line.starts_with(['+', '|']))
        .map(|line| format!("{line}\n"))
        .collect();
    assert!(
        own.contains("\n| file                                | points | last                      | bytes   |\n"),
        "{own}"
    );
    let split = case.join(format!(
        "6c/a2/8e/cb/ee/e3/5e/e2/97/cd/17/6c/16/84/93/11/{gauge}/agg_max/1704024000.0_60.0_v3"
    ));
    let size = std::fs::metadata(&split).unwrap().len();
    assert_eq!(size, 5793); // 5.66 KiB
    assert!(
        own.contains(
            "| agg_max/1704024000.0_60.0_v3        | 720    | 2024-01-02T23:59:00+00:00 | 5.7 KiB |"
        ),
        "{own}"
    );
    assert!(own.contains("| none_v3 "), "{own}");
    assert!(!own.contains(gauge), "{own}");
    // A measure file keeps the first 8 digits of its uuid.
    assert!(
        table.contains(&format!("\nincoming8-1/{gauge}/\n")),
        "{table}"
    );
    assert!(
        table.contains("| 2b7cdaca…_20261130_17:17:32 | 505    |"),
        "{table}"
    );
    // `-c` picks among every column, in the table too.
    let picked = store.stdout(&[
        "dump",
        "--summary",
        "-c",
        "kind",
        "-c",
        "compression",
        "-c",
        "bytes_per_point",
        case.to_str().unwrap(),
    ]);
    assert!(
        picked.contains("| kind     | compression | bytes_per_point |"),
        "{picked}"
    );
    assert!(
        picked.contains("| measures | none        | 16.0 B          |"),
        "{picked}"
    );
}

#[test]
fn start_and_stop_cut_the_points_and_leave_out_files() {
    let case = backlog_case().join("gnocchi");
    let args = [
        case.to_str().unwrap(),
        "--start",
        "2024-01-03T00:00:00",
        "--stop",
        "2024-01-03T00:05:00",
    ];
    let records = dump_json(&args);
    for record in &records {
        let shown = points(record);
        assert!(!shown.is_empty());
        assert!(
            shown
                .iter()
                .all(|&(t, _)| (1_704_240_000_000_000_000..1_704_240_300_000_000_000).contains(&t))
        );
    }
    // No bound series: they start later. (Batch 3 has a few points sent
    // one batch late: its measure files may show.)
    assert!(records.iter().all(|r| r["kind"] != "bound"));
    assert!(
        records
            .iter()
            .all(|r| r["granularity"] != 60.0 || r["key"] == "2024-01-03T00:00:00+00:00")
    );
    let minute_mean = records
        .iter()
        .find(|r| {
            r["aggregation"] == "mean"
                && r["granularity"] == 60.0
                && r["file"].as_str().unwrap().contains("6ca28ecb")
        })
        .unwrap();
    assert_eq!(points(minute_mean).len(), 5);
    // The header still describes the whole file.
    assert!(minute_mean["points"].as_i64().unwrap() > 5);
}

#[test]
fn single_files_and_their_back_window() {
    let metric = backlog_case()
        .join("gnocchi/e5/16/da/b7/fa/aa/53/15/b3/bd/ae/cb/2c/bd/de/e9/e516dab7-faaa-5315-b3bd-aecb2cbddee9");
    let bound = dump_json(&[metric.join("none_v3").to_str().unwrap()]);
    assert_eq!(bound.len(), 1);
    assert_eq!(bound[0]["file"], "none_v3");
    assert_eq!(bound[0]["compression"], "lz4");
    let state = &bound[0]["back_window_state"];
    // The block is the largest granularity of the splits beside it.
    assert_eq!(state["block"], 3600.0);
    assert_eq!(state["back_window"], Value::Null);
    let split = dump_json(&[metric
        .join("agg_count/1704240000.0_60.0_v3")
        .to_str()
        .unwrap()]);
    assert_eq!(split[0]["aggregation"], "count");
    assert_eq!(split[0]["key"], "2024-01-03T00:00:00+00:00");
    assert_eq!(split[0]["back_window_state"], Value::Null);
    // A split taken out of its directory: no method, still decodable.
    let store = TestStore::empty();
    let loose = store.path().join("1704240000.0_60.0_v3");
    std::fs::copy(metric.join("agg_count/1704240000.0_60.0_v3"), &loose).unwrap();
    let copy = dump_json(&[loose.to_str().unwrap()]);
    assert_eq!(copy[0]["aggregation"], Value::Null);
    assert_eq!(copy[0]["measures"], split[0]["measures"]);
    let other = store.write_file("notes.txt", "hello");
    let assert = store.run(&["dump", other.to_str().unwrap()]).code(1);
    assert!(
        stderr_of(&assert).contains("notes.txt: not an archive file"),
        "{}",
        stderr_of(&assert)
    );
}

#[test]
fn a_corrupt_file_is_reported_and_the_others_dumped() {
    let store = TestStore::empty();
    let copy = store.path().join("gnocchi");
    let source = backlog_case().join("gnocchi");
    for file in tree(&source).into_iter().filter(|f| !f.ends_with('/')) {
        std::fs::create_dir_all(copy.join(&file).parent().unwrap()).unwrap();
        std::fs::copy(source.join(&file), copy.join(&file)).unwrap();
    }
    let victim = "e5/16/da/b7/fa/aa/53/15/b3/bd/ae/cb/2c/bd/de/e9/e516dab7-faaa-5315-b3bd-aecb2cbddee9/agg_max/1704240000.0_60.0_v3";
    let bytes = std::fs::read(copy.join(victim)).unwrap();
    std::fs::write(copy.join(victim), &bytes[..bytes.len() / 2]).unwrap();
    let assert = store
        .run(&["dump", "--summary", "-f", "csv", copy.to_str().unwrap()])
        .code(1);
    let stderr = stderr_of(&assert);
    assert!(stderr.contains(victim), "{stderr}");
    assert!(stderr.contains("1 file could not be read"), "{stderr}");
    let stdout = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert_eq!(stdout.lines().count(), 1 + 41);
}

#[test]
fn a_metric_of_the_store_with_its_policy_and_waiting_measures() {
    let store = TestStore::new();
    store.create_metric("temp", "low");
    store
        .run(&[
            "measures",
            "add",
            "temp",
            "-m",
            "2024-01-01T00:00:00@1",
            "-m",
            "2024-01-01T00:07:00@3",
        ])
        .success();
    store.run(&["process"]).success();
    store
        .run(&["measures", "add", "temp", "-m", "2024-01-01T00:12:30@-2.5"])
        .success();
    let records = store.json_array(&["dump", "temp", "-f", "json"]);
    let kinds: Vec<&str> = records
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds[0], "bound");
    assert_eq!(kinds.last(), Some(&"measures"));
    // std omits single-point buckets: no split at all.
    assert_eq!(kinds.len(), 1 + 5 + 1, "{kinds:?}");
    assert!(records.iter().all(|r| r["aggregation"] != "std"));
    let bound = &records[0];
    assert!(bound["file"].as_str().unwrap().starts_with("archive/"));
    // low: 5 min blocks, back window 0: measures from 00:05 on are taken.
    assert_eq!(bound["back_window_state"]["block"], 300.0);
    assert_eq!(bound["back_window_state"]["back_window"], 0);
    assert_eq!(
        bound["back_window_state"]["accepts_from"],
        "2024-01-01T00:05:00+00:00"
    );
    assert_eq!(
        bound["measures"].to_string(),
        r#"[["2024-01-01T00:07:00+00:00",3.0]]"#
    );
    let mean = records.iter().find(|r| r["aggregation"] == "mean").unwrap();
    assert_eq!(
        mean["measures"].to_string(),
        r#"[["2024-01-01T00:00:00+00:00",1.0],["2024-01-01T00:05:00+00:00",3.0]]"#
    );
    let waiting = records.last().unwrap();
    assert!(
        waiting["file"]
            .as_str()
            .unwrap()
            .starts_with("incoming/incoming8-")
    );
    assert_eq!(
        waiting["measures"].to_string(),
        r#"[["2024-01-01T00:12:30+00:00",-2.5]]"#
    );
    let csv = store.stdout(&[
        "dump",
        "temp",
        "-f",
        "csv",
        "--start",
        "2024-01-01T00:05:00",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "file,kind,aggregation,granularity,timestamp,value"
    );
    assert_eq!(lines.len(), 1 + 1 + 5 + 1, "{csv}");
    // YAML holds the same records as JSON, a whole store as one metric.
    for target in [&["temp"][..], &[store.path().to_str().unwrap()][..]] {
        let mut args = vec!["dump", "-f", "yaml"];
        args.extend(target);
        let yaml: Value = serde_norway::from_str(&store.stdout(&args)).unwrap();
        args[2] = "json";
        assert_eq!(yaml, Value::Array(store.json_array(&args)), "{target:?}");
    }
    let store_missing = TestStore::empty();
    let assert = store_missing.run(&["dump", "temp"]).code(1);
    assert!(stderr_of(&assert).contains("not a carbonara store"));
}
