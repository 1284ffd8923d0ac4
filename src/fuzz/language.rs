//! The query languages: the operations of `aggregates` and the resource
//! search filter, each in its string and its JSON form. What parses must
//! print to text that parses back to the same thing, in each form that can
//! say it: the string form cannot say references with white space,
//! parentheses or quotes (nor pyparsing's empty atoms), and JSON cannot
//! say the `NaN` and `Infinity` Python's `json.dumps` writes.

use super::text;
use crate::filter::Filter;
use crate::pyform::json::Json;
use crate::query::aggregates::parse::is_python_space;
use crate::query::aggregates::{Operation, parse_operations};

/// Operations in either form, told apart by their first character as
/// requests do: `(aggregate mean (metric cpu mean))` or
/// `["aggregate", "mean", …]`. Compared by their string forms: a constant
/// may be NaN.
pub fn operations(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(operation) = parse_operations(text) else {
        return;
    };
    let string = operation.to_string();
    let json = operation.to_json();
    let sayable_as_string = operation.references().iter().all(|r| {
        [&r.reference, &r.aggregation]
            .iter()
            .all(|atom| is_atom(atom))
    });
    let printed = [
        sayable_as_string.then(|| string.clone()),
        is_finite(&json).then(|| json.to_python_string()),
    ];
    for printed in printed.iter().flatten() {
        let back: Operation = parse_operations(printed)
            .unwrap_or_else(|e| panic!("{printed:?}, printed from {text:?}, does not parse: {e}"));
        assert_eq!(
            back.to_string(),
            string,
            "{printed:?} read back differently"
        );
    }
}

/// Whether the string form reads `text` back as one atom.
fn is_atom(text: &str) -> bool {
    !text.is_empty()
        && !text
            .chars()
            .any(|c| is_python_space(c) || "()\"'".contains(c))
}

/// Whether every number of `json` is finite, as JSON requires.
fn is_finite(json: &Json) -> bool {
    match json {
        Json::Float(x) => x.is_finite(),
        Json::Array(items) => items.iter().all(is_finite),
        Json::Object(fields) => fields.iter().all(|(_, value)| is_finite(value)),
        Json::Null | Json::Bool(_) | Json::Int(_) | Json::Str(_) => true,
    }
}

/// A search filter in either form, told apart as requests do: Gnocchi's
/// string form (`host = 'a' and cpu > 2`) or JSON (`{"=": {"host": "a"}}`).
/// Compared by their printed JSON forms: a value may be NaN.
pub fn filter(data: &[u8]) {
    let Some(text) = text(data) else { return };
    let Ok(Some(filter)) = Filter::parse_query(text, "admin") else {
        return;
    };
    let json = filter.to_raw().to_json();
    let expected = json.to_python_string();
    let printed = [
        is_finite(&json).then(|| expected.clone()),
        filter.to_filter_string(),
    ];
    for printed in printed.iter().flatten() {
        let back = Filter::parse_query(printed, "admin")
            .unwrap_or_else(|e| panic!("{printed:?}, printed from {text:?}, does not parse: {e}"))
            .expect("a printed filter is not empty");
        assert_eq!(
            back.to_raw().to_json().to_python_string(),
            expected,
            "{printed:?} read back differently"
        );
    }
}
