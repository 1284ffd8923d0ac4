//! `verify --repair`: carries out the repairs `verify` found. Nothing is
//! deleted: bad files and directories move into
//! `STORE/quarantine/<time of the repair>/`, under their path in the store,
//! so they can be looked at or put back; missing directories are created.
//! Each move is one rename, so a repair cut short leaves a store that a
//! second `verify --repair` finishes. A metric's files are moved under its
//! sack's lock, never while a pass or a reader works on it.

use std::fs;
use std::path::{Path, PathBuf};

use super::verify::{Problem, Repair};
use crate::store::lock::{ApplyLocks, SackLocks};
use crate::store::{Error, Result, Store, io_error};
use crate::time::Timestamp;

const QUARANTINE_DIR: &str = "quarantine";

/// What became of one problem.
#[derive(Debug)]
pub enum Outcome {
    /// Moved to this path.
    Quarantined(PathBuf),
    Created,
    /// Left as it is, with the reason.
    Left(String),
}

/// A new directory under `STORE/quarantine/` named after `now`.
fn quarantine_dir(store: &Store, now: Timestamp) -> Result<PathBuf> {
    let parent = store.root().join(QUARANTINE_DIR);
    fs::create_dir_all(&parent).map_err(io_error(&parent))?;
    let stamp = now.to_api_string().replace(['-', ':'], "");
    let stamp = stamp.trim_end_matches("+0000");
    let mut attempt = 0u64;
    loop {
        let name = match attempt {
            0 => stamp.to_owned(),
            n => format!("{stamp}-{n}"),
        };
        let dir = parent.join(name);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => attempt += 1,
            Err(source) => return Err(Error::Io { path: dir, source }),
        }
    }
}

fn move_into(store: &Store, quarantine: &Path, path: &Path) -> Result<PathBuf> {
    let relative = path.strip_prefix(store.root()).unwrap_or(path);
    let target = quarantine.join(relative);
    if let Some(parent) = target.parent() {
        fs::create_dir_all(parent).map_err(io_error(parent))?;
    }
    fs::rename(path, &target).map_err(io_error(path))?;
    Ok(target)
}

fn create_dirs(dirs: &[PathBuf]) -> Result<()> {
    for dir in dirs {
        fs::create_dir_all(dir).map_err(io_error(dir))?;
    }
    Ok(())
}

/// Repairs each problem; `now` names the quarantine directory.
pub fn repair(
    store: &Store,
    problems: Vec<Problem>,
    now: Timestamp,
) -> Result<Vec<(Problem, Outcome)>> {
    let mut quarantine: Option<PathBuf> = None;
    let mut locks = SackLocks::new(store);
    let incoming = store.incoming();
    let mut outcomes = Vec::with_capacity(problems.len());
    for problem in problems {
        let sack = problem.metric.map(|id| incoming.sack_of(id));
        if let Some(sack) = sack
            && problem.repair != Repair::Manual
            && !locks.try_lock(sack)?
        {
            let reason = format!("sack {sack} is being processed; run the repair again later");
            outcomes.push((problem, Outcome::Left(reason)));
            continue;
        }
        let _no_readers = ApplyLocks::exclusive(store, sack.as_slice())?;
        let outcome = match &problem.repair {
            Repair::Quarantine => {
                let dir = match &quarantine {
                    Some(dir) => dir.clone(),
                    None => quarantine.insert(quarantine_dir(store, now)?).clone(),
                };
                let moved = move_into(store, &dir, &problem.path)?;
                if let Some(id) = problem.metric {
                    incoming.remove_metric_dir_if_empty(id);
                }
                Outcome::Quarantined(moved)
            }
            Repair::Create(dirs) => {
                create_dirs(dirs)?;
                Outcome::Created
            }
            Repair::Manual => Outcome::Left("needs a person: carbonara cannot fix it".to_owned()),
        };
        outcomes.push((problem, outcome));
    }
    Ok(outcomes)
}
