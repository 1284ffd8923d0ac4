//! `measures delete`: deleting a time range of a metric's aggregates and
//! raw points through the binary, its refusals, and a kill during it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{TestStore, copy_dir, stderr_of, tree};
use crate::crash::{archive_snapshot, run_ok, spawn};
use crate::redis::RedisServer;

/// A metric `m` under 1 min × 1 day and 1 h × 7 days (mean and count,
/// back window 5, so the bound series keeps every raw point below), with
/// a measure every 10 min from 11:00 to 14:50 processed.
fn store_with_day() -> (TestStore, String) {
    let store = TestStore::new();
    let id = with_day(&store);
    (store, id)
}

/// [`store_with_day`]'s metric in `store`; its id.
fn with_day(store: &TestStore) -> String {
    store
        .run(&[
            "archive-policy",
            "create",
            "p",
            "-b",
            "5",
            "-d",
            "granularity:1m,timespan:1d",
            "-d",
            "granularity:1h,timespan:7d",
            "-m",
            "mean",
            "-m",
            "count",
        ])
        .success();
    let id = store.create_metric("m", "p");
    let mut csv = String::from("metric,timestamp,value\n");
    for i in 0..24 {
        csv.push_str(&format!(
            "m,2024-01-01T{:02}:{:02}:00,{i}\n",
            11 + i / 6,
            (i % 6) * 10
        ));
    }
    store.ingest_and_process(&csv);
    id
}

/// `m`'s mean aggregates of one granularity: (timestamp, value).
fn means(store: &TestStore, granularity: &str) -> Vec<(String, f64)> {
    let doc = store.json(&["measures", "show", "m", "--granularity", granularity]);
    doc.as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["timestamp"].as_str().unwrap()[11..16].to_owned(),
                row["value"].as_f64().unwrap(),
            )
        })
        .collect()
}

/// `measures delete m EXTRA…`.
fn delete_args<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["measures", "delete", "m"];
    args.extend(extra);
    args
}

fn delete(store: &TestStore, extra: &[&str]) -> Value {
    store.json(&delete_args(extra))
}

/// The points of each (aggregation, granularity) of a `-f json` answer.
fn removed(doc: &Value) -> Vec<(String, f64, u64)> {
    doc["aggregates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["aggregation"].as_str().unwrap().to_owned(),
                a["granularity"].as_f64().unwrap(),
                a["points"].as_u64().unwrap(),
            )
        })
        .collect()
}

const NOON: &str = "2024-01-01T12:00:00";
const ONE: &str = "2024-01-01T13:00:00";

#[test]
fn a_range_goes_at_every_granularity_with_its_raw_points() {
    let (store, _) = store_with_day();
    // Waiting measures are aggregated first, then deleted with the rest.
    store
        .run(&["measures", "add", "m", "-m", "2024-01-01T12:45:00@99"])
        .success();
    let doc = delete(&store, &["--start", NOON, "--stop", ONE]);
    assert_eq!(
        removed(&doc),
        [
            ("count".to_owned(), 3600.0, 1),
            ("mean".to_owned(), 3600.0, 1),
            ("count".to_owned(), 60.0, 7),
            ("mean".to_owned(), 60.0, 7),
        ]
    );
    assert_eq!(doc["raw_points"], 7);
    assert_eq!(doc["dry_run"], false);
    assert_eq!(doc["start"], "2024-01-01T12:00:00+00:00");
    assert_eq!(doc["stop"], "2024-01-01T13:00:00+00:00");
    let hours: Vec<String> = means(&store, "1h").into_iter().map(|(t, _)| t).collect();
    assert_eq!(hours, ["11:00", "13:00", "14:00"]);
    let minutes = means(&store, "1m");
    assert_eq!(minutes.len(), 18);
    assert!(minutes.iter().all(|(t, _)| !t.starts_with("12:")));
    // The raw points went too: a new measure in the range makes the hour
    // of itself alone.
    store
        .run(&["measures", "add", "m", "-m", "2024-01-01T12:20:00@100"])
        .success();
    store.run(&["process"]).success();
    assert!(means(&store, "1h").contains(&("12:00".to_owned(), 100.0)));
    store.run(&["verify"]).success();
}

#[test]
fn the_table_lists_each_method_and_granularity_and_the_raw_points() {
    let (store, _) = store_with_day();
    let table = store.stdout(&delete_args(&[
        "--start",
        NOON,
        "--stop",
        "2024-01-01T12:30:00",
        "--granularity",
        "1m",
    ]));
    assert_eq!(
        table,
        "\
+-------------+-------------+--------+
| aggregation | granularity | points |
+-------------+-------------+--------+
| count       | 60.0        | 3      |
| mean        | 60.0        | 3      |
| raw         | None        | 3      |
+-------------+-------------+--------+
"
    );
    // The hour was not named: it keeps its aggregate of the deleted points.
    assert!(means(&store, "1h").contains(&("12:00".to_owned(), 8.5)));
}

