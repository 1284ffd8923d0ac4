//! The answers of `GET …/measures` kept in memory, so that a dashboard
//! asking again for the same series gets it without a read or a JSON
//! rendering. Each answer keeps the [`Version`] of its metric's archive
//! when it was read: the archive generation of its sack (see
//! store/lock.rs), which any pass of carbonara's that rewrites the sack
//! bumps, and on a store Gnocchi shares the stamp of the metric's bound
//! series file, which gnocchi-metricd rewrites whenever it processes the
//! metric; either change retires every answer read before it. Least
//! recently and least often used answers go first once the bodies outgrow
//! the budget.

use axum::body::Bytes;
use quick_cache::Weighter;
use quick_cache::sync::Cache;
use uuid::Uuid;

use crate::policy::ArchivePolicy;
use crate::query::MeasuresQuery;

/// What the bodies kept may weigh together.
const BUDGET_BYTES: u64 = 64 << 20;

/// What an answer depends on besides the archive files.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub metric: Uuid,
    pub policy: ArchivePolicy,
    pub query: MeasuresQuery,
}

/// The state of a metric's archive an answer was read at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version {
    /// The sack's archive generation.
    pub generation: u64,
    /// On a store Gnocchi shares, the bound series file's stamp.
    pub bound: Option<FileStamp>,
}

/// A file as `stat` sees it (all zero: no such file).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileStamp {
    pub inode: u64,
    pub size: u64,
    pub modified_ns: i128,
}

#[derive(Clone)]
struct Answer {
    version: Version,
    body: Bytes,
}

#[derive(Clone)]
struct BodySize;

impl Weighter<Key, Answer> for BodySize {
    fn weight(&self, _key: &Key, answer: &Answer) -> u64 {
        // Never 0: an entry of weight 0 would never be evicted.
        answer.body.len() as u64 + 1
    }
}

pub struct MeasuresCache {
    answers: Cache<Key, Answer, BodySize>,
}

impl MeasuresCache {
    pub fn new() -> Self {
        // Sized for answers of about 64 KiB on average.
        MeasuresCache {
            answers: Cache::with_weighter(1024, BUDGET_BYTES, BodySize),
        }
    }

    /// The body kept for `key`, if it was read at `version`.
    pub fn get(&self, key: &Key, version: Version) -> Option<Bytes> {
        self.answers
            .get(key)
            .filter(|answer| answer.version == version)
            .map(|answer| answer.body)
    }

    pub fn insert(&self, key: Key, version: Version, body: Bytes) {
        self.answers.insert(key, Answer { version, body });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{AggregationMethod, BaseMethod};

    fn key(metric: u128) -> Key {
        Key {
            metric: Uuid::from_u128(metric),
            policy: ArchivePolicy::defaults().remove(0),
            query: MeasuresQuery {
                aggregation: AggregationMethod::plain(BaseMethod::Mean),
                granularity: None,
                start: None,
                stop: None,
                resample: None,
            },
        }
    }

    fn version(generation: u64) -> Version {
        Version {
            generation,
            bound: None,
        }
    }

    #[test]
    fn an_answer_serves_only_its_key_and_version() {
        let cache = MeasuresCache::new();
        cache.insert(key(1), version(7), Bytes::from_static(b"[]"));
        assert_eq!(cache.get(&key(1), version(7)).as_deref(), Some(&b"[]"[..]));
        assert_eq!(cache.get(&key(1), version(8)), None);
        assert_eq!(cache.get(&key(2), version(7)), None);
        let mut other_policy = key(1);
        other_policy.policy.back_window += 1;
        assert_eq!(cache.get(&other_policy, version(7)), None);
        let stamp = FileStamp {
            inode: 12,
            size: 100,
            modified_ns: 1,
        };
        let shared = Version {
            generation: 7,
            bound: Some(stamp),
        };
        cache.insert(key(3), shared, Bytes::from_static(b"[]"));
        assert!(cache.get(&key(3), shared).is_some());
        let rewritten = FileStamp {
            modified_ns: 2,
            ..stamp
        };
        assert_eq!(
            cache.get(
                &key(3),
                Version {
                    bound: Some(rewritten),
                    ..shared
                }
            ),
            None
        );
    }

    #[test]
    fn the_bodies_kept_stay_within_the_budget() {
        let cache = MeasuresCache::new();
        let body = Bytes::from(vec![b' '; 1 << 20]);
        for metric in 0..200 {
            cache.insert(key(metric), version(0), body.clone());
        }
        assert!(cache.answers.weight() <= BUDGET_BYTES);
        assert!(cache.answers.len() < 200);
    }
}
