//! Stores what parsers read, one input at a time, all or nothing.
//!
//! Measures name their metric by id or name, or as a named metric of a
//! resource. The writer resolves each name once (a read of the index) and
//! plans what is missing and may be created — archive policies, resource
//! types, resources, metrics — under new ids, so that measures can be
//! staged right away in the transaction's files (within a memory budget).
//! `finish` then creates everything planned and commits the measures as
//! one transaction (`Transaction::commit_with_index`): a killed import
//! leaves the store as if it never ran. Dropping the writer stores nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;

use rustc_hash::FxHashMap;
use uuid::Uuid;

use super::{Declaration, MissingResource, NamedMetric};
use crate::carbonara::{codec, update};
use crate::policy::ArchivePolicy;
use crate::resource::{AttributeValue, ResourceType, resource_uuid};
use crate::store::{
    self, Index, Metric, MetricStatus, NewResource, ResourceChanges, Store, Transaction,
};
use crate::time::Timestamp;

/// Measures kept in memory before they are appended to the staged files
/// (16 bytes each: 16 MiB, and as much again to encode them).
const BUFFER_BUDGET: usize = 1 << 20;

/// Who writes, and what may be created on the way.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Creator of what is created, and the owner of resource ids that are
    /// not UUIDs.
    pub creator: String,
    /// Create the metrics an input names that do not exist.
    pub create_metrics: bool,
    /// Their archive policy, unless the input gives one; the
    /// archive-policy rules when `None`.
    pub archive_policy_name: Option<String>,
}

impl WriterOptions {
    /// Nothing is created: every metric must exist.
    pub fn measures_only() -> WriterOptions {
        WriterOptions {
            creator: String::new(),
            create_metrics: false,
            archive_policy_name: None,
        }
    }
}

/// What storing an input did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StoreReport {
    pub metrics: usize,
    pub measures: usize,
    pub metrics_created: usize,
    /// The archive policies the created metrics got, by name, and how
    /// many got each.
    pub policies_created: BTreeMap<String, usize>,
    pub resources_created: usize,
    pub resources_updated: usize,
}

/// A metric's measures (its id, existing or planned, is the key of
/// `by_id`).
struct Slot {
    /// Its new incoming file.
    target: PathBuf,
    buffer: Vec<(Timestamp, f64)>,
    /// When holding back: the first timestamp the metric's bound series
    /// keeps; the measures before it go to `held` instead of incoming.
    accepts_from: Option<Timestamp>,
    held: Vec<(Timestamp, f64)>,
}

/// What `finish` creates, in this order.
#[derive(Default)]
struct Plan {
    archive_policies: Vec<ArchivePolicy>,
    resource_types: Vec<ResourceType>,
    /// New resources by id; their metrics are in `metrics`.
    resources: Vec<NewResource>,
    /// Attributes to set on existing resources: (type, id, changes).
    updates: Vec<(String, Uuid, ResourceChanges)>,
    metrics: Vec<Metric>,
}

impl Plan {
    fn is_empty(&self) -> bool {
        self.archive_policies.is_empty()
            && self.resource_types.is_empty()
            && self.resources.is_empty()
            && self.updates.is_empty()
            && self.metrics.is_empty()
    }
}

pub struct MeasureWriter<'s> {
    store: &'s Store,
    index: &'s Index,
    transaction: Transaction<'s>,
    options: WriterOptions,
    now: Timestamp,
    /// Metric reference (id or name) → slot.
    by_reference: FxHashMap<String, usize>,
    /// (resource id, metric name) → slot.
    by_name: FxHashMap<(Uuid, String), usize>,
    /// Metric id → slot.
    by_id: FxHashMap<Uuid, usize>,
    slots: Vec<Slot>,
    plan: Plan,
    /// Reused to encode each slot's measures.
    encoded: Vec<u8>,
    buffered: usize,
    measures: usize,
    /// Hold back the measures the pass would drop (see [`Self::hold_back_late`]).
    hold_back: bool,
}

