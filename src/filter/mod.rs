//! Gnocchi's resource search filters (docs/gnocchi-semantics.md#resource-search): the
//! filter as a tree, read from Gnocchi's filter string or its JSON form,
//! checked like Gnocchi's `ResourceSearchSchema` (resource ids mapped to
//! UUIDs for the caller), and written back in either form. Pure: the index
//! turns a `Filter` into SQL (store/index/listing.rs).

pub mod string;

use std::fmt::Write;

use crate::pyform;
use crate::pyform::json::Json;
use crate::resource::{self, ResourceError};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FilterError {
    /// The filter string does not parse (Gnocchi: `Invalid filter: …`).
    #[error("Invalid filter: {0}")]
    Syntax(String),
    /// The document does not pass Gnocchi's schema.
    #[error("Invalid input: {reason} @ data{path}")]
    Invalid { reason: String, path: String },
    /// Gnocchi's `QueryError` for an empty nested filter.
    #[error("Unable to parse this query")]
    Empty,
    #[error("Invalid filter: JSON: {0}")]
    Json(String),
    /// Nested deeper than [`MAX_DEPTH`]; `at` is the character where the
    /// string form went too deep, `None` for the JSON form.
    #[error(
        "Invalid filter: nested deeper than {MAX_DEPTH} levels{}",
        at.map(|at| format!(" (at char {at})")).unwrap_or_default()
    )]
    TooDeep { at: Option<usize> },
}

/// How deep a filter may nest (`not`, parentheses, `and`/`or` groups,
/// lists). Gnocchi has no limit of its own but Python's recursion limit;
/// here every level costs stack in the parser, the schema walk and the
/// SQL built from it, so one request must not be able to exhaust it.
pub const MAX_DEPTH: usize = 64;

/// A document as Gnocchi's parser builds it (Python values: dict keys may
/// be any value, numbers from the filter string are floats).
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Raw>),
    Dict(Vec<(Raw, Raw)>),
}

