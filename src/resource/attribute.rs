//! Resource-type attributes as Gnocchi defines them (gnocchi/resource_type.py,
//! docs/gnocchi-semantics.md#resource-types): the five attribute types with their options, name
//! rules, the `fill` option of type updates, and the check of a value
//! against an attribute. Pure: no storage, no clock.

use std::fmt;

use uuid::Uuid;

use crate::pyform;
use crate::pyform::json::Json;
use crate::time::{self, Timestamp};

use super::ResourceError;

/// Names a custom attribute may not take: the base fields of a resource.
const INVALID_NAMES: [&str; 14] = [
    "id",
    "type",
    "metrics",
    "revision",
    "revision_start",
    "revision_end",
    "started_at",
    "ended_at",
    "user_id",
    "project_id",
    "created_by_user_id",
    "created_by_project_id",
    "get_metric",
    "creator",
];

/// Longest attribute name Gnocchi accepts.
const MAX_NAME_LENGTH: usize = 63;
/// Bounds of a string attribute's `min_length` and `max_length`.
const MAX_STRING_LENGTH: i64 = 256;

/// A number as JSON gave it: Gnocchi echoes `min: 0` as `0`, not `0.0`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Real {
    Int(i64),
    Float(f64),
}

impl Real {
    pub fn as_f64(self) -> f64 {
        match self {
            Real::Int(i) => i as f64,
            Real::Float(f) => f,
        }
    }

    pub fn to_json(self) -> Json {
        match self {
            Real::Int(i) => Json::Int(i),
            Real::Float(f) => Json::Float(f),
        }
    }

    /// gnocchiclient's reading of an option: `int()`, else `float()`.
    pub fn parse(text: &str) -> Option<Real> {
        if let Some(int) = parse_python_int(text) {
            return Some(Real::Int(int));
        }
        pyform::float::parse_python_float(text).map(Real::Float)
    }
}

impl fmt::Display for Real {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Real::Int(i) => write!(f, "{i}"),
            Real::Float(x) => f.write_str(&pyform::fmt::float_repr(*x)),
        }
    }
}

/// What Python's `int()` accepts of a string (no `_` grouping).
fn parse_python_int(text: &str) -> Option<i64> {
    let trimmed = text.trim();
    let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(trimmed);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    trimmed.parse().ok()
}

/// The type of an attribute and its options.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeKind {
    String {
        min_length: i64,
        max_length: i64,
    },
    Uuid,
    Number {
        min: Option<Real>,
        max: Option<Real>,
    },
    Bool,
    Datetime,
}

impl AttributeKind {
    /// The type's name in Gnocchi's documents.
    pub fn type_name(&self) -> &'static str {
        match self {
            AttributeKind::String { .. } => "string",
            AttributeKind::Uuid => "uuid",
            AttributeKind::Number { .. } => "number",
            AttributeKind::Bool => "bool",
            AttributeKind::Datetime => "datetime",
        }
    }
}

/// An attribute value as stored: datetimes to the microsecond, like
/// Gnocchi's SQL columns.
#[derive(Debug, Clone, PartialEq)]
pub enum AttributeValue {
    Null,
    String(String),
    Uuid(Uuid),
    Number(f64),
    Bool(bool),
    Datetime(Timestamp),
}

impl AttributeValue {
    /// The value in Gnocchi's JSON documents.
    pub fn to_json(&self) -> Json {
        match self {
            AttributeValue::Null => Json::Null,
            AttributeValue::String(s) => Json::str(s),
            AttributeValue::Uuid(u) => Json::str(u.to_string()),
            AttributeValue::Number(n) => Json::Float(*n),
            AttributeValue::Bool(b) => Json::Bool(*b),
            AttributeValue::Datetime(t) => Json::str(t.to_isoformat()),
        }
    }
}

/// One attribute of a resource type.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub required: bool,
    pub kind: AttributeKind,
    /// The value given to existing resources when a type update adds the
    /// attribute or makes it required (`options.fill`); only in updates.
    pub fill: Option<AttributeValue>,
}

