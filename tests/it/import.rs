//! `carbonara import-gnocchi` on stores the real Gnocchi 4.7.1 wrote: the
//! adopted metrics then give exactly what Gnocchi gives, before and after
//! their waiting measures are processed.

use std::path::Path;

use crate::common::{
    TestStore, assert_gnocchi_measures, golden_cases, read_json, stderr_of, strings_of, tree,
};
use crate::dump::backlog_case;

fn by_id(_: &str, metric: &serde_json::Value) -> String {
    metric["id"].as_str().unwrap().to_owned()
}

fn import(store: &TestStore, dir: &Path, policy: &str) -> assert_cmd::assert::Assert {
    store.run(&[
        "import-gnocchi",
        dir.to_str().unwrap(),
        "-a",
        policy,
        "-f",
        "json",
    ])
}

/// No metric, no archive file, no measure: a refused import left nothing.
fn assert_nothing_adopted(store: &TestStore) {
    assert!(
        store
            .json(&["metric", "list"])
            .as_array()
            .unwrap()
            .is_empty()
    );
    assert!(tree(&store.path().join("archive")).is_empty());
    let status = store.json(&["status"]);
    assert_eq!(status["storage/total number of measures to process"], 0);
}

#[test]
fn a_store_with_a_backlog_is_adopted_to_the_bit() {
    let case = backlog_case();
    // Another number of sacks than Gnocchi's 8: measures are placed anew.
    let store = TestStore::empty();
    store
        .run(&["init", "--sacks", "5", "--no-archive-policies"])
        .success();
    store.create_policy(&read_json(&case.join("policy.json")));
    let report = import(&store, &case.join("gnocchi"), "two-levels").success();
    let report: serde_json::Value = serde_json::from_slice(&report.get_output().stdout).unwrap();
    assert_eq!(report["metrics"], 3);
    assert_eq!(report["archive files"], 39);
    assert_eq!(report["measure files"], 3);
    let ids = strings_of(&store.json(&["metric", "list"]), "id");
    let expected = read_json(&case.join("expected-before.json"));
    let mut want: Vec<String> = expected["metrics"]
        .as_object()
        .unwrap()
        .values()
        .map(|m| by_id("", m))
        .collect();
    want.sort();
    assert_eq!(ids, want, "ids kept");
    assert_eq!(
        store.json(&["status"])["storage/total number of measures to process"],
        report["measures"]
    );
    // Gnocchi's bytes, in carbonara's layout.
    let gauge = "6ca28ecb-eee3-5ee2-97cd-176c16849311";
    let theirs = case
        .join("gnocchi/6c/a2/8e/cb/ee/e3/5e/e2/97/cd/17/6c/16/84/93/11")
        .join(gauge);
    let ours = store
        .path()
        .join("archive/6c/a2/8e/cb/ee/e3/5e/e2/97/cd/17/6c/16/84/93/11")
        .join(gauge);
    for file in tree(&theirs).iter().filter(|f| !f.ends_with('/')) {
        assert_eq!(
            std::fs::read(ours.join(file)).unwrap(),
            std::fs::read(theirs.join(file)).unwrap(),
            "{file}"
        );
    }
    store.run(&["verify"]).success();
    assert_gnocchi_measures(&store, &expected, by_id, "before processing");
    store.run(&["process"]).success();
    let after = read_json(&case.join("expected.json"));
    assert_gnocchi_measures(&store, &after, by_id, "after processing");
    // Twice: refused, the metrics exist.
    let again = import(&store, &case.join("gnocchi"), "two-levels").code(1);
    assert!(stderr_of(&again).contains("already exists in the store"));
}

#[test]
fn every_golden_store_is_adopted() {
    for case in golden_cases() {
        let store = TestStore::empty();
        store.run(&["init", "--no-archive-policies"]).success();
        let policy = store.create_policy(&read_json(&case.join("policy.json")));
        import(&store, &case.join("gnocchi-store"), &policy.name).success();
        let expected = read_json(&case.join("expected.json"));
        let label = case.display().to_string();
        assert_gnocchi_measures(&store, &expected, by_id, &label);
        store.run(&["verify"]).success();
    }
}

#[test]
fn a_policy_that_does_not_fit_is_refused_and_nothing_adopted() {
    let case = backlog_case().join("gnocchi");
    let store = TestStore::new();
    // low: 5 min only, six methods without rate:sum.
    let assert = import(&store, &case, "low").code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("does not fit archive policy low: it has method `rate:sum`; the policy has count, max, mean, min, std, sum"),
        "{stderr}"
    );
    store
        .run(&[
            "archive-policy",
            "create",
            "minutes",
            "-d",
            "granularity:1m,timespan:1d",
            "-m",
            "count",
            "-m",
            "max",
            "-m",
            "mean",
            "-m",
            "rate:sum",
        ])
        .success();
    let assert = import(&store, &case, "minutes").code(1);
    let stderr = stderr_of(&assert);
    assert!(
        stderr.contains("it has splits of granularity 3600.0; the policy has 60.0"),
        "{stderr}"
    );
    assert_nothing_adopted(&store);
    // A corrupt file stops the import whole.
    let copy = store.path().join("copy");
    crate::common::copy_dir(&case, &copy);
    let victim = copy.join("incoming8-4/77d8faa8-e020-5f58-b978-fe4e5a373244");
    let file = std::fs::read_dir(&victim)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    std::fs::write(&file, [1u8; 20]).unwrap();
    store.create_policy(&read_json(&backlog_case().join("policy.json")));
    let assert = import(&store, &copy, "two-levels").code(1);
    assert!(stderr_of(&assert).contains("77d8faa8-e020-5f58-b978-fe4e5a373244"));
    assert_nothing_adopted(&store);
}
