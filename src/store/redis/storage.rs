//! Gnocchi's Redis storage driver (`gnocchi/storage/redis.py`): one hash
//! per metric, `timeseries:<metric>`, whose field `none_v3` holds the bound
//! series and whose fields `<split key>_<method>_<granularity>_v3` hold the
//! splits (the same bytes as the file driver's files). A metric is created
//! with an empty `none_v3`, which reads as "no data".
//!
//! A pass's changes to many metrics go in one `MULTI`: readers see each
//! hash before or after, never half-written.

use std::collections::HashMap;

use uuid::Uuid;

use super::Pool;
use crate::carbonara::{Points, SplitKey, codec};
use crate::policy::AggregationMethod;
use crate::pyform::fmt::float_repr;
use crate::store::archive::BOUND_FILE;
use crate::store::object::{ArchiveObject, NamedObject};
use crate::store::{Error, Result};

/// Gnocchi's Redis storage driver on one server.
#[derive(Debug)]
pub struct RedisStorage {
    pool: Pool,
}

/// The hash of a metric.
pub fn metric_key(metric: Uuid) -> String {
    format!("timeseries:{metric}")
}

/// The field of a split: `<key>_<method>_<granularity>_v3`.
pub fn split_field(method: AggregationMethod, key: SplitKey) -> String {
    format!(
        "{}_{method}_{}_v3",
        float_repr(key.start.as_secs_f64()),
        float_repr(key.granularity.as_secs_f64())
    )
}

/// The split key of a field of `method`'s splits; `None` for other fields.
fn parse_split_field(field: &str, method: AggregationMethod) -> Option<SplitKey> {
    let mut parts = field.split('_');
    let (key, found, granularity, version) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || found != method.to_string() {
        return None;
    }
    SplitKey::parse_file_name(&format!("{key}_{granularity}_{version}"))
}

/// The field of an object in its metric's hash.
fn field(object: &ArchiveObject) -> String {
    match *object {
        ArchiveObject::Bound(_) => BOUND_FILE.to_owned(),
        ArchiveObject::Split { method, key, .. } => split_field(method, key),
    }
}

impl RedisStorage {
    pub fn new(pool: Pool) -> RedisStorage {
        RedisStorage { pool }
    }

    fn corrupt(&self, metric: Uuid, field: &str, e: impl std::fmt::Display) -> Error {
        Error::Redis {
            url: self.pool.shown().to_owned(),
            reason: format!("hash {}, field {field}: {e}", metric_key(metric)),
        }
    }

    /// The stored bound series; `None` before the first processing.
    pub fn read_bound(&self, metric: Uuid) -> Result<Option<Points>> {
        let key = metric_key(metric);
        let bytes: Option<Vec<u8>> = self.pool.with(
            || format!("HGET {key} {BOUND_FILE}"),
            |c| redis::cmd("HGET").arg(&key).arg(BOUND_FILE).query(c),
        )?;
        match bytes {
            None => Ok(None),
            Some(bytes) if bytes.is_empty() => Ok(None),
            Some(bytes) => codec::decode_bound(&bytes)
                .map(Some)
                .map_err(|e| self.corrupt(metric, BOUND_FILE, e)),
        }
    }

    /// Keys of the stored splits of one method, every granularity,
    /// ascending.
    pub fn list_all_split_keys(
        &self,
        metric: Uuid,
        method: AggregationMethod,
    ) -> Result<Vec<SplitKey>> {
        let mut listed = self.list_metric_split_keys(metric, &[method])?;
        Ok(listed.pop().map(|(_, keys)| keys).unwrap_or_default())
    }

    /// Keys of the stored splits of each of `methods`, ascending, from one
    /// `HKEYS`.
    pub fn list_metric_split_keys(
        &self,
        metric: Uuid,
        methods: &[AggregationMethod],
    ) -> Result<Vec<(AggregationMethod, Vec<SplitKey>)>> {
        let key = metric_key(metric);
        let fields: Vec<String> = self.pool.with(
            || format!("HKEYS {key}"),
            |c| redis::cmd("HKEYS").arg(&key).query(c),
        )?;
        Ok(methods
            .iter()
            .map(|&method| {
                let mut keys: Vec<SplitKey> = fields
                    .iter()
                    .filter_map(|field| parse_split_field(field, method))
                    .collect();
                keys.sort();
                (method, keys)
            })
            .collect())
    }

    /// Stored splits of one method read into one series (`HMGET`), as
    /// `Archive::read_splits` reads files; missing fields add nothing.
    pub fn read_splits(
        &self,
        metric: Uuid,
        method: AggregationMethod,
        keys: &[SplitKey],
    ) -> Result<Points> {
        if keys.is_empty() {
            return Ok(Points::default());
        }
        let key = metric_key(metric);
        let fields: Vec<String> = keys.iter().map(|&k| split_field(method, k)).collect();
        let found: Vec<Option<Vec<u8>>> = self.pool.with(
            || format!("HMGET {key}"),
            |c| redis::cmd("HMGET").arg(&key).arg(&fields).query(c),
        )?;
        let splits: Vec<(SplitKey, Vec<u8>)> = keys
            .iter()
            .zip(found)
            .filter_map(|(&k, bytes)| bytes.map(|b| (k, b)))
            .collect();
        codec::decode_splits(&splits)
            .map_err(|(split, e)| self.corrupt(metric, &split_field(method, split), e))
    }

