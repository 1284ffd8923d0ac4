//! `measures add`, `measures show` and `process` through the binary.

use predicates::str::contains;
use serde_json::json;

use crate::common::TestStore;

/// A metric with 1 min × 1 day and 1 h × 7 days, the given methods.
fn store_with_metric(methods: &[&str]) -> TestStore {
    let store = TestStore::new();
    let mut args = vec![
        "archive-policy",
        "create",
        "p",
        "-d",
        "granularity:1m,timespan:1d",
        "-d",
        "granularity:1h,timespan:7d",
    ];
    for method in methods {
        args.extend(["-m", method]);
    }
    store.run(&args).success();
    store.create_metric("m", "p");
    store
}

/// `m`'s 1 min means after processing its waiting measures, one a line.
fn refreshed_minute_values(store: &TestStore) -> String {
    store.stdout(&[
        "measures",
        "show",
        "m",
        "--refresh",
        "--granularity",
        "1m",
        "-f",
        "value",
        "-c",
        "value",
    ])
}

fn rows(doc: &serde_json::Value) -> Vec<(String, f64, serde_json::Value)> {
    doc.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["timestamp"].as_str().unwrap().to_owned(),
                r["granularity"].as_f64().unwrap(),
                r["value"].clone(),
            )
        })
        .collect()
}

#[test]
fn added_measures_are_aggregated_by_process() {
    let store = store_with_metric(&["mean", "max", "count"]);
    store
        .run(&[
            "measures",
            "add",
            "m",
            "-m",
            "2024-01-01T12:00:00@3",
            "-m",
            "2024-01-01T12:00:30@5",
            "-m",
            "1704110460@10",
            "-m",
            "2024-01-01T13:01:00+01:00@2.5",
        ])
        .success();
    assert_eq!(store.json(&["measures", "show", "m"]), json!([]));
    let status = store.json(&["status"]);
    assert_eq!(
        status["storage/number of metric having measures to process"],
        1
    );
    assert_eq!(status["storage/total number of measures to process"], 4);
    // Written just now (the file names carry the second).
    let age = status["storage/age in seconds of the oldest measure to process"]
        .as_i64()
        .unwrap();
    assert!((0..60).contains(&age), "{age}");
    const PASS_RATE: &str = "metricd/measures processed per second over the last minute";
    assert_eq!(status[PASS_RATE], json!(0.0));
    let report = store.json(&["process"]);
    assert_eq!(
        (report["metrics"].clone(), report["measures"].clone()),
        (json!(1), json!(4))
    );
    // 12:01:00 is given twice (10, and 2.5 at +01:00): the smaller value wins.
    let mean = rows(&store.json(&["measures", "show", "m"]));
    assert_eq!(
        mean,
        [
            ("2024-01-01T12:00:00+00:00".to_owned(), 3600.0, json!(3.5)),
            ("2024-01-01T12:00:00+00:00".to_owned(), 60.0, json!(4.0)),
            ("2024-01-01T12:01:00+00:00".to_owned(), 60.0, json!(2.5)),
        ]
    );
    let count = rows(&store.json(&[
        "measures",
        "show",
        "m",
        "--aggregation",
        "count",
        "--granularity",
        "1h",
    ]));
    assert_eq!(
        count,
        [("2024-01-01T12:00:00+00:00".to_owned(), 3600.0, json!(3.0))]
    );
    let status = store.json(&["status"]);
    assert_eq!(status["storage/total number of measures to process"], 0);
    assert_eq!(
        status["storage/age in seconds of the oldest measure to process"],
        json!(null)
    );
    // The pass of `process` took 4 measures within the last minute.
    assert_eq!(status[PASS_RATE], json!(4.0 / 60.0));
}

