//! Bringing an index written by an older carbonara to `SCHEMA_VERSION`.
//! Each step runs in one transaction: an index is at one version or the
//! next, never between.

use super::{RESOURCE_SCHEMA, SCHEMA_VERSION, SqliteIndex, data_error};
use crate::store::Result;

/// Schema 1 → 2: the resource tables, and the metric table rebuilt with
/// its reference to `resource` and the unique (resource, name) pair.
/// Schema 1 had no resources, so no metric can point at one: their
/// `resource_id` is cleared.
const SCHEMA_1_TO_2: &str = "
ALTER TABLE metric RENAME TO metric_v1;
DROP INDEX metric_name;
";

const COPY_METRICS_1_TO_2: &str = "
INSERT INTO metric (id, name, unit, archive_policy_name, creator, resource_id, status)
    SELECT id, name, unit, archive_policy_name, creator, NULL, status FROM metric_v1;
DROP TABLE metric_v1;
";

impl SqliteIndex {
    /// Upgrades an index at schema `version` (as `open_any_version`
    /// reported it) to the current schema. Nothing to do at the current
    /// version; a newer or unknown one is refused.
    pub fn migrate_from(&self, version: i64) -> Result<()> {
        match version {
            SCHEMA_VERSION => Ok(()),
            1 => self.atomically(|index| {
                index.connection.execute_batch(SCHEMA_1_TO_2)?;
                // RESOURCE_SCHEMA creates the new metric table and index.
                index.connection.execute_batch(RESOURCE_SCHEMA)?;
                index.connection.execute_batch(COPY_METRICS_1_TO_2)?;
                index.insert_generic_type()?;
                index
                    .connection
                    .pragma_update(None, "user_version", SCHEMA_VERSION)?;
                Ok(())
            }),
            other => Err(data_error(
                "index",
                format!(
                    "cannot upgrade from schema {other} (this carbonara knows 1 to {SCHEMA_VERSION})"
                ),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::Connection;
    use uuid::Uuid;

    use super::*;
    use crate::store::index::{Metrics, Policies, Resources};
    use crate::store::{Error, MetricStatus};

    /// The schema carbonara 1 wrote, verbatim.
    const SCHEMA_1: &str = "
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
CREATE TABLE metric (
    id TEXT PRIMARY KEY,
    name TEXT,
    unit TEXT,
    archive_policy_name TEXT NOT NULL REFERENCES archive_policy(name),
    creator TEXT NOT NULL,
    resource_id TEXT,
    status TEXT NOT NULL DEFAULT 'active'
);
CREATE INDEX metric_name ON metric(name);
PRAGMA user_version = 1;
INSERT INTO archive_policy VALUES ('low', 0, '[{\"granularity_ns\":300000000000,\"points\":8640,\"timespan_ns\":2592000000000000}]', '[\"mean\"]');
INSERT INTO archive_policy_rule VALUES ('default', '*', 'low');
INSERT INTO metric VALUES ('7f3c7ad3-6a35-4a2e-9a4b-8f5a0f1f6a11', 'cpu', '%', 'low', 'admin', NULL, 'active');
INSERT INTO metric VALUES ('0b4a1c52-1f6e-4a5e-8a6b-2f1c9d3e4b22', 'gone', NULL, 'low', 'admin', NULL, 'delete');
";

    #[test]
    fn schema_1_indexes_are_upgraded_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index.sqlite");
        Connection::open(&path)
            .unwrap()
            .execute_batch(SCHEMA_1)
            .unwrap();

        assert!(matches!(SqliteIndex::open(&path), Err(Error::IndexData(_))));
        let (index, version) = SqliteIndex::open_any_version(&path).unwrap();
        assert_eq!(version, 1);
        index.migrate_from(version).unwrap();
        drop(index);

        let index = SqliteIndex::open(&path).unwrap();
        let cpu = index
            .get_metric(Uuid::parse_str("7f3c7ad3-6a35-4a2e-9a4b-8f5a0f1f6a11").unwrap())
            .unwrap()
            .unwrap();
        assert_eq!(cpu.name.as_deref(), Some("cpu"));
        assert_eq!(cpu.unit.as_deref(), Some("%"));
        assert_eq!(
            index.deleted_metrics().unwrap()[0].status,
            MetricStatus::Delete
        );
        assert_eq!(index.list_rules().unwrap()[0].name, "default");
        let types = index.list_resource_types().unwrap();
        assert_eq!(types.len(), 1);
        assert_eq!(types[0].name, "generic");
        // The new schema works: a metric can now belong to a resource.
        assert!(matches!(
            index.create_metric(&crate::store::Metric {
                resource_id: Some(Uuid::nil()),
                ..cpu
            }),
            Err(Error::ResourceNotFound(_))
        ));
        index.migrate_from(SCHEMA_VERSION).unwrap();
        assert!(index.migrate_from(3).is_err());
    }
}
