//! The PostgreSQL side of the shared listing builder
//! (store/index/listing.rs): `$N` placeholders, and `SqlParam`s bound and
//! read as Gnocchi's columns hold them (native `uuid`, `boolean`, naive UTC
//! `timestamp`, `interval` for a lifespan). A value adapts to the type the
//! server infers for its placeholder (an integer binds to `int4` or
//! `int8`, a text to a varchar or an enum label), as psycopg2's literals
//! do for Gnocchi.

use std::error::Error as StdError;

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, NaiveDateTime};
use postgres::types::{FromSql, IsNull, Kind, ToSql, Type, to_sql_checked};
use uuid::Uuid;

use super::PostgresIndex;
use crate::resource::attribute::truncate_to_micros;
use crate::store::index::listing::{Dialect, SqlParam};
use crate::store::{Error, Result};
use crate::time::Timestamp;

type BoxError = Box<dyn StdError + Sync + Send>;

/// The most values one statement may bind: the protocol counts them in 16
/// bits.
const MAX_PARAMETERS: usize = 65_535;

/// The listing builder's dialect over a PostgreSQL index's connection.
pub(super) struct Postgres<'i>(pub &'i PostgresIndex);

impl Dialect for Postgres<'_> {
    fn placeholder(&self, n: usize) -> String {
        format!("${n}")
    }

    fn max_parameters(&self) -> usize {
        MAX_PARAMETERS
    }

    fn query_row(&self, sql: &str, params: &[SqlParam]) -> Result<Option<Vec<SqlParam>>> {
        let row = self.0.client().query_typed_opt(sql, &with_types(params))?;
        row.map(|row| {
            (0..row.len())
                .map(|i| row.try_get::<_, SqlParam>(i).map_err(Error::from))
                .collect()
        })
        .transpose()
    }

    fn execute(&self, sql: &str, params: &[SqlParam]) -> Result<u64> {
        Ok(self.0.client().execute(sql, &bound(params))?)
    }
}

