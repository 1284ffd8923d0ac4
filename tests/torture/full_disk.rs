//! A full disk, for real: each command runs on a store in a small tmpfs
//! left with less and less free space (from 4 MiB down to none), so that
//! the disk fills at a different point of its work each time. A command
//! that fails must exit 1 saying `No space left on device` and naming a
//! path of the store, and leave nothing half-stored: once the space is
//! freed, `process` and the same command again give the store an
//! uninterrupted run gives. Needs root to mount the tmpfs; where mounting
//! is refused the campaign is reported as not run, with the reason. The
//! same tmpfs holds the store of full_disk_serve.rs.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use crate::full_disk_serve;
use crate::recovery::{self, Case};
use crate::store;
use crate::table::Row;

/// The prefix of this campaign's rows.
const PREFIX: &str = "full disk: ";

/// The most free space a run starts with.
const MOST_FREE: u64 = 4 << 20;

/// A tmpfs mounted on a temporary directory, unmounted when dropped.
pub struct Tmpfs {
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

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn free(&self) -> u64 {
        let stat = rustix::fs::statvfs(self.path()).unwrap();
        stat.f_bavail * stat.f_frsize
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// One row per command, each run `steps` times, and the row of `serve`
/// (full_disk_serve.rs); or why the tmpfs could not be mounted.
pub fn run(steps: u32, selected: impl Fn(&str) -> bool) -> Result<Vec<Row>, String> {
    let cases: Vec<Case> = recovery::cases()
        .into_iter()
        .filter(|c| selected(&format!("{PREFIX}{}", c.name)))
        .collect();
    let serve = selected(full_disk_serve::NAME);
    if cases.is_empty() && !serve {
        return Ok(Vec::new());
    }
    let tmpfs = Tmpfs::mount()?;
    let mut rows: Vec<Row> = cases
        .iter()
        .map(|case| {
            eprintln!("torture: {PREFIX}{} ×{steps}", case.name);
            run_case(case, &tmpfs, steps)
        })
        .collect();
    if serve {
        eprintln!("torture: {} ×{steps}", full_disk_serve::NAME);
        rows.push(full_disk_serve::run(&tmpfs, steps));
    }
    Ok(rows)
}

fn run_case(case: &Case, tmpfs: &Tmpfs, steps: u32) -> Row {
    let started = Instant::now();
    let mut row = Row::new(&format!("{PREFIX}{}", case.name));
    let prepared = case.prepare();
    let (template, args, expected) = (&prepared.template, prepared.args(), &prepared.expected);

    for step in 0..steps {
        let victim = tmpfs.path().join("store");
        crate::copy_dir::copy_dir(template.path(), &victim);
        let filler = tmpfs.path().join("filler");
        let leave = MOST_FREE * u64::from(step) / u64::from(steps.max(1));
        fill(&filler, tmpfs.free().saturating_sub(leave));
        let output = store::run(&victim, &args);
        let failed = recovery::judge(
            &mut row,
            &victim,
            prepared.inputs(),
            &output,
            &["No space left on device"],
        );
        // The space freed: recovery, and the command again if it failed.
        std::fs::remove_file(&filler).unwrap();
        recovery::recover_and_check(
            &mut row,
            &victim,
            &args,
            failed,
            !case.acknowledged_before,
            expected,
        );
        std::fs::remove_dir_all(&victim).unwrap();
    }
    row.elapsed = started.elapsed();
    row
}

/// A file of `bytes` zeros (as much as fits).
pub fn fill(path: &Path, bytes: u64) {
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
