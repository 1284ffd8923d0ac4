//! Transactions: file writes and deletions that take effect all together or
//! not at all, even if the process is killed at any instant.
//!
//! A transaction lives in `tmp/txn-<id>/`, a directory its owner keeps
//! flocked. Files whose names are new (`put`/`append`, used for incoming
//! measures) are staged there as they come, so a large import holds little
//! in memory, and later renamed into place. Rewrites of
//! archive files (`write`) go into the journal itself: the file's new bytes
//! are written over the old ones in place at apply time. Overwriting in
//! place costs a few microseconds where creating and renaming a file costs
//! a few hundred on some filesystems (no journal, online discard).
//!
//! Commit: write the `journal` (header, data, and a CRC-32 of both; the
//! header holds the length and CRC-32 of every staged file), then one
//! `syncfs` — the commit point — then apply the journal. A dead
//! transaction whose journal and staged files are whole is replayed (every
//! step is idempotent); any other is discarded: a journal or a staged file
//! that does not match its CRC is one whose sync never completed, and
//! whose transaction was never acknowledged.
//!
//! An applied transaction is *unsettled* until a later sync has made its
//! changes durable: its directory stays, locked, and is removed by
//! [`Unsettled::settle`] (one `syncfs`), which runs before the process
//! releases a sack lock and when the store is closed; a transaction that
//! names no sack (measures added) is also removed after the next commit's
//! sync. A group commit thus costs one sync, and a pass one per
//! transaction and one at its end, not three per transaction. A journal
//! left by a crash is replayed in commit order, whole: after a power cut
//! the deletions of an apply may be on disk without its writes, and no
//! other process has touched its sacks since (they were not released).
//!
//! On a store shared with Gnocchi, whose processes take none of these locks,
//! a transaction settles at once, and the changes computed from files the
//! transaction consumes (a metric's incoming measures) are replayed only
//! while those files are all still there, so a replay never overwrites what
//! gnocchi-metricd made of them meanwhile.
//!
//! Transactions that rewrite archives name their sacks. They apply under the
//! sacks' apply locks, which readers share (`lock::ReadLock`), so a reader
//! never sees a half-written file; and they are replayed only under those
//! sacks' pass locks, so a replay never races a pass on the same metrics.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::incoming::{SackName, StagedBatch};
use super::lock::{self, ApplyLocks, SackLocks};
use super::{Index, Result, Store, io_error};

const JOURNAL: &str = "journal";
const PREFIX: &str = "txn-";
/// Starts every journal file; the JSON header's length follows as u64 LE,
/// then the header, the data and the CRC-32 of everything before it.
const JOURNAL_MAGIC: &[u8; 8] = b"CBNJRNL2";
/// The journals of earlier versions: committed by a rename, no CRC.
const JOURNAL_MAGIC_RENAMED: &[u8; 8] = b"CBNJRNL1";
/// The most bytes of measures pushed to a remote incoming driver at once.
const PUSH_BYTES: usize = 32 << 20;
/// Attempts at a rename racing a concurrent `rmdir` of its target directory.
const RENAME_ATTEMPTS: usize = 8;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Journal {
    sacks: Vec<u32>,
    /// (staged file name, target path relative to the store root).
    puts: Vec<(String, String)>,
    /// (target path relative to the store root, offset and length of its
    /// bytes in the journal's data).
    writes: Vec<(String, u64, u64)>,
    /// Paths relative to the store root.
    deletes: Vec<String>,
    /// Set when the journal goes with index changes: it counts as
    /// committed only if the index recorded this token.
    #[serde(default)]
    index_token: Option<String>,
    /// Writes and deletions computed from files the journal deletes too
    /// (`Transaction::consume`).
    #[serde(default)]
    derived: Vec<Derived>,
    /// The length and CRC-32 of each staged file of `puts`.
    #[serde(default)]
    staged: Vec<(u64, u32)>,
    /// Orders the journals a crash left: a later commit replays after.
    #[serde(default)]
    sequence: u64,
}

/// Ranges (start, end) of a journal's `writes` and `deletes` computed from
/// `sources`, a range of its `deletes`.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Derived {
    writes: (usize, usize),
    deletes: (usize, usize),
    sources: (usize, usize),
}

/// A set of file writes and deletions to apply atomically.
pub struct Transaction<'s> {
    store: &'s Store,
    dir: PathBuf,
    /// The directory itself, flocked while the transaction lives.
    _lock: File,
    sacks: Vec<u32>,
    /// (staged file name, target), in the order they were started.
    puts: Vec<(String, String)>,
    /// Target → index in `puts`, for appending.
    staged: HashMap<String, usize>,
    /// The length and CRC-32 of each staged file so far.
    sums: Vec<(u64, crc32fast::Hasher)>,
    writes: Vec<(String, Vec<u8>)>,
    deletes: Vec<String>,
    derived: Vec<Derived>,
}

/// Syncs made by this process so far, and the nanoseconds they took.
static SYNCS: (AtomicU64, AtomicU64) = (AtomicU64::new(0), AtomicU64::new(0));

