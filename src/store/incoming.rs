//! Unprocessed measures, in Gnocchi's incoming file-driver layout
//! (docs/format/incoming.md): `incoming/incoming<N>-<k>/<metric-uuid>/
//! <uuid4>_<YYYYMMDD>_<HH:MM:SS>`, each file 16-byte records (i64 ns, f64).
//! A metric lives in sack `uuid as u128 mod N`.
//!
//! Measures may wait in Gnocchi's Redis incoming driver instead
//! ([`Remote`], redis/incoming.rs): they are then staged here by a
//! transaction as for files and pushed there when it applies, and a pass
//! reads and trims the lists instead of the files.

use std::fs;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use uuid::Uuid;

use super::backends::Driver;
use super::redis::incoming::RedisIncoming;
use super::s3::incoming::S3Incoming;
use super::{Error, Result, Store, Transaction, io_error};
use crate::carbonara::codec;
use crate::time::Timestamp;

/// A sack directory name, `incoming<total>-<number>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SackName {
    pub total: u32,
    pub number: u32,
}

impl SackName {
    pub fn parse(name: &str) -> Option<SackName> {
        let (total, number) = name.strip_prefix("incoming")?.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(total) || !digits(number) {
            return None;
        }
        Some(SackName {
            total: total.parse().ok()?,
            number: number.parse().ok()?,
        })
    }
}

impl std::fmt::Display for SackName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "incoming{}-{}", self.total, self.number)
    }
}

/// The measures waiting for one metric, and where they came from.
#[derive(Debug, Default)]
pub struct MetricBacklog {
    pub measures: Vec<(Timestamp, f64)>,
    /// The files read (file driver).
    pub files: Vec<PathBuf>,
    /// The list items read (Redis driver).
    pub items: usize,
    /// The objects read (S3 driver).
    pub objects: Vec<String>,
}

/// A batch of encoded measures staged for a metric, to push to a remote
/// driver: its sack, and the name the file driver gives it
/// (`<uuid4>_<YYYYMMDD>_<HH:MM:SS>`, the S3 driver's object name too).
#[derive(Debug)]
pub struct StagedBatch {
    pub sack: SackName,
    pub metric: Uuid,
    pub name: String,
    pub measures: Vec<u8>,
}

/// An incoming driver that is not a directory.
#[derive(Debug)]
pub enum Remote {
    Redis(RedisIncoming),
    S3(S3Incoming),
}

impl Remote {
    /// The remote driver a backend URL names; `None` for files.
    pub fn open(driver: &Driver) -> Result<Option<Remote>> {
        Ok(match driver {
            Driver::File(_) => None,
            Driver::Redis(url) => Some(Remote::Redis(RedisIncoming::new(super::redis::Pool::new(
                "incoming", url,
            )?))),
            Driver::S3(settings) => Some(Remote::S3(S3Incoming::open(settings)?)),
        })
    }

    /// Calls `woken` with each sack of `total` that receives measures
    /// after a pass, until the value returned is dropped: on Redis, which
    /// publishes them (gnocchi-metricd's greedy mode); `None` on S3, whose
    /// workers poll.
    pub fn notifications(
        &self,
        total: u32,
        woken: impl Fn(u32) + Send + 'static,
    ) -> Result<Option<super::redis::notify::Notifications>> {
        match self {
            Remote::Redis(redis) => redis.notifications(total, woken).map(Some),
            Remote::S3(_) => Ok(None),
        }
    }

    /// The sack count the driver keeps (gnocchi-upgrade's), if set.
    pub fn sacks(&self) -> Result<Option<u32>> {
        match self {
            Remote::Redis(redis) => redis.sacks(),
            Remote::S3(s3) => s3.sacks(),
        }
    }

    /// The metrics with measures waiting, with their sack numbers, in sack
    /// then metric order.
    pub fn waiting(&self, total: u32) -> Result<Vec<(u32, Uuid)>> {
        match self {
            Remote::Redis(redis) => redis.waiting(total),
            Remote::S3(s3) => {
                let mut waiting: Vec<(u32, Uuid)> = s3
                    .list_waiting()?
                    .into_iter()
                    .map(|(metric, _)| ((metric.as_u128() % u128::from(total)) as u32, metric))
                    .collect();
                waiting.sort_unstable();
                Ok(waiting)
            }
        }
    }

