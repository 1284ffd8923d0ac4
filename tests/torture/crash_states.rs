//! The disk states a power cut can leave, built from recorded operations
//! (the model of ALICE, "All File Systems Are Not Created Equal", OSDI
//! 2014). At a crash point — just before a sync returns, or at the end —
//! the disk holds everything before the last `syncfs`, whatever the
//! `fsync`s since then made durable, and any subset of the other
//! operations since that `syncfs`, in their order; the last write may be
//! torn. The states built for one point: every prefix of those
//! operations (with and without its last write torn in half), every one
//! of them left out alone, and `random` random subsets.

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::path::Path;

use proptest::prelude::RngExt;
use proptest::test_runner::{RngAlgorithm, TestRng};

use crate::syscalls::{Inode, Node, Op};

/// A directory tree: names, and the contents of every file ever made.
#[derive(Debug, Clone, Default)]
pub struct Disk {
    pub names: BTreeMap<String, Node>,
    pub contents: HashMap<Inode, Vec<u8>>,
}

impl Disk {
    /// The tree below `root` (itself included), without SQLite's `-shm`.
    pub fn read(root: &Path) -> Disk {
        let mut disk = Disk::default();
        for (number, entry) in walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .enumerate()
        {
            let entry = entry.unwrap();
            let path = entry.path().to_str().unwrap().to_owned();
            if entry.file_type().is_dir() {
                disk.names.insert(path, Node::Dir);
            } else if !path.ends_with("-shm") {
                let inode = number as Inode + 1;
                disk.names.insert(path, Node::File(inode));
                disk.contents
                    .insert(inode, std::fs::read(entry.path()).unwrap());
            }
        }
        disk
    }

    pub fn sizes(&self) -> HashMap<Inode, u64> {
        self.contents
            .iter()
            .map(|(inode, bytes)| (*inode, bytes.len() as u64))
            .collect()
    }

    fn parent_is_dir(&self, path: &str) -> bool {
        let parent = &path[..path.rfind('/').unwrap_or(0)];
        self.names.get(parent) == Some(&Node::Dir)
    }

