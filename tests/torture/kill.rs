//! SIGKILL campaigns: a command killed at moments spread over the time an
//! uninterrupted run takes, on a fresh copy of a prepared store each time,
//! then `process` (which finishes what a killed transaction committed)
//! and the checks. An `ingest` is taken whole or not at all: its archives
//! after recovery equal those of an uninterrupted run with its input, or
//! (when it was killed) without. A `process`, `sacks --set` or janitor
//! works on measures acknowledged before it started: after recovery the
//! store equals an uninterrupted run's.

use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

use crate::inputs::{self, Prepare};
use crate::store::{self, Contents};
use crate::table::Row;

pub struct Campaign {
    pub name: &'static str,
    /// Prepares the template store (in its first argument, inputs in its
    /// second) and gives the command to kill.
    prepare: Prepare,
    /// Whether the measures were acknowledged before the command ran
    /// (a pass over queued measures), rather than by its exit.
    acknowledged_before: bool,
    /// What finishes a killed run's work before `process`, when a pass
    /// does not (`verify --repair` again).
    finish: Option<&'static [&'static str]>,
    /// Whether a killed run may leave the store as it was before (a
    /// delete killed before its commit), though its measures were
    /// acknowledged before it ran.
    may_be_undone: bool,
}

pub fn campaigns() -> Vec<Campaign> {
    let ingest = |name, prepare| Campaign {
        name,
        prepare,
        acknowledged_before: false,
        finish: None,
        may_be_undone: false,
    };
    let delete = |name, prepare| Campaign {
        name,
        prepare,
        acknowledged_before: true,
        finish: None,
        may_be_undone: true,
    };
    vec![
        ingest("kill ingest csv", inputs::csv),
        ingest("kill ingest influx", inputs::influx),
        ingest("kill ingest batch", inputs::batch),
        ingest("kill ingest ceilometer", inputs::ceilometer),
        ingest("kill ingest statsd", inputs::statsd),
        ingest("kill ingest prometheus", inputs::prometheus),
        Campaign {
            name: "kill process",
            prepare: inputs::process,
            acknowledged_before: true,
            finish: None,
            may_be_undone: false,
        },
        Campaign {
            name: "kill janitor",
            // Eight of ten metrics deleted: the pass's janitor removes
            // their files and index rows.
            prepare: |store, dir| {
                inputs::queued(store, dir);
                store::ok(store, &["process"]);
                for series in 2..inputs::SERIES {
                    store::ok(store, &["metric", "delete", &format!("c{series}")]);
                }
                vec!["process".to_owned()]
            },
            acknowledged_before: true,
            finish: None,
            may_be_undone: false,
        },
        Campaign {
            name: "kill verify --repair",
            // The mean splits of five metrics made unreadable: repair
            // moves them to quarantine/.
            prepare: |store, dir| {
                inputs::queued(store, dir);
                store::ok(store, &["process"]);
                damage_mean_splits(store);
                ["verify", "--repair"].map(str::to_owned).to_vec()
            },
            acknowledged_before: true,
            finish: Some(&["verify", "--repair"]),
            may_be_undone: false,
        },
        Campaign {
            name: "kill sacks --set",
            prepare: inputs::sacks_set,
            acknowledged_before: true,
            finish: None,
            may_be_undone: false,
        },
        // Eight of ten metrics deleted, then the janitor of `process`.
        delete("kill metric delete", |store, dir| {
            inputs::queued(store, dir);
            store::ok(store, &["process"]);
            let mut args: Vec<String> = vec!["metric".to_owned(), "delete".to_owned()];
            args.extend((2..inputs::SERIES).map(|series| format!("c{series}")));
            args
        }),
        // Nine of ten Ceilometer volumes and their metrics deleted.
        delete("kill resource batch delete", |store, dir| {
            let args = inputs::ceilometer(store, dir);
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            store::ok(store, &args);
            store::ok(store, &["process"]);
            let kept = format!("id != '{}'", inputs::ceilometer_resource(0));
            ["resource", "batch", "delete", &kept]
                .map(str::to_owned)
                .to_vec()
        }),
        Campaign {
            name: "kill upgrade",
            // The committed format-1 store; a killed upgrade is run again.
            prepare: |store, _| {
                inputs::format_1_store(store);
                vec!["upgrade".to_owned()]
            },
            acknowledged_before: true,
            finish: Some(&["upgrade"]),
            may_be_undone: false,
        },
        Campaign {
            name: "kill import-gnocchi",
            prepare: inputs::gnocchi_store,
            acknowledged_before: false,
            finish: None,
            may_be_undone: false,
        },
    ]
}

