//! `archive-policy` and `archive-policy-rule` through the binary.

use predicates::str::contains;

use crate::common::TestStore;

#[test]
fn init_creates_gnocchis_default_policies_and_rule() {
    let store = TestStore::new();
    let names = store.stdout(&["archive-policy", "list", "-f", "value", "-c", "name"]);
    assert_eq!(names, "bool\nhigh\nlow\nmedium\n");
    let medium = store.json(&["archive-policy", "show", "medium"]);
    assert_eq!(medium["back_window"], 0);
    assert_eq!(medium["definition"][0]["granularity"], "0:01:00");
    assert_eq!(medium["definition"][0]["points"], 10080);
    assert_eq!(medium["definition"][1]["timespan"], "365 days, 0:00:00");
    assert_eq!(
        medium["aggregation_methods"],
        serde_json::json!(["count", "max", "mean", "min", "std", "sum"])
    );
    let rules = store.json(&["archive-policy-rule", "list"]);
    assert_eq!(
        rules,
        serde_json::json!([{"name": "default", "metric_pattern": "*", "archive_policy_name": "low"}])
    );
}

#[test]
fn init_without_policies_and_twice() {
    let store = TestStore::empty();
    store.run(&["init", "--no-archive-policies"]).success();
    assert_eq!(store.stdout(&["archive-policy", "list", "-f", "value"]), "");
    store
        .run(&["init"])
        .failure()
        .code(1)
        .stderr(contains("is already a carbonara store"));
}

#[test]
fn create_show_update_delete() {
    let store = TestStore::new();
    let created = store.json(&[
        "archive-policy",
        "create",
        "fine",
        "-d",
        "granularity:1s,timespan:1h",
        "-d",
        "points:60,timespan:1h",
        "-b",
        "2",
        "-m",
        "mean",
        "-m",
        "95pct",
        "-m",
        "rate:last",
    ]);
    assert_eq!(created["back_window"], 2);
    assert_eq!(created["definition"][1]["granularity"], "0:01:00");
    assert_eq!(
        created["aggregation_methods"],
        serde_json::json!(["95pct", "mean", "rate:last"])
    );
    let relative = store.json(&[
        "archive-policy",
        "create",
        "rel",
        "-d",
        "granularity:5m,points:12",
        "-m",
        "-std",
        "-m",
        "+last",
    ]);
    assert_eq!(
        relative["aggregation_methods"],
        serde_json::json!(["count", "last", "max", "mean", "min", "sum"])
    );
    let updated = store.json(&[
        "archive-policy",
        "update",
        "fine",
        "-d",
        "granularity:1s,points:7200",
        "-d",
        "granularity:60,points:10",
    ]);
    assert_eq!(updated["definition"][0]["timespan"], "2:00:00");
    assert_eq!(updated["back_window"], 2);
    store
        .run(&[
            "archive-policy",
            "update",
            "fine",
            "-d",
            "granularity:2s,points:10",
            "-d",
            "granularity:60,points:10",
        ])
        .failure()
        .stderr(contains(
            "Archive policy fine does not support change: 1.0 granularity interval was changed",
        ));
    store
        .run(&[
            "archive-policy",
            "update",
            "fine",
            "-d",
            "granularity:1s,points:10",
        ])
        .failure()
        .stderr(contains("Cannot add or drop granularities"));
    store.run(&["archive-policy", "delete", "fine"]).success();
    store
        .run(&["archive-policy", "show", "fine"])
        .failure()
        .code(1)
        .stderr(contains("Archive policy fine does not exist"));
}

