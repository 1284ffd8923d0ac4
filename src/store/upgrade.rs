//! Bringing a store written by an older carbonara to the current format.
//! `store.json` carries the format number. `STEPS` is an ordered list, one
//! step per format: a step takes a store from format N to N+1 and ends by
//! writing `store.json` with N+1, its commit point, so an upgrade killed in
//! a step resumes at that step, whose work is therefore repeatable. Steps
//! are only ever added.
//!
//! Format 0 is the pre-release layout: `store.json` without `format`, and
//! the sacks `incoming<N>-<k>` directly in the store directory (where
//! Gnocchi's file driver keeps them, in its base path) instead of under
//! `incoming/`.

use std::fs;
use std::path::Path;

use serde_json::Value;

use super::incoming::SackName;
use super::lock::StoreUse;
use super::{
    Error, FORMAT_VERSION, INDEX_FILE, Result, SqliteIndex, io_error, read_format, write_config,
};

/// Takes a store from format `from` to `from + 1`.
pub struct Step {
    pub from: u32,
    /// What the step changes, for the user.
    pub summary: &'static str,
    /// Does the work on the store at the path, given `store.json`'s
    /// contents, which it may change; `format` is set after it.
    run: fn(&Path, &mut Value) -> Result<()>,
}

/// Every step, in order.
pub const STEPS: &[Step] = &[
    Step {
        from: 0,
        summary: "the sacks move into incoming/; store.json gets its format number",
        run: sacks_into_incoming,
    },
    Step {
        from: 1,
        summary: "the index gets resource types, resources and their history",
        run: index_with_resources,
    },
];

/// Format 2: index schema 2 (`SqliteIndex::migrate_from`, one SQLite transaction,
/// a no-op once done).
fn index_with_resources(root: &Path, _config: &mut Value) -> Result<()> {
    let (index, version) = SqliteIndex::open_any_version(&root.join(INDEX_FILE))?;
    index.migrate_from(version)
}

/// What `upgrade` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The store was already of this, the current, format.
    Current(u32),
    /// Upgraded from `from`; the summaries of the steps taken.
    Upgraded { from: u32, steps: Vec<&'static str> },
}

fn sacks_into_incoming(root: &Path, config: &mut Value) -> Result<()> {
    let incoming = root.join("incoming");
    fs::create_dir_all(&incoming).map_err(io_error(&incoming))?;
    for entry in fs::read_dir(root).map_err(io_error(root))? {
        let old = entry.map_err(io_error(root))?.path();
        let Some(name) = old.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        if SackName::parse(name).is_none() || !old.is_dir() {
            continue;
        }
        let new = incoming.join(name);
        // A kill between a mkdir of the new sack and the rename cannot
        // happen (one rename per sack), but an empty leftover is harmless.
        if new.exists() {
            fs::remove_dir(&new).map_err(io_error(&new))?;
        }
        fs::rename(&old, &new).map_err(io_error(&new))?;
    }
    let sacks = config
        .get("sacks")
        .and_then(Value::as_u64)
        .and_then(|s| u32::try_from(s).ok())
        .ok_or_else(|| Error::BadConfig {
            path: root.join("store.json"),
            reason: "no number of sacks".to_owned(),
        })?;
    for number in 0..sacks {
        let dir = incoming.join(
            SackName {
                total: sacks,
                number,
            }
            .to_string(),
        );
        super::placement::create_spread_dir(&dir)?;
    }
    Ok(())
}

/// Upgrades the store at `root` to the current format, alone: fails while
/// any other process has it open. Refuses a store of a newer format.
pub fn upgrade(root: &Path) -> Result<Outcome> {
    let from = read_format(root)?;
    if from > FORMAT_VERSION {
        return Err(Error::UnsupportedFormat {
            path: root.join("store.json"),
            found: from,
        });
    }
    if from == FORMAT_VERSION {
        return Ok(Outcome::Current(from));
    }
    let locks = root.join("locks");
    fs::create_dir_all(&locks).map_err(io_error(&locks))?;
    let _alone = StoreUse::try_exclusive(&locks)?.ok_or_else(|| Error::StoreBusy {
        path: root.to_owned(),
    })?;
    let path = root.join("store.json");
    let text = fs::read_to_string(&path).map_err(io_error(&path))?;
    let mut config: Value = serde_json::from_str(&text).map_err(|e| Error::BadConfig {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    let mut format = from;
    let mut taken = Vec::new();
    while format < FORMAT_VERSION {
        let step = STEPS
            .iter()
            .find(|s| s.from == format)
            .ok_or_else(|| Error::BadConfig {
                path: path.clone(),
                reason: format!("no upgrade step from format {format}"),
            })?;
        (step.run)(root, &mut config)?;
        format += 1;
        config["format"] = Value::from(format);
        write_config(root, &config)?;
        taken.push(step.summary);
    }
    Ok(Outcome::Upgraded { from, steps: taken })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_before_the_current_one_has_a_step() {
        for (i, step) in STEPS.iter().enumerate() {
            assert_eq!(step.from, i as u32);
        }
        assert_eq!(STEPS.len() as u32, FORMAT_VERSION);
    }
}