impl Raw {
    /// The document as Python's `json.dumps` writes it (keys through
    /// `str()`-like conversion: `1.0` → `"1.0"`, `True` → `"true"`).
    pub fn to_json(&self) -> Json {
        match self {
            Raw::None => Json::Null,
            Raw::Bool(b) => Json::Bool(*b),
            Raw::Int(i) => Json::Int(*i),
            Raw::Float(f) => Json::Float(*f),
            Raw::Str(s) => Json::str(s),
            Raw::List(items) => Json::Array(items.iter().map(Raw::to_json).collect()),
            Raw::Dict(fields) => Json::Object(
                fields
                    .iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Raw::Str(s) => s.clone(),
                            Raw::None => "null".to_owned(),
                            Raw::Bool(b) => b.to_string(),
                            Raw::Int(i) => i.to_string(),
                            Raw::Float(f) => pyform::fmt::float_repr(*f),
                            other => other.to_json().to_python_string(),
                        };
                        (key, v.to_json())
                    })
                    .collect(),
            ),
        }
    }

    /// A JSON document as Python would have loaded it.
    pub fn from_serde(value: &serde_json::Value) -> Raw {
        match value {
            serde_json::Value::Null => Raw::None,
            serde_json::Value::Bool(b) => Raw::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Raw::Int(i),
                None => Raw::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Raw::Str(s.clone()),
            serde_json::Value::Array(items) => {
                Raw::List(items.iter().map(Raw::from_serde).collect())
            }
            serde_json::Value::Object(fields) => Raw::Dict(
                fields
                    .iter()
                    .map(|(k, v)| (Raw::Str(k.clone()), Raw::from_serde(v)))
                    .collect(),
            ),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CompareOp {
    fn from_word(word: &str) -> Option<CompareOp> {
        Some(match word {
            "=" | "==" | "eq" => CompareOp::Eq,
            "!=" | "≠" | "ne" => CompareOp::Ne,
            "<" | "lt" => CompareOp::Lt,
            "<=" | "≤" | "le" => CompareOp::Le,
            ">" | "gt" => CompareOp::Gt,
            ">=" | "≥" | "ge" => CompareOp::Ge,
            _ => return None,
        })
    }

    /// The operator in both the JSON and the string syntax.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }
}

/// A value compared with; converted to the column's type when the filter
/// runs, like Gnocchi's `QueryTransformer`.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl Value {
    /// Python's `str(value)`: how Gnocchi compares a value with a string
    /// column (`2` → `"2"`, `2.0` → `"2.0"`, `True` → `"True"`).
    pub fn python_str(&self) -> String {
        match self {
            Value::Null => "None".to_owned(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => pyform::fmt::float_repr(*f),
            Value::Str(s) => s.clone(),
        }
    }

    fn to_raw(&self) -> Raw {
        match self {
            Value::Null => Raw::None,
            Value::Bool(b) => Raw::Bool(*b),
            Value::Int(i) => Raw::Int(*i),
            Value::Float(f) => Raw::Float(*f),
            Value::Str(s) => Raw::Str(s.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Not(Box<Filter>),
    Compare {
        op: CompareOp,
        attribute: String,
        value: Value,
    },
    /// SQL LIKE: `%` any run, `_` one character, `\` escapes.
    Like {
        attribute: String,
        pattern: Value,
    },
    In {
        attribute: String,
        values: Vec<Value>,
    },
}

/// voluptuous's path notation: `['and'][0]['=']`.
fn path_with(path: &str, key: &str) -> String {
    format!("{path}['{key}']")
}

fn invalid(reason: impl Into<String>, path: &str) -> FilterError {
    FilterError::Invalid {
        reason: reason.into(),
        path: path.to_owned(),
    }
}

impl Filter {
    /// Reads a query as gnocchiclient takes it: JSON when it starts with
    /// `{`, else Gnocchi's filter string. `None` is the empty filter `{}`.
    pub fn parse_query(text: &str, creator: &str) -> Result<Option<Filter>, FilterError> {
        let raw = if text.trim_start().starts_with('{') {
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(|e| FilterError::Json(e.to_string()))?;
            Raw::from_serde(&value)
        } else {
            string::parse(text)?
        };
        Filter::from_raw(&raw, creator)
    }

    /// Checks a document like Gnocchi's `ResourceSearchSchema`; ids given
    /// to `=`…`!=` and `in` are mapped to UUIDs for `creator`.
    pub fn from_raw(raw: &Raw, creator: &str) -> Result<Option<Filter>, FilterError> {
        match raw {
            Raw::Dict(fields) if fields.is_empty() => Ok(None),
            _ => Filter::node(raw, creator, "", 0).map(Some),
        }
    }

    /// `depth` counts the `not`, `and` and `or` nodes above this one.
    fn node(raw: &Raw, creator: &str, path: &str, depth: usize) -> Result<Filter, FilterError> {
        if depth > MAX_DEPTH {
            return Err(FilterError::TooDeep { at: None });
        }
        let Raw::Dict(fields) = raw else {
            return Err(invalid("expected a dictionary", path));
        };
        let (key, argument) = match fields.as_slice() {
            [] => return Err(FilterError::Empty),
            [(key, argument)] => (key, argument),
            _ => return Err(invalid("length of value must be at most 1", path)),
        };
        let Raw::Str(word) = key else {
            return Err(invalid(
                "extra keys not allowed",
                &path_with(path, &key.to_json().to_python_string()),
            ));
        };
        let path = path_with(path, word);
        match word.as_str() {
            "and" | "∧" | "or" | "∨" => {
                let Raw::List(items) = argument else {
                    return Err(invalid("expected a list", &path));
                };
                if items.is_empty() {
                    return Err(invalid("length of value must be at least 1", &path));
                }
                let operands = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        Filter::node(item, creator, &format!("{path}[{i}]"), depth + 1)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(if matches!(word.as_str(), "and" | "∧") {
                    Filter::And(operands)
                } else {
                    Filter::Or(operands)
                })
            }
            "not" => Ok(Filter::Not(Box::new(Filter::node(
                argument,
                creator,
                &path,
                depth + 1,
            )?))),
            "like" | "in" => {
                let (attribute, value, path) = single_field(argument, &path)?;
                if word == "like" {
                    if attribute == "id" {
                        return Err(invalid("value must not be one of ['id']", &path));
                    }
                    return Ok(Filter::Like {
                        attribute,
                        pattern: scalar(value, &path)?,
                    });
                }
                let Raw::List(items) = value else {
                    return Err(invalid("expected a list", &path));
                };
                if items.is_empty() {
                    return Err(invalid("length of value must be at least 1", &path));
                }
                let values = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        let path = format!("{path}[{i}]");
                        if attribute == "id" {
                            resource_id(item, creator, &path)
                        } else {
                            scalar(item, &path)
                        }
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Filter::In { attribute, values })
            }
            other => {
                let op = CompareOp::from_word(other)
                    .ok_or_else(|| invalid("extra keys not allowed", &path))?;
                let (attribute, value, path) = single_field(argument, &path)?;
                let value = if attribute == "id" {
                    resource_id(value, creator, &path)?
                } else {
                    scalar(value, &path)?
                };
                Ok(Filter::Compare {
                    op,
                    attribute,
                    value,
                })
            }
        }
    }

    /// The JSON form, with the canonical operator names.
    pub fn to_raw(&self) -> Raw {
        let op = |word: &str, argument: Raw| Raw::Dict(vec![(Raw::Str(word.to_owned()), argument)]);
        let field =
            |attribute: &str, value: Raw| Raw::Dict(vec![(Raw::Str(attribute.to_owned()), value)]);
        match self {
            Filter::And(items) => op("and", Raw::List(items.iter().map(Filter::to_raw).collect())),
            Filter::Or(items) => op("or", Raw::List(items.iter().map(Filter::to_raw).collect())),
            Filter::Not(inner) => op("not", inner.to_raw()),
            Filter::Compare {
                op: compare,
                attribute,
                value,
            } => op(compare.symbol(), field(attribute, value.to_raw())),
            Filter::Like { attribute, pattern } => op("like", field(attribute, pattern.to_raw())),
            Filter::In { attribute, values } => op(
                "in",
                field(
                    attribute,
                    Raw::List(values.iter().map(Value::to_raw).collect()),
                ),
            ),
        }
    }

    /// The filter in Gnocchi's string syntax, written so that Gnocchi's
    /// parser gives this very filter back (operands reversed, since the
    /// parser reverses them). `None` when the syntax cannot say it: integer
    /// values, chains of one or starting with a chain of the same kind,
    /// strings holding both quotes, a line break, a backslash, or an
    /// operator word.
    pub fn to_filter_string(&self) -> Option<String> {
        let mut out = String::new();
        self.write_string(&mut out)?;
        Some(out)
    }

    fn write_string(&self, out: &mut String) -> Option<()> {
        let chain = |out: &mut String, word: &str, items: &[Filter]| -> Option<()> {
            // Gnocchi's parser folds a first operand of the same kind into
            // the chain (`{"or": [{"or": [a, b]}, c]}` reads back flat).
            let folds = matches!(
                (self, items.first()),
                (Filter::And(_), Some(Filter::And(_))) | (Filter::Or(_), Some(Filter::Or(_)))
            );
            if items.len() < 2 || folds {
                return None;
            }
            for (i, item) in items.iter().rev().enumerate() {
                if i > 0 {
                    let _ = write!(out, " {word} ");
                }
                item.write_operand(out)?;
            }
            Some(())
        };
        match self {
            Filter::And(items) => chain(out, "and", items),
            Filter::Or(items) => chain(out, "or", items),
            Filter::Not(inner) => {
                out.push_str("not ");
                inner.write_operand(out)
            }
            Filter::Compare {
                op,
                attribute,
                value,
            } => write_condition(out, attribute, op.symbol(), |out| write_value(out, value)),
            Filter::Like { attribute, pattern } => {
                write_condition(out, attribute, "like", |out| write_value(out, pattern))
            }
            Filter::In { attribute, values } => write_condition(out, attribute, "in", |out| {
                out.push('[');
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    write_value(out, value)?;
                }
                out.push(']');
                Some(())
            }),
        }
    }

    fn write_operand(&self, out: &mut String) -> Option<()> {
        if matches!(self, Filter::And(_) | Filter::Or(_)) {
            out.push('(');
            self.write_string(out)?;
            out.push(')');
            Some(())
        } else {
            self.write_string(out)
        }
    }

    /// Every attribute the filter names.
    pub fn attributes(&self) -> Vec<&str> {
        match self {
            Filter::And(items) | Filter::Or(items) => {
                items.iter().flat_map(Filter::attributes).collect()
            }
            Filter::Not(inner) => inner.attributes(),
            Filter::Compare { attribute, .. }
            | Filter::Like { attribute, .. }
            | Filter::In { attribute, .. } => vec![attribute.as_str()],
        }
    }
}

fn single_field<'r>(
    argument: &'r Raw,
    path: &str,
) -> Result<(String, &'r Raw, String), FilterError> {
    let Raw::Dict(fields) = argument else {
        return Err(invalid("expected a dictionary", path));
    };
    match fields.as_slice() {
        [(Raw::Str(attribute), value)] => {
            Ok((attribute.clone(), value, path_with(path, attribute)))
        }
        [(key, _)] => Err(invalid(
            "extra keys not allowed",
            &path_with(path, &key.to_json().to_python_string()),
        )),
        [] => Err(invalid("length of value must be at least 1", path)),
        _ => Err(invalid("length of value must be at most 1", path)),
    }
}

fn scalar(raw: &Raw, path: &str) -> Result<Value, FilterError> {
    Ok(match raw {
        Raw::None => Value::Null,
        Raw::Bool(b) => Value::Bool(*b),
        Raw::Int(i) => Value::Int(*i),
        Raw::Float(f) => Value::Float(*f),
        Raw::Str(s) => Value::Str(s.clone()),
        // voluptuous's `Any(str, float, int, bool, None)` reports the error
        // of its first alternative.
        Raw::List(_) | Raw::Dict(_) => return Err(invalid("expected str", path)),
    })
}

fn resource_id(raw: &Raw, creator: &str, path: &str) -> Result<Value, FilterError> {
    let Raw::Str(id) = raw else {
        return Err(invalid("expected a resource id (a string)", path));
    };
    resource::resource_uuid(id, creator)
        .map(|uuid| Value::Str(uuid.to_string()))
        .map_err(|e: ResourceError| invalid(e.to_string(), path))
}

const OPERATOR_WORDS: [&str; 23] = [
    ">=", "<=", "!=", ">", "<", "=", "==", "eq", "ne", "lt", "gt", "ge", "le", "in", "like", "≠",
    "≥", "≤", "and", "or", "∧", "∨", "not",
];

/// A name as an identifier when the parser reads it back as one, else quoted.
fn write_condition(
    out: &mut String,
    attribute: &str,
    op: &str,
    value: impl FnOnce(&mut String) -> Option<()>,
) -> Option<()> {
    let bare = attribute.starts_with(|c: char| c.is_ascii_alphabetic())
        && attribute
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && ![
            "None", "none", "null", "False", "True", "false", "true", "not",
        ]
        .iter()
        .any(|p| attribute.starts_with(p))
        && !attribute.bytes().take(8).all(|b| b.is_ascii_hexdigit());
    if bare {
        out.push_str(attribute);
    } else {
        write_quoted(out, attribute)?;
    }
    let _ = write!(out, " {op} ");
    value(out)
}

fn write_quoted(out: &mut String, text: &str) -> Option<()> {
    if text.contains(['\n', '\r', '\\']) {
        return None;
    }
    let quote = if !text.contains('"') {
        '"'
    } else if !text.contains('\'') {
        '\''
    } else {
        return None;
    };
    out.push(quote);
    out.push_str(text);
    out.push(quote);
    Some(())
}

fn write_value(out: &mut String, value: &Value) -> Option<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(_) => return None,
        Value::Float(f) if f.is_finite() => out.push_str(&pyform::fmt::float_repr(*f)),
        Value::Float(_) => return None,
        Value::Str(s) if OPERATOR_WORDS.contains(&s.as_str()) => return None,
        Value::Str(s) => write_quoted(out, s)?,
    }
    Some(())
}

#[cfg(test)]
mod tests;
