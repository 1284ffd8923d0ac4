//! Inspection speed on a large store: builds 10 000 metrics under `medium`
//! (a day of minutes each, processed), then times the release binary's
//! `dump --summary` of the archive directory and `verify` of the store
//! (files/s, MB/s), and decoding the same files from memory, the CPU-bound
//! ceiling. Run through `scripts/bench/inspect.sh`, which builds the
//! binary beside this example; environment:
//! `INSPECT_METRICS` (default 10000), `INSPECT_DIR` (default a temporary
//! directory), `INSPECT_COLD=1` to also time a cold page cache (writes
//! /proc/sys/vm/drop_caches: needs root, and slows everyone on the machine
//! for a moment).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use carbonara::ingest::{self, MeasureBatch};
use carbonara::inspect::layout::{self, Found};
use carbonara::inspect::scan;
use carbonara::policy::ArchivePolicy;
use carbonara::process::{self, ProcessOptions};
use carbonara::store::{Metric, MetricStatus, Store};
use carbonara::time::Timestamp;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const S: i64 = 1_000_000_000;
const MINUTES: usize = 1440;
/// Metrics per ingested batch, to bound memory.
const METRICS_PER_BATCH: usize = 1000;

fn build(root: &Path, metrics: usize) -> Store {
    let store = Store::init(root, 128).expect("a new store");
    let index = store.index().expect("its index");
    for policy in ArchivePolicy::defaults() {
        index
            .create_archive_policy(&policy)
            .expect("default policies");
    }
    index
        .atomically(|index| {
            for m in 0..metrics {
                index.create_metric(&Metric {
                    id: uuid::Uuid::new_v4(),
                    name: Some(format!("m{m}")),
                    unit: None,
                    archive_policy_name: "medium".into(),
                    creator: "bench".into(),
                    resource_id: None,
                    status: MetricStatus::Active,
                })?;
            }
            Ok(())
        })
        .expect("metrics");
    for first in (0..metrics).step_by(METRICS_PER_BATCH) {
        let mut batch = MeasureBatch::default();
        for m in first..(first + METRICS_PER_BATCH).min(metrics) {
            for i in 0..MINUTES {
                let t = Timestamp::from_nanos((1_704_067_200 + 60 * i as i64) * S);
                let v = 50.0
                    + 20.0 * (i as f64 / 90.0).sin()
                    + ((m * 7919 + i * 104_729) % 1000) as f64 / 1000.0;
                batch.add(&format!("m{m}"), t, (v * 1e6).round() / 1e6);
            }
        }
        ingest::store_batch(&store, &index, &batch, Timestamp::EPOCH).expect("measures");
        let report = process::run_pass(&store, &index, &ProcessOptions::default()).expect("a pass");
        assert!(report.failures.is_empty());
    }
    store
}

/// Every archive file with its bytes.
fn read_all(archive: &Path) -> Vec<(layout::ArchiveFile, Vec<u8>)> {
    let mut files = Vec::new();
    for found in layout::walk(archive) {
        if let Found::Archive(listing) = found.expect("a readable archive") {
            for file in listing.files() {
                let bytes = std::fs::read(&file.path).expect("a readable file");
                files.push((file, bytes));
            }
        }
    }
    files
}

fn drop_caches() -> bool {
    let synced = Command::new("sync").status().is_ok_and(|s| s.success());
    synced && std::fs::write("/proc/sys/vm/drop_caches", "3\n").is_ok()
}

/// Wall and CPU (user + system) time of one run of the binary.
fn time_binary(binary: &Path, args: &[&str]) -> (Duration, Duration) {
    let usage = |who| {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage fills the struct it is given.
        unsafe { libc::getrusage(who, usage.as_mut_ptr()) };
        // SAFETY: initialised by getrusage (or zeroed).
        let usage = unsafe { usage.assume_init() };
        let time = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        time(usage.ru_utime) + time(usage.ru_stime)
    };
    let before = usage(libc::RUSAGE_CHILDREN);
    let started = Instant::now();
    let status = Command::new(binary)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("the binary runs");
    let wall = started.elapsed();
    assert!(status.success(), "{args:?}: {status}");
    (wall, usage(libc::RUSAGE_CHILDREN) - before)
}

fn line(what: &str, files: usize, bytes: u64, wall: Duration, cpu: Option<Duration>) {
    let seconds = wall.as_secs_f64();
    let cpu = cpu.map_or(String::new(), |c| format!(", CPU {:.2} s", c.as_secs_f64()));
    println!(
        "{what:<34} {seconds:>7.3} s  {:>9.0} files/s  {:>7.1} MB/s{cpu}",
        files as f64 / seconds,
        bytes as f64 / seconds / 1e6
    );
}

fn main() {
    let metrics: usize = std::env::var("INSPECT_METRICS")
        .ok()
        .and_then(|m| m.parse().ok())
        .unwrap_or(10_000);
    let temporary = tempfile::tempdir().expect("a temporary directory");
    let root: PathBuf = std::env::var_os("INSPECT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| temporary.path().join("store"));
    let started = Instant::now();
    let store = if root.join("store.json").exists() {
        Store::open(&root).expect("the store of an earlier run")
    } else {
        build(&root, metrics)
    };
    eprintln!(
        "store ready in {:.1} s: {}",
        started.elapsed().as_secs_f64(),
        root.display()
    );
    let archive = store.archive_dir();
    let in_memory = read_all(&archive);
    let files = in_memory.len();
    let bytes: u64 = in_memory.iter().map(|(_, b)| b.len() as u64).sum();
    println!(
        "{} metrics, {files} archive files, {:.1} MB",
        metrics,
        bytes as f64 / 1e6
    );

    let started = Instant::now();
    let mut points = 0;
    for (file, bytes) in &in_memory {
        points += scan::decode(&file.kind, bytes).expect("decodes").1.len();
    }
    line(
        "decode from memory (1 thread)",
        files,
        bytes,
        started.elapsed(),
        None,
    );
    println!("  ({points} points)");

    // The release binary beside target/release/examples/.
    let binary = std::env::current_exe()
        .expect("the path of this example")
        .parent()
        .and_then(Path::parent)
        .expect("target/PROFILE/examples/inspect")
        .join("carbonara");
    let store_arg = root.to_str().expect("a UTF-8 path");
    let archive_arg = archive.to_str().expect("a UTF-8 path");
    let dump = ["dump", "--summary", "-f", "csv", archive_arg];
    let verify = ["--store", store_arg, "verify"];
    let cold = std::env::var("INSPECT_COLD").is_ok_and(|v| v == "1");
    assert!(
        binary.exists(),
        "{} is missing: build it first (cargo build --release --bin carbonara)",
        binary.display()
    );
    for (name, args) in [("dump --summary", &dump[..]), ("verify", &verify[..])] {
        if cold {
            if drop_caches() {
                let (wall, cpu) = time_binary(&binary, args);
                line(
                    &format!("{name} (cold cache)"),
                    files,
                    bytes,
                    wall,
                    Some(cpu),
                );
            } else {
                println!("{name} (cold cache): cannot drop the page cache here");
            }
        }
        time_binary(&binary, args);
        let (wall, cpu) = time_binary(&binary, args);
        line(
            &format!("{name} (warm cache)"),
            files,
            bytes,
            wall,
            Some(cpu),
        );
    }
}
