//! Where a store keeps its archives: Gnocchi's file layout in a directory
//! (archive.rs), or Gnocchi's Redis or S3 storage driver
//! (redis/storage.rs, s3/storage.rs). One
//! read API for every driver; writes go through the pass, which commits
//! file archives with a transaction (txn.rs) and the others with
//! [`Storage::apply`], in Gnocchi's order.

use uuid::Uuid;

use super::Result;
use super::archive::Archive;
use super::object::ArchiveObject;
use super::redis::storage::RedisStorage;
use super::s3::storage::S3Storage;
use crate::carbonara::{Points, SplitKey};
use crate::policy::AggregationMethod;

/// A store's archives.
#[derive(Debug)]
pub enum Storage {
    File(Archive),
    Redis(RedisStorage),
    S3(S3Storage),
}

impl Storage {
    /// The directory archive, for what reads or repairs files.
    pub fn as_file(&self) -> Option<&Archive> {
        match self {
            Storage::File(archive) => Some(archive),
            Storage::Redis(_) | Storage::S3(_) => None,
        }
    }

    /// The driver's name, for messages.
    pub fn driver(&self) -> &'static str {
        match self {
            Storage::File(_) => "file",
            Storage::Redis(_) => "redis",
            Storage::S3(_) => "s3",
        }
    }

    /// The stored bound series; `None` before the first processing.
    pub fn read_bound(&self, metric: Uuid) -> Result<Option<Points>> {
        match self {
            Storage::File(archive) => archive.read_bound(metric),
            Storage::Redis(redis) => redis.read_bound(metric),
            Storage::S3(s3) => s3.read_bound(metric),
        }
    }

    /// Keys of the stored splits of one method, every granularity,
    /// ascending.
    pub fn list_all_split_keys(
        &self,
        metric: Uuid,
        method: AggregationMethod,
    ) -> Result<Vec<SplitKey>> {
        match self {
            Storage::File(archive) => archive.list_all_split_keys(metric, method),
            Storage::Redis(redis) => redis.list_all_split_keys(metric, method),
            Storage::S3(s3) => s3.list_all_split_keys(metric, method),
        }
    }

    /// Keys of the stored splits of each of `methods`, every granularity,
    /// ascending: one request on S3 or Redis for all of them.
    pub fn list_metric_split_keys(
        &self,
        metric: Uuid,
        methods: &[AggregationMethod],
    ) -> Result<Vec<(AggregationMethod, Vec<SplitKey>)>> {
        match self {
            Storage::File(archive) => methods
                .iter()
                .map(|&method| Ok((method, archive.list_all_split_keys(metric, method)?)))
                .collect(),
            Storage::Redis(redis) => redis.list_metric_split_keys(metric, methods),
            Storage::S3(s3) => s3.list_metric_split_keys(metric, methods),
        }
    }

    /// Stored splits of one method read into one series; missing ones add
    /// nothing.
    pub fn read_splits(
        &self,
        metric: Uuid,
        method: AggregationMethod,
        keys: &[SplitKey],
    ) -> Result<Points> {
        match self {
            Storage::File(archive) => archive.read_splits(metric, method, keys),
            Storage::Redis(redis) => redis.read_splits(metric, method, keys),
            Storage::S3(s3) => s3.read_splits(metric, method, keys),
        }
    }

    /// Several splits of a metric, each read on its own (a missing one is
    /// empty): one round trip on S3 (side by side) or Redis (`HMGET`).
    pub fn read_each(
        &self,
        metric: Uuid,
        splits: &[(AggregationMethod, SplitKey)],
    ) -> Result<Vec<Points>> {
        match self {
            Storage::File(archive) => splits
                .iter()
                .map(|&(method, key)| archive.read_splits(metric, method, &[key]))
                .collect(),
            Storage::Redis(redis) => redis.read_each(metric, splits),
            Storage::S3(s3) => s3.read_each(metric, splits),
        }
    }

    /// Prepares a metric's first processing as Gnocchi does: its
    /// directories, or an empty bound series.
    pub fn create_metric(&self, metric: Uuid, methods: &[AggregationMethod]) -> Result<()> {
        match self {
            Storage::File(archive) => archive.create_metric_dirs(metric, methods),
            Storage::Redis(redis) => redis.create_metric(metric),
            Storage::S3(s3) => s3.create_metric(metric),
        }
    }

    /// Removes everything stored for a metric (nothing stored is fine).
    pub fn remove_metric(&self, metric: Uuid) -> Result<()> {
        match self {
            Storage::File(archive) => archive.remove_metric(metric),
            Storage::Redis(redis) => redis.remove_metric(metric),
            Storage::S3(s3) => s3.remove_metric(metric),
        }
    }

    /// Writes and deletes objects of a driver that is not a directory, in
    /// Gnocchi's order: obsolete splits, new splits, bound series. (A
    /// directory archive changes through a transaction instead.)
    pub fn apply(
        &self,
        deletes: &[ArchiveObject],
        writes: &[(ArchiveObject, Vec<u8>)],
    ) -> Result<()> {
        match self {
            Storage::File(_) => unreachable!("directory archives change through transactions"),
            Storage::Redis(redis) => redis.apply(deletes, writes),
            Storage::S3(s3) => s3.apply(deletes, writes),
        }
    }
}
