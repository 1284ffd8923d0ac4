//! `carbonara process` says what it did and what it could not keep:
//! measures older than the back window are dropped as Gnocchi drops them,
//! but each such drop is said (per metric, named as the user named it)
//! and counted in `status` and `info`; `-q` prints nothing else.

use predicates::str::contains;

use crate::common::{TestStore, stderr_of};

/// Adds measures (`TIME@VALUE`) to `cpu` of resource `web1`.
fn add_to_cpu(store: &TestStore, measures: &[&str]) {
    let mut args = vec!["measures", "add", "cpu", "-r", "web1"];
    for measure in measures {
        args.extend(["-m", measure]);
    }
    store.run(&args).success();
}

/// `cpu` of resource `web1` under `low` (5 min, back window 0), with one
/// measure at 10:02 processed.
fn store_with_processed_cpu() -> TestStore {
    let store = TestStore::new();
    store
        .run(&["resource", "create", "web1", "-n", "cpu:low"])
        .success();
    add_to_cpu(&store, &["2024-06-01T10:02:00@1"]);
    store.run(&["process", "-q"]).success();
    store
}

fn dropped_in_status(store: &TestStore) -> serde_json::Value {
    store.json(&["status"])["storage/total number of measures dropped as older than the back window"]
        .clone()
}

#[test]
fn measures_older_than_the_back_window_are_dropped_aloud() {
    let store = store_with_processed_cpu();
    add_to_cpu(
        &store,
        &[
            "2024-06-01T09:00:00@5",
            "2024-06-01T09:30:00@6",
            "2024-06-01T09:59:59@7",
            "2024-06-01T10:07:00@3",
        ],
    );
    let assert = store.run(&["process"]).success();
    assert_eq!(
        stderr_of(&assert).lines().next(),
        Some(
            "carbonara: 3 measures of cpu (web1) older than the back window \
             (2024-06-01T10:00:00+00:00) were dropped"
        )
    );
    // The measure in time was taken.
    let means = store.json(&["measures", "show", "cpu", "-r", "web1"]);
    assert_eq!(means.as_array().unwrap().len(), 2, "{means}");
    // The drop is remembered, per metric and for the store.
    assert_eq!(dropped_in_status(&store), 3);
    let info = store.json(&["info", "cpu"]);
    assert_eq!(info["measures dropped as older than the back window"], 3);
    let store_info = store.json(&["info"]);
    assert_eq!(
        store_info["measures dropped as older than the back window"],
        3
    );

    // One more, said in the singular; the totals add up.
    add_to_cpu(&store, &["2024-06-01T08:00:00@1"]);
    store.run(&["process", "-q"]).success().stderr(contains(
        "carbonara: 1 measure of cpu (web1) older than the back window \
         (2024-06-01T10:05:00+00:00) was dropped",
    ));
    assert_eq!(dropped_in_status(&store), 4);
}

#[test]
fn quiet_passes_print_nothing() {
    let store = store_with_processed_cpu();
    add_to_cpu(&store, &["2024-06-01T10:12:00@2"]);
    store
        .run(&["process", "-q"])
        .success()
        .stdout("")
        .stderr("");
    let loud = store.run(&["process"]).success();
    assert!(
        String::from_utf8_lossy(&loud.get_output().stdout).contains("metrics"),
        "the summary table without -q"
    );
}

#[test]
fn status_leaves_out_measures_of_deleted_metrics() {
    let store = store_with_processed_cpu();
    let waiting = |store: &TestStore| {
        store.json(&["status"])["storage/total number of measures to process"].clone()
    };
    let doomed = store.create_metric("doomed", "low");
    let (first, second) = ("2024-06-01T10:00:00@1", "2024-06-01T10:01:00@2");
    store
        .run(&["measures", "add", &doomed, "-m", first, "-m", second])
        .success();
    add_to_cpu(&store, &["2024-06-01T10:12:00@2"]);
    assert_eq!(waiting(&store), 3);
    store.run(&["metric", "delete", &doomed]).success();
    assert_eq!(waiting(&store), 1);
    assert_eq!(
        store.json(&["status"])["storage/number of metric having measures to process"],
        1
    );
    assert_eq!(dropped_in_status(&store), 0);
}

/// metricd's side effect, on both index backends: a measure at or after a
/// resource's `ended_at` clears it (with a revision, as Gnocchi's
/// `update_resource(ended_at=None)`); an older one leaves it ended.
#[test]
fn a_measure_at_or_after_the_end_of_a_resource_reopens_it() {
    use crate::serve::common::{IndexBackend, empty_store_on};
    for backend in IndexBackend::ALL {
        eprintln!("on the {backend:?} index");
        let backend_store = empty_store_on(backend);
        let store = &backend_store.store;
        store
            .run(&[
                "archive-policy",
                "create",
                "p",
                "-d",
                "granularity:1m,points:100",
            ])
            .success();
        for name in ["late", "early"] {
            store
                .run(&[
                    "resource",
                    "create",
                    name,
                    "--started-at",
                    "2024-06-01T09:00:00",
                    "--ended-at",
                    "2024-06-01T10:00:00",
                    "-n",
                    "cpu:p",
                ])
                .success();
        }
        let add = |resource: &str, measure: &str| {
            store
                .run(&["measures", "add", "cpu", "-r", resource, "-m", measure])
                .success();
        };
        add("late", "2024-06-01T09:59:00@1");
        add("late", "2024-06-01T10:00:00@2");
        add("early", "2024-06-01T09:59:59@1");
        let pass = store.run(&["process"]).success();
        let said = stderr_of(&pass);
        let late = store.json(&["resource", "show", "late"]);
        let early = store.json(&["resource", "show", "early"]);
        assert_eq!(late["ended_at"], serde_json::Value::Null, "{backend:?}");
        assert_eq!(
            early["ended_at"], "2024-06-01T10:00:00+00:00",
            "{backend:?}"
        );
        let id = late["id"].as_str().unwrap();
        assert!(
            said.contains(&format!("resource {id} received a measure")),
            "{backend:?}: {said}"
        );
        assert!(!said.contains(early["id"].as_str().unwrap()), "{said}");
        let history = store.json(&["resource", "history", "late"]);
        assert_eq!(history.as_array().unwrap().len(), 2, "{backend:?}");
        assert_eq!(history[0]["ended_at"], "2024-06-01T10:00:00+00:00");
        assert_eq!(history[1]["ended_at"], serde_json::Value::Null);
    }
}
