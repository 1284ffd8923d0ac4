//! TEMPORARY, branch `pglisting` only: placeholders for the traits branch
//! `pgmetrics` implements for `PostgresIndex` (policies, metrics,
//! back-window drops), so that `PostgresIndex` is an `Indexer` before the
//! two branches meet. The lead removes this file at the merge.

use std::collections::HashMap;

use uuid::Uuid;

use super::PostgresIndex;
use crate::policy::{ArchivePolicy, ArchivePolicyRule};
use crate::store::Result;
use crate::store::index::{
    BackWindowDrops, DroppedTotal, Metric, MetricFilter, Metrics, Page, Policies,
};

const PENDING: &str = "implemented on branch pgmetrics";

impl Policies for PostgresIndex {
    fn create_archive_policy(&self, _: &ArchivePolicy) -> Result<()> {
        unimplemented!("{PENDING}")
    }

    fn get_archive_policy(&self, _: &str) -> Result<ArchivePolicy> {
        unimplemented!("{PENDING}")
    }

    fn list_archive_policies(&self) -> Result<Vec<ArchivePolicy>> {
        unimplemented!("{PENDING}")
    }

    fn update_archive_policy(&self, _: &ArchivePolicy) -> Result<()> {
        unimplemented!("{PENDING}")
    }

    fn delete_archive_policy(&self, _: &str) -> Result<()> {
        unimplemented!("{PENDING}")
    }

    fn create_rule(&self, _: &ArchivePolicyRule) -> Result<()> {
        unimplemented!("{PENDING}")
    }

    fn list_rules(&self) -> Result<Vec<ArchivePolicyRule>> {
        unimplemented!("{PENDING}")
    }

    fn get_rule(&self, _: &str) -> Result<ArchivePolicyRule> {
        unimplemented!("{PENDING}")
    }

    fn rename_rule(&self, _: &str, _: &str) -> Result<()> {
        unimplemented!("{PENDING}")
    }

    fn delete_rule(&self, _: &str) -> Result<()> {
        unimplemented!("{PENDING}")
    }
}

impl Metrics for PostgresIndex {
    fn create_metric(&self, _: &Metric) -> Result<()> {
        unimplemented!("{PENDING}")
    }

    fn get_metric(&self, _: Uuid) -> Result<Option<Metric>> {
        unimplemented!("{PENDING}")
    }

    fn resource_metric(&self, _: Uuid, _: &str) -> Result<Option<Metric>> {
        unimplemented!("{PENDING}")
    }

    fn metrics_named(&self, _: &str) -> Result<Vec<Metric>> {
        unimplemented!("{PENDING}")
    }

    fn active_metrics(&self, _: &[Uuid]) -> Result<HashMap<Uuid, Metric>> {
        unimplemented!("{PENDING}")
    }

    fn list_metrics(&self, _: &MetricFilter, _: &Page) -> Result<Vec<Metric>> {
        unimplemented!("{PENDING}")
    }

    fn deleted_metrics(&self) -> Result<Vec<Metric>> {
        unimplemented!("{PENDING}")
    }

    fn mark_metric_deleted(&self, _: Uuid) -> Result<()> {
        unimplemented!("{PENDING}")
    }

    fn expunge_metric(&self, _: Uuid) -> Result<()> {
        unimplemented!("{PENDING}")
    }
}

impl BackWindowDrops for PostgresIndex {
    fn record_dropped(&self, _: &[(Uuid, crate::carbonara::update::Dropped)]) -> Result<()> {
        unimplemented!("{PENDING}")
    }

    fn dropped_measures(&self, _: Option<Uuid>) -> Result<Vec<DroppedTotal>> {
        unimplemented!("{PENDING}")
    }
}