/// Flushes everything written to the filesystem holding `path`.
pub fn sync_filesystem(path: &Path) -> Result<()> {
    let dir = File::open(path).map_err(io_error(path))?;
    let started = std::time::Instant::now();
    let synced = rustix::fs::syncfs(&dir);
    SYNCS.0.fetch_add(1, Ordering::Relaxed);
    SYNCS
        .1
        .fetch_add(started.elapsed().as_nanos() as u64, Ordering::Relaxed);
    synced.map_err(|errno| super::Error::Io {
        path: path.to_owned(),
        source: errno.into(),
    })
}

/// How many syncs this process made and the time they took: the floor a
/// pass's durability sets (the benchmarks report it beside the pass).
pub fn sync_statistics() -> (u64, std::time::Duration) {
    (
        SYNCS.0.load(Ordering::Relaxed),
        std::time::Duration::from_nanos(SYNCS.1.load(Ordering::Relaxed)),
    )
}

impl<'s> Transaction<'s> {
    pub(super) fn begin(store: &'s Store, sacks: &[u32]) -> Result<Self> {
        let dir = store
            .tmp_dir()
            .join(format!("{PREFIX}{}", uuid::Uuid::new_v4().simple()));
        let lock = {
            // Recovery holds the gate exclusively: it never sees this
            // directory before it is locked.
            let _gate = lock::gate_shared(store)?;
            fs::create_dir(&dir).map_err(io_error(&dir))?;
            lock::try_lock_dir(&dir)?.ok_or_else(|| super::Error::Io {
                path: dir.clone(),
                source: io::Error::new(
                    io::ErrorKind::WouldBlock,
                    "a new directory is already locked",
                ),
            })?
        };
        Ok(Transaction {
            store,
            dir,
            _lock: lock,
            sacks: sacks.to_vec(),
            puts: Vec::new(),
            staged: HashMap::new(),
            sums: Vec::new(),
            writes: Vec::new(),
            deletes: Vec::new(),
            derived: Vec::new(),
        })
    }

    fn relative(&self, path: &Path) -> String {
        let relative = path.strip_prefix(self.store.root()).unwrap_or(path);
        relative.to_string_lossy().into_owned()
    }

    /// Creates a file with a new name at `target` (absolute, or relative to
    /// the store root), by renaming a staged copy into place.
    pub fn put(&mut self, target: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
        self.append(target, bytes)
    }

