//! Errors and counts in the command line's words. The lower layers speak
//! Gnocchi's API (a resource by its UUID, a metric by its id, Gnocchi's
//! messages), which the server must send byte for byte; here the command
//! line says those errors again with what the user typed and, where they
//! are few, the valid choices. A reworded error keeps its kind, so its exit
//! code does not change. The server never uses this module.

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::error::{Error, ErrorKind, Result};
use crate::filter::{Filter, FilterError};
use crate::policy::ArchivePolicy;
use crate::query;
use crate::query::aggregates;
use crate::resource::Resource;
use crate::store::{self, Index, Metric};
use crate::time::Span;

/// How many names a message lists before it only counts them.
const FEW: usize = 6;

/// `1 file`, `2 files`.
pub fn count(n: impl Into<u64>, one: &str, many: &str) -> String {
    match n.into() {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    }
}

/// `6 metrics created (low: 6)`, `3 metrics created (low: 1, medium: 2)`:
/// how many, and the archive policy each got.
pub fn metrics_created(created: usize, policies: &BTreeMap<String, usize>) -> String {
    let noun = count(created as u64, "metric", "metrics");
    if policies.is_empty() {
        return format!("{noun} created");
    }
    let each: Vec<String> = policies
        .iter()
        .map(|(policy, n)| format!("{policy}: {n}"))
        .collect();
    format!("{noun} created ({})", each.join(", "))
}

/// `a`, `a and b`, `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Names, or only their number when they are many.
fn few_or_count(names: &[String], one: &str, many: &str) -> String {
    if names.len() <= FEW {
        let noun = if names.len() == 1 { one } else { many };
        format!("{noun} {}", and_list(names))
    } else {
        count(names.len() as u64, one, many)
    }
}

fn reworded(kind: ErrorKind, message: String) -> Error {
    Error::Reworded { kind, message }
}

/// The store error an error comes from, through the layers that wrap one.
fn store_cause(error: &Error) -> Option<&store::Error> {
    match error {
        Error::Store(e)
        | Error::Query(query::Error::Store(e))
        | Error::Aggregates(aggregates::Error::Query(query::Error::Store(e))) => Some(e),
        _ => None,
    }
}

/// `resource web3 does not exist (0fee9582-…)`: the UUID follows when it is
/// not what was typed.
fn resource_not_found(kind: ErrorKind, typed: &str, id: &str) -> Error {
    let message = if id.eq_ignore_ascii_case(typed) {
        format!("resource {typed} does not exist")
    } else {
        format!("resource {typed} does not exist ({id})")
    };
    reworded(kind, message)
}

/// Says a resource that does not exist as `typed` names it.
pub fn resource(typed: &str) -> impl FnOnce(Error) -> Error + '_ {
    move |error| match store_cause(&error) {
        Some(store::Error::ResourceNotFound(id)) => resource_not_found(error.kind(), typed, id),
        _ => error,
    }
}

/// A metric as the user typed it: `metric cpu`, or `metric cpu of
/// resource web1` with `-r`.
pub fn metric_label(typed: &str, resource: Option<&str>) -> String {
    match resource {
        None => format!("metric {typed}"),
        Some(resource) => format!("metric {typed} of resource {resource}"),
    }
}

/// A metric by id or name, or by name on a resource (`-r`), with the
/// lookup's errors in the user's words: the resource as typed, the metrics
/// a resource has, the resources whose metrics share a name.
pub fn find_metric(
    index: &Index,
    reference: &str,
    resource: Option<&str>,
    creator: &str,
) -> Result<Metric> {
    match resource {
        None => index
            .find_metric(reference)
            .map_err(|e| shared_name(index, Error::from(e))),
        Some(typed) => {
            let id = crate::resource::resource_uuid(typed, creator)?;
            crate::ops::metric::on_resource(index, id, reference).map_err(
                |error| match store_cause(&error) {
                    Some(store::Error::ResourceNotFound(_)) => {
                        resource_not_found(error.kind(), typed, &id.to_string())
                    }
                    Some(store::Error::MetricNotFound(_)) => {
                        let names: Vec<String> = match index.resource_metrics(id) {
                            Ok(metrics) => metrics.into_iter().map(|(name, _)| name).collect(),
                            Err(e) => return e.into(),
                        };
                        let has = if names.is_empty() {
                            "it has none".to_owned()
                        } else {
                            format!("it has {}", few_or_count(&names, "metric", "metrics"))
                        };
                        reworded(
                            error.kind(),
                            format!("Metric {reference} does not exist on resource {typed}; {has}"),
                        )
                    }
                    _ => error,
                },
            )
        }
    }
}

/// `2 metrics are named cpu`: which resources they are on, and `-r`.
fn shared_name(index: &Index, error: Error) -> Error {
    let Some(store::Error::AmbiguousMetricName { name, count: n }) = store_cause(&error) else {
        return error;
    };
    let metrics = match index.metrics_named(name) {
        Ok(metrics) => metrics,
        Err(e) => return e.into(),
    };
    let mut resources = Vec::new();
    let mut without = 0;
    for metric in &metrics {
        match metric.resource_id {
            Some(id) => match index.get_resource(crate::resource::GENERIC, id) {
                Ok(Some(Resource {
                    original_resource_id,
                    ..
                })) => resources.push(original_resource_id),
                Ok(None) => resources.push(id.to_string()),
                Err(e) => return e.into(),
            },
            None => without += 1,
        }
    }
    resources.sort();
    let mut whose = Vec::new();
    if !resources.is_empty() {
        whose.push(format!(
            "on {}",
            few_or_count(&resources, "resource", "resources")
        ));
    }
    match without {
        0 => {}
        1 => whose.push("one without a resource".to_owned()),
        n => whose.push(format!("{n} without a resource")),
    }
    let advice = match resources.first() {
        Some(example) => format!("name the resource with `-r {example}`, or use the metric id"),
        None => "use the metric id".to_owned(),
    };
    reworded(
        error.kind(),
        format!(
            "{} are named {name} ({}): {advice}",
            count(*n as u64, "metric", "metrics"),
            whose.join("; ")
        ),
    )
}