    /// Appends encoded measures, each batch to its metric's waiting ones.
    pub fn push(&self, batches: Vec<StagedBatch>) -> Result<()> {
        match self {
            Remote::Redis(redis) => {
                let batches: Vec<(SackName, Uuid, Vec<u8>)> = batches
                    .into_iter()
                    .map(|b| (b.sack, b.metric, b.measures))
                    .collect();
                redis.push(&batches)
            }
            Remote::S3(s3) => {
                let objects: Vec<(String, Vec<u8>)> = batches
                    .into_iter()
                    .map(|b| {
                        let key =
                            S3Incoming::object_key(b.sack.number, b.sack.total, b.metric, &b.name);
                        (key, b.measures)
                    })
                    .collect();
                s3.put_many(&objects)
            }
        }
    }

    /// Sets the sack count where none is set; returns the count in force.
    pub fn set_sacks_if_missing(&self, sacks: u32) -> Result<u32> {
        match self {
            Remote::Redis(redis) => redis.set_sacks_if_missing(sacks),
            Remote::S3(s3) => s3.upgrade(sacks),
        }
    }
}

/// Totals of unprocessed measures.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BacklogReport {
    /// Metrics with measures to process.
    pub metrics: usize,
    /// Measures to process (records, not files).
    pub measures: u64,
    /// Per metric, measures to process.
    pub per_metric: Vec<(Uuid, u64)>,
    /// Per metric, when its oldest waiting file or S3 object was written
    /// (to the second, from its name); none on Redis, whose lists keep no
    /// write time.
    pub oldest_per_metric: Vec<(Uuid, Timestamp)>,
}

impl BacklogReport {
    /// When the oldest waiting measure file was written, if known.
    pub fn oldest(&self) -> Option<Timestamp> {
        self.oldest_per_metric.iter().map(|(_, t)| *t).min()
    }
}

/// When a measure file or S3 object was written, from its name's end
/// (`…_20261124_17:13:42`, docs/format/incoming.md#layout).
pub fn written_at(name: &str) -> Option<Timestamp> {
    let stamp = name.get(name.len().checked_sub(17)?..)?;
    let time = chrono::NaiveDateTime::parse_from_str(stamp, "%Y%m%d_%H:%M:%S").ok()?;
    Some(Timestamp::from_nanos(time.and_utc().timestamp_nanos_opt()?))
}

pub struct Incoming<'s> {
    store: &'s Store,
}

impl<'s> Incoming<'s> {
    pub(super) fn new(store: &'s Store) -> Self {
        Incoming { store }
    }

    fn sacks(&self) -> u32 {
        self.store.config().sacks
    }

    /// The sack of a metric: its UUID as a big-endian u128, modulo N.
    pub fn sack_of(&self, metric: Uuid) -> u32 {
        (metric.as_u128() % u128::from(self.sacks())) as u32
    }

    pub fn sack_dir(&self, sack: u32) -> PathBuf {
        self.store.incoming_dir().join(
            SackName {
                total: self.sacks(),
                number: sack,
            }
            .to_string(),
        )
    }

    pub(super) fn create_sacks(&self) -> Result<()> {
        for sack in 0..self.sacks() {
            super::placement::create_spread_dir(&self.sack_dir(sack))?;
        }
        Ok(())
    }

    /// A new name for an incoming file of `metric`, as Gnocchi names them:
    /// `<sack>/<metric>/<uuid4>_<YYYYMMDD>_<HH:MM:SS>` (writing time).
    pub fn new_file_path(&self, metric: Uuid, now: Timestamp) -> PathBuf {
        let written_at = now.to_api_string();
        // `2026-11-24T17:13:42+00:00` → `20261124_17:13:42`.
        let stamp = format!(
            "{}{}{}_{}",
            &written_at[0..4],
            &written_at[5..7],
            &written_at[8..10],
            &written_at[11..19]
        );
        self.sack_dir(self.sack_of(metric))
            .join(metric.to_string())
            .join(format!("{}_{stamp}", Uuid::new_v4()))
    }

    /// Adds one measure file for `metric` to a transaction.
    pub fn stage(
        &self,
        txn: &mut Transaction<'_>,
        metric: Uuid,
        measures: &[(Timestamp, f64)],
        now: Timestamp,
    ) -> Result<()> {
        txn.put(
            self.new_file_path(metric, now),
            &codec::encode_measures(measures),
        )
    }

