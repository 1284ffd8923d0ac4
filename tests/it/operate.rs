//! Operating a store: `janitor`, `sacks`, `upgrade`.

use crate::common::{TestStore, assert_gnocchi_measures, copy_dir, read_json, stderr_of, tree};

fn has_files_of(store: &TestStore, dir: &str, id: &str) -> bool {
    tree(&store.path().join(dir)).iter().any(|p| p.contains(id))
}

#[test]
fn janitor_removes_deleted_metrics_unless_their_sack_is_busy() {
    let store = TestStore::new();
    let gone = store.create_metric("gone", "low");
    let kept = store.create_metric("kept", "low");
    for metric in ["gone", "kept"] {
        store
            .run(&["measures", "add", metric, "-m", "2024-01-01T00:00:00@1"])
            .success();
    }
    store.run(&["process"]).success();
    store
        .run(&["measures", "add", "gone", "-m", "2024-01-01T00:01:00@2"])
        .success();
    store.run(&["metric", "delete", "gone"]).success();
    // A pass holding the metric's sack: nothing is removed.
    let sack = (uuid::Uuid::parse_str(&gone).unwrap().as_u128() % 8) as u32;
    let lock = std::fs::File::create(store.path().join(format!("locks/sack-{sack}.lock"))).unwrap();
    lock.lock().unwrap();
    let report = store.json(&["janitor"]);
    assert_eq!(report["expunged metrics"], 0);
    assert_eq!(report["busy metrics"], 1);
    assert!(has_files_of(&store, "archive", &gone));
    drop(lock);
    let report = store.json(&["janitor"]);
    assert_eq!(report["expunged metrics"], 1);
    assert_eq!(report["busy metrics"], 0);
    assert!(!has_files_of(&store, "archive", &gone));
    assert!(!has_files_of(&store, "incoming", &gone));
    assert!(has_files_of(&store, "archive", &kept));
    // Forgotten by the index: the next pass has nothing left to expunge.
    assert_eq!(store.json(&["process"])["expunged metrics"], 0);
    assert_eq!(store.json(&["janitor"])["expunged metrics"], 0);
}

fn fixture() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

/// A copy of the committed format-1 store (made by its make.sh).
fn format_1_store() -> TestStore {
    let store = TestStore::empty();
    copy_dir(&fixture().join("store-format-1/store"), store.path());
    store
}

fn backlog_expected(name: &str) -> serde_json::Value {
    read_json(&fixture().join("gnocchi-backlog").join(name))
}

/// Processes the waiting batch and checks both states against Gnocchi.
fn assert_like_gnocchi(store: &TestStore, label: &str) {
    let by_name = |name: &str, _: &serde_json::Value| name.to_owned();
    assert_gnocchi_measures(
        store,
        &backlog_expected("expected-before.json"),
        by_name,
        label,
    );
    store.run(&["process"]).success();
    assert_gnocchi_measures(store, &backlog_expected("expected.json"), by_name, label);
}

#[test]
fn the_committed_format_1_store_is_upgraded() {
    let store = format_1_store();
    let assert = store.run(&["status"]).code(1);
    assert!(
        stderr_of(&assert).contains("run `carbonara upgrade`"),
        "{}",
        stderr_of(&assert)
    );
    let report = store.json(&["upgrade"]);
    assert_eq!(report["format"], 2);
    assert_eq!(report["upgraded from"], 1);
    let assert = store.run(&["upgrade", "-f", "json"]).success();
    assert!(stderr_of(&assert).contains("already of the current format 2"));
    store.run(&["verify"]).success();
    let rule = store.json(&["archive-policy-rule", "show", "generated"]);
    assert_eq!(rule["archive_policy_name"], "two-levels");
    // Format 2's index: resource types, the generic one first.
    let types = store.json(&["resource-type", "list"]);
    assert_eq!(types[0]["name"], "generic");
    assert_eq!(
        store.json(&["status"])["storage/number of metric having measures to process"],
        3
    );
    assert_like_gnocchi(&store, "format 1");
}

/// Turns a copy of the format-1 store into the pre-release format 0:
/// no `format` in store.json, sacks in the store directory.
fn format_0_store() -> TestStore {
    let store = format_1_store();
    std::fs::write(
        store.path().join("store.json"),
        r#"{"sacks": 8, "subdir_len": 2}"#,
    )
    .unwrap();
    for entry in std::fs::read_dir(store.path().join("incoming")).unwrap() {
        let sack = entry.unwrap();
        std::fs::rename(sack.path(), store.path().join(sack.file_name())).unwrap();
    }
    std::fs::remove_dir(store.path().join("incoming")).unwrap();
    store
}

