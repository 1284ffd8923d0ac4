//! Request bodies checked the way Gnocchi's voluptuous schemas check
//! them, with their words: `extra keys not allowed @ data['x']`,
//! `expected str for dictionary value @ data['name']`, the path to the
//! field as `detail`; and Python's `int()` / `float()` coercions. Measure
//! lists are read by `crate::ingest::batch`, like every measure body.

use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};
use crate::pyform;
use crate::time::{self, Span, TimeError, Timestamp};

/// A value at a path of the body.
#[derive(Debug, Clone, Copy)]
pub struct Field<'v> {
    pub value: &'v Value,
    path: &'v [String],
    /// The value of a dictionary key (voluptuous then says "for dictionary
    /// value"), not the top level or a list item.
    in_dict: bool,
}

/// A body's checked fields, with the owned path storage they point into.
pub struct Body {
    value: Value,
}

impl Body {
    pub fn new(value: Value) -> Body {
        Body { value }
    }

    pub fn root(&self) -> Field<'_> {
        Field {
            value: &self.value,
            path: &[],
            in_dict: false,
        }
    }
}

/// A path owned by a caller that walks into nested values.
pub fn child_path(path: &[String], key: &str) -> Vec<String> {
    let mut out = path.to_vec();
    out.push(key.to_owned());
    out
}

impl<'v> Field<'v> {
    pub fn new(value: &'v Value, path: &'v [String], in_dict: bool) -> Field<'v> {
        Field {
            value,
            path,
            in_dict,
        }
    }

    pub fn path(&self) -> &'v [String] {
        self.path
    }

    /// voluptuous's error for this value.
    pub fn error(&self, reason: &str) -> ApiError {
        let reason = if self.in_dict {
            format!("{reason} for dictionary value")
        } else {
            reason.to_owned()
        };
        ApiError::invalid_input(&reason, self.path)
    }

    pub fn object(&self) -> ApiResult<&'v Map<String, Value>> {
        self.value
            .as_object()
            .ok_or_else(|| self.error("expected a dictionary"))
    }

    /// An object whose keys are all among `allowed` and which has every
    /// key of `required`.
    pub fn checked_object(
        &self,
        allowed: &[&str],
        required: &[&str],
    ) -> ApiResult<&'v Map<String, Value>> {
        let map = self.object()?;
        if let Some(extra) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(ApiError::invalid_input(
                "extra keys not allowed",
                &child_path(self.path, extra),
            ));
        }
        // With several keys missing, Gnocchi names one at random (voluptuous
        // keeps them in a Python set); this names the first.
        if let Some(missing) = required.iter().find(|k| !map.contains_key(**k)) {
            return Err(ApiError::invalid_input(
                "required key not provided",
                &child_path(self.path, missing),
            ));
        }
        Ok(map)
    }

    pub fn str(&self) -> ApiResult<&'v str> {
        self.value
            .as_str()
            .ok_or_else(|| self.error("expected str"))
    }

    /// `None` or a string (`voluptuous.Any(None, str)`).
    pub fn opt_str(&self) -> ApiResult<Option<&'v str>> {
        match self.value {
            Value::Null => Ok(None),
            _ => self.str().map(Some),
        }
    }

    pub fn array(&self) -> ApiResult<&'v Vec<Value>> {
        self.value
            .as_array()
            .ok_or_else(|| self.error("expected a list"))
    }

    /// `voluptuous.Coerce(int)`: Python's `int()` of a number, a boolean or
    /// a numeric string.
    pub fn int(&self) -> ApiResult<i64> {
        coerce_int(self.value).ok_or_else(|| self.error("expected int"))
    }

    /// Gnocchi's `Timespan` validator (`utils.to_timespan`).
    pub fn timespan(&self) -> ApiResult<Span> {
        let parsed = match self.value {
            Value::Number(n) => n
                .as_f64()
                .filter(|s| s.is_finite())
                .map(Span::from_secs_f64)
                .ok_or(TimeError::UnableToParseTimespan(n.to_string()))
                .and_then(|span| {
                    if span.nanos() <= 0 {
                        Err(TimeError::TimespanNotPositive(n.to_string()))
                    } else {
                        Ok(span)
                    }
                }),
            Value::String(s) => time::parse_timespan(s),
            _ => Err(TimeError::UnableToParseTimespan(String::new())),
        };
        parsed.map_err(|e| self.error(timespan_reason(&e)))
    }

    /// Gnocchi's `utils.to_datetime`: epoch seconds, ISO 8601 or relative.
    pub fn timestamp(&self, now: Timestamp) -> Result<Timestamp, TimeError> {
        json_timestamp(self.value, now)
    }
}

/// Gnocchi's words for a timespan it cannot take.
pub fn timespan_reason(error: &TimeError) -> &'static str {
    match error {
        TimeError::TimespanNotPositive(_) => "Timespan must be positive",
        _ => "Unable to parse timespan",
    }
}

/// Python's `int()` of a JSON value.
pub fn coerce_int(value: &Value) -> Option<i64> {
    match value {
        Value::Bool(b) => Some(i64::from(*b)),
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && f.abs() < 9.2e18)
                .map(|f| f.trunc() as i64)
        }),
        Value::String(s) => {
            let trimmed = s.trim().replace('_', "");
            let digits = trimmed.strip_prefix(['+', '-']).unwrap_or(&trimmed);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            trimmed.parse().ok()
        }
        _ => None,
    }
}

/// Python's `float()` of a JSON value.
pub fn coerce_float(value: &Value) -> Option<f64> {
    match value {
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        Value::Number(n) => n.as_f64(),
        Value::String(s) => pyform::float::parse_python_float(s),
        _ => None,
    }
}

/// One timestamp of a body (a number is epoch seconds).
pub fn json_timestamp(value: &Value, now: Timestamp) -> Result<Timestamp, TimeError> {
    match value {
        Value::Number(n) => {
            let seconds = n.as_f64().unwrap_or(f64::NAN);
            time::timestamp_from_epoch_seconds(seconds, &n.to_string())
        }
        Value::Bool(b) => time::timestamp_from_epoch_seconds(f64::from(u8::from(*b)), "bool"),
        Value::String(s) => time::parse_timestamp(s, now),
        other => Err(TimeError::UnableToConvertTimestamp(other.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_report_voluptuous_paths() {
        let body = Body::new(json!({"name": 3, "x": 1}));
        let err = body.root().checked_object(&["name"], &[]).unwrap_err();
        assert_eq!(
            err.description.to_python_string(),
            r#"{"cause": "Invalid input", "reason": "extra keys not allowed @ data['x']", "detail": ["x"]}"#
        );
        let path = vec!["name".to_owned()];
        let field = Field::new(&body.root().value["name"], &path, true);
        assert_eq!(
            field.str().unwrap_err().description.to_python_string(),
            r#"{"cause": "Invalid input", "reason": "expected str for dictionary value @ data['name']", "detail": ["name"]}"#
        );
        assert_eq!(coerce_int(&json!("+12")), Some(12));
        assert_eq!(coerce_int(&json!(3.9)), Some(3));
        assert_eq!(coerce_int(&json!("3.9")), None);
    }
}