/// Reads a metric's aggregates, saying a missing method or granularity
/// with the metric as typed and what its archive policy has.
pub fn aggregation<'a>(
    policy: &'a ArchivePolicy,
    label: &'a str,
) -> impl FnOnce(Error) -> Error + 'a {
    move |error| {
        let missing = match &error {
            Error::Query(query::Error::UnknownAggregation { method, .. }) => {
                format!("has no aggregation method {method}")
            }
            Error::Query(query::Error::UnknownGranularity {
                method,
                granularity,
                ..
            }) => format!(
                "has no granularity {} for {method}",
                granularity.trim_end_matches(".0")
            ),
            _ => return error,
        };
        let granularities: Vec<String> = policy
            .definition
            .iter()
            .map(|d| seconds(d.granularity))
            .collect();
        let methods: Vec<String> = policy
            .aggregation_methods
            .iter()
            .map(ToString::to_string)
            .collect();
        reworded(
            error.kind(),
            format!(
                "{label} {missing}; its archive policy {} has {} and {}",
                policy.name,
                few_or_all(&granularities, "granularity", "granularities"),
                few_or_all(&methods, "method", "methods"),
            ),
        )
    }
}

/// `granularity 300`, `methods max, mean`: every one, however many.
fn few_or_all(names: &[String], one: &str, many: &str) -> String {
    let noun = if names.len() == 1 { one } else { many };
    format!("{noun} {}", names.join(", "))
}

/// A granularity as `--granularity` takes it: `300`, `0.5`.
fn seconds(span: Span) -> String {
    span.to_string().trim_end_matches(".0").to_owned()
}

/// `aggregates` metric references that name no metric: which names.
pub fn references(index: &Index) -> impl FnOnce(Error) -> Error + '_ {
    move |error| {
        let Error::Aggregates(aggregates::Error::InvalidReferences { references, .. }) = &error
        else {
            return shared_name(index, error);
        };
        let mut unknown = Vec::new();
        for pair in references {
            if Uuid::parse_str(&pair.reference).is_ok() || unknown.contains(&pair.reference) {
                continue;
            }
            if let Err(store::Error::MetricNotFound(_)) = index.find_metric(&pair.reference) {
                unknown.push(pair.reference.clone());
            }
        }
        match unknown.as_slice() {
            [] => error,
            [name] => reworded(error.kind(), format!("metric {name} does not exist")),
            names => reworded(
                error.kind(),
                format!("metrics {} do not exist", and_list(names)),
            ),
        }
    }
}

/// A search filter (`--filter`, `resource search`), its syntax errors with
/// the offending token and how to quote it.
pub fn filter(text: &str, creator: &str) -> Result<Option<Filter>> {
    Filter::parse_query(text, creator).map_err(|error| match &error {
        FilterError::Syntax(message) => match syntax_position(message) {
            Some(at) => reworded(
                Error::Filter(error.clone()).kind(),
                quoting_hint(&error, text, at),
            ),
            None => error.into(),
        },
        _ => error.into(),
    })
}

/// The character a syntax error is at: `… (at char 9)`.
fn syntax_position(message: &str) -> Option<usize> {
    let tail = message.strip_suffix(')')?;
    let (_, at) = tail.rsplit_once("(at char ")?;
    at.parse().ok()
}

/// The message with the token around character `at`, and how to quote it.
fn quoting_hint(error: &FilterError, text: &str, at: usize) -> String {
    let chars: Vec<char> = text.chars().collect();
    let separator = |c: &char| c.is_whitespace() || "[](),='\"".contains(*c);
    let at = at.min(chars.len());
    let start = chars[..at].iter().rposition(separator).map_or(0, |i| i + 1);
    let end = chars[at..]
        .iter()
        .position(separator)
        .map_or(chars.len(), |i| at + i);
    let token: String = chars[start..end].iter().collect();
    let example = "id in ['vm-01', 'vm-02']";
    if token.is_empty() {
        format!("{error}\nquote values that are not plain names or numbers: {example}")
    } else {
        format!(
            "{error}, in `{token}`\nquote values that are not plain names or numbers: '{token}', as in {example}"
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_say_one_and_many() {
        assert_eq!(count(1u64, "file", "files"), "1 file");
        assert_eq!(count(0u64, "file", "files"), "0 files");
        assert_eq!(count(2u64, "file", "files"), "2 files");
    }

    #[test]
    fn lists_join_with_and() {
        let names = |n: &[&str]| n.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(and_list(&names(&["a"])), "a");
        assert_eq!(and_list(&names(&["a", "b", "c"])), "a, b and c");
    }

    #[test]
    fn the_offending_token_is_the_word_at_the_error() {
        assert_eq!(
            syntax_position("Expected ], found '-01, vm-02]' (at char 9)"),
            Some(9)
        );
        let error = FilterError::Syntax("Expected ], found '-01, vm-02]' (at char 9)".into());
        let hint = quoting_hint(&error, "id in [vm-01, vm-02]", 9);
        assert!(hint.contains("in `vm-01`\nquote values"), "{hint}");
    }
}
