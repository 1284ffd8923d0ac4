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
//! `list_metrics` builds its own SQL over the metric columns, with the
//! sorting and markers of the SQLite listing builder (sqlite/listing.rs,
//! oslo.db's `paginate_query`), until one builder serves both dialects.

use std::collections::HashMap;

use postgres::Row;
use postgres::types::{ToSql, Type};
use uuid::Uuid;

use super::{PostgresIndex, violated_constraint};
use crate::resource::parse_python_uuid;
use crate::store::index::{Metric, MetricFilter, MetricStatus, Metrics, Page};
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
        status: if status == "delete" {
            MetricStatus::Delete
        } else {
            MetricStatus::Active
        },
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
        let sorts = sort_keys(page)?;
        let mut params = Params::default();
        let mut sql = format!(
            "SELECT * FROM ({}) AS result",
            listed_metrics(filter, &mut params)
        );
        if let Some(marker) = &page.marker {
            let values = self.marker_values(filter, marker, &sorts)?;
            if let Some(condition) = after_marker(&sorts, values, &mut params) {
                sql.push_str(" WHERE ");
                sql.push_str(&condition);
            }
        }
        let order: Vec<String> = sorts.iter().flat_map(SortKey::order_by).collect();
        sql.push_str(" ORDER BY ");
        sql.push_str(&order.join(", "));
        if let Some(limit) = page.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        self.query(&sql, &params.as_refs())?
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

// ---- listings ---------------------------------------------------------------

/// The type of a listed column, for its marker values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Uuid,
    Text,
}

/// The columns a metric listing can sort on (those of `METRIC_COLUMNS`).
const LISTED_COLUMNS: [(&str, Kind); 7] = [
    ("id", Kind::Uuid),
    ("name", Kind::Text),
    ("unit", Kind::Text),
    ("archive_policy_name", Kind::Text),
    ("creator", Kind::Text),
    ("resource_id", Kind::Uuid),
    ("status", Kind::Text),
];

/// A statement's parameters, numbered as they are added.
#[derive(Default)]
struct Params(Vec<(Box<dyn ToSql + Sync>, Type)>);

impl Params {
    /// Adds a value; its placeholder.
    fn add(&mut self, value: impl ToSql + Sync + 'static, ty: Type) -> String {
        self.0.push((Box::new(value), ty));
        format!("${}", self.0.len())
    }

    fn as_refs(&self) -> Vec<(&(dyn ToSql + Sync), Type)> {
        self.0
            .iter()
            .map(|(value, ty)| (value.as_ref(), ty.clone()))
            .collect()
    }
}

/// The active metrics a filter lets through: the row set a listing sorts
/// and pages.
fn listed_metrics(filter: &MetricFilter, params: &mut Params) -> String {
    let mut sql = format!("SELECT {METRIC_COLUMNS} FROM metric WHERE status = 'active'");
    if let Some(resource_id) = filter.resource_id {
        let placeholder = params.add(resource_id, Type::UUID);
        sql.push_str(&format!(" AND resource_id = {placeholder}"));
    }
    // The id is compared as the text the SQLite index stores.
    for (column, value) in [
        ("id::text", &filter.id),
        ("name", &filter.name),
        ("unit", &filter.unit),
        ("archive_policy_name", &filter.archive_policy_name),
        ("creator", &filter.creator),
    ] {
        if let Some(value) = value {
            let placeholder = params.add(value.clone(), Type::TEXT);
            sql.push_str(&format!(" AND {column} = {placeholder}"));
        }
    }
    if let Some(project) = &filter.visible_to_project {
        let pattern = params.add(format!("%:{}", like_escape(project)), Type::TEXT);
        let project = params.add(project.clone(), Type::TEXT);
        sql.push_str(&format!(
            " AND (creator LIKE {pattern} OR resource_id IN (SELECT id FROM resource WHERE project_id = {project}))"
        ));
    }
    sql
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nulls {
    Default,
    First,
    Last,
}

#[derive(Debug, Clone, Copy)]
struct SortKey {
    column: &'static str,
    kind: Kind,
    descending: bool,
    nulls: Nulls,
}

impl SortKey {
    /// oslo.db's ORDER BY terms; without `-nulls…`, PostgreSQL's default
    /// (nulls last ascending, first descending).
    fn order_by(&self) -> Vec<String> {
        let mut terms = Vec::new();
        match self.nulls {
            Nulls::First => terms.push(format!("({} IS NULL) DESC", self.column)),
            Nulls::Last => terms.push(format!("({} IS NOT NULL) DESC", self.column)),
            Nulls::Default => {}
        }
        terms.push(if self.descending {
            format!("{} DESC NULLS FIRST", self.column)
        } else {
            format!("{} ASC NULLS LAST", self.column)
        });
        terms
    }
}

fn unknown_direction() -> Error {
    Error::InvalidPagination(
        "Unknown sort direction, must be one of: asc-nullsfirst, asc-nullslast, desc-nullsfirst, desc-nullslast".to_owned(),
    )
}

/// `key[:direction]` sorts (default `id:asc`), with `id` appended so the
/// order is total: `_build_sort_keys` and the checks of `paginate_query`.
fn sort_keys(page: &Page) -> Result<Vec<SortKey>> {
    let given = if page.sorts.is_empty() {
        vec!["id:asc".to_owned()]
    } else {
        page.sorts.clone()
    };
    let mut pairs: Vec<(String, String)> = given
        .iter()
        .map(|sort| {
            let (key, direction) = sort.split_once(':').unwrap_or((sort, ""));
            let direction = if direction.is_empty() {
                "asc"
            } else {
                direction
            };
            (key.trim().to_owned(), direction.to_owned())
        })
        .collect();
    if !pairs.iter().any(|(key, _)| key == "id") {
        pairs.push(("id".to_owned(), "asc".to_owned()));
    }
    pairs
        .into_iter()
        .map(|(key, direction)| {
            let &(column, kind) = LISTED_COLUMNS
                .iter()
                .find(|(name, _)| *name == key)
                .ok_or_else(|| {
                    Error::InvalidPagination(format!("Sort key supplied is invalid: {key}"))
                })?;
            let (main, nulls) = direction.split_once('-').unwrap_or((&direction, ""));
            let descending = match main {
                "asc" => false,
                "desc" => true,
                _ => return Err(unknown_direction()),
            };
            let nulls = match nulls {
                "" => Nulls::Default,
                "nullsfirst" => Nulls::First,
                "nullslast" => Nulls::Last,
                _ => return Err(unknown_direction()),
            };
            Ok(SortKey {
                column,
                kind,
                descending,
                nulls,
            })
        })
        .collect()
}

/// A marker row's value of a sort key.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    Uuid(Option<Uuid>),
    Text(Option<String>),
}

