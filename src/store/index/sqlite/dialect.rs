//! The SQLite side of the shared listing builder (store/index/listing.rs):
//! `?N` placeholders, values bound as SQLite keeps them (uuids as text,
//! dates as integer microseconds, booleans as 0/1), and `LIKE` with
//! PostgreSQL's semantics, which replaces SQLite's own.

use rusqlite::types::{FromSql, FromSqlResult, ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, OptionalExtension, ToSql};

use crate::resource::attribute::truncate_to_micros;
use crate::store::Result;
use crate::store::index::listing::{Dialect, SqlParam};
use crate::time::Timestamp;

/// The most values one statement may bind: `SQLITE_MAX_VARIABLE_NUMBER`
/// in the bundled build.
const MAX_VARIABLES: usize = 32_766;

/// The listing builder's dialect over one SQLite connection.
pub(super) struct Sqlite<'c>(pub &'c Connection);

impl Dialect for Sqlite<'_> {
    fn placeholder(&self, n: usize) -> String {
        format!("?{n}")
    }

    fn max_parameters(&self) -> usize {
        MAX_VARIABLES
    }

    fn query_row(&self, sql: &str, params: &[SqlParam]) -> Result<Option<Vec<SqlParam>>> {
        Ok(self
            .0
            .query_row(sql, rusqlite::params_from_iter(params), |row| {
                (0..row.as_ref().column_count())
                    .map(|i| row.get::<_, SqlParam>(i))
                    .collect::<rusqlite::Result<Vec<_>>>()
            })
            .optional()?)
    }

    fn execute(&self, sql: &str, params: &[SqlParam]) -> Result<u64> {
        Ok(self.0.execute(sql, rusqlite::params_from_iter(params))? as u64)
    }
}

/// A value read back from SQLite, to be bound again as it was.
impl FromSql for SqlParam {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<SqlParam> {
        Ok(match SqlValue::column_result(value)? {
            SqlValue::Null => SqlParam::Null,
            SqlValue::Integer(i) => SqlParam::Integer(i),
            SqlValue::Real(f) => SqlParam::Real(f),
            SqlValue::Text(s) => SqlParam::Text(s),
            // The index stores no blobs; bound back as what it is.
            SqlValue::Blob(bytes) => SqlParam::Text(String::from_utf8_lossy(&bytes).into_owned()),
        })
    }
}

impl ToSql for SqlParam {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Owned(match self {
            SqlParam::Null => SqlValue::Null,
            SqlParam::Text(s) => SqlValue::Text(s.clone()),
            SqlParam::Integer(i) | SqlParam::Span(i) => SqlValue::Integer(*i),
            SqlParam::Real(f) => SqlValue::Real(*f),
            SqlParam::Bool(b) => SqlValue::Integer(i64::from(*b)),
            SqlParam::Uuid(u) => SqlValue::Text(u.to_string()),
            SqlParam::Timestamp(t) => SqlValue::Integer(micros(*t)),
        }))
    }
}

/// A resource date as SQLite stores it: microseconds, rounded like Gnocchi.
pub(super) fn micros(timestamp: Timestamp) -> i64 {
    truncate_to_micros(timestamp).nanos() / 1000
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