    fn children(&self, path: &str) -> Vec<String> {
        let prefix = format!("{path}/");
        self.names
            .range(prefix.clone()..)
            .take_while(|(name, _)| name.starts_with(&prefix))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Applies one operation where it still makes sense on this state (a
    /// rename whose source never reached the disk does nothing); a write
    /// cut to its first `torn` bytes when given.
    pub fn apply(&mut self, op: &Op, torn: Option<usize>) {
        match op {
            Op::Mkdir(path) => {
                if self.parent_is_dir(path) && !self.names.contains_key(path) {
                    self.names.insert(path.clone(), Node::Dir);
                }
            }
            Op::Create { path, inode } => {
                self.contents.entry(*inode).or_default();
                if self.parent_is_dir(path) && !self.names.contains_key(path) {
                    self.names.insert(path.clone(), Node::File(*inode));
                }
            }
            Op::Write {
                inode,
                offset,
                data,
            } => {
                let data = &data[..torn.unwrap_or(data.len())];
                let bytes = self.contents.entry(*inode).or_default();
                let (start, end) = (*offset as usize, *offset as usize + data.len());
                if bytes.len() < end {
                    bytes.resize(end, 0);
                }
                bytes[start..end].copy_from_slice(data);
            }
            Op::Truncate { inode, length } => {
                self.contents
                    .entry(*inode)
                    .or_default()
                    .resize(*length as usize, 0);
            }
            Op::Rename { from, to } => self.rename(from, to),
            Op::Unlink(path) => {
                if let Some(Node::File(_)) = self.names.get(path) {
                    self.names.remove(path);
                }
            }
            Op::Rmdir(path) => {
                if self.names.get(path) == Some(&Node::Dir) && self.children(path).is_empty() {
                    self.names.remove(path);
                }
            }
            Op::SyncFile(_) | Op::SyncDir(_) | Op::SyncAll | Op::Acknowledged(_) => {}
        }
    }

    fn rename(&mut self, from: &str, to: &str) {
        let Some(node) = self.names.get(from).copied() else {
            return;
        };
        if !self.parent_is_dir(to) {
            return;
        }
        match self.names.get(to) {
            Some(Node::Dir) if !self.children(to).is_empty() => return,
            Some(Node::Dir) if node != Node::Dir => return,
            _ => {}
        }
        let moved = self.children(from);
        self.names.remove(from);
        self.names.insert(to.to_owned(), node);
        for path in moved {
            let node = self.names.remove(&path).unwrap();
            self.names
                .insert(format!("{to}{}", &path[from.len()..]), node);
        }
    }

    /// Writes the tree, its root `from` moved to `to`.
    pub fn materialize(&self, from: &str, to: &Path) {
        for (path, node) in &self.names {
            let target = to.join(path[from.len()..].trim_start_matches('/'));
            match node {
                Node::Dir => std::fs::create_dir_all(&target).unwrap(),
                Node::File(inode) => std::fs::write(&target, &self.contents[inode]).unwrap(),
            }
        }
    }

    /// A digest of the names and the bytes they hold.
    pub fn digest(&self) -> u64 {
        let mut hasher = DefaultHasher::new();
        for (path, node) in &self.names {
            path.hash(&mut hasher);
            match node {
                Node::Dir => 0u8.hash(&mut hasher),
                Node::File(inode) => self.contents[inode].hash(&mut hasher),
            }
        }
        hasher.finish()
    }
}

/// A disk state after a power cut at the operation `point`; the
/// `number`-th distinct state built.
pub struct CrashState {
    pub point: usize,
    pub number: u64,
    pub disk: Disk,
}

/// The crash points: every sync, and the end.
pub fn crash_points(ops: &[Op]) -> Vec<usize> {
    let mut points: Vec<usize> = (0..ops.len()).filter(|&at| ops[at].is_sync()).collect();
    points.push(ops.len());
    points
}

/// The distinct states a power cut at any crash point can leave, starting
/// from `initial`; `random` random subsets a point. Each state is given
/// to `check` as it is built (they do not all fit in memory at once).
pub fn for_each_state(
    initial: &Disk,
    ops: &[Op],
    random: u32,
    mut check: impl FnMut(CrashState),
) -> Generated {
    let mut generated = Generated::default();
    let mut seen = BTreeSet::new();
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut synced = initial.clone();
    let mut synced_to = 0;
    for point in crash_points(ops) {
        let barrier = ops[..point]
            .iter()
            .rposition(|op| *op == Op::SyncAll)
            .map_or(0, |at| at + 1);
        for op in &ops[synced_to..barrier] {
            synced.apply(op, None);
        }
        synced_to = synced_to.max(barrier);
        let forced = made_durable(&ops[barrier..point]);
        let free: Vec<usize> = (barrier..point)
            .filter(|at| !ops[*at].is_sync() && !forced.contains(&(at - barrier)))
            .collect();
        let forced: Vec<usize> = forced.iter().map(|at| at + barrier).collect();
        let mut subsets: Vec<(Vec<usize>, bool)> = Vec::new();
        for length in 0..=free.len() {
            subsets.push((free[..length].to_vec(), false));
            if length > 0
                && matches!(ops[free[length - 1]], Op::Write { ref data, .. } if data.len() > 1)
            {
                subsets.push((free[..length].to_vec(), true));
            }
        }
        for left_out in 0..free.len() {
            let mut subset = free.clone();
            subset.remove(left_out);
            subsets.push((subset, false));
        }
        for _ in 0..random {
            let subset = free
                .iter()
                .copied()
                .filter(|_| rng.random::<bool>())
                .collect();
            subsets.push((subset, false));
        }
        for (subset, torn) in subsets {
            generated.built += 1;
            let mut applied: Vec<usize> = forced.iter().chain(&subset).copied().collect();
            applied.sort_unstable();
            let mut disk = synced.clone();
            let last = subset.last().copied();
            for at in applied {
                let cut = match (torn && Some(at) == last, &ops[at]) {
                    (true, Op::Write { data, .. }) => Some(data.len() / 2),
                    _ => None,
                };
                disk.apply(&ops[at], cut);
            }
            if seen.insert(disk.digest()) {
                check(CrashState {
                    point,
                    number: generated.distinct,
                    disk,
                });
                generated.distinct += 1;
            }
        }
        generated.points += 1;
    }
    generated
}

/// How many crash points and states the campaign went through.
#[derive(Debug, Default)]
pub struct Generated {
    pub points: u64,
    pub built: u64,
    pub distinct: u64,
}

/// The operations of `window` (which follows a `syncfs`) that an `fsync`
/// in it made durable: the writes and truncations of a synced file before
/// its sync, and the entries changed in a synced directory before its
/// sync. By index in the window.
fn made_durable(window: &[Op]) -> BTreeSet<usize> {
    let mut durable = BTreeSet::new();
    for (sync_at, sync) in window.iter().enumerate() {
        for (at, op) in window[..sync_at].iter().enumerate() {
            let covered = match (sync, op) {
                (Op::SyncFile(synced), Op::Write { inode, .. } | Op::Truncate { inode, .. }) => {
                    synced == inode
                }
                (Op::SyncDir(dir), Op::Create { path, .. })
                | (Op::SyncDir(dir), Op::Mkdir(path))
                | (Op::SyncDir(dir), Op::Unlink(path))
                | (Op::SyncDir(dir), Op::Rmdir(path)) => parent(path) == dir,
                (Op::SyncDir(dir), Op::Rename { from, to }) => {
                    parent(from) == dir || parent(to) == dir
                }
                _ => false,
            };
            if covered {
                durable.insert(at);
            }
        }
    }
    durable
}

fn parent(path: &str) -> &str {
    &path[..path.rfind('/').unwrap_or(0)]
}