impl Attribute {
    /// Checks the name and the bounds, as Gnocchi's attribute schemas do.
    pub fn new(
        name: &str,
        required: bool,
        kind: AttributeKind,
    ) -> Result<Attribute, ResourceError> {
        let valid_start = name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
        // Gnocchi's VALID_CHARS regex is only matched at the start of the
        // name, so `new-optional-bool` is accepted.
        if name.chars().count() > MAX_NAME_LENGTH || INVALID_NAMES.contains(&name) || !valid_start {
            return Err(ResourceError::InvalidAttributeName(name.to_owned()));
        }
        match &kind {
            AttributeKind::String {
                min_length,
                max_length,
            } => {
                if !(0..=MAX_STRING_LENGTH).contains(min_length) {
                    return Err(ResourceError::invalid_option(
                        name,
                        "min_length",
                        format!("value must be at most {MAX_STRING_LENGTH} and at least 0"),
                    ));
                }
                if !(1..=MAX_STRING_LENGTH).contains(max_length) {
                    return Err(ResourceError::invalid_option(
                        name,
                        "max_length",
                        format!("value must be at most {MAX_STRING_LENGTH} and at least 1"),
                    ));
                }
                if min_length > max_length {
                    return Err(ResourceError::MinAboveMax {
                        min: min_length.to_string(),
                        max: max_length.to_string(),
                    });
                }
            }
            AttributeKind::Number {
                min: Some(min),
                max: Some(max),
            } if min.as_f64() > max.as_f64() => {
                return Err(ResourceError::MinAboveMax {
                    min: min.to_string(),
                    max: max.to_string(),
                });
            }
            _ => {}
        }
        Ok(Attribute {
            name: name.to_owned(),
            required,
            kind,
            fill: None,
        })
    }

    /// Sets the `fill` option of a type update; a required attribute must
    /// have one (`Option 'fill' … must not be empty if required=True`).
    pub fn with_fill(
        mut self,
        fill: Option<&str>,
        now: Timestamp,
    ) -> Result<Attribute, ResourceError> {
        match fill {
            None if self.required => Err(ResourceError::invalid_option(
                &self.name,
                "fill",
                "must not be empty if required=True".to_owned(),
            )),
            None => Ok(self),
            Some(text) => {
                let value = self.parse_value(text, now).map_err(|e| {
                    ResourceError::invalid_option(&self.name, "fill", e.reason().to_owned())
                })?;
                self.fill = Some(value);
                Ok(self)
            }
        }
    }

    /// The attribute as Gnocchi's `jsonify()` writes it.
    pub fn to_json(&self) -> Json {
        let mut fields = vec![
            ("type", Json::str(self.kind.type_name())),
            ("required", Json::Bool(self.required)),
        ];
        match &self.kind {
            AttributeKind::String {
                min_length,
                max_length,
            } => {
                fields.push(("max_length", Json::Int(*max_length)));
                fields.push(("min_length", Json::Int(*min_length)));
            }
            AttributeKind::Number { min, max } => {
                fields.push(("min", min.map_or(Json::Null, Real::to_json)));
                fields.push(("max", max.map_or(Json::Null, Real::to_json)));
            }
            _ => {}
        }
        Json::object(fields)
    }

    /// Reads a value given as text (the command line), the way
    /// gnocchiclient converts it before Gnocchi checks it: `float()` for
    /// numbers, yes/no words for booleans, Gnocchi's timestamp syntax for
    /// datetimes.
    pub fn parse_value(&self, text: &str, now: Timestamp) -> Result<AttributeValue, ValueError> {
        let value = match &self.kind {
            AttributeKind::String { .. } => AttributeValue::String(text.to_owned()),
            AttributeKind::Uuid => Uuid::parse_str(text)
                .map(AttributeValue::Uuid)
                .map_err(|_| ValueError::new("badly formed hexadecimal UUID string"))?,
            AttributeKind::Number { .. } => pyform::float::parse_python_float(text)
                .map(AttributeValue::Number)
                .ok_or_else(|| ValueError::new("expected Real"))?,
            AttributeKind::Bool => parse_bool(text)
                .map(AttributeValue::Bool)
                .ok_or_else(|| ValueError::new("expected bool"))?,
            AttributeKind::Datetime => {
                let timestamp = time::parse_timestamp(text, now)
                    .map_err(|e| ValueError::new(&e.to_string()))?;
                AttributeValue::Datetime(truncate_to_micros(timestamp))
            }
        };
        self.check_value(&value)?;
        Ok(value)
    }

