//! Operating a store: `janitor`, `sacks`, `upgrade`.

use crate::common::{TestStore, tree};

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