#[test]
fn a_dry_run_counts_and_changes_nothing() {
    let (store, _) = store_with_day();
    let before = archive_snapshot(store.path());
    let assert = store
        .run(&delete_args(&[
            "--start",
            NOON,
            "--stop",
            ONE,
            "--dry-run",
            "-f",
            "csv",
        ]))
        .success();
    let out = String::from_utf8(assert.get_output().stdout.clone()).unwrap();
    assert_eq!(
        out,
        "aggregation,granularity,points\ncount,3600.0,1\nmean,3600.0,1\ncount,60.0,6\nmean,60.0,6\nraw,,6\n"
    );
    assert!(stderr_of(&assert).contains("dry run: nothing was deleted"));
    assert!(archive_snapshot(store.path()) == before, "archive changed");
}

#[test]
fn an_empty_range_deletes_nothing_and_says_so() {
    let (store, _) = store_with_day();
    let before = archive_snapshot(store.path());
    let args = [
        "measures",
        "delete",
        "m",
        "--start",
        "2024-01-02T00:00:00",
        "--stop",
        "2024-01-02T01:00:00",
        "-f",
        "json",
    ];
    let assert = store.run(&args).success();
    assert_eq!(
        stderr_of(&assert),
        "nothing to delete between 2024-01-02T00:00:00+00:00 and 2024-01-02T01:00:00+00:00\n"
    );
    let doc: Value = serde_json::from_slice(&assert.get_output().stdout).unwrap();
    assert!(removed(&doc).iter().all(|&(_, _, n)| n == 0));
    assert_eq!(doc["raw_points"], 0);
    assert!(archive_snapshot(store.path()) == before, "archive changed");
}

#[test]
fn splits_left_empty_are_deleted() {
    let store = TestStore::new();
    store
        .run(&[
            "archive-policy",
            "create",
            "s",
            "-d",
            "granularity:1s,timespan:1d",
            "-m",
            "mean",
        ])
        .success();
    let id = store.create_metric("m", "s");
    // 1 s splits hold an hour each: 12:00 and 13:00, and the bound series
    // keeps the newest second only.
    store.ingest_and_process(
        "metric,timestamp,value\nm,2024-01-01T12:00:00,1\nm,2024-01-01T12:00:01,2\nm,2024-01-01T13:00:00,3\n",
    );
    let splits = || -> Vec<String> {
        tree(&store.path().join("archive"))
            .into_iter()
            .filter(|p| p.contains(&id) && p.ends_with("_1.0_v3"))
            .map(|p| p.rsplit('/').next().unwrap().to_owned())
            .collect()
    };
    assert_eq!(splits(), ["1704110400.0_1.0_v3", "1704114000.0_1.0_v3"]);
    let doc = delete(&store, &["--start", NOON, "--stop", ONE]);
    assert_eq!(removed(&doc), [("mean".to_owned(), 1.0, 2)]);
    assert_eq!(splits(), ["1704114000.0_1.0_v3"]);
    store.run(&["verify"]).success();
}

/// Runs `measures delete m ARGS` expecting a refusal: its exit code and
/// message.
fn refused(store: &TestStore, extra: &[&str]) -> (i32, String) {
    let assert = store.run(&delete_args(extra)).failure();
    let code = assert.get_output().status.code().unwrap();
    (code, stderr_of(&assert))
}

#[test]
fn bad_ranges_and_granularities_are_refused() {
    let (store, _) = store_with_day();
    let before = archive_snapshot(store.path());
    assert_eq!(
        refused(&store, &["--start", NOON, "--stop", "2024-01-01T12:30:00"]),
        (
            1,
            "carbonara: error: --stop 2024-01-01T12:30:00+00:00 is not aligned to granularity 3600.0: \
             the nearest aligned stop is 2024-01-01T12:00:00+00:00 or 2024-01-01T13:00:00+00:00\n"
                .to_owned()
        )
    );
    assert_eq!(
        refused(&store, &["--start", ONE, "--stop", NOON]),
        (
            1,
            "carbonara: error: --stop 2024-01-01T12:00:00+00:00 must be after --start 2024-01-01T13:00:00+00:00\n"
                .to_owned()
        )
    );
    assert_eq!(
        refused(
            &store,
            &["--start", NOON, "--stop", ONE, "--granularity", "5min"]
        ),
        (
            1,
            "carbonara: error: granularity 300.0 is not in archive policy p (its granularities: 3600.0, 60.0)\n"
                .to_owned()
        )
    );
    let (code, message) = refused(
        &store,
        &[
            "--start",
            "2024-01-01T00:00:00",
            "--stop",
            "2024-01-02T00:00:00",
            "--dry-run",
        ],
    );
    assert_eq!(code, 1);
    assert!(
        message.contains("the range holds every raw point of the bound series"),
        "{message}"
    );
    let (code, message) = refused(&store, &["--start", "yesterday-ish", "--stop", ONE]);
    assert_eq!(code, 2);
    assert!(message.contains("--start"), "{message}");
    assert!(archive_snapshot(store.path()) == before, "archive changed");
}

