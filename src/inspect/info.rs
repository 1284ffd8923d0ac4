//! `info`: what a metric's archive holds per (method, granularity) and what
//! a whole store holds: totals, measures waiting, metrics per sack, size
//! on disk and the most expensive metrics. Every file is read and decoded
//! once; an unreadable one is counted, not fatal.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use uuid::Uuid;
use walkdir::WalkDir;

use super::layout::{self, ArchiveFile, FileKind, Found, MetricDir};
use super::remote;
use super::scan;
use crate::store::{self, Index, MetricFilter, Page, Result, Store};
use crate::time::{Span, Timestamp};

/// Points and bytes of a group of files.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    pub files: u64,
    pub points: u64,
    pub bytes: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

impl Usage {
    fn add(&mut self, other: &Usage) {
        self.files += other.files;
        self.points += other.points;
        self.bytes += other.bytes;
        self.first = match (self.first, other.first) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last = self.last.max(other.last);
    }

    pub fn bytes_per_point(&self) -> Option<f64> {
        (self.points > 0).then(|| self.bytes as f64 / self.points as f64)
    }
}

/// One metric's archive.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricUsage {
    pub metric: Uuid,
    pub bound: Usage,
    /// Per (method, granularity), in that order; `files` counts splits.
    pub aggregations: BTreeMap<(String, Span), Usage>,
    /// Everything above together.
    pub total: Usage,
    pub unreadable: Vec<PathBuf>,
}

/// Reads every file of a metric directory.
pub fn metric_usage(listing: &MetricDir) -> Result<MetricUsage> {
    let files = listing.files().into_iter().map(|file| (file, None));
    usage_of(listing.metric, files.collect())
}

/// Decodes a metric's files, or objects fetched from a driver that is not a
/// directory.
fn usage_of(metric: Uuid, files: Vec<(ArchiveFile, Option<Vec<u8>>)>) -> Result<MetricUsage> {
    let mut usage = MetricUsage {
        metric,
        ..MetricUsage::default()
    };
    for (file, fetched) in files {
        let read = match &fetched {
            Some(bytes) => scan::decode_fetched(&file, bytes),
            None => scan::read(&file),
        };
        let decoded = match read {
            Ok(decoded) => decoded,
            Err(store::Error::Corrupt { path, .. }) => {
                usage.unreadable.push(path);
                continue;
            }
            Err(error) => return Err(error),
        };
        let one = Usage {
            files: 1,
            points: decoded.points.len() as u64,
            bytes: decoded.bytes,
            first: decoded.first(),
            last: decoded.last(),
        };
        usage.total.add(&one);
        match file.kind {
            FileKind::Split {
                method: Some(method),
                key,
            } => usage
                .aggregations
                .entry((method, key.granularity))
                .or_default()
                .add(&one),
            _ => usage.bound.add(&one),
        }
    }
    Ok(usage)
}

/// A store metric's archive (empty before its first processing).
pub fn store_metric_usage(store: &Store, metric: Uuid) -> Result<MetricUsage> {
    let _consistent = store.read_lock(metric)?;
    let Some(archive) = store.storage().as_file() else {
        let (objects, _) = remote::archive_objects(store.storage(), metric)?;
        let fetched = objects.into_iter().map(|(file, bytes)| (file, Some(bytes)));
        return usage_of(metric, fetched.collect());
    };
    let dir = archive.metric_dir(metric);
    if !dir.is_dir() {
        return Ok(MetricUsage {
            metric,
            ..MetricUsage::default()
        });
    }
    metric_usage(&layout::list_metric_dir(&dir, metric)?)
}

/// How many metrics each sack serves.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SackSpread {
    pub min: usize,
    pub mean: f64,
    pub max: usize,
}

