//! Changing the number of sacks, as gnocchi-change-sack-size does: only
//! while no measure waits, the old sack directories are replaced by new
//! ones. The store must be open exclusively (`Store::open_exclusive`), so
//! no command writes measures meanwhile.
//!
//! Crash safety: the new sack directories are made first, then
//! `store.json` is replaced atomically (the commit point), then the old,
//! empty, directories are removed. A kill before the commit leaves unused
//! empty directories, after it leftover empty old ones; the next change
//! (even to the same number) removes every empty sack directory of another
//! count, and empty sack directories hold nothing to lose. A metric
//! directory left empty in a sack (its measures processed, its removal
//! failed) holds nothing either: it does not count as waiting, and goes
//! with its sack.

use std::fs;
use std::path::Path;

use super::incoming::SackName;
use super::{Error, Result, Store, check_sacks, io_error, write_config};

/// Entries of the sacks that hold measures (metric directories that are
/// not empty).
fn waiting_entries(store: &Store) -> Result<usize> {
    let incoming = store.incoming_dir();
    let mut waiting = 0;
    let sacks = match fs::read_dir(&incoming) {
        Ok(sacks) => sacks,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(source) => {
            return Err(Error::Io {
                path: incoming,
                source,
            });
        }
    };
    for sack in sacks {
        let sack = sack.map_err(io_error(&incoming))?.path();
        if sack.is_dir() {
            for entry in fs::read_dir(&sack).map_err(io_error(&sack))? {
                let entry = entry.map_err(io_error(&sack))?.path();
                waiting += usize::from(!is_empty_dir(&entry));
            }
        }
    }
    Ok(waiting)
}

/// Sets the number of sacks; returns the previous number.
pub fn set_sacks(store: &mut Store, sacks: u32) -> Result<u32> {
    check_sacks(store.root(), sacks)?;
    if store.shared_with_gnocchi() {
        return Err(Error::BadConfig {
            path: store.incoming_dir().join("tmp/gnocchi-config"),
            reason: "the sack count of a Gnocchi deployment is its incoming driver's: change it with Gnocchi's gnocchi-change-sack-size".to_owned(),
        });
    }
    let waiting = waiting_entries(store)?;
    if waiting > 0 {
        return Err(Error::MeasuresWaiting { metrics: waiting });
    }
    let previous = store.config.sacks;
    let mut config = store.config.clone();
    config.sacks = sacks;
    for number in 0..sacks {
        let dir = store.incoming_dir().join(
            SackName {
                total: sacks,
                number,
            }
            .to_string(),
        );
        super::placement::create_spread_dir(&dir)?;
    }
    write_config(
        store.root(),
        &serde_json::to_value(&config).expect("config serializes"),
    )?;
    store.config = config;
    let incoming = store.incoming_dir();
    for entry in fs::read_dir(&incoming).map_err(io_error(&incoming))? {
        let path = entry.map_err(io_error(&incoming))?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(SackName::parse);
        if name.is_some_and(|n| n.total != sacks) {
            remove_empty_sack(&path)?;
        }
    }
    Ok(previous)
}

fn is_empty_dir(path: &Path) -> bool {
    fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

/// Removes a sack directory that holds no measures: its empty metric
/// directories, then itself.
fn remove_empty_sack(sack: &Path) -> Result<()> {
    for entry in fs::read_dir(sack).map_err(io_error(sack))? {
        let metric = entry.map_err(io_error(sack))?.path();
        fs::remove_dir(&metric).map_err(io_error(&metric))?;
    }
    fs::remove_dir(sack).map_err(io_error(sack))
}
