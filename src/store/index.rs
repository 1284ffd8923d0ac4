//! The indexer: archive policies, archive-policy rules, resource types,
//! resources (with their history) and metrics in SQLite (WAL mode, so
//! several carbonara processes can share a store). Spans are kept as
//! integer nanoseconds, not Gnocchi's float seconds, so sub-second
//! definitions survive a round trip (docs/differences.md#storage-and-processing).
//!
//! Resources are laid out like Gnocchi's SQL indexer, so that a search is
//! one SQL query over real, typed columns:
//!
//! * `resource` holds the base fields of every resource (any type) and
//!   `resource_history` one row per past revision (`revision` counts up,
//!   `revision_end` closes it). Dates are integer microseconds since the
//!   epoch, Gnocchi's precision.
//! * Each resource type has two tables of its own, named `rt_<uuid hex>`
//!   (names are free text, table names must not be) and
//!   `rt_<uuid hex>_history`, with one column `f_<attribute>` per
//!   attribute (TEXT for strings and lowercase UUIDs, REAL for numbers,
//!   INTEGER 0/1 for booleans and microseconds for datetimes), keyed by
//!   the resource id or the history revision. Adding or removing an
//!   attribute adds or drops a column.
//! * A search over type T reads `resource ⋈ rt_T` (and with history, the
//!   union with `resource_history ⋈ rt_T_history`) as one row set whose
//!   columns carry the attribute names; the filter becomes a WHERE clause
//!   on it (index/listing.rs), sorting and markers follow oslo.db's
//!   `paginate_query`.
//! * `LIKE` is replaced by a case-sensitive, bytewise version with `\`
//!   escapes, as on PostgreSQL, Gnocchi's reference database.

mod dropped;
mod listing;
mod migration;
pub mod postgres;
mod resources;

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use rusqlite::functions::FunctionFlags;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{Error, Result};
use crate::policy::{AggregationMethod, ArchivePolicy, ArchivePolicyRule, Definition};
use crate::time::Span;
pub use dropped::DroppedTotal;
pub use listing::{Page, ResourceQuery};
pub use resources::{MetricFilter, MetricRef, NewResource, ResourceChanges};

/// The schema this build writes; `migrate_from` brings older ones here.
pub const SCHEMA_VERSION: i64 = 2;
const SCHEMA: &str = "
CREATE TABLE archive_policy (
    name TEXT PRIMARY KEY,
    back_window INTEGER NOT NULL,
    definition TEXT NOT NULL,
    aggregation_methods TEXT NOT NULL
);
CREATE TABLE archive_policy_rule (
    name TEXT PRIMARY KEY,
    metric_pattern TEXT NOT NULL,
    archive_policy_name TEXT NOT NULL REFERENCES archive_policy(name)
);
";

/// What schema 2 adds to schema 1: resources, and metrics tied to them.
const RESOURCE_SCHEMA: &str = "
CREATE TABLE resource_type (
    name TEXT PRIMARY KEY,
    tablename TEXT NOT NULL UNIQUE,
    attributes TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE resource (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL REFERENCES resource_type(name),
    original_resource_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    user_id TEXT,
    project_id TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    revision_start INTEGER NOT NULL,
    CHECK (ended_at IS NULL OR started_at <= ended_at)
);
CREATE INDEX resource_type_name ON resource(type);
CREATE TABLE resource_history (
    revision INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL REFERENCES resource(id) ON DELETE CASCADE,
    type TEXT NOT NULL REFERENCES resource_type(name),
    original_resource_id TEXT NOT NULL,
    creator TEXT NOT NULL,
    user_id TEXT,
    project_id TEXT,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    revision_start INTEGER NOT NULL,
    revision_end INTEGER NOT NULL
);
CREATE INDEX resource_history_id ON resource_history(id);
CREATE TABLE metric (
    id TEXT PRIMARY KEY,
    name TEXT,
    unit TEXT,
    archive_policy_name TEXT NOT NULL REFERENCES archive_policy(name),
    creator TEXT NOT NULL,
    resource_id TEXT REFERENCES resource(id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'active',
    UNIQUE (resource_id, name)
);
CREATE INDEX metric_name ON metric(name);
CREATE TABLE index_commit (token TEXT PRIMARY KEY);
";

/// Whether a metric is live or waiting for its data to be removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricStatus {
    Active,
    Delete,
}

impl MetricStatus {
    fn as_str(self) -> &'static str {
        match self {
            MetricStatus::Active => "active",
            MetricStatus::Delete => "delete",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metric {
    pub id: Uuid,
    pub name: Option<String>,
    pub unit: Option<String>,
    pub archive_policy_name: String,
    pub creator: String,
    pub resource_id: Option<Uuid>,
    pub status: MetricStatus,
}

#[derive(Serialize, Deserialize)]
struct StoredDefinition {
    granularity_ns: i64,
    points: Option<u64>,
    timespan_ns: Option<i64>,
}

fn stored_definition(policy: &ArchivePolicy) -> String {
    let definition: Vec<StoredDefinition> = policy
        .definition
        .iter()
        .map(|d| StoredDefinition {
            granularity_ns: d.granularity.nanos(),
            points: d.points,
            timespan_ns: d.timespan.map(Span::nanos),
        })
        .collect();
    serde_json::to_string(&definition).expect("definition serializes")
}

pub struct Index {
    connection: Connection,
}

fn data_error(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::IndexData(format!("{what}: {detail}"))
}

fn parse_uuid(text: &str) -> Result<Uuid> {
    Uuid::parse_str(text).map_err(|e| data_error("bad metric id in the index", e))
}

type MetricRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
);

fn metric_from_row(row: &Row<'_>) -> rusqlite::Result<MetricRow> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
        row.get(5)?,
        row.get(6)?,
    ))
}