#[test]
fn invalid_policies_are_refused_with_gnocchis_messages() {
    let store = TestStore::new();
    let refuse = |args: &[&str], message: &str| {
        let mut all = vec!["archive-policy", "create", "p"];
        all.extend(args);
        let assert = store.run(&all).failure();
        let stderr = crate::common::stderr_of(&assert);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    };
    refuse(
        &["-d", "granularity:1m,timespan:30s"],
        "Calculated number of points is < 0",
    );
    refuse(
        &["-d", "granularity:1m,points:10,timespan:1h"],
        "timespan ≠ granularity × points",
    );
    refuse(
        &["-d", "points:10"],
        "At least two of granularity/points/timespan must be provided",
    );
    refuse(
        &["-d", "granularity:1m,points:0"],
        "Number of points should be > 0",
    );
    refuse(
        &["-d", "granularity:1m", "-d", "granularity:60s,points:3"],
        "More than one archive policy uses granularity `60.0'",
    );
    refuse(
        &["-d", "granularity:1m", "-m", "avg"],
        "Invalid aggregation method `avg'",
    );
    refuse(&["-d", "granularity:1 month"], "Unable to parse timespan");
    refuse(
        &["-d", "granularity:1m", "-m", "mean", "-m", "+max"],
        "Invalid value for aggregation_methods",
    );
    store
        .run(&["archive-policy", "create", "low", "-d", "granularity:1m"])
        .failure()
        .stderr(contains("Archive policy low already exists"));
    // Bad definitions are argument errors.
    store
        .run(&["archive-policy", "create", "p", "-d", "granularity=1m"])
        .failure()
        .code(2);
}

#[test]
fn policies_in_use_are_kept() {
    let store = TestStore::new();
    store.create_metric("cpu", "medium");
    store
        .run(&["archive-policy", "delete", "medium"])
        .failure()
        .stderr(contains("Archive policy medium is still in use"));
    store
        .run(&["archive-policy", "delete", "low"])
        .failure()
        .stderr(contains("Archive policy low is still in use"));
    store
        .run(&["archive-policy-rule", "delete", "default"])
        .success();
    store.run(&["archive-policy", "delete", "low"]).success();
}

#[test]
fn rules_are_listed_in_matching_order() {
    let store = TestStore::new();
    store
        .run(&[
            "archive-policy-rule",
            "create",
            "disk",
            "-a",
            "high",
            "-m",
            "disk.*",
        ])
        .success();
    store
        .run(&[
            "archive-policy-rule",
            "create",
            "disk-io",
            "--archive-policy-name",
            "medium",
            "--metric-pattern",
            "disk.io.*",
        ])
        .success();
    let names = store.stdout(&["archive-policy-rule", "list", "-f", "value", "-c", "name"]);
    assert_eq!(names, "disk-io\ndisk\ndefault\n");
    let rule = store.json(&["archive-policy-rule", "show", "disk"]);
    assert_eq!(rule["metric_pattern"], "disk.*");
    store
        .run(&[
            "archive-policy-rule",
            "create",
            "disk",
            "-a",
            "low",
            "-m",
            "x",
        ])
        .failure()
        .stderr(contains("Archive policy rule disk already exists"));
    store
        .run(&[
            "archive-policy-rule",
            "create",
            "x",
            "-a",
            "nope",
            "-m",
            "x",
        ])
        .failure()
        .stderr(contains("Archive policy nope does not exist"));
    store
        .run(&["archive-policy-rule", "delete", "disk"])
        .success();
    store
        .run(&["archive-policy-rule", "show", "disk"])
        .failure()
        .stderr(contains("Archive policy rule disk does not exist"));
}

#[test]
fn a_rule_that_can_never_match_is_warned_of() {
    let store = TestStore::new();
    // `default` (* → low) exists; equal patterns are tried by name.
    let assert = store
        .run(&[
            "archive-policy-rule",
            "create",
            "star",
            "-a",
            "high",
            "-m",
            "*",
        ])
        .success();
    let stderr = crate::common::stderr_of(&assert);
    assert_eq!(
        stderr,
        "carbonara: warning: rule star (* → high) will never match: \
         rule default (* → low) is tried first\n"
    );
    // The rule is created all the same, and new metrics still get `low`.
    let metric = store.json(&["metric", "create", "cpu"]);
    assert_eq!(metric["archive_policy_name"], "low");
    // The other way round: a new rule that hides an existing one.
    store
        .run(&[
            "archive-policy-rule",
            "create",
            "all",
            "-a",
            "medium",
            "-m",
            "*",
        ])
        .success()
        .stderr(contains(
            "rule default (* → low) will never match: rule all (* → medium) is tried first",
        ));
    // A rule that matches names no other rule takes: no warning.
    store
        .run(&[
            "archive-policy-rule",
            "create",
            "disks",
            "-a",
            "high",
            "-m",
            "disk.*",
        ])
        .success()
        .stderr("");
}

