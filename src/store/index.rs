//! The index seam: archive policies and rules, metrics, resource types and
//! resources with their history, and the commit tokens of file
//! transactions, behind one trait (`Indexer`) with one implementation per
//! backend. `SqliteIndex` is a store directory's own index,
//! `PostgresIndex` a Gnocchi deployment's; every caller holds an `Index`,
//! whichever backend it wraps.
//!
//! Both backends lay resources out like Gnocchi's SQL indexer, so that a
//! search is one SQL query over real, typed columns:
//!
//! * `resource` holds the base fields of every resource (any type) and
//!   `resource_history` one row per past revision (`revision` counts up,
//!   `revision_end` closes it), at Gnocchi's precision (microseconds).
//! * Each resource type has two tables of its own, `rt_<uuid hex>` and
//!   `rt_<uuid hex>_history` (names are free text, table names must not
//!   be), with one column per attribute, keyed by the resource id or the
//!   history revision. Adding or removing an attribute adds or drops a
//!   column.
//! * A search over type T reads `resource ⋈ rt_T` (and with history, the
//!   union with `resource_history ⋈ rt_T_history`) as one row set whose
//!   columns carry the attribute names; the filter becomes a WHERE clause
//!   on it, sorting and markers follow oslo.db's `paginate_query`, and
//!   `like` is case-sensitive with `\` escapes, as on PostgreSQL.

mod listing;
mod model;
pub mod postgres;
mod resources;
mod sqlite;

use std::collections::HashMap;
use std::ops::Deref;

use uuid::Uuid;

use super::{Error, Result};
use crate::filter::{CompareOp, Filter, Value};
use crate::policy::{ArchivePolicy, ArchivePolicyRule};
use crate::resource::{Resource, ResourceType, TypeUpdate};
use crate::time::Timestamp;
pub use model::{
    DroppedTotal, Metric, MetricFilter, MetricRef, MetricStatus, NewResource, Page,
    ResourceChanges, ResourceQuery,
};
pub use postgres::PostgresIndex;
pub use sqlite::{SCHEMA_VERSION, SqliteIndex};

/// Archive policies and the rules that pick one for a new metric.
pub trait Policies {
    fn create_archive_policy(&self, policy: &ArchivePolicy) -> Result<()>;

    fn get_archive_policy(&self, name: &str) -> Result<ArchivePolicy>;

    /// Policies by name.
    fn list_archive_policies(&self) -> Result<Vec<ArchivePolicy>>;

    /// Replaces a policy's definition and back window (the granularities
    /// must stay the same: see `ArchivePolicy::check_update`).
    fn update_archive_policy(&self, policy: &ArchivePolicy) -> Result<()>;

    /// Deletes a policy no metric (even one being deleted) and no rule uses.
    fn delete_archive_policy(&self, name: &str) -> Result<()>;

    fn create_rule(&self, rule: &ArchivePolicyRule) -> Result<()>;

    /// Rules in matching order.
    fn list_rules(&self) -> Result<Vec<ArchivePolicyRule>>;

    fn get_rule(&self, name: &str) -> Result<ArchivePolicyRule>;

    /// Renames a rule; the new name must be free.
    fn rename_rule(&self, name: &str, new_name: &str) -> Result<()>;

    fn delete_rule(&self, name: &str) -> Result<()>;

    /// The policy for a metric created without one: the first matching
    /// archive-policy rule's (an unnamed metric matches as "").
    fn archive_policy_for(&self, metric_name: Option<&str>) -> Result<String> {
        let rules = self.list_rules()?;
        ArchivePolicyRule::find_match(&rules, metric_name.unwrap_or(""))
            .map(|rule| rule.archive_policy_name.clone())
            .ok_or_else(|| Error::NoRuleMatch(metric_name.unwrap_or("None").to_owned()))
    }
}

/// Metrics, and the two steps of their deletion: marked at once, expunged
/// once the janitor has removed their data.
pub trait Metrics {
    /// Stores a new metric; one attached to a resource needs a name not
    /// used by another metric of that resource.
    fn create_metric(&self, metric: &Metric) -> Result<()>;

    /// An active metric by id.
    fn get_metric(&self, id: Uuid) -> Result<Option<Metric>>;

    /// An active metric by id and, where the backend reads it in the same
    /// lookup (PostgreSQL: one round trip rather than two), its archive
    /// policy; `None` leaves the policy to `get_archive_policy`.
    fn get_metric_and_policy(&self, id: Uuid) -> Result<Option<(Metric, Option<ArchivePolicy>)>> {
        Ok(self.get_metric(id)?.map(|metric| (metric, None)))
    }