    /// Whether a sack may hold measures, from one `stat`: a directory's
    /// link count is 2 plus its subdirectories on ext4, xfs and tmpfs, and
    /// every metric with measures is a subdirectory. Filesystems that do not
    /// count (link count 1, as btrfs) always answer yes.
    pub fn may_have_measures(&self, sack: u32) -> Result<bool> {
        if self.store.remote_incoming().is_some() {
            return Ok(true);
        }
        let dir = self.sack_dir(sack);
        match fs::metadata(&dir) {
            Ok(metadata) => Ok(metadata.nlink() != 2),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(source) => Err(Error::Io { path: dir, source }),
        }
    }

    /// Whether a metric has measures waiting: its directory in its sack
    /// exists (Gnocchi's `has_unprocessed`).
    pub fn has_unprocessed(&self, metric: Uuid) -> Result<bool> {
        match self.store.remote_incoming() {
            Some(Remote::Redis(redis)) => redis.has_unprocessed(self.sack_name(metric), metric),
            Some(Remote::S3(s3)) => s3.has_unprocessed(self.sack_of(metric), self.sacks(), metric),
            None => Ok(self
                .sack_dir(self.sack_of(metric))
                .join(metric.to_string())
                .is_dir()),
        }
    }

    /// The sack of a metric, named.
    pub fn sack_name(&self, metric: Uuid) -> SackName {
        SackName {
            total: self.sacks(),
            number: self.sack_of(metric),
        }
    }

    /// The metrics with measures waiting in some sacks, with their sacks,
    /// in sack then metric order.
    pub fn waiting(&self, sacks: &[u32]) -> Result<Vec<(u32, Uuid)>> {
        match self.store.remote_incoming() {
            Some(remote) => {
                let mut waiting = remote.waiting(self.sacks())?;
                waiting.retain(|(sack, _)| sacks.binary_search(sack).is_ok());
                Ok(waiting)
            }
            None => {
                let mut waiting = Vec::new();
                for &sack in sacks {
                    waiting.extend(self.list_metrics(sack)?.into_iter().map(|m| (sack, m)));
                }
                Ok(waiting)
            }
        }
    }

    /// Reads the waiting measures of some metrics: one round trip per sack
    /// on Redis, the files in parallel otherwise.
    pub fn read_metrics(&self, metrics: &[(u32, Uuid)]) -> Vec<Result<MetricBacklog>> {
        use rayon::prelude::*;
        match self.store.remote_incoming() {
            Some(Remote::Redis(redis)) => {
                let mut results = Vec::with_capacity(metrics.len());
                for group in metrics.chunk_by(|a, b| a.0 == b.0) {
                    let sack = SackName {
                        total: self.sacks(),
                        number: group[0].0,
                    };
                    let ids: Vec<Uuid> = group.iter().map(|&(_, id)| id).collect();
                    match redis.read(sack, &ids) {
                        Ok(reads) => results.extend(reads.into_iter().map(|read| {
                            Ok(MetricBacklog {
                                measures: read.measures,
                                items: read.items,
                                ..MetricBacklog::default()
                            })
                        })),
                        Err(error) => {
                            let message = error.to_string();
                            results.push(Err(error));
                            results.extend((1..group.len()).map(|_| {
                                Err(Error::Redis {
                                    url: redis.pool().shown().to_owned(),
                                    reason: message.clone(),
                                })
                            }));
                        }
                    }
                }
                results
            }
            Some(Remote::S3(s3)) => metrics
                .par_iter()
                .map(|&(sack, id)| {
                    let objects: Vec<String> = s3
                        .list_metric(sack, self.sacks(), id)?
                        .into_iter()
                        .map(|(key, _)| key)
                        .collect();
                    Ok(MetricBacklog {
                        measures: s3.read(&objects)?,
                        objects,
                        ..MetricBacklog::default()
                    })
                })
                .collect(),
            None => metrics
                .par_iter()
                .map(|&(_, id)| self.read_metric(id))
                .collect(),
        }
    }

