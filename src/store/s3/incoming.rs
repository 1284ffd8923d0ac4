//! Unprocessed measures in Gnocchi's S3 incoming-driver layout
//! (docs/deployments.md#s3-drivers): bucket `<prefix>-measure`, the
//! sack count in its `gnocchi-config` object (`{"sacks": N}`), and one
//! object per posted batch per metric,
//! `<number>-<total>/<metric>/<uuid4>_<YYYYMMDD>_<HH:MM:SS>`, whose body is
//! the 16-byte records of the file driver.
//!
//! Reading measures never deletes them: a pass deletes exactly the keys
//! it read, after storing their aggregates, so an object put meanwhile
//! waits for the next pass (Gnocchi's at-least-once processing).

use std::collections::BTreeMap;

use uuid::Uuid;

use super::{Listing, S3Bucket, S3Settings};
use crate::carbonara::codec;
use crate::store::{Error, Result};
use crate::time::Timestamp;

/// The object holding the sack count (Gnocchi's `CFG_PREFIX`).
pub const CONFIG_OBJECT: &str = "gnocchi-config";

/// Gnocchi's S3 incoming driver's bucket.
#[derive(Debug)]
pub struct S3Incoming {
    bucket: S3Bucket,
}

impl S3Incoming {
    /// A client of `<prefix>-measure` (which [`S3Incoming::upgrade`]
    /// creates).
    pub fn open(settings: &S3Settings) -> Result<S3Incoming> {
        Ok(S3Incoming {
            bucket: S3Bucket::open(settings, &settings.incoming_bucket())?,
        })
    }

    pub fn bucket(&self) -> &S3Bucket {
        &self.bucket
    }

    /// gnocchi-upgrade's part: creates the bucket and writes
    /// `gnocchi-config` with `sacks` unless it exists; returns the sack
    /// count in force (a count once set stays, as in Gnocchi).
    pub fn upgrade(&self, sacks: u32) -> Result<u32> {
        self.bucket.create()?;
        if let Some(found) = self.sacks()? {
            return Ok(found);
        }
        // Python's json.dumps({"sacks": N}), byte for byte.
        self.bucket
            .put(CONFIG_OBJECT, format!("{{\"sacks\": {sacks}}}").as_bytes())?;
        Ok(sacks)
    }

