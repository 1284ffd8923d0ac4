//! `dump`, carbonara-dump for v3: the files of a store's metric, of a
//! Gnocchi file-storage directory (no index needed) or a single file,
//! decoded, with what their names say and, for a bound series, where its
//! back window stands. A directory is walked one metric at a time and each
//! file handed over as soon as it is read, so nothing grows with its size.

use std::path::Path;

use rayon::prelude::*;

use super::layout::{self, ArchiveFile, FileKind, Found, MetricDir};
use super::remote;
use super::scan::{self, Decoded};
use crate::carbonara::update::first_block_timestamp;
use crate::carbonara::{Points, SplitKey};
use crate::policy::ArchivePolicy;
use crate::store::backends::Driver;
use crate::store::incoming::{Remote, SackName};
use crate::store::redis::Pool;
use crate::store::redis::storage::RedisStorage;
use crate::store::s3::storage::S3Storage;
use crate::store::storage::Storage;
use crate::store::{self, Metric, Store};
use crate::time::{Span, Timestamp};

/// Which points to show: `start <= t < stop`.
#[derive(Debug, Clone, Copy, Default)]
pub struct DumpOptions {
    pub start: Option<Timestamp>,
    pub stop: Option<Timestamp>,
    /// Whether the points are wanted, not only the headers.
    pub with_points: bool,
}

impl DumpOptions {
    fn cuts(&self) -> bool {
        self.start.is_some() || self.stop.is_some()
    }

    fn keeps(&self, t: Timestamp) -> bool {
        self.start.is_none_or(|start| t >= start) && self.stop.is_none_or(|stop| t < stop)
    }

    /// Whether a split can hold points to show, from its key alone.
    fn may_keep(&self, key: SplitKey) -> bool {
        self.start.is_none_or(|start| start < key.next().start)
            && self.stop.is_none_or(|stop| key.start < stop)
    }
}

/// Where a bound series stands against its back window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackWindowState {
    /// The block size: the policy's largest granularity (without a policy,
    /// the largest granularity of the metric's splits).
    pub block: Option<Span>,
    /// Blocks kept behind the newest one (the policy's back window, plus
    /// one for `rate:` methods); unknown without a policy.
    pub back_window: Option<u64>,
    /// The oldest timestamp a new measure may have; older ones are dropped.
    pub accepts_from: Option<Timestamp>,
    /// Blocks the points span, the newest included.
    pub blocks_held: Option<i64>,
}

impl BackWindowState {
    fn of(points: &Points, block: Option<Span>, back_window: Option<u64>) -> BackWindowState {
        let span = points.first().zip(points.last());
        let blocks_held = block.zip(span).map(|(block, (first, last))| {
            (last.round_down(block) - first.round_down(block)).nanos() / block.nanos() + 1
        });
        let accepts_from = match (block, back_window, points.last()) {
            (Some(block), Some(back_window), Some(last)) => {
                Some(first_block_timestamp(last, block, back_window))
            }
            _ => None,
        };
        BackWindowState {
            block,
            back_window,
            accepts_from,
            blocks_held,
        }
    }
}

/// One file, decoded.
#[derive(Debug, Clone, PartialEq)]
pub struct FileDump {
    pub file: ArchiveFile,
    pub decoded: Decoded,
    /// The points between start and stop.
    pub shown: Points,
    /// For a bound series.
    pub back_window: Option<BackWindowState>,
}

/// What a dump hands over, in order.
#[derive(Debug)]
pub enum DumpItem {
    File(FileDump),
    /// A file that could not be read or decoded; the dump goes on.
    Unreadable(store::Error),
    /// An entry that is not archive data, passed over.
    Stray(std::path::PathBuf),
}

/// What the bound series' back window is measured with.
#[derive(Debug, Clone, Copy, Default)]
struct Blocks {
    block: Option<Span>,
    back_window: Option<u64>,
}

