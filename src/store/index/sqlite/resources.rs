//! Resource types, resources and their history in the index: creation,
//! updates with Gnocchi's revision rules, deletion (metrics marked for
//! the deferred cleanup), searches, and the metrics attached to resources.

use rusqlite::{OptionalExtension, Row, params, params_from_iter};
use serde_json::json;
use uuid::Uuid;

use super::dialect::{Sqlite, micros};
use super::{SqliteIndex, data_error};
use crate::filter::Filter;
use crate::resource::{
    Attribute, AttributeKind, GENERIC, Real, Resource, ResourceType, TypeUpdate,
};
use crate::store::index::listing::{
    Dialect, Kind, RowSet, SqlParam, attribute_alias, column_kind, quote_identifier,
};
use crate::store::index::resources::{self as shared, ResourceSql};
use crate::store::index::{NewResource, Page, ResourceChanges, ResourceQuery, Resources};
use crate::store::{Error, Result};
use crate::time::Timestamp;

fn sql_type(kind: &AttributeKind) -> &'static str {
    match column_kind(kind) {
        Kind::Number => "REAL",
        Kind::Text | Kind::Uuid => "TEXT",
        _ => "INTEGER",
    }
}

/// An attribute's column in the type's tables: `f_<name>`, as in the row
/// sets, so it never collides with a base column.
fn attribute_column(name: &str) -> String {
    quote_identifier(&attribute_alias(name))
}

fn timestamp(micros: i64) -> Timestamp {
    Timestamp::from_nanos(micros * 1000)
}

// ---- stored form of attribute definitions ---------------------------------

fn attributes_to_text(attributes: &[Attribute]) -> String {
    let items: Vec<serde_json::Value> = attributes
        .iter()
        .map(|a| {
            let real = |r: Option<Real>| match r {
                None => serde_json::Value::Null,
                Some(Real::Int(i)) => json!(i),
                Some(Real::Float(f)) => json!(f),
            };
            let mut item =
                json!({"name": a.name, "type": a.kind.type_name(), "required": a.required});
            match &a.kind {
                AttributeKind::String {
                    min_length,
                    max_length,
                } => {
                    item["min_length"] = json!(min_length);
                    item["max_length"] = json!(max_length);
                }
                AttributeKind::Number { min, max } => {
                    item["min"] = real(*min);
                    item["max"] = real(*max);
                }
                _ => {}
            }
            item
        })
        .collect();
    serde_json::Value::Array(items).to_string()
}

fn attributes_from_text(name: &str, text: &str) -> Result<Vec<Attribute>> {
    let bad = |detail: String| data_error(&format!("resource type {name}"), detail);
    let items: Vec<serde_json::Value> =
        serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    items
        .iter()
        .map(|item| {
            let real = |v: &serde_json::Value| match v {
                serde_json::Value::Number(n) => {
                    n.as_i64().map(Real::Int).or(n.as_f64().map(Real::Float))
                }
                _ => None,
            };
            let kind = match item["type"].as_str().unwrap_or_default() {
                "string" => AttributeKind::String {
                    min_length: item["min_length"].as_i64().unwrap_or(0),
                    max_length: item["max_length"].as_i64().unwrap_or(256),
                },
                "number" => AttributeKind::Number {
                    min: real(&item["min"]),
                    max: real(&item["max"]),
                },
                "uuid" => AttributeKind::Uuid,
                "bool" => AttributeKind::Bool,
                "datetime" => AttributeKind::Datetime,
                other => return Err(bad(format!("unknown attribute type {other}"))),
            };
            Ok(Attribute {
                name: item["name"].as_str().unwrap_or_default().to_owned(),
                required: item["required"].as_bool().unwrap_or(true),
                kind,
                fill: None,
            })
        })
        .collect()
}

impl SqliteIndex {
    // ---- resource types ---------------------------------------------------

    pub(super) fn insert_generic_type(&self) -> Result<()> {
        self.connection.execute(
            "INSERT INTO resource_type (name, tablename, attributes, state) VALUES (?1, ?1, '[]', 'active')",
            [GENERIC],
        )?;
        Ok(())
    }