impl Campaign {
    pub fn run(&self, kills: u32) -> Row {
        let started = Instant::now();
        let mut row = Row::new(self.name);
        let template = store::template();
        let inputs = tempfile::tempdir().unwrap();
        let args = (self.prepare)(template.path(), inputs.path());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();

        // What recovery finds when the command did nothing: the template
        // processed, or (measures acknowledged before) not yet processed;
        // nothing to compare with when the command must finish.
        let without = match (self.acknowledged_before, self.may_be_undone) {
            (true, false) => None,
            (acknowledged_before, _) => {
                let without = store::copy(template.path());
                if !acknowledged_before {
                    store::ok(without.path(), &["process"]);
                }
                Some(store::contents(without.path()))
            }
        };
        // Timed twice: a first run on a fresh template can take several
        // times longer than the runs that follow.
        let (with, first) = timed_run(template.path(), &args);
        let (_, second) = timed_run(template.path(), &args);
        let duration = first.min(second);
        store::ok(with.path(), &["process"]);
        let with = store::contents(with.path());
        // The measures that must be found after a run: what the command
        // adds, or all of them when they were acknowledged before it.
        let baseline = match &without {
            Some(without) if !self.acknowledged_before => without.total(),
            _ => 0,
        };
        let added = with.total() - baseline;
        assert!(added > 0, "{}: nothing to check", self.name);

        for delay in store::kill_delays(duration, kills) {
            let victim = store::copy(template.path());
            let mut child = store::command(victim.path(), &args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            std::thread::sleep(delay);
            // SIGKILL (or nothing, when it has ended).
            let _ = child.kill();
            let output = child.wait_with_output().unwrap();
            row.runs += 1;
            let finished = output.status.success();
            if !finished {
                row.faults += 1;
                if output.status.code().is_some() {
                    eprintln!(
                        "{}: failed on its own: {}",
                        self.name,
                        String::from_utf8_lossy(&output.stderr)
                    );
                    row.differing += 1;
                }
            }
            row.panics += u32::from(store::panicked(&output.stderr));
            if let Some(finish) = self.finish {
                let finished = store::run(victim.path(), finish);
                row.panics += u32::from(store::panicked(&finished.stderr));
            }
            let recovery = store::run(victim.path(), &["process"]);
            row.panics += u32::from(store::panicked(&recovery.stderr));
            if !recovery.status.success() {
                eprintln!(
                    "{}: recovery failed: {}",
                    self.name,
                    String::from_utf8_lossy(&recovery.stderr)
                );
            }
            let got = store::contents(victim.path());
            let acknowledged = self.acknowledged_before || finished;
            if acknowledged {
                row.acknowledged += added;
            }
            let found = got.total().saturating_sub(baseline);
            let as_before = without.as_ref() == Some(&got);
            let nothing_stored = as_before && !acknowledged;
            let undone = as_before && self.may_be_undone && !finished;
            if got == with || undone {
                match acknowledged {
                    true => row.found += added,
                    false => row.unacknowledged_found += added,
                }
            } else if !nothing_stored {
                eprintln!(
                    "{}: killed after {delay:?} of {duration:?}: the store holds {found} of {added} measures and differs from both uninterrupted runs",
                    self.name
                );
                row.differing += 1;
                let (lost, duplicated) = compare(&with, &got);
                if acknowledged {
                    row.lost += lost;
                    row.found += added.saturating_sub(lost);
                }
                row.duplicated += duplicated;
            }
            row.tmp_left += store::tmp_left(victim.path());
            row.verify_problems += store::verify_problems(victim.path());
        }
        row.elapsed = started.elapsed();
        row
    }
}

/// A copy of `template` in which `args` ran, and how long they took.
fn timed_run(template: &Path, args: &[&str]) -> (tempfile::TempDir, std::time::Duration) {
    let copy = store::copy(template);
    let started = Instant::now();
    store::ok(copy.path(), args);
    (copy, started.elapsed())
}

/// Overwrites the mean splits of the metrics `c0` to `c4` with bytes that
/// do not decode.
fn damage_mean_splits(store: &Path) {
    let ids: Vec<String> = (0..5)
        .map(|series| {
            store::json(store, &["metric", "show", &format!("c{series}")])["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    for entry in walkdir::WalkDir::new(store.join("archive")) {
        let path = entry.unwrap().into_path();
        let in_damaged = path
            .iter()
            .any(|part| ids.iter().any(|id| part == id.as_str()));
        let mean_split = path.parent().is_some_and(|dir| dir.ends_with("agg_mean"));
        if in_damaged && mean_split {
            std::fs::write(&path, b"garbage").unwrap();
        }
    }
}

/// Measures `expected` has and `got` misses, and measures `got` has more
/// often than `expected`.
pub fn compare(expected: &Contents, got: &Contents) -> (u64, u64) {
    let (mut lost, mut duplicated) = (0, 0);
    for (metric, counts) in &expected.measures {
        let found = got.measures.get(metric);
        for (second, count) in counts {
            let seen = found.and_then(|f| f.get(second)).copied().unwrap_or(0);
            lost += count.saturating_sub(seen);
        }
    }
    for (metric, counts) in &got.measures {
        let wanted = expected.measures.get(metric);
        for (second, count) in counts {
            let expected = wanted.and_then(|w| w.get(second)).copied().unwrap_or(0);
            duplicated += count.saturating_sub(expected);
        }
    }
    (lost, duplicated)
}
