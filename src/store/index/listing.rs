//! Listing rows like Gnocchi's SQL indexer, for both backends: a `Filter`
//! turned into a WHERE clause over typed columns (`QueryTransformer`:
//! values converted to the column's type, `!=` matching nulls, the
//! `lifespan` and `created_by_*` pseudo-attributes), then sorting and
//! markers as oslo.db's `paginate_query` does them (PostgreSQL's null
//! order; sort keys `key[:asc|desc][-nullsfirst|-nullslast]`; the unique
//! keys appended).
//!
//! The SQL is the same on SQLite and PostgreSQL; what differs (the
//! placeholders, how a value is bound, the most values one statement takes,
//! running a query or a statement) is behind `Dialect`, and values stay
//! `SqlParam`s until a backend binds them. SQLite's `LIKE` is replaced by
//! a function with PostgreSQL's semantics (sqlite/dialect.rs), so `LIKE`
//! means the same on both.

use uuid::Uuid;

use crate::filter::{CompareOp, Filter, Value};
use crate::pyform;
use crate::resource::{AttributeKind, AttributeValue};
use crate::resource::{GENERIC, ResourceType, attribute::truncate_to_micros, parse_python_uuid};
use crate::store::index::{MetricFilter, Page};
use crate::store::{Error, Result};
use crate::time::{self, Timestamp};

/// A value bound to a statement, whichever backend runs it; each backend
/// converts it to its own type where it binds it (SQLite: uuids as text,
/// dates as integer microseconds, booleans as 0/1; PostgreSQL: native
/// `uuid`, `timestamp`, `boolean`, `interval`).
#[derive(Debug, Clone, PartialEq)]
pub(super) enum SqlParam {
    Null,
    Text(String),
    Integer(i64),
    Real(f64),
    Bool(bool),
    Uuid(Uuid),
    /// A resource date, to the microsecond (naive UTC on PostgreSQL).
    Timestamp(Timestamp),
    /// A length of time in microseconds (`lifespan`).
    Span(i64),
}

impl From<&AttributeValue> for SqlParam {
    fn from(value: &AttributeValue) -> SqlParam {
        match value {
            AttributeValue::Null => SqlParam::Null,
            AttributeValue::String(s) => SqlParam::Text(s.clone()),
            AttributeValue::Uuid(u) => SqlParam::Uuid(*u),
            AttributeValue::Number(n) => SqlParam::Real(*n),
            AttributeValue::Bool(b) => SqlParam::Bool(*b),
            AttributeValue::Datetime(t) => SqlParam::Timestamp(truncate_to_micros(*t)),
        }
    }
}

impl SqlParam {
    /// A stored attribute value as the attribute's type, in either
    /// backend's form (SQLite: uuids as text, booleans as 0/1, dates as
    /// integer microseconds).
    pub fn attribute_value(self, kind: &AttributeKind) -> Result<AttributeValue> {
        let bad = |value: &SqlParam| {
            Error::IndexData(format!("a {} attribute holds {value:?}", kind.type_name()))
        };
        Ok(match (kind, self) {
            (_, SqlParam::Null) => AttributeValue::Null,
            (AttributeKind::String { .. }, SqlParam::Text(s)) => AttributeValue::String(s),
            (AttributeKind::Uuid, SqlParam::Uuid(u)) => AttributeValue::Uuid(u),
            (AttributeKind::Uuid, SqlParam::Text(s)) => AttributeValue::Uuid(
                Uuid::parse_str(&s).map_err(|_| bad(&SqlParam::Text(s.clone())))?,
            ),
            (AttributeKind::Number { .. }, SqlParam::Real(f)) => AttributeValue::Number(f),
            (AttributeKind::Number { .. }, SqlParam::Integer(i)) => {
                AttributeValue::Number(i as f64)
            }
            (AttributeKind::Bool, SqlParam::Bool(b)) => AttributeValue::Bool(b),
            (AttributeKind::Bool, SqlParam::Integer(i)) => AttributeValue::Bool(i != 0),
            (AttributeKind::Datetime, SqlParam::Timestamp(t)) => AttributeValue::Datetime(t),
            (AttributeKind::Datetime, SqlParam::Integer(micros)) => {
                AttributeValue::Datetime(Timestamp::from_nanos(micros * 1000))
            }
            (_, other) => return Err(bad(&other)),
        })
    }
}