#[test]
fn a_metric_being_processed_elsewhere_is_busy() {
    let (store, id) = store_with_day();
    let sack = (uuid::Uuid::parse_str(&id).unwrap().as_u128() % 8) as u32;
    let lock = std::fs::File::create(store.path().join(format!("locks/sack-{sack}.lock"))).unwrap();
    lock.lock().unwrap();
    let started = Instant::now();
    let (code, message) = refused(
        &store,
        &["--start", NOON, "--stop", ONE, "--operation-timeout", "0.3"],
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(
        (code, message),
        (
            1,
            format!(
                "carbonara: error: metric {id} is being processed by another process: try again later\n"
            )
        )
    );
    drop(lock);
    let doc = delete(&store, &["--start", NOON, "--stop", ONE]);
    assert_eq!(doc["raw_points"], 6);
}

/// A metric under `high` (1 s × 1 h, 1 min × 1 week, 1 h × 1 year) with
/// 8 hours of a measure a second, processed.
fn store_with_seconds() -> TestStore {
    let store = TestStore::new();
    store.create_metric("m", "high");
    let mut csv = String::from("metric,timestamp,value\n");
    for i in 0..8 * 3600 {
        csv.push_str(&format!("m,{},{}\n", 1_704_067_200 + i, i % 97));
    }
    store.ingest_and_process(&csv);
    store
}

#[test]
fn a_killed_delete_leaves_the_old_archive_or_the_new_one() {
    const ARGS: [&str; 7] = [
        "measures",
        "delete",
        "m",
        "--start",
        "2024-01-01T01:00:00",
        "--stop",
        "2024-01-01T06:00:00",
    ];
    let template = store_with_seconds();
    let before = archive_snapshot(template.path());
    let reference = tempfile::tempdir().unwrap();
    copy_dir(template.path(), reference.path());
    let started = Instant::now();
    run_ok(reference.path(), &ARGS);
    let duration = started.elapsed();
    let after = archive_snapshot(reference.path());
    assert!(after != before, "the delete changed nothing");

    for attempt in 0..8u32 {
        let victim = tempfile::tempdir().unwrap();
        copy_dir(template.path(), victim.path());
        let mut child = spawn(victim.path(), &ARGS);
        std::thread::sleep(duration * ((attempt * 5 + 3) % 8) / 8);
        let _ = child.kill();
        child.wait().unwrap();
        // Any command finishes a committed journal first.
        run_ok(victim.path(), &["verify"]);
        let got = archive_snapshot(victim.path());
        assert!(
            got == before || got == after,
            "attempt {attempt}: the archive is neither the old one nor the new one"
        );
        // Deleting again converges to the uninterrupted result.
        run_ok(victim.path(), &ARGS);
        assert!(
            archive_snapshot(victim.path()) == after,
            "attempt {attempt}: archive differs after the rerun"
        );
    }
}

#[test]
fn deleting_by_resource_and_metric_name() {
    let (store, id) = store_with_day();
    store
        .run(&["resource", "create", "web1", "-m", &format!("cpu:{id}")])
        .success();
    let doc = store.json(&[
        "measures",
        "delete",
        "cpu",
        "-r",
        "web1",
        "--start",
        NOON,
        "--stop",
        ONE,
        "--dry-run",
    ]);
    assert_eq!(doc["raw_points"], json!(6));
    assert_eq!(doc["dry_run"], json!(true));
}

#[test]
fn on_redis_storage_the_same_points_go() {
    let redis = RedisServer::start();
    let on_redis = TestStore::empty();
    let storage = format!("{}?db=1", redis.url());
    on_redis
        .run(&["init", "--sacks", "8", "--storage", &storage])
        .success();
    with_day(&on_redis);
    let (on_files, _) = store_with_day();
    for store in [&on_redis, &on_files] {
        delete(store, &["--start", NOON, "--stop", ONE]);
        store.run(&["verify"]).success();
    }
    for granularity in ["1m", "1h"] {
        assert_eq!(means(&on_redis, granularity), means(&on_files, granularity));
    }
    assert_eq!(means(&on_redis, "1h").len(), 3);
}