impl Value {
    fn is_null(&self) -> bool {
        matches!(self, Value::Uuid(None) | Value::Text(None))
    }

    fn add_to(&self, params: &mut Params) -> String {
        match self {
            Value::Uuid(value) => params.add(*value, Type::UUID),
            Value::Text(value) => params.add(value.clone(), Type::TEXT),
        }
    }
}

impl PostgresIndex {
    /// The sort-key values of the marker row, which must be one the
    /// listing shows; an unknown marker is an error.
    fn marker_values(
        &self,
        filter: &MetricFilter,
        marker: &str,
        sorts: &[SortKey],
    ) -> Result<Vec<Value>> {
        let invalid = || Error::InvalidPagination(format!("Invalid marker: `{marker}'"));
        let id = parse_python_uuid(marker).ok_or_else(invalid)?;
        let mut params = Params::default();
        let rows = listed_metrics(filter, &mut params);
        let id = params.add(id, Type::UUID);
        let columns: Vec<&str> = sorts.iter().map(|s| s.column).collect();
        let found = self.query(
            &format!(
                "SELECT {} FROM ({rows}) AS result WHERE id = {id}",
                columns.join(", ")
            ),
            &params.as_refs(),
        )?;
        let row = found.first().ok_or_else(invalid)?;
        sorts
            .iter()
            .enumerate()
            .map(|(i, sort)| {
                Ok(match sort.kind {
                    Kind::Uuid => Value::Uuid(row.try_get(i)?),
                    Kind::Text => Value::Text(row.try_get(i)?),
                })
            })
            .collect()
    }
}

/// oslo.db's marker criteria, quirks kept: a key whose marker value is
/// null adds no criterion, and earlier null keys are not pinned.
fn after_marker(sorts: &[SortKey], values: Vec<Value>, params: &mut Params) -> Option<String> {
    let mut criteria = Vec::new();
    for (i, sort) in sorts.iter().enumerate() {
        if values[i].is_null() {
            continue;
        }
        let mut parts = Vec::new();
        for (earlier, value) in sorts[..i].iter().zip(&values) {
            if !value.is_null() {
                parts.push(format!("{} = {}", earlier.column, value.add_to(params)));
            }
        }
        let (op, nulls_too) = if sort.descending {
            ("<", sort.nulls == Nulls::First)
        } else {
            (">", sort.nulls == Nulls::Last)
        };
        let placeholder = values[i].add_to(params);
        parts.push(if nulls_too {
            format!("({0} {op} {placeholder} OR {0} IS NULL)", sort.column)
        } else {
            format!("{} {op} {placeholder}", sort.column)
        });
        criteria.push(format!("({})", parts.join(" AND ")));
    }
    (!criteria.is_empty()).then(|| format!("({})", criteria.join(" OR ")))
}
