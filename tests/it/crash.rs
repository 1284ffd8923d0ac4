//! SIGKILL at random moments: a killed `process` or `ingest` loses nothing,
//! leaves no half state, and the store converges to exactly what an
//! uninterrupted run writes. Also two `process` runs at once.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestStore, copy_dir, tree};

const METRICS: usize = 12;
const POINTS: usize = 6_000;

/// Every archive file with its bytes.
pub fn archive_snapshot(store: &Path) -> Vec<(String, Vec<u8>)> {
    let archive = store.join("archive");
    tree(&archive)
        .into_iter()
        .map(|path| {
            let bytes = if path.ends_with('/') {
                Vec::new()
            } else {
                std::fs::read(archive.join(&path)).unwrap()
            };
            (path, bytes)
        })
        .collect()
}

/// A store with one processed batch and one waiting, 12 metrics under
/// the `high` policy.
fn prepared_store() -> TestStore {
    let store = TestStore::new();
    for m in 0..METRICS {
        store.create_metric(&format!("m{m}"), "high");
    }
    for (batch, offset) in [(1, 0), (2, POINTS / 2)] {
        let mut csv = String::from("metric,timestamp,value\n");
        for m in 0..METRICS {
            for i in 0..POINTS {
                let second = 1_704_067_200 + offset + i;
                csv.push_str(&format!("m{m},{second},{}\n", (i * 7 + m * 13) % 101));
            }
        }
        let file = store.write_file(&format!("batch{batch}.csv"), &csv);
        store
            .run(&[
                "ingest",
                "csv",
                "--metric-column",
                "metric",
                file.to_str().unwrap(),
            ])
            .success();
        if batch == 1 {
            store.run(&["process"]).success();
        }
    }
    store
}

