//! `ingest ceilometer` against the real Ceilometer 27.0.0 publisher and
//! Gnocchi 4.7.1: each case of tests/golden/ingest/ceilometer is a list of
//! sample files, published one after the other into a real Gnocchi by
//! make_cases.py beside them; the resources, metrics and measures Gnocchi
//! then held (expected-<case>.json) must be what carbonara holds after
//! ingesting the same files.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{TestStore, read_json, strings_of};

fn cases() -> Vec<(String, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/ingest/ceilometer");
    let mut cases: Vec<(String, Value)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|name| {
            let case = name
                .strip_prefix("expected-")?
                .strip_suffix(".json")?
                .to_owned();
            Some((case, read_json(&dir.join(&name))))
        })
        .collect();
    cases.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(cases.len() >= 3);
    cases
}

fn sample_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden/ingest/ceilometer")
        .join(name)
}

#[test]
fn samples_become_what_the_real_publisher_makes() {
    for (case, expected) in cases() {
        let store = TestStore::empty();
        store
            .run(&["init", "--sacks", "8", "--no-archive-policies"])
            .success();
        for file in expected["files"].as_array().unwrap() {
            let path = sample_file(file.as_str().unwrap());
            store
                .run(&["ingest", "ceilometer", path.to_str().unwrap()])
                .success();
        }
        // Gnocchi read the measures back with ?refresh=true: one pass.
        store.run(&["process"]).success();
        let mut policies = strings_of(&store.json(&["archive-policy", "list"]), "name");
        policies.sort();
        assert_eq!(
            Value::from(policies),
            expected["archive_policies"],
            "{case}"
        );
        let listed = store.json(&["resource", "list"]);
        assert_eq!(
            listed.as_array().unwrap().len(),
            expected["resources"].as_array().unwrap().len(),
            "{case}: {listed}"
        );
        for want in expected["resources"].as_array().unwrap() {
            let id = want["id"].as_str().unwrap();
            let kind = want["type"].as_str().unwrap();
            let got = store.json(&["resource", "show", id, "-t", kind]);
            for (key, value) in want.as_object().unwrap() {
                if key == "metrics" || key == "revisions" {
                    continue;
                }
                assert_eq!(&got[key], value, "{case}: resource {id}, {key}");
            }
            let history = store.json(&["resource", "history", id, "-t", kind]);
            assert_eq!(
                history.as_array().unwrap().len() as u64,
                want["revisions"].as_u64().unwrap(),
                "{case}: {id} revisions"
            );
            let metrics = want["metrics"].as_object().unwrap();
            assert_eq!(
                got["metrics"].as_object().unwrap().len(),
                metrics.len(),
                "{case}: {id} metrics"
            );
            for (name, metric) in metrics {
                let shown = store.json(&["metric", "show", name, "--resource-id", id]);
                assert_eq!(shown["unit"], metric["unit"], "{case}: {id} {name}");
                assert_eq!(
                    shown["archive_policy"]["name"], metric["archive_policy_name"],
                    "{case}: {id} {name}"
                );
                let measures = store.json(&["measures", "show", shown["id"].as_str().unwrap()]);
                let measures: Vec<Value> = measures
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|m| serde_json::json!([m["timestamp"], m["granularity"], m["value"]]))
                    .collect();
                assert_eq!(
                    Value::from(measures),
                    metric["measures"],
                    "{case}: {id} {name}"
                );
            }
        }
    }
}
