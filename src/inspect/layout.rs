//! What the files of an archive are, from their names alone: a carbonara
//! store, a genuine Gnocchi file-storage directory or any part of one is
//! walked without an index (docs/format/carbonara-v3.md#the-directory-layout,
//! docs/format/incoming.md). A metric
//! directory is named by its dashed UUID and holds `none_v3` and
//! `agg_<method>/<key>_<granularity>_v3`; a sack `incoming<N>-<k>` holds one
//! directory of measure files per metric. Listing reads names, never
//! contents, and a walk yields one metric directory at a time, so a
//! directory of any size streams.

use std::fs;
use std::path::{Path, PathBuf};

use uuid::Uuid;
use walkdir::WalkDir;

use crate::carbonara::SplitKey;
use crate::store::archive::{AGGREGATION_DIR_PREFIX, BOUND_FILE};
pub use crate::store::incoming::SackName;
use crate::store::{Error, Result, io_error};
use crate::time::Span;

/// Entries of a store's root (or of a Gnocchi deployment's file driver
/// directory, where carbonara keeps its state in `carbonara/`) that hold
/// no archive data.
const STORE_ROOT_ENTRIES: &[&str] = &[
    "tmp",
    "carbonara",
    "locks",
    "quarantine",
    "store.json",
    "index.sqlite",
    "index.sqlite-wal",
    "index.sqlite-shm",
];

/// What an archive file holds, as its name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// `none_v3`: the raw points kept for the back window.
    Bound,
    /// `<key>_<granularity>_v3` in `agg_<method>/` (the method is unknown
    /// for a split file found outside its directory).
    Split {
        method: Option<String>,
        key: SplitKey,
    },
    /// An unprocessed measure file in a sack.
    Measures,
}

impl FileKind {
    pub fn name(&self) -> &'static str {
        match self {
            FileKind::Bound => "bound",
            FileKind::Split { .. } => "split",
            FileKind::Measures => "measures",
        }
    }
}

/// One file of an archive or of a sack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveFile {
    pub path: PathBuf,
    pub metric: Option<Uuid>,
    pub kind: FileKind,
}

/// A metric's directory of processed data, listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDir {
    pub metric: Uuid,
    pub dir: PathBuf,
    pub bound: Option<PathBuf>,
    /// `agg_<method>` directories: (method as named, path), by name.
    pub aggregations: Vec<(String, PathBuf)>,
    /// Split files, by method, granularity and key.
    pub splits: Vec<SplitFile>,
    /// Entries that are none of those.
    pub strays: Vec<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitFile {
    pub method: String,
    pub key: SplitKey,
    pub path: PathBuf,
}

impl MetricDir {
    /// The bound series first, then every split.
    pub fn files(&self) -> Vec<ArchiveFile> {
        let bound = self.bound.iter().map(|path| ArchiveFile {
            path: path.clone(),
            metric: Some(self.metric),
            kind: FileKind::Bound,
        });
        let splits = self.splits.iter().map(|split| ArchiveFile {
            path: split.path.clone(),
            metric: Some(self.metric),
            kind: FileKind::Split {
                method: Some(split.method.clone()),
                key: split.key,
            },
        });
        bound.chain(splits).collect()
    }

    /// The largest granularity of the splits: the bound series' block size
    /// when no policy is at hand.
    pub fn largest_granularity(&self) -> Option<Span> {
        self.splits.iter().map(|s| s.key.granularity).max()
    }
}

/// A metric's directory of measure files in a sack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SackMetricDir {
    pub metric: Uuid,
    pub sack: Option<SackName>,
    pub dir: PathBuf,
    pub files: Vec<PathBuf>,
    /// Subdirectories, which a sack never holds.
    pub strays: Vec<PathBuf>,
}

impl SackMetricDir {
    pub fn files(&self) -> Vec<ArchiveFile> {
        self.files
            .iter()
            .map(|path| ArchiveFile {
                path: path.clone(),
                metric: Some(self.metric),
                kind: FileKind::Measures,
            })
            .collect()
    }
}

/// What a walk finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    Archive(MetricDir),
    Incoming(SackMetricDir),
    /// An entry that is neither archive data nor the directories above it.
    Stray(PathBuf),
}

fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// A metric id as a directory name: the canonical dashed UUID only.
fn metric_id(name: &str) -> Option<Uuid> {
    Uuid::parse_str(name)
        .ok()
        .filter(|id| id.hyphenated().to_string() == name)
}

fn is_hex_chunk(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Entry names and types of a directory, sorted by name.
fn sorted_entries(dir: &Path) -> Result<Vec<(PathBuf, bool)>> {
    let mut entries = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_error(dir))? {
        let entry = entry.map_err(io_error(dir))?;
        let is_dir = entry.file_type().map_err(io_error(dir))?.is_dir();
        entries.push((entry.path(), is_dir));
    }
    entries.sort();
    Ok(entries)
}

