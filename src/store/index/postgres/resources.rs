//! Resource types, resources and their history in a Gnocchi deployment's
//! index, written exactly as gnocchi-api writes them (spec
//! gnocchi-deployments.md §5) so that both read what the other wrote:
//!
//! * a type is a `resource_type` row (`attributes` in the API's JSON form)
//!   and two tables, `rt_<uuid4 hex>` and `rt_<uuid4 hex>_history`, one
//!   column per attribute under its own name, with Gnocchi's keys and
//!   constraint names; it goes `creating → active` when created,
//!   `active → updating → active` when changed, through `deleting` when
//!   deleted, and only `active` types are used;
//! * a resource update is one transaction that locks the row (`SELECT …
//!   FOR UPDATE`), copies it into the history with `revision_end = now`
//!   and starts the new revision at `now`, so two concurrent updates make
//!   two revisions;
//! * deleting a resource marks its metrics `delete` (the janitor expunges
//!   them) and deletes the row; the type's rows and the history cascade.
//!
//! Searches use the listing builder shared with SQLite
//! (store/index/listing.rs) in PostgreSQL's dialect.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use postgres::Row;
use postgres::error::SqlState;
use uuid::Uuid;

use super::PostgresIndex;
use super::dialect::{Postgres, from_naive, naive, with_types};
use crate::filter::Filter;
use crate::resource::attribute::truncate_to_micros;
use crate::resource::{
    Attribute, AttributeKind, AttributeSpec, AttributeValue, GENERIC, Resource, ResourceType,
    TypeUpdate,
};
use crate::store::index::listing::{Dialect, RowSet, SqlParam, attribute_alias, quote_identifier};
use crate::store::index::resources::{self as shared, ResourceSql};
use crate::store::index::{Commits, NewResource, Page, ResourceChanges, ResourceQuery, Resources};
use crate::store::{Error, Result};
use crate::time::Timestamp;

/// The states from which Gnocchi deletes a type.
const DELETABLE_STATES: [&str; 4] = [
    "active",
    "deletion_error",
    "creation_error",
    "updating_error",
];

/// Runs `work` in one transaction (a savepoint inside another), again if
/// it was a deadlock's victim.
fn atomically<T>(index: &PostgresIndex, mut work: impl FnMut() -> Result<T>) -> Result<T> {
    let mut value = None;
    index.transaction(
        &mut || {
            value = Some(work()?);
            Ok(())
        },
        true,
    )?;
    Ok(value.expect("a committed transaction ran its work"))
}

/// An attribute's column in its type's tables: the attribute's name.
fn attribute_column(name: &str) -> String {
    quote_identifier(name)
}

/// The column type Gnocchi gives an attribute (`sqlalchemy_extension.py`).
fn sql_type(kind: &AttributeKind) -> String {
    match kind {
        AttributeKind::String { max_length, .. } => format!("varchar({max_length})"),
        AttributeKind::Uuid => "uuid".to_owned(),
        AttributeKind::Number { .. } => "double precision".to_owned(),
        AttributeKind::Bool => "boolean".to_owned(),
        AttributeKind::Datetime => "timestamp".to_owned(),
    }
}

/// `"name" type [NOT NULL]`: `NOT NULL` exactly when required.
fn column_definition(attribute: &Attribute) -> String {
    format!(
        "{} {}{}",
        attribute_column(&attribute.name),
        sql_type(&attribute.kind),
        if attribute.required { " NOT NULL" } else { "" }
    )
}