/// A whole store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StoreInfo {
    pub metrics: usize,
    pub deleted_metrics: usize,
    pub archive_policies: usize,
    pub metrics_waiting: usize,
    pub measures_waiting: u64,
    pub per_sack: SackSpread,
    /// Every archive file of the store's metric directories.
    pub archive: Usage,
    /// Allocated blocks of every file under the store directory.
    pub disk_bytes: u64,
    /// The metrics with the largest archives, largest first.
    pub most_expensive: Vec<MetricUsage>,
    pub unreadable: Vec<PathBuf>,
}

/// The blocks of every file of the store: its directory, and the
/// directories of a Gnocchi deployment's file drivers when it uses them
/// (each directory once, however they nest).
fn disk_usage(store: &Store) -> Result<u64> {
    let dirs = [
        store.root().to_owned(),
        store.archive_dir(),
        store.incoming_dir(),
    ];
    let tops = dirs
        .iter()
        .enumerate()
        .filter(|&(i, dir)| {
            !dirs
                .iter()
                .enumerate()
                .any(|(j, other)| j != i && dir.starts_with(other) && (dir != other || j < i))
        })
        .map(|(_, dir)| dir);
    let mut bytes = 0;
    for top in tops {
        for entry in WalkDir::new(top) {
            let entry = entry.map_err(|e| store::Error::Io {
                path: e.path().unwrap_or(top).to_owned(),
                source: e.into(),
            })?;
            let metadata = entry.metadata().map_err(|e| store::Error::Io {
                path: entry.path().to_owned(),
                source: e.into(),
            })?;
            bytes += metadata.blocks() * 512;
        }
    }
    Ok(bytes)
}

/// Describes a store; `top` is how many expensive metrics to keep. Deleted
/// metrics, whose data waits for the janitor, and directories of metrics
/// the index does not know count in the size on disk only.
pub fn store_info(store: &Store, index: &Index, top: usize) -> Result<StoreInfo> {
    let metrics = index.list_metrics(&MetricFilter::default(), &Page::default())?;
    let active: HashSet<Uuid> = metrics.iter().map(|m| m.id).collect();
    let backlog = store.incoming().backlog()?;
    let waiting: Vec<u64> = backlog
        .per_metric
        .iter()
        .filter(|(id, _)| active.contains(id))
        .map(|(_, measures)| *measures)
        .collect();
    let sacks = store.config().sacks as usize;
    let mut per_sack = vec![0usize; sacks];
    for metric in &metrics {
        per_sack[store.incoming().sack_of(metric.id) as usize] += 1;
    }
    let mut info = StoreInfo {
        metrics: metrics.len(),
        deleted_metrics: index.deleted_metrics()?.len(),
        archive_policies: index.list_archive_policies()?.len(),
        metrics_waiting: waiting.len(),
        measures_waiting: waiting.iter().sum(),
        per_sack: SackSpread {
            min: per_sack.iter().copied().min().unwrap_or(0),
            mean: metrics.len() as f64 / sacks as f64,
            max: per_sack.iter().copied().max().unwrap_or(0),
        },
        disk_bytes: disk_usage(store)?,
        ..StoreInfo::default()
    };
    let usages: Box<dyn Iterator<Item = Result<MetricUsage>>> = match store.storage().as_file() {
        Some(archive) => Box::new(
            layout::walk(archive.root()).filter_map(|found| match found {
                Ok(Found::Archive(listing)) if active.contains(&listing.metric) => {
                    Some(metric_usage(&listing))
                }
                Ok(_) => None,
                Err(error) => Some(Err(error)),
            }),
        ),
        None => Box::new(
            metrics
                .iter()
                .map(|metric| store_metric_usage(store, metric.id)),
        ),
    };
    for usage in usages {
        let usage = usage?;
        info.archive.add(&usage.total);
        info.unreadable.extend(usage.unreadable.iter().cloned());
        let at = info
            .most_expensive
            .partition_point(|m| m.total.bytes >= usage.total.bytes);
        if at < top {
            info.most_expensive.insert(at, usage);
            info.most_expensive.truncate(top);
        }
    }
    Ok(info)
}
