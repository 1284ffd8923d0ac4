//! Transactions: several file writes and deletions that take effect all
//! together or not at all, even if the process is killed at any instant.
//!
//! A transaction stages new files in `tmp/txn-<id>/`, syncs them with one
//! `syncfs`, then writes its journal (the list of renames and deletions) and
//! renames it into place: that rename is the commit point. It then applies
//! the journal and removes the directory. A transaction found later with a
//! journal is replayed (every step is idempotent); one without a journal is
//! discarded. `tmp/txn-<id>.lock` is flocked by the living owner, so only
//! dead transactions are recovered.
//!
//! Transactions of the process pass name the sacks whose archives they
//! change: they are replayed only under those sacks' locks, so a replay never
//! races a pass working on the same metrics.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::lock::{self, SackLocks};
use super::{Result, Store, io_error};

const JOURNAL: &str = "journal";
const PREFIX: &str = "txn-";
/// Attempts at a rename racing a concurrent `rmdir` of its target directory.
const RENAME_ATTEMPTS: usize = 8;

#[derive(Debug, Default, Serialize, Deserialize)]
struct Journal {
    sacks: Vec<u32>,
    /// (staged file name, target path relative to the store root).
    puts: Vec<(String, String)>,
    /// Paths relative to the store root.
    deletes: Vec<String>,
}

/// A set of file writes and deletions to apply atomically.
pub struct Transaction<'s> {
    store: &'s Store,
    dir: PathBuf,
    lock_path: PathBuf,
    _lock: File,
    sacks: Vec<u32>,
    puts: Vec<(String, Vec<u8>)>,
    deletes: Vec<String>,
}

/// Flushes everything written to the filesystem holding `path`.
pub fn sync_filesystem(path: &Path) -> Result<()> {
    let dir = File::open(path).map_err(io_error(path))?;
    // SAFETY: syncfs only reads the descriptor, which `dir` keeps open.
    let status = unsafe { libc::syncfs(dir.as_raw_fd()) };
    if status != 0 {
        return Err(super::Error::Io {
            path: path.to_owned(),
            source: io::Error::last_os_error(),
        });
    }
    Ok(())
}

fn fsync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .map_err(io_error(path))
}

impl<'s> Transaction<'s> {
    pub(super) fn begin(store: &'s Store, sacks: &[u32]) -> Result<Self> {
        let name = format!("{PREFIX}{}", uuid::Uuid::new_v4().simple());
        let tmp = store.tmp_dir();
        let lock_path = tmp.join(format!("{name}.lock"));
        let lock = {
            let _gate = lock::gate_shared(store)?;
            lock::try_lock_exclusive(&lock_path)?.ok_or_else(|| super::Error::Io {
                path: lock_path.clone(),
                source: io::Error::new(io::ErrorKind::WouldBlock, "fresh lock file already locked"),
            })?
        };
        Ok(Transaction {
            store,
            dir: tmp.join(name),
            lock_path,
            _lock: lock,
            sacks: sacks.to_vec(),
            puts: Vec::new(),
            deletes: Vec::new(),
        })
    }

    fn relative(&self, path: &Path) -> String {
        let relative = path.strip_prefix(self.store.root()).unwrap_or(path);
        relative.to_string_lossy().into_owned()
    }

    /// Writes `bytes` at `target` (absolute, or relative to the store root).
    pub fn put(&mut self, target: impl AsRef<Path>, bytes: Vec<u8>) {
        let target = self.relative(target.as_ref());
        self.puts.push((target, bytes));
    }