/// What differs between the backends' SQL.
pub(super) trait Dialect {
    /// The placeholder of the `n`th value (from 1) of a statement.
    fn placeholder(&self, n: usize) -> String;

    /// The most values one statement may bind. A filter naming more (a
    /// huge `in` list) is refused as the user's, not failed as the index's.
    fn max_parameters(&self) -> usize;

    /// The first row of a query, `None` when there is none.
    fn query_row(&self, sql: &str, params: &[SqlParam]) -> Result<Option<Vec<SqlParam>>>;

    /// Runs a statement: how many rows it changed.
    fn execute(&self, sql: &str, params: &[SqlParam]) -> Result<u64>;
}

/// The values of a statement being written, and their placeholders.
struct Params<'d> {
    dialect: &'d dyn Dialect,
    values: Vec<SqlParam>,
}

impl Params<'_> {
    /// Adds a value; its placeholder.
    fn bind(&mut self, value: SqlParam) -> String {
        let placeholder = self.dialect.placeholder(self.values.len() + 1);
        self.values.push(value);
        placeholder
    }
}

/// How a column's values are stored and compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Text,
    Uuid,
    Datetime,
    Number,
    Bool,
    Integer,
}

/// A column of the row set a listing reads.
#[derive(Debug, Clone)]
pub(super) struct Column {
    pub name: String,
    pub sql: String,
    pub kind: Kind,
}

impl Column {
    pub fn new(name: &str, sql_name: &str, kind: Kind) -> Column {
        Column {
            name: name.to_owned(),
            sql: quote_identifier(sql_name),
            kind,
        }
    }
}

pub(super) fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The base columns of the `resource` and `resource_history` tables, in
/// the order Gnocchi's model lists them.
pub(super) const BASE_COLUMNS: [(&str, Kind); 9] = [
    ("id", Kind::Uuid),
    ("creator", Kind::Text),
    ("started_at", Kind::Datetime),
    ("revision_start", Kind::Datetime),
    ("ended_at", Kind::Datetime),
    ("user_id", Kind::Text),
    ("project_id", Kind::Text),
    ("original_resource_id", Kind::Text),
    ("type", Kind::Text),
];

/// How an attribute's column compares.
pub(super) fn column_kind(kind: &AttributeKind) -> Kind {
    match kind {
        AttributeKind::String { .. } => Kind::Text,
        AttributeKind::Uuid => Kind::Uuid,
        AttributeKind::Number { .. } => Kind::Number,
        AttributeKind::Bool => Kind::Bool,
        AttributeKind::Datetime => Kind::Datetime,
    }
}

/// The name an attribute's column has in a resource row set, whatever it
/// is called in its table: never one of the base columns.
pub(super) fn attribute_alias(name: &str) -> String {
    format!("f_{name}")
}

/// A row set to list: `SELECT * FROM (sql)`, its columns by name.
pub(super) struct RowSet {
    pub sql: String,
    /// The values `sql` binds, numbered first in every statement over it.
    pub params: Vec<SqlParam>,
    pub columns: Vec<Column>,
    /// The resource type named in errors (`Resource type T has no X attribute`).
    pub type_name: String,
    /// Keys appended to every sort so the order is total.
    pub unique_keys: &'static [&'static str],
    pub default_sorts: &'static [&'static str],
    /// Whether markers are `id@revision`.
    pub history_markers: bool,
}