#[test]
fn start_and_stop_select_buckets() {
    let store = store_with_metric(&["mean"]);
    let mut args = vec!["measures".to_owned(), "add".to_owned(), "m".to_owned()];
    for minute in 0..10 {
        args.push("-m".into());
        args.push(format!("2024-01-01T12:{minute:02}:10@{minute}"));
    }
    store
        .run(&args.iter().map(String::as_str).collect::<Vec<_>>())
        .success();
    store.run(&["process"]).success();
    let show = |extra: &[&str]| {
        let mut all = vec![
            "measures",
            "show",
            "m",
            "--granularity",
            "60",
            "-f",
            "value",
            "-c",
            "value",
        ];
        all.extend(extra);
        store.stdout(&all)
    };
    // start is rounded down to the granularity; stop is exclusive.
    assert_eq!(
        show(&[
            "--start",
            "2024-01-01T12:07:30",
            "--stop",
            "2024-01-01T12:09:00"
        ]),
        "7.0\n8.0\n"
    );
    assert_eq!(show(&["--start", "1704110940"]), "9.0\n");
    assert_eq!(show(&["--stop", "2024-01-01T12:01:00Z"]), "0.0\n");
    store
        .run(&["measures", "show", "m", "--start", "not a time"])
        .failure()
        .code(2)
        .stderr(contains("--start"));
}

#[test]
fn refresh_processes_the_metric_first() {
    let store = store_with_metric(&["mean"]);
    store.create_metric("other", "p");
    store
        .run(&["measures", "add", "m", "-m", "2024-01-01T00:00:00@4"])
        .success();
    store
        .run(&["measures", "add", "other", "-m", "2024-01-01T00:00:00@4"])
        .success();
    let values = refreshed_minute_values(&store);
    assert_eq!(values, "4.0\n");
    // Only that metric was processed.
    assert_eq!(
        store.json(&["status"])["storage/total number of measures to process"],
        1
    );
}

#[test]
fn reads_say_when_measures_wait() {
    let store = store_with_metric(&["mean"]);
    let add = |measures: &[&str]| {
        let mut args = vec!["measures", "add", "m"];
        for measure in measures {
            args.extend(["-m", measure]);
        }
        store.run(&args).success();
    };
    let show = ["measures", "show", "m", "--granularity", "1m", "-f", "csv"];
    add(&["2024-01-01T00:00:00@4", "2024-01-01T00:01:00@5"]);
    let read = store.run(&show).success();
    read.stdout("timestamp,granularity,value\n").stderr(
        "2 measures of m wait for the aggregation pass: \
         `carbonara process` or `--refresh` includes them\n",
    );
    let mut quiet = show.to_vec();
    quiet.push("-q");
    store.run(&quiet).success().stderr("");
    store.run(&["process", "-q"]).success();
    store.run(&show).success().stderr("");
    add(&["2024-01-01T00:02:00@6"]);
    store
        .run(&show)
        .success()
        .stderr(contains("1 measure of m waits for the aggregation pass"));
    let mut refresh = show.to_vec();
    refresh.push("--refresh");
    store.run(&refresh).success().stderr("");
}

#[test]
fn unknown_aggregations_and_granularities() {
    let store = store_with_metric(&["mean"]);
    store
        .run(&["measures", "show", "m", "--aggregation", "max"])
        .failure()
        .code(1)
        .stderr(contains(
            "metric m has no aggregation method max; its archive policy p has granularities 60, 3600 and method mean",
        ));
    store
        .run(&["measures", "show", "m", "--granularity", "42"])
        .failure()
        .stderr(contains(
            "metric m has no granularity 42 for mean; its archive policy p has granularities 60, 3600 and method mean",
        ));
    store
        .run(&["measures", "show", "m", "--aggregation", "avg"])
        .failure()
        .code(2);
}

