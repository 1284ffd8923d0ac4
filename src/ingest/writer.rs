//! Stores the measures parsers produce: resolves each metric reference (id
//! or name) once, creating missing metrics through the archive-policy rules
//! when asked, keeps measures per metric within a memory budget and stages
//! them in one transaction that `finish` commits. An input is taken whole or
//! not at all: dropping the writer stores nothing, not even the metrics it
//! would have created.

use std::path::PathBuf;

use rustc_hash::FxHashMap;
use uuid::Uuid;

use crate::carbonara::codec;
use crate::store::{self, Index, Metric, MetricStatus, Store, Transaction};
use crate::time::Timestamp;

/// Measures kept in memory before they are appended to the staged files
/// (16 bytes each: 16 MiB, and as much again to encode them).
const BUFFER_BUDGET: usize = 1 << 20;

/// How to create metrics an input names but the index does not have.
#[derive(Debug, Clone)]
pub struct CreateMetrics {
    /// The policy of new metrics; the archive-policy rules when `None`.
    pub archive_policy_name: Option<String>,
    pub creator: String,
}

/// What storing an input did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StoreReport {
    pub metrics: usize,
    pub measures: usize,
    pub metrics_created: usize,
}

struct Slot {
    id: Uuid,
    target: PathBuf,
    buffer: Vec<(Timestamp, f64)>,
}

pub struct MeasureWriter<'s> {
    store: &'s Store,
    index: &'s Index,
    transaction: Transaction<'s>,
    create: Option<CreateMetrics>,
    now: Timestamp,
    /// Metric reference → slot; looked up once per measure.
    by_reference: FxHashMap<String, usize>,
    /// Reused to encode each slot's measures.
    encoded: Vec<u8>,
    slots: Vec<Slot>,
    created: Vec<Metric>,
    buffered: usize,
    measures: usize,
}

impl<'s> MeasureWriter<'s> {
    /// `now` names the incoming files (Gnocchi puts the writing time in them).
    pub fn new(
        store: &'s Store,
        index: &'s Index,
        create: Option<CreateMetrics>,
        now: Timestamp,
    ) -> store::Result<Self> {
        Ok(MeasureWriter {
            store,
            index,
            transaction: store.begin(&[])?,
            create,
            now,
            by_reference: FxHashMap::default(),
            encoded: Vec::new(),
            slots: Vec::new(),
            created: Vec::new(),
            buffered: 0,
            measures: 0,
        })
    }

    /// Queues one measure for the metric with this id or name.
    pub fn add(&mut self, metric: &str, timestamp: Timestamp, value: f64) -> store::Result<()> {
        let slot = match self.by_reference.get(metric) {
            Some(&slot) => slot,
            None => self.resolve(metric)?,
        };
        self.slots[slot].buffer.push((timestamp, value));
        self.buffered += 1;
        self.measures += 1;
        if self.buffered >= BUFFER_BUDGET {
            self.flush()?;
        }
        Ok(())
    }

    /// The metric a reference names: found in the index, created earlier in
    /// this input, or created now.
    fn resolve(&mut self, reference: &str) -> store::Result<usize> {
        let id = match self.index.find_metric(reference) {
            Ok(metric) => metric.id,
            Err(store::Error::MetricNotFound(_)) if self.create.is_some() => {
                self.plan_creation(reference)?
            }
            Err(error) => return Err(error),
        };
        let slot = match self.slots.iter().position(|s| s.id == id) {
            Some(slot) => slot,
            None => {
                let target = self.store.incoming().new_file_path(id, self.now);
                self.slots.push(Slot {
                    id,
                    target,
                    buffer: Vec::new(),
                });
                self.slots.len() - 1
            }
        };
        self.by_reference.insert(reference.to_owned(), slot);
        Ok(slot)
    }

    fn plan_creation(&mut self, name: &str) -> store::Result<Uuid> {
        let create = self.create.as_ref().expect("creation was asked for");
        if name.contains('/') {
            return Err(store::Error::InvalidMetricName(name.to_owned()));
        }
        let archive_policy_name = match &create.archive_policy_name {
            Some(policy) => policy.clone(),
            None => self.index.archive_policy_for(Some(name))?,
        };
        // Fail now, not at the end, when the policy is missing.
        self.index.get_archive_policy(&archive_policy_name)?;
        let metric = Metric {
            id: Uuid::new_v4(),
            name: Some(name.to_owned()),
            unit: None,
            archive_policy_name,
            creator: create.creator.clone(),
            resource_id: None,
            status: MetricStatus::Active,
        };
        let id = metric.id;
        self.created.push(metric);
        Ok(id)
    }