impl<'s> MeasureWriter<'s> {
    /// `now` names the incoming files (Gnocchi puts the writing time in
    /// them) and stamps what is created.
    pub fn new(
        store: &'s Store,
        index: &'s Index,
        options: WriterOptions,
        now: Timestamp,
    ) -> store::Result<Self> {
        Ok(MeasureWriter {
            store,
            index,
            transaction: store.begin(&[])?,
            options,
            now,
            by_reference: FxHashMap::default(),
            by_name: FxHashMap::default(),
            by_id: FxHashMap::default(),
            slots: Vec::new(),
            plan: Plan::default(),
            encoded: Vec::new(),
            buffered: 0,
            measures: 0,
            hold_back: false,
        })
    }

    /// From now on, the measures of a metric older than the first
    /// timestamp its bound series keeps (those the pass would drop, see
    /// `update::first_block_timestamp`) are not queued but held back for
    /// [`Self::take_held_back`]. A metric never processed holds nothing back.
    pub fn hold_back_late(&mut self) {
        self.hold_back = true;
    }

    /// The measures held back, per metric (by id), each metric's in the
    /// order they came.
    pub fn take_held_back(&mut self) -> Vec<(Uuid, Vec<(Timestamp, f64)>)> {
        let mut held: Vec<(Uuid, Vec<(Timestamp, f64)>)> = self
            .by_id
            .iter()
            .map(|(&id, &slot)| (id, std::mem::take(&mut self.slots[slot].held)))
            .filter(|(_, measures)| !measures.is_empty())
            .collect();
        held.sort_by_key(|&(id, _)| id);
        held
    }

    /// The first timestamp the bound series of metric `id` keeps; `None`
    /// for a metric not processed yet (or only planned).
    fn accepts_from(&self, id: Uuid) -> store::Result<Option<Timestamp>> {
        let Some(metric) = self.index.get_metric(id)? else {
            return Ok(None);
        };
        let Some(last) = self.store.storage().read_bound(id)?.and_then(|b| b.last()) else {
            return Ok(None);
        };
        let policy = self.index.get_archive_policy(&metric.archive_policy_name)?;
        Ok(Some(update::first_block_timestamp(
            last,
            policy.max_block_size(),
            policy.effective_back_window(),
        )))
    }

    /// Queues one measure for the metric with this id or name.
    pub fn add(&mut self, metric: &str, timestamp: Timestamp, value: f64) -> store::Result<()> {
        let slot = match self.by_reference.get(metric) {
            Some(&slot) => slot,
            None => {
                let id = match self.index.find_metric(metric) {
                    Ok(metric) => metric.id,
                    Err(store::Error::MetricNotFound(_)) if self.options.create_metrics => {
                        self.plan_metric(metric, None, None, None)?
                    }
                    Err(error) => return Err(error),
                };
                let slot = self.slot_of(id)?;
                self.by_reference.insert(metric.to_owned(), slot);
                slot
            }
        };
        self.push(slot, timestamp, value)
    }

    /// Queues measures for a metric the caller has already found (the API
    /// checks each request's metrics before their measures are grouped
    /// into one transaction); its id is not looked up again.
    pub fn add_to_metric(&mut self, id: Uuid, measures: &[(Timestamp, f64)]) -> store::Result<()> {
        let slot = self.slot_of(id)?;
        for &(timestamp, value) in measures {
            self.push(slot, timestamp, value)?;
        }
        Ok(())
    }

    /// Queues one measure for a named metric of a resource.
    pub fn add_named(
        &mut self,
        target: &NamedMetric<'_>,
        timestamp: Timestamp,
        value: f64,
    ) -> store::Result<()> {
        let slot = self.named_slot(target)?;
        self.push(slot, timestamp, value)
    }

    /// Queues measures for a named metric of a resource, which is found or
    /// planned even when there are none.
    pub fn add_named_measures(
        &mut self,
        target: &NamedMetric<'_>,
        measures: &[(Timestamp, f64)],
    ) -> store::Result<()> {
        let slot = self.named_slot(target)?;
        for &(timestamp, value) in measures {
            self.push(slot, timestamp, value)?;
        }
        Ok(())
    }