    /// Reads a value of a JSON document (a resource body), as Gnocchi's
    /// attribute schemas do: strings only for strings and UUIDs, numbers
    /// (booleans too, as Python counts them) for numbers, `true`/`false`
    /// for booleans, and for datetimes a string or an epoch number in
    /// Gnocchi's timestamp syntax.
    pub fn value_from_json(
        &self,
        value: &serde_json::Value,
        now: Timestamp,
    ) -> Result<AttributeValue, ValueError> {
        use serde_json::Value as J;
        let typed = match (&self.kind, value) {
            (AttributeKind::String { .. }, J::String(s)) => AttributeValue::String(s.clone()),
            (AttributeKind::Uuid, J::String(s)) => super::parse_python_uuid(s)
                .map(AttributeValue::Uuid)
                .ok_or_else(|| ValueError::new("badly formed hexadecimal UUID string"))?,
            (AttributeKind::Number { .. }, J::Number(n)) => {
                AttributeValue::Number(n.as_f64().ok_or_else(|| ValueError::new("expected Real"))?)
            }
            (AttributeKind::Number { .. }, J::Bool(b)) => {
                AttributeValue::Number(f64::from(u8::from(*b)))
            }
            (AttributeKind::Bool, J::Bool(b)) => AttributeValue::Bool(*b),
            (AttributeKind::Datetime, J::String(_) | J::Number(_)) => {
                let text = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_owned);
                let timestamp = time::parse_timestamp(&text, now)
                    .map_err(|e| ValueError::new(&e.to_string()))?;
                AttributeValue::Datetime(truncate_to_micros(timestamp))
            }
            (AttributeKind::String { .. }, _) => return Err(ValueError::new("expected str")),
            (AttributeKind::Number { .. }, _) => return Err(ValueError::new("expected Real")),
            (AttributeKind::Bool, _) => return Err(ValueError::new("expected bool")),
            (AttributeKind::Uuid | AttributeKind::Datetime, _) => {
                return Err(ValueError::new(&format!(
                    "expected {}",
                    self.kind.type_name()
                )));
            }
        };
        self.check_value(&typed)?;
        Ok(typed)
    }

    /// Checks a typed value against the attribute's bounds.
    pub fn check_value(&self, value: &AttributeValue) -> Result<(), ValueError> {
        match (&self.kind, value) {
            (
                AttributeKind::String {
                    min_length,
                    max_length,
                },
                AttributeValue::String(s),
            ) => {
                let length = s.chars().count() as i64;
                if length < *min_length {
                    return Err(ValueError(format!(
                        "length of value must be at least {min_length}"
                    )));
                }
                if length > *max_length {
                    return Err(ValueError(format!(
                        "length of value must be at most {max_length}"
                    )));
                }
                Ok(())
            }
            (AttributeKind::Number { min, max }, AttributeValue::Number(n)) => {
                if let Some(min) = min
                    && *n < min.as_f64()
                {
                    return Err(ValueError(format!("value must be at least {min}")));
                }
                if let Some(max) = max
                    && *n > max.as_f64()
                {
                    return Err(ValueError(format!("value must be at most {max}")));
                }
                Ok(())
            }
            (AttributeKind::Uuid, AttributeValue::Uuid(_))
            | (AttributeKind::Bool, AttributeValue::Bool(_))
            | (AttributeKind::Datetime, AttributeValue::Datetime(_)) => Ok(()),
            (kind, _) => Err(ValueError(format!("expected {}", kind.type_name()))),
        }
    }
}

/// Why a value does not fit an attribute (voluptuous's wording).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError(pub String);

impl ValueError {
    fn new(reason: &str) -> ValueError {
        ValueError(reason.to_owned())
    }

