//! Turning a parsed tree into an [`Operation`], with the checks and the
//! error messages of Gnocchi's voluptuous schema (`OperationsSchemaBase`
//! in rest/aggregates/api.py): each node is tried against the operators'
//! shapes in Gnocchi's order, and when none fits, the error with the
//! longest path wins (the first of those), which is how voluptuous's `Any`
//! picks the message.

use super::Error;
use super::operation::{
    BINARY_OPERATORS, MetricRef, Named, Operand, Operation, Reducer, UNARY_OPERATORS,
};
use crate::pyform;
use crate::pyform::json::Json;
use crate::time::{self, Span};

/// A voluptuous `Invalid`: a message (`None` prints as `None`) and the
/// path to the offending element, relative to the node being validated.
#[derive(Debug, Clone, PartialEq)]
struct Invalid {
    message: Option<String>,
    path: Vec<usize>,
}

impl Invalid {
    fn new(message: impl Into<String>) -> Self {
        Invalid {
            message: Some(message.into()),
            path: Vec::new(),
        }
    }

    /// voluptuous's `ExactSequenceInvalid` without a message.
    fn shapeless() -> Self {
        Invalid {
            message: None,
            path: Vec::new(),
        }
    }

    /// The `Invalid input` error Gnocchi's body validation reports: the
    /// path is under `data['operations']`.
    fn into_error(self) -> Error {
        let message = self.message.unwrap_or_else(|| "None".to_owned());
        let reason = if self.path.is_empty() {
            format!("{message} for dictionary value @ data['operations']")
        } else {
            let indexes: String = self.path.iter().map(|i| format!("[{i}]")).collect();
            format!("{message} @ data['operations']{indexes}")
        };
        let mut detail = vec!["operations".to_owned()];
        detail.extend(self.path.iter().map(usize::to_string));
        Error::InvalidInput { reason, detail }
    }
}

/// Validates a whole operations tree.
pub fn validate(item: &Json) -> Result<Operation, Error> {
    operation(item).map_err(Invalid::into_error)
}

type Validator<'a, T> = &'a dyn Fn(&Json) -> Result<T, Invalid>;

