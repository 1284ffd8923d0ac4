//! A full disk, for real: each command runs on a store in a small tmpfs
//! left with less and less free space (from 4 MiB down to none), so that
//! the disk fills at a different point of its work each time. A command
//! that fails must exit 1 saying `No space left on device` and naming a
//! path of the store, and leave nothing half-stored: once the space is
//! freed, `process` and the same command again give the store an
//! uninterrupted run gives. Needs root to mount the tmpfs; where mounting
//! is refused the campaign is reported as not run, with the reason.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::inputs;
use crate::kill::compare;
use crate::store;
use crate::table::Row;

/// The most free space a run starts with.
const MOST_FREE: u64 = 4 << 20;

/// A tmpfs mounted on a temporary directory, unmounted when dropped.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount() -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=64m", "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("mount: {e}"))?;
        match mounted.status.success() {
            true => Ok(Tmpfs { dir }),
            false => Err(String::from_utf8_lossy(&mounted.stderr).trim().to_owned()),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn free(&self) -> u64 {
        let stat = rustix::fs::statvfs(self.path()).unwrap();
        stat.f_bavail * stat.f_frsize
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

struct Case {
    name: &'static str,
    prepare: inputs::Prepare,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "full disk: ingest csv",
            prepare: inputs::csv,
        },
        Case {
            name: "full disk: process",
            prepare: |store, dir| {
                inputs::queued(store, dir);
                vec!["process".to_owned()]
            },
        },
        Case {
            name: "full disk: sacks --set",
            prepare: |store, dir| {
                inputs::queued(store, dir);
                ["sacks", "--set", "32", "--process"]
                    .map(str::to_owned)
                    .to_vec()
            },
        },
    ]
}

/// One row per command, each run `steps` times; or why the tmpfs could
/// not be mounted.
pub fn run(steps: u32, selected: impl Fn(&str) -> bool) -> Result<Vec<Row>, String> {
    let cases: Vec<Case> = cases().into_iter().filter(|c| selected(c.name)).collect();
    if cases.is_empty() {
        return Ok(Vec::new());
    }
    let tmpfs = Tmpfs::mount()?;
    Ok(cases
        .iter()
        .map(|case| {
            eprintln!("torture: {} ×{steps}", case.name);
            run_case(case, &tmpfs, steps)
        })
        .collect())
}

fn run_case(case: &Case, tmpfs: &Tmpfs, steps: u32) -> Row {
    let started = Instant::now();
    let mut row = Row::new(case.name);
    let template = store::template();
    let inputs = tempfile::tempdir().unwrap();
    let args = (case.prepare)(template.path(), inputs.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let reference = store::copy(template.path());
    store::ok(reference.path(), &args);
    store::ok(reference.path(), &["process"]);
    let expected = store::contents(reference.path());

    for step in 0..steps {
        let victim = tmpfs.path().join("store");
        crate::copy_dir::copy_dir(template.path(), &victim);
        let filler = tmpfs.path().join("filler");
        let leave = MOST_FREE * u64::from(step) / u64::from(steps.max(1));
        fill(&filler, tmpfs.free().saturating_sub(leave));
        let output = store::run(&victim, &args);
        row.runs += 1;
        row.panics += u32::from(store::panicked(&output.stderr));
        if !output.status.success() {
            row.faults += 1;
            let said = String::from_utf8_lossy(&output.stderr);
            let clear = output.status.code() == Some(1)
                && said.contains("No space left on device")
                && said.contains(victim.to_str().unwrap());
            if !clear {
                eprintln!("{}: unclear failure: {said}", case.name);
                row.unclear_errors += 1;
            }
        }
        std::fs::remove_file(&filler).unwrap();
        // The space freed: recovery, and the command again if it failed.
        let recovery = store::run(&victim, &["process"]);
        row.panics += u32::from(store::panicked(&recovery.stderr));
        if !output.status.success() {
            store::ok(&victim, &args);
        }
        store::ok(&victim, &["process"]);
        let got = store::contents(&victim);
        row.acknowledged += expected.total();
        let (lost, duplicated) = compare(&expected, &got);
        row.found += expected.total() - lost;
        row.lost += lost;
        row.duplicated += duplicated;
        if got != expected {
            eprintln!(
                "{}: step {step}: the store differs from an uninterrupted run",
                case.name
            );
            row.differing += 1;
        }
        row.tmp_left += store::tmp_left(&victim);
        row.verify_problems += store::verify_problems(&victim);
        std::fs::remove_dir_all(&victim).unwrap();
    }
    row.elapsed = started.elapsed();
    row
}

/// A file of `bytes` zeros (as much as fits).
fn fill(path: &Path, bytes: u64) {
    use std::io::Write;
    let mut file = std::fs::File::create(path).unwrap();
    let block = vec![0u8; 64 << 10];
    let mut left = bytes;
    while left > 0 {
        let size = left.min(block.len() as u64) as usize;
        if file.write_all(&block[..size]).is_err() {
            break;
        }
        left -= size as u64;
    }
}
