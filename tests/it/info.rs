//! `carbonara info` and `archive-policy estimate`.

use crate::common::{TestStore, tree};

/// `busy` under medium with two days of minutes, `idle` under low with
/// one point; a measure of `idle` waits.
fn store() -> TestStore {
    let store = TestStore::new();
    store.create_metric("busy", "medium");
    store.create_metric("idle", "low");
    let mut csv = String::from("metric,timestamp,value\nidle,2024-01-01T00:00:00,1\n");
    for i in 0..2880 {
        csv.push_str(&format!("busy,{},{}\n", 1_704_067_200 + 60 * i, i % 7));
    }
    store.ingest_and_process(&csv);
    store
        .run(&["measures", "add", "idle", "-m", "2024-01-01T00:10:00@2"])
        .success();
    store
}

#[test]
fn a_metric_per_aggregation() {
    let store = store();
    let info = store.json(&["info", "busy"]);
    assert_eq!(info["archive_policy_name"], "medium");
    assert_eq!(info["measures waiting"], 0);
    let aggregations = info["aggregations"].as_array().unwrap();
    // 6 methods × 2 granularities, std at 60 s omitted (one point a bucket).
    assert_eq!(aggregations.len(), 11);
    let find = |method: &str, granularity: f64| {
        aggregations
            .iter()
            .find(|a| a["aggregation"] == method && a["granularity"] == granularity)
            .unwrap()
    };
    let minutes = find("mean", 60.0);
    assert_eq!(minutes["splits"], 1);
    assert_eq!(minutes["points"], 2880);
    assert_eq!(minutes["first"], "2024-01-01T00:00:00+00:00");
    assert_eq!(minutes["last"], "2024-01-02T23:59:00+00:00");
    let hours = find("count", 3600.0);
    assert_eq!(hours["points"], 48);
    let files = tree(&store.path().join("archive"))
        .into_iter()
        .filter(|f| f.contains(info["id"].as_str().unwrap()) && !f.ends_with('/'))
        .count();
    assert_eq!(info["files"], files as i64);
    // The bound series keeps the newest hour (block 1 h, back window 0).
    assert_eq!(info["bound series"]["points"], 60);
    let waiting = store.json(&["info", "idle"]);
    assert_eq!(waiting["measures waiting"], 1);
}

#[test]
fn the_whole_store() {
    let store = store();
    let info = store.json(&["info", "--top", "1"]);
    assert_eq!(info["format"], 2);
    assert_eq!(info["sacks"], 8);
    assert_eq!(info["archive policies"], 4);
    assert_eq!(info["metrics"], 2);
    assert_eq!(info["metrics with measures waiting"], 1);
    assert_eq!(info["measures waiting"], 1);
    assert_eq!(info["metrics per sack"]["mean"], 0.25);
    let archive = store.path().join("archive");
    let files: Vec<String> = tree(&archive)
        .into_iter()
        .filter(|f| !f.ends_with('/'))
        .collect();
    assert_eq!(info["archive files"], files.len() as i64);
    let bytes: u64 = files
        .iter()
        .map(|f| std::fs::metadata(archive.join(f)).unwrap().len())
        .sum();
    assert_eq!(info["archive bytes"], bytes);
    assert!(info["size on disk"].as_u64().unwrap() > bytes);
    let top = info["most expensive metrics"].as_array().unwrap();
    assert_eq!(top.len(), 1);
    assert_eq!(top[0]["name"], "busy");
    assert_eq!(info["unreadable files"], 0);
}

#[test]
fn estimates_follow_the_model() {
    let store = TestStore::new();
    let rows = store.json(&["archive-policy", "estimate", "low"]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3);
    // 5 min × 30 days = 8640 points: 3 splits, 4 when unaligned; 6 methods.
    assert_eq!(rows[0]["points"], 8640);
    assert_eq!(rows[0]["files"], 24);
    let worst_split = 1 + 4 + 36_000 + 36_000 / 255 + 16;
    assert_eq!(rows[0]["worst_bytes"], 24 * worst_split);
    assert_eq!(rows[0]["worst_on_disk"], 24 * 36_864);
    // One raw point kept: block 5 min, back window 0, a measure every 5 min.
    assert_eq!(rows[1]["part"], "bound series");
    assert_eq!(rows[1]["worst_bytes"], 4 + 16 + 16);
    assert_eq!(rows[2]["part"], "total");
    assert_eq!(rows[2]["files"], 25);
    // Without a store, from definitions.
    let outside = TestStore::empty();
    let args = [
        "archive-policy",
        "estimate",
        "-d",
        "granularity:1m,timespan:1d",
        "-m",
        "mean",
        "-b",
        "2",
        "--interval",
        "10s",
    ];
    let rows = outside.json(&args);
    assert_eq!(rows[0]["files"], 2);
    // 2 blocks behind + the current one, of 6 measures each.
    assert_eq!(rows[1]["points"], 18);
    outside.run(&["archive-policy", "estimate"]).code(2);
}