impl RowSet {
    /// The resources of a type (any type for `generic`), and with
    /// `history` their past revisions too (current ones have revision -1):
    /// `resource ⋈ tablename` (∪ `resource_history ⋈ tablename_history`).
    /// `stored` names an attribute's column in the type's own tables.
    pub fn resources(
        resource_type: &ResourceType,
        tablename: &str,
        history: bool,
        stored: impl Fn(&str) -> String,
    ) -> RowSet {
        let typed = resource_type.name != GENERIC;
        let select = |alias: &str, revision: &str, revision_end: &str, table: Option<String>| {
            let mut columns: Vec<String> = BASE_COLUMNS
                .iter()
                .map(|(name, _)| format!("{alias}.{name} AS {name}"))
                .collect();
            columns.push(format!("{revision} AS revision"));
            columns.push(format!("{revision_end} AS revision_end"));
            let mut from = format!(
                "FROM {} {alias}",
                if alias == "h" {
                    "resource_history"
                } else {
                    "resource"
                }
            );
            if let Some(table) = table {
                for attribute in &resource_type.attributes {
                    columns.push(format!(
                        "a.{} AS {}",
                        stored(&attribute.name),
                        quote_identifier(&attribute_alias(&attribute.name))
                    ));
                }
                let key = if alias == "h" { "revision" } else { "id" };
                from.push_str(&format!(
                    " JOIN {} a ON a.{key} = {alias}.{key}",
                    quote_identifier(&table)
                ));
            }
            format!("SELECT {} {from}", columns.join(", "))
        };
        // A typed null: PostgreSQL would make an untyped one text.
        let current = select(
            "r",
            "-1",
            "CAST(NULL AS timestamp)",
            typed.then(|| tablename.to_owned()),
        );
        let sql = if history {
            let past = select(
                "h",
                "h.revision",
                "h.revision_end",
                typed.then(|| format!("{tablename}_history")),
            );
            format!("{past} UNION ALL {current}")
        } else {
            current
        };
        let mut columns: Vec<Column> = BASE_COLUMNS
            .iter()
            .map(|(name, kind)| Column::new(name, name, *kind))
            .collect();
        if history {
            columns.push(Column::new("revision", "revision", Kind::Integer));
            columns.push(Column::new("revision_end", "revision_end", Kind::Datetime));
        }
        if typed {
            for attribute in &resource_type.attributes {
                columns.push(Column::new(
                    &attribute.name,
                    &attribute_alias(&attribute.name),
                    column_kind(&attribute.kind),
                ));
            }
        }
        RowSet {
            sql,
            params: Vec::new(),
            columns,
            type_name: resource_type.name.clone(),
            unique_keys: if history {
                &["id", "revision"]
            } else {
                &["id"]
            },
            default_sorts: &["revision_start:asc", "started_at:asc"],
            history_markers: history,
        }
    }

