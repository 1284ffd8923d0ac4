//! `carbonara verify` and `--repair` on stores corrupted on purpose:
//! truncated and flipped files, removed files and directories, stray files,
//! orphan archive directories, processed metrics without their archive,
//! bad incoming files. A corrupt metric does not stop the others.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{TestStore, parse_python_json, stderr_of, tree};

fn metric_dir(store: &TestStore, id: &str) -> PathBuf {
    let hex = id.replace('-', "");
    let mut dir = store.path().join("archive");
    for chunk in hex.as_bytes().chunks(2) {
        dir.push(std::str::from_utf8(chunk).unwrap());
    }
    dir.join(id)
}

fn sack_dir(store: &TestStore, id: &str) -> PathBuf {
    let sack = uuid::Uuid::parse_str(id).unwrap().as_u128() % 8;
    store
        .path()
        .join(format!("incoming/incoming8-{sack}"))
        .join(id)
}

fn first_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files.remove(0)
}

/// Four metrics under `medium`, two days of minutes, processed; `a` has
/// measures waiting.
fn healthy_store() -> (TestStore, Vec<String>) {
    let store = TestStore::new();
    let names = ["a", "b", "c", "d"];
    let ids: Vec<String> = names
        .iter()
        .map(|n| store.create_metric(n, "medium"))
        .collect();
    let mut csv = String::from("metric,timestamp,value\n");
    for (m, name) in names.iter().enumerate() {
        for i in 0..2880 {
            csv.push_str(&format!(
                "{name},{},{}\n",
                1_704_067_200 + 60 * i,
                (i * (m + 3)) % 17
            ));
        }
    }
    store.ingest_and_process(&csv);
    store
        .run(&["measures", "add", "a", "-m", "2024-01-03T00:00:00@5"])
        .success();
    (store, ids)
}

fn verify_json(store: &TestStore, args: &[&str]) -> (i32, Vec<Value>, String) {
    let mut all = vec!["verify", "-f", "json"];
    all.extend(args);
    let output = store.command(&all).output().unwrap();
    let rows = parse_python_json(&String::from_utf8(output.stdout).unwrap());
    (
        output.status.code().unwrap(),
        rows.as_array().unwrap().clone(),
        String::from_utf8(output.stderr).unwrap(),
    )
}