    /// Several splits of a metric, each read on its own (missing: empty),
    /// in one `HMGET`.
    pub fn read_each(
        &self,
        metric: Uuid,
        splits: &[(AggregationMethod, SplitKey)],
    ) -> Result<Vec<Points>> {
        if splits.is_empty() {
            return Ok(Vec::new());
        }
        let key = metric_key(metric);
        let fields: Vec<String> = splits
            .iter()
            .map(|&(method, split)| split_field(method, split))
            .collect();
        let found: Vec<Option<Vec<u8>>> = self.pool.with(
            || format!("HMGET {key}"),
            |c| redis::cmd("HMGET").arg(&key).arg(&fields).query(c),
        )?;
        splits
            .iter()
            .zip(found)
            .zip(&fields)
            .map(|((&(_, split), bytes), field)| match bytes {
                None => Ok(Points::default()),
                Some(bytes) => codec::decode_splits(&[(split, bytes)])
                    .map_err(|(_, e)| self.corrupt(metric, field, e)),
            })
            .collect()
    }

    /// Whether the metric's hash exists.
    pub fn has_metric(&self, metric: Uuid) -> Result<bool> {
        let key = metric_key(metric);
        self.pool.with(
            || format!("EXISTS {key}"),
            |c| redis::cmd("EXISTS").arg(&key).query(c),
        )
    }

    /// Creates the metric's hash with an empty bound series, as Gnocchi
    /// does (`HSETNX`).
    pub fn create_metric(&self, metric: Uuid) -> Result<()> {
        let key = metric_key(metric);
        self.pool.with(
            || format!("HSETNX {key} {BOUND_FILE}"),
            |c| {
                redis::cmd("HSETNX")
                    .arg(&key)
                    .arg(BOUND_FILE)
                    .arg("")
                    .query::<()>(c)
            },
        )
    }

    /// Deletes and writes objects of many metrics in one `MULTI`, in
    /// Gnocchi's order (deletions, splits, bound series).
    pub fn apply(
        &self,
        deletes: &[ArchiveObject],
        writes: &[(ArchiveObject, Vec<u8>)],
    ) -> Result<()> {
        if deletes.is_empty() && writes.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut by_metric: HashMap<Uuid, Vec<String>> = HashMap::new();
        for object in deletes {
            by_metric
                .entry(object.metric())
                .or_default()
                .push(field(object));
        }
        for (metric, fields) in &by_metric {
            pipe.cmd("HDEL")
                .arg(metric_key(*metric))
                .arg(fields)
                .ignore();
        }
        let (bounds, splits): (Vec<_>, Vec<_>) = writes
            .iter()
            .partition(|(object, _)| matches!(object, ArchiveObject::Bound(_)));
        for (object, bytes) in splits.into_iter().chain(bounds) {
            pipe.cmd("HSET")
                .arg(metric_key(object.metric()))
                .arg(field(object))
                .arg(bytes.as_slice())
                .ignore();
        }
        self.pool.with(
            || {
                format!(
                    "MULTI of {} writes, {} deletions",
                    writes.len(),
                    deletes.len()
                )
            },
            |c| pipe.query::<()>(c),
        )
    }

    /// Removes a metric's hash (missing is fine).
    pub fn remove_metric(&self, metric: Uuid) -> Result<()> {
        let key = metric_key(metric);
        self.pool.with(
            || format!("DEL {key}"),
            |c| redis::cmd("DEL").arg(&key).query(c),
        )
    }

    /// Every field of a metric's hash with its bytes, each with what its
    /// name says it is (`None`: a field Gnocchi's driver never writes).
    pub fn objects(&self, metric: Uuid) -> Result<Vec<NamedObject>> {
        let key = metric_key(metric);
        let fields: Vec<(String, Vec<u8>)> = self.pool.with(
            || format!("HGETALL {key}"),
            |c| redis::cmd("HGETALL").arg(&key).query(c),
        )?;
        let mut objects: Vec<_> = fields
            .into_iter()
            .map(|(field, bytes)| {
                let object = if field == BOUND_FILE {
                    Some(ArchiveObject::Bound(metric))
                } else {
                    let method = field.split('_').nth(1).and_then(|m| m.parse().ok());
                    method.and_then(|method: AggregationMethod| {
                        Some(ArchiveObject::Split {
                            metric,
                            method,
                            key: parse_split_field(&field, method)?,
                        })
                    })
                };
                (field, object, bytes)
            })
            .collect();
        objects.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(objects)
    }

    /// Every metric with a hash (`SCAN MATCH timeseries:*`).
    pub fn list_metrics(&self) -> Result<Vec<Uuid>> {
        let keys = self.pool.scan("timeseries:*")?;
        let mut metrics: Vec<Uuid> = keys
            .iter()
            .filter_map(|k| Uuid::parse_str(k.strip_prefix("timeseries:")?).ok())
            .collect();
        metrics.sort_unstable();
        metrics.dedup();
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Span, Timestamp};

    #[test]
    fn fields_are_gnocchis() {
        let mean: AggregationMethod = "rate:mean".parse().unwrap();
        let key = SplitKey::new(
            Timestamp::from_nanos(1_703_160_000_000_000_000),
            Span::from_secs(300),
        );
        assert_eq!(split_field(mean, key), "1703160000.0_rate:mean_300.0_v3");
        assert_eq!(
            parse_split_field("1703160000.0_rate:mean_300.0_v3", mean),
            Some(key)
        );
        let max: AggregationMethod = "max".parse().unwrap();
        assert_eq!(
            parse_split_field("1703160000.0_rate:mean_300.0_v3", max),
            None
        );
        assert_eq!(parse_split_field(BOUND_FILE, mean), None);
    }
}