    /// The active metrics a filter lets through, sorted and paged like
    /// `GET /v1/metric` (default `id:asc`); `select` lists the metric
    /// table's columns (`METRIC_COLUMNS` of the backend).
    pub fn metrics(filter: &MetricFilter, select: &str, dialect: &dyn Dialect) -> RowSet {
        let mut params = Params {
            dialect,
            values: Vec::new(),
        };
        let mut sql = format!("SELECT {select} FROM metric WHERE status = 'active'");
        if let Some(resource_id) = filter.resource_id {
            let placeholder = params.bind(SqlParam::Uuid(resource_id));
            sql.push_str(&format!(" AND resource_id = {placeholder}"));
        }
        // The id as the text the SQLite index stores and PostgreSQL writes
        // (`id::text`): only its canonical form matches.
        if let Some(id) = &filter.id {
            match Uuid::parse_str(id) {
                Ok(uuid) if uuid.to_string() == *id => {
                    let placeholder = params.bind(SqlParam::Uuid(uuid));
                    sql.push_str(&format!(" AND id = {placeholder}"));
                }
                _ => sql.push_str(" AND 1 = 0"),
            }
        }
        for (column, value) in [
            ("name", &filter.name),
            ("unit", &filter.unit),
            ("archive_policy_name", &filter.archive_policy_name),
            ("creator", &filter.creator),
        ] {
            if let Some(value) = value {
                let placeholder = params.bind(SqlParam::Text(value.clone()));
                sql.push_str(&format!(" AND {column} = {placeholder}"));
            }
        }
        if let Some(project) = &filter.visible_to_project {
            let pattern = params.bind(SqlParam::Text(format!("%:{}", like_escape(project))));
            let project = params.bind(SqlParam::Text(project.clone()));
            sql.push_str(&format!(
                " AND (creator LIKE {pattern} OR resource_id IN (SELECT id FROM resource WHERE project_id = {project}))"
            ));
        }
        RowSet {
            sql,
            params: params.values,
            columns: [
                ("id", Kind::Uuid),
                ("name", Kind::Text),
                ("unit", Kind::Text),
                ("archive_policy_name", Kind::Text),
                ("creator", Kind::Text),
                ("resource_id", Kind::Uuid),
                ("status", Kind::Text),
            ]
            .iter()
            .map(|(name, kind)| Column::new(name, name, *kind))
            .collect(),
            type_name: "metric".to_owned(),
            unique_keys: &["id"],
            default_sorts: &["id:asc"],
            history_markers: false,
        }
    }

    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// `SELECT * FROM (…) WHERE filter AND after-marker ORDER BY … LIMIT …`,
    /// and the values it binds.
    pub fn select(
        &self,
        filter: Option<&Filter>,
        page: &Page,
        now: Timestamp,
        dialect: &dyn Dialect,
    ) -> Result<(String, Vec<SqlParam>)> {
        let mut conditions = Vec::new();
        let mut params = Params {
            dialect,
            values: self.params.clone(),
        };
        if let Some(filter) = filter {
            conditions.push(self.condition(filter, now, &mut params)?);
        }
        let sorts = self.sort_keys(page)?;
        if let Some(marker) = &page.marker {
            let values = self.marker_values(marker, &sorts, dialect)?;
            if let Some(condition) = after_marker(&sorts, values, &mut params) {
                conditions.push(condition);
            }
        }
        let limit = dialect.max_parameters();
        if params.values.len() > limit {
            return Err(Error::FilterTooLarge {
                values: params.values.len(),
                limit,
            });
        }
        let mut sql = format!("SELECT * FROM ({}) AS result", self.sql);
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        let order: Vec<String> = sorts.iter().flat_map(SortKey::order_by).collect();
        sql.push_str(" ORDER BY ");
        sql.push_str(&order.join(", "));
        if let Some(limit) = page.limit {
            sql.push_str(&format!(" LIMIT {limit}"));
        }
        Ok((sql, params.values))
    }

