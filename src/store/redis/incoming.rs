//! Gnocchi's Redis incoming driver (`gnocchi/incoming/redis.py`): the sack
//! count in the hash `gnocchi-config`, each metric's waiting measures in
//! the list `incoming<total>-<number>:<metric>`, one item of 16-byte
//! records per batch, and the string key `incoming<total>-<number>` set
//! when a sack receives measures (gnocchi-metricd's wake-up).
//!
//! A pass reads a metric's whole list and afterwards trims exactly the
//! items it read (`LTRIM key <read> -1`), as Gnocchi's script does: items
//! pushed meanwhile stay for the next pass. An empty read trims nothing
//! (Gnocchi's `LTRIM key 1 -1` after an empty read would drop an item
//! pushed in between).

use std::sync::LazyLock;

use redis::Script;
use uuid::Uuid;

use super::Pool;
use super::notify::Notifications;
use crate::carbonara::codec;
use crate::store::incoming::SackName;
use crate::store::{Error, Result};
use crate::time::Timestamp;

/// Gnocchi's `CFG_PREFIX`: the hash of the driver's settings.
const CONFIG_KEY: &str = "gnocchi-config";
/// Gnocchi's `CFG_SACKS`.
const CONFIG_SACKS: &str = "sacks";

/// The total byte length of the items of each list in `KEYS`.
static LIST_BYTES: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        "
        local sizes = {}
        for i, key in ipairs(KEYS) do
            local bytes = 0
            for _, item in ipairs(redis.call('LRANGE', key, 0, -1)) do
                bytes = bytes + #item
            end
            sizes[i] = bytes
        end
        return sizes
    ",
    )
});

/// The measures a pass read from one metric's list.
#[derive(Debug, Default)]
pub struct ListRead {
    pub measures: Vec<(Timestamp, f64)>,
    /// The list's items read, to trim once they are aggregated.
    pub items: usize,
}

/// Gnocchi's Redis incoming driver on one server.
#[derive(Debug)]
pub struct RedisIncoming {
    pool: Pool,
}

/// The list of a metric's waiting measures.
pub fn list_key(sack: SackName, metric: Uuid) -> String {
    format!("{sack}:{metric}")
}

impl RedisIncoming {
    /// Calls `woken` with each sack of `total` that receives measures
    /// after a pass (`super::notify`), until the value returned is dropped.
    pub fn notifications(
        &self,
        total: u32,
        woken: impl Fn(u32) + Send + 'static,
    ) -> Result<Notifications> {
        Notifications::start(&self.pool, total, woken)
    }

