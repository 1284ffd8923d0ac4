//! `serve` on a full disk: a writer POSTs measures to a server whose
//! store is in the tmpfs; the disk is filled (all but a little room, less
//! each run) for a while, then freed, and a second writer carries on.
//! Every answer must be 2xx, or 507 saying the disk is full and naming a
//! path of the store; the server must stay up and take POSTs again once
//! the space is freed; then, after `process`, every measure answered 2xx
//! is there once and nothing is there that was not sent.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::full_disk::{Tmpfs, fill};
use crate::inputs::START;
use crate::serve::{self, Written};
use crate::store;
use crate::table::Row;

pub const NAME: &str = "full disk: serve POSTs";

/// How long each writer writes before the disk fills, and after it is
/// freed; how long the disk stays full.
const WRITING: Duration = Duration::from_millis(500);
const FULL: Duration = Duration::from_millis(1_000);
/// The most room left when the disk is filled.
const MOST_ROOM: u64 = 256 << 10;

pub fn run(tmpfs: &Tmpfs, steps: u32) -> Row {
    let started = Instant::now();
    let mut row = Row::new(NAME);
    let template = store::template();
    let metrics = Arc::new(serve::create_metrics(template.path()));
    for step in 0..steps {
        let victim = tmpfs.path().join("store");
        crate::copy_dir::copy_dir(template.path(), &victim);
        let log = tempfile::NamedTempFile::new().unwrap();
        let (mut server, url) = serve::start(&victim, &log);
        let write = |first: i64, filling: bool| {
            let stop = Arc::new(AtomicBool::new(false));
            let writer = {
                let (stop, metrics, url) = (stop.clone(), metrics.clone(), url.clone());
                std::thread::spawn(move || {
                    serve::write_until_stopped(&url, &metrics, None, &stop, first)
                })
            };
            std::thread::sleep(WRITING);
            if filling {
                let room = MOST_ROOM * u64::from(step) / u64::from(steps.max(1));
                fill(&filler(tmpfs), tmpfs.free().saturating_sub(room));
                std::thread::sleep(FULL);
            }
            stop.store(true, Ordering::Relaxed);
            writer.join().unwrap()
        };
        let filled = write(START, true);
        std::fs::remove_file(filler(tmpfs)).unwrap();
        let freed = write(filled.next, false);
        row.runs += 1;
        judge(&mut row, &victim, &filled, &freed);
        let alive = server.try_wait().unwrap().is_none();
        server.kill().unwrap();
        server.wait().unwrap();
        let stderr = std::fs::read(log.path()).unwrap();
        row.panics += u32::from(store::panicked(&stderr) || !alive);
        let recovery = store::run(&victim, &["process"]);
        row.panics += u32::from(store::panicked(&recovery.stderr));
        let sent = filled.sent.union(&freed.sent).cloned().collect();
        let acknowledged = filled
            .acknowledged
            .union(&freed.acknowledged)
            .cloned()
            .collect();
        serve::check(&victim, &sent, &acknowledged, &mut row);
        std::fs::remove_dir_all(&victim).unwrap();
    }
    row.elapsed = started.elapsed();
    row
}

fn filler(tmpfs: &Tmpfs) -> std::path::PathBuf {
    tmpfs.path().join("filler")
}

/// A run is faulted when some POST was refused for the full disk; each
/// refusal that is not a 507 naming the full disk and a path of the store
/// is unclear, and so is a run whose writes after the space was freed
/// were all refused.
fn judge(row: &mut Row, victim: &std::path::Path, filled: &Written, freed: &Written) {
    let refused = filled.refused.iter().chain(&freed.refused);
    let mut full = false;
    for (status, body) in refused {
        let clear = *status == 507
            && body.contains("The disk is full")
            && body.contains(victim.to_str().unwrap());
        full |= clear;
        if !clear {
            eprintln!("{NAME}: unclear answer {status}: {body}");
            row.unclear_errors += 1;
        }
    }
    row.faults += u32::from(full);
    if freed.acknowledged.is_empty() {
        eprintln!("{NAME}: no POST taken once the space was freed");
        row.unclear_errors += 1;
    }
}