#[test]
fn a_format_0_store_is_upgraded() {
    let store = format_0_store();
    let assert = store.run(&["measures", "show", "gauge-000"]).code(1);
    assert!(
        stderr_of(&assert).contains("run `carbonara upgrade`"),
        "{}",
        stderr_of(&assert)
    );
    let report = store.json(&["upgrade"]);
    assert_eq!(report["format"], 2);
    assert_eq!(report["upgraded from"], 0);
    let config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(store.path().join("store.json")).unwrap())
            .unwrap();
    assert_eq!(
        config,
        serde_json::json!({"format": 2, "sacks": 8, "subdir_len": 2})
    );
    assert!(store.path().join("incoming/incoming8-7").is_dir());
    assert!(
        !tree(store.path())
            .iter()
            .any(|p| p.starts_with("incoming8-"))
    );
    store.run(&["verify"]).success();
    assert_like_gnocchi(&store, "format 0");
}

#[test]
fn an_interrupted_upgrade_finishes_and_newer_formats_are_refused() {
    let store = format_0_store();
    // Killed in the step: some sacks already moved, format still 0.
    std::fs::create_dir(store.path().join("incoming")).unwrap();
    // (Sacks with measures: git keeps no empty directory.)
    for sack in ["incoming8-1", "incoming8-5"] {
        std::fs::rename(
            store.path().join(sack),
            store.path().join("incoming").join(sack),
        )
        .unwrap();
    }
    assert_eq!(store.json(&["upgrade"])["upgraded from"], 0);
    store.run(&["verify"]).success();
    assert_like_gnocchi(&store, "interrupted upgrade");
    std::fs::write(
        store.path().join("store.json"),
        r#"{"format": 99, "sacks": 8, "subdir_len": 2}"#,
    )
    .unwrap();
    for args in [&["upgrade"][..], &["status"][..]] {
        let assert = store.run(args).code(1);
        assert!(stderr_of(&assert).contains("written by a newer carbonara"));
    }
}

#[test]
fn sacks_change_only_without_a_backlog() {
    let store = format_1_store();
    store.run(&["upgrade"]).success();
    assert_eq!(store.json(&["sacks"])["sacks"], 8);
    let assert = store.run(&["sacks", "--set", "16"]).code(1);
    assert!(
        stderr_of(&assert).contains("3 metrics have measures waiting"),
        "{}",
        stderr_of(&assert)
    );
    // Another process has the store open.
    let lock = std::fs::File::open(store.path().join("locks/store.lock")).unwrap();
    lock.lock_shared().unwrap();
    let assert = store.run(&["sacks", "--set", "16", "--process"]).code(1);
    assert!(stderr_of(&assert).contains("another carbonara process is using the store"));
    drop(lock);
    let report = store.json(&["sacks", "--set", "16", "--process"]);
    assert_eq!(
        (report["sacks"].as_i64(), report["previous sacks"].as_i64()),
        (Some(16), Some(8))
    );
    let sacks: Vec<String> = std::fs::read_dir(store.path().join("incoming"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(sacks.len(), 16);
    assert!(sacks.iter().all(|s| s.starts_with("incoming16-")));
    assert_eq!(store.json(&["info"])["sacks"], 16);
    // Measures go to the new sacks and are processed from there.
    store
        .run(&[
            "measures",
            "add",
            "gauge-000",
            "-m",
            "2024-01-04T00:00:00@7",
        ])
        .success();
    store.run(&["verify"]).success();
    store.run(&["process"]).success();
    let last = store.json(&["measures", "show", "gauge-000", "--granularity", "60"]);
    let last = last.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["timestamp"], "2024-01-04T00:00:00+00:00");
    assert_eq!(last["value"], 7.0);
}

#[test]
fn a_sack_change_killed_on_either_side_of_its_commit_is_finished_by_the_next() {
    let store = TestStore::new();
    // Killed before the commit: new directories made, store.json still 8.
    std::fs::create_dir(store.path().join("incoming/incoming32-0")).unwrap();
    // Killed after the commit of an earlier change: old empty sacks remain.
    std::fs::create_dir(store.path().join("incoming/incoming4-3")).unwrap();
    store.run(&["verify"]).success();
    assert_eq!(store.json(&["sacks", "--set", "8"])["previous sacks"], 8);
    let sacks = tree(&store.path().join("incoming"));
    assert_eq!(sacks.len(), 8);
    assert!(sacks.iter().all(|s| s.starts_with("incoming8-")));
    store.run(&["sacks", "--set", "0"]).code(1);
}

#[test]
fn a_metric_directory_left_empty_in_a_sack_does_not_stop_a_sack_change() {
    let store = TestStore::new();
    // A pass whose removal of a processed metric's directory failed.
    let left = store
        .path()
        .join("incoming/incoming8-5/2898f837-174c-4b0e-889f-aa25898b5235");
    std::fs::create_dir(&left).unwrap();
    assert_eq!(store.json(&["sacks", "--set", "16"])["previous sacks"], 8);
    let sacks = tree(&store.path().join("incoming"));
    assert_eq!(sacks.len(), 16);
    assert!(sacks.iter().all(|s| s.starts_with("incoming16-")));
}