    fn named_slot(&mut self, target: &NamedMetric<'_>) -> store::Result<usize> {
        let resource = resource_uuid(target.resource, &self.options.creator)?;
        let key = (resource, target.name.to_owned());
        if let Some(&slot) = self.by_name.get(&key) {
            return Ok(slot);
        }
        let id = self.resolve_named(resource, target)?;
        let slot = self.slot_of(id)?;
        self.by_name.insert(key, slot);
        Ok(slot)
    }

    fn resolve_named(&mut self, resource: Uuid, target: &NamedMetric<'_>) -> store::Result<Uuid> {
        if let Some(metric) = self.index.resource_metric(resource, target.name)? {
            return Ok(metric.id);
        }
        let exists = self.ensure_resource(resource, target)?;
        if !exists && target.missing_resource == MissingResource::Refuse {
            return Err(store::Error::ResourceNotFound(target.resource.to_owned()));
        }
        if !self.options.create_metrics {
            return Err(store::Error::MetricNotFound(format!(
                "{resource}/{}",
                target.name
            )));
        }
        self.plan_metric(
            target.name,
            target.archive_policy_name,
            target.unit,
            Some(resource),
        )
    }

    /// Whether the resource exists (or is planned); plans it when it may be
    /// created.
    fn ensure_resource(&mut self, id: Uuid, target: &NamedMetric<'_>) -> store::Result<bool> {
        if self.plan.resources.iter().any(|r| r.id == id) {
            return Ok(true);
        }
        let wanted_type = match target.missing_resource {
            MissingResource::Create(type_name) | MissingResource::CreateOrUse(type_name) => {
                type_name
            }
            MissingResource::Refuse => crate::resource::GENERIC,
        };
        if let Some(found) = self.index.get_resource(crate::resource::GENERIC, id)? {
            return match target.missing_resource {
                MissingResource::Create(type_name) if found.type_name != type_name => {
                    Err(store::Error::ResourceOfOtherType {
                        resource: target.resource.to_owned(),
                        id,
                        found: found.type_name,
                        wanted: type_name.to_owned(),
                    })
                }
                _ => Ok(true),
            };
        }
        if target.missing_resource == MissingResource::Refuse {
            return Ok(false);
        }
        self.plan.resources.push(NewResource {
            id,
            original_resource_id: target.resource.to_owned(),
            type_name: wanted_type.to_owned(),
            creator: self.options.creator.clone(),
            user_id: None,
            project_id: None,
            started_at: None,
            ended_at: None,
            attributes: Vec::new(),
            metrics: Vec::new(),
        });
        Ok(false)
    }

    /// Plans a new metric; returns its id.
    fn plan_metric(
        &mut self,
        name: &str,
        archive_policy_name: Option<&str>,
        unit: Option<&str>,
        resource_id: Option<Uuid>,
    ) -> store::Result<Uuid> {
        if name.contains('/') {
            return Err(store::Error::InvalidMetricName(name.to_owned()));
        }
        let archive_policy_name =
            match archive_policy_name.or(self.options.archive_policy_name.as_deref()) {
                Some(policy) => policy.to_owned(),
                None => self.index.archive_policy_for(Some(name))?,
            };
        let planned_policy = self
            .plan
            .archive_policies
            .iter()
            .any(|p| p.name == archive_policy_name);
        if !planned_policy {
            // Fail now, not at the end, when the policy is missing.
            self.index.get_archive_policy(&archive_policy_name)?;
        }
        let metric = Metric {
            id: Uuid::new_v4(),
            name: Some(name.to_owned()),
            unit: unit.map(str::to_owned),
            archive_policy_name,
            creator: self.options.creator.clone(),
            resource_id,
            status: MetricStatus::Active,
        };
        let id = metric.id;
        self.plan.metrics.push(metric);
        Ok(id)
    }

    /// Takes what an input says must exist.
    pub fn declare(&mut self, declaration: Declaration<'_>) -> store::Result<()> {
        match declaration {
            Declaration::ArchivePolicy(policy) => self.ensure_archive_policy(policy),
            Declaration::ResourceType(resource_type) => self.ensure_resource_type(resource_type),
            Declaration::Resource {
                id,
                type_name,
                user_id,
                project_id,
                attributes,
            } => self.describe_resource(id, type_name, user_id, project_id, attributes),
        }
    }