/// The two tables of a type, as SQLAlchemy makes them from Gnocchi's
/// `ResourceExtMixin` and `ResourceHistoryExtMixin`: the attributes, then
/// the key, the primary key `<table>_pkey` and the foreign keys
/// `fk_<table>_id_resource_id` and `fk_<table>_h_revision_rh_revision`.
fn create_tables_sql(tablename: &str, attributes: &[Attribute]) -> String {
    let columns: String = attributes
        .iter()
        .map(|a| format!("{}, ", column_definition(a)))
        .collect();
    format!(
        "CREATE TABLE {table} ({columns}id uuid NOT NULL, PRIMARY KEY (id), \
           CONSTRAINT {fk} FOREIGN KEY (id) REFERENCES resource (id) ON DELETE CASCADE); \
         CREATE TABLE {history} ({columns}revision integer NOT NULL, PRIMARY KEY (revision), \
           CONSTRAINT {history_fk} FOREIGN KEY (revision) REFERENCES resource_history (revision) ON DELETE CASCADE)",
        table = quote_identifier(tablename),
        history = quote_identifier(&format!("{tablename}_history")),
        fk = quote_identifier(&format!("fk_{tablename}_id_resource_id")),
        history_fk = quote_identifier(&format!("fk_{tablename}_h_revision_rh_revision")),
    )
}

/// A text as an SQL literal, as PostgreSQL's `quote_literal` writes it
/// (the `E''` form when there are backslashes, whatever
/// `standard_conforming_strings` says).
fn quote_literal(text: &str) -> String {
    let quoted = text.replace('\'', "''");
    if text.contains('\\') {
        format!("E'{}'", quoted.replace('\\', "\\\\"))
    } else {
        format!("'{quoted}'")
    }
}

/// A `fill` value as a column default (DDL takes no parameters).
fn default_literal(value: &AttributeValue, sql_type: &str) -> String {
    let text = match value {
        AttributeValue::Null => return "NULL".to_owned(),
        AttributeValue::String(s) => s.clone(),
        AttributeValue::Uuid(u) => u.to_string(),
        AttributeValue::Number(n) => n.to_string(),
        AttributeValue::Bool(b) => b.to_string(),
        AttributeValue::Datetime(t) => naive(*t).to_string(),
    };
    format!("{}::{sql_type}", quote_literal(&text))
}

fn unexpected_state(resource_type: &str, expected: &str, state: &str) -> Error {
    Error::UnexpectedResourceTypeState {
        resource_type: resource_type.to_owned(),
        expected: expected.to_owned(),
        state: state.to_owned(),
    }
}

fn data_error(detail: String) -> Error {
    Error::IndexData(detail)
}

/// A date of the index as a timestamp.
fn date(value: NaiveDateTime) -> Result<Timestamp> {
    from_naive(value).ok_or_else(|| data_error(format!("date {value} is out of range")))
}

/// `attributes` as Gnocchi stores it: the API's JSON object, by name in
/// the type's order (a null column: none). The definitions are read as
/// stored, as Gnocchi reads them, without the bounds the API puts on the
/// types it is asked to create: Gnocchi's own `prometheus` type has strings
/// of up to 512 characters.
fn attributes_from_json(type_name: &str, text: Option<&str>) -> Result<Vec<Attribute>> {
    let bad = |detail: String| data_error(format!("resource type {type_name}: {detail}"));
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    let document: serde_json::Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let attributes = document
        .as_object()
        .ok_or_else(|| bad(format!("attributes are not a JSON object: {text}")))?;
    attributes
        .iter()
        .map(|(name, definition)| {
            let spec = AttributeSpec::from_json(name, definition);
            Ok(Attribute {
                name: name.clone(),
                required: spec.required.unwrap_or(true),
                kind: spec.kind().map_err(|e| bad(e.to_string()))?,
                fill: None,
            })
        })
        .collect()
}

/// A `resource_type` row (`name, tablename, attributes::text,
/// state::text`): the type and its table name.
fn type_from_row(row: &Row) -> Result<(ResourceType, String)> {
    let name: String = row.try_get(0)?;
    let attributes = attributes_from_json(&name, row.try_get::<_, Option<&str>>(2)?)?;
    Ok((
        ResourceType {
            name,
            state: row.try_get(3)?,
            attributes,
        },
        row.try_get(1)?,
    ))
}

const TYPE_COLUMNS: &str = "name, tablename, attributes::text, state::text";