/// The points stored in a metric's `agg_max` splits, by split file name.
fn stored_max_splits(store: &TestStore, metric: &str) -> Vec<(String, usize)> {
    let mut splits: Vec<(String, usize)> = crate::crash::archive_snapshot(store.path())
        .into_iter()
        .filter_map(|(path, bytes)| {
            let name = path.split_once(&format!("{metric}/agg_max/"))?.1.to_owned();
            let key = carbonara::carbonara::SplitKey::parse_file_name(&name)?;
            let points = carbonara::carbonara::codec::decode_split(key, &bytes).unwrap();
            Some((name, points.len()))
        })
        .collect();
    splits.sort();
    splits
}

/// A shorter timespan: the update says how many points reads leave out
/// from now on; on disk, as in Gnocchi, a metric's splits go only when a
/// pass moves its first block to another split: a metric that receives no
/// measure, or measures within the same split, keeps them.
#[test]
fn a_shorter_timespan_cuts_reads_at_once_and_splits_as_gnocchi_does() {
    let store = TestStore::new();
    store
        .run(&[
            "archive-policy",
            "create",
            "p",
            "-d",
            "granularity:60s,points:1000",
            "-m",
            "max",
        ])
        .success();
    let m = store.create_metric("m", "p");
    store.create_metric("idle", "p");
    let minute = |i: u64| format!("m,{},{i}\n", 1_704_067_200 + i * 60);
    let mut csv = String::from("metric,timestamp,value\n");
    (0..600).for_each(|i| csv.push_str(&minute(i)));
    store.ingest_and_process(&csv);
    let read = |store: &TestStore| {
        store
            .stdout(&[
                "measures",
                "show",
                &m,
                "--aggregation",
                "max",
                "-f",
                "value",
                "-c",
                "value",
            ])
            .lines()
            .count()
    };
    assert_eq!(read(&store), 600);

    let updated = store
        .run(&[
            "archive-policy",
            "update",
            "p",
            "-d",
            "granularity:60s,points:100",
        ])
        .success();
    assert_eq!(
        crate::common::stderr_of(&updated),
        "archive policy p: 500 points of 1 metric are now beyond its timespans: reads leave \
         them out, and each metric's passes delete their splits as Gnocchi's do\n"
    );
    assert_eq!(read(&store), 100);
    let split = "1704024000.0_60.0_v3".to_owned();
    assert_eq!(stored_max_splits(&store, &m), [(split.clone(), 600)]);
    // A new measure in the same split: the split keeps its old points.
    store.ingest_and_process(&format!("metric,timestamp,value\n{}", minute(600)));
    assert_eq!(read(&store), 100);
    assert_eq!(stored_max_splits(&store, &m), [(split, 601)]);
    // One in the next split: the first block moved, the old split goes.
    store.ingest_and_process(&format!("metric,timestamp,value\n{}", minute(4000)));
    assert_eq!(read(&store), 1);
    assert_eq!(
        stored_max_splits(&store, &m),
        [("1704240000.0_60.0_v3".to_owned(), 1)]
    );
    // Longer again: nothing left out, nothing said.
    let longer = store
        .run(&[
            "archive-policy",
            "update",
            "p",
            "-d",
            "granularity:60s,points:5000",
        ])
        .success();
    assert_eq!(crate::common::stderr_of(&longer), "");
}