    /// Removes `target` (a missing file is not an error).
    pub fn delete(&mut self, target: impl AsRef<Path>) {
        let target = self.relative(target.as_ref());
        self.deletes.push(target);
    }

    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.deletes.is_empty()
    }

    /// Makes every put and delete durable and visible, all or nothing.
    pub fn commit(mut self) -> Result<()> {
        if self.is_empty() {
            return self.finish();
        }
        fs::create_dir(&self.dir).map_err(io_error(&self.dir))?;
        let puts = std::mem::take(&mut self.puts);
        let staged: Vec<(String, String)> = puts
            .par_iter()
            .enumerate()
            .map(|(i, (target, bytes))| {
                let name = i.to_string();
                let path = self.dir.join(&name);
                fs::write(&path, bytes).map_err(io_error(&path))?;
                Ok((name, target.clone()))
            })
            .collect::<Result<_>>()?;
        drop(puts);
        let journal = Journal {
            sacks: self.sacks.clone(),
            puts: staged,
            deletes: std::mem::take(&mut self.deletes),
        };
        sync_filesystem(&self.dir)?;
        write_journal(&self.dir, &journal)?;
        apply(self.store.root(), &self.dir, &journal)?;
        sync_filesystem(&self.dir)?;
        self.finish()
    }

    fn finish(self) -> Result<()> {
        remove_dir(&self.dir)?;
        remove_file(&self.lock_path)
    }
}

fn write_journal(dir: &Path, journal: &Journal) -> Result<()> {
    let temporary = dir.join(format!("{JOURNAL}.new"));
    let bytes = serde_json::to_vec(journal).expect("journal serializes");
    let mut file = File::create(&temporary).map_err(io_error(&temporary))?;
    file.write_all(&bytes)
        .and_then(|()| file.sync_all())
        .map_err(io_error(&temporary))?;
    let path = dir.join(JOURNAL);
    fs::rename(&temporary, &path).map_err(io_error(&path))?;
    fsync_dir(dir)
}

/// Applies a committed journal; safe to run again after any interruption.
fn apply(root: &Path, dir: &Path, journal: &Journal) -> Result<()> {
    for (staged, target) in &journal.puts {
        let source = dir.join(staged);
        let target = root.join(target);
        rename_creating_parent(&source, &target)?;
    }
    for target in &journal.deletes {
        remove_file(&root.join(target))?;
    }
    Ok(())
}

/// Renames, creating the target's directory when it is missing; a source
/// that no longer exists was renamed by an earlier run of the journal.
fn rename_creating_parent(source: &Path, target: &Path) -> Result<()> {
    for _ in 0..RENAME_ATTEMPTS {
        match fs::rename(source, target) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                if !source.exists() {
                    return Ok(());
                }
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent).map_err(io_error(parent))?;
                }
            }
            Err(source_error) => {
                return Err(super::Error::Io {
                    path: target.to_owned(),
                    source: source_error,
                });
            }
        }
    }
    fs::rename(source, target).map_err(io_error(target))
}

