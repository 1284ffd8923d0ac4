//! Metrics in the SQLite index: creation, lookups by id and name, listings,
//! and the two steps of deletion (marked, then expunged after the janitor).

use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row, params, params_from_iter};
use uuid::Uuid;

use super::dialect::Sqlite;
use super::{SqliteIndex, parse_uuid};
use crate::store::index::listing::RowSet;
use crate::store::index::{Metric, MetricFilter, MetricStatus, Metrics, Page, Policies};
use crate::store::{Error, Result};
use crate::time::Timestamp;

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
        status: MetricStatus::from_stored(&status),
    })
}

const METRIC_COLUMNS: &str = "id, name, unit, archive_policy_name, creator, resource_id, status";

impl SqliteIndex {
    fn check_metric_name_free(&self, resource_id: Uuid, name: Option<&str>) -> Result<()> {
        match name {
            Some(name) if self.resource_metric(resource_id, name)?.is_some() => {
                Err(Error::NamedMetricExists(name.to_owned()))
            }
            _ => Ok(()),
        }
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
}

impl Metrics for SqliteIndex {
    // ---- metrics ----------------------------------------------------------

    /// Stores a new metric; one attached to a resource needs a name not
    /// used by another metric of that resource.
    fn create_metric(&self, metric: &Metric) -> Result<()> {
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
    fn get_metric(&self, id: Uuid) -> Result<Option<Metric>> {
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
    fn resource_metric(&self, resource_id: Uuid, name: &str) -> Result<Option<Metric>> {
        let mut found = self.query_metrics(
            "status = 'active' AND resource_id = ?1 AND name = ?2",
            [resource_id.to_string(), name.to_owned()],
        )?;
        Ok(found.pop())
    }

    /// Active metrics with this name.
    fn metrics_named(&self, name: &str) -> Result<Vec<Metric>> {
        self.query_metrics("status = 'active' AND name = ?1 ORDER BY id", [name])
    }

    /// Metrics marked for deletion, whose data remains to be removed.
    fn deleted_metrics(&self) -> Result<Vec<Metric>> {
        self.query_metrics("status = 'delete' ORDER BY id", [])
    }

    /// The active metrics among `ids`.
    fn active_metrics(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Metric>> {
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
    fn mark_metric_deleted(&self, id: Uuid) -> Result<()> {
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
    fn expunge_metric(&self, id: Uuid) -> Result<()> {
        self.connection.execute(
            "DELETE FROM metric WHERE id = ?1 AND status = 'delete'",
            [id.to_string()],
        )?;
        Ok(())
    }

    fn set_metric_archive_policy(&self, id: Uuid, policy: &str) -> Result<()> {
        self.get_archive_policy(policy)?;
        let updated = self.connection.execute(
            "UPDATE metric SET archive_policy_name = ?2 WHERE id = ?1 AND status = 'active'",
            [id.to_string(), policy.to_owned()],
        )?;
        if updated == 0 {
            return Err(Error::MetricNotFound(id.to_string()));
        }
        Ok(())
    }

    /// Nothing to record: the SQLite schema has no `needs_raw_data_truncation`
    /// or `last_measure_timestamp` columns, since no gnocchi-api reads a store
    /// directory's index and carbonara itself never looks at them.
    fn record_processed(&self, _ids: &[Uuid], _now: Timestamp) -> Result<()> {
        Ok(())
    }

    /// Active metrics matching a filter, sorted and paginated like
    /// `GET /v1/metric` (default `id:asc`).
    fn list_metrics(&self, filter: &MetricFilter, page: &Page) -> Result<Vec<Metric>> {
        let dialect = Sqlite(&self.connection);
        let rows = RowSet::metrics(filter, METRIC_COLUMNS, &dialect);
        let (sql, params) = rows.select(None, page, Timestamp::EPOCH, &dialect)?;
        let mut statement = self.connection.prepare_cached(&sql)?;
        let found = statement
            .query_map(params_from_iter(params), metric_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        found.into_iter().map(metric_from_columns).collect()
    }
}