    fn resource_type_row(&self, name: &str) -> Result<(ResourceType, String)> {
        let row = self
            .connection
            .query_row(
                "SELECT name, tablename, attributes, state FROM resource_type WHERE name = ?1",
                [name],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?
            .ok_or_else(|| Error::ResourceTypeNotFound(name.to_owned()))?;
        let (name, tablename, attributes, state) = row;
        let attributes = attributes_from_text(&name, &attributes)?;
        Ok((
            ResourceType {
                name,
                state,
                attributes,
            },
            tablename,
        ))
    }

    // ---- resources ----------------------------------------------------------

    pub(super) fn require_resource(&self, id: Uuid) -> Result<()> {
        let found: Option<i64> = self
            .connection
            .query_row(
                "SELECT 1 FROM resource WHERE id = ?1",
                [id.to_string()],
                |r| r.get(0),
            )
            .optional()?;
        found
            .map(|_| ())
            .ok_or_else(|| Error::ResourceNotFound(id.to_string()))
    }

    fn delete_resource_rows(&self, id: Uuid) -> Result<()> {
        let key = id.to_string();
        self.connection.execute(
            "UPDATE metric SET status = 'delete', resource_id = NULL WHERE resource_id = ?1",
            [&key],
        )?;
        let deleted = self
            .connection
            .execute("DELETE FROM resource WHERE id = ?1", [&key])?;
        if deleted == 0 {
            return Err(Error::ResourceNotFound(key));
        }
        Ok(())
    }
}

impl ResourceSql for SqliteIndex {
    fn dialect(&self) -> Box<dyn Dialect + '_> {
        Box::new(Sqlite(&self.connection))
    }

    fn attribute_column(name: &str) -> String {
        attribute_column(name)
    }

    fn usable_type(&self, name: &str) -> Result<(ResourceType, String)> {
        self.resource_type_row(name)
    }

    fn move_metric(&self, id: Uuid, resource: Uuid, name: &str, creator: &str) -> Result<u64> {
        let moved = self.connection.execute(
            "UPDATE metric SET resource_id = ?1, name = ?2 WHERE id = ?3 AND status = 'active' AND creator = ?4",
            params![resource.to_string(), name, id.to_string(), creator],
        )?;
        Ok(moved as u64)
    }
}

impl Resources for SqliteIndex {
    fn get_resource_type(&self, name: &str) -> Result<ResourceType> {
        Ok(self.resource_type_row(name)?.0)
    }

    /// Resource types by name.
    fn list_resource_types(&self) -> Result<Vec<ResourceType>> {
        let mut statement = self
            .connection
            .prepare("SELECT name FROM resource_type ORDER BY name")?;
        let names = statement
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        names
            .iter()
            .map(|name| self.get_resource_type(name))
            .collect()
    }

    /// Stores a new type and creates its two tables.
    fn create_resource_type(&self, resource_type: &ResourceType) -> Result<()> {
        let tablename = format!("rt_{}", Uuid::new_v4().simple());
        self.atomically(|index| {
            let inserted = index.connection.execute(
                "INSERT OR IGNORE INTO resource_type (name, tablename, attributes, state) VALUES (?1, ?2, ?3, 'active')",
                params![resource_type.name, tablename, attributes_to_text(&resource_type.attributes)],
            )?;
            if inserted == 0 {
                return Err(Error::ResourceTypeExists(resource_type.name.clone()));
            }
            let columns: String = resource_type
                .attributes
                .iter()
                .map(|a| format!(", {} {}", attribute_column(&a.name), sql_type(&a.kind)))
                .collect();
            index.connection.execute_batch(&format!(
                "CREATE TABLE {} (id TEXT PRIMARY KEY REFERENCES resource(id) ON DELETE CASCADE{columns});
                 CREATE TABLE {} (revision INTEGER PRIMARY KEY REFERENCES resource_history(revision) ON DELETE CASCADE{columns});",
                quote_identifier(&tablename),
                quote_identifier(&format!("{tablename}_history")),
            ))?;
            Ok(())
        })
    }