/// voluptuous `Any`: the first success, else the error with the longest
/// path (the earliest among equals).
fn any<T>(item: &Json, validators: &[Validator<'_, T>]) -> Result<T, Invalid> {
    let mut error: Option<Invalid> = None;
    for validator in validators {
        match validator(item) {
            Ok(value) => return Ok(value),
            Err(e) => {
                if error
                    .as_ref()
                    .is_none_or(|best| e.path.len() > best.path.len())
                {
                    error = Some(e);
                }
            }
        }
    }
    Err(error.expect("at least one validator"))
}

/// The shapes an operation may take, in `OperationsSchemaBase`'s order.
fn operation(item: &Json) -> Result<Operation, Invalid> {
    any(
        item,
        &[
            &metric,
            &|i| clip(i, true),
            &binary,
            &|i| clip(i, false),
            &unary,
            &aggregate,
            &resample,
            &rolling,
        ],
    )
}

/// An operand: an operation or anything Python's `float()` takes.
fn operand(item: &Json) -> Result<Operand, Invalid> {
    any(
        item,
        &[&|i| operation(i).map(Operand::Operation), &|i| {
            python_float(i).map(Operand::Number)
        }],
    )
}

/// voluptuous `ExactSequence`: a list of exactly `length` items; the
/// items' own checks come from the caller, in order, and their errors pass
/// through unchanged.
fn sequence(item: &Json, length: usize) -> Result<&[Json], Invalid> {
    match item {
        Json::Array(items) if items.len() == length => Ok(items),
        _ => Err(Invalid::shapeless()),
    }
}

fn literal(item: &Json, accepted: impl Fn(&str) -> bool) -> Result<&str, Invalid> {
    match item {
        Json::Str(text) if accepted(text) => Ok(text),
        _ => Err(Invalid::new("not a valid value")),
    }
}

/// `MetricSchema`: `["metric", REF, AGG]` or `["metric", [REF, AGG], …]`.
fn metric(item: &Json) -> Result<Operation, Invalid> {
    let Json::Array(items) = item else {
        return Err(Invalid::new(format!(
            "Expected a tuple/list, got a <class '{}'>",
            python_type(item)
        )));
    };
    if items.is_empty() {
        return Err(Invalid::new("Operation must not be empty"));
    }
    if items.len() < 2 {
        return Err(Invalid::new("Operation need at least one argument"));
    }
    if items[0] != Json::Str("metric".to_owned()) {
        // Python's `%s`: a string bare, anything else as its `repr`.
        let head = match &items[0] {
            Json::Str(text) => text.clone(),
            other => other.to_python_repr(),
        };
        return Err(Invalid::new(format!("'{head}' operation invalid")));
    }
    let arguments = &items[1..];
    // Any(ExactSequence([str, str]), All(Length(min=1), [ExactSequence([str, str])]))
    let single = |pair: &[Json]| -> Result<MetricRef, Invalid> {
        match pair {
            [reference, aggregation] => Ok(MetricRef {
                reference: string(reference)?,
                aggregation: string(aggregation)?,
            }),
            _ => Err(Invalid::shapeless()),
        }
    };
    let listed = |arguments: &[Json]| -> Result<Vec<MetricRef>, Invalid> {
        let mut errors = Vec::new();
        let mut references = Vec::new();
        for (i, argument) in arguments.iter().enumerate() {
            let checked = match argument {
                Json::Array(pair) => single(pair),
                _ => Err(Invalid::shapeless()),
            };
            match checked {
                Ok(reference) => references.push(reference),
                Err(mut e) => {
                    e.path.insert(0, i);
                    errors.push(e);
                }
            }
        }
        match errors.into_iter().next() {
            Some(first) => Err(first),
            None => Ok(references),
        }
    };
    let as_single = single(arguments).map(|r| (vec![r], false));
    let as_listed = || listed(arguments).map(|r| (r, true));
    let (references, listed) = match as_single {
        Ok(found) => found,
        Err(single_error) => match as_listed() {
            Ok(found) => found,
            Err(listed_error) if listed_error.path.len() > single_error.path.len() => {
                return Err(listed_error);
            }
            Err(_) => return Err(single_error),
        },
    };
    Ok(Operation::Metric { references, listed })
}

fn string(item: &Json) -> Result<String, Invalid> {
    match item {
        Json::Str(text) => Ok(text.clone()),
        _ => Err(Invalid::new("expected str")),
    }
}

fn clip(item: &Json, with_max: bool) -> Result<Operation, Invalid> {
    let items = sequence(item, if with_max { 4 } else { 3 })?;
    literal(&items[0], |name| name == "clip")?;
    Ok(Operation::Clip {
        operand: Box::new(operand(&items[1])?),
        min: Box::new(operand(&items[2])?),
        max: if with_max {
            Some(Box::new(operand(&items[3])?))
        } else {
            None
        },
    })
}

fn binary(item: &Json) -> Result<Operation, Invalid> {
    let items = sequence(item, 3)?;
    let name = literal(&items[0], |name| {
        Named::find(&BINARY_OPERATORS, name).is_some()
    })?;
    Ok(Operation::Binary {
        operator: Named::find(&BINARY_OPERATORS, name).expect("checked above"),
        left: Box::new(operand(&items[1])?),
        right: Box::new(operand(&items[2])?),
    })
}

fn unary(item: &Json) -> Result<Operation, Invalid> {
    let items = sequence(item, 2)?;
    let name = literal(&items[0], |name| {
        Named::find(&UNARY_OPERATORS, name).is_some()
    })?;
    Ok(Operation::Unary {
        operator: Named::find(&UNARY_OPERATORS, name).expect("checked above"),
        operand: Box::new(operand(&items[1])?),
    })
}

fn reducer(item: &Json) -> Result<Reducer, Invalid> {
    let name = literal(item, |name| Reducer::parse(name).is_some())?;
    Ok(Reducer::parse(name).expect("checked above"))
}

fn aggregate(item: &Json) -> Result<Operation, Invalid> {
    let items = sequence(item, 3)?;
    literal(&items[0], |name| name == "aggregate")?;
    Ok(Operation::Aggregate {
        reducer: reducer(&items[1])?,
        operand: Box::new(operand(&items[2])?),
    })
}

fn resample(item: &Json) -> Result<Operation, Invalid> {
    let items = sequence(item, 4)?;
    literal(&items[0], |name| name == "resample")?;
    Ok(Operation::Resample {
        reducer: reducer(&items[1])?,
        sampling: timespan(&items[2])?,
        operand: Box::new(operand(&items[3])?),
    })
}

fn rolling(item: &Json) -> Result<Operation, Invalid> {
    let items = sequence(item, 4)?;
    literal(&items[0], |name| name == "rolling")?;
    let reducer = reducer(&items[1])?;
    let window = python_int(&items[2])?;
    if window < 1 {
        return Err(Invalid::new("value must be at least 1"));
    }
    Ok(Operation::Rolling {
        reducer,
        window: usize::try_from(window).map_err(|_| Invalid::new("window too large"))?,
        operand: Box::new(operand(&items[3])?),
    })
}

/// Python's name of a decoded value's type, as in `<class 'dict'>`.
fn python_type(item: &Json) -> &'static str {
    match item {
        Json::Str(_) => "str",
        Json::Int(_) => "int",
        Json::Float(_) => "float",
        Json::Bool(_) => "bool",
        Json::Null => "NoneType",
        Json::Array(_) => "list",
        Json::Object(_) => "dict",
    }
}