    /// The sack count of `gnocchi-config`; `None` before the upgrade.
    pub fn sacks(&self) -> Result<Option<u32>> {
        let Some(body) = self.bucket.get(CONFIG_OBJECT)? else {
            return Ok(None);
        };
        let bad = |reason: String| Error::S3 {
            bucket: self.bucket.name().to_owned(),
            key: Some(CONFIG_OBJECT.to_owned()),
            reason,
        };
        let config: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| bad(format!("not Gnocchi's JSON settings: {e}")))?;
        config
            .get("sacks")
            .and_then(serde_json::Value::as_u64)
            .and_then(|sacks| u32::try_from(sacks).ok())
            .filter(|sacks| (1..=65_535).contains(sacks))
            .map(Some)
            .ok_or_else(|| bad(format!("`sacks` must be 1 to 65535, in {config}")))
    }

    /// A sack's key prefix without its `/`: `<number>-<total>` (the S3
    /// driver's `SACK_NAME_FORMAT`, unlike the file driver's
    /// `incoming<total>-<number>`).
    pub fn sack_prefix(sack: u32, total: u32) -> String {
        format!("{sack}-{total}")
    }

    /// `<number>-<total>/<metric>/<name>`.
    pub fn object_key(sack: u32, total: u32, metric: Uuid, name: &str) -> String {
        format!("{}/{metric}/{name}", Self::sack_prefix(sack, total))
    }

    /// A new name for a batch of measures written at `now`, as Gnocchi
    /// makes them: `<uuid4>_<YYYYMMDD>_<HH:MM:SS>`.
    pub fn new_measure_name(now: Timestamp) -> String {
        let written_at = now.to_api_string();
        // `2026-11-24T17:13:42+00:00` → `20261124_17:13:42`.
        format!(
            "{}_{}{}{}_{}",
            Uuid::new_v4(),
            &written_at[0..4],
            &written_at[5..7],
            &written_at[8..10],
            &written_at[11..19]
        )
    }

    /// Writes batches of measures (keys from [`S3Incoming::object_key`],
    /// bodies from [`codec::encode_measures`]), side by side.
    pub fn put_many(&self, items: &[(String, Vec<u8>)]) -> Result<()> {
        self.bucket.put_many(items)
    }

    /// Every object waiting, grouped by metric (in metric order, each
    /// metric's keys in key order), with their sizes: one listing of the
    /// whole bucket. `gnocchi-config` and names that are not
    /// `<number>-<total>/<metric>/<name>` are ignored.
    pub fn list_waiting(&self) -> Result<Vec<(Uuid, Listing)>> {
        let mut waiting: BTreeMap<Uuid, Listing> = BTreeMap::new();
        for (key, size) in self.bucket.list("")? {
            if let Some(metric) = metric_of(&key) {
                waiting.entry(metric).or_default().push((key, size));
            }
        }
        Ok(waiting.into_iter().collect())
    }

    /// The objects waiting for one metric, in key order, with their sizes.
    pub fn list_metric(&self, sack: u32, total: u32, metric: Uuid) -> Result<Listing> {
        self.bucket.list(&metric_prefix(sack, total, metric))
    }

    /// The measures of objects, concatenated in the order of `keys`
    /// (fetched side by side). A key with no object is an error: listed
    /// objects are deleted only by the pass that read them.
    pub fn read<K: AsRef<str>>(&self, keys: &[K]) -> Result<Vec<(Timestamp, f64)>> {
        let mut measures = Vec::new();
        for (key, body) in keys.iter().zip(self.bucket.get_many(keys)?) {
            let key = key.as_ref();
            let bad = |reason: String| Error::S3 {
                bucket: self.bucket.name().to_owned(),
                key: Some(key.to_owned()),
                reason,
            };
            let body =
                body.ok_or_else(|| bad("listed, then gone before it was read".to_owned()))?;
            codec::decode_measures(&body, &mut measures)
                .map_err(|e| bad(format!("not measures: {e}")))?;
        }
        Ok(measures)
    }

    /// Deletes objects (bulk); keys with no object are fine.
    pub fn delete<K: AsRef<str>>(&self, keys: &[K]) -> Result<()> {
        self.bucket.delete_many(keys)
    }

    /// Whether a metric has measures waiting (a one-key listing).
    pub fn has_unprocessed(&self, sack: u32, total: u32, metric: Uuid) -> Result<bool> {
        self.bucket.any_under(&metric_prefix(sack, total, metric))
    }

    /// Deletes every measure waiting for a metric (a deleted metric's).
    pub fn remove_metric(&self, sack: u32, total: u32, metric: Uuid) -> Result<()> {
        let keys: Vec<String> = self
            .list_metric(sack, total, metric)?
            .into_iter()
            .map(|(key, _)| key)
            .collect();
        self.bucket.delete_many(&keys)
    }
}

/// `<number>-<total>/<metric>/`.
fn metric_prefix(sack: u32, total: u32, metric: Uuid) -> String {
    format!("{}/{metric}/", S3Incoming::sack_prefix(sack, total))
}

/// The metric of `<number>-<total>/<metric>/<name>`; `None` for other
/// names.
fn metric_of(key: &str) -> Option<Uuid> {
    let mut parts = key.split('/');
    let (sack, metric, name) = (parts.next()?, parts.next()?, parts.next()?);
    let (number, total) = sack.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(number) || !digits(total) || name.is_empty() || parts.next().is_some() {
        return None;
    }
    Uuid::parse_str(metric).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_gnocchi() {
        let metric = Uuid::parse_str("5a301761-f78b-46e2-8900-8b4f6fe6675a").unwrap();
        let name = S3Incoming::new_measure_name(Timestamp::from_nanos(1_796_586_054_000_000_000));
        let (id, stamp) = name.split_once('_').unwrap();
        assert_eq!(Uuid::parse_str(id).unwrap().get_version_num(), 4);
        assert_eq!(stamp, "20261206_19:40:54");
        let key = S3Incoming::object_key(90, 128, metric, &name);
        assert_eq!(
            key,
            format!("90-128/5a301761-f78b-46e2-8900-8b4f6fe6675a/{name}")
        );
        assert_eq!(metric_of(&key), Some(metric));
        assert_eq!(metric_of(CONFIG_OBJECT), None);
        assert_eq!(
            metric_of("incoming128-90/5a301761-f78b-46e2-8900-8b4f6fe6675a/x"),
            None
        );
        assert_eq!(metric_of("90-128/not-a-uuid/x"), None);
        assert_eq!(
            metric_of("90-128/5a301761-f78b-46e2-8900-8b4f6fe6675a/"),
            None
        );
        assert_eq!(
            metric_of("90-128/5a301761-f78b-46e2-8900-8b4f6fe6675a/x/y"),
            None
        );
    }
}