/// The problems reported, as (path, repair).
fn problems(rows: &[Value]) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["path"].as_str().unwrap().to_owned(),
                r["repair"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

fn relative(store: &TestStore, path: &Path) -> String {
    path.strip_prefix(store.path())
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

#[test]
fn a_healthy_store_verifies() {
    let (store, _ids) = healthy_store();
    let (code, rows, stderr) = verify_json(&store, &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(rows.is_empty());
    // 4 metrics × (bound + 6 methods × 1 split of 1 h + 5 of 1 min: std
    // omits the single-point buckets), and the waiting measure file.
    assert!(stderr.contains("verified 4 metrics, 49 files"), "{stderr}");
}

#[test]
fn every_kind_of_damage_is_found_repaired_and_quarantined() {
    let (store, ids) = healthy_store();
    let [a, b, c, d] = [&ids[0], &ids[1], &ids[2], &ids[3]];
    let mut expected: Vec<(String, String)> = Vec::new();
    let mut expect =
        |path: &Path, repair: &str| expected.push((relative(&store, path), repair.to_owned()));

    // Truncated split of a.
    let a_dir = metric_dir(&store, a);
    let truncated = first_file(&a_dir.join("agg_mean"));
    let bytes = fs::read(&truncated).unwrap();
    fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    expect(&truncated, "quarantine");
    // Flipped bytes: b's bound series length and one of its splits' length.
    let b_dir = metric_dir(&store, b);
    let mut bound = fs::read(b_dir.join("none_v3")).unwrap();
    bound[0] ^= 0xff;
    fs::write(b_dir.join("none_v3"), &bound).unwrap();
    expect(&b_dir.join("none_v3"), "quarantine");
    let flipped = first_file(&b_dir.join("agg_max"));
    let mut split = fs::read(&flipped).unwrap();
    split[2] ^= 0x40;
    fs::write(&flipped, &split).unwrap();
    expect(&flipped, "quarantine");
    // A split renamed to a key that is not a split boundary.
    let renamed = first_file(&b_dir.join("agg_min"));
    let misnamed = b_dir.join("agg_min/1704067260.0_60.0_v3");
    fs::rename(&renamed, &misnamed).unwrap();
    expect(&misnamed, "quarantine");
    // Removed files: c's agg_sum directory, d's whole archive directory.
    let c_dir = metric_dir(&store, c);
    fs::remove_dir_all(c_dir.join("agg_sum")).unwrap();
    expect(&c_dir.join("agg_sum"), "create directory");
    let d_dir = metric_dir(&store, d);
    fs::remove_dir_all(&d_dir).unwrap();
    expect(&d_dir, "create directory");
    // Stray files and directories.
    fs::write(store.path().join("archive/README"), "notes").unwrap();
    expect(&store.path().join("archive/README"), "quarantine");
    fs::write(c_dir.join("junk"), "x").unwrap();
    expect(&c_dir.join("junk"), "quarantine");
    fs::create_dir(c_dir.join("agg_bogus")).unwrap();
    expect(&c_dir.join("agg_bogus"), "quarantine");
    // An orphan archive directory, laid out properly.
    let orphan = "0123abcd-0000-4000-8000-000000000001";
    let orphan_dir = metric_dir(&store, orphan);
    fs::create_dir_all(orphan_dir.join("agg_mean")).unwrap();
    fs::copy(c_dir.join("none_v3"), orphan_dir.join("none_v3")).unwrap();
    expect(&orphan_dir, "quarantine");
    // Bad incoming files: a truncated measure file for a, measures of an
    // unknown metric, and c's measures in the wrong sack.
    let bad_measures =
        sack_dir(&store, a).join("00000000-0000-4000-8000-000000000000_20240101_00:00:00");
    fs::write(&bad_measures, [0u8; 17]).unwrap();
    expect(&bad_measures, "quarantine");
    let unknown = sack_dir(&store, orphan);
    fs::create_dir_all(&unknown).unwrap();
    fs::write(unknown.join("m"), [0u8; 16]).unwrap();
    expect(&unknown, "quarantine");
    let c_sack = (uuid::Uuid::parse_str(c).unwrap().as_u128() % 8) as usize;
    let misplaced = store
        .path()
        .join(format!("incoming/incoming8-{}", (c_sack + 1) % 8))
        .join(c);
    fs::create_dir_all(&misplaced).unwrap();
    fs::write(misplaced.join("m"), [0u8; 16]).unwrap();
    expect(&misplaced, "quarantine");
    expected.sort();

    let (code, rows, stderr) = verify_json(&store, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains(&format!("{} problems found", expected.len())),
        "{stderr}"
    );
    assert_eq!(problems(&rows), expected);
    let truncated_row = rows
        .iter()
        .find(|r| r["path"].as_str().unwrap().contains("agg_mean"))
        .unwrap();
    assert_eq!(truncated_row["metric"], a.as_str());
    assert!(
        truncated_row["problem"]
            .as_str()
            .unwrap()
            .starts_with("does not decode")
    );
    // One metric at a time.
    let (code, rows, _) = verify_json(&store, &["c"]);
    assert_eq!(code, 1);
    assert_eq!(rows.len(), 3, "{rows:?}");

    // The corrupt metric fails with its file named; the others are processed.
    for metric in ["b", "c"] {
        store
            .run(&["measures", "add", metric, "-m", "2024-01-03T00:00:00@5"])
            .success();
    }
    let assert = store.run(&["process"]).code(1);
    let errors = stderr_of(&assert);
    assert!(
        errors.contains(&relative(&store, &bad_measures)),
        "{errors}"
    );
    assert!(errors.contains("none_v3"), "{errors}");
    assert!(
        errors.contains("2 metrics could not be processed"),
        "{errors}"
    );
    let c_means = store.json(&["measures", "show", "c", "--granularity", "1h"]);
    assert_eq!(c_means.as_array().unwrap().len(), 49);
    let assert = store
        .run(&["measures", "show", "a", "--granularity", "1h"])
        .code(1);
    assert!(stderr_of(&assert).contains(&relative(&store, &truncated)));

    // Repair, then everything verifies and works again.
    let (code, rows, stderr) = verify_json(&store, &["--repair"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("the store is consistent"), "{stderr}");
    // The pass above dropped the unknown metric's measures (as Gnocchi
    // does) and wrote c's sum split again, recreating agg_sum.
    assert_eq!(rows.len(), expected.len() - 2);
    for row in &rows {
        let path = row["path"].as_str().unwrap();
        let action = row["repair"].as_str().unwrap();
        if let Some(moved) = action.strip_prefix("moved to ") {
            let moved = store.path().join(moved);
            assert!(moved.exists(), "{moved:?}");
            assert!(moved.ends_with(path), "{moved:?} keeps {path}");
            assert!(!store.path().join(path).exists());
        } else {
            assert_eq!(action, "created");
            assert!(store.path().join(path).is_dir());
        }
    }
    let quarantined = tree(&store.path().join("quarantine"));
    assert!(
        quarantined.iter().any(|p| p.ends_with("none_v3")),
        "{quarantined:?}"
    );
    let (code, rows, _) = verify_json(&store, &[]);
    assert_eq!((code, rows.len()), (0, 0));
    store.run(&["process"]).success();
    let a_minutes = store.json(&["measures", "show", "a", "--granularity", "60"]);
    assert!(!a_minutes.as_array().unwrap().is_empty());
}

#[test]
fn a_repair_leaves_a_busy_sack_alone() {
    let (store, ids) = healthy_store();
    let dir = metric_dir(&store, &ids[1]);
    fs::write(dir.join("junk"), "x").unwrap();
    let sack = uuid::Uuid::parse_str(&ids[1]).unwrap().as_u128() % 8;
    let lock = fs::File::create(store.path().join(format!("locks/sack-{sack}.lock"))).unwrap();
    lock.lock().unwrap();
    let (code, rows, stderr) = verify_json(&store, &["--repair"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        rows[0]["repair"]
            .as_str()
            .unwrap()
            .contains("is being processed")
    );
    assert!(stderr.contains("1 problem remains"), "{stderr}");
    assert!(dir.join("junk").exists());
    drop(lock);
    let (code, _, _) = verify_json(&store, &["--repair"]);
    assert_eq!(code, 0);
    assert!(!dir.join("junk").exists());
}

#[test]
fn empty_splits_and_lying_headers_are_problems_not_data() {
    let (store, ids) = healthy_store();
    let dir = metric_dir(&store, &ids[1]);
    // A file of no bytes, and a compressed split of no points (python-lz4's
    // framing of nothing): both read as "no data", neither is ever written.
    let empty = first_file(&dir.join("agg_mean"));
    fs::write(&empty, []).unwrap();
    let no_points = first_file(&dir.join("agg_max"));
    fs::write(&no_points, b"c\x00\x00\x00\x00\x00").unwrap();
    // A header claiming 4 GiB from no block at all.
    let lying = first_file(&dir.join("agg_min"));
    fs::write(&lying, b"c\xff\xff\xff\xff").unwrap();

    let (code, rows, stderr) = verify_json(&store, &[]);
    assert_eq!(code, 1, "{stderr}");
    let row = |path: &Path| {
        rows.iter()
            .find(|r| r["path"] == relative(&store, path).as_str())
            .unwrap_or_else(|| panic!("{path:?} not reported: {rows:?}"))["problem"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(row(&empty), "empty split (Gnocchi never writes one)");
    assert_eq!(row(&no_points), "empty split (Gnocchi never writes one)");
    assert!(
        row(&lying).starts_with("does not decode"),
        "{}",
        row(&lying)
    );
    assert_eq!(rows.len(), 3, "{rows:?}");
    // Reading the lying split names it, and asks for no memory it claims.
    let assert = store
        .run(&["measures", "show", "b", "--aggregation", "min"])
        .code(1);
    assert!(
        stderr_of(&assert).contains(&relative(&store, &lying)),
        "{}",
        stderr_of(&assert)
    );
}