/// `carbonara --store STORE ARGS…` started, its output thrown away.
pub fn spawn(store: &Path, args: &[&str]) -> std::process::Child {
    Command::new(assert_cmd::cargo::cargo_bin!("carbonara"))
        .arg("--store")
        .arg(store)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Runs `carbonara --store STORE ARGS…`, which must succeed.
pub fn run_ok(store: &Path, args: &[&str]) {
    let output = Command::new(assert_cmd::cargo::cargo_bin!("carbonara"))
        .arg("--store")
        .arg(store)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Delays spread over `total`, in a scrambled but fixed order.
pub fn kill_delays(total: Duration, count: u32) -> Vec<Duration> {
    (0..count)
        .map(|i| total * ((i * 7 + 3) % count) / count + Duration::from_millis(1))
        .collect()
}

/// A copy of `template` in which `args` ran for `delay`, then was killed.
pub fn killed_copy(template: &Path, args: &[&str], delay: Duration) -> tempfile::TempDir {
    let victim = tempfile::tempdir().unwrap();
    copy_dir(template, victim.path());
    let mut child = spawn(victim.path(), args);
    std::thread::sleep(delay);
    let _ = child.kill();
    child.wait().unwrap();
    victim
}

#[test]
fn a_killed_pass_converges_to_the_uninterrupted_archive() {
    let template = prepared_store();
    let reference = tempfile::tempdir().unwrap();
    copy_dir(template.path(), reference.path());
    let started = Instant::now();
    run_ok(reference.path(), &["process"]);
    let duration = started.elapsed();
    let expected = archive_snapshot(reference.path());

    for (attempt, delay) in kill_delays(duration, 8).into_iter().enumerate() {
        let victim = killed_copy(template.path(), &["process"], delay);
        // Measures are either still queued or in the archive; a new pass
        // finishes the job.
        run_ok(victim.path(), &["process"]);
        let got = archive_snapshot(victim.path());
        assert!(
            got == expected,
            "attempt {attempt} (killed after {delay:?} of {duration:?}): archive differs"
        );
        let status = spawn(victim.path(), &["status", "-f", "value"])
            .wait_with_output()
            .unwrap();
        assert!(status.status.success());
        let leftovers = std::fs::read_dir(victim.path().join("tmp"))
            .unwrap()
            .count();
        assert_eq!(leftovers, 0, "attempt {attempt}: transactions left in tmp/");
    }
}

#[test]
fn two_passes_at_once_split_the_work() {
    let template = prepared_store();
    let reference = tempfile::tempdir().unwrap();
    copy_dir(template.path(), reference.path());
    run_ok(reference.path(), &["process"]);
    let expected = archive_snapshot(reference.path());

    let both = tempfile::tempdir().unwrap();
    copy_dir(template.path(), both.path());
    let first = spawn(both.path(), &["process", "--jobs", "1"]);
    let second = spawn(both.path(), &["process", "--jobs", "1"]);
    assert!(first.wait_with_output().unwrap().status.success());
    assert!(second.wait_with_output().unwrap().status.success());
    // A sack busy in one run may have been skipped by the other.
    run_ok(both.path(), &["process"]);
    assert!(archive_snapshot(both.path()) == expected, "archive differs");
}

#[test]
fn a_killed_ingest_stores_all_or_nothing() {
    // Half the metrics exist; the import creates the others.
    let store = TestStore::new();
    for m in 0..25 {
        store.create_metric(&format!("m{m}"), "low");
    }
    let mut csv = String::from("metric,timestamp,value\n");
    let lines = 100_000;
    for i in 0..lines {
        csv.push_str(&format!("m{},{},{}\n", i % 50, 1_704_067_200 + i, i));
    }
    let file = store.write_file("big.csv", &csv);
    let started = Instant::now();
    let reference = tempfile::tempdir().unwrap();
    copy_dir(store.path(), reference.path());
    run_ok(
        reference.path(),
        &[
            "ingest",
            "csv",
            "--metric-column",
            "metric",
            "--create-metrics",
            file.to_str().unwrap(),
        ],
    );
    let duration = started.elapsed();

    for delay in kill_delays(duration, 6) {
        let victim = tempfile::tempdir().unwrap();
        copy_dir(store.path(), victim.path());
        let mut child = spawn(
            victim.path(),
            &[
                "ingest",
                "csv",
                "--metric-column",
                "metric",
                "--create-metrics",
                file.to_str().unwrap(),
            ],
        );
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        let status = Command::new(assert_cmd::cargo::cargo_bin!("carbonara"))
            .arg("--store")
            .arg(victim.path())
            .args([
                "status",
                "-f",
                "value",
                "-c",
                "storage/total number of measures to process",
            ])
            .output()
            .unwrap();
        let waiting: usize = String::from_utf8(status.stdout)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let metrics = Command::new(assert_cmd::cargo::cargo_bin!("carbonara"))
            .arg("--store")
            .arg(victim.path())
            .args(["metric", "list", "-f", "value", "-c", "id"])
            .output()
            .unwrap();
        let metrics = String::from_utf8(metrics.stdout).unwrap().lines().count();
        assert!(
            (waiting, metrics) == (0, 25) || (waiting, metrics) == (lines, 50),
            "killed after {delay:?}: {waiting} measures stored, {metrics} metrics"
        );
    }
}

#[test]
fn ingests_while_passes_run_lose_nothing() {
    let store = TestStore::new();
    let reference = TestStore::new();
    let files: Vec<String> = (0..5)
        .map(|batch| {
            let mut csv = String::from("metric,timestamp,value\n");
            for i in 0..2_000 {
                let second = 1_704_067_200 + batch * 2_000 + i;
                csv.push_str(&format!("m{},{second},{}\n", i % 10, (i * 7) % 101));
            }
            store
                .write_file(&format!("batch{batch}.csv"), &csv)
                .to_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for m in 0..10 {
        store.create_metric(&format!("m{m}"), "low");
        reference.create_metric(&format!("m{m}"), "low");
    }
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let passes = {
        let done = done.clone();
        let path = store.path().to_owned();
        std::thread::spawn(move || {
            let mut count = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                run_ok(&path, &["process"]);
                count += 1;
            }
            count
        })
    };
    for file in &files {
        run_ok(
            store.path(),
            &["ingest", "csv", "--metric-column", "metric", file],
        );
        run_ok(
            reference.path(),
            &["ingest", "csv", "--metric-column", "metric", file],
        );
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(passes.join().unwrap() > 0);
    run_ok(store.path(), &["process"]);
    run_ok(reference.path(), &["process"]);
    for m in 0..10 {
        let metric = format!("m{m}");
        let args = ["measures", "show", metric.as_str(), "-f", "csv"];
        assert_eq!(store.stdout(&args), reference.stdout(&args), "{metric}");
    }
}