/// A row of a resource row set (`RowSet::resources`), with the type's
/// attributes when `typed`.
fn read_resource(row: &Row, typed: Option<&ResourceType>) -> Result<Resource> {
    let attributes = typed
        .map(|resource_type| {
            resource_type
                .attributes
                .iter()
                .map(|a| {
                    let value = row.try_get::<_, SqlParam>(attribute_alias(&a.name).as_str())?;
                    Ok((a.name.clone(), value.attribute_value(&a.kind)?))
                })
                .collect::<Result<Vec<_>>>()
        })
        .transpose()?;
    let optional_date = |column: &str| -> Result<Option<Timestamp>> {
        row.try_get::<_, Option<NaiveDateTime>>(column)?
            .map(date)
            .transpose()
    };
    Ok(Resource {
        id: row.try_get("id")?,
        type_name: row.try_get("type")?,
        original_resource_id: row.try_get("original_resource_id")?,
        creator: row
            .try_get::<_, Option<String>>("creator")?
            .unwrap_or_default(),
        user_id: row.try_get("user_id")?,
        project_id: row.try_get("project_id")?,
        started_at: date(row.try_get("started_at")?)?,
        ended_at: optional_date("ended_at")?,
        revision: row.try_get::<_, i32>("revision")?.into(),
        revision_start: date(row.try_get("revision_start")?)?,
        revision_end: optional_date("revision_end")?,
        attributes,
        metrics: Vec::new(),
    })
}

impl PostgresIndex {
    /// A resource type, whatever its state, and its table name.
    fn resource_type_row(&self, name: &str) -> Result<(ResourceType, String)> {
        let row = self
            .client()
            .query_opt(
                &format!("SELECT {TYPE_COLUMNS} FROM resource_type WHERE name = $1"),
                &[&name],
            )?
            .ok_or_else(|| Error::ResourceTypeNotFound(name.to_owned()))?;
        type_from_row(&row)
    }

    /// A type resources may use: one in state `active` (the others are
    /// being changed, or were left broken by a change).
    fn active_type(&self, name: &str) -> Result<(ResourceType, String)> {
        let (resource_type, tablename) = self.resource_type_row(name)?;
        if resource_type.state != "active" {
            return Err(unexpected_state(name, "active", &resource_type.state));
        }
        Ok((resource_type, tablename))
    }

    fn set_type_state(&self, name: &str, state: &'static str) -> Result<()> {
        self.client().execute(
            &format!("UPDATE resource_type SET state = '{state}' WHERE name = $1"),
            &[&name],
        )?;
        Ok(())
    }

    /// Fills in the active metrics of each resource, in one query.
    fn load_metrics(&self, resources: &mut [Resource]) -> Result<()> {
        if resources.is_empty() {
            return Ok(());
        }
        let mut ids: Vec<Uuid> = resources.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        let rows = self.client().query(
            "SELECT resource_id, name, id FROM metric \
             WHERE resource_id = ANY($1) AND status = 'active' ORDER BY name COLLATE \"C\"",
            &[&ids],
        )?;
        let mut by_resource: HashMap<Uuid, Vec<(String, Uuid)>> = HashMap::new();
        for row in rows {
            let name: Option<String> = row.try_get(1)?;
            by_resource
                .entry(row.try_get(0)?)
                .or_default()
                .push((name.unwrap_or_default(), row.try_get(2)?));
        }
        for resource in resources {
            resource.metrics = by_resource.get(&resource.id).cloned().unwrap_or_default();
        }
        Ok(())
    }
}

impl ResourceSql for PostgresIndex {
    fn dialect(&self) -> Box<dyn Dialect + '_> {
        Box::new(Postgres(self))
    }

    fn attribute_column(name: &str) -> String {
        attribute_column(name)
    }

    fn usable_type(&self, name: &str) -> Result<(ResourceType, String)> {
        self.active_type(name)
    }

    fn move_metric(&self, id: Uuid, resource: Uuid, name: &str, creator: &str) -> Result<u64> {
        Ok(self.client().execute(
            "UPDATE metric SET resource_id = $1, name = $2 \
             WHERE id = $3 AND status = 'active' AND creator = $4",
            &[&resource, &name, &id, &creator],
        )?)
    }
}