/// `cpu` of resource web1 with two days of minutes, `lone` with one hour,
/// `gone` with two days but deleted (its data waits for the janitor).
fn store_with_a_resource() -> TestStore {
    let store = TestStore::new();
    store
        .run(&["resource", "create", "web1", "-n", "cpu:medium"])
        .success();
    store.create_metric("lone", "medium");
    store.create_metric("gone", "medium");
    let mut csv = String::from("metric,timestamp,value\n");
    for i in 0..2880_u64 {
        let t = 1_704_067_200 + 60 * i;
        // Values that do not repeat, so the archives take kibibytes.
        let value = (i * 2_654_435_761 % 100_003) as f64 / 7.0;
        csv.push_str(&format!("cpu,{t},{value}\ngone,{t},{value}\n"));
        if i < 60 {
            csv.push_str(&format!("lone,{t},{i}\n"));
        }
    }
    store.ingest_and_process(&csv);
    store.run(&["metric", "delete", "gone"]).success();
    store
}

#[test]
fn tables_show_sizes_for_people_and_metrics_with_their_resource() {
    let store = store_with_a_resource();
    let table = store.stdout(&["info"]);
    let row = |field: &str| {
        table
            .lines()
            .find(|l| l.starts_with(&format!("| {field} ")))
            .unwrap_or_else(|| panic!("no {field}: {table}"))
            .split('|')
            .nth(2)
            .unwrap()
            .trim()
            .to_owned()
    };
    let exact = store.json(&["info"]);
    let bytes = exact["archive bytes"].as_u64().unwrap();
    assert!((10_240..1_048_576).contains(&bytes), "{bytes}");
    assert_eq!(
        row("archive bytes"),
        format!("{:.0} KiB", bytes as f64 / 1024.0)
    );
    let on_disk = exact["size on disk"].as_u64().unwrap();
    assert!(on_disk > bytes);
    assert!(row("size on disk").ends_with("iB"), "{table}");
    assert!(
        table.contains(
            "| most expensive metrics                         | - metric: cpu (web1), id: "
        ),
        "{table}"
    );
    let top = exact["most expensive metrics"].as_array().unwrap();
    assert_eq!(top[0]["name"], "cpu");
    assert_eq!(top[0]["resource"], "web1");
    assert_eq!(top[1]["name"], "lone");
    assert_eq!(top[1]["resource"], serde_json::Value::Null);

    let metric = store.json(&["info", "cpu"]);
    assert_eq!(metric["resource"], "web1");
    assert!(metric["bytes"].is_u64());
    let metric_table = store.stdout(&["info", "cpu"]);
    assert!(metric_table.contains("| resource  "), "{metric_table}");
    let bytes_row = metric_table
        .lines()
        .find(|l| l.starts_with("| bytes "))
        .unwrap();
    let kib = metric["bytes"].as_u64().unwrap() as f64 / 1024.0;
    assert!((10.0..1024.0).contains(&kib), "{kib}");
    assert!(
        bytes_row.contains(&format!("| {kib:.0} KiB ")),
        "{bytes_row}"
    );
    // CSV and values keep exact bytes.
    let value = store.stdout(&["info", "-f", "value", "-c", "archive bytes"]);
    assert_eq!(value, format!("{bytes}\n"));
}

#[test]
fn deleted_metrics_are_left_out() {
    let store = store_with_a_resource();
    let info = store.json(&["info"]);
    assert_eq!(info["metrics"], 2);
    assert_eq!(info["deleted metrics"], 1);
    let names: Vec<&str> = info["most expensive metrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["cpu", "lone"]);
    // The totals are those of the two live metrics, though the deleted
    // one's files are still there.
    let cpu = store.json(&["info", "cpu"]);
    let lone = store.json(&["info", "lone"]);
    for (total, each) in [
        ("archive files", "files"),
        ("archive bytes", "bytes"),
        ("archive points", "points"),
    ] {
        assert_eq!(
            info[total].as_u64().unwrap(),
            cpu[each].as_u64().unwrap() + lone[each].as_u64().unwrap(),
            "{total}"
        );
    }
    let archive_files = tree(&store.path().join("archive"))
        .into_iter()
        .filter(|f| !f.ends_with('/'))
        .count() as u64;
    assert!(archive_files > info["archive files"].as_u64().unwrap());
    // Measures waiting for a deleted metric do not count.
    let id = store.json(&["metric", "create", "late", "-a", "low"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    store
        .run(&["measures", "add", &id, "-m", "2024-01-01T00:00:00@1"])
        .success();
    store.run(&["metric", "delete", &id]).success();
    let info = store.json(&["info"]);
    assert_eq!(info["measures waiting"], 0);
    assert_eq!(info["metrics with measures waiting"], 0);
}
