//! Metrics in Gnocchi's PostgreSQL schema: creation, lookups by id and name
//! (one query for a whole pass's metrics), listings, the two steps of
//! deletion (marked, then expunged after the janitor), and the columns
//! gnocchi-metricd updates when it processes measures.
//!
//! `status` is Gnocchi's `metric_status_enum`, written through a text cast
//! and read as text; `needs_raw_data_truncation` and
//! `last_measure_timestamp` keep their defaults on insert, as Gnocchi's
//! `create_metric` leaves them.
//!
//! `list_metrics` uses the listing builder shared with SQLite
//! (store/index/listing.rs) in PostgreSQL's dialect.

use std::collections::HashMap;

use postgres::Row;
use postgres::types::{ToSql, Type};
use uuid::Uuid;

use super::dialect::{Postgres, with_types};
use super::policies::policy_from_columns;
use super::{PostgresIndex, violated_constraint};
use crate::policy::ArchivePolicy;
use crate::store::index::listing::RowSet;
use crate::store::index::{Metric, MetricFilter, MetricStatus, Metrics, Page, Policies};
use crate::store::{Error, Result};
use crate::time::Timestamp;

const METRIC_COLUMNS: &str =
    "id, name, unit, archive_policy_name, creator, resource_id, status::text AS status";

fn metric_from_row(row: &Row) -> Result<Metric> {
    let status: String = row.try_get(6)?;
    Ok(Metric {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        unit: row.try_get(2)?,
        archive_policy_name: row.try_get(3)?,
        // Nullable in Gnocchi's schema, though gnocchi-api always sets it.
        creator: row.try_get::<_, Option<String>>(4)?.unwrap_or_default(),
        resource_id: row.try_get(5)?,
        status: MetricStatus::from_stored(&status),
    })
}

/// A time as Gnocchi's `timestamp without time zone` columns hold it:
/// naive UTC.
fn naive_utc(time: Timestamp) -> chrono::NaiveDateTime {
    chrono::DateTime::from_timestamp_nanos(time.nanos()).naive_utc()
}

impl PostgresIndex {
    /// The metrics meeting `condition`, one of the few fixed conditions of
    /// this file: a prepared statement (the server's every request looks a
    /// metric up).
    fn select_metrics(
        &self,
        condition: &str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Metric>> {
        self.query_prepared(
            &format!("SELECT {METRIC_COLUMNS} FROM metric WHERE {condition}"),
            params,
        )?
        .iter()
        .map(metric_from_row)
        .collect()
    }
}

impl Metrics for PostgresIndex {
    /// One statement, which inserts nothing (and raises nothing, so a
    /// transaction around it goes on) when the metric cannot be created;
    /// a second one then says why, in the order the SQLite index checks.
    /// Two writers racing for one id or one name: the second's insert
    /// waits for the first and does nothing.
    fn create_metric(&self, metric: &Metric) -> Result<()> {
        let policy_missing = || Error::ArchivePolicyNotFound(metric.archive_policy_name.clone());
        let resource_missing = |id: Uuid| Error::ResourceNotFound(id.to_string());
        let inserted = self
            .query(
                "INSERT INTO metric (id, archive_policy_name, creator, resource_id, name, unit, status)
                 SELECT $1, $2, $3, $4, $5, $6, $7::text::metric_status_enum
                 WHERE EXISTS (SELECT 1 FROM archive_policy WHERE name = $2)
                   AND ($4::uuid IS NULL OR EXISTS (SELECT 1 FROM resource WHERE id = $4))
                 ON CONFLICT DO NOTHING RETURNING 1",
                &[
                    (&metric.id, Type::UUID),
                    (&metric.archive_policy_name, Type::TEXT),
                    (&metric.creator, Type::TEXT),
                    (&metric.resource_id, Type::UUID),
                    (&metric.name, Type::TEXT),
                    (&metric.unit, Type::TEXT),
                    (&metric.status.as_str(), Type::TEXT),
                ],
            )
            .map_err(|e| match (violated_constraint(&e), metric.resource_id) {
                // Deleted between the check and the insert.
                (Some("fk_metric_ap_name_ap_name"), _) => policy_missing(),
                (Some("fk_metric_resource_id_resource_id"), Some(id)) => resource_missing(id),
                _ => Error::from(e),
            })?;
        if !inserted.is_empty() {
            return Ok(());
        }
        let why = self.query(
            "SELECT EXISTS (SELECT 1 FROM archive_policy WHERE name = $1),
                    $2::uuid IS NULL OR EXISTS (SELECT 1 FROM resource WHERE id = $2),
                    EXISTS (SELECT 1 FROM metric
                            WHERE status = 'active' AND resource_id = $2 AND name = $3)",
            &[
                (&metric.archive_policy_name, Type::TEXT),
                (&metric.resource_id, Type::UUID),
                (&metric.name, Type::TEXT),
            ],
        )?;
        let row = why.first().expect("a SELECT without FROM gives one row");
        let (policy_found, resource_found, name_taken): (bool, bool, bool) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        Err(match (metric.resource_id, &metric.name) {
            _ if !policy_found => policy_missing(),
            (Some(id), _) if !resource_found => resource_missing(id),
            (Some(_), Some(name)) if name_taken => Error::NamedMetricExists(name.clone()),
            _ => Error::MetricExists(metric.id.to_string()),
        })
    }

