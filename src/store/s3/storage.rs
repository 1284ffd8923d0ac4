//! Processed data in Gnocchi's S3 storage-driver layout
//! (docs/deployments.md#s3-drivers): one bucket, `<prefix>-aggregates`,
//! one "folder" per metric holding the bound series `<metric>/none_v3` and
//! one object per split, `<metric>/<method>_<granularity>_<key>_v3` —
//! method first, unlike the file driver's `<key>_<granularity>_v3`. The
//! bodies are the file driver's bytes, with no metadata.
//!
//! The read API is [`crate::store::archive::Archive`]'s, so a pass or a
//! query reads either alike. It holds no cache and takes no locks.

use uuid::Uuid;

use super::{S3Bucket, S3Settings};
use crate::carbonara::{Points, SplitKey, codec};
use crate::policy::AggregationMethod;
use crate::pyform::fmt::float_repr;
use crate::store::object::{ArchiveObject, NamedObject};
use crate::store::{Error, Result};

/// The bound series' name in a metric's folder (Gnocchi's
/// `'none' + '_v3'`).
pub const BOUND_OBJECT: &str = "none_v3";
const VERSION_SUFFIX: &str = "_v3";

/// Gnocchi's S3 storage driver's bucket.
#[derive(Debug)]
pub struct S3Storage {
    bucket: S3Bucket,
}

impl S3Storage {
    /// A client of `<prefix>-aggregates` (which [`S3Storage::upgrade`]
    /// creates).
    pub fn open(settings: &S3Settings) -> Result<S3Storage> {
        Ok(S3Storage {
            bucket: S3Bucket::open(settings, &settings.storage_bucket())?,
        })
    }

    pub fn bucket(&self) -> &S3Bucket {
        &self.bucket
    }

    /// gnocchi-upgrade's part: creates the bucket (one that exists is
    /// fine, whichever of S3's two answers says so).
    pub fn upgrade(&self) -> Result<()> {
        self.bucket.create()
    }

    /// `<metric>/`: the folder of a metric.
    fn metric_prefix(metric: Uuid) -> String {
        format!("{metric}/")
    }

    /// The key of one stored object: `<metric>/none_v3` or
    /// `<metric>/<method>_<granularity>_<key>_v3`, both numbers in
    /// Python's float repr (`mean_300.0_1703160000.0_v3`).
    pub fn object_key(object: &ArchiveObject) -> String {
        match *object {
            ArchiveObject::Bound(metric) => format!("{metric}/{BOUND_OBJECT}"),
            ArchiveObject::Split {
                metric,
                method,
                key,
            } => format!(
                "{metric}/{method}_{}_{}{VERSION_SUFFIX}",
                float_repr(key.granularity.as_secs_f64()),
                float_repr(key.start.as_secs_f64())
            ),
        }
    }

    fn corrupt(&self, key: String, error: codec::Error) -> Error {
        Error::S3 {
            bucket: self.bucket.name().to_owned(),
            key: Some(key),
            reason: format!("not a carbonara v3 object: {error}"),
        }
    }

    /// The stored bound series; `None` before the first processing (no
    /// `none_v3`, or the empty one a new metric gets).
    pub fn read_bound(&self, metric: Uuid) -> Result<Option<Points>> {
        let key = Self::object_key(&ArchiveObject::Bound(metric));
        match self.bucket.get(&key)? {
            Some(bytes) if !bytes.is_empty() => codec::decode_bound(&bytes)
                .map(Some)
                .map_err(|e| self.corrupt(key, e)),
            _ => Ok(None),
        }
    }

    /// Keys of the stored splits of one method, every granularity,
    /// ascending (one listing of `<metric>/<method>_`). Names that are
    /// not v3 splits are skipped, as Gnocchi skips them.
    pub fn list_all_split_keys(
        &self,
        metric: Uuid,
        method: AggregationMethod,
    ) -> Result<Vec<SplitKey>> {
        let prefix = format!("{metric}/{method}_");
        let names = self.bucket.list(&prefix)?;
        Ok(split_keys(
            names.iter().map(|(name, _)| name.as_str()),
            &prefix,
        ))
    }

