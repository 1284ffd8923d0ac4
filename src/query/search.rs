//! Searches: resources matching a filter (one call for every caller,
//! `search_resources`) and Gnocchi's measure value search (`POST
//! /v1/search/metric`, docs/gnocchi-semantics.md#measure-value-search): the aggregates of some
//! metrics whose value satisfies a predicate such as
//! `{"and": [{">=": [{"+": 23}, 50]}, {"!=": 55}]}`.

use serde_json::Value as JsonValue;

use super::{Error, Measure, MeasuresQuery, get_measures};
use crate::filter::Filter;
use crate::policy::{AggregationMethod, ArchivePolicy};
use crate::resource::Resource;
use crate::store::{Index, Metric, Page, ResourceQuery, Store};
use crate::time::{Span, Timestamp};

/// The resources of `type_name` matching `filter` (all when `None`), in
/// Gnocchi's default order (`revision_start`, `started_at`, `id`) unless
/// `page.sorts` says otherwise, each with its attributes and metrics.
pub fn search_resources(
    index: &Index,
    type_name: &str,
    filter: Option<&Filter>,
    page: &Page,
    now: Timestamp,
) -> Result<Vec<Resource>, Error> {
    let query = ResourceQuery {
        type_name,
        filter,
        history: false,
        details: false,
        page,
        now,
    };
    Ok(index.search_resources(&query)?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binary {
    Eq,
    Lt,
    Gt,
    Le,
    Ge,
    Ne,
    Mod,
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

impl Binary {
    fn from_word(word: &str) -> Option<Binary> {
        Some(match word {
            "=" | "==" | "eq" => Binary::Eq,
            "<" | "lt" => Binary::Lt,
            ">" | "gt" => Binary::Gt,
            "<=" | "≤" | "le" => Binary::Le,
            ">=" | "≥" | "ge" => Binary::Ge,
            "!=" | "≠" | "ne" => Binary::Ne,
            "%" | "mod" => Binary::Mod,
            "+" | "add" => Binary::Add,
            "-" | "sub" => Binary::Sub,
            "*" | "×" | "mul" => Binary::Mul,
            "/" | "÷" | "div" => Binary::Div,
            "**" | "^" | "pow" => Binary::Pow,
            _ => return None,
        })
    }

    /// numpy float64 arithmetic: no exception, `inf`/`nan` instead;
    /// comparisons give 1.0 or 0.0.
    fn apply(self, a: f64, b: f64) -> f64 {
        let truth = |t: bool| if t { 1.0 } else { 0.0 };
        match self {
            Binary::Eq => truth(a == b),
            Binary::Lt => truth(a < b),
            Binary::Gt => truth(a > b),
            Binary::Le => truth(a <= b),
            Binary::Ge => truth(a >= b),
            Binary::Ne => truth(a != b),
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            Binary::Pow => a.powf(b),
            Binary::Mod => {
                // Python's sign rule: the result takes the divisor's sign.
                let r = a % b;
                if r != 0.0 && (r < 0.0) != (b < 0.0) {
                    r + b
                } else {
                    r
                }
            }
        }
    }
}

/// A measure predicate, checked like Gnocchi's `MetricSearchSchema` and
/// evaluated like its `MeasureQuery`.
#[derive(Debug, Clone, PartialEq)]
pub enum MeasurePredicate {
    /// `{op: n}`: op(value, n); `{op: [a, b]}`: op(a(value), b(value)).
    Binary(Binary, Operand, Operand),
    All(Vec<MeasurePredicate>),
    Any(Vec<MeasurePredicate>),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Value,
    Constant(f64),
    Nested(Box<MeasurePredicate>),
}

impl Operand {
    fn eval(&self, value: f64) -> f64 {
        match self {
            Operand::Value => value,
            Operand::Constant(c) => *c,
            Operand::Nested(p) => p.eval(value),
        }
    }
}

fn invalid(reason: &str) -> Error {
    Error::InvalidSearch(reason.to_owned())
}

fn number(value: &JsonValue) -> Option<f64> {
    match value {
        JsonValue::Number(n) => n.as_f64(),
        // voluptuous's `int` takes Python's booleans.
        JsonValue::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

impl MeasurePredicate {
    /// Reads a query body; an empty one is refused like Gnocchi does.
    pub fn parse(text: &str) -> Result<MeasurePredicate, Error> {
        if text.trim().is_empty() {
            return Err(invalid("No query specified in body"));
        }
        let value: JsonValue = serde_json::from_str(text)
            .map_err(|e| invalid(&format!("Unable to decode body: {e}")))?;
        MeasurePredicate::from_json(&value, true)
    }

    fn from_json(value: &JsonValue, logical_allowed: bool) -> Result<MeasurePredicate, Error> {
        let JsonValue::Object(fields) = value else {
            return Err(invalid("expected a dictionary"));
        };
        let [(word, argument)] = fields.iter().collect::<Vec<_>>()[..] else {
            return Err(invalid("length of value must be exactly 1"));
        };
        if let Some(op) = Binary::from_word(word) {
            let operand = |item: &JsonValue| -> Result<Operand, Error> {
                match number(item) {
                    Some(n) => Ok(Operand::Constant(n)),
                    None => Ok(Operand::Nested(Box::new(MeasurePredicate::from_json(
                        item, false,
                    )?))),
                }
            };
            return match argument {
                JsonValue::Array(items) if items.len() == 2 => Ok(MeasurePredicate::Binary(
                    op,
                    operand(&items[0])?,
                    operand(&items[1])?,
                )),
                other => match number(other) {
                    Some(n) => Ok(MeasurePredicate::Binary(
                        op,
                        Operand::Value,
                        Operand::Constant(n),
                    )),
                    None => Err(invalid(&format!(
                        "`{word}` takes a number or a list of two"
                    ))),
                },
            };
        }
        if !logical_allowed || !matches!(word.as_str(), "and" | "or" | "∧" | "∨" | "not") {
            return Err(invalid(&format!("extra keys not allowed: `{word}`")));
        }
        let JsonValue::Array(items) = argument else {
            return Err(invalid(&format!("`{word}` takes a list")));
        };
        let operands = items
            .iter()
            .map(|item| MeasurePredicate::from_json(item, true))
            .collect::<Result<Vec<_>, _>>()?;
        match word.as_str() {
            "and" | "∧" => Ok(MeasurePredicate::All(operands)),
            "or" | "∨" => Ok(MeasurePredicate::Any(operands)),
            // Gnocchi's schema takes `not`, its evaluator does not.
            _ => Err(invalid("Unknown operator not")),
        }
    }

    fn eval(&self, value: f64) -> f64 {
        match self {
            MeasurePredicate::Binary(op, a, b) => op.apply(a.eval(value), b.eval(value)),
            MeasurePredicate::All(items) => {
                f64::from(u8::from(items.iter().all(|p| p.matches(value))))
            }
            MeasurePredicate::Any(items) => {
                f64::from(u8::from(items.iter().any(|p| p.matches(value))))
            }
        }
    }

    /// Python truthiness of the result (NaN is true).
    pub fn matches(&self, value: f64) -> bool {
        self.eval(value) != 0.0
    }
}

/// A measure value search over some metrics.
#[derive(Debug, Clone)]
pub struct MeasureSearch {
    pub predicate: MeasurePredicate,
    pub aggregation: AggregationMethod,
    /// Granularities to read; the first metric's when empty, for all of them.
    pub granularities: Vec<Span>,
    pub start: Option<Timestamp>,
    pub stop: Option<Timestamp>,
}

/// The matching aggregates of each metric, coarsest granularity first.
pub fn search_measures(
    store: &Store,
    metrics: &[(Metric, ArchivePolicy)],
    search: &MeasureSearch,
) -> Result<Vec<(Metric, Vec<Measure>)>, Error> {
    let mut granularities = search.granularities.clone();
    granularities.sort_by(|a, b| b.cmp(a));
    if granularities.is_empty()
        && let Some((_, policy)) = metrics.first()
    {
        granularities = policy.granularities_descending();
    }
    let mut results = Vec::with_capacity(metrics.len());
    for (metric, policy) in metrics {
        let mut found = Vec::new();
        for &granularity in &granularities {
            let known = policy.aggregation_methods.contains(&search.aggregation)
                && policy
                    .definition
                    .iter()
                    .any(|d| d.granularity == granularity);
            if !known {
                return Err(Error::AggregationDoesNotExist {
                    metric: metric.id,
                    method: search.aggregation.to_string(),
                    granularity: granularity.to_string(),
                });
            }
            let query = MeasuresQuery {
                aggregation: search.aggregation,
                granularity: Some(granularity),
                start: search.start,
                stop: search.stop,
                resample: None,
            };
            found.extend(
                get_measures(store, metric.id, policy, &query)?
                    .iter()
                    .filter(|m| search.predicate.matches(m.value)),
            );
        }
        results.push((metric.clone(), found));
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn predicate_parser_never_panics(text in "[{}\\[\\]\":,0-9a-z+*/%<>=!-]{0,40}") {
            if let Ok(predicate) = MeasurePredicate::parse(&text) {
                let _ = predicate.matches(1.5);
            }
        }
    }

    fn matching(query: &str, values: &[f64]) -> Vec<f64> {
        let predicate = MeasurePredicate::parse(query).unwrap();
        values
            .iter()
            .copied()
            .filter(|v| predicate.matches(*v))
            .collect()
    }

    #[test]
    fn predicates_evaluate_like_gnocchi() {
        // docs/gnocchi-semantics.md#measure-value-search: (v+23 ≥ 50) ∧ (v ≠ 55)
        let query = r#"{"and": [{">=": [{"+": 23}, 50]}, {"!=": 55}]}"#;
        assert_eq!(matching(query, &[10.0, 27.0, 55.0, 60.0]), [27.0, 60.0]);
        assert_eq!(
            matching(r#"{"or": [{"<": 1}, {"=": 4}]}"#, &[0.0, 2.0, 4.0]),
            [0.0, 4.0]
        );
        // Arithmetic alone: true unless zero.
        assert_eq!(matching(r#"{"+": -2}"#, &[1.0, 2.0, 3.0]), [1.0, 3.0]);
        assert_eq!(matching(r#"{"%": 2}"#, &[-3.0, 4.0]), [-3.0]);
        assert_eq!(matching(r#"{"≥": [{"**": 2}, 9]}"#, &[-3.0, 2.0]), [-3.0]);
    }

    #[test]
    fn bad_queries_are_refused_like_gnocchi() {
        let message = |q: &str| MeasurePredicate::parse(q).unwrap_err().to_string();
        assert_eq!(message(""), "No query specified in body");
        assert_eq!(message(r#"{"not": [{"=": 1}]}"#), "Unknown operator not");
        assert!(message(r#"{"=": 1, "<": 2}"#).contains("exactly 1"));
        assert!(message(r#"{"=": [1, 2, 3]}"#).contains("list of two"));
        assert!(message(r#"{"=": [{"and": []}, 2]}"#).contains("extra keys"));
    }
}
