//! Every golden case made by the real Gnocchi 4.7.1 (tests/golden/cases): the
//! same aggregates to the bit and byte-identical archive files.

use std::collections::BTreeMap;
use std::path::Path;

use carbonara::ingest::{self, csv};
use carbonara::policy::AggregationMethod;
use carbonara::process::{self, ProcessOptions};
use carbonara::query::{MeasuresQuery, get_measures};
use carbonara::store::{Index, Metric, MetricStatus, Store};
use carbonara::time::{Span, Timestamp};
use uuid::Uuid;

use crate::common::{
    assert_gnocchi_measures, batch_files, expected_value, golden_cases, policy_from_json,
    read_json, tree,
};

/// Replays a case through the library; returns the store and metric ids.
fn replay(case: &Path, root: &Path) -> (Store, BTreeMap<String, Uuid>) {
    let store = Store::init(root, 128).unwrap();
    let index: Index = store.index().unwrap();
    let policy = policy_from_json(&read_json(&case.join("policy.json")));
    index.create_archive_policy(&policy).unwrap();
    let mut ids = BTreeMap::new();
    for batch_path in batch_files(case) {
        let options = csv::CsvOptions::new(
            csv::MetricSource::Column(csv::Column::Name("metric".into())),
            Timestamp::EPOCH,
        );
        let file = std::fs::File::open(&batch_path).unwrap();
        let mut batch = ingest::MeasureBatch::default();
        csv::read(file, &batch_path, &options, &mut batch).unwrap();
        for name in batch.measures.keys() {
            ids.entry(name.clone()).or_insert_with(|| {
                let metric = Metric {
                    id: Uuid::new_v4(),
                    name: Some(name.clone()),
                    unit: None,
                    archive_policy_name: policy.name.clone(),
                    creator: "admin".into(),
                    resource_id: None,
                    status: MetricStatus::Active,
                };
                index.create_metric(&metric).unwrap();
                metric.id
            });
        }
        ingest::store_batch(&store, &index, &batch, Timestamp::EPOCH).unwrap();
        let report = process::run_pass(&store, &index, &ProcessOptions::default()).unwrap();
        assert!(report.failures.is_empty(), "{:?}", report.failures);
    }
    (store, ids)
}

#[test]
fn aggregates_equal_gnocchis_to_the_bit() {
    for case in golden_cases() {
        let dir = tempfile::tempdir().unwrap();
        let (store, ids) = replay(&case, dir.path());
        let index = store.index().unwrap();
        let expected = read_json(&case.join("expected.json"));
        let policy = policy_from_json(&read_json(&case.join("policy.json")));
        for (name, metric) in expected["metrics"].as_object().unwrap() {
            for (method, by_granularity) in metric["measures"].as_object().unwrap() {
                for (granularity, want) in by_granularity.as_object().unwrap() {
                    let query = MeasuresQuery {
                        aggregation: method.parse::<AggregationMethod>().unwrap(),
                        granularity: Some(Span::from_secs_f64(granularity.parse().unwrap())),
                        start: None,
                        stop: None,
                        resample: None,
                    };
                    let got: Vec<_> = get_measures(&store, ids[name], &policy, &query)
                        .unwrap()
                        .iter()
                        .collect();
                    let want = want.as_array().unwrap();
                    let label = format!("{}: {name} {method} {granularity}", case.display());
                    assert_eq!(got.len(), want.len(), "{label}: number of points");
                    for (g, w) in got.iter().zip(want) {
                        assert_eq!(
                            g.timestamp.to_api_string(),
                            w[0].as_str().unwrap(),
                            "{label}"
                        );
                        let value = expected_value(&w[2]);
                        assert!(
                            g.value.to_bits() == value.to_bits()
                                || (g.value.is_nan() && value.is_nan()),
                            "{label} at {}: {} != {}",
                            w[0],
                            g.value,
                            value
                        );
                    }
                }
            }
        }
        drop(index);
    }
}

#[test]
fn archive_files_are_byte_identical() {
    for case in golden_cases() {
        let dir = tempfile::tempdir().unwrap();
        let (store, ids) = replay(&case, dir.path());
        let expected = read_json(&case.join("expected.json"));
        let policy = policy_from_json(&read_json(&case.join("policy.json")));
        for (name, relative) in expected["store"]["metric_dirs"].as_object().unwrap() {
            let theirs = case.join("gnocchi-store").join(relative.as_str().unwrap());
            let ours = store.archive().metric_dir(ids[name]);
            let label = format!("{}: {name}", case.display());
            // Files only: git keeps no empty directories, so a method that
            // never produced data has no directory in a fresh clone.
            let files = |dir: &Path| -> Vec<String> {
                tree(dir)
                    .into_iter()
                    .filter(|f| !f.ends_with('/'))
                    .collect()
            };
            assert_eq!(files(&ours), files(&theirs), "{label}: file set");
            for method in &policy.aggregation_methods {
                assert!(
                    ours.join(format!("agg_{method}")).is_dir(),
                    "{label}: agg_{method} missing"
                );
            }
            for file in &files(&theirs) {
                let a = std::fs::read(ours.join(file)).unwrap();
                let b = std::fs::read(theirs.join(file)).unwrap();
                assert!(
                    a == b,
                    "{label}: {file} differs ({} vs {} bytes)",
                    a.len(),
                    b.len()
                );
            }
        }
    }
}

/// The same cases through the binary: `archive-policy create`, `metric
/// create`, `ingest csv` + `process` per batch, `measures show -f json`.
#[test]
fn the_binary_gives_gnocchis_measures() {
    for case in golden_cases() {
        let store = crate::common::TestStore::empty();
        store.run(&["init", "--no-archive-policies"]).success();
        let policy = store.create_policy(&read_json(&case.join("policy.json")));
        let expected = read_json(&case.join("expected.json"));
        let mut ids = BTreeMap::new();
        for name in expected["metrics"].as_object().unwrap().keys() {
            ids.insert(name.clone(), store.create_metric(name, &policy.name));
        }
        for batch in batch_files(&case) {
            store.ingest_and_process(&std::fs::read_to_string(&batch).unwrap());
        }
        let label = case.display().to_string();
        assert_gnocchi_measures(&store, &expected, |name, _| ids[name].clone(), &label);
    }
}