    /// Keys of the stored splits of each of `methods`, ascending, from one
    /// listing of the metric's objects.
    pub fn list_metric_split_keys(
        &self,
        metric: Uuid,
        methods: &[AggregationMethod],
    ) -> Result<Vec<(AggregationMethod, Vec<SplitKey>)>> {
        let names = self.bucket.list(&format!("{metric}/"))?;
        Ok(methods
            .iter()
            .map(|&method| {
                let prefix = format!("{metric}/{method}_");
                let keys = split_keys(names.iter().map(|(name, _)| name.as_str()), &prefix);
                (method, keys)
            })
            .collect())
    }

    /// A stored split; a missing object is an empty split.
    pub fn read_split(
        &self,
        metric: Uuid,
        method: AggregationMethod,
        key: SplitKey,
    ) -> Result<Points> {
        self.read_splits(metric, method, &[key])
    }

    /// Stored splits of one method, fetched side by side and read into
    /// one series as the file driver reads them
    /// ([`codec::decode_splits`]); missing objects add nothing.
    pub fn read_splits(
        &self,
        metric: Uuid,
        method: AggregationMethod,
        keys: &[SplitKey],
    ) -> Result<Points> {
        let object = |key| ArchiveObject::Split {
            metric,
            method,
            key,
        };
        let names: Vec<String> = keys
            .iter()
            .map(|&key| Self::object_key(&object(key)))
            .collect();
        let found: Vec<_> = keys
            .iter()
            .zip(self.bucket.get_many(&names)?)
            .filter_map(|(&key, bytes)| Some((key, bytes?)))
            .collect();
        codec::decode_splits(&found)
            .map_err(|(key, error)| self.corrupt(Self::object_key(&object(key)), error))
    }

    /// Several splits of a metric, each read on its own (missing: empty),
    /// all fetched side by side.
    pub fn read_each(
        &self,
        metric: Uuid,
        splits: &[(AggregationMethod, SplitKey)],
    ) -> Result<Vec<Points>> {
        let names: Vec<String> = splits
            .iter()
            .map(|&(method, key)| {
                Self::object_key(&ArchiveObject::Split {
                    metric,
                    method,
                    key,
                })
            })
            .collect();
        let bodies = self.bucket.get_many(&names)?;
        splits
            .iter()
            .zip(bodies)
            .zip(&names)
            .map(|((&(_, key), body), name)| match body {
                None => Ok(Points::default()),
                Some(bytes) => codec::decode_splits(&[(key, bytes)])
                    .map_err(|(_, error)| self.corrupt(name.clone(), error)),
            })
            .collect()
    }

    /// Whether the metric has ever been processed: its `none_v3` exists
    /// (a HEAD request).
    pub fn has_metric(&self, metric: Uuid) -> Result<bool> {
        self.bucket
            .exists(&Self::object_key(&ArchiveObject::Bound(metric)))
    }

    /// Gives a new metric an empty `none_v3`, as Gnocchi does when it
    /// first processes one (Gnocchi's readers take a metric without it
    /// for one that does not exist); one that has it keeps it.
    pub fn create_metric(&self, metric: Uuid) -> Result<()> {
        let key = Self::object_key(&ArchiveObject::Bound(metric));
        if !self.bucket.exists(&key)? {
            self.bucket.put(&key, b"")?;
        }
        Ok(())
    }

    /// One processing pass's changes, in Gnocchi's order
    /// (`store_data_backend`): every delete, then every split written,
    /// then the bound series — each phase's requests side by side. A
    /// reader never sees a bound series newer than the splits it covers.
    pub fn apply(
        &self,
        deletes: &[ArchiveObject],
        writes: &[(ArchiveObject, Vec<u8>)],
    ) -> Result<()> {
        let deleted: Vec<String> = deletes.iter().map(Self::object_key).collect();
        self.bucket.delete_many(&deleted)?;
        let (bounds, splits): (Vec<_>, Vec<_>) = writes
            .iter()
            .map(|(object, bytes)| (object, Self::object_key(object), bytes))
            .partition(|(object, _, _)| matches!(object, ArchiveObject::Bound(_)));
        for phase in [splits, bounds] {
            let items: Vec<(&str, &[u8])> = phase
                .iter()
                .map(|(_, key, bytes)| (key.as_str(), bytes.as_slice()))
                .collect();
            self.bucket.put_many(&items)?;
        }
        Ok(())
    }