    /// `_build_sort_keys` and the checks of `paginate_query`.
    fn sort_keys(&self, page: &Page) -> Result<Vec<SortKey>> {
        let given: Vec<String> = if page.sorts.is_empty() {
            self.default_sorts.iter().map(|s| (*s).to_owned()).collect()
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
        for key in self.unique_keys {
            if !pairs.iter().any(|(k, _)| k == key) {
                pairs.push(((*key).to_owned(), "asc".to_owned()));
            }
        }
        pairs
            .into_iter()
            .map(|(key, direction)| {
                let column = self.column(&key).ok_or_else(|| {
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
                    sql: column.sql.clone(),
                    descending,
                    nulls,
                })
            })
            .collect()
    }

    /// The sort-key values of the marker row; an unknown marker is an error.
    fn marker_values(
        &self,
        marker: &str,
        sorts: &[SortKey],
        dialect: &dyn Dialect,
    ) -> Result<Vec<SqlParam>> {
        let invalid = || Error::InvalidPagination(format!("Invalid marker: `{marker}'"));
        let (id, revision) = if self.history_markers {
            let (id, revision) = marker.split_once('@').ok_or_else(invalid)?;
            (id, Some(revision.parse::<i64>().map_err(|_| invalid())?))
        } else {
            (marker, None)
        };
        let id = parse_python_uuid(id).ok_or_else(invalid)?;
        let columns: Vec<&str> = sorts.iter().map(|s| s.sql.as_str()).collect();
        let mut params = Params {
            dialect,
            values: self.params.clone(),
        };
        let mut sql = format!(
            "SELECT {} FROM ({}) AS result WHERE id = {}",
            columns.join(", "),
            self.sql,
            params.bind(SqlParam::Uuid(id))
        );
        if let Some(revision) = revision {
            sql.push_str(&format!(
                " AND revision = {}",
                params.bind(SqlParam::Integer(revision))
            ));
        }
        dialect.query_row(&sql, &params.values)?.ok_or_else(invalid)
    }

    fn condition(
        &self,
        filter: &Filter,
        now: Timestamp,
        params: &mut Params<'_>,
    ) -> Result<String> {
        Ok(match filter {
            Filter::And(items) | Filter::Or(items) => {
                let joiner = if matches!(filter, Filter::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                let parts = items
                    .iter()
                    .map(|item| self.condition(item, now, params))
                    .collect::<Result<Vec<_>>>()?;
                balanced(&parts, joiner)
            }
            Filter::Not(inner) => format!("NOT ({})", self.condition(inner, now, params)?),
            Filter::Compare {
                op,
                attribute,
                value,
            } => self.compare(*op, attribute, value, now, params)?,
            Filter::Like { attribute, pattern } => {
                if let Some(creator_like) = creator_pattern(attribute, pattern) {
                    return Ok(format!(
                        "creator LIKE {}",
                        params.bind(SqlParam::Text(creator_like))
                    ));
                }
                if attribute == "lifespan" {
                    return Err(query_value_error(&pattern.python_str(), attribute));
                }
                let column = self.attribute_column(attribute)?;
                if column.kind != Kind::Text {
                    return Err(query_value_error(&pattern.python_str(), attribute));
                }
                let pattern = convert(column, pattern, now)
                    .ok_or_else(|| query_value_error(&pattern.python_str(), attribute))?;
                format!("{} LIKE {}", column.sql, params.bind(pattern))
            }
            Filter::In { attribute, values } => {
                let shown = || {
                    format!(
                        "[{}]",
                        values
                            .iter()
                            .map(Value::python_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                if creator_pattern(attribute, &Value::Null).is_some() || attribute == "lifespan" {
                    return Err(query_value_error(&shown(), attribute));
                }
                let column = self.attribute_column(attribute)?;
                let mut placeholders = Vec::new();
                for value in values {
                    let converted = match (value, column.kind) {
                        (Value::Null, Kind::Text) => Some(SqlParam::Text("None".to_owned())),
                        (Value::Null, _) => None,
                        _ => convert(column, value, now),
                    };
                    let converted =
                        converted.ok_or_else(|| query_value_error(&shown(), attribute))?;
                    placeholders.push(params.bind(converted));
                }
                format!("{} IN ({})", column.sql, placeholders.join(", "))
            }
        })
    }

    fn attribute_column(&self, attribute: &str) -> Result<&Column> {
        self.column(attribute)
            .ok_or_else(|| Error::NoSuchAttribute {
                resource_type: self.type_name.clone(),
                attribute: attribute.to_owned(),
            })
    }

    fn compare(
        &self,
        op: CompareOp,
        attribute: &str,
        value: &Value,
        now: Timestamp,
        params: &mut Params<'_>,
    ) -> Result<String> {
        if let Some(pattern) = creator_pattern(attribute, value) {
            return match op {
                CompareOp::Eq => Ok(format!(
                    "creator LIKE {}",
                    params.bind(SqlParam::Text(pattern))
                )),
                CompareOp::Ne => Ok(format!(
                    "NOT (creator LIKE {})",
                    params.bind(SqlParam::Text(pattern))
                )),
                _ => Err(query_value_error(&value.python_str(), attribute)),
            };
        }
        let (sql, converted) = if attribute == "lifespan" {
            // Gnocchi compares `ended_at - started_at` with a timespan (an
            // interval on PostgreSQL, microseconds on SQLite).
            let seconds = match value {
                Value::Int(i) => Some(*i as f64),
                Value::Float(f) => Some(*f),
                Value::Str(s) => time::parse_timespan(s).ok().map(|span| span.as_secs_f64()),
                _ => None,
            }
            .filter(|s| *s > 0.0)
            .ok_or_else(|| query_value_error(&value.python_str(), attribute))?;
            let micros = (seconds * 1e6).round() as i64;
            (
                "(ended_at - started_at)".to_owned(),
                Some(SqlParam::Span(micros)),
            )
        } else {
            let column = self.attribute_column(attribute)?;
            let converted = match value {
                Value::Null => None,
                _ => Some(
                    convert(column, value, now)
                        .ok_or_else(|| query_value_error(&value.python_str(), attribute))?,
                ),
            };
            (column.sql.clone(), converted)
        };
        let symbol = match op {
            CompareOp::Eq => "=",
            CompareOp::Ne => "<>",
            other => other.symbol(),
        };
        Ok(match (op, converted) {
            (CompareOp::Eq, None) => format!("{sql} IS NULL"),
            (CompareOp::Ne, None) => format!("{sql} IS NOT NULL"),
            (CompareOp::Ne, Some(value)) => {
                format!("({sql} IS NULL OR {sql} <> {})", params.bind(value))
            }
            (_, value) => {
                format!(
                    "{sql} {symbol} {}",
                    params.bind(value.unwrap_or(SqlParam::Null))
                )
            }
        })
    }
}

/// `created_by_user_id` / `created_by_project_id` match the creator
/// (`creator LIKE 'v:%'` / `'%:v'`).
fn creator_pattern(attribute: &str, value: &Value) -> Option<String> {
    let value = value.python_str();
    match attribute {
        "created_by_user_id" => Some(format!("{value}:%")),
        "created_by_project_id" => Some(format!("%:{value}")),
        _ => None,
    }
}

/// `(a AND b AND c …)` joined as a balanced tree of parentheses: SQLite
/// parses a flat chain as a tree as deep as it is long and refuses trees
/// deeper than 1 000, so a filter of a thousand `and`ed conditions would
/// fail; balanced, its depth is the logarithm of its length.
fn balanced(parts: &[String], joiner: &str) -> String {
    match parts {
        [] => String::new(),
        [one] => format!("({one})"),
        _ => {
            let (left, right) = parts.split_at(parts.len() / 2);
            format!(
                "({}{joiner}{})",
                balanced(left, joiner),
                balanced(right, joiner)
            )
        }
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern.
fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

fn query_value_error(value: &str, field: &str) -> Error {
    Error::QueryValue {
        value: value.to_owned(),
        field: field.to_owned(),
    }
}

fn unknown_direction() -> Error {
    Error::InvalidPagination(
        "Unknown sort direction, must be one of: asc-nullsfirst, asc-nullslast, desc-nullsfirst, desc-nullslast".to_owned(),
    )
}

/// A value converted to a column's type, as Gnocchi's `QueryTransformer`
/// converts it (`str()`, `float()`, `int()`, `to_datetime`); `None` when
/// it cannot be.
fn convert(column: &Column, value: &Value, now: Timestamp) -> Option<SqlParam> {
    let datetime = |text: &str| {
        time::parse_timestamp(text, now)
            .ok()
            .map(|t| SqlParam::Timestamp(truncate_to_micros(t)))
    };
    Some(match (column.kind, value) {
        (_, Value::Null) => return None,
        (Kind::Text, value) => SqlParam::Text(value.python_str()),
        (Kind::Uuid, Value::Str(s)) => SqlParam::Uuid(parse_python_uuid(s)?),
        (Kind::Uuid, _) => return None,
        (Kind::Number, Value::Int(i)) => SqlParam::Real(*i as f64),
        (Kind::Number, Value::Float(f)) => SqlParam::Real(*f),
        (Kind::Number, Value::Bool(b)) => SqlParam::Real(f64::from(u8::from(*b))),
        (Kind::Number, Value::Str(s)) => SqlParam::Real(pyform::float::parse_python_float(s)?),
        (Kind::Integer, Value::Int(i)) => SqlParam::Integer(*i),
        (Kind::Integer, Value::Float(f)) if f.is_finite() => SqlParam::Integer(f.trunc() as i64),
        (Kind::Integer, Value::Bool(b)) => SqlParam::Integer(i64::from(*b)),
        (Kind::Integer, Value::Str(s)) => SqlParam::Integer(s.trim().parse().ok()?),
        (Kind::Integer, _) => return None,
        (Kind::Bool, Value::Bool(b)) => SqlParam::Bool(*b),
        (Kind::Bool, _) => return None,
        (Kind::Datetime, Value::Str(s)) => datetime(s)?,
        (Kind::Datetime, Value::Int(i)) => datetime(&i.to_string())?,
        (Kind::Datetime, Value::Float(f)) => datetime(&crate::pyform::fmt::float_repr(*f))?,
        (Kind::Datetime, Value::Bool(_)) => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nulls {
    Default,
    First,
    Last,
}

#[derive(Debug, Clone)]
struct SortKey {
    sql: String,
    descending: bool,
    nulls: Nulls,
}

impl SortKey {
    /// oslo.db's ORDER BY terms; without `-nulls…`, PostgreSQL's default
    /// (nulls last ascending, first descending).
    fn order_by(&self) -> Vec<String> {
        let mut terms = Vec::new();
        match self.nulls {
            Nulls::First => terms.push(format!("({} IS NULL) DESC", self.sql)),
            Nulls::Last => terms.push(format!("({} IS NOT NULL) DESC", self.sql)),
            Nulls::Default => {}
        }
        terms.push(if self.descending {
            format!("{} DESC NULLS FIRST", self.sql)
        } else {
            format!("{} ASC NULLS LAST", self.sql)
        });
        terms
    }
}

/// oslo.db's marker criteria, quirks kept: a key whose marker value is
/// null adds no criterion, and earlier null keys are not pinned.
fn after_marker(
    sorts: &[SortKey],
    values: Vec<SqlParam>,
    params: &mut Params<'_>,
) -> Option<String> {
    let mut criteria = Vec::new();
    for (i, sort) in sorts.iter().enumerate() {
        if values[i] == SqlParam::Null {
            continue;
        }
        let mut parts = Vec::new();
        for (j, earlier) in sorts[..i].iter().enumerate() {
            if values[j] != SqlParam::Null {
                parts.push(format!(
                    "{} = {}",
                    earlier.sql,
                    params.bind(values[j].clone())
                ));
            }
        }
        let (op, nulls_too) = if sort.descending {
            ("<", sort.nulls == Nulls::First)
        } else {
            (">", sort.nulls == Nulls::Last)
        };
        let value = params.bind(values[i].clone());
        parts.push(if nulls_too {
            format!("({0} {op} {value} OR {0} IS NULL)", sort.sql)
        } else {
            format!("{} {op} {value}", sort.sql)
        });
        criteria.push(format!("({})", parts.join(" AND ")));
    }
    (!criteria.is_empty()).then(|| format!("({})", criteria.join(" OR ")))
}