    /// Applies a planned update (`ResourceType::plan_update`): columns
    /// dropped and added, `fill` values written to existing rows (current
    /// and history alike, as Gnocchi does).
    fn update_resource_type(&self, name: &str, update: &TypeUpdate) -> Result<ResourceType> {
        let (_, tablename) = self.resource_type_row(name)?;
        shared::check_changeable(name)?;
        self.atomically(|index| {
            for table in [tablename.clone(), format!("{tablename}_history")] {
                let table = quote_identifier(&table);
                for removed in &update.remove {
                    index.connection.execute_batch(&format!(
                        "ALTER TABLE {table} DROP COLUMN {}",
                        attribute_column(removed)
                    ))?;
                }
                for added in &update.add {
                    index.connection.execute_batch(&format!(
                        "ALTER TABLE {table} ADD COLUMN {} {}",
                        attribute_column(&added.name),
                        sql_type(&added.kind)
                    ))?;
                }
                for changed in update.add.iter().chain(&update.update) {
                    if let Some(fill) = &changed.fill {
                        let column = attribute_column(&changed.name);
                        index.connection.execute(
                            &format!("UPDATE {table} SET {column} = ?1 WHERE {column} IS NULL"),
                            [SqlParam::from(fill)],
                        )?;
                    }
                }
            }
            index.connection.execute(
                "UPDATE resource_type SET attributes = ?2 WHERE name = ?1",
                params![name, attributes_to_text(&update.result.attributes)],
            )?;
            Ok(())
        })?;
        self.get_resource_type(name)
    }

    /// Deletes a type no resource (current or past) uses; never `generic`.
    fn delete_resource_type(&self, name: &str) -> Result<()> {
        let (_, tablename) = self.resource_type_row(name)?;
        let users: i64 = self.connection.query_row(
            "SELECT (SELECT count(*) FROM resource WHERE type = ?1) + (SELECT count(*) FROM resource_history WHERE type = ?1)",
            [name],
            |r| r.get(0),
        )?;
        if name == GENERIC || users > 0 {
            return Err(Error::ResourceTypeInUse(name.to_owned()));
        }
        self.atomically(|index| {
            index.connection.execute_batch(&format!(
                "DROP TABLE {}; DROP TABLE {};",
                quote_identifier(&format!("{tablename}_history")),
                quote_identifier(&tablename)
            ))?;
            index
                .connection
                .execute("DELETE FROM resource_type WHERE name = ?1", [name])?;
            Ok(())
        })
    }