    /// Removes every object of a metric (none is fine): one listing of
    /// its folder, then bulk deletes.
    pub fn remove_metric(&self, metric: Uuid) -> Result<()> {
        let keys: Vec<String> = self
            .bucket
            .list(&Self::metric_prefix(metric))?
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        self.bucket.delete_many(&keys)
    }

    /// The metrics with a folder in the bucket, in key order; other
    /// folders are ignored.
    /// Every object of a metric with its bytes, by key, each with what
    /// its name says it is (`None`: a name Gnocchi's driver never writes).
    pub fn objects(&self, metric: Uuid) -> Result<Vec<NamedObject>> {
        let prefix = Self::metric_prefix(metric);
        let keys: Vec<String> = self
            .bucket
            .list(&prefix)?
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        let bodies = self.bucket.get_many(&keys)?;
        Ok(keys
            .into_iter()
            .zip(bodies)
            .filter_map(|(key, body)| {
                let name = &key[prefix.len()..];
                let object = if name == BOUND_OBJECT {
                    Some(ArchiveObject::Bound(metric))
                } else {
                    name.split_once('_').and_then(|(method, rest)| {
                        Some(ArchiveObject::Split {
                            metric,
                            method: method.parse().ok()?,
                            key: parse_split_name(rest)?,
                        })
                    })
                };
                // An object deleted since the listing is no longer there.
                Some((key, object, body?.to_vec()))
            })
            .collect())
    }

    pub fn list_metrics(&self) -> Result<Vec<Uuid>> {
        Ok(self
            .bucket
            .list_delimited("")?
            .iter()
            .filter_map(|name| Uuid::parse_str(name).ok())
            .collect())
    }
}

/// `<granularity>_<key>_v3` (after `<metric>/<method>_`) read back with
/// the file driver's rules ([`SplitKey::parse_file_name`]); `None` for a
/// name that is not a v3 split.
/// The split keys of the object names under `prefix`
/// (`<metric>/<method>_`), ascending.
fn split_keys<'a>(names: impl Iterator<Item = &'a str>, prefix: &str) -> Vec<SplitKey> {
    let mut keys: Vec<SplitKey> = names
        .filter_map(|name| name.strip_prefix(prefix))
        .filter_map(parse_split_name)
        .collect();
    keys.sort();
    keys
}

fn parse_split_name(name: &str) -> Option<SplitKey> {
    let mut fields = name.split('_');
    let (granularity, key) = (fields.next()?, fields.next()?);
    let rest = fields.collect::<Vec<_>>().join("_");
    SplitKey::parse_file_name(&format!("{key}_{granularity}_{rest}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Span, Timestamp};

    #[test]
    fn object_keys_put_the_method_first() {
        let metric = Uuid::parse_str("5a301761-f78b-46e2-8900-8b4f6fe6675a").unwrap();
        let key = SplitKey::new(
            Timestamp::from_nanos(1_703_160_000_000_000_000),
            Span::from_secs(300),
        );
        let split = |method: &str| {
            S3Storage::object_key(&ArchiveObject::Split {
                metric,
                method: method.parse().unwrap(),
                key,
            })
        };
        assert_eq!(
            split("mean"),
            "5a301761-f78b-46e2-8900-8b4f6fe6675a/mean_300.0_1703160000.0_v3"
        );
        assert_eq!(
            split("rate:mean"),
            "5a301761-f78b-46e2-8900-8b4f6fe6675a/rate:mean_300.0_1703160000.0_v3"
        );
        assert_eq!(
            S3Storage::object_key(&ArchiveObject::Bound(metric)),
            "5a301761-f78b-46e2-8900-8b4f6fe6675a/none_v3"
        );
        assert_eq!(parse_split_name("300.0_1703160000.0_v3"), Some(key));
        let fine = SplitKey::new(
            Timestamp::from_nanos(1_388_577_600 * 1_000_000_000),
            Span::from_nanos(200_000_000),
        );
        assert_eq!(parse_split_name("0.2_1388577600.0_v3"), Some(fine));
        assert_eq!(parse_split_name("300.0_1703160000.0_v2"), None);
        assert_eq!(parse_split_name("300.0_1703160000.0"), None);
        assert_eq!(parse_split_name("300.0_1703160000.0_v3_x"), None);
        assert_eq!(parse_split_name("v3"), None);
    }
}
