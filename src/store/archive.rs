//! Processed data, in Gnocchi's storage file-driver layout
//! (docs/format/carbonara-v3.md#the-directory-layout): per metric a directory nested by the hex
//! digits of its UUID, holding the bound series `none_v3` and one
//! `agg_<method>/` directory of split files per aggregation method.
//!
//! `Archive` only needs a root directory, so it reads a genuine Gnocchi
//! file store as well as a carbonara one.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::object::ArchiveObject;
use super::{Error, Result, io_error};
use crate::carbonara::{Points, SplitKey, codec};
use crate::policy::AggregationMethod;

pub const BOUND_FILE: &str = "none_v3";
pub const AGGREGATION_DIR_PREFIX: &str = "agg_";

#[derive(Debug, Clone)]
pub struct Archive {
    root: PathBuf,
    subdir_len: usize,
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io {
            path: path.to_owned(),
            source,
        }),
    }
}

impl Archive {
    pub fn new(root: PathBuf, subdir_len: usize) -> Self {
        Archive { root, subdir_len }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `<d1>/<d2>/…/<uuid>`: the UUID's 32 hex digits cut into chunks of
    /// `subdir_len`, then the dashed UUID.
    pub fn metric_dir(&self, metric: Uuid) -> PathBuf {
        let mut dir = self.root.clone();
        if self.subdir_len > 0 {
            let hex = metric.simple().to_string();
            for chunk in hex.as_bytes().chunks(self.subdir_len) {
                dir.push(std::str::from_utf8(chunk).expect("hex digits are ASCII"));
            }
        }
        dir.push(metric.to_string());
        dir
    }

    pub fn bound_path(&self, metric: Uuid) -> PathBuf {
        self.metric_dir(metric).join(BOUND_FILE)
    }

    pub fn aggregation_dir(&self, metric: Uuid, method: AggregationMethod) -> PathBuf {
        self.metric_dir(metric)
            .join(format!("{AGGREGATION_DIR_PREFIX}{method}"))
    }

    pub fn split_path(&self, metric: Uuid, method: AggregationMethod, key: SplitKey) -> PathBuf {
        self.aggregation_dir(metric, method).join(key.file_name())
    }

    /// The file of an archive object.
    pub fn path_of(&self, object: &ArchiveObject) -> PathBuf {
        match *object {
            ArchiveObject::Bound(metric) => self.bound_path(metric),
            ArchiveObject::Split {
                metric,
                method,
                key,
            } => self.split_path(metric, method, key),
        }
    }

    /// The stored bound series; `None` before the first processing.
    pub fn read_bound(&self, metric: Uuid) -> Result<Option<Points>> {
        let path = self.bound_path(metric);
        let Some(bytes) = read_optional(&path)? else {
            return Ok(None);
        };
        codec::decode_bound(&bytes)
            .map(Some)
            .map_err(|source| Error::Corrupt { path, source })
    }

    /// Keys of the stored splits of one method, every granularity, ascending
    /// (one directory listing).
    pub fn list_all_split_keys(
        &self,
        metric: Uuid,
        method: AggregationMethod,
    ) -> Result<Vec<SplitKey>> {
        let dir = self.aggregation_dir(metric, method);
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(source) => return Err(Error::Io { path: dir, source }),
        };
        let mut keys = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io_error(&dir))?;
            let name = entry.file_name();
            // The name is lossy; re-format our own key to find the file
            // (docs/format/carbonara-v3.md#file-names).
            if let Some(parsed) = name.to_str().and_then(SplitKey::parse_file_name) {
                keys.push(parsed);
            }
        }
        keys.sort();
        Ok(keys)
    }

    /// Stored splits of one method, read into one series
    /// ([`codec::decode_splits`]); missing files add nothing.
    pub fn read_splits(
        &self,
        metric: Uuid,
        method: AggregationMethod,
        keys: &[SplitKey],
    ) -> Result<Points> {
        let mut files = Vec::with_capacity(keys.len());
        for &key in keys {
            if let Some(bytes) = read_optional(&self.split_path(metric, method, key))? {
                files.push((key, bytes));
            }
        }
        codec::decode_splits(&files).map_err(|(key, source)| Error::Corrupt {
            path: self.split_path(metric, method, key),
            source,
        })
    }

    /// Whether the metric has ever been processed.
    pub fn has_metric(&self, metric: Uuid) -> bool {
        self.metric_dir(metric).is_dir()
    }

    /// Creates the metric directory and an `agg_<method>` directory for
    /// every method of its policy, as Gnocchi does on first processing.
    pub fn create_metric_dirs(&self, metric: Uuid, methods: &[AggregationMethod]) -> Result<()> {
        for &method in methods {
            let dir = self.aggregation_dir(metric, method);
            fs::create_dir_all(&dir).map_err(io_error(&dir))?;
        }
        Ok(())
    }

    /// Removes the empty `agg_<method>` directories of methods a metric's
    /// policy no longer has (missing is fine; one still holding files is
    /// left for `verify` to report).
    pub fn remove_aggregation_dirs(
        &self,
        metric: Uuid,
        methods: &[AggregationMethod],
    ) -> Result<()> {
        for &method in methods {
            let dir = self.aggregation_dir(metric, method);
            match fs::remove_dir(&dir) {
                Err(e)
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::NotFound | io::ErrorKind::DirectoryNotEmpty
                    ) =>
                {
                    return Err(Error::Io {
                        path: dir,
                        source: e,
                    });
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Removes a metric's whole directory (missing is fine).
    pub fn remove_metric(&self, metric: Uuid) -> Result<()> {
        let dir = self.metric_dir(metric);
        match fs::remove_dir_all(&dir) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(Error::Io {
                path: dir,
                source: e,
            }),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_dirs_follow_subdir_len() {
        let id = Uuid::parse_str("12345678-9012-3456-7890-123456789012").unwrap();
        let dir = |len| {
            Archive::new(PathBuf::from("/B"), len)
                .metric_dir(id)
                .to_string_lossy()
                .into_owned()
        };
        assert_eq!(
            dir(2),
            "/B/12/34/56/78/90/12/34/56/78/90/12/34/56/78/90/12/12345678-9012-3456-7890-123456789012"
        );
        assert_eq!(
            dir(16),
            "/B/1234567890123456/7890123456789012/12345678-9012-3456-7890-123456789012"
        );
        assert_eq!(
            dir(15),
            "/B/123456789012345/678901234567890/12/12345678-9012-3456-7890-123456789012"
        );
        assert_eq!(dir(0), "/B/12345678-9012-3456-7890-123456789012");
    }

    #[test]
    fn method_directories_keep_the_method_name() {
        let archive = Archive::new(PathBuf::from("/B"), 0);
        let id = Uuid::nil();
        let rate: AggregationMethod = "rate:mean".parse().unwrap();
        assert!(archive.aggregation_dir(id, rate).ends_with("agg_rate:mean"));
    }

    #[test]
    fn missing_files_read_as_nothing_and_corrupt_ones_as_errors() {
        let dir = tempfile::tempdir().unwrap();
        let archive = Archive::new(dir.path().to_owned(), 2);
        let id = Uuid::new_v4();
        let mean: AggregationMethod = "mean".parse().unwrap();
        assert_eq!(archive.read_bound(id).unwrap(), None);
        let key = SplitKey::new(
            crate::time::Timestamp::EPOCH,
            crate::time::Span::from_secs(60),
        );
        assert!(archive.read_splits(id, mean, &[key]).unwrap().is_empty());
        archive.create_metric_dirs(id, &[mean]).unwrap();
        fs::write(archive.split_path(id, mean, key), b"oh really?").unwrap();
        fs::write(archive.bound_path(id), b"xy").unwrap();
        let err = archive.read_splits(id, mean, &[key]).unwrap_err();
        assert!(err.to_string().contains("0.0_60.0_v3"), "{err}");
        assert!(matches!(archive.read_bound(id), Err(Error::Corrupt { .. })));
        assert_eq!(archive.list_all_split_keys(id, mean).unwrap(), [key]);
    }
}