#[test]
fn bad_measures_are_usage_errors_and_store_nothing() {
    let store = store_with_metric(&["mean"]);
    for bad in [
        "2024-01-01T00:00:00",
        "yesterday@1",
        "2024-01-01@x",
        "1969-12-31T00:00:00@1",
    ] {
        store
            .run(&[
                "measures",
                "add",
                "m",
                "-m",
                "2024-01-01T00:00:00@1",
                "-m",
                bad,
            ])
            .failure()
            .code(2)
            .stderr(contains(format!("--measure `{bad}`")));
    }
    assert_eq!(
        store.json(&["status"])["storage/total number of measures to process"],
        0
    );
    store
        .run(&["measures", "add", "nope", "-m", "2024-01-01T00:00:00@1"])
        .failure()
        .code(1)
        .stderr(contains("Metric nope does not exist"));
}

#[test]
fn nan_and_infinity_are_kept() {
    let store = store_with_metric(&["mean", "max", "min"]);
    store
        .run(&[
            "measures",
            "add",
            "m",
            "-m",
            "2024-01-01T00:00:00@nan",
            "-m",
            "2024-01-01T00:00:01@1",
            "-m",
            "2024-01-01T00:01:00@inf",
        ])
        .success();
    store.run(&["process"]).success();
    let show = |method: &str| {
        store.stdout(&[
            "measures",
            "show",
            "m",
            "--aggregation",
            method,
            "--granularity",
            "1m",
            "-f",
            "value",
            "-c",
            "value",
        ])
    };
    assert_eq!(show("max"), "nan\ninf\n");
    assert_eq!(show("min"), "1.0\ninf\n");
    let json = store.stdout(&["measures", "show", "m", "--granularity", "1m", "-f", "json"]);
    assert!(
        json.contains("\"value\": NaN") && json.contains("\"value\": Infinity"),
        "{json}"
    );
}

#[test]
fn bad_arguments_are_refused_before_refresh_processes() {
    let store = store_with_metric(&["mean"]);
    store
        .run(&["measures", "add", "m", "-m", "2024-01-01T00:00:00@4"])
        .success();
    store
        .run(&["measures", "show", "m", "--refresh", "--start", "soon"])
        .failure()
        .code(2)
        .stderr(contains("--start: Must be a datetime or a timestamp"));
    store
        .run(&["measures", "show", "m", "--refresh", "--resample", "1h"])
        .failure()
        .code(1)
        .stderr(contains("A granularity must be specified to resample"));
    store
        .run(&[
            "measures",
            "show",
            "m",
            "--granularity",
            "1m",
            "--resample",
            "y",
        ])
        .failure()
        .code(2)
        .stderr(contains("Unable to parse timespan"));
    assert_eq!(
        store.json(&["status"])["storage/total number of measures to process"],
        1
    );
}