    fn get_metric(&self, id: Uuid) -> Result<Option<Metric>> {
        Ok(self
            .select_metrics("id = $1 AND status = 'active'", &[(&id, Type::UUID)])?
            .pop())
    }

    /// One prepared statement: the metric joined to its policy.
    fn get_metric_and_policy(&self, id: Uuid) -> Result<Option<(Metric, Option<ArchivePolicy>)>> {
        let rows = self.query_prepared(
            "SELECT m.id, m.name, m.unit, m.archive_policy_name, m.creator, m.resource_id,
                    m.status::text, p.name, p.back_window, p.definition::text,
                    p.aggregation_methods::text
             FROM metric m LEFT JOIN archive_policy p ON p.name = m.archive_policy_name
             WHERE m.id = $1 AND m.status = 'active'",
            &[(&id, Type::UUID)],
        )?;
        let Some(row) = rows.first() else {
            return Ok(None);
        };
        let policy = match row.try_get::<_, Option<String>>(7)? {
            Some(_) => Some(policy_from_columns(row, 7)?),
            None => None,
        };
        Ok(Some((metric_from_row(row)?, policy)))
    }

    fn resource_metric(&self, resource_id: Uuid, name: &str) -> Result<Option<Metric>> {
        Ok(self
            .select_metrics(
                "status = 'active' AND resource_id = $1 AND name = $2",
                &[(&resource_id, Type::UUID), (&name, Type::TEXT)],
            )?
            .pop())
    }

    fn metrics_named(&self, name: &str) -> Result<Vec<Metric>> {
        self.select_metrics(
            "status = 'active' AND name = $1 ORDER BY id",
            &[(&name, Type::TEXT)],
        )
    }

    /// One query for all of them: a pass asks for the metrics of a whole
    /// sack at once.
    fn active_metrics(&self, ids: &[Uuid]) -> Result<HashMap<Uuid, Metric>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        Ok(self
            .select_metrics(
                "id = ANY($1) AND status = 'active'",
                &[(&ids, Type::UUID_ARRAY)],
            )?
            .into_iter()
            .map(|metric| (metric.id, metric))
            .collect())
    }

    fn list_metrics(&self, filter: &MetricFilter, page: &Page) -> Result<Vec<Metric>> {
        let dialect = Postgres(self);
        let rows = RowSet::metrics(filter, METRIC_COLUMNS, &dialect);
        let (sql, params) = rows.select(None, page, Timestamp::EPOCH, &dialect)?;
        self.query(&sql, &with_types(&params))?
            .iter()
            .map(metric_from_row)
            .collect()
    }

    fn deleted_metrics(&self) -> Result<Vec<Metric>> {
        self.select_metrics("status = 'delete' ORDER BY id", &[])
    }

    /// As Gnocchi's `delete_metric`: marked, and detached from its resource.
    fn mark_metric_deleted(&self, id: Uuid) -> Result<()> {
        let updated = self.query(
            "UPDATE metric SET status = 'delete', resource_id = NULL
             WHERE id = $1 AND status = 'active' RETURNING 1",
            &[(&id, Type::UUID)],
        )?;
        if updated.is_empty() {
            return Err(Error::MetricNotFound(id.to_string()));
        }
        Ok(())
    }

    fn expunge_metric(&self, id: Uuid) -> Result<()> {
        self.query(
            "DELETE FROM metric WHERE id = $1 AND status = 'delete'",
            &[(&id, Type::UUID)],
        )?;
        Ok(())
    }

    fn set_metric_archive_policy(&self, id: Uuid, policy: &str) -> Result<()> {
        self.get_archive_policy(policy)?;
        let updated = self.query(
            "UPDATE metric SET archive_policy_name = $2
             WHERE id = $1 AND status = 'active' RETURNING 1",
            &[(&id, Type::UUID), (&policy, Type::TEXT)],
        )?;
        if updated.is_empty() {
            return Err(Error::MetricNotFound(id.to_string()));
        }
        Ok(())
    }

    /// What gnocchi-metricd writes after processing a metric's measures
    /// (`StorageDriver.execute_metadata_updates_if_needed`): the raw series
    /// no longer needs truncating, and the time of the last processing.
    fn record_processed(&self, ids: &[Uuid], now: Timestamp) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        self.query(
            "UPDATE metric SET needs_raw_data_truncation = false, last_measure_timestamp = $2
             WHERE id = ANY($1)",
            &[(&ids, Type::UUID_ARRAY), (&naive_utc(now), Type::TIMESTAMP)],
        )?;
        Ok(())
    }
}