/// voluptuous `Coerce(float)`: what Python's `float()` accepts.
fn python_float(item: &Json) -> Result<f64, Invalid> {
    match item {
        Json::Float(f) => Ok(*f),
        Json::Int(i) => Ok(*i as f64),
        Json::Bool(b) => Ok(f64::from(u8::from(*b))),
        Json::Str(text) => {
            pyform::float::parse_python_float(text).ok_or_else(|| Invalid::new("expected float"))
        }
        _ => Err(Invalid::new("expected float")),
    }
}

/// voluptuous `Coerce(int)`: Python's `int()`; floats are truncated,
/// strings must be whole numbers.
fn python_int(item: &Json) -> Result<i64, Invalid> {
    let invalid = || Invalid::new("expected int");
    match item {
        Json::Int(i) => Ok(*i),
        Json::Bool(b) => Ok(i64::from(*b)),
        Json::Float(f) if f.is_finite() => Ok(f.trunc() as i64),
        Json::Str(text) => {
            let digits = text.trim().replace('_', "");
            let well_placed = !text.contains("__")
                && !text.trim().starts_with('_')
                && !text.trim().ends_with('_');
            if !well_placed {
                return Err(invalid());
            }
            digits.parse::<i64>().map_err(|_| invalid())
        }
        _ => Err(invalid()),
    }
}

/// Gnocchi's `utils.to_timespan`: seconds as a number or numeric string,
/// else pytimeparse's syntax; positive.
fn timespan(item: &Json) -> Result<Span, Invalid> {
    let invalid = || Invalid::new("not a valid value");
    let span = match item {
        Json::Str(text) => time::parse_timespan(text).map_err(|_| invalid())?,
        other => {
            let seconds = python_float(other)?;
            if !seconds.is_finite() {
                return Err(invalid());
            }
            Span::from_secs_f64(seconds)
        }
    };
    if span.nanos() <= 0 {
        return Err(invalid());
    }
    Ok(span)
}

#[cfg(test)]
mod tests {
    use super::super::parse::{parse_json, parse_string};
    use super::*;

    fn reason(text: &str) -> String {
        let item = if text.starts_with('[') || text.starts_with('{') {
            parse_json(text).unwrap()
        } else {
            parse_string(text).unwrap()
        };
        match validate(&item) {
            Err(Error::InvalidInput { reason, .. }) => reason,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn messages_are_voluptuous() {
        let top = |m: &str| format!("{m} for dictionary value @ data['operations']");
        assert_eq!(reason("()"), top("Operation must not be empty"));
        assert_eq!(reason("(())"), top("Operation need at least one argument"));
        assert_eq!(
            reason(r#"{"foo": "bar"}"#),
            top("Expected a tuple/list, got a <class 'dict'>")
        );
        assert_eq!(
            reason("(rolling blah 2 (metric a mean))"),
            top("'rolling' operation invalid")
        );
        assert_eq!(reason("(metric a)"), "None @ data['operations'][0]");
        assert_eq!(
            reason(r#"["metric", ["a", "mean"], ["b", 5]]"#),
            "expected str @ data['operations'][1]"
        );
        assert_eq!(
            reason("(aggregate mean (rolling mean 2 (metric a)))"),
            "None @ data['operations'][0]"
        );
        assert_eq!(reason(r#"[["x"], 1]"#), top("'['x']' operation invalid"));
        assert_eq!(
            reason(r#"["+", ["+", ["metric", "a", "mean"], ["metric"]], 1]"#),
            top("'+' operation invalid")
        );
    }

    #[test]
    fn numbers_and_windows_are_coerced_like_python() {
        let ok = |text: &str| validate(&parse_json(text).unwrap()).unwrap();
        let Operation::Rolling { window, .. } =
            ok(r#"["rolling", "mean", 2.7, ["metric", "a", "mean"]]"#)
        else {
            panic!()
        };
        assert_eq!(window, 2);
        let Operation::Binary { right, .. } = ok(r#"["*", ["metric", "a", "mean"], true]"#) else {
            panic!()
        };
        assert_eq!(*right, Operand::Number(1.0));
        let Operation::Resample { sampling, .. } =
            ok(r#"["resample", "mean", "1d", ["metric", "a", "mean"]]"#)
        else {
            panic!()
        };
        assert_eq!(sampling, Span::from_secs(86_400));
    }
}
