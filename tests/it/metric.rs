//! `metric` through the binary.

use predicates::str::contains;

use crate::common::TestStore;

#[test]
fn create_prints_the_metric() {
    let store = TestStore::new();
    let created = store.json(&[
        "metric", "create", "cpu.util", "-a", "medium", "--unit", "%",
    ]);
    let id = created["id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok());
    assert_eq!(created["name"], "cpu.util");
    assert_eq!(created["unit"], "%");
    assert_eq!(created["archive_policy_name"], "medium");
    assert_eq!(created["resource_id"], serde_json::Value::Null);
    assert_eq!(created["creator"], "admin");
    // `show` gives GET /v1/metric/ID: the policy and the resource nested.
    let by_name = store.json(&["metric", "show", "cpu.util"]);
    let by_id = store.json(&["metric", "show", id]);
    assert_eq!(by_name, by_id);
    for key in ["id", "name", "unit", "creator", "created_by_user_id"] {
        assert_eq!(by_id[key], created[key], "{key}");
    }
    assert_eq!(by_id["archive_policy"]["name"], "medium");
    assert_eq!(by_id["archive_policy"]["back_window"], 0);
    assert_eq!(by_id["resource"], serde_json::Value::Null);
    assert!(by_id.get("archive_policy_name").is_none());
    assert_eq!(
        store.stdout(&[
            "metric",
            "show",
            id,
            "-f",
            "value",
            "-c",
            "archive_policy/name",
            "-c",
            "resource/id"
        ]),
        "medium\nNone\n"
    );
}

#[test]
fn archive_policy_rules_pick_the_policy() {
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
    assert_eq!(
        store.json(&["metric", "create", "disk.io"])["archive_policy_name"],
        "high"
    );
    assert_eq!(
        store.json(&["metric", "create", "cpu"])["archive_policy_name"],
        "low"
    );
    assert_eq!(
        store.json(&["metric", "create"])["name"],
        serde_json::Value::Null
    );
    store
        .run(&["archive-policy-rule", "delete", "default"])
        .success();
    store
        .run(&["metric", "create", "cpu"])
        .failure()
        .code(1)
        .stderr(contains(
            "No archive policy name specified and no archive policy rule found matching the metric name cpu",
        ));
    store
        .run(&["metric", "create", "x", "-a", "nope"])
        .failure()
        .stderr(contains("Archive policy nope does not exist"));
}

#[test]
fn list_and_delete() {
    let store = TestStore::new();
    let a = store.create_metric("a", "low");
    let b = store.create_metric("b", "medium");
    let list = store.json(&["metric", "list"]);
    let mut ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    ids.sort();
    let mut want = vec![a.as_str(), b.as_str()];
    want.sort();
    assert_eq!(ids, want);
    store.run(&["metric", "delete", "a"]).success();
    assert_eq!(
        store.stdout(&["metric", "list", "-f", "value", "-c", "name"]),
        "b\n"
    );
    store
        .run(&["metric", "show", &a])
        .failure()
        .stderr(contains(format!("Metric {a} does not exist")));
    store
        .run(&["metric", "delete", "nope"])
        .failure()
        .stderr(contains("Metric nope does not exist"));
}

#[test]
fn a_delete_of_several_metrics_deletes_all_or_none() {
    let store = TestStore::new();
    let a = store.create_metric("a", "low");
    store.create_metric("b", "low");
    store.create_metric("c", "low");
    store
        .run(&["metric", "delete", "a", "b", "nope"])
        .failure()
        .code(1)
        .stderr(contains("Metric nope does not exist"));
    let names = [
        "metric", "list", "-f", "value", "-c", "name", "--sort", "name:asc",
    ];
    assert_eq!(store.stdout(&names), "a\nb\nc\n");
    // Named twice, deleted once.
    store.run(&["metric", "delete", "a", &a, "b"]).success();
    assert_eq!(store.stdout(&names), "c\n");
}

#[test]
fn names_shared_by_several_metrics_need_the_id() {
    let store = TestStore::new();
    store.create_metric("dup", "low");
    store.create_metric("dup", "low");
    store
        .run(&["metric", "show", "dup"])
        .failure()
        .stderr(contains(
            "2 metrics are named dup (2 without a resource): use the metric id",
        ));
}

#[test]
fn deleted_metrics_lose_their_data_on_the_next_pass() {
    let store = TestStore::new();
    let id = store.create_metric("gone", "low");
    store
        .run(&["measures", "add", "gone", "-m", "2024-01-01T00:00:00@1"])
        .success();
    store.run(&["process"]).success();
    let metric_dir = store.path().join("archive");
    assert!(
        crate::common::tree(&metric_dir)
            .iter()
            .any(|p| p.contains(&id))
    );
    store
        .run(&["measures", "add", "gone", "-m", "2024-01-01T00:01:00@2"])
        .success();
    store.run(&["metric", "delete", &id]).success();
    let report = store.json(&["process"]);
    assert_eq!(report["expunged metrics"], 1);
    assert!(
        !crate::common::tree(&metric_dir)
            .iter()
            .any(|p| p.contains(&id))
    );
    assert_eq!(
        store.json(&["status"])["storage/total number of measures to process"],
        0
    );
    // The policy is free once the metric is gone.
    store
        .run(&["archive-policy-rule", "delete", "default"])
        .success();
    store.run(&["archive-policy", "delete", "low"]).success();
}
