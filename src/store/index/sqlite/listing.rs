//! Listing rows like Gnocchi's SQL indexer: a `Filter` turned into a WHERE
//! clause over typed columns (`QueryTransformer`: values converted to the
//! column's type, `!=` matching nulls, the `lifespan` and `created_by_*`
//! pseudo-attributes), then sorting and markers as oslo.db's
//! `paginate_query` does them (PostgreSQL's null order; sort keys
//! `key[:asc|desc][-nullsfirst|-nullslast]`; the unique keys appended).

use rusqlite::types::Value as SqlValue;

use crate::filter::{CompareOp, Filter, Value};
use crate::pyform;
use crate::resource::{attribute::truncate_to_micros, parse_python_uuid};
use crate::store::index::Page;
use crate::store::{Error, Result};
use crate::time::{self, Timestamp};

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

/// The most values one statement may bind: SQLite's
/// `SQLITE_MAX_VARIABLE_NUMBER` in the bundled build. A filter naming more
/// (a huge `in` list) is refused as the user's, not failed as the index's.
const MAX_VARIABLES: usize = 32_766;

/// A row set to list: `SELECT * FROM (sql)`, its columns by name.
pub(super) struct RowSet {
    pub sql: String,
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
    fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// `SELECT * FROM (…) WHERE filter AND after-marker ORDER BY … LIMIT …`.
    pub fn select(
        &self,
        filter: Option<&Filter>,
        page: &Page,
        now: Timestamp,
        connection: &rusqlite::Connection,
    ) -> Result<(String, Vec<SqlValue>)> {
        let mut conditions = Vec::new();
        let mut params = Vec::new();
        if let Some(filter) = filter {
            conditions.push(self.condition(filter, now, &mut params)?);
        }
        let sorts = self.sort_keys(page)?;
        if let Some(marker) = &page.marker {
            let values = self.marker_values(marker, &sorts, connection)?;
            if let Some(condition) = after_marker(&sorts, values, &mut params) {
                conditions.push(condition);
            }
        }
        if params.len() > MAX_VARIABLES {
            return Err(Error::FilterTooLarge {
                values: params.len(),
                limit: MAX_VARIABLES,
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
        Ok((sql, params))
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
        connection: &rusqlite::Connection,
    ) -> Result<Vec<SqlValue>> {
        let invalid = || Error::InvalidPagination(format!("Invalid marker: `{marker}'"));
        let (id, revision) = if self.history_markers {
            let (id, revision) = marker.split_once('@').ok_or_else(invalid)?;
            (id, Some(revision.parse::<i64>().map_err(|_| invalid())?))
        } else {
            (marker, None)
        };
        let id = parse_python_uuid(id).ok_or_else(invalid)?.to_string();
        let columns: Vec<&str> = sorts.iter().map(|s| s.sql.as_str()).collect();
        let mut sql = format!(
            "SELECT {} FROM ({}) AS result WHERE id = ?1",
            columns.join(", "),
            self.sql
        );
        let mut params = vec![SqlValue::Text(id)];
        if let Some(revision) = revision {
            sql.push_str(" AND revision = ?2");
            params.push(SqlValue::Integer(revision));
        }
        let row = connection
            .query_row(&sql, rusqlite::params_from_iter(params), |row| {
                (0..sorts.len())
                    .map(|i| row.get::<_, SqlValue>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .map(Some)
            .or_else(|e| match e {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                other => Err(other),
            })?;
        row.ok_or_else(invalid)
    }

    fn condition(
        &self,
        filter: &Filter,
        now: Timestamp,
        params: &mut Vec<SqlValue>,
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
                    params.push(SqlValue::Text(creator_like));
                    return Ok("creator LIKE ?".to_owned());
                }
                if attribute == "lifespan" {
                    return Err(query_value_error(&pattern.python_str(), attribute));
                }
                let column = self.attribute_column(attribute)?;
                if column.kind != Kind::Text {
                    return Err(query_value_error(&pattern.python_str(), attribute));
                }
                params.push(
                    convert(column, pattern, now)
                        .ok_or_else(|| query_value_error(&pattern.python_str(), attribute))?,
                );
                format!("{} LIKE ?", column.sql)
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
                        (Value::Null, Kind::Text) => Some(SqlValue::Text("None".to_owned())),
                        (Value::Null, _) => None,
                        _ => convert(column, value, now),
                    };
                    params.push(converted.ok_or_else(|| query_value_error(&shown(), attribute))?);
                    placeholders.push("?");
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
        params: &mut Vec<SqlValue>,
    ) -> Result<String> {
        if let Some(pattern) = creator_pattern(attribute, value) {
            return match op {
                CompareOp::Eq => {
                    params.push(SqlValue::Text(pattern));
                    Ok("creator LIKE ?".to_owned())
                }
                CompareOp::Ne => {
                    params.push(SqlValue::Text(pattern));
                    Ok("NOT (creator LIKE ?)".to_owned())
                }
                _ => Err(query_value_error(&value.python_str(), attribute)),
            };
        }
        let (sql, converted) = if attribute == "lifespan" {
            // Gnocchi compares `ended_at - started_at` with a timespan.
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
                Some(SqlValue::Integer(micros)),
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
                params.push(value);
                format!("({sql} IS NULL OR {sql} <> ?)")
            }
            (_, value) => {
                params.push(value.unwrap_or(SqlValue::Null));
                format!("{sql} {symbol} ?")
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
fn convert(column: &Column, value: &Value, now: Timestamp) -> Option<SqlValue> {
    Some(match (column.kind, value) {
        (_, Value::Null) => return None,
        (Kind::Text, value) => SqlValue::Text(value.python_str()),
        (Kind::Uuid, Value::Str(s)) => SqlValue::Text(parse_python_uuid(s)?.to_string()),
        (Kind::Uuid, _) => return None,
        (Kind::Number, Value::Int(i)) => SqlValue::Real(*i as f64),
        (Kind::Number, Value::Float(f)) => SqlValue::Real(*f),
        (Kind::Number, Value::Bool(b)) => SqlValue::Real(f64::from(u8::from(*b))),
        (Kind::Number, Value::Str(s)) => SqlValue::Real(pyform::float::parse_python_float(s)?),
        (Kind::Integer, Value::Int(i)) => SqlValue::Integer(*i),
        (Kind::Integer, Value::Float(f)) if f.is_finite() => SqlValue::Integer(f.trunc() as i64),
        (Kind::Integer, Value::Bool(b)) => SqlValue::Integer(i64::from(*b)),
        (Kind::Integer, Value::Str(s)) => SqlValue::Integer(s.trim().parse().ok()?),
        (Kind::Integer, _) => return None,
        (Kind::Bool, Value::Bool(b)) => SqlValue::Integer(i64::from(*b)),
        (Kind::Bool, _) => return None,
        (Kind::Datetime, Value::Str(s)) => {
            SqlValue::Integer(micros(time::parse_timestamp(s, now).ok()?))
        }
        (Kind::Datetime, Value::Int(i)) => {
            SqlValue::Integer(micros(time::parse_timestamp(&i.to_string(), now).ok()?))
        }
        (Kind::Datetime, Value::Float(f)) => SqlValue::Integer(micros(
            time::parse_timestamp(&crate::pyform::fmt::float_repr(*f), now).ok()?,
        )),
        (Kind::Datetime, Value::Bool(_)) => return None,
    })
}

/// A resource date as the index stores it: microseconds, rounded like Gnocchi.
pub(super) fn micros(timestamp: Timestamp) -> i64 {
    truncate_to_micros(timestamp).nanos() / 1000
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
    values: Vec<SqlValue>,
    params: &mut Vec<SqlValue>,
) -> Option<String> {
    let mut criteria = Vec::new();
    for (i, sort) in sorts.iter().enumerate() {
        if values[i] == SqlValue::Null {
            continue;
        }
        let mut parts = Vec::new();
        for (j, earlier) in sorts[..i].iter().enumerate() {
            if values[j] != SqlValue::Null {
                parts.push(format!("{} = ?", earlier.sql));
                params.push(values[j].clone());
            }
        }
        let (op, nulls_too) = if sort.descending {
            ("<", sort.nulls == Nulls::First)
        } else {
            (">", sort.nulls == Nulls::Last)
        };
        params.push(values[i].clone());
        parts.push(if nulls_too {
            format!("({0} {op} ? OR {0} IS NULL)", sort.sql)
        } else {
            format!("{} {op} ?", sort.sql)
        });
        criteria.push(format!("({})", parts.join(" AND ")));
    }
    (!criteria.is_empty()).then(|| format!("({})", criteria.join(" OR ")))
}

/// SQL `LIKE` as PostgreSQL has it: case-sensitive, `%` any run, `_` one
/// character, `\` escaping the next one.
pub(super) fn like(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Part {
        Any,
        One,
        Char(char),
    }
    let mut parts = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        parts.push(match c {
            '%' => Part::Any,
            '_' => Part::One,
            '\\' => Part::Char(chars.next().unwrap_or('\\')),
            c => Part::Char(c),
        });
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with one backtrack point: the last `%` seen.
    let (mut p, mut t) = (0, 0);
    let mut backtrack: Option<(usize, usize)> = None;
    while t < text.len() {
        match parts.get(p) {
            Some(Part::Any) => {
                backtrack = Some((p, t));
                p += 1;
            }
            Some(Part::One) => {
                p += 1;
                t += 1;
            }
            Some(Part::Char(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match backtrack {
                Some((any, start)) => {
                    p = any + 1;
                    t = start + 1;
                    backtrack = Some((any, start + 1));
                }
                None => return false,
            },
        }
    }
    parts[p..].iter().all(|part| *part == Part::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_is_postgresql_like() {
        assert!(like("m1.%", "m1.small"));
        assert!(!like("M1.%", "m1.small"));
        assert!(like("a_c", "abc"));
        assert!(!like("a_c", "abbc"));
        assert!(like("%b%", "abc"));
        assert!(like("100\\%", "100%"));
        assert!(!like("100\\%", "1000"));
        assert!(like("%", ""));
        assert!(like("%a%a", "banana"));
        assert!(!like("abc", "abcd"));
        assert!(like("é_", "éa"));
    }
}