    /// Adds `bytes` to the end of the new file `target`, staged now.
    pub fn append(&mut self, target: impl AsRef<Path>, bytes: &[u8]) -> Result<()> {
        let target = self.relative(target.as_ref());
        let index = match self.staged.get(&target) {
            Some(&index) => index,
            None => {
                self.puts
                    .push((self.puts.len().to_string(), target.clone()));
                self.sums.push((0, crc32fast::Hasher::new()));
                self.staged.insert(target, self.puts.len() - 1);
                self.puts.len() - 1
            }
        };
        let path = self.dir.join(&self.puts[index].0);
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut file| file.write_all(bytes))
            .map_err(io_error(&path))?;
        let (length, sum) = &mut self.sums[index];
        *length += bytes.len() as u64;
        sum.update(bytes);
        Ok(())
    }

    /// Sets the contents of `target`, created if missing, overwritten in
    /// place otherwise. Only for files of the transaction's sacks.
    pub fn write(&mut self, target: impl AsRef<Path>, bytes: Vec<u8>) {
        let target = self.relative(target.as_ref());
        self.writes.push((target, bytes));
    }

    /// Removes `target` (a missing file is not an error).
    pub fn delete(&mut self, target: impl AsRef<Path>) {
        let target = self.relative(target.as_ref());
        self.deletes.push(target);
    }

    /// Writes and deletes files computed from `sources` (a metric's
    /// incoming measures), which are deleted too. A replay after a crash
    /// applies these changes only while every source is still there: a
    /// source gone means its measures were aggregated since, by this
    /// transaction's interrupted apply (which writes before it deletes) or
    /// by another process (gnocchi-metricd on a deployment it shares),
    /// whose newer files these must not overwrite. The sources left are
    /// deleted either way.
    pub fn consume(
        &mut self,
        sources: Vec<PathBuf>,
        writes: Vec<(PathBuf, Vec<u8>)>,
        deletes: Vec<PathBuf>,
    ) {
        let first_write = self.writes.len();
        for (path, bytes) in writes {
            self.write(path, bytes);
        }
        let first_delete = self.deletes.len();
        for path in deletes {
            self.delete(path);
        }
        let first_source = self.deletes.len();
        for path in sources {
            self.delete(path);
        }
        self.derived.push(Derived {
            writes: (first_write, self.writes.len()),
            deletes: (first_delete, first_source),
            sources: (first_source, self.deletes.len()),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.puts.is_empty() && self.writes.is_empty() && self.deletes.is_empty()
    }

    /// Makes every change durable and visible, all or nothing.
    pub fn commit(mut self) -> Result<()> {
        if self.is_empty() {
            return remove_dir(&self.dir);
        }
        let (journal, data) = self.journal(None);
        let earlier = self.store.unsettled().take_sackless();
        write_journal(&self.dir, &journal, &data)?;
        remove_settled(earlier)?;
        let settle_now = self.store.shared_with_gnocchi();
        self.apply_committed(&journal, &data, settle_now)
    }

    /// Points the new file staged for `from` (see `put`) at `to`.
    pub fn retarget(&mut self, from: impl AsRef<Path>, to: impl AsRef<Path>) {
        let from = self.relative(from.as_ref());
        let to = self.relative(to.as_ref());
        if let Some(index) = self.staged.remove(&from) {
            self.puts[index].1 = to.clone();
            self.staged.insert(to, index);
        }
    }

    /// Commits index changes and these files together. `changes` runs in
    /// one SQLite transaction, which commits after the journal is written
    /// and synced, with a token that names the journal: that commit is the
    /// commit point. A transaction that dies before it leaves neither the
    /// index changes nor the files (recovery finds no token and discards
    /// the journal); one that dies after it leaves both (recovery replays
    /// the journal). `changes` may retarget the staged files. Not to be
    /// called inside `Index::atomically`.
    pub fn commit_with_index<T>(
        mut self,
        index: &Index,
        changes: impl FnOnce(&Index, &mut Self) -> Result<T>,
    ) -> Result<T> {
        let token = uuid::Uuid::new_v4().simple().to_string();
        let earlier = self.store.unsettled().take_sackless();
        let (value, journal, data) = index.atomically_once(|index| {
            let value = changes(index, &mut self)?;
            let (journal, data) = self.journal(Some(token.clone()));
            write_journal(&self.dir, &journal, &data)?;
            index.record_commit(&token)?;
            Ok((value, journal, data))
        })?;
        remove_settled(earlier)?;
        // Settled at once: the token is forgotten only once the journal is
        // gone.
        self.apply_committed(&journal, &data, true)?;
        index.forget_commit(&token)?;
        Ok(value)
    }

    /// The journal of everything staged so far.
    fn journal(&mut self, index_token: Option<String>) -> (Journal, Vec<u8>) {
        let mut journal = Journal {
            sacks: std::mem::take(&mut self.sacks),
            puts: std::mem::take(&mut self.puts),
            deletes: std::mem::take(&mut self.deletes),
            derived: std::mem::take(&mut self.derived),
            staged: std::mem::take(&mut self.sums)
                .into_iter()
                .map(|(length, sum)| (length, sum.finalize()))
                .collect(),
            sequence: next_sequence(),
            index_token,
            ..Journal::default()
        };
        self.staged.clear();
        let mut data = Vec::with_capacity(self.writes.iter().map(|(_, b)| b.len()).sum());
        for (target, bytes) in std::mem::take(&mut self.writes) {
            journal
                .writes
                .push((target, data.len() as u64, bytes.len() as u64));
            data.extend_from_slice(&bytes);
        }
        (journal, data)
    }

    /// Applies a committed journal; then removes the transaction after a
    /// sync (`settle_now`) or leaves it unsettled.
    fn apply_committed(self, journal: &Journal, data: &[u8], settle_now: bool) -> Result<()> {
        {
            let _applying = ApplyLocks::exclusive(self.store, &journal.sacks)?;
            apply(self.store, &self.dir, journal, data)?;
        }
        if settle_now {
            sync_filesystem(&self.dir)?;
            return remove_dir(&self.dir);
        }
        self.store.unsettled().push(Applied {
            dir: self.dir,
            _lock: self._lock,
            sackless: journal.sacks.is_empty(),
        });
        Ok(())
    }
}

/// A number larger than every earlier journal's in this process, and than
/// those of processes that committed before (the time, in nanoseconds).
fn next_sequence() -> u64 {
    static LAST: AtomicU64 = AtomicU64::new(0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos() as u64);
    let previous = LAST
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |last| {
            Some(now.max(last + 1))
        })
        .unwrap_or_default();
    now.max(previous + 1)
}

/// The applied transactions of one process whose changes no sync has yet
/// made durable.
#[derive(Debug)]
pub struct Unsettled {
    tmp: PathBuf,
    transactions: Mutex<Vec<Applied>>,
}

/// An applied transaction's directory, still locked, with its journal.
#[derive(Debug)]
struct Applied {
    dir: PathBuf,
    _lock: File,
    /// Whether it names no sack: a replay only renames its staged files
    /// into place, never over another's changes.
    sackless: bool,
}

impl Unsettled {
    pub(super) fn new(tmp: PathBuf) -> Self {
        Unsettled {
            tmp,
            transactions: Mutex::new(Vec::new()),
        }
    }

    fn push(&self, applied: Applied) {
        self.lock().push(applied);
    }

