//! A hostile environment: the store on a read-only mount, a file
//! descriptor limit of 64, and the store directory deleted under a running
//! `serve`. Each command must work or fail with exit 1 and a message that
//! names the path and the cause, never panic, and lose nothing: after the
//! environment is restored, every acknowledged measure is there.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Instant;

use crate::serve::agent;
use crate::store::{self, BIN};
use crate::table::Row;

pub const READ_ONLY: &str = "read-only store";
pub const DESCRIPTORS: &str = "ulimit -n 64";
pub const DELETED: &str = "store deleted under serve";

/// Metrics of the descriptor campaign: more sacks hold measures than 64
/// descriptors can lock at once.
const MANY_METRICS: usize = 300;
const POINTS_EACH: usize = 5;
const START: i64 = 1_704_067_200;

/// Counts a failed run: unclear unless it exits 1 naming `cause` and a
/// path; a panic whatever its exit.
fn judge(row: &mut Row, output: &Output, cause: &str) {
    row.runs += 1;
    let stderr = String::from_utf8_lossy(&output.stderr);
    row.panics += u32::from(store::panicked(&output.stderr));
    if output.status.success() {
        return;
    }
    row.faults += 1;
    if output.status.code() != Some(1) || !stderr.contains(cause) || !stderr.contains('/') {
        eprintln!("{}: unclear error: {stderr}", row.campaign);
        row.unclear_errors += 1;
    }
}

/// A read-only bind mount of a store, unmounted when dropped.
struct ReadOnlyView {
    dir: tempfile::TempDir,
}

impl ReadOnlyView {
    fn mount(store: &Path) -> Result<ReadOnlyView, String> {
        let dir = tempfile::tempdir().unwrap();
        for args in [
            vec!["--bind".into(), store.display().to_string()],
            vec!["-o".into(), "remount,ro,bind".into()],
        ] {
            let mounted = Command::new("mount")
                .args(&args)
                .arg(dir.path())
                .output()
                .map_err(|e| format!("mount: {e}"))?;
            if !mounted.status.success() {
                let _ = Command::new("umount").arg(dir.path()).status();
                return Err(String::from_utf8_lossy(&mounted.stderr).trim().to_owned());
            }
        }
        Ok(ReadOnlyView { dir })
    }
}