fn remove_file(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(super::Error::Io {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

fn remove_dir(path: &Path) -> Result<()> {
    match fs::remove_dir_all(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(super::Error::Io {
            path: path.to_owned(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Finishes or discards the transactions of processes that died. Those that
/// name sacks are replayed only if every one of their sacks can be locked
/// into `sack_locks`; without `sack_locks`, only sackless ones (measure
/// additions) are replayed. Returns how many journals were replayed.
pub fn recover(store: &Store, mut sack_locks: Option<&mut SackLocks>) -> Result<usize> {
    let tmp = store.tmp_dir();
    let _gate = lock::gate_exclusive(store)?;
    let mut replayed = 0;
    for entry in fs::read_dir(&tmp).map_err(io_error(&tmp))? {
        let entry = entry.map_err(io_error(&tmp))?;
        let file_name = entry.file_name();
        let Some(name) = file_name.to_str().and_then(|n| n.strip_suffix(".lock")) else {
            continue;
        };
        if !name.starts_with(PREFIX) {
            continue;
        }
        let lock_path = entry.path();
        // A living transaction holds its lock.
        let Some(_owner) = lock::try_lock_exclusive(&lock_path)? else {
            continue;
        };
        let dir = tmp.join(name);
        let journal_path = dir.join(JOURNAL);
        match fs::read(&journal_path) {
            Ok(bytes) => {
                let journal: Journal = serde_json::from_slice(&bytes).map_err(|e| {
                    super::Error::IndexData(format!(
                        "{}: unreadable journal: {e}",
                        journal_path.display()
                    ))
                })?;
                let may_replay = match sack_locks.as_deref_mut() {
                    _ if journal.sacks.is_empty() => true,
                    Some(locks) => all_locked(locks, &journal.sacks)?,
                    None => false,
                };
                if !may_replay {
                    continue;
                }
                apply(store.root(), &dir, &journal)?;
                sync_filesystem(&tmp)?;
                replayed += 1;
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(source) => {
                return Err(super::Error::Io {
                    path: journal_path,
                    source,
                });
            }
        }
        remove_dir(&dir)?;
        remove_file(&lock_path)?;
    }
    Ok(replayed)
}

fn all_locked(locks: &mut SackLocks, sacks: &[u32]) -> Result<bool> {
    for &sack in sacks {
        if !locks.try_lock(sack)? {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), 4).unwrap();
        (dir, store)
    }

    #[test]
    fn commit_applies_puts_and_deletes() {
        let (_dir, store) = store();
        let root = store.root().to_owned();
        fs::write(root.join("old"), b"x").unwrap();
        let mut txn = store.begin(&[]).unwrap();
        txn.put(root.join("a/b/new"), b"hello".to_vec());
        txn.delete(root.join("old"));
        txn.delete(root.join("never-existed"));
        txn.commit().unwrap();
        assert_eq!(fs::read(root.join("a/b/new")).unwrap(), b"hello");
        assert!(!root.join("old").exists());
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn dropped_transactions_change_nothing() {
        let (_dir, store) = store();
        let mut txn = store.begin(&[]).unwrap();
        txn.put("file", b"data".to_vec());
        drop(txn);
        assert!(!store.root().join("file").exists());
        // The leftover lock file is discarded by recovery.
        assert_eq!(recover(&store, None).unwrap(), 0);
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn committed_journals_are_replayed() {
        let (_dir, store) = store();
        let root = store.root();
        // A transaction that died right after its commit point.
        let dir = store.tmp_dir().join("txn-dead");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("0"), b"first").unwrap();
        fs::write(dir.join("1"), b"second").unwrap();
        fs::write(store.tmp_dir().join("txn-dead.lock"), b"").unwrap();
        fs::write(root.join("doomed"), b"").unwrap();
        let journal = Journal {
            sacks: vec![],
            puts: vec![("0".into(), "x/one".into()), ("1".into(), "two".into())],
            deletes: vec!["doomed".into()],
        };
        write_journal(&dir, &journal).unwrap();
        // Half applied already.
        fs::create_dir(root.join("x")).unwrap();
        fs::rename(dir.join("0"), root.join("x/one")).unwrap();
        assert_eq!(recover(&store, None).unwrap(), 1);
        assert_eq!(fs::read(root.join("x/one")).unwrap(), b"first");
        assert_eq!(fs::read(root.join("two")).unwrap(), b"second");
        assert!(!root.join("doomed").exists());
        assert!(!dir.exists());
    }

    #[test]
    fn sack_journals_wait_for_their_sack_lock() {
        let (_dir, store) = store();
        let dir = store.tmp_dir().join("txn-sack");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("0"), b"split").unwrap();
        fs::write(store.tmp_dir().join("txn-sack.lock"), b"").unwrap();
        let journal = Journal {
            sacks: vec![2],
            puts: vec![("0".into(), "s".into())],
            deletes: vec![],
        };
        write_journal(&dir, &journal).unwrap();
        assert_eq!(recover(&store, None).unwrap(), 0);
        let mut other = SackLocks::new(&store);
        assert!(other.try_lock(2).unwrap());
        let mut mine = SackLocks::new(&store);
        assert_eq!(recover(&store, Some(&mut mine)).unwrap(), 0);
        drop(other);
        assert_eq!(recover(&store, Some(&mut mine)).unwrap(), 1);
        assert_eq!(fs::read(store.root().join("s")).unwrap(), b"split");
    }

    #[test]
    fn living_transactions_are_left_alone() {
        let (_dir, store) = store();
        let mut txn = store.begin(&[]).unwrap();
        txn.put("later", b"1".to_vec());
        assert_eq!(recover(&store, None).unwrap(), 0);
        txn.commit().unwrap();
        assert!(store.root().join("later").exists());
    }
}