impl Resources for PostgresIndex {
    fn get_resource_type(&self, name: &str) -> Result<ResourceType> {
        Ok(self.resource_type_row(name)?.0)
    }

    /// Resource types by name, whatever their state.
    fn list_resource_types(&self) -> Result<Vec<ResourceType>> {
        let rows = self.client().query(
            &format!("SELECT {TYPE_COLUMNS} FROM resource_type ORDER BY name"),
            &[],
        )?;
        rows.iter().map(|row| Ok(type_from_row(row)?.0)).collect()
    }

    /// Gnocchi's `create_resource_type`: the row in state `creating`
    /// (which also claims the name), the two tables, then `active`; a
    /// failure of the tables leaves `creation_error`, as Gnocchi does.
    fn create_resource_type(&self, resource_type: &ResourceType) -> Result<()> {
        let tablename = format!("rt_{}", Uuid::new_v4().simple());
        let inserted = self.client().execute(
            "INSERT INTO resource_type (name, tablename, attributes, state, updated_at) \
             VALUES ($1, $2, $3::text::json, 'creating', $4) ON CONFLICT DO NOTHING",
            &[
                &resource_type.name,
                &tablename,
                &resource_type.attributes_json().to_ascii_python_string(),
                &naive(Timestamp::now()),
            ],
        )?;
        if inserted == 0 {
            return Err(Error::ResourceTypeExists(resource_type.name.clone()));
        }
        let tables = atomically(self, || {
            self.client()
                .batch_execute(&create_tables_sql(&tablename, &resource_type.attributes))?;
            Ok(())
        });
        if let Err(error) = tables {
            self.set_type_state(&resource_type.name, "creation_error")?;
            return Err(error);
        }
        self.set_type_state(&resource_type.name, "active")
    }

    /// Gnocchi's `update_resource_type`, in one transaction: `active →
    /// updating`, the nulls of changed attributes filled, columns dropped,
    /// added (filled through a default that is then dropped) and altered
    /// in both tables, then `active` again with the new attributes and
    /// `updated_at`.
    fn update_resource_type(&self, name: &str, update: &TypeUpdate) -> Result<ResourceType> {
        let (_, tablename) = self.resource_type_row(name)?;
        shared::check_changeable(name)?;
        atomically(self, || {
            let updating = self.client().execute(
                "UPDATE resource_type SET state = 'updating' WHERE name = $1 AND state = 'active'",
                &[&name],
            )?;
            if updating == 0 {
                let (current, _) = self.resource_type_row(name)?;
                return Err(unexpected_state(name, "active", &current.state));
            }
            for table in [tablename.clone(), format!("{tablename}_history")] {
                let table = quote_identifier(&table);
                for changed in &update.update {
                    if let Some(fill) = &changed.fill {
                        let column = attribute_column(&changed.name);
                        self.client().execute(
                            &format!("UPDATE {table} SET {column} = $1 WHERE {column} IS NULL"),
                            &[&SqlParam::from(fill)],
                        )?;
                    }
                }
                let mut statements = Vec::new();
                for removed in &update.remove {
                    statements.push(format!(
                        "ALTER TABLE {table} DROP COLUMN {}",
                        attribute_column(removed)
                    ));
                }
                for added in &update.add {
                    let column = attribute_column(&added.name);
                    let default = added.fill.as_ref().map_or(String::new(), |fill| {
                        format!(" DEFAULT {}", default_literal(fill, &sql_type(&added.kind)))
                    });
                    statements.push(format!(
                        "ALTER TABLE {table} ADD COLUMN {}{default}",
                        column_definition(added)
                    ));
                    if added.fill.is_some() {
                        statements.push(format!(
                            "ALTER TABLE {table} ALTER COLUMN {column} DROP DEFAULT"
                        ));
                    }
                }
                for changed in &update.update {
                    let column = attribute_column(&changed.name);
                    statements.push(format!(
                        "ALTER TABLE {table} ALTER COLUMN {column} TYPE {}, ALTER COLUMN {column} {} NOT NULL",
                        sql_type(&changed.kind),
                        if changed.required { "SET" } else { "DROP" }
                    ));
                }
                if !statements.is_empty() {
                    self.client().batch_execute(&statements.join("; "))?;
                }
            }
            self.client().execute(
                "UPDATE resource_type SET state = 'active', updated_at = $2, \
                 attributes = $3::text::json WHERE name = $1",
                &[
                    &name,
                    &naive(Timestamp::now()),
                    &update.result.attributes_json().to_ascii_python_string(),
                ],
            )?;
            Ok(())
        })?;
        self.get_resource_type(name)
    }