fn metric_from_columns(columns: MetricRow) -> Result<Metric> {
    let (id, name, unit, archive_policy_name, creator, resource_id, status) = columns;
    Ok(Metric {
        id: parse_uuid(&id)?,
        name,
        unit,
        archive_policy_name,
        creator,
        resource_id: resource_id.as_deref().map(parse_uuid).transpose()?,
        status: if status == "delete" {
            MetricStatus::Delete
        } else {
            MetricStatus::Active
        },
    })
}

const METRIC_COLUMNS: &str = "id, name, unit, archive_policy_name, creator, resource_id, status";

impl Index {
    fn connect(path: &Path) -> Result<Connection> {
        let connection = Connection::open(path)?;
        connection.busy_timeout(Duration::from_secs(30))?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "NORMAL")?;
        connection.pragma_update(None, "foreign_keys", true)?;
        for arguments in [2, 3] {
            connection.create_scalar_function(
                "like",
                arguments,
                FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
                |context| {
                    let pattern: Option<String> = context.get(0)?;
                    let text: Option<String> = context.get(1)?;
                    Ok(pattern
                        .zip(text)
                        .map(|(pattern, text)| listing::like(&pattern, &text)))
                },
            )?;
        }
        Ok(connection)
    }

    /// Creates the index file with its schema and the `generic` resource
    /// type, which Gnocchi's schema always has.
    pub fn create(path: &Path) -> Result<Index> {
        let connection = Self::connect(path)?;
        let index = Index { connection };
        index.atomically(|index| {
            index.connection.execute_batch(SCHEMA)?;
            index.connection.execute_batch(RESOURCE_SCHEMA)?;
            index.insert_generic_type()?;
            index
                .connection
                .pragma_update(None, "user_version", SCHEMA_VERSION)?;
            Ok(())
        })?;
        Ok(index)
    }

    pub fn open(path: &Path) -> Result<Index> {
        let (index, version) = Self::open_any_version(path)?;
        if version != SCHEMA_VERSION {
            return Err(data_error(
                &format!("{}", path.display()),
                format!("index schema {version}, expected {SCHEMA_VERSION}"),
            ));
        }
        Ok(index)
    }

    /// Opens an index whatever its schema version, for `migrate_from`.
    pub fn open_any_version(path: &Path) -> Result<(Index, i64)> {
        let connection = Self::connect(path)?;
        let version: i64 = connection.pragma_query_value(None, "user_version", |r| r.get(0))?;
        Ok((Index { connection }, version))
    }

    // ---- archive policies -------------------------------------------------

    pub fn create_archive_policy(&self, policy: &ArchivePolicy) -> Result<()> {
        let methods: Vec<String> = policy
            .aggregation_methods
            .iter()
            .map(ToString::to_string)
            .collect();
        let inserted = self.connection.execute(
            "INSERT OR IGNORE INTO archive_policy (name, back_window, definition, aggregation_methods)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                policy.name,
                policy.back_window as i64,
                stored_definition(policy),
                serde_json::to_string(&methods).expect("methods serialize"),
            ],
        )?;
        if inserted == 0 {
            return Err(Error::ArchivePolicyExists(policy.name.clone()));
        }
        Ok(())
    }

    fn policy_from_row(row: &Row<'_>) -> rusqlite::Result<(String, i64, String, String)> {
        Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
    }

    fn policy_from_columns(
        (name, back_window, definition, methods): (String, i64, String, String),
    ) -> Result<ArchivePolicy> {
        let stored: Vec<StoredDefinition> = serde_json::from_str(&definition)
            .map_err(|e| data_error(&format!("archive policy {name}"), e))?;
        let definition = stored
            .into_iter()
            .map(|d| Definition {
                granularity: Span::from_nanos(d.granularity_ns),
                points: d.points,
                timespan: d.timespan_ns.map(Span::from_nanos),
            })
            .collect();
        let methods: Vec<String> = serde_json::from_str(&methods)
            .map_err(|e| data_error(&format!("archive policy {name}"), e))?;
        let methods = methods
            .iter()
            .map(|m| m.parse::<AggregationMethod>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| data_error(&format!("archive policy {name}"), e))?;
        ArchivePolicy::new(name.clone(), back_window as u64, definition, methods)
            .map_err(|e| data_error(&format!("archive policy {name}"), e))
    }

    pub fn get_archive_policy(&self, name: &str) -> Result<ArchivePolicy> {
        // Cached: the API looks a policy up for every read of measures.
        let columns = self
            .connection
            .prepare_cached(
                "SELECT name, back_window, definition, aggregation_methods FROM archive_policy WHERE name = ?1",
            )?
            .query_row([name], Self::policy_from_row)
            .optional()?
            .ok_or_else(|| Error::ArchivePolicyNotFound(name.to_owned()))?;
        Self::policy_from_columns(columns)
    }

    pub fn list_archive_policies(&self) -> Result<Vec<ArchivePolicy>> {
        let mut statement = self.connection.prepare(
            "SELECT name, back_window, definition, aggregation_methods FROM archive_policy ORDER BY name",
        )?;
        let rows = statement.query_map([], Self::policy_from_row)?;
        rows.map(|r| Self::policy_from_columns(r?)).collect()
    }

    /// Replaces a policy's definition and back window (the granularities
    /// must stay the same: see `ArchivePolicy::check_update`).
    pub fn update_archive_policy(&self, policy: &ArchivePolicy) -> Result<()> {
        let updated = self.connection.execute(
            "UPDATE archive_policy SET back_window = ?2, definition = ?3 WHERE name = ?1",
            params![
                policy.name,
                policy.back_window as i64,
                stored_definition(policy),
            ],
        )?;
        if updated == 0 {
            return Err(Error::ArchivePolicyNotFound(policy.name.clone()));
        }
        Ok(())
    }

    /// Deletes a policy no metric (even one being deleted) and no rule uses.
    pub fn delete_archive_policy(&self, name: &str) -> Result<()> {
        self.get_archive_policy(name)?;
        let users: i64 = self.connection.query_row(
            "SELECT (SELECT count(*) FROM metric WHERE archive_policy_name = ?1)
                  + (SELECT count(*) FROM archive_policy_rule WHERE archive_policy_name = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if users > 0 {
            return Err(Error::ArchivePolicyInUse(name.to_owned()));
        }
        self.connection
            .execute("DELETE FROM archive_policy WHERE name = ?1", [name])?;
        Ok(())
    }

    // ---- archive policy rules ---------------------------------------------

    pub fn create_rule(&self, rule: &ArchivePolicyRule) -> Result<()> {
        self.get_archive_policy(&rule.archive_policy_name)?;
        let inserted = self.connection.execute(
            "INSERT OR IGNORE INTO archive_policy_rule (name, metric_pattern, archive_policy_name)
             VALUES (?1, ?2, ?3)",
            params![rule.name, rule.metric_pattern, rule.archive_policy_name],
        )?;
        if inserted == 0 {
            return Err(Error::RuleExists(rule.name.clone()));
        }
        Ok(())
    }

    fn rule_from_row(row: &Row<'_>) -> rusqlite::Result<ArchivePolicyRule> {
        Ok(ArchivePolicyRule {
            name: row.get(0)?,
            metric_pattern: row.get(1)?,
            archive_policy_name: row.get(2)?,
        })
    }

    /// Rules in matching order.
    pub fn list_rules(&self) -> Result<Vec<ArchivePolicyRule>> {
        let mut statement = self
            .connection
            .prepare("SELECT name, metric_pattern, archive_policy_name FROM archive_policy_rule")?;
        let mut rules = statement
            .query_map([], Self::rule_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        ArchivePolicyRule::sort(&mut rules);
        Ok(rules)
    }

    pub fn get_rule(&self, name: &str) -> Result<ArchivePolicyRule> {
        self.connection
            .query_row(
                "SELECT name, metric_pattern, archive_policy_name FROM archive_policy_rule WHERE name = ?1",
                [name],
                Self::rule_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::RuleNotFound(name.to_owned()))
    }

    /// Renames a rule; the new name must be free.
    pub fn rename_rule(&self, name: &str, new_name: &str) -> Result<()> {
        self.get_rule(name)?;
        if name != new_name && self.get_rule(new_name).is_ok() {
            return Err(Error::UnsupportedRuleChange {
                name: name.to_owned(),
                reason: format!("Archive policy rule {new_name} already exists."),
            });
        }
        self.connection.execute(
            "UPDATE archive_policy_rule SET name = ?2 WHERE name = ?1",
            [name, new_name],
        )?;
        Ok(())
    }

    pub fn delete_rule(&self, name: &str) -> Result<()> {
        let deleted = self
            .connection
            .execute("DELETE FROM archive_policy_rule WHERE name = ?1", [name])?;
        if deleted == 0 {
            return Err(Error::RuleNotFound(name.to_owned()));
        }
        Ok(())
    }

    /// The policy for a metric created without one: the first matching
    /// archive-policy rule's (an unnamed metric matches as "").
    pub fn archive_policy_for(&self, metric_name: Option<&str>) -> Result<String> {
        let rules = self.list_rules()?;
        ArchivePolicyRule::find_match(&rules, metric_name.unwrap_or(""))
            .map(|rule| rule.archive_policy_name.clone())
            .ok_or_else(|| Error::NoRuleMatch(metric_name.unwrap_or("None").to_owned()))
    }

    // ---- metrics ----------------------------------------------------------

    /// Stores a new metric; one attached to a resource needs a name not
    /// used by another metric of that resource.
    pub fn create_metric(&self, metric: &Metric) -> Result<()> {
        self.get_archive_policy(&metric.archive_policy_name)?;
        if let Some(resource_id) = metric.resource_id {
            self.require_resource(resource_id)?;
            self.check_metric_name_free(resource_id, metric.name.as_deref())?;
        }
        let inserted = self.connection.execute(
            "INSERT OR IGNORE INTO metric (id, name, unit, archive_policy_name, creator, resource_id, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                metric.id.to_string(),
                metric.name,
                metric.unit,
                metric.archive_policy_name,
                metric.creator,
                metric.resource_id.map(|r| r.to_string()),
                metric.status.as_str(),
            ],
        )?;
        if inserted == 0 {
            return Err(Error::MetricExists(metric.id.to_string()));
        }
        Ok(())
    }

    /// An active metric by id.
    pub fn get_metric(&self, id: Uuid) -> Result<Option<Metric>> {
        // Cached: the API looks a metric up for every measure write.
        let row = self
            .connection
            .prepare_cached(&format!(
                "SELECT {METRIC_COLUMNS} FROM metric WHERE id = ?1 AND status = 'active'"
            ))?
            .query_row([id.to_string()], metric_from_row)
            .optional()?;
        row.map(metric_from_columns).transpose()
    }

    /// The active metric named `name` on a resource.
    pub fn resource_metric(&self, resource_id: Uuid, name: &str) -> Result<Option<Metric>> {
        let mut found = self.query_metrics(
            "status = 'active' AND resource_id = ?1 AND name = ?2",
            [resource_id.to_string(), name.to_owned()],
        )?;
        Ok(found.pop())
    }

    fn check_metric_name_free(&self, resource_id: Uuid, name: Option<&str>) -> Result<()> {
        match name {
            Some(name) if self.resource_metric(resource_id, name)?.is_some() => {
                Err(Error::NamedMetricExists(name.to_owned()))
            }
            _ => Ok(()),
        }
    }

    /// Active metrics with this name.
    pub fn metrics_named(&self, name: &str) -> Result<Vec<Metric>> {
        self.query_metrics("status = 'active' AND name = ?1 ORDER BY id", [name])
    }

    /// An active metric by id, or by name when exactly one has it.
    pub fn find_metric(&self, reference: &str) -> Result<Metric> {
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

    /// Metrics marked for deletion, whose data remains to be removed.
    pub fn deleted_metrics(&self) -> Result<Vec<Metric>> {
        self.query_metrics("status = 'delete' ORDER BY id", [])
    }

    fn query_metrics<P: rusqlite::Params>(
        &self,
        condition: &str,
        params: P,
    ) -> Result<Vec<Metric>> {
        let mut statement = self.connection.prepare_cached(&format!(
            "SELECT {METRIC_COLUMNS} FROM metric WHERE {condition}"
        ))?;
        let rows = statement
            .query_map(params, metric_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(metric_from_columns).collect()
    }

    /// The active metrics among `ids`.
    pub fn active_metrics(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Metric>> {
        let mut found = HashMap::with_capacity(ids.len());
        for &id in ids {
            if let Some(metric) = self.get_metric(id)? {
                found.insert(id, metric);
            }
        }
        Ok(found)
    }

    /// Hides a metric at once and detaches it from its resource; its data
    /// is removed by the next process pass.
    pub fn mark_metric_deleted(&self, id: Uuid) -> Result<()> {
        let updated = self.connection.execute(
            "UPDATE metric SET status = 'delete', resource_id = NULL WHERE id = ?1 AND status = 'active'",
            [id.to_string()],
        )?;
        if updated == 0 {
            return Err(Error::MetricNotFound(id.to_string()));
        }
        Ok(())
    }

    /// Forgets a deleted metric once its data is gone.
    pub fn expunge_metric(&self, id: Uuid) -> Result<()> {
        self.connection.execute(
            "DELETE FROM metric WHERE id = ?1 AND status = 'delete'",
            [id.to_string()],
        )?;
        Ok(())
    }

    /// SQLite's own consistency check of the index file: the problems it
    /// finds, none when the file is sound.
    pub fn integrity_check(&self) -> Result<Vec<String>> {
        let mut statement = self.connection.prepare("PRAGMA integrity_check")?;
        let rows = statement
            .query_map([], |row| row.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows.into_iter().filter(|row| row != "ok").collect())
    }

    /// Runs `work` in one SQLite transaction: all of it is stored or none.
    /// Inside another `atomically`, it is a savepoint of the outer one.
    pub fn atomically<T>(&self, work: impl FnOnce(&Index) -> Result<T>) -> Result<T> {
        self.connection.execute_batch("SAVEPOINT atomically")?;
        match work(self) {
            Ok(value) => {
                self.connection.execute_batch("RELEASE atomically")?;
                Ok(value)
            }
            Err(error) => {
                self.connection
                    .execute_batch("ROLLBACK TO atomically; RELEASE atomically")?;
                Err(error)
            }
        }
    }

    /// Marks the index changes of a file transaction as committed (inside
    /// the same SQLite transaction as the changes): store/txn.rs replays
    /// the files of a dead transaction only if its token is here.
    pub fn record_commit(&self, token: &str) -> Result<()> {
        self.connection
            .execute("INSERT INTO index_commit (token) VALUES (?1)", [token])?;
        Ok(())
    }

    /// Whether the index changes that go with `token` were committed.
    pub fn is_committed(&self, token: &str) -> Result<bool> {
        Ok(self
            .connection
            .query_row(
                "SELECT 1 FROM index_commit WHERE token = ?1",
                [token],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Forgets a token once its files are in place.
    pub fn forget_commit(&self, token: &str) -> Result<()> {
        self.connection
            .execute("DELETE FROM index_commit WHERE token = ?1", [token])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().unwrap();
        let index = Index::create(&dir.path().join("index.sqlite")).unwrap();
        for policy in ArchivePolicy::defaults() {
            index.create_archive_policy(&policy).unwrap();
        }
        (dir, index)
    }

    fn metric(name: &str, policy: &str) -> Metric {
        Metric {
            id: Uuid::new_v4(),
            name: Some(name.to_owned()),
            unit: None,
            archive_policy_name: policy.to_owned(),
            creator: "admin".to_owned(),
            resource_id: None,
            status: MetricStatus::Active,
        }
    }

    #[test]
    fn policies_round_trip_exactly() {
        let (_dir, index) = index();
        for policy in ArchivePolicy::defaults() {
            assert_eq!(index.get_archive_policy(&policy.name).unwrap(), policy);
        }
        let sub_second = ArchivePolicy::new(
            "fine",
            0,
            vec![Definition::new(Some(Span::from_nanos(100_000_000)), Some(3), None).unwrap()],
            AggregationMethod::defaults(),
        )
        .unwrap();
        index.create_archive_policy(&sub_second).unwrap();
        assert_eq!(index.get_archive_policy("fine").unwrap(), sub_second);
        assert!(matches!(
            index.create_archive_policy(&sub_second),
            Err(Error::ArchivePolicyExists(_))
        ));
        assert_eq!(index.list_archive_policies().unwrap().len(), 5);
    }

    #[test]
    fn policies_in_use_cannot_be_deleted() {
        let (_dir, index) = index();
        let m = metric("cpu", "low");
        index.create_metric(&m).unwrap();
        let err = index.delete_archive_policy("low").unwrap_err();
        assert_eq!(err.to_string(), "Archive policy low is still in use");
        index.mark_metric_deleted(m.id).unwrap();
        assert!(matches!(
            index.delete_archive_policy("low"),
            Err(Error::ArchivePolicyInUse(_))
        ));
        index.expunge_metric(m.id).unwrap();
        index.delete_archive_policy("low").unwrap();
        assert!(matches!(
            index.delete_archive_policy("low"),
            Err(Error::ArchivePolicyNotFound(_))
        ));
    }

    #[test]
    fn metrics_are_found_by_id_and_name() {
        let (_dir, index) = index();
        let a = metric("cpu", "low");
        let b = metric("cpu", "medium");
        index.create_metric(&a).unwrap();
        index.create_metric(&b).unwrap();
        assert_eq!(index.get_metric(a.id).unwrap(), Some(a.clone()));
        assert_eq!(index.metrics_named("cpu").unwrap().len(), 2);
        index.mark_metric_deleted(a.id).unwrap();
        assert_eq!(index.get_metric(a.id).unwrap(), None);
        assert_eq!(
            index.deleted_metrics().unwrap(),
            [Metric {
                status: MetricStatus::Delete,
                ..a.clone()
            }]
        );
        assert!(matches!(
            index.mark_metric_deleted(a.id),
            Err(Error::MetricNotFound(_))
        ));
        let unknown = metric("x", "nope");
        assert!(matches!(
            index.create_metric(&unknown),
            Err(Error::ArchivePolicyNotFound(_))
        ));
    }

    #[test]
    fn rules_need_their_policy() {
        let (_dir, index) = index();
        let rule = ArchivePolicyRule {
            name: "disk".into(),
            metric_pattern: "disk.*".into(),
            archive_policy_name: "high".into(),
        };
        index.create_rule(&rule).unwrap();
        index
            .create_rule(&ArchivePolicyRule::default_rule())
            .unwrap();
        assert!(matches!(
            index.create_rule(&rule),
            Err(Error::RuleExists(_))
        ));
        let names: Vec<String> = index
            .list_rules()
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["disk", "default"]);
        assert!(matches!(
            index.delete_archive_policy("high"),
            Err(Error::ArchivePolicyInUse(_))
        ));
        let err = index.rename_rule("disk", "default").unwrap_err();
        assert_eq!(
            err.to_string(),
            "Archive policy rule disk does not support change: Archive policy rule default already exists."
        );
        index.rename_rule("disk", "disks").unwrap();
        assert_eq!(index.get_rule("disks").unwrap().metric_pattern, "disk.*");
        index.rename_rule("disks", "disk").unwrap();
        index.delete_rule("disk").unwrap();
        assert!(matches!(
            index.get_rule("disk"),
            Err(Error::RuleNotFound(_))
        ));
    }
}