/// Reads one file (or decodes an object already fetched); `None` when
/// start/stop leave nothing of it.
fn read_file(
    file: ArchiveFile,
    fetched: Option<Vec<u8>>,
    blocks: Blocks,
    options: &DumpOptions,
) -> Option<DumpItem> {
    if let FileKind::Split { key, .. } = &file.kind
        && !options.may_keep(*key)
    {
        return None;
    }
    let read = match &fetched {
        Some(bytes) => scan::decode_fetched(&file, bytes),
        None => scan::read(&file),
    };
    let decoded = match read {
        Ok(decoded) => decoded,
        Err(error) => return Some(DumpItem::Unreadable(error)),
    };
    let shown: Points = if options.with_points || options.cuts() {
        let kept = decoded.points.iter().filter(|&(t, _)| options.keeps(t));
        kept.collect()
    } else {
        Points::default()
    };
    if options.cuts() && shown.is_empty() {
        return None;
    }
    let back_window = (file.kind == FileKind::Bound)
        .then(|| BackWindowState::of(&decoded.points, blocks.block, blocks.back_window));
    Some(DumpItem::File(FileDump {
        file,
        decoded,
        shown,
        back_window,
    }))
}

/// Reads a metric's files in parallel and hands them over in order.
fn dump_files<E: From<store::Error>>(
    files: Vec<ArchiveFile>,
    blocks: Blocks,
    options: &DumpOptions,
    visit: &mut impl FnMut(DumpItem) -> Result<(), E>,
) -> Result<(), E> {
    let files = files.into_iter().map(|file| (file, None)).collect();
    dump_fetched(files, blocks, options, visit)
}

/// Decodes files or fetched objects in parallel and hands them over in
/// order.
fn dump_fetched<E: From<store::Error>>(
    files: Vec<(ArchiveFile, Option<Vec<u8>>)>,
    blocks: Blocks,
    options: &DumpOptions,
    visit: &mut impl FnMut(DumpItem) -> Result<(), E>,
) -> Result<(), E> {
    let items: Vec<Option<DumpItem>> = files
        .into_par_iter()
        .map(|(file, fetched)| read_file(file, fetched, blocks, options))
        .collect();
    for item in items.into_iter().flatten() {
        visit(item)?;
    }
    Ok(())
}

fn cold_blocks(listing: &MetricDir) -> Blocks {
    Blocks {
        block: listing.largest_granularity(),
        back_window: None,
    }
}

/// Dumps a directory (walked, without an index) or a single file.
pub fn dump_path<E: From<store::Error>>(
    path: &Path,
    options: &DumpOptions,
    visit: &mut impl FnMut(DumpItem) -> Result<(), E>,
) -> Result<(), E> {
    if !path.is_dir() {
        let file = layout::classify_file(path).ok_or_else(|| store::Error::NotArchiveFile {
            path: path.to_owned(),
        })?;
        // A bound series' block size comes from the splits beside it.
        let blocks = match (&file.kind, file.metric, path.parent()) {
            (FileKind::Bound, Some(metric), Some(dir)) => {
                cold_blocks(&layout::list_metric_dir(dir, metric)?)
            }
            _ => Blocks::default(),
        };
        return dump_files(vec![file], blocks, options, visit);
    }
    for found in layout::walk(path) {
        match found? {
            Found::Archive(listing) => {
                dump_files(listing.files(), cold_blocks(&listing), options, visit)?;
            }
            Found::Incoming(sack) => {
                dump_files(sack.files(), Blocks::default(), options, visit)?;
            }
            Found::Stray(path) => visit(DumpItem::Stray(path))?,
        }
    }
    Ok(())
}

/// Whether a dump target is a driver's URL rather than a path.
pub fn is_remote(target: &str) -> bool {
    target.starts_with("s3://") || target.starts_with("redis://")
}

/// Dumps what Gnocchi's S3 or Redis drivers keep (`s3://PREFIX?…`: the
/// buckets `<prefix>-aggregates` and `<prefix>-measure`; `redis://…`: the
/// hashes `timeseries:*` and the lists of waiting measures), metric by
/// metric, without an index.
pub fn dump_remote<E: From<store::Error>>(
    url: &str,
    options: &DumpOptions,
    visit: &mut impl FnMut(DumpItem) -> Result<(), E>,
) -> Result<(), E> {
    let driver = Driver::parse("dump", url)?;
    let storage = match &driver {
        Driver::S3(settings) => Storage::S3(S3Storage::open(settings)?),
        Driver::Redis(url) => Storage::Redis(RedisStorage::new(Pool::new("dump", url)?)),
        Driver::File(_) => unreachable!("only called for s3:// and redis:// URLs"),
    };
    let metrics = match &storage {
        Storage::S3(s3) => s3.list_metrics()?,
        Storage::Redis(redis) => redis.list_metrics()?,
        Storage::File(_) => unreachable!("made above"),
    };
    for metric in metrics {
        let (objects, strays) = remote::archive_objects(&storage, metric)?;
        let block = objects
            .iter()
            .filter_map(|(file, _)| match file.kind {
                FileKind::Split { key, .. } => Some(key.granularity),
                _ => None,
            })
            .max();
        let blocks = Blocks {
            block,
            back_window: None,
        };
        let objects = objects.into_iter().map(|(f, b)| (f, Some(b))).collect();
        dump_fetched(objects, blocks, options, visit)?;
        for stray in strays {
            visit(DumpItem::Stray(stray))?;
        }
    }
    let Some(incoming) = Remote::open(&driver)? else {
        return Ok(());
    };
    let Some(total) = incoming.sacks()? else {
        return Ok(());
    };
    for (sack, metric) in incoming.waiting(total)? {
        let sack = SackName {
            total,
            number: sack,
        };
        let objects = remote::waiting_objects(&incoming, sack, metric)?;
        let objects = objects.into_iter().map(|(f, b)| (f, Some(b))).collect();
        dump_fetched(objects, Blocks::default(), options, visit)?;
    }
    Ok(())
}