    /// Removes what a pass read and aggregated from a remote driver (the
    /// file driver's files go with the pass's transaction).
    pub fn consume(&self, read: &[(Uuid, &MetricBacklog)], sacks: &[u32]) -> Result<()> {
        match self.store.remote_incoming() {
            Some(Remote::Redis(redis)) => {
                let read: Vec<(SackName, Uuid, usize)> = read
                    .iter()
                    .map(|&(id, backlog)| (self.sack_name(id), id, backlog.items))
                    .collect();
                let sacks: Vec<SackName> = sacks
                    .iter()
                    .map(|&number| SackName {
                        total: self.sacks(),
                        number,
                    })
                    .collect();
                redis.consume(&read, &sacks)
            }
            Some(Remote::S3(s3)) => {
                let objects: Vec<&String> = read
                    .iter()
                    .flat_map(|(_, backlog)| &backlog.objects)
                    .collect();
                s3.delete(&objects)
            }
            None => Ok(()),
        }
    }

    /// Metrics with a directory in a sack; other names are ignored, as in
    /// Gnocchi.
    pub fn list_metrics(&self, sack: u32) -> Result<Vec<Uuid>> {
        let dir = self.sack_dir(sack);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::Io { path: dir, source }),
        };
        let mut metrics = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error(&dir))?;
            if let Some(id) = entry
                .file_name()
                .to_str()
                .and_then(|n| Uuid::parse_str(n).ok())
            {
                metrics.push(id);
            }
        }
        metrics.sort();
        Ok(metrics)
    }

    fn metric_files(&self, metric: Uuid) -> Result<Vec<PathBuf>> {
        let dir = self.sack_dir(self.sack_of(metric)).join(metric.to_string());
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::Io { path: dir, source }),
        };
        let mut files = entries
            .map(|e| e.map(|e| e.path()))
            .collect::<io::Result<Vec<_>>>()
            .map_err(io_error(&dir))?;
        files.sort();
        Ok(files)
    }

    /// Reads every measure file of a metric, concatenated.
    pub fn read_metric(&self, metric: Uuid) -> Result<MetricBacklog> {
        let mut backlog = MetricBacklog::default();
        for path in self.metric_files(metric)? {
            let bytes = fs::read(&path).map_err(io_error(&path))?;
            codec::decode_measures(&bytes, &mut backlog.measures).map_err(|source| {
                Error::Corrupt {
                    path: path.clone(),
                    source,
                }
            })?;
            backlog.files.push(path);
        }
        Ok(backlog)
    }

    /// Removes a metric's sack directory if it is empty (measures that
    /// arrived meanwhile keep it).
    pub fn remove_metric_dir_if_empty(&self, metric: Uuid) {
        let dir = self.sack_dir(self.sack_of(metric)).join(metric.to_string());
        // ENOENT and ENOTEMPTY are expected; anything else leaves a stray
        // empty directory, which is harmless.
        let _ = fs::remove_dir(dir);
    }

    /// Removes every pending measure of a metric (used for deleted metrics).
    pub fn remove_metric(&self, metric: Uuid) -> Result<()> {
        match self.store.remote_incoming() {
            Some(Remote::Redis(redis)) => {
                return redis.remove_metric(self.sack_name(metric), metric);
            }
            Some(Remote::S3(s3)) => {
                return s3.remove_metric(self.sack_of(metric), self.sacks(), metric);
            }
            None => {}
        }
        let dir = self.sack_dir(self.sack_of(metric)).join(metric.to_string());
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::Io {
                path: dir,
                source: e,
            }),
            _ => Ok(()),
        }
    }

    /// How many measures of one metric wait to be processed, from file
    /// sizes.
    pub fn measures_waiting(&self, metric: Uuid) -> Result<u64> {
        match self.store.remote_incoming() {
            Some(Remote::Redis(redis)) => {
                return redis.measures_waiting(self.sack_name(metric), metric);
            }
            Some(Remote::S3(s3)) => {
                let bytes: u64 = s3
                    .list_metric(self.sack_of(metric), self.sacks(), metric)?
                    .iter()
                    .map(|(_, size)| size)
                    .sum();
                return Ok(bytes / codec::MEASURE_RECORD_SIZE as u64);
            }
            None => {}
        }
        let mut measures = 0;
        for path in self.metric_files(metric)? {
            let size = fs::metadata(&path).map_err(io_error(&path))?.len();
            measures += size / codec::MEASURE_RECORD_SIZE as u64;
        }
        Ok(measures)
    }

    /// Counts what waits to be processed, from file sizes.
    pub fn backlog(&self) -> Result<BacklogReport> {
        let mut report = BacklogReport::default();
        let remote = match self.store.remote_incoming() {
            Some(Remote::Redis(redis)) => Some(
                redis
                    .backlog(self.sacks())?
                    .into_iter()
                    .map(|(metric, measures)| (metric, measures, None))
                    .collect(),
            ),
            Some(Remote::S3(s3)) => Some(
                s3.list_waiting()?
                    .into_iter()
                    .map(|(metric, listing)| {
                        let bytes: u64 = listing.iter().map(|(_, size)| size).sum();
                        let oldest = listing.iter().filter_map(|(key, _)| written_at(key)).min();
                        (metric, bytes / codec::MEASURE_RECORD_SIZE as u64, oldest)
                    })
                    .collect::<Vec<_>>(),
            ),
            None => None,
        };
        if let Some(counts) = remote {
            for (metric, measures, oldest) in counts {
                if measures > 0 {
                    report.metrics += 1;
                    report.measures += measures;
                    report.per_metric.push((metric, measures));
                    report.oldest_per_metric.extend(oldest.map(|o| (metric, o)));
                }
            }
            return Ok(report);
        }
        for sack in 0..self.sacks() {
            if !self.may_have_measures(sack)? {
                continue;
            }
            for metric in self.list_metrics(sack)? {
                let mut measures = 0;
                let mut oldest: Option<Timestamp> = None;
                for path in self.metric_files(metric)? {
                    let size = fs::metadata(&path).map_err(io_error(&path))?.len();
                    measures += size / codec::MEASURE_RECORD_SIZE as u64;
                    if let Some(written) = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .and_then(written_at)
                    {
                        oldest = Some(oldest.map_or(written, |o| o.min(written)));
                    }
                }
                if measures > 0 {
                    report.metrics += 1;
                    report.measures += measures;
                    report.per_metric.push((metric, measures));
                    report.oldest_per_metric.extend(oldest.map(|o| (metric, o)));
                }
            }
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Span;

    #[test]
    fn sack_names() {
        assert_eq!(
            SackName::parse("incoming128-5"),
            Some(SackName {
                total: 128,
                number: 5
            })
        );
        for bad in [
            "incoming",
            "incoming-5",
            "incoming12-",
            "incoming1-2x",
            "out1-2",
        ] {
            assert_eq!(SackName::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn sacks_follow_gnocchi() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), 128).unwrap();
        let incoming = store.incoming();
        let sack = |id: &str| incoming.sack_of(Uuid::parse_str(id).unwrap());
        assert_eq!(sack("12345678-1234-5678-1234-567812345678"), 120);
        assert_eq!(sack("69853b55-098b-507d-90b4-709555df2a7a"), 122);
        assert_eq!(sack("00000000-0000-0000-0000-0000000000ff"), 127);
        assert!(incoming.sack_dir(5).ends_with("incoming/incoming128-5"));
    }

    #[test]
    fn staged_measures_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), 4).unwrap();
        let incoming = store.incoming();
        let metric = Uuid::new_v4();
        let now = Timestamp::from_nanos(1_795_000_000_000_000_000);
        let batch = [
            (Timestamp::from_nanos(5), 1.5),
            (Timestamp::from_nanos(3), -2.0),
        ];
        let mut txn = store.begin(&[]).unwrap();
        incoming.stage(&mut txn, metric, &batch, now).unwrap();
        incoming.stage(&mut txn, metric, &batch[..1], now).unwrap();
        txn.commit().unwrap();
        assert_eq!(
            incoming.list_metrics(incoming.sack_of(metric)).unwrap(),
            [metric]
        );
        let backlog = incoming.read_metric(metric).unwrap();
        assert_eq!(backlog.files.len(), 2);
        assert_eq!(backlog.measures.len(), 3);
        let name = backlog.files[0]
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        assert!(name.ends_with("_20261118_11:06:40"), "{name}");
        let report = incoming.backlog().unwrap();
        assert_eq!((report.metrics, report.measures), (1, 3));
        // Written at `now`, to the second.
        assert_eq!(report.oldest(), Some(now.round_down(Span::from_secs(1))));
    }

    #[test]
    fn truncated_files_are_reported_with_their_path() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), 4).unwrap();
        let incoming = store.incoming();
        let metric = Uuid::new_v4();
        let metric_dir = incoming
            .sack_dir(incoming.sack_of(metric))
            .join(metric.to_string());
        fs::create_dir_all(&metric_dir).unwrap();
        fs::write(metric_dir.join("broken"), [0u8; 17]).unwrap();
        let err = incoming.read_metric(metric).unwrap_err();
        assert!(err.to_string().contains("broken"), "{err}");
    }
}