    /// The active metric named `name` on a resource.
    fn resource_metric(&self, resource_id: Uuid, name: &str) -> Result<Option<Metric>>;

    /// Active metrics with this name.
    fn metrics_named(&self, name: &str) -> Result<Vec<Metric>>;

    /// The active metrics among `ids`.
    fn active_metrics(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Metric>>;

    /// Active metrics matching a filter, sorted and paginated like
    /// `GET /v1/metric` (default `id:asc`).
    fn list_metrics(&self, filter: &MetricFilter, page: &Page) -> Result<Vec<Metric>>;

    /// Metrics marked for deletion, whose data remains to be removed.
    fn deleted_metrics(&self) -> Result<Vec<Metric>>;

    /// Hides a metric at once and detaches it from its resource; its data
    /// is removed by the next process pass.
    fn mark_metric_deleted(&self, id: Uuid) -> Result<()>;

    /// Forgets a deleted metric once its data is gone.
    fn expunge_metric(&self, id: Uuid) -> Result<()>;

    /// Moves an active metric to another archive policy, which must exist;
    /// its archive is rewritten for the policy in the same transaction
    /// (`ops::metric::move_to_policy`).
    fn set_metric_archive_policy(&self, id: Uuid, policy: &str) -> Result<()>;

    /// Records that a pass processed the measures of these metrics at
    /// `now`: the columns gnocchi-metricd keeps up to date in Gnocchi's
    /// schema (spec: gnocchi-deployments.md §5, "Indexer writes made by
    /// metricd"), in one statement for the whole pass.
    fn record_processed(&self, ids: &[Uuid], now: Timestamp) -> Result<()>;

    /// An active metric by id, or by name when exactly one has it.
    fn find_metric(&self, reference: &str) -> Result<Metric> {
        if let Ok(id) = Uuid::parse_str(reference)
            && let Some(metric) = self.get_metric(id)?
        {
            return Ok(metric);
        }
        let mut named = self.metrics_named(reference)?;
        match named.len() {
            0 => Err(Error::MetricNotFound(reference.to_owned())),
            1 => Ok(named.remove(0)),
            count => Err(Error::AmbiguousMetricName {
                name: reference.to_owned(),
                count,
            }),
        }
    }
}

/// What the back window made each metric lose, counted by the passes.
pub trait BackWindowDrops {
    /// Adds what one pass dropped to each metric's total.
    fn record_dropped(&self, dropped: &[(Uuid, crate::carbonara::update::Dropped)]) -> Result<()>;

    /// The totals of the active metrics (of `metric` alone when given),
    /// by metric id.
    fn dropped_measures(&self, metric: Option<Uuid>) -> Result<Vec<DroppedTotal>>;
}

/// Resource types and resources, with Gnocchi's revision rules.
pub trait Resources {
    fn get_resource_type(&self, name: &str) -> Result<ResourceType>;

    /// Resource types by name.
    fn list_resource_types(&self) -> Result<Vec<ResourceType>>;

    /// Stores a new type and creates its two tables.
    fn create_resource_type(&self, resource_type: &ResourceType) -> Result<()>;

    /// Applies a planned update (`ResourceType::plan_update`): columns
    /// dropped and added, `fill` values written to existing rows (current
    /// and history alike, as Gnocchi does).
    fn update_resource_type(&self, name: &str, update: &TypeUpdate) -> Result<ResourceType>;

    /// Deletes a type no resource (current or past) uses; never `generic`.
    fn delete_resource_type(&self, name: &str) -> Result<()>;

    /// Creates a resource, its attributes and its metrics, all or nothing.
    fn create_resource(&self, new: &NewResource, now: Timestamp) -> Result<Resource>;

    /// The current revision of a resource of `type_name` (any type for
    /// `generic`, which shows only the base fields).
    fn get_resource(&self, type_name: &str, id: Uuid) -> Result<Option<Resource>> {
        let filter = Filter::Compare {
            op: CompareOp::Eq,
            attribute: "id".to_owned(),
            value: Value::Str(id.to_string()),
        };
        let query = ResourceQuery {
            type_name,
            filter: Some(&filter),
            history: false,
            details: false,
            page: &Page::default(),
            now: Timestamp::EPOCH,
        };
        Ok(self.search_resources(&query)?.pop())
    }

    /// Updates a resource as `PATCH /v1/resource/TYPE/ID` does: a new
    /// revision when a given field differs from the stored one (the old
    /// values go to the history), none for metric changes.
    fn update_resource(
        &self,
        type_name: &str,
        id: Uuid,
        changes: &ResourceChanges,
        now: Timestamp,
    ) -> Result<Resource>;