    /// Appends every buffered measure to its metric's staged file.
    fn flush(&mut self) -> store::Result<()> {
        for slot in &mut self.slots {
            if !slot.buffer.is_empty() {
                self.encoded.clear();
                codec::encode_measures_into(&slot.buffer, &mut self.encoded);
                self.transaction.append(&slot.target, &self.encoded)?;
                slot.buffer.clear();
            }
        }
        self.buffered = 0;
        Ok(())
    }

    /// Measures queued so far.
    pub fn measures(&self) -> usize {
        self.measures
    }

    /// Creates the new metrics, then stores every measure, atomically.
    pub fn finish(mut self) -> store::Result<StoreReport> {
        self.flush()?;
        // Metrics before measures: measures of an unknown metric would be
        // dropped by the next pass; a metric without measures is harmless.
        self.index.atomically(|index| {
            for metric in &self.created {
                index.create_metric(metric)?;
            }
            Ok(())
        })?;
        self.transaction.commit()?;
        Ok(StoreReport {
            metrics: self.slots.len(),
            measures: self.measures,
            metrics_created: self.created.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{ArchivePolicy, ArchivePolicyRule};

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::init(dir.path(), 4).unwrap();
        let index = store.index().unwrap();
        for policy in ArchivePolicy::defaults() {
            index.create_archive_policy(&policy).unwrap();
        }
        (dir, store)
    }

    fn create(policy: Option<&str>) -> Option<CreateMetrics> {
        Some(CreateMetrics {
            archive_policy_name: policy.map(str::to_owned),
            creator: "admin".into(),
        })
    }

    #[test]
    fn measures_and_new_metrics_appear_together() {
        let (_dir, store) = store();
        let index = store.index().unwrap();
        index
            .create_rule(&ArchivePolicyRule::default_rule())
            .unwrap();
        let mut writer =
            MeasureWriter::new(&store, &index, create(None), Timestamp::EPOCH).unwrap();
        writer.add("cpu", Timestamp::from_nanos(1), 1.0).unwrap();
        writer.add("disk", Timestamp::from_nanos(1), 2.0).unwrap();
        writer.add("cpu", Timestamp::from_nanos(2), 3.0).unwrap();
        assert!(index.find_metric("cpu").is_err(), "created only at the end");
        let report = writer.finish().unwrap();
        assert_eq!(
            (report.metrics, report.measures, report.metrics_created),
            (2, 3, 2)
        );
        let cpu = index.find_metric("cpu").unwrap();
        assert_eq!(cpu.archive_policy_name, "low");
        assert_eq!(
            store.incoming().read_metric(cpu.id).unwrap().measures.len(),
            2
        );
    }

    #[test]
    fn a_dropped_writer_stores_nothing() {
        let (_dir, store) = store();
        let index = store.index().unwrap();
        let mut writer =
            MeasureWriter::new(&store, &index, create(Some("high")), Timestamp::EPOCH).unwrap();
        writer.add("cpu", Timestamp::from_nanos(1), 1.0).unwrap();
        drop(writer);
        assert!(index.find_metric("cpu").is_err());
        assert_eq!(store.incoming().backlog().unwrap().measures, 0);
    }

    #[test]
    fn unknown_metrics_fail_without_creation() {
        let (_dir, store) = store();
        let index = store.index().unwrap();
        let mut writer = MeasureWriter::new(&store, &index, None, Timestamp::EPOCH).unwrap();
        assert!(matches!(
            writer.add("cpu", Timestamp::EPOCH, 1.0),
            Err(store::Error::MetricNotFound(_))
        ));
        let mut writer =
            MeasureWriter::new(&store, &index, create(None), Timestamp::EPOCH).unwrap();
        assert!(matches!(
            writer.add("cpu", Timestamp::EPOCH, 1.0),
            Err(store::Error::NoRuleMatch(_))
        ));
        assert!(matches!(
            writer.add("a/b", Timestamp::EPOCH, 1.0),
            Err(store::Error::InvalidMetricName(_))
        ));
    }
}
