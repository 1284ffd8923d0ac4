//! `carbonara max-backlog`: the store's backlog limit, kept in store.json,
//! and `measures add` and `ingest` refusing past it (exit 1, the backlog
//! and the limit named) unless `--force`.

use serde_json::json;

use crate::common::TestStore;

const FULL: &str = "3 measures are waiting to be processed, more than the store's backlog limit of 2 (carbonara max-backlog)";

fn store_json(store: &TestStore) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(store.path().join("store.json")).unwrap())
        .unwrap()
}

#[test]
fn past_the_limit_writes_are_refused_unless_forced() {
    let store = TestStore::new();
    let id = store.create_metric("cpu", "low");
    assert_eq!(
        store.json(&["max-backlog"]),
        json!({"max backlog": null, "measures waiting": 0})
    );
    assert_eq!(
        store.json(&["max-backlog", "--set", "2"]),
        json!({"max backlog": 2, "measures waiting": 0})
    );
    assert_eq!(store_json(&store)["max_backlog"], 2);
    // Changing the sacks keeps it.
    store.run(&["sacks", "--set", "4"]).success();
    assert_eq!(store_json(&store)["max_backlog"], 2);
    // Under the limit, a write is taken whole, even past it.
    let three = [
        "measures",
        "add",
        &id,
        "-m",
        "2024-01-01T00:00:00@1",
        "-m",
        "2024-01-01T00:01:00@2",
        "-m",
        "2024-01-01T00:02:00@3",
    ];
    store.run(&three).success();
    let refused = store.run(&three).code(1);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(stderr.contains(FULL), "{stderr}");
    let file = store.write_file("more.csv", "2024-01-01T00:03:00,4\n");
    let file = file.to_str().unwrap();
    let refused = store
        .run(&["ingest", "csv", "--metric", "cpu", file])
        .code(1);
    let stderr = String::from_utf8_lossy(&refused.get_output().stderr).into_owned();
    assert!(stderr.contains(FULL), "{stderr}");
    assert_eq!(store.json(&["max-backlog"])["measures waiting"], 3);
    // --force stores them.
    let mut forced = three.to_vec();
    forced.extend(["-m", "2024-01-01T00:02:30@5", "--force"]);
    store.run(&forced).success();
    store
        .run(&["ingest", "csv", "--metric", "cpu", "--force", file])
        .success();
    assert_eq!(store.json(&["max-backlog"])["measures waiting"], 8);
    // Once processed, writes are taken again.
    store.run(&["process", "--quiet"]).success();
    store
        .run(&["measures", "add", &id, "-m", "2024-01-01T00:04:00@6"])
        .success();
    assert_eq!(
        store.json(&["max-backlog", "--unset"]),
        json!({"max backlog": null, "measures waiting": 1})
    );
    assert_eq!(store_json(&store).get("max_backlog"), None);
    store.run(&three).success();
}