    pub fn reason(&self) -> &str {
        &self.0
    }
}

/// gnocchiclient's `str_to_bool`: `y yes t true on 1` / `n no f false off 0`,
/// any case.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "y" | "yes" | "t" | "true" | "on" | "1" => Some(true),
        "n" | "no" | "f" | "false" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// A timestamp as Gnocchi stores resource dates: `to_datetime` divides the
/// nanoseconds by 1e9 as a float and `utcfromtimestamp` rounds the fraction
/// to the microsecond, half to even.
pub fn truncate_to_micros(timestamp: Timestamp) -> Timestamp {
    let seconds = timestamp.nanos() as f64 / 1e9;
    let whole = seconds.trunc();
    let micros = ((seconds - whole) * 1e6).round_ties_even();
    let micros_total = (whole as i64)
        .saturating_mul(1_000_000)
        .saturating_add(micros as i64);
    Timestamp::from_nanos(micros_total.saturating_mul(1000))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn string(min_length: i64, max_length: i64) -> AttributeKind {
        AttributeKind::String {
            min_length,
            max_length,
        }
    }

    #[test]
    fn names_follow_gnocchi_rules() {
        assert!(Attribute::new("display_name", true, string(0, 256)).is_ok());
        assert!(Attribute::new("new-optional-bool", true, AttributeKind::Bool).is_ok());
        for bad in ["id", "started_at", "_x", "", &"a".repeat(64)] {
            let err = Attribute::new(bad, true, AttributeKind::Bool).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("Invalid input: Resource attribute name {bad} is invalid")
            );
        }
        let err = Attribute::new("x", true, string(5, 2)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input: Resource attribute value min (or min_length) 5 must be less  than or equal to max (or max_length) 2!"
        );
    }

    #[test]
    fn values_are_checked_against_bounds() {
        let name = Attribute::new("name", true, string(2, 4)).unwrap();
        assert_eq!(
            name.parse_value("abcde", Timestamp::EPOCH)
                .unwrap_err()
                .reason(),
            "length of value must be at most 4"
        );
        assert!(name.parse_value("héé", Timestamp::EPOCH).is_ok());
        let size = Attribute::new(
            "size",
            true,
            AttributeKind::Number {
                min: Some(Real::Int(0)),
                max: Some(Real::Float(10.5)),
            },
        )
        .unwrap();
        assert_eq!(
            size.parse_value("3", Timestamp::EPOCH).unwrap(),
            AttributeValue::Number(3.0)
        );
        assert_eq!(
            size.parse_value("11", Timestamp::EPOCH)
                .unwrap_err()
                .reason(),
            "value must be at most 10.5"
        );
        assert_eq!(
            size.parse_value("x", Timestamp::EPOCH)
                .unwrap_err()
                .reason(),
            "expected Real"
        );
        let flag = Attribute::new("flag", false, AttributeKind::Bool).unwrap();
        assert_eq!(
            flag.parse_value("Yes", Timestamp::EPOCH).unwrap(),
            AttributeValue::Bool(true)
        );
        assert_eq!(
            flag.to_json().to_python_string(),
            r#"{"type": "bool", "required": false}"#
        );
    }

    #[test]
    fn required_updates_need_a_fill() {
        let attr = Attribute::new("flavor", true, string(0, 256)).unwrap();
        assert_eq!(
            attr.clone()
                .with_fill(None, Timestamp::EPOCH)
                .unwrap_err()
                .to_string(),
            "Invalid input: Option 'fill' of resource attribute flavor is invalid: must not be empty if required=True"
        );
        let filled = attr.with_fill(Some("m1.small"), Timestamp::EPOCH).unwrap();
        assert_eq!(
            filled.fill,
            Some(AttributeValue::String("m1.small".to_owned()))
        );
    }

    #[test]
    fn datetimes_keep_microseconds_like_python() {
        let t = time::parse_timestamp("2014-01-03T02:02:02.1234567", Timestamp::EPOCH).unwrap();
        assert_eq!(
            truncate_to_micros(t).to_isoformat(),
            "2014-01-03T02:02:02.123457+00:00"
        );
    }
}