    /// The sackless transactions applied so far, for a commit to remove
    /// after its sync. (Those of sacks wait for `settle`, which returns only
    /// once they are gone, before their sacks are released.)
    fn take_sackless(&self) -> Vec<Applied> {
        let mut transactions = self.lock();
        let (sackless, others) = std::mem::take(&mut *transactions)
            .into_iter()
            .partition(|applied| applied.sackless);
        *transactions = others;
        sackless
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Applied>> {
        self.transactions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Makes every applied transaction durable with one sync, and removes
    /// them. On an error they stay on disk, unlocked, for recovery.
    pub fn settle(&self) -> Result<()> {
        let applied = std::mem::take(&mut *self.lock());
        if applied.is_empty() {
            return Ok(());
        }
        sync_filesystem(&self.tmp)?;
        remove_settled(applied)
    }
}

/// Removes transactions a completed sync has made durable.
fn remove_settled(transactions: Vec<Applied>) -> Result<()> {
    for applied in transactions {
        remove_dir(&applied.dir)?;
    }
    Ok(())
}

/// Writes the journal and syncs it with every staged file: the commit point.
fn write_journal(dir: &Path, journal: &Journal, data: &[u8]) -> Result<()> {
    let path = dir.join(JOURNAL);
    let header = serde_json::to_vec(journal).expect("journal serializes");
    let mut sum = crc32fast::Hasher::new();
    let length = (header.len() as u64).to_le_bytes();
    for part in [JOURNAL_MAGIC.as_slice(), &length, &header, data] {
        sum.update(part);
    }
    let mut file = File::create(&path).map_err(io_error(&path))?;
    file.write_all(JOURNAL_MAGIC)
        .and_then(|()| file.write_all(&length))
        .and_then(|()| file.write_all(&header))
        .and_then(|()| file.write_all(data))
        .and_then(|()| file.write_all(&sum.finalize().to_le_bytes()))
        .map_err(io_error(&path))?;
    drop(file);
    sync_filesystem(dir)
}

/// A dead transaction's journal and data; `None` when it never committed
/// (its journal or one of its staged files is not whole).
fn read_journal(store: &Store, dir: &Path) -> Result<Option<(Journal, Vec<u8>)>> {
    let path = dir.join(JOURNAL);
    let mut bytes = match fs::read(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        read => read.map_err(io_error(&path))?,
    };
    let corrupt = |reason: String| {
        super::Error::IndexData(format!("{}: unreadable journal: {reason}", path.display()))
    };
    let renamed = bytes.starts_with(JOURNAL_MAGIC_RENAMED);
    if !renamed {
        // A torn journal: its sync never completed.
        let Some(at) = bytes.len().checked_sub(4) else {
            return Ok(None);
        };
        let stored = u32::from_le_bytes(bytes[at..].try_into().expect("four bytes"));
        bytes.truncate(at);
        if !bytes.starts_with(JOURNAL_MAGIC) || crc32fast::hash(&bytes) != stored {
            return Ok(None);
        }
    }
    let (length, rest) = bytes[JOURNAL_MAGIC.len()..]
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("truncated".to_owned()))?;
    let length =
        usize::try_from(u64::from_le_bytes(*length)).map_err(|e| corrupt(e.to_string()))?;
    if rest.len() < length {
        return Err(corrupt("truncated header".to_owned()));
    }
    let journal: Journal =
        serde_json::from_slice(&rest[..length]).map_err(|e| corrupt(e.to_string()))?;
    let data = rest[length..].to_vec();
    Ok(staged_files_whole(store, dir, &journal)?.then_some((journal, data)))
}

/// Whether every staged file is the one the journal describes, in `dir`
/// or already renamed into place (its target holds its bytes). One that
/// is in neither never reached the disk: the power failed before the
/// commit's sync, which also made every staged file durable. (A target
/// consumed since, by a pass that committed after this journal's
/// renames reached the disk, makes the journal count as uncommitted:
/// nothing is left to replay.)
fn staged_files_whole(store: &Store, dir: &Path, journal: &Journal) -> Result<bool> {
    for ((staged, target), &(length, sum)) in journal.puts.iter().zip(&journal.staged) {
        let pushed = store.remote_incoming().is_some() && is_incoming(target);
        let whole = match holds(&dir.join(staged), length, sum)? {
            Some(whole) => whole,
            None if pushed => false,
            None => holds(&store.root().join(target), length, sum)? == Some(true),
        };
        if !whole {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether the file at `path` has `length` bytes of CRC-32 `sum`; `None`
/// when there is no such file.
fn holds(path: &Path, length: u64, sum: u32) -> Result<Option<bool>> {
    match fs::read(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Ok(bytes) => Ok(Some(
            bytes.len() as u64 == length && crc32fast::hash(&bytes) == sum,
        )),
        Err(source) => Err(super::Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Applies a committed journal; safe to run again after any interruption.
/// Files rewritten in place are overwritten, unless Gnocchi's processes
/// read them: those are written beside the journal and renamed into
/// place, so a reader that takes none of carbonara's locks sees the old
/// file or the new one, never a part.
fn apply(store: &Store, dir: &Path, journal: &Journal, data: &[u8]) -> Result<()> {
    let root = store.root();
    let by_rename = store.shared_with_gnocchi();
    // Every file is created, written or removed once: they can go in
    // parallel, on the caller's rayon pool.
    let (pushed, puts): (Vec<_>, Vec<_>) = journal
        .puts
        .iter()
        .partition(|(_, target)| store.remote_incoming().is_some() && is_incoming(target));
    puts.par_iter().try_for_each(|(staged, target)| {
        rename_creating_parent(&dir.join(staged), &root.join(target))
    })?;
    push_measures(store, dir, &pushed)?;
    journal
        .writes
        .par_iter()
        .enumerate()
        .try_for_each(|(number, (target, offset, length))| {
            let bytes = usize::try_from(*offset)
                .ok()
                .zip(
                    offset
                        .checked_add(*length)
                        .and_then(|end| usize::try_from(end).ok()),
                )
                .and_then(|(start, end)| data.get(start..end))
                .ok_or_else(|| {
                    super::Error::IndexData(format!(
                        "journal in {}: write beyond its data",
                        dir.display()
                    ))
                })?;
            let target = root.join(target);
            if by_rename {
                let staged = dir.join(format!("replace-{number}"));
                fs::write(&staged, bytes).map_err(io_error(&staged))?;
                rename_creating_parent(&staged, &target)
            } else {
                overwrite(&target, bytes)
            }
        })?;
    journal
        .deletes
        .par_iter()
        .try_for_each(|target| remove_file(&root.join(target)))
}

/// Whether a put's target is an incoming measure file (relative to the
/// store root: `incoming/<sack>/<metric>/<name>`).
fn is_incoming(target: &str) -> bool {
    target.starts_with("incoming/")
}

/// Pushes staged measure files to the remote incoming driver, in slices of
/// at most [`PUSH_BYTES`] each taken whole. A replay pushes them again:
/// measures read twice aggregate as once (a timestamp counts once in a
/// batch, its smallest value winning).
fn push_measures(store: &Store, dir: &Path, puts: &[&(String, String)]) -> Result<()> {
    let Some(remote) = store.remote_incoming() else {
        return Ok(());
    };
    let mut batch = Vec::new();
    let mut bytes = 0;
    for (staged, target) in puts {
        let (sack, metric, name) = incoming_target(target).ok_or_else(|| {
            super::Error::IndexData(format!(
                "journal in {}: {target} is not an incoming measure file",
                dir.display()
            ))
        })?;
        let path = dir.join(staged);
        let measures = fs::read(&path).map_err(io_error(&path))?;
        bytes += measures.len();
        batch.push(StagedBatch {
            sack,
            metric,
            name: name.to_owned(),
            measures,
        });
        if bytes >= PUSH_BYTES {
            remote.push(std::mem::take(&mut batch))?;
            bytes = 0;
        }
    }
    remote.push(batch)
}

/// The sack, metric and name of an incoming target.
fn incoming_target(target: &str) -> Option<(SackName, uuid::Uuid, &str)> {
    let mut parts = target.split('/').skip(1);
    let sack = SackName::parse(parts.next()?)?;
    let metric = uuid::Uuid::parse_str(parts.next()?).ok()?;
    Some((sack, metric, parts.next()?))
}

impl Journal {
    /// The journal less the derived changes whose sources are not all
    /// there any more (see `Transaction::consume`).
    fn without_outdated(mut self, root: &Path, dir: &Path) -> Result<Journal> {
        let mut keep_writes = vec![true; self.writes.len()];
        let mut keep_deletes = vec![true; self.deletes.len()];
        let corrupt = || {
            super::Error::IndexData(format!(
                "journal in {}: a derived range beyond its changes",
                dir.display()
            ))
        };
        for derived in &self.derived {
            let sources = self
                .deletes
                .get(derived.sources.0..derived.sources.1)
                .ok_or_else(corrupt)?;
            if sources.iter().all(|source| root.join(source).exists()) {
                continue;
            }
            keep_writes
                .get_mut(derived.writes.0..derived.writes.1)
                .ok_or_else(corrupt)?
                .fill(false);
            keep_deletes
                .get_mut(derived.deletes.0..derived.deletes.1)
                .ok_or_else(corrupt)?
                .fill(false);
        }
        let mut keep = keep_writes.into_iter();
        self.writes.retain(|_| keep.next().unwrap_or(true));
        let mut keep = keep_deletes.into_iter();
        self.deletes.retain(|_| keep.next().unwrap_or(true));
        self.derived.clear();
        Ok(self)
    }
}

/// Writes `bytes` over the file's old contents and cuts what is left.
fn overwrite(path: &Path, bytes: &[u8]) -> Result<()> {
    let open = || {
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
    };
    let file = match open() {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let parent = path
                .parent()
                .expect("archive files have a parent directory");
            fs::create_dir_all(parent).map_err(io_error(parent))?;
            open()
        }
        other => other,
    }
    .map_err(io_error(path))?;
    // Cut only what is left over: truncating frees blocks, which costs a
    // discard on filesystems mounted with online discard.
    let length = bytes.len() as u64;
    file.write_all_at(bytes, 0)
        .and_then(|()| file.metadata())
        .and_then(|metadata| match metadata.len() > length {
            true => file.set_len(length),
            false => Ok(()),
        })
        .map_err(io_error(path))
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

/// Finishes or discards the transactions of processes that died, in the
/// order they committed. Those that name sacks are replayed only if every
/// one of their sacks can be locked into `sack_locks`; without
/// `sack_locks`, only sackless ones (measure additions) are replayed.
/// Returns how many journals were replayed.
pub fn recover(store: &Store, mut sack_locks: Option<&mut SackLocks>) -> Result<usize> {
    let tmp = store.tmp_dir();
    let _gate = lock::gate_exclusive(store)?;
    super::remove_unfinished_config(store.root())?;
    let mut committed = Vec::new();
    for entry in fs::read_dir(&tmp).map_err(io_error(&tmp))? {
        let entry = entry.map_err(io_error(&tmp))?;
        let is_transaction = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(PREFIX));
        if !is_transaction {
            continue;
        }
        let dir = entry.path();
        // A living transaction holds its lock; one that just ended has
        // removed its directory since it was listed.
        let Some(owner) = lock::try_lock_dir_if_present(&dir)? else {
            continue;
        };
        let Some((journal, data)) = read_journal(store, &dir)? else {
            remove_dir(&dir)?;
            continue;
        };
        let index = match journal.index_token.clone() {
            Some(token) => {
                let index = store.index()?;
                if !index.is_committed(&token)? {
                    remove_dir(&dir)?;
                    continue;
                }
                Some((index, token))
            }
            None => None,
        };
        let may_replay = match sack_locks.as_deref_mut() {
            _ if journal.sacks.is_empty() => true,
            Some(locks) => all_locked(locks, &journal.sacks)?,
            None => false,
        };
        if may_replay {
            committed.push((journal.sequence, dir, owner, journal, data, index));
        }
    }
    committed.sort_by_key(|(sequence, ..)| *sequence);
    let replayed = committed.len();
    for (_, dir, _owner, journal, data, _) in &committed {
        let journal = match store.shared_with_gnocchi() {
            true => journal.clone().without_outdated(store.root(), dir)?,
            false => journal.clone(),
        };
        let _applying = ApplyLocks::exclusive(store, &journal.sacks)?;
        apply(store, dir, &journal, data)?;
    }
    if replayed > 0 {
        sync_filesystem(&tmp)?;
    }
    for (_, dir, _owner, _, _, index) in committed {
        if let Some((index, token)) = index {
            index.forget_commit(&token)?;
        }
        remove_dir(&dir)?;
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

    /// A store whose archives are a Gnocchi file storage directory.
    fn store_shared_with_gnocchi() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let storage = dir.path().join("gnocchi");
        let backends = super::super::Backends {
            storage: Some(format!("file://{}", storage.display())),
            ..Default::default()
        };
        let store = Store::init_with(&dir.path().join("store"), Some(4), backends).unwrap();
        assert!(store.shared_with_gnocchi());
        (dir, store)
    }

    fn tmp_entries(store: &Store) -> usize {
        fs::read_dir(store.tmp_dir()).unwrap().count()
    }

    /// A transaction that died right after its commit point.
    fn dead_transaction(
        store: &Store,
        name: &str,
        journal: &Journal,
        staged: &[(&str, &[u8])],
        data: &[u8],
    ) -> PathBuf {
        let dir = store.tmp_dir().join(name);
        fs::create_dir(&dir).unwrap();
        for (file, bytes) in staged {
            fs::write(dir.join(file), bytes).unwrap();
        }
        write_journal(&dir, journal, data).unwrap();
        dir
    }

    #[test]
    fn commit_applies_puts_writes_and_deletes() {
        let (_dir, store) = store();
        let root = store.root().to_owned();
        fs::write(root.join("old"), b"x").unwrap();
        fs::write(root.join("long"), b"a longer old content").unwrap();
        let mut txn = store.begin(&[1]).unwrap();
        txn.put(root.join("a/b/new"), b"hel").unwrap();
        txn.append(root.join("a/b/new"), b"lo").unwrap();
        txn.put("second", b"2").unwrap();
        txn.write(root.join("long"), b"short".to_vec());
        txn.write("c/d/fresh", b"created".to_vec());
        txn.delete(root.join("old"));
        txn.delete(root.join("never-existed"));
        txn.commit().unwrap();
        assert_eq!(fs::read(root.join("a/b/new")).unwrap(), b"hello");
        assert_eq!(fs::read(root.join("second")).unwrap(), b"2");
        assert_eq!(fs::read(root.join("long")).unwrap(), b"short");
        assert_eq!(fs::read(root.join("c/d/fresh")).unwrap(), b"created");
        assert!(!root.join("old").exists());
        assert_eq!(tmp_entries(&store), 1, "applied, not yet settled");
        store.unsettled().settle().unwrap();
        assert_eq!(tmp_entries(&store), 0);
    }

    #[test]
    fn the_next_commit_settles_the_transactions_applied_before_it() {
        let (dir, store) = store();
        for name in ["first", "second", "third"] {
            let mut txn = store.begin(&[]).unwrap();
            txn.put(name, name.as_bytes()).unwrap();
            txn.commit().unwrap();
            assert_eq!(tmp_entries(&store), 1, "only {name} is unsettled");
            assert_eq!(recover(&store, None).unwrap(), 0, "{name} is locked");
        }
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        assert_eq!(tmp_entries(&store), 0, "closing the store settles");
        assert_eq!(fs::read(store.root().join("third")).unwrap(), b"third");
    }

    #[test]
    fn sack_locks_settle_before_they_are_released() {
        let (_dir, store) = store();
        let mut locks = SackLocks::new(&store);
        assert!(locks.try_lock(1).unwrap());
        let mut txn = store.begin(&[1]).unwrap();
        txn.write("split", b"new".to_vec());
        txn.commit().unwrap();
        assert_eq!(tmp_entries(&store), 1);
        locks.release(1);
        assert_eq!(tmp_entries(&store), 0);
    }

    #[test]
    fn a_store_shared_with_gnocchi_settles_at_once() {
        let (_dir, store) = store_shared_with_gnocchi();
        let mut txn = store.begin(&[]).unwrap();
        txn.put("file", b"data").unwrap();
        txn.commit().unwrap();
        assert_eq!(tmp_entries(&store), 0);
    }

    #[test]
    fn dropped_transactions_change_nothing() {
        let (_dir, store) = store();
        let mut txn = store.begin(&[]).unwrap();
        txn.put("file", b"data").unwrap();
        txn.write("other", b"data".to_vec());
        drop(txn);
        assert!(!store.root().join("file").exists());
        assert!(!store.root().join("other").exists());
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 1);
        assert_eq!(recover(&store, None).unwrap(), 0);
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn index_changes_and_files_commit_together() {
        let (_dir, store) = store();
        let index = store.index().unwrap();
        let policy = crate::policy::ArchivePolicy::defaults().remove(0);
        let mut txn = store.begin(&[]).unwrap();
        txn.put("staged", b"1").unwrap();
        let failed = txn.commit_with_index(&index, |index, _| {
            index.create_archive_policy(&policy)?;
            Err::<(), _>(super::super::Error::IndexData("refused".into()))
        });
        assert!(failed.is_err());
        assert!(index.get_archive_policy(&policy.name).is_err());
        assert_eq!(recover(&store, None).unwrap(), 0, "nothing was committed");
        assert!(!store.root().join("staged").exists());
        let mut txn = store.begin(&[]).unwrap();
        txn.put("staged", b"1").unwrap();
        txn.commit_with_index(&index, |index, txn| {
            txn.retarget("staged", "moved");
            index.create_archive_policy(&policy)
        })
        .unwrap();
        assert!(index.get_archive_policy(&policy.name).is_ok());
        assert_eq!(fs::read(store.root().join("moved")).unwrap(), b"1");
        assert_eq!(tmp_entries(&store), 0, "settled before the token goes");
    }

    #[test]
    fn dead_journals_with_index_changes_replay_only_if_the_index_committed() {
        let (_dir, store) = store();
        let index = store.index().unwrap();
        let journal = |token: &str| Journal {
            puts: vec![("0".into(), format!("from-{token}"))],
            index_token: Some(token.into()),
            ..Journal::default()
        };
        dead_transaction(&store, "txn-a", &journal("a"), &[("0", b"a")], b"");
        dead_transaction(&store, "txn-b", &journal("b"), &[("0", b"b")], b"");
        index.record_commit("b").unwrap();
        assert_eq!(recover(&store, None).unwrap(), 1);
        assert!(!store.root().join("from-a").exists());
        assert_eq!(fs::read(store.root().join("from-b")).unwrap(), b"b");
        assert!(!index.is_committed("b").unwrap(), "the token is forgotten");
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn committed_journals_are_replayed() {
        let (_dir, store) = store();
        let root = store.root();
        fs::write(root.join("doomed"), b"").unwrap();
        fs::write(root.join("rewritten"), b"old old old").unwrap();
        let journal = Journal {
            sacks: vec![],
            puts: vec![("0".into(), "x/one".into()), ("1".into(), "two".into())],
            writes: vec![("rewritten".into(), 0, 3)],
            deletes: vec!["doomed".into()],
            ..Journal::default()
        };
        let dir = dead_transaction(
            &store,
            "txn-dead",
            &journal,
            &[("0", b"first"), ("1", b"second")],
            b"new",
        );
        // Half applied already.
        fs::create_dir(root.join("x")).unwrap();
        fs::rename(dir.join("0"), root.join("x/one")).unwrap();
        assert_eq!(recover(&store, None).unwrap(), 1);
        assert_eq!(fs::read(root.join("x/one")).unwrap(), b"first");
        assert_eq!(fs::read(root.join("two")).unwrap(), b"second");
        assert_eq!(fs::read(root.join("rewritten")).unwrap(), b"new");
        assert!(!root.join("doomed").exists());
        assert!(!dir.exists());
    }

    /// Two metrics' changes, each consumed from its incoming file; after the
    /// crash, another process (gnocchi-metricd) aggregated the second
    /// metric's measures and rewrote its archive. The replay completes the
    /// first metric and leaves the second as that process left it.
    #[test]
    fn replays_leave_alone_what_gnocchi_aggregated_since() {
        let (_dir, store) = store_shared_with_gnocchi();
        let root = store.root().to_owned();
        for metric in ["a", "b"] {
            fs::create_dir_all(root.join(format!("in/{metric}"))).unwrap();
            fs::write(root.join(format!("in/{metric}/m1")), b"measures").unwrap();
            fs::write(root.join(format!("{metric}-old-split")), b"old").unwrap();
        }
        let mut txn = store.begin(&[]).unwrap();
        for metric in ["a", "b"] {
            txn.consume(
                vec![root.join(format!("in/{metric}/m1"))],
                vec![(root.join(format!("{metric}-split")), b"ours".to_vec())],
                vec![root.join(format!("{metric}-old-split"))],
            );
        }
        let (journal, data) = txn.journal(None);
        let dir = dead_transaction(&store, "txn-dead", &journal, &[], &data);
        // The other process: it consumed b's measures, wrote b's split and
        // kept the old one.
        fs::remove_file(root.join("in/b/m1")).unwrap();
        fs::write(root.join("b-split"), b"newer").unwrap();
        assert_eq!(recover(&store, None).unwrap(), 1);
        assert_eq!(fs::read(root.join("a-split")).unwrap(), b"ours");
        assert!(!root.join("a-old-split").exists());
        assert!(!root.join("in/a/m1").exists());
        assert_eq!(fs::read(root.join("b-split")).unwrap(), b"newer");
        assert!(root.join("b-old-split").exists());
        assert!(!dir.exists());
        drop(txn);
    }

    /// On a store of its own, nothing but a replay touches a dead
    /// transaction's sacks: a journal is replayed whole, even where its
    /// sources are gone (a power cut may keep an apply's deletions and lose
    /// its writes).
    #[test]
    fn replays_are_whole_on_a_store_of_its_own() {
        let (_dir, store) = store();
        let root = store.root().to_owned();
        let mut txn = store.begin(&[]).unwrap();
        txn.consume(
            vec![root.join("gone-source")],
            vec![(root.join("split"), b"ours".to_vec())],
            vec![],
        );
        let (journal, data) = txn.journal(None);
        dead_transaction(&store, "txn-dead", &journal, &[], &data);
        assert_eq!(recover(&store, None).unwrap(), 1);
        assert_eq!(fs::read(root.join("split")).unwrap(), b"ours");
        drop(txn);
    }

    #[test]
    fn dead_journals_replay_in_commit_order() {
        let (_dir, store) = store();
        let journal = |sequence: u64, at: u64| Journal {
            writes: vec![("file".into(), at, 1)],
            sequence,
            ..Journal::default()
        };
        // Directory names sort against the commit order.
        dead_transaction(&store, "txn-a", &journal(2, 1), &[], b"12");
        dead_transaction(&store, "txn-b", &journal(1, 0), &[], b"12");
        assert_eq!(recover(&store, None).unwrap(), 2);
        assert_eq!(fs::read(store.root().join("file")).unwrap(), b"2");
    }

    #[test]
    fn torn_journals_and_staged_files_are_discarded() {
        let (_dir, store) = store();
        let put = |name: &str| Journal {
            puts: vec![("0".into(), name.into())],
            staged: vec![(5, crc32fast::hash(b"whole"))],
            ..Journal::default()
        };
        dead_transaction(&store, "txn-whole", &put("whole"), &[("0", b"whole")], b"");
        dead_transaction(&store, "txn-staged", &put("staged"), &[("0", b"wh")], b"");
        let torn = dead_transaction(&store, "txn-torn", &put("torn"), &[("0", b"whole")], b"");
        let mut bytes = fs::read(torn.join(JOURNAL)).unwrap();
        bytes.truncate(bytes.len() - 3);
        fs::write(torn.join(JOURNAL), bytes).unwrap();
        let garbage = store.tmp_dir().join("txn-garbage");
        fs::create_dir(&garbage).unwrap();
        fs::write(garbage.join(JOURNAL), b"nonsense").unwrap();
        assert_eq!(recover(&store, None).unwrap(), 1);
        assert_eq!(fs::read(store.root().join("whole")).unwrap(), b"whole");
        for never in ["staged", "torn"] {
            assert!(!store.root().join(never).exists(), "{never}");
        }
        assert_eq!(tmp_entries(&store), 0);
    }

    #[test]
    fn a_staged_file_neither_staged_nor_in_place_means_no_commit() {
        let (_dir, store) = store();
        let two = |first: &str, second: &str| Journal {
            puts: vec![("0".into(), first.into()), ("1".into(), second.into())],
            staged: vec![(3, crc32fast::hash(b"one")), (3, crc32fast::hash(b"two"))],
            ..Journal::default()
        };
        // A power cut before the commit's sync: the journal reached the
        // disk, the second staged file did not.
        dead_transaction(&store, "txn-cut", &two("a", "b"), &[("0", b"one")], b"");
        // After it: the second file was renamed into place.
        fs::write(store.root().join("d"), b"two").unwrap();
        dead_transaction(&store, "txn-renamed", &two("c", "d"), &[("0", b"one")], b"");
        assert_eq!(recover(&store, None).unwrap(), 1);
        assert!(!store.root().join("a").exists());
        assert_eq!(fs::read(store.root().join("c")).unwrap(), b"one");
        assert_eq!(tmp_entries(&store), 0);
    }

    #[test]
    fn recovery_removes_a_store_json_never_renamed_into_place() {
        let (_dir, store) = store();
        let staged = store.tmp_dir().join("store.json.new");
        fs::write(&staged, b"{\"format\":").unwrap();
        assert_eq!(recover(&store, None).unwrap(), 0);
        assert!(!staged.exists());
        assert_eq!(tmp_entries(&store), 0);
    }

    #[test]
    fn uncommitted_journals_are_discarded() {
        let (_dir, store) = store();
        let dir = store.tmp_dir().join("txn-early");
        fs::create_dir(&dir).unwrap();
        fs::write(dir.join("journal.new"), b"CBNJRNL1 partial").unwrap();
        assert_eq!(recover(&store, None).unwrap(), 0);
        assert!(!dir.exists());
    }

    #[test]
    fn sack_journals_wait_for_their_sack_lock() {
        let (_dir, store) = store();
        let journal = Journal {
            sacks: vec![2],
            writes: vec![("s".into(), 0, 5)],
            ..Journal::default()
        };
        dead_transaction(&store, "txn-sack", &journal, &[], b"split");
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
        txn.put("later", b"1").unwrap();
        assert_eq!(recover(&store, None).unwrap(), 0);
        txn.commit().unwrap();
        assert!(store.root().join("later").exists());
    }
}
