//! Advisory file locks (flock) of a store: one per sack, held by the
//! process pass that works on it, and the transaction gate that keeps
//! recovery from mistaking a transaction being born for a dead one.

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};

use super::{Result, Store, io_error};

fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_error(path))
}

/// Takes an exclusive lock without waiting; `None` when someone holds it.
pub fn try_lock_exclusive(path: &Path) -> Result<Option<File>> {
    let file = open_lock_file(path)?;
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(source)) => Err(super::Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

fn gate_path(store: &Store) -> PathBuf {
    store.locks_dir().join("txn.lock")
}

/// Held (shared) while a transaction creates and locks its own lock file.
pub fn gate_shared(store: &Store) -> Result<File> {
    let path = gate_path(store);
    let file = open_lock_file(&path)?;
    file.lock_shared().map_err(io_error(&path))?;
    Ok(file)
}

/// Held (exclusive) while recovery decides which transactions are dead.
pub fn gate_exclusive(store: &Store) -> Result<File> {
    let path = gate_path(store);
    let file = open_lock_file(&path)?;
    file.lock().map_err(io_error(&path))?;
    Ok(file)
}

/// The sack locks one process holds; released when dropped. Two
/// `carbonara process` runs on one store split the sacks between them.
#[derive(Debug)]
pub struct SackLocks {
    dir: PathBuf,
    held: HashMap<u32, File>,
}

impl SackLocks {
    pub fn new(store: &Store) -> Self {
        SackLocks {
            dir: store.locks_dir(),
            held: HashMap::new(),
        }
    }

    /// Locks a sack unless another process holds it; true when held.
    pub fn try_lock(&mut self, sack: u32) -> Result<bool> {
        if self.held.contains_key(&sack) {
            return Ok(true);
        }
        let path = self.dir.join(format!("sack-{sack}.lock"));
        match try_lock_exclusive(&path)? {
            Some(file) => {
                self.held.insert(sack, file);
                Ok(true)
            }
            None => Ok(false),
        }
    }

    pub fn release(&mut self, sack: u32) {
        self.held.remove(&sack);
    }
}