/// `params` as rust-postgres takes them.
pub(super) fn bound(params: &[SqlParam]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// `params` with the types they are sent as, so that a statement costs one
/// round trip (no separate prepare). The server compares them with the
/// columns' own types through its implicit casts (`varchar` to `text`,
/// `int4` to `int8`); a null's type is left for the server to infer.
pub(super) fn with_types(params: &[SqlParam]) -> Vec<(&(dyn ToSql + Sync), Type)> {
    params
        .iter()
        .map(|param| {
            let ty = match param {
                SqlParam::Null => Type::UNKNOWN,
                SqlParam::Text(_) => Type::TEXT,
                SqlParam::Integer(_) => Type::INT8,
                SqlParam::Real(_) => Type::FLOAT8,
                SqlParam::Bool(_) => Type::BOOL,
                SqlParam::Uuid(_) => Type::UUID,
                SqlParam::Timestamp(_) => Type::TIMESTAMP,
                SqlParam::Span(_) => Type::INTERVAL,
            };
            (param as &(dyn ToSql + Sync), ty)
        })
        .collect()
}

/// A date as Gnocchi's columns hold it: naive UTC, to the microsecond.
pub(super) fn naive(timestamp: Timestamp) -> NaiveDateTime {
    DateTime::from_timestamp_nanos(truncate_to_micros(timestamp).nanos()).naive_utc()
}

/// A naive UTC date of the index; `None` past the nanosecond range (2262).
pub(super) fn from_naive(datetime: NaiveDateTime) -> Option<Timestamp> {
    datetime
        .and_utc()
        .timestamp_nanos_opt()
        .map(Timestamp::from_nanos)
}

/// Whether `ty` holds text: the text types and enums (whose binary form is
/// the label).
fn is_text(ty: &Type) -> bool {
    <&str as ToSql>::accepts(ty) || matches!(ty.kind(), Kind::Enum(_))
}

impl ToSql for SqlParam {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match (self, ty) {
            (SqlParam::Null, _) => Ok(IsNull::Yes),
            (SqlParam::Text(text), ty) if is_text(ty) => {
                out.put_slice(text.as_bytes());
                Ok(IsNull::No)
            }
            (SqlParam::Integer(i), &Type::INT4) => i32::try_from(*i)?.to_sql(ty, out),
            (SqlParam::Integer(i), &Type::INT2) => i16::try_from(*i)?.to_sql(ty, out),
            (SqlParam::Integer(i), _) => i.to_sql_checked(ty, out),
            (SqlParam::Real(f), _) => f.to_sql_checked(ty, out),
            (SqlParam::Bool(b), _) => b.to_sql_checked(ty, out),
            (SqlParam::Uuid(u), ty) if is_text(ty) => {
                out.put_slice(u.to_string().as_bytes());
                Ok(IsNull::No)
            }
            (SqlParam::Uuid(u), _) => u.to_sql_checked(ty, out),
            (SqlParam::Timestamp(t), _) => naive(*t).to_sql_checked(ty, out),
            (SqlParam::Span(micros), &Type::INTERVAL) => {
                // An interval's binary form: microseconds, days, months.
                out.put_i64(*micros);
                out.put_i32(0);
                out.put_i32(0);
                Ok(IsNull::No)
            }
            (SqlParam::Text(_) | SqlParam::Span(_), ty) => {
                Err(format!("cannot bind {self:?} to a {ty} parameter").into())
            }
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for SqlParam {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<SqlParam, BoxError> {
        Ok(match *ty {
            Type::BOOL => SqlParam::Bool(bool::from_sql(ty, raw)?),
            Type::INT2 => SqlParam::Integer(i16::from_sql(ty, raw)?.into()),
            Type::INT4 => SqlParam::Integer(i32::from_sql(ty, raw)?.into()),
            Type::INT8 => SqlParam::Integer(i64::from_sql(ty, raw)?),
            Type::FLOAT4 => SqlParam::Real(f32::from_sql(ty, raw)?.into()),
            Type::FLOAT8 => SqlParam::Real(f64::from_sql(ty, raw)?),
            Type::UUID => SqlParam::Uuid(Uuid::from_sql(ty, raw)?),
            Type::TIMESTAMP => SqlParam::Timestamp(
                from_naive(NaiveDateTime::from_sql(ty, raw)?).ok_or("a date past the year 2262")?,
            ),
            _ if is_text(ty) => SqlParam::Text(std::str::from_utf8(raw)?.to_owned()),
            _ => return Err(format!("cannot read a {ty} column as a listing value").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<SqlParam, BoxError> {
        Ok(SqlParam::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_adapt_to_the_parameter_type() {
        let bind = |value: SqlParam, ty: &Type| {
            let mut out = BytesMut::new();
            value.to_sql_checked(ty, &mut out).map(|_| out.to_vec())
        };
        assert_eq!(
            bind(SqlParam::Integer(7), &Type::INT4).unwrap(),
            [0, 0, 0, 7]
        );
        assert!(bind(SqlParam::Integer(1 << 40), &Type::INT4).is_err());
        assert_eq!(
            bind(SqlParam::Text("ok".into()), &Type::VARCHAR).unwrap(),
            b"ok"
        );
        assert!(bind(SqlParam::Text("ok".into()), &Type::UUID).is_err());
        assert_eq!(
            bind(SqlParam::Span(1), &Type::INTERVAL).unwrap(),
            [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]
        );
        assert!(bind(SqlParam::Real(1.5), &Type::TEXT).is_err());
    }

    #[test]
    fn dates_are_naive_utc_to_the_microsecond() {
        let t = Timestamp::from_nanos(1_700_000_000_123_456_789);
        let n = naive(t);
        assert_eq!(n.to_string(), "2023-11-14 22:13:20.123457");
        assert_eq!(
            from_naive(n),
            Some(Timestamp::from_nanos(1_700_000_000_123_457_000))
        );
    }
}