/// Lists a metric's archive directory.
pub fn list_metric_dir(dir: &Path, metric: Uuid) -> Result<MetricDir> {
    let mut listing = MetricDir {
        metric,
        dir: dir.to_owned(),
        bound: None,
        aggregations: Vec::new(),
        splits: Vec::new(),
        strays: Vec::new(),
    };
    for (path, is_dir) in sorted_entries(dir)? {
        let name = file_name(&path);
        if !is_dir && name == BOUND_FILE {
            listing.bound = Some(path);
            continue;
        }
        let method = name.strip_prefix(AGGREGATION_DIR_PREFIX);
        let Some(method) = method.filter(|m| is_dir && !m.is_empty()) else {
            listing.strays.push(path);
            continue;
        };
        for (split, split_is_dir) in sorted_entries(&path)? {
            match SplitKey::parse_file_name(file_name(&split)) {
                Some(key) if !split_is_dir => listing.splits.push(SplitFile {
                    method: method.to_owned(),
                    key,
                    path: split,
                }),
                _ => listing.strays.push(split),
            }
        }
        listing.aggregations.push((method.to_owned(), path));
    }
    listing.splits.sort_by(|a, b| {
        (&a.method, a.key.granularity, a.key.start).cmp(&(
            &b.method,
            b.key.granularity,
            b.key.start,
        ))
    });
    Ok(listing)
}

/// Lists a metric's directory in a sack.
pub fn list_sack_metric_dir(dir: &Path, metric: Uuid) -> Result<SackMetricDir> {
    let sack = dir
        .parent()
        .and_then(|parent| SackName::parse(file_name(parent)));
    let mut listing = SackMetricDir {
        metric,
        sack,
        dir: dir.to_owned(),
        files: Vec::new(),
        strays: Vec::new(),
    };
    for (path, is_dir) in sorted_entries(dir)? {
        if is_dir {
            listing.strays.push(path);
        } else {
            listing.files.push(path);
        }
    }
    Ok(listing)
}

/// What a directory named by a metric id is, from its parent's name.
fn metric_found(dir: &Path, metric: Uuid) -> Result<Found> {
    let in_sack = dir
        .parent()
        .is_some_and(|parent| SackName::parse(file_name(parent)).is_some());
    if in_sack {
        list_sack_metric_dir(dir, metric).map(Found::Incoming)
    } else {
        list_metric_dir(dir, metric).map(Found::Archive)
    }
}

/// Says what a single file is from its name and its parents' names.
pub fn classify_file(path: &Path) -> Option<ArchiveFile> {
    let parent = path.parent().unwrap_or(Path::new(""));
    let parent_name = file_name(parent);
    let grandparent = parent.parent().unwrap_or(Path::new(""));
    let name = file_name(path);
    if name == BOUND_FILE {
        return Some(ArchiveFile {
            path: path.to_owned(),
            metric: metric_id(parent_name),
            kind: FileKind::Bound,
        });
    }
    if let Some(key) = SplitKey::parse_file_name(name) {
        let method = parent_name.strip_prefix(AGGREGATION_DIR_PREFIX);
        return Some(ArchiveFile {
            path: path.to_owned(),
            metric: method.and_then(|_| metric_id(file_name(grandparent))),
            kind: FileKind::Split {
                method: method.map(str::to_owned),
                key,
            },
        });
    }
    // `<uuid4>_<YYYYMMDD>_<HH:MM:SS>` in `incoming<N>-<k>/<metric>/`.
    let in_sack = SackName::parse(file_name(grandparent)).is_some();
    let measure_name = name
        .split_once('_')
        .is_some_and(|(id, _)| metric_id(id).is_some());
    let metric = metric_id(parent_name);
    (in_sack && metric.is_some() || measure_name).then(|| ArchiveFile {
        path: path.to_owned(),
        metric,
        kind: FileKind::Measures,
    })
}

fn walk_error(root: &Path, error: walkdir::Error) -> Error {
    let path = error.path().unwrap_or(root).to_owned();
    Error::Io {
        path,
        source: error.into(),
    }
}