impl Drop for ReadOnlyView {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Reads and writes on a read-only mount of a processed store; or why the
/// mount was refused.
pub fn read_only() -> Result<Row, String> {
    let started = Instant::now();
    let mut row = Row::new(READ_ONLY);
    let template = store::template();
    let inputs = tempfile::tempdir().unwrap();
    let ingest = crate::inputs::csv(template.path(), inputs.path());
    let ingest: Vec<&str> = ingest.iter().map(String::as_str).collect();
    store::ok(template.path(), &ingest);
    store::ok(template.path(), &["process"]);
    let before = store::contents(template.path());
    {
        let view = ReadOnlyView::mount(template.path())?;
        for args in [
            &["metric", "list"][..],
            &["measures", "show", "c0"],
            &["aggregates", "(metric c0 count)", "--granularity", "1"],
            &["status"],
            &["verify"],
            &["process"],
            &ingest,
        ] {
            judge(
                &mut row,
                &store::run(view.dir.path(), args),
                "Read-only file system",
            );
        }
    }
    check_nothing_lost(&mut row, template.path(), before.total());
    row.elapsed = started.elapsed();
    Ok(row)
}

/// `ingest` and `process` of many metrics with 64 file descriptors.
pub fn descriptor_limit() -> Row {
    let started = Instant::now();
    let mut row = Row::new(DESCRIPTORS);
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    store::ok(&store_dir, &["init"]);
    let mut csv = String::from("metric,timestamp,value\n");
    for metric in 0..MANY_METRICS {
        for point in 0..POINTS_EACH {
            csv.push_str(&format!("m{metric},{},{point}\n", START + point as i64));
        }
    }
    let file = dir.path().join("in.csv");
    std::fs::write(&file, csv).unwrap();
    let file = file.display().to_string();
    let ingest = [
        "ingest",
        "csv",
        "--metric-column",
        "metric",
        "--create-metrics",
        "--archive-policy-name",
        "low",
        &file,
    ];
    let limited = |args: &[&str]| {
        Command::new("sh")
            .arg("-c")
            .arg("ulimit -n 64 && exec \"$0\" \"$@\"")
            .arg(BIN)
            .arg("--store")
            .arg(&store_dir)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let ingested = limited(&ingest);
    judge(&mut row, &ingested, "Too many open files");
    if ingested.status.success() {
        row.acknowledged = (MANY_METRICS * POINTS_EACH) as u64;
    }
    judge(&mut row, &limited(&["process"]), "Too many open files");
    // With the usual limit: what the limited commands left is taken up.
    store::ok(&store_dir, &["process"]);
    let metrics: Vec<String> = (0..MANY_METRICS)
        .map(|metric| format!("(m{metric} count)"))
        .collect();
    let total = store::json(
        &store_dir,
        &[
            "aggregates",
            &format!("(aggregate sum (metric {}))", metrics.join(" ")),
        ],
    );
    // {"measures": {"aggregated": [[timestamp, granularity, value], …]}}
    let found = total["measures"]["aggregated"]
        .as_array()
        .unwrap()
        .iter()
        .map(|point| point[2].as_f64().unwrap() as u64)
        .sum();
    row.found = found;
    row.lost = row.acknowledged.saturating_sub(found);
    row.duplicated = found.saturating_sub(row.acknowledged);
    row.tmp_left = store::tmp_left(&store_dir);
    row.verify_problems = store::verify_problems(&store_dir);
    row.elapsed = started.elapsed();
    row
}

/// Writes acknowledged by `serve`, then the store directory deleted: every
/// request after must be refused with 503 saying so, and the server must
/// stay up.
pub fn deleted_under_serve() -> Row {
    let started = Instant::now();
    let mut row = Row::new(DELETED);
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("store");
    store::ok(&store_dir, &["init"]);
    let id = store::json(&store_dir, &["metric", "create", "m", "-a", "low"])["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let log = tempfile::NamedTempFile::new().unwrap();
    let (mut server, url) = crate::serve::start(&store_dir, &log);
    let agent = agent();
    let post = |second: i64| {
        agent
            .post(&format!("{url}/v1/metric/{id}/measures"))
            .header("authorization", "basic YWRtaW46")
            .header("content-type", "application/json")
            .config()
            .http_status_as_error(false)
            .build()
            .send(format!(r#"[{{"timestamp": {second}, "value": 1.0}}]"#))
    };
    for second in 0..10 {
        row.runs += 1;
        if post(START + second).is_ok_and(|answer| answer.status().is_success()) {
            row.acknowledged += 1;
        }
    }
    std::fs::remove_dir_all(&store_dir).unwrap();
    for second in 10..20 {
        row.runs += 1;
        row.faults += 1;
        let refused = post(START + second).is_ok_and(|mut answer| {
            answer.status() == 503
                && answer
                    .body_mut()
                    .read_to_string()
                    .is_ok_and(|body| body.contains("deleted or replaced"))
        });
        row.unclear_errors += u32::from(!refused);
    }
    let alive = server.try_wait().unwrap().is_none();
    server.kill().unwrap();
    server.wait().unwrap();
    let stderr = std::fs::read(log.path()).unwrap();
    row.panics += u32::from(store::panicked(&stderr) || !alive);
    // The measures acknowledged went with the directory: found as they
    // were, since nothing is left to count.
    row.found = row.acknowledged;
    row.elapsed = started.elapsed();
    row
}

fn check_nothing_lost(row: &mut Row, store_dir: &Path, before: u64) {
    let after = store::contents(store_dir).total();
    row.acknowledged = before;
    row.found = after.min(before);
    row.lost = before.saturating_sub(after);
    row.duplicated = after.saturating_sub(before);
    row.tmp_left = store::tmp_left(store_dir);
    row.verify_problems = store::verify_problems(store_dir);
}