    /// Creates the archive policy at the end unless one of that name exists.
    fn ensure_archive_policy(&mut self, policy: &ArchivePolicy) -> store::Result<()> {
        match self.index.get_archive_policy(&policy.name) {
            Ok(_) => Ok(()),
            Err(store::Error::ArchivePolicyNotFound(_)) => {
                if !self
                    .plan
                    .archive_policies
                    .iter()
                    .any(|p| p.name == policy.name)
                {
                    self.plan.archive_policies.push(policy.clone());
                }
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Creates the resource type at the end unless one of that name exists.
    fn ensure_resource_type(&mut self, resource_type: &ResourceType) -> store::Result<()> {
        match self.index.get_resource_type(&resource_type.name) {
            Ok(_) => Ok(()),
            Err(store::Error::ResourceTypeNotFound(_)) => {
                if !self
                    .plan
                    .resource_types
                    .iter()
                    .any(|t| t.name == resource_type.name)
                {
                    self.plan.resource_types.push(resource_type.clone());
                }
                Ok(())
            }
            Err(error) => Err(error),
        }
    }

    /// Sets the base fields and attributes of a resource: a new one is
    /// created with them (its required attributes must be there), an
    /// existing one is updated, with a new revision if anything changes.
    fn describe_resource(
        &mut self,
        resource: &str,
        type_name: &str,
        user_id: Option<&str>,
        project_id: Option<&str>,
        attributes: &[(String, AttributeValue)],
    ) -> store::Result<()> {
        let id = resource_uuid(resource, &self.options.creator)?;
        if let Some(new) = self.plan.resources.iter_mut().find(|r| r.id == id) {
            new.user_id = user_id.map(str::to_owned);
            new.project_id = project_id.map(str::to_owned);
            new.attributes = attributes.to_vec();
            return Ok(());
        }
        match self.index.get_resource(crate::resource::GENERIC, id)? {
            Some(existing) if existing.type_name == type_name => {
                self.plan.updates.push((
                    type_name.to_owned(),
                    id,
                    ResourceChanges {
                        project_id: Some(project_id.map(str::to_owned)),
                        attributes: attributes.to_vec(),
                        ..ResourceChanges::default()
                    },
                ));
            }
            // One of another type keeps its fields (updating it as
            // `type_name` would find no such resource).
            Some(_) => {}
            None => {
                let planned_type = self
                    .plan
                    .resource_types
                    .iter()
                    .find(|t| t.name == type_name);
                match planned_type {
                    Some(resource_type) => resource_type.check_required(attributes)?,
                    None => self
                        .index
                        .get_resource_type(type_name)?
                        .check_required(attributes)?,
                }
                self.plan.resources.push(NewResource {
                    id,
                    original_resource_id: resource.to_owned(),
                    type_name: type_name.to_owned(),
                    creator: self.options.creator.clone(),
                    user_id: user_id.map(str::to_owned),
                    project_id: project_id.map(str::to_owned),
                    started_at: None,
                    ended_at: None,
                    attributes: attributes.to_vec(),
                    metrics: Vec::new(),
                });
            }
        }
        Ok(())
    }

    fn slot_of(&mut self, id: Uuid) -> store::Result<usize> {
        if let Some(&slot) = self.by_id.get(&id) {
            return Ok(slot);
        }
        let target = self.store.incoming().new_file_path(id, self.now);
        let accepts_from = match self.hold_back {
            true => self.accepts_from(id)?,
            false => None,
        };
        self.slots.push(Slot {
            target,
            buffer: Vec::new(),
            accepts_from,
            held: Vec::new(),
        });
        self.by_id.insert(id, self.slots.len() - 1);
        Ok(self.slots.len() - 1)
    }

    fn push(&mut self, slot: usize, timestamp: Timestamp, value: f64) -> store::Result<()> {
        let into = &mut self.slots[slot];
        if into.accepts_from.is_some_and(|from| timestamp < from) {
            into.held.push((timestamp, value));
            self.measures += 1;
            return Ok(());
        }
        into.buffer.push((timestamp, value));
        self.buffered += 1;
        self.measures += 1;
        if self.buffered >= BUFFER_BUDGET {
            self.flush()?;
        }
        Ok(())
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

    /// Creates what was planned and stores every measure, atomically.
    pub fn finish(mut self) -> store::Result<StoreReport> {
        self.flush()?;
        let plan = std::mem::take(&mut self.plan);
        let mut report = StoreReport {
            metrics: self.slots.len(),
            measures: self.measures,
            metrics_created: plan.metrics.len(),
            policies_created: plan.metrics.iter().fold(BTreeMap::new(), |mut count, m| {
                *count.entry(m.archive_policy_name.clone()).or_default() += 1;
                count
            }),
            resources_created: plan.resources.len(),
            resources_updated: 0,
        };
        let targets: Vec<Option<PathBuf>> = plan
            .metrics
            .iter()
            .map(|m| {
                self.by_id
                    .get(&m.id)
                    .map(|&slot| self.slots[slot].target.clone())
            })
            .collect();
        let (store, now) = (self.store, self.now);
        if plan.is_empty() {
            // Only measures: no index change to commit with them.
            self.transaction.commit()?;
            return Ok(report);
        }
        report.resources_updated =
            self.transaction
                .commit_with_index(self.index, |index, transaction| {
                    for policy in &plan.archive_policies {
                        match index.create_archive_policy(policy) {
                            Ok(()) | Err(store::Error::ArchivePolicyExists(_)) => {}
                            Err(error) => return Err(error),
                        }
                    }
                    for resource_type in &plan.resource_types {
                        match index.create_resource_type(resource_type) {
                            Ok(()) | Err(store::Error::ResourceTypeExists(_)) => {}
                            Err(error) => return Err(error),
                        }
                    }
                    for resource in &plan.resources {
                        index.create_resource(resource, now)?;
                    }
                    let mut updated = 0;
                    for (type_name, id, changes) in &plan.updates {
                        let before = index
                            .get_resource(type_name, *id)?
                            .map(|r| r.revision_start);
                        let after = index
                            .update_resource(type_name, *id, changes, now)?
                            .revision_start;
                        updated += usize::from(before != Some(after));
                    }
                    for (metric, target) in plan.metrics.iter().zip(&targets) {
                        match index.create_metric(metric) {
                            Ok(()) => {}
                            // Created meanwhile by another import: use that one.
                            Err(store::Error::NamedMetricExists(_)) => {
                                let resource = metric
                                    .resource_id
                                    .expect("only resource metrics have unique names");
                                let name = metric.name.as_deref().unwrap_or_default();
                                let existing = index
                                    .resource_metric(resource, name)?
                                    .ok_or_else(|| store::Error::MetricNotFound(name.to_owned()))?;
                                if let Some(target) = target {
                                    transaction.retarget(
                                        target,
                                        store.incoming().new_file_path(existing.id, now),
                                    );
                                }
                            }
                            Err(error) => return Err(error),
                        }
                    }
                    Ok(updated)
                })?;
        Ok(report)
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

    fn options(create_metrics: bool, policy: Option<&str>) -> WriterOptions {
        WriterOptions {
            creator: "admin".into(),
            create_metrics,
            archive_policy_name: policy.map(str::to_owned),
        }
    }

    #[test]
    fn measures_and_new_metrics_appear_together() {
        let (_dir, store) = store();
        let index = store.index().unwrap();
        index
            .create_rule(&ArchivePolicyRule::default_rule())
            .unwrap();
        let mut writer =
            MeasureWriter::new(&store, &index, options(true, None), Timestamp::EPOCH).unwrap();
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
    fn measures_the_back_window_would_drop_are_held_back() {
        let (_dir, store) = store();
        let index = store.index().unwrap();
        let minutes = |m: i64| Timestamp::from_nanos(m * 60_000_000_000);
        // "low" keeps 5 min points, back window 0: after a pass up to
        // 2 d 1 h, the bound series keeps from 2 d 1 h on.
        let mut writer =
            MeasureWriter::new(&store, &index, options(true, Some("low")), minutes(0)).unwrap();
        writer.add("cpu", minutes(2 * 1440 + 60), 1.0).unwrap();
        writer.finish().unwrap();
        crate::process::run_pass(&store, &index, &Default::default()).unwrap();

        let mut writer =
            MeasureWriter::new(&store, &index, options(true, Some("low")), minutes(0)).unwrap();
        writer.hold_back_late();
        writer.add("cpu", minutes(1440 + 5), 2.0).unwrap();
        writer.add("cpu", minutes(2 * 1440 + 60), 3.0).unwrap();
        writer.add("cpu", minutes(10), 4.0).unwrap();
        // Planned now: never processed, nothing held back.
        writer.add("disk", minutes(10), 5.0).unwrap();
        let cpu = index.find_metric("cpu").unwrap().id;
        assert_eq!(
            writer.take_held_back(),
            [(cpu, vec![(minutes(1440 + 5), 2.0), (minutes(10), 4.0)])]
        );
        assert_eq!(writer.finish().unwrap().measures, 4);
        assert_eq!(
            store.incoming().read_metric(cpu).unwrap().measures,
            [(minutes(2 * 1440 + 60), 3.0)]
        );
    }

    #[test]
    fn a_dropped_writer_stores_nothing() {
        let (_dir, store) = store();
        let index = store.index().unwrap();
        let mut writer = MeasureWriter::new(
            &store,
            &index,
            options(true, Some("high")),
            Timestamp::EPOCH,
        )
        .unwrap();
        writer.add("cpu", Timestamp::from_nanos(1), 1.0).unwrap();
        drop(writer);
        assert!(index.find_metric("cpu").is_err());
        assert_eq!(store.incoming().backlog().unwrap().measures, 0);
    }

    #[test]
    fn unknown_metrics_fail_without_creation() {
        let (_dir, store) = store();
        let index = store.index().unwrap();
        let mut writer =
            MeasureWriter::new(&store, &index, options(false, None), Timestamp::EPOCH).unwrap();
        assert!(matches!(
            writer.add("cpu", Timestamp::EPOCH, 1.0),
            Err(store::Error::MetricNotFound(_))
        ));
        let mut writer =
            MeasureWriter::new(&store, &index, options(true, None), Timestamp::EPOCH).unwrap();
        assert!(matches!(
            writer.add("cpu", Timestamp::EPOCH, 1.0),
            Err(store::Error::NoRuleMatch(_))
        ));
        assert!(matches!(
            writer.add("a/b", Timestamp::EPOCH, 1.0),
            Err(store::Error::InvalidMetricName(_))
        ));
    }

    #[test]
    fn named_metrics_create_resources_when_allowed() {
        let (_dir, store) = store();
        let index = store.index().unwrap();
        index
            .create_rule(&ArchivePolicyRule::default_rule())
            .unwrap();
        let mut writer =
            MeasureWriter::new(&store, &index, options(true, None), Timestamp::EPOCH).unwrap();
        let named = |resource, missing_resource| NamedMetric {
            resource,
            missing_resource,
            name: "cpu",
            archive_policy_name: Some("medium"),
            unit: Some("%"),
        };
        assert!(matches!(
            writer.add_named(
                &named("host-a", MissingResource::Refuse),
                Timestamp::EPOCH,
                1.0
            ),
            Err(store::Error::ResourceNotFound(_))
        ));
        writer
            .add_named(
                &named("host-a", MissingResource::Create("generic")),
                Timestamp::EPOCH,
                1.0,
            )
            .unwrap();
        writer
            .add_named(
                &named("host-a", MissingResource::Refuse),
                Timestamp::from_nanos(1),
                2.0,
            )
            .unwrap();
        let report = writer.finish().unwrap();
        assert_eq!(
            (
                report.resources_created,
                report.metrics_created,
                report.measures
            ),
            (1, 1, 2)
        );
        let id = resource_uuid("host-a", "admin").unwrap();
        let metric = index.resource_metric(id, "cpu").unwrap().unwrap();
        assert_eq!(
            (metric.archive_policy_name.as_str(), metric.unit.as_deref()),
            ("medium", Some("%"))
        );
        assert_eq!(
            store
                .incoming()
                .read_metric(metric.id)
                .unwrap()
                .measures
                .len(),
            2
        );
    }
}