/// Walks a directory in name order, one metric directory at a time. The
/// store's own files at the top (`store.json`, `tmp/`, …) are passed over.
pub fn walk(root: &Path) -> impl Iterator<Item = Result<Found>> {
    let mut entries = WalkDir::new(root).sort_by_file_name().into_iter();
    let root = root.to_owned();
    std::iter::from_fn(move || {
        loop {
            let entry = match entries.next()? {
                Ok(entry) => entry,
                Err(error) => return Some(Err(walk_error(&root, error))),
            };
            let path = entry.path();
            let name = file_name(path);
            if !entry.file_type().is_dir() {
                if entry.depth() == 1 && STORE_ROOT_ENTRIES.contains(&name) {
                    continue;
                }
                return Some(Ok(Found::Stray(path.to_owned())));
            }
            if let Some(metric) = metric_id(name) {
                entries.skip_current_dir();
                return Some(metric_found(path, metric));
            }
            let passed_over = entry.depth() == 1 && STORE_ROOT_ENTRIES.contains(&name);
            let descend = entry.depth() == 0
                || is_hex_chunk(name)
                || SackName::parse(name).is_some()
                || (entry.depth() == 1 && ["archive", "incoming"].contains(&name));
            if passed_over || !descend {
                entries.skip_current_dir();
                if !passed_over {
                    return Some(Ok(Found::Stray(path.to_owned())));
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn names_never_panic(name in "\\PC{0,60}", parent in "\\PC{0,40}") {
            let _ = SackName::parse(&name);
            let _ = classify_file(&Path::new(&parent).join(&name));
        }
    }

    const METRIC: &str = "6ca28ecb-eee3-5ee2-97cd-176c16849311";

    fn touch(path: &Path) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b"").unwrap();
    }

    #[test]
    fn files_are_classified_by_their_names() {
        let id = Uuid::parse_str(METRIC).unwrap();
        let bound = classify_file(&Path::new("6c/a2").join(METRIC).join("none_v3")).unwrap();
        assert_eq!((bound.kind, bound.metric), (FileKind::Bound, Some(id)));
        let split =
            classify_file(&Path::new(METRIC).join("agg_rate:mean/1388448000.0_60.0_v3")).unwrap();
        assert_eq!(split.metric, Some(id));
        assert!(matches!(
            split.kind,
            FileKind::Split { method: Some(ref m), key } if m == "rate:mean"
                && key.granularity == Span::from_secs(60)
        ));
        let loose = classify_file(Path::new("/tmp/1388448000.0_60.0_v3")).unwrap();
        assert_eq!(loose.metric, None);
        assert!(matches!(loose.kind, FileKind::Split { method: None, .. }));
        let measures = classify_file(
            &Path::new("incoming8-3")
                .join(METRIC)
                .join("7e1b7966-2a6b-400e-94e2-3ef8154e7c89_20261124_17:13:42"),
        )
        .unwrap();
        assert_eq!(
            (measures.kind, measures.metric),
            (FileKind::Measures, Some(id))
        );
        assert_eq!(classify_file(Path::new("notes.txt")), None);
        assert_eq!(
            classify_file(Path::new("agg_mean/1388448000.0_60.0_v2")),
            None
        );
    }

    #[test]
    fn a_walk_finds_metrics_sacks_and_strays() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let metric = root.join("6c/a2").join(METRIC);
        touch(&metric.join("none_v3"));
        touch(&metric.join("agg_mean/1388448000.0_60.0_v3"));
        touch(&metric.join("agg_mean/0.0_3600.0_v3"));
        touch(&metric.join("agg_mean/gnocchiab12cd34"));
        fs::create_dir_all(metric.join("agg_std")).unwrap();
        touch(&metric.join("stray"));
        touch(&root.join("incoming8-3").join(METRIC).join("m1"));
        touch(&root.join("tmp/gnocchi-config"));
        touch(&root.join("README"));
        fs::create_dir_all(root.join("other")).unwrap();
        let found: Vec<Found> = walk(root).collect::<Result<_>>().unwrap();
        assert_eq!(found.len(), 4, "{found:#?}");
        let Found::Archive(listing) = &found[0] else {
            panic!("{found:#?}")
        };
        assert_eq!(listing.bound, Some(metric.join("none_v3")));
        let names: Vec<&str> = listing.splits.iter().map(|s| file_name(&s.path)).collect();
        assert_eq!(names, ["1388448000.0_60.0_v3", "0.0_3600.0_v3"]);
        assert_eq!(listing.aggregations.len(), 2);
        assert_eq!(
            listing.strays,
            [
                metric.join("agg_mean/gnocchiab12cd34"),
                metric.join("stray")
            ]
        );
        assert_eq!(listing.largest_granularity(), Some(Span::from_secs(3600)));
        assert_eq!(listing.files().len(), 3);
        assert_eq!(found[1], Found::Stray(root.join("README")));
        let Found::Incoming(sack) = &found[2] else {
            panic!("{found:#?}")
        };
        assert_eq!(sack.sack.map(|s| (s.total, s.number)), Some((8, 3)));
        assert_eq!(sack.files.len(), 1);
        assert_eq!(found[3], Found::Stray(root.join("other")));
        // A metric's own directory as the root.
        let alone: Vec<Found> = walk(&metric).collect::<Result<_>>().unwrap();
        assert!(matches!(&alone[..], [Found::Archive(l)] if l.splits.len() == 2));
    }
}