#[test]
fn measures_of_a_resource_metric_by_name() {
    let store = TestStore::new();
    store
        .run(&["resource", "create", "web-1", "-n", "cpu:low"])
        .success();
    store
        .run(&[
            "measures",
            "add",
            "cpu",
            "--resource-id",
            "web-1",
            "-m",
            "2024-01-01T00:00:00@4",
            "-m",
            "2024-01-01T00:01:00@6",
        ])
        .success();
    let values = store.stdout(&[
        "measures",
        "show",
        "cpu",
        "-r",
        "web-1",
        "--refresh",
        "-f",
        "value",
        "-c",
        "value",
    ]);
    assert_eq!(values, "5.0\n");
    let id = store.json(&["metric", "show", "cpu", "-r", "web-1"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let search =
        |group: &str| store.stdout(&[group, "search", r#"{">=": 5}"#, "-m", &id, "-f", "csv"]);
    assert_eq!(search("measures"), search("metric"));
    assert_eq!(
        search("measures").lines().count(),
        2,
        "a header and the 5.0 mean"
    );
    store
        .run(&["measures", "show", "mem", "-r", "web-1"])
        .failure()
        .code(1)
        .stderr(predicates::str::contains("Metric mem does not exist"));
    store
        .run(&["measures", "show", "cpu", "-r", "web-2"])
        .failure()
        .stderr(predicates::str::contains("does not exist"));
}

#[test]
fn relative_timestamps_and_negative_values_need_no_quoting_tricks() {
    let store = store_with_metric(&["mean"]);
    store
        .run(&[
            "measures",
            "add",
            "m",
            "-m",
            "-1 minute@5",
            "-m",
            "-3 minutes@-3",
        ])
        .success();
    let values = refreshed_minute_values(&store);
    assert_eq!(values, "-3.0\n5.0\n");
}

/// Two resources with a `cpu` each, `web1`'s with a measure.
fn two_web_servers() -> TestStore {
    let store = TestStore::new();
    for resource in ["web1", "web2"] {
        store
            .run(&["resource", "create", resource, "-n", "cpu:low"])
            .success();
    }
    let add = [
        "measures",
        "add",
        "cpu",
        "-r",
        "web1",
        "-m",
        "2024-01-01T00:00:00@1",
    ];
    store
        .run(&add)
        .success()
        .stderr(contains("added 1 measure to metric "));
    store
}

#[test]
fn a_missing_resource_is_named_as_typed() {
    let store = two_web_servers();
    for args in [
        &["measures", "show", "cpu", "-r", "web3"][..],
        &["measures", "add", "cpu", "-r", "web3", "-m", "0@1"],
        &["metric", "show", "cpu", "-r", "web3"],
        &["metric", "create", "mem", "-r", "web3"],
        &["dump", "cpu", "-r", "web3"],
        &["info", "cpu", "-r", "web3"],
        &["resource", "show", "web3"],
        &["resource", "delete", "web3"],
        &["resource", "history", "web3"],
    ] {
        store
            .run(args)
            .failure()
            .code(1)
            .stderr(contains(
                "carbonara: error: resource web3 does not exist (0fee9582-12fa-53ff-8b2c-1bee1ac4cd3c)\n",
            ));
    }
    store
        .run(&["measures", "show", "mem", "-r", "web1"])
        .failure()
        .code(1)
        .stderr(contains(
            "Metric mem does not exist on resource web1; it has metric cpu\n",
        ));
}

#[test]
fn a_missing_granularity_lists_the_policy() {
    let store = two_web_servers();
    store.run(&["process", "-q"]).success();
    store
        .run(&["measures", "show", "cpu", "-r", "web1", "--granularity", "7"])
        .failure()
        .code(1)
        .stderr(contains(
            "carbonara: error: metric cpu of resource web1 has no granularity 7 for mean; \
             its archive policy low has granularity 300 and methods count, max, mean, min, std, sum\n",
        ));
    store
        .run(&[
            "measures",
            "show",
            "cpu",
            "-r",
            "web1",
            "--aggregation",
            "95pct",
        ])
        .failure()
        .code(1)
        .stderr(contains(
            "metric cpu of resource web1 has no aggregation method 95pct; its archive policy low",
        ));
}

#[test]
fn a_name_on_several_resources_asks_for_the_resource() {
    let store = two_web_servers();
    for command in ["measures", "dump", "info"] {
        let mut args = vec![command];
        if command == "measures" {
            args.push("show");
        }
        args.push("cpu");
        store.run(&args).failure().code(1).stderr(contains(
            "carbonara: error: 2 metrics are named cpu (on resources web1 and web2): \
                 name the resource with `-r web1`, or use the metric id\n",
        ));
    }
    // With `-r`, `dump` and `info` read the metric of that resource.
    let id = store.json(&["metric", "show", "cpu", "-r", "web1"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let info = store.json(&["info", "cpu", "-r", "web1"]);
    assert_eq!(info["id"], json!(id), "{info}");
    store.run(&["process", "-q"]).success();
    let dump = store.stdout(&["dump", "cpu", "-r", "web1", "--summary", "-f", "csv"]);
    assert!(
        dump.lines().skip(1).all(|line| line.contains(&id)),
        "{dump}"
    );
    assert!(dump.lines().count() > 1, "{dump}");
}