    /// Gnocchi's `delete_resource_type`: the row goes to `deleting` (by a
    /// delete and insert, so the foreign keys of resources and revisions
    /// refuse a type in use), the tables' foreign keys and the tables are
    /// dropped, then the row; a failure there leaves `deletion_error`.
    fn delete_resource_type(&self, name: &str) -> Result<()> {
        if name == GENERIC {
            return Err(Error::ResourceTypeInUse(name.to_owned()));
        }
        let tablename = atomically(self, || {
            let row = self
                .client()
                .query_opt(
                    "SELECT tablename, attributes::text, state::text FROM resource_type \
                     WHERE name = $1 FOR UPDATE",
                    &[&name],
                )?
                .ok_or_else(|| Error::ResourceTypeNotFound(name.to_owned()))?;
            let tablename: String = row.try_get(0)?;
            let attributes: Option<String> = row.try_get(1)?;
            let state: String = row.try_get(2)?;
            if !DELETABLE_STATES.contains(&state.as_str()) {
                return Err(unexpected_state(name, &DELETABLE_STATES.join("/"), &state));
            }
            let deleted = self
                .client()
                .execute("DELETE FROM resource_type WHERE name = $1", &[&name]);
            match deleted {
                Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
                    return Err(Error::ResourceTypeInUse(name.to_owned()));
                }
                other => other?,
            };
            self.client().execute(
                "INSERT INTO resource_type (name, tablename, attributes, state, updated_at) \
                 VALUES ($1, $2, $3::text::json, 'deleting', $4)",
                &[&name, &tablename, &attributes, &naive(Timestamp::now())],
            )?;
            Ok(tablename)
        })?;
        let history = format!("{tablename}_history");
        let statements = [
            format!(
                "ALTER TABLE IF EXISTS {} DROP CONSTRAINT IF EXISTS {}",
                quote_identifier(&tablename),
                quote_identifier(&format!("fk_{tablename}_id_resource_id"))
            ),
            format!(
                "ALTER TABLE IF EXISTS {} DROP CONSTRAINT IF EXISTS {}",
                quote_identifier(&history),
                quote_identifier(&format!("fk_{tablename}_h_revision_rh_revision"))
            ),
            format!("DROP TABLE IF EXISTS {}", quote_identifier(&tablename)),
            format!("DROP TABLE IF EXISTS {}", quote_identifier(&history)),
        ];
        // One statement at a time, as Gnocchi does: each lock is held
        // briefly.
        for statement in &statements {
            if let Err(error) = self.client().batch_execute(statement) {
                self.set_type_state(name, "deletion_error")?;
                return Err(error.into());
            }
        }
        self.client()
            .execute("DELETE FROM resource_type WHERE name = $1", &[&name])?;
        Ok(())
    }

    /// Creates a resource, its attributes and its metrics, all or nothing.
    fn create_resource(&self, new: &NewResource, now: Timestamp) -> Result<Resource> {
        let (resource_type, tablename) = self.active_type(&new.type_name)?;
        resource_type.check_required(&new.attributes)?;
        let (started_at, ended_at) = shared::new_resource_dates(new, now)?;
        atomically(self, || {
            let inserted = self.client().execute(
                "INSERT INTO resource (id, type, original_resource_id, creator, user_id, \
                 project_id, started_at, ended_at, revision_start) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
                &[
                    &new.id,
                    &new.type_name,
                    &new.original_resource_id,
                    &new.creator,
                    &new.user_id,
                    &new.project_id,
                    &naive(started_at),
                    &ended_at.map(naive),
                    &naive(now),
                ],
            )?;
            if inserted == 0 {
                return Err(Error::ResourceExists(new.id.to_string()));
            }
            self.insert_attributes(&resource_type, &tablename, new)?;
            self.attach_metrics(new.id, &new.creator, &new.metrics)
        })?;
        self.stored_resource(&new.type_name, new.id)
    }

    /// Gnocchi's `update_resource`: the row locked (`FOR UPDATE`, joined
    /// to the type's own row), the changes worked out against what is
    /// stored once the lock is held, and with a new revision the current
    /// one copied into the history (`revision_end = now`) and the new one
    /// started at `now`.
    fn update_resource(
        &self,
        type_name: &str,
        id: Uuid,
        changes: &ResourceChanges,
        now: Timestamp,
    ) -> Result<Resource> {
        let (resource_type, tablename) = self.active_type(type_name)?;
        let typed = type_name != GENERIC;
        let now = truncate_to_micros(now);
        let not_found = || Error::ResourceNotFound(id.to_string());
        atomically(self, || {
            let join = if typed {
                format!(" JOIN {} a ON a.id = r.id", quote_identifier(&tablename))
            } else {
                String::new()
            };
            let locked = self.client().query_opt(
                &format!("SELECT r.id FROM resource r{join} WHERE r.id = $1 FOR UPDATE"),
                &[&id],
            )?;
            if locked.is_none() {
                return Err(not_found());
            }
            let current = self.stored_resource(type_name, id)?;
            let revised = shared::revise(type_name, &current, changes)?;
            if revised.new_revision {
                let revision: i32 = self
                    .client()
                    .query_one(
                        "INSERT INTO resource_history (id, type, original_resource_id, creator, \
                         user_id, project_id, started_at, ended_at, revision_start, revision_end) \
                         SELECT id, type, original_resource_id, creator, user_id, project_id, \
                         started_at, ended_at, revision_start, $2::timestamp \
                         FROM resource WHERE id = $1 RETURNING revision",
                        &[&id, &naive(now)],
                    )?
                    .try_get(0)?;
                self.keep_attributes(&resource_type, &tablename, id, revision.into())?;
            }
            self.client().execute(
                "UPDATE resource SET user_id = $2, project_id = $3, started_at = $4, \
                 ended_at = $5, revision_start = $6 WHERE id = $1",
                &[
                    &id,
                    &revised.user_id,
                    &revised.project_id,
                    &naive(revised.started_at),
                    &revised.ended_at.map(naive),
                    &naive(if revised.new_revision {
                        now
                    } else {
                        current.revision_start
                    }),
                ],
            )?;
            self.set_attributes(&tablename, id, &changes.attributes)?;
            if let Some(metrics) = &changes.metrics {
                self.client().execute(
                    "UPDATE metric SET resource_id = NULL WHERE resource_id = $1 AND status = 'active'",
                    &[&id],
                )?;
                self.attach_metrics(id, &current.creator, metrics)?;
            }
            Ok(())
        })?;
        self.stored_resource(type_name, id)
    }

    /// Gnocchi's `delete_resource`: its metrics marked `delete` (the
    /// foreign key then detaches them), the row deleted with its type's
    /// rows and its history.
    fn delete_resource(&self, id: Uuid) -> Result<()> {
        atomically(self, || {
            self.client().execute(
                "UPDATE metric SET status = 'delete' WHERE resource_id = $1",
                &[&id],
            )?;
            let deleted = self
                .client()
                .execute("DELETE FROM resource WHERE id = $1", &[&id])?;
            if deleted == 0 {
                return Err(Error::ResourceNotFound(id.to_string()));
            }
            Ok(())
        })
    }

    fn delete_resources(&self, type_name: &str, filter: &Filter, now: Timestamp) -> Result<usize> {
        let (resource_type, tablename) = self.active_type(type_name)?;
        let rows = RowSet::resources(&resource_type, &tablename, false, attribute_column);
        atomically(self, || {
            let (sql, params) =
                rows.select(Some(filter), &Page::default(), now, &Postgres(self))?;
            let ids: Vec<Uuid> = self
                .client()
                .query_typed(
                    &format!("SELECT id FROM ({sql}) AS matched"),
                    &with_types(&params),
                )?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<_, _>>()?;
            self.client().execute(
                "UPDATE metric SET status = 'delete' WHERE resource_id = ANY($1)",
                &[&ids],
            )?;
            let deleted = self
                .client()
                .execute("DELETE FROM resource WHERE id = ANY($1)", &[&ids])?;
            Ok(deleted as usize)
        })
    }

    fn search_resources(&self, query: &ResourceQuery<'_>) -> Result<Vec<Resource>> {
        let (resource_type, tablename) = self.active_type(query.type_name)?;
        let typed = resource_type.name != GENERIC;
        let rows = RowSet::resources(&resource_type, &tablename, query.history, attribute_column);
        let (sql, params) = rows.select(query.filter, query.page, query.now, &Postgres(self))?;
        let found = self.client().query_typed(&sql, &with_types(&params))?;
        let mut resources = found
            .iter()
            .map(|row| read_resource(row, typed.then_some(&resource_type)))
            .collect::<Result<Vec<_>>>()?;
        if !typed && query.details {
            for resource in &mut resources {
                if resource.type_name != GENERIC {
                    resource.attributes = self.own_attributes(resource)?;
                }
            }
        }
        self.load_metrics(&mut resources)?;
        Ok(resources)
    }

    fn resource_metrics(&self, id: Uuid) -> Result<Vec<(String, Uuid)>> {
        let rows = self.client().query(
            "SELECT name, id FROM metric WHERE resource_id = $1 AND status = 'active' \
             ORDER BY name COLLATE \"C\"",
            &[&id],
        )?;
        rows.iter()
            .map(|row| {
                let name: Option<String> = row.try_get(0)?;
                Ok((name.unwrap_or_default(), row.try_get(1)?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_as_postgresql_quotes_them() {
        assert_eq!(quote_literal("eu"), "'eu'");
        assert_eq!(quote_literal("it's"), "'it''s'");
        assert_eq!(quote_literal("a\\b'"), "E'a\\\\b'''");
        assert_eq!(
            default_literal(&AttributeValue::Number(0.5), "double precision"),
            "'0.5'::double precision"
        );
        assert_eq!(
            default_literal(
                &AttributeValue::Datetime(Timestamp::from_nanos(1_500_000)),
                "timestamp"
            ),
            "'1970-01-01 00:00:00.001500'::timestamp"
        );
    }

    #[test]
    fn stored_attributes_are_the_api_form() {
        let text = r#"{"host": {"type": "string", "required": true, "max_length": 64, "min_length": 0}, "cpus": {"type": "number", "required": false, "min": 0, "max": 256}, "load": {"type": "number", "required": true, "min": null, "max": null}}"#;
        let attributes = attributes_from_json("probe", Some(text)).unwrap();
        let names: Vec<&str> = attributes.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["host", "cpus", "load"]);
        let resource_type = ResourceType::new("probe", attributes).unwrap();
        assert_eq!(
            resource_type.attributes_json().to_ascii_python_string(),
            text
        );
        assert!(attributes_from_json("probe", Some("[]")).is_err());
        assert_eq!(attributes_from_json("generic", None).unwrap(), []);
    }
}
