//! Advisory file locks (flock) of a store: one per sack, held by the
//! process pass that works on it; the transaction gate that keeps
//! recovery from mistaking a transaction being born for a dead one; and the
//! store-use lock, shared by every open store and exclusive for the
//! commands that change its layout (`sacks --set`, `upgrade`).
//!
//! A sack's apply lock file also holds its archive generation: a counter
//! every writer bumps when it takes the lock, so that a reader can tell
//! whether the archives changed since it last read them (the server's
//! answer cache).

use std::collections::HashMap;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::coordinator::{Coordination, Session};
use super::incoming::SackName;
use super::txn::Unsettled;
use super::{Result, Store, io_error};

fn open_lock_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(io_error(path))
}

/// Takes an exclusive lock on an open file without waiting; `None` when
/// someone holds it.
fn try_lock(file: File, path: &Path) -> Result<Option<File>> {
    match file.try_lock() {
        Ok(()) => Ok(Some(file)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(source)) => Err(super::Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Locks a lock file (created if missing) without waiting.
pub fn try_lock_exclusive(path: &Path) -> Result<Option<File>> {
    try_lock(open_lock_file(path)?, path)
}

/// Locks a directory (flock on its descriptor) without waiting; `None` when
/// someone holds it.
pub fn try_lock_dir(path: &Path) -> Result<Option<File>> {
    try_lock(File::open(path).map_err(io_error(path))?, path)
}

/// [`try_lock_dir`] on a directory its owner may have removed meanwhile:
/// `None` also when it is gone.
pub fn try_lock_dir_if_present(path: &Path) -> Result<Option<File>> {
    match File::open(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        opened => try_lock(opened.map_err(io_error(path))?, path),
    }
}

fn use_path(locks_dir: &Path) -> PathBuf {
    locks_dir.join("store.lock")
}

/// Held while a store is open: shared by every command, exclusive by one
/// that changes the store's layout, which then runs alone.
#[derive(Debug)]
pub struct StoreUse {
    _file: File,
}

impl StoreUse {
    /// Waits while a layout change runs.
    pub fn shared(locks_dir: &Path) -> Result<StoreUse> {
        let path = use_path(locks_dir);
        let file = open_lock_file(&path)?;
        file.lock_shared().map_err(io_error(&path))?;
        Ok(StoreUse { _file: file })
    }

    /// `None` while any other process has the store open.
    pub fn try_exclusive(locks_dir: &Path) -> Result<Option<StoreUse>> {
        Ok(try_lock_exclusive(&use_path(locks_dir))?.map(|file| StoreUse { _file: file }))
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
/// `carbonara process` runs on one store split the sacks between them. On
/// a Gnocchi deployment, a sack is held only with tooz's lock too (an
/// advisory lock in PostgreSQL, a key in Redis), so that gnocchi-metricd
/// workers and carbonara never work on one sack at once.
#[derive(Debug)]
pub struct SackLocks {
    dir: PathBuf,
    sacks: u32,
    /// The deployment's coordinator, until the first lock connects.
    coordination: Option<Coordination>,
    session: Option<Session>,
    held: HashMap<u32, File>,
    /// Settled before a sack is released: another process never works on
    /// a sack whose last changes are not durable yet.
    unsettled: Arc<Unsettled>,
}

impl Drop for SackLocks {
    fn drop(&mut self) {
        if !self.held.is_empty() {
            self.settle();
        }
    }
}

impl SackLocks {
    pub fn new(store: &Store) -> Self {
        SackLocks {
            dir: store.locks_dir(),
            sacks: store.config().sacks,
            // Checked when the store was opened.
            coordination: store.config().backends.coordination().ok().flatten(),
            session: None,
            held: HashMap::new(),
            unsettled: Arc::clone(store.unsettled()),
        }
    }

    /// Locks a sack unless another process holds it; true when held.
    pub fn try_lock(&mut self, sack: u32) -> Result<bool> {
        if self.held.contains_key(&sack) {
            return Ok(true);
        }
        let path = self.dir.join(format!("sack-{sack}.lock"));
        let Some(file) = try_lock_exclusive(&path)? else {
            return Ok(false);
        };
        let name = self.sack_name(sack);
        if let Some(session) = self.session()?
            && !session.try_lock(name)?
        {
            return Ok(false);
        }
        self.held.insert(sack, file);
        Ok(true)
    }

    pub fn release(&mut self, sack: u32) {
        if !self.held.contains_key(&sack) {
            return;
        }
        self.settle();
        self.held.remove(&sack);
        let name = self.sack_name(sack);
        if let Some(session) = &mut self.session {
            session.unlock(name);
        }
    }

    /// Settles this process's transactions before a sack lock goes. On an
    /// error their journals stay for the next holder to replay.
    fn settle(&self) {
        if let Err(error) = self.unsettled.settle() {
            crate::diagnostics::warn(&format!(
                "cannot settle the last transactions; the next pass replays them: {error}"
            ));
        }
    }

    fn sack_name(&self, number: u32) -> SackName {
        SackName {
            total: self.sacks,
            number,
        }
    }

    /// The session of the deployment's coordinator, if it has one.
    fn session(&mut self) -> Result<Option<&mut Session>> {
        if self.session.is_none()
            && let Some(coordination) = &self.coordination
        {
            self.session = Some(Session::new(coordination)?);
        }
        Ok(self.session.as_mut())
    }
}

fn apply_lock_path(store: &Store, sack: u32) -> PathBuf {
    store.locks_dir().join(format!("apply-{sack}.lock"))
}

/// The archive generation kept in an apply lock file (0 while empty).
fn read_generation(file: &File, path: &Path) -> Result<u64> {
    let mut bytes = [0; 8];
    match file.read_exact_at(&mut bytes, 0) {
        Ok(()) => Ok(u64::from_le_bytes(bytes)),
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        Err(source) => Err(io_error(path)(source)),
    }
}

/// Held exclusively while a transaction rewrites the archives of its sacks.
pub struct ApplyLocks {
    _files: Vec<File>,
}

impl ApplyLocks {
    /// Waits for the readers of these sacks, then excludes new ones and
    /// bumps the sacks' archive generations.
    pub fn exclusive(store: &Store, sacks: &[u32]) -> Result<ApplyLocks> {
        let mut ordered = sacks.to_vec();
        // One order for every writer: no deadlock between two of them.
        ordered.sort_unstable();
        ordered.dedup();
        let mut files = Vec::with_capacity(ordered.len());
        for sack in ordered {
            let path = apply_lock_path(store, sack);
            let file = open_lock_file(&path)?;
            file.lock().map_err(io_error(&path))?;
            let next = read_generation(&file, &path)?.wrapping_add(1);
            file.write_all_at(&next.to_le_bytes(), 0)
                .map_err(io_error(&path))?;
            files.push(file);
        }
        Ok(ApplyLocks { _files: files })
    }
}

/// Held (shared) while reading a metric's archive files, so that no
/// transaction rewrites them meanwhile.
pub struct ReadLock {
    file: File,
    path: PathBuf,
}

impl ReadLock {
    pub fn shared(store: &Store, sack: u32) -> Result<ReadLock> {
        let path = apply_lock_path(store, sack);
        let file = open_lock_file(&path)?;
        file.lock_shared().map_err(io_error(&path))?;
        Ok(ReadLock { file, path })
    }

    /// `None` while a writer holds the sack's archives.
    pub fn try_shared(store: &Store, sack: u32) -> Result<Option<ReadLock>> {
        let path = apply_lock_path(store, sack);
        let file = open_lock_file(&path)?;
        match file.try_lock_shared() {
            Ok(()) => Ok(Some(ReadLock { file, path })),
            Err(TryLockError::WouldBlock) => Ok(None),
            Err(TryLockError::Error(source)) => Err(io_error(&path)(source)),
        }
    }

    /// The sack's archive generation: it changes whenever a writer may
    /// have rewritten the sack's archives, and not while this lock is held.
    pub fn generation(&self) -> Result<u64> {
        read_generation(&self.file, &self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_removed_by_its_owner_is_not_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("txn-gone");
        assert!(try_lock_dir_if_present(&gone).unwrap().is_none());
        assert!(try_lock_dir(&gone).is_err());
        std::fs::create_dir(&gone).unwrap();
        let held = try_lock_dir_if_present(&gone).unwrap();
        assert!(held.is_some());
        assert!(try_lock_dir_if_present(&gone).unwrap().is_none());
    }

    #[test]
    fn writers_bump_the_archive_generation_of_their_sacks_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), 4).unwrap();
        let generation = |sack| {
            ReadLock::shared(&store, sack)
                .unwrap()
                .generation()
                .unwrap()
        };
        assert_eq!(generation(1), 0);
        drop(ApplyLocks::exclusive(&store, &[1, 3, 1]).unwrap());
        drop(ApplyLocks::exclusive(&store, &[1]).unwrap());
        assert_eq!((generation(0), generation(1), generation(3)), (0, 2, 1));
        let writing = ApplyLocks::exclusive(&store, &[2]).unwrap();
        assert!(ReadLock::try_shared(&store, 2).unwrap().is_none());
        assert!(ReadLock::try_shared(&store, 1).unwrap().is_some());
        drop(writing);
        assert!(ReadLock::try_shared(&store, 2).unwrap().is_some());
    }
}