    /// Creates a resource, its attributes and its metrics, all or nothing.
    fn create_resource(&self, new: &NewResource, now: Timestamp) -> Result<Resource> {
        let (resource_type, tablename) = self.resource_type_row(&new.type_name)?;
        resource_type.check_required(&new.attributes)?;
        let (started_at, ended_at) = shared::new_resource_dates(new, now)?;
        self.atomically(|index| {
            let inserted = index.connection.execute(
                "INSERT OR IGNORE INTO resource (id, type, original_resource_id, creator, user_id, project_id, started_at, ended_at, revision_start)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    new.id.to_string(),
                    new.type_name,
                    new.original_resource_id,
                    new.creator,
                    new.user_id,
                    new.project_id,
                    micros(started_at),
                    ended_at.map(micros),
                    micros(now),
                ],
            )?;
            if inserted == 0 {
                return Err(Error::ResourceExists(new.id.to_string()));
            }
            index.insert_attributes(&resource_type, &tablename, new)?;
            index.attach_metrics(new.id, &new.creator, &new.metrics)?;
            Ok(())
        })?;
        self.stored_resource(&new.type_name, new.id)
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
    ) -> Result<Resource> {
        let (resource_type, tablename) = self.resource_type_row(type_name)?;
        let key = id.to_string();
        self.atomically(|index| {
            // Gnocchi locks the row (`SELECT … FOR UPDATE`) before it reads
            // it; SQLite's lock is the database's write lock, taken here by
            // a write that changes nothing, so that a concurrent update is
            // seen whole and its revision kept.
            index
                .connection
                .execute("UPDATE resource SET revision_start = revision_start WHERE id = ?1", [&key])?;
            let current = index.stored_resource(type_name, id)?;
            let revised = shared::revise(type_name, &current, changes)?;
            if revised.new_revision {
                index.connection.execute(
                    "INSERT INTO resource_history (id, type, original_resource_id, creator, user_id, project_id, started_at, ended_at, revision_start, revision_end)
                     SELECT id, type, original_resource_id, creator, user_id, project_id, started_at, ended_at, revision_start, ?2 FROM resource WHERE id = ?1",
                    params![key, micros(now)],
                )?;
                let revision = index.connection.last_insert_rowid();
                index.keep_attributes(&resource_type, &tablename, id, revision)?;
            }
            index.connection.execute(
                "UPDATE resource SET user_id = ?2, project_id = ?3, started_at = ?4, ended_at = ?5, revision_start = ?6 WHERE id = ?1",
                params![
                    key,
                    revised.user_id,
                    revised.project_id,
                    micros(revised.started_at),
                    revised.ended_at.map(micros),
                    micros(if revised.new_revision { now } else { current.revision_start }),
                ],
            )?;
            index.set_attributes(&tablename, id, &changes.attributes)?;
            if let Some(metrics) = &changes.metrics {
                index.connection.execute(
                    "UPDATE metric SET resource_id = NULL WHERE resource_id = ?1 AND status = 'active'",
                    [&key],
                )?;
                index.attach_metrics(id, &current.creator, metrics)?;
            }
            Ok(())
        })?;
        self.stored_resource(type_name, id)
    }

    /// Deletes a resource (any type) and its history; its metrics are
    /// marked deleted, their data goes at the next process pass.
    fn delete_resource(&self, id: Uuid) -> Result<()> {
        self.atomically(|index| index.delete_resource_rows(id))
    }

    /// Deletes every current resource of a type matching a filter; returns
    /// how many (`DELETE /v1/resource/TYPE`).
    fn delete_resources(&self, type_name: &str, filter: &Filter, now: Timestamp) -> Result<usize> {
        let query = ResourceQuery {
            type_name,
            filter: Some(filter),
            history: false,
            details: false,
            page: &Page::default(),
            now,
        };
        self.atomically(|index| {
            let found = index.search_resources(&query)?;
            for resource in &found {
                index.delete_resource_rows(resource.id)?;
            }
            Ok(found.len())
        })
    }

    /// Gnocchi's `list_resources`: the resources (or revisions) of a type
    /// matching a filter, sorted and paginated, each with its metrics.
    fn search_resources(&self, query: &ResourceQuery<'_>) -> Result<Vec<Resource>> {
        let (resource_type, tablename) = self.resource_type_row(query.type_name)?;
        let rows = RowSet::resources(&resource_type, &tablename, query.history, attribute_column);
        let (sql, params) = rows.select(
            query.filter,
            query.page,
            query.now,
            &Sqlite(&self.connection),
        )?;
        let typed = resource_type.name != GENERIC;
        let mut statement = self.connection.prepare_cached(&sql)?;
        let mut resources = statement
            .query_map(params_from_iter(params), |row| {
                let attributes = if typed {
                    let values = resource_type
                        .attributes
                        .iter()
                        .map(|a| row.get::<_, SqlParam>(attribute_alias(&a.name).as_str()))
                        .collect::<rusqlite::Result<Vec<_>>>()?;
                    Some(values)
                } else {
                    None
                };
                Ok((read_base(row)?, attributes))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
            .into_iter()
            .map(|(base, attributes)| {
                let mut resource = base?;
                if let Some(values) = attributes {
                    resource.attributes = Some(shared::attribute_values(&resource_type, values)?);
                }
                Ok(resource)
            })
            .collect::<Result<Vec<Resource>>>()?;
        for resource in &mut resources {
            if !typed && query.details && resource.type_name != GENERIC {
                resource.attributes = self.own_attributes(resource)?;
            }
            resource.metrics = self.resource_metrics(resource.id)?;
        }
        Ok(resources)
    }

    /// The active metrics of a resource, by name.
    fn resource_metrics(&self, id: Uuid) -> Result<Vec<(String, Uuid)>> {
        let mut statement = self.connection.prepare_cached(
            "SELECT name, id FROM metric WHERE resource_id = ?1 AND status = 'active' ORDER BY name",
        )?;
        let rows = statement
            .query_map([id.to_string()], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(name, id)| Ok((name, super::parse_uuid(&id)?)))
            .collect()
    }
}

fn read_base(row: &Row<'_>) -> rusqlite::Result<Result<Resource>> {
    let id: String = row.get("id")?;
    let revision_end: Option<i64> = row.get("revision_end")?;
    let base = Resource {
        id: Uuid::nil(),
        type_name: row.get("type")?,
        original_resource_id: row.get("original_resource_id")?,
        creator: row.get("creator")?,
        user_id: row.get("user_id")?,
        project_id: row.get("project_id")?,
        started_at: timestamp(row.get("started_at")?),
        ended_at: row.get::<_, Option<i64>>("ended_at")?.map(timestamp),
        revision: row.get("revision")?,
        revision_start: timestamp(row.get("revision_start")?),
        revision_end: revision_end.map(timestamp),
        attributes: None,
        metrics: Vec::new(),
    };
    Ok(super::parse_uuid(&id).map(|id| Resource { id, ..base }))
}