    /// Deletes a resource (any type) and its history; its metrics are
    /// marked deleted, their data goes at the next process pass.
    fn delete_resource(&self, id: Uuid) -> Result<()>;

    /// Deletes every current resource of a type matching a filter; returns
    /// how many (`DELETE /v1/resource/TYPE`).
    fn delete_resources(&self, type_name: &str, filter: &Filter, now: Timestamp) -> Result<usize>;

    /// Gnocchi's `list_resources`: the resources (or revisions) of a type
    /// matching a filter, sorted and paginated, each with its metrics.
    fn search_resources(&self, query: &ResourceQuery<'_>) -> Result<Vec<Resource>>;

    /// The active metrics of a resource, by name.
    fn resource_metrics(&self, id: Uuid) -> Result<Vec<(String, Uuid)>>;
}

/// Transactions, and the tokens that tie a file transaction's journal to
/// the index changes committed with it (store/txn.rs).
pub trait Commits {
    /// Runs `work` in one transaction: all of its changes are stored or
    /// none. Inside another, it is a part of the outer one. With `rerun`,
    /// an outermost transaction the database chose as a deadlock's victim
    /// runs again, as Gnocchi's indexer retries it (oslo.db).
    fn transaction(&self, work: &mut dyn FnMut() -> Result<()>, rerun: bool) -> Result<()>;

    /// Marks the index changes of a file transaction as committed (inside
    /// the same transaction as the changes): store/txn.rs replays the
    /// files of a dead transaction only if its token is here.
    fn record_commit(&self, token: &str) -> Result<()>;

    /// Whether the index changes that go with `token` were committed.
    fn is_committed(&self, token: &str) -> Result<bool>;

    /// Forgets a token once its files are in place.
    fn forget_commit(&self, token: &str) -> Result<()>;

    /// The backend's own consistency check: the problems it finds, none
    /// when the index is sound.
    fn integrity_check(&self) -> Result<Vec<String>>;
}

/// Everything an index backend does.
pub trait Indexer: Policies + Metrics + BackWindowDrops + Resources + Commits + Send {}

impl<T: Policies + Metrics + BackWindowDrops + Resources + Commits + Send> Indexer for T {}

/// An open index, whichever backend holds it; its methods are `Indexer`'s.
pub struct Index(Box<dyn Indexer>);

impl Index {
    pub fn new(backend: impl Indexer + 'static) -> Index {
        Index(Box::new(backend))
    }

    /// Runs `work` in one transaction: all of it is stored or none.
    /// Inside another `atomically`, it is a part of the outer one. `work`
    /// runs again if the database breaks a deadlock by aborting it.
    pub fn atomically<T>(&self, mut work: impl FnMut(&Index) -> Result<T>) -> Result<T> {
        let mut value = None;
        self.0.transaction(
            &mut || {
                value = Some(work(self)?);
                Ok(())
            },
            true,
        )?;
        Ok(value.expect("a committed transaction ran its work"))
    }

    /// [`Index::atomically`] for work that cannot run twice (it changes
    /// more than the index): a deadlock's victim fails.
    pub fn atomically_once<T>(&self, work: impl FnOnce(&Index) -> Result<T>) -> Result<T> {
        let mut work = Some(work);
        let mut value = None;
        self.0.transaction(
            &mut || {
                let work = work
                    .take()
                    .expect("a transaction that is not rerun runs once");
                value = Some(work(self)?);
                Ok(())
            },
            false,
        )?;
        Ok(value.expect("a committed transaction ran its work"))
    }
}

/// Opens a Gnocchi deployment's index.
pub fn open_postgres(url: &str) -> Result<Index> {
    Ok(Index::new(PostgresIndex::connect(url)?))
}

/// Readies a Gnocchi deployment's database for a new store: an empty one
/// gets Gnocchi 4.7's schema as gnocchi-upgrade makes it (without
/// policies: `init` adds them), one at another revision is refused.
pub fn create_postgres(url: &str) -> Result<()> {
    upgrade_postgres(url, false).map(drop)
}

/// gnocchi-upgrade's job on the index: Gnocchi 4.7's schema on an empty
/// database (with the default policies and rule when asked), the
/// `generic` type and, when asked, the default policies where there are
/// neither policies nor rules, on one at Gnocchi 4.7's revision; any other
/// revision is refused. Returns whether the schema was created.
pub fn upgrade_postgres(url: &str, default_policies: bool) -> Result<bool> {
    let index = PostgresIndex::connect_any_revision(url)?;
    postgres::schema::upgrade(&mut index.client(), default_policies)
}

impl Deref for Index {
    type Target = dyn Indexer;

    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}