/// Dumps a store's metric: its archive files, then its waiting measures.
pub fn dump_metric<E: From<store::Error>>(
    store: &Store,
    metric: &Metric,
    policy: &ArchivePolicy,
    options: &DumpOptions,
    visit: &mut impl FnMut(DumpItem) -> Result<(), E>,
) -> Result<(), E> {
    let _consistent = store.read_lock(metric.id)?;
    let blocks = Blocks {
        block: Some(policy.max_block_size()),
        back_window: Some(policy.effective_back_window()),
    };
    let fetched = |objects: Vec<remote::Fetched>| {
        objects
            .into_iter()
            .map(|(file, bytes)| (file, Some(bytes)))
            .collect()
    };
    match store.storage().as_file() {
        Some(archive) => {
            let archive_dir = archive.metric_dir(metric.id);
            if archive_dir.is_dir() {
                let listing = layout::list_metric_dir(&archive_dir, metric.id)?;
                dump_files(listing.files(), blocks, options, visit)?;
            }
        }
        None => {
            let (objects, strays) = remote::archive_objects(store.storage(), metric.id)?;
            dump_fetched(fetched(objects), blocks, options, visit)?;
            for stray in strays {
                visit(DumpItem::Stray(stray))?;
            }
        }
    }
    let incoming = store.incoming();
    match store.remote_incoming() {
        Some(remote) => {
            let objects =
                remote::waiting_objects(remote, incoming.sack_name(metric.id), metric.id)?;
            dump_fetched(fetched(objects), Blocks::default(), options, visit)?;
        }
        None => {
            let sack_dir = incoming
                .sack_dir(incoming.sack_of(metric.id))
                .join(metric.id.to_string());
            if sack_dir.is_dir() {
                let sack = layout::list_sack_metric_dir(&sack_dir, metric.id)?;
                dump_files(sack.files(), Blocks::default(), options, visit)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    fn points(seconds: &[i64]) -> Points {
        seconds
            .iter()
            .map(|&s| (Timestamp::from_nanos(s * S), s as f64))
            .collect()
    }

    #[test]
    fn back_window_state() {
        let minute = Span::from_secs(60);
        let series = points(&[30, 70, 150, 185]);
        let known = BackWindowState::of(&series, Some(minute), Some(1));
        assert_eq!(known.blocks_held, Some(4));
        assert_eq!(known.accepts_from, Some(Timestamp::from_nanos(120 * S)));
        let cold = BackWindowState::of(&series, Some(minute), None);
        assert_eq!((cold.accepts_from, cold.blocks_held), (None, Some(4)));
        let nothing = BackWindowState::of(&series, None, None);
        assert_eq!(nothing.blocks_held, None);
    }

    #[test]
    fn options_cut_points_and_splits() {
        let options = DumpOptions {
            start: Some(Timestamp::from_nanos(100 * S)),
            stop: Some(Timestamp::from_nanos(200 * S)),
            with_points: true,
        };
        assert!(options.keeps(Timestamp::from_nanos(100 * S)));
        assert!(!options.keeps(Timestamp::from_nanos(200 * S)));
        let key =
            |start| SplitKey::new(Timestamp::from_nanos(start * S), Span::from_nanos(S / 100));
        // Splits of 36 s.
        assert!(!options.may_keep(key(64)));
        assert!(options.may_keep(key(65)));
        assert!(options.may_keep(key(199)));
        assert!(!options.may_keep(key(200)));
    }
}