    pub fn new(pool: Pool) -> RedisIncoming {
        RedisIncoming { pool }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// The sack count gnocchi-upgrade wrote, if any.
    pub fn sacks(&self) -> Result<Option<u32>> {
        let text: Option<String> = self.pool.with(
            || format!("HGET {CONFIG_KEY} {CONFIG_SACKS}"),
            |c| {
                redis::cmd("HGET")
                    .arg(CONFIG_KEY)
                    .arg(CONFIG_SACKS)
                    .query(c)
            },
        )?;
        text.map(|text| {
            text.parse().map_err(|_| Error::Redis {
                url: self.pool.shown().to_owned(),
                reason: format!("hash {CONFIG_KEY}: `{CONFIG_SACKS}` = {text:?}, not a number"),
            })
        })
        .transpose()
    }

    /// Sets the sack count where none is set yet (gnocchi-upgrade keeps a
    /// count once written); returns the count in force.
    pub fn set_sacks_if_missing(&self, sacks: u32) -> Result<u32> {
        self.pool.with(
            || format!("HSETNX {CONFIG_KEY} {CONFIG_SACKS}"),
            |c| {
                redis::cmd("HSETNX")
                    .arg(CONFIG_KEY)
                    .arg(CONFIG_SACKS)
                    .arg(sacks)
                    .query::<()>(c)
            },
        )?;
        Ok(self.sacks()?.unwrap_or(sacks))
    }

    /// Appends batches of encoded measures, all or none (one `MULTI`):
    /// `RPUSH` to each metric's list, and the wake-up key of each sack set
    /// as Gnocchi's greedy metricd expects it.
    pub fn push(&self, batches: &[(SackName, Uuid, Vec<u8>)]) -> Result<()> {
        if batches.is_empty() {
            return Ok(());
        }
        let mut pipe = redis::pipe();
        pipe.atomic();
        let mut sacks: Vec<SackName> = Vec::new();
        for (sack, metric, bytes) in batches {
            pipe.cmd("RPUSH")
                .arg(list_key(*sack, *metric))
                .arg(bytes.as_slice())
                .ignore();
            if !sacks.contains(sack) {
                sacks.push(*sack);
            }
        }
        for sack in sacks {
            pipe.cmd("SETNX").arg(sack.to_string()).arg(1).ignore();
        }
        self.pool.with(
            || format!("RPUSH of {} batches", batches.len()),
            |c| pipe.query::<()>(c),
        )
    }

    /// The metrics with measures waiting, with their sacks: one `SCAN`
    /// over the keys `incoming<total>-*:*`.
    pub fn waiting(&self, total: u32) -> Result<Vec<(u32, Uuid)>> {
        let keys = self.pool.scan(&format!("incoming{total}-*:*"))?;
        let mut waiting: Vec<(u32, Uuid)> = keys
            .iter()
            .filter_map(|key| {
                let (sack, metric) = key.split_once(':')?;
                let sack = SackName::parse(sack).filter(|s| s.total == total)?;
                Some((sack.number, Uuid::parse_str(metric).ok()?))
            })
            .collect();
        waiting.sort_unstable();
        waiting.dedup();
        Ok(waiting)
    }

    /// Reads every waiting measure of some metrics of one sack, one
    /// round trip for all.
    pub fn read(&self, sack: SackName, metrics: &[Uuid]) -> Result<Vec<ListRead>> {
        if metrics.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for &metric in metrics {
            pipe.cmd("LRANGE")
                .arg(list_key(sack, metric))
                .arg(0)
                .arg(-1);
        }
        let lists: Vec<Vec<Vec<u8>>> = self
            .pool
            .with(|| format!("LRANGE in sack {sack}"), |c| pipe.query(c))?;
        lists
            .into_iter()
            .zip(metrics)
            .map(|(items, &metric)| {
                let mut read = ListRead {
                    items: items.len(),
                    ..ListRead::default()
                };
                for item in &items {
                    codec::decode_measures(item, &mut read.measures).map_err(|e| Error::Redis {
                        url: self.pool.shown().to_owned(),
                        reason: format!("list {}: {e}", list_key(sack, metric)),
                    })?;
                }
                Ok(read)
            })
            .collect()
    }

    /// The items of a metric's list, each a batch of 16-byte records.
    pub fn items(&self, sack: SackName, metric: Uuid) -> Result<Vec<Vec<u8>>> {
        let key = list_key(sack, metric);
        self.pool.with(
            || format!("LRANGE {key}"),
            |c| redis::cmd("LRANGE").arg(&key).arg(0).arg(-1).query(c),
        )
    }

    /// Removes what a pass read (`items` from the head of each list), and
    /// clears the wake-up keys of the sacks it went through, as
    /// gnocchi-metricd's `finish_sack_processing` does.
    pub fn consume(&self, read: &[(SackName, Uuid, usize)], sacks: &[SackName]) -> Result<()> {
        let mut pipe = redis::pipe();
        let mut trimmed = 0;
        for &(sack, metric, items) in read {
            if items > 0 {
                pipe.cmd("LTRIM")
                    .arg(list_key(sack, metric))
                    .arg(items)
                    .arg(-1)
                    .ignore();
                trimmed += 1;
            }
        }
        for sack in sacks {
            pipe.cmd("DEL").arg(sack.to_string()).ignore();
        }
        if trimmed == 0 && sacks.is_empty() {
            return Ok(());
        }
        self.pool.with(
            || format!("LTRIM of {trimmed} lists"),
            |c| pipe.query::<()>(c),
        )
    }

    /// Whether a metric has measures waiting (`EXISTS`).
    pub fn has_unprocessed(&self, sack: SackName, metric: Uuid) -> Result<bool> {
        let key = list_key(sack, metric);
        self.pool.with(
            || format!("EXISTS {key}"),
            |c| redis::cmd("EXISTS").arg(&key).query(c),
        )
    }

    /// Drops every waiting measure of a metric (`DEL`).
    pub fn remove_metric(&self, sack: SackName, metric: Uuid) -> Result<()> {
        let key = list_key(sack, metric);
        self.pool.with(
            || format!("DEL {key}"),
            |c| redis::cmd("DEL").arg(&key).query(c),
        )
    }

    /// Measures waiting for one metric.
    pub fn measures_waiting(&self, sack: SackName, metric: Uuid) -> Result<u64> {
        let key = list_key(sack, metric);
        let sizes: Vec<u64> = self.pool.with(
            || format!("the size of list {key}"),
            |c| LIST_BYTES.key(&key).invoke(c),
        )?;
        Ok(sizes.first().copied().unwrap_or(0) / codec::MEASURE_RECORD_SIZE as u64)
    }

    /// Measures waiting per metric, from the byte lengths of the lists'
    /// items, summed by the server (one script per 100 lists, as Gnocchi's
    /// report pipelines by 100).
    pub fn backlog(&self, total: u32) -> Result<Vec<(Uuid, u64)>> {
        let waiting = self.waiting(total)?;
        let mut counts = Vec::with_capacity(waiting.len());
        for chunk in waiting.chunks(100) {
            let mut invocation = LIST_BYTES.prepare_invoke();
            for &(number, metric) in chunk {
                invocation.key(list_key(SackName { total, number }, metric));
            }
            let sizes: Vec<u64> = self.pool.with(
                || "the backlog's list sizes".to_owned(),
                |c| invocation.invoke(c),
            )?;
            for (bytes, &(_, metric)) in sizes.into_iter().zip(chunk) {
                let measures = bytes / codec::MEASURE_RECORD_SIZE as u64;
                if measures > 0 {
                    counts.push((metric, measures));
                }
            }
        }
        Ok(counts)
    }
}
