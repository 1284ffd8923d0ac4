//! The operations language's tree
//! (docs/gnocchi-semantics.md#the-operations-language), as validation
//! leaves it, and its text forms: the string form and the JSON form it can
//! be written back in, and the Python `repr` Gnocchi quotes in messages.

use std::fmt;

use crate::pyform;
use crate::pyform::json::Json;
use crate::time::Span;

/// `(metric REF AGG)`: a metric (id, or name pattern over resources) and an
/// aggregation method, as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MetricRef {
    pub reference: String,
    pub aggregation: String,
}

/// What `aggregate`, `rolling` and `resample` compute: numpy's NaN-ignoring
/// reductions, or their rate (differences of consecutive results).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reducer {
    pub rate: bool,
    pub function: ReduceFunction,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReduceFunction {
    Mean,
    Median,
    Std,
    Min,
    Max,
    Sum,
    Var,
    Count,
}

impl ReduceFunction {
    pub const ALL: [(&'static str, ReduceFunction); 8] = [
        ("mean", ReduceFunction::Mean),
        ("median", ReduceFunction::Median),
        ("std", ReduceFunction::Std),
        ("min", ReduceFunction::Min),
        ("max", ReduceFunction::Max),
        ("sum", ReduceFunction::Sum),
        ("var", ReduceFunction::Var),
        ("count", ReduceFunction::Count),
    ];

    pub fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, f)| *f == self)
            .map(|(name, _)| *name)
            .expect("every function is named")
    }
}

impl Reducer {
    /// `mean`, `rate:max`, …: Gnocchi's `AGG_MAP` keys.
    pub fn parse(text: &str) -> Option<Reducer> {
        let (rate, name) = match text.strip_prefix("rate:") {
            Some(name) => (true, name),
            None => (false, text),
        };
        ReduceFunction::ALL
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, function)| Reducer { rate, function })
    }
}

impl fmt::Display for Reducer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rate {
            f.write_str("rate:")?;
        }
        f.write_str(self.function.name())
    }
}

/// numpy's element-wise binary functions the language names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BinaryFunction {
    Add,
    Subtract,
    Multiply,
    Divide,
    Modulo,
    Power,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
    /// `clip_min`: numpy `maximum` (NaN wins).
    ClipMin,
    /// `clip_max`: numpy `minimum` (NaN wins).
    ClipMax,
    /// `max`: numpy `fmax` (NaN loses).
    Fmax,
}

/// Every spelling Gnocchi accepts, in its `binary_operators` order.
pub const BINARY_OPERATORS: [(&str, BinaryFunction); 34] = [
    ("=", BinaryFunction::Equal),
    ("==", BinaryFunction::Equal),
    ("eq", BinaryFunction::Equal),
    ("<", BinaryFunction::Less),
    ("lt", BinaryFunction::Less),
    (">", BinaryFunction::Greater),
    ("gt", BinaryFunction::Greater),
    ("<=", BinaryFunction::LessEqual),
    ("≤", BinaryFunction::LessEqual),
    ("le", BinaryFunction::LessEqual),
    (">=", BinaryFunction::GreaterEqual),
    ("≥", BinaryFunction::GreaterEqual),
    ("ge", BinaryFunction::GreaterEqual),
    ("!=", BinaryFunction::NotEqual),
    ("≠", BinaryFunction::NotEqual),
    ("ne", BinaryFunction::NotEqual),
    ("%", BinaryFunction::Modulo),
    ("mod", BinaryFunction::Modulo),
    ("+", BinaryFunction::Add),
    ("add", BinaryFunction::Add),
    ("-", BinaryFunction::Subtract),
    ("sub", BinaryFunction::Subtract),
    ("*", BinaryFunction::Multiply),
    ("×", BinaryFunction::Multiply),
    ("mul", BinaryFunction::Multiply),
    ("/", BinaryFunction::Divide),
    ("÷", BinaryFunction::Divide),
    ("div", BinaryFunction::Divide),
    ("**", BinaryFunction::Power),
    ("^", BinaryFunction::Power),
    ("pow", BinaryFunction::Power),
    ("clip_min", BinaryFunction::ClipMin),
    ("clip_max", BinaryFunction::ClipMax),
    ("max", BinaryFunction::Fmax),
];

/// numpy's element-wise unary functions, and the two that work on
/// consecutive rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UnaryFunction {
    Absolute,
    Negative,
    Cos,
    Sin,
    Tan,
    Floor,
    Ceil,
    /// `v[i] − v[i−1]`, dropping the first row.
    RateOfChange,
    /// `(v[i] − v[i−1]) / seconds between the rows`, NaN on the first row.
    RateOfChangeSec,
}

/// Every spelling Gnocchi accepts.
pub const UNARY_OPERATORS: [(&str, UnaryFunction); 11] = [
    ("abs", UnaryFunction::Absolute),
    ("absolute", UnaryFunction::Absolute),
    ("neg", UnaryFunction::Negative),
    ("negative", UnaryFunction::Negative),
    ("cos", UnaryFunction::Cos),
    ("sin", UnaryFunction::Sin),
    ("tan", UnaryFunction::Tan),
    ("floor", UnaryFunction::Floor),
    ("ceil", UnaryFunction::Ceil),
    ("rateofchange", UnaryFunction::RateOfChange),
    ("rateofchangesec", UnaryFunction::RateOfChangeSec),
];

/// An operator as written (`×` or `mul`) with what it computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Named<F> {
    pub name: &'static str,
    pub function: F,
}

impl<F: Copy> Named<F> {
    pub fn find(table: &[(&'static str, F)], name: &str) -> Option<Named<F>> {
        table
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(name, function)| Named { name, function })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// `(metric REF AGG)` (`listed: false`) or `(metric (REF AGG) …)`.
    Metric {
        references: Vec<MetricRef>,
        listed: bool,
    },
    Aggregate {
        reducer: Reducer,
        operand: Box<Operand>,
    },
    Rolling {
        reducer: Reducer,
        window: usize,
        operand: Box<Operand>,
    },
    Resample {
        reducer: Reducer,
        sampling: Span,
        operand: Box<Operand>,
    },
    Binary {
        operator: Named<BinaryFunction>,
        left: Box<Operand>,
        right: Box<Operand>,
    },
    /// `(clip A LO HI)` or `(clip A LO)`.
    Clip {
        operand: Box<Operand>,
        min: Box<Operand>,
        max: Option<Box<Operand>>,
    },
    Unary {
        operator: Named<UnaryFunction>,
        operand: Box<Operand>,
    },
}

/// What operators take: an operation or a number.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Operation(Operation),
    Number(f64),
}

impl Operation {
    /// The distinct `(REF AGG)` pairs, in order of first appearance
    /// (Gnocchi's `extract_references`).
    pub fn references(&self) -> Vec<MetricRef> {
        let mut found = Vec::new();
        self.collect_references(&mut found);
        found
    }

    fn collect_references(&self, found: &mut Vec<MetricRef>) {
        match self {
            Operation::Metric { references, .. } => {
                for reference in references {
                    if !found.contains(reference) {
                        found.push(reference.clone());
                    }
                }
            }
            other => {
                for operand in other.operands() {
                    if let Operand::Operation(operation) = operand {
                        operation.collect_references(found);
                    }
                }
            }
        }
    }

    /// The operands, in written order.
    pub fn operands(&self) -> Vec<&Operand> {
        match self {
            Operation::Metric { .. } => Vec::new(),
            Operation::Aggregate { operand, .. }
            | Operation::Rolling { operand, .. }
            | Operation::Resample { operand, .. }
            | Operation::Unary { operand, .. } => vec![operand],
            Operation::Binary { left, right, .. } => vec![left, right],
            Operation::Clip { operand, min, max } => {
                let mut operands = vec![&**operand, &**min];
                operands.extend(max.as_deref());
                operands
            }
        }
    }

    /// Rewrites every metric reference (to canonical ids, say).
    pub fn map_references(&mut self, rename: &impl Fn(&str) -> String) {
        match self {
            Operation::Metric { references, .. } => {
                for reference in references {
                    reference.reference = rename(&reference.reference);
                }
            }
            Operation::Aggregate { operand, .. }
            | Operation::Rolling { operand, .. }
            | Operation::Resample { operand, .. }
            | Operation::Unary { operand, .. } => operand.map_references(rename),
            Operation::Binary { left, right, .. } => {
                left.map_references(rename);
                right.map_references(rename);
            }
            Operation::Clip { operand, min, max } => {
                operand.map_references(rename);
                min.map_references(rename);
                if let Some(max) = max {
                    max.map_references(rename);
                }
            }
        }
    }

    /// The operation's head and its arguments, as the lists Gnocchi
    /// validates them into.
    fn parts(&self) -> (String, Vec<Part<'_>>) {
        match self {
            Operation::Metric { references, listed } => {
                let parts = if *listed {
                    references.iter().map(Part::Pair).collect()
                } else {
                    let reference = &references[0];
                    vec![
                        Part::Text(&reference.reference),
                        Part::Text(&reference.aggregation),
                    ]
                };
                ("metric".to_owned(), parts)
            }
            Operation::Aggregate { reducer, operand } => (
                "aggregate".to_owned(),
                vec![Part::Word(reducer.to_string()), Part::Operand(operand)],
            ),
            Operation::Rolling {
                reducer,
                window,
                operand,
            } => (
                "rolling".to_owned(),
                vec![
                    Part::Word(reducer.to_string()),
                    Part::Window(*window),
                    Part::Operand(operand),
                ],
            ),
            Operation::Resample {
                reducer,
                sampling,
                operand,
            } => (
                "resample".to_owned(),
                vec![
                    Part::Word(reducer.to_string()),
                    Part::Sampling(*sampling),
                    Part::Operand(operand),
                ],
            ),
            Operation::Binary {
                operator,
                left,
                right,
            } => (
                operator.name.to_owned(),
                vec![Part::Operand(left), Part::Operand(right)],
            ),
            Operation::Clip { .. } => (
                "clip".to_owned(),
                self.operands().into_iter().map(Part::Operand).collect(),
            ),
            Operation::Unary { operator, operand } => {
                (operator.name.to_owned(), vec![Part::Operand(operand)])
            }
        }
    }

    /// The JSON form (`["aggregate", "mean", ["metric", "ID", "mean"]]`).
    pub fn to_json(&self) -> Json {
        let (head, parts) = self.parts();
        let mut items = vec![Json::Str(head)];
        items.extend(parts.into_iter().map(|part| match part {
            Part::Text(text) => Json::str(text),
            Part::Word(word) => Json::Str(word),
            Part::Pair(reference) => Json::Array(vec![
                Json::str(&reference.reference),
                Json::str(&reference.aggregation),
            ]),
            Part::Window(window) => Json::Int(window as i64),
            Part::Sampling(sampling) => Json::Float(sampling.as_secs_f64()),
            Part::Operand(Operand::Number(n)) => Json::Float(*n),
            Part::Operand(Operand::Operation(operation)) => operation.to_json(),
        }));
        Json::Array(items)
    }

    /// Python's `repr` of the validated list, as Gnocchi's "different
    /// granularity" message shows it.
    pub fn python_repr(&self) -> String {
        let (head, parts) = self.parts();
        let mut items = vec![pyform::fmt::str_repr(&head)];
        items.extend(parts.into_iter().map(|part| match part {
            Part::Text(text) => pyform::fmt::str_repr(text),
            Part::Word(word) => pyform::fmt::str_repr(&word),
            Part::Pair(reference) => format!(
                "[{}, {}]",
                pyform::fmt::str_repr(&reference.reference),
                pyform::fmt::str_repr(&reference.aggregation)
            ),
            Part::Window(window) => window.to_string(),
            Part::Sampling(sampling) => format!("np.timedelta64({},'ns')", sampling.nanos()),
            Part::Operand(operand) => operand.python_repr(),
        }));
        format!("[{}]", items.join(", "))
    }
}

enum Part<'a> {
    Text(&'a str),
    Word(String),
    Pair(&'a MetricRef),
    Window(usize),
    Sampling(Span),
    Operand(&'a Operand),
}

impl Operand {
    fn map_references(&mut self, rename: &impl Fn(&str) -> String) {
        if let Operand::Operation(operation) = self {
            operation.map_references(rename);
        }
    }

    pub fn python_repr(&self) -> String {
        match self {
            Operand::Number(n) => pyform::fmt::float_repr(*n),
            Operand::Operation(operation) => operation.python_repr(),
        }
    }
}

/// The string form: `(aggregate mean (metric ID mean))`. Numbers in
/// Python's `repr` (which reads back the same); references are written
/// as they are, so only those without white space, parentheses or quotes
/// read back.
impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (head, parts) = self.parts();
        write!(f, "({head}")?;
        for part in parts {
            match part {
                Part::Text(text) => write!(f, " {text}")?,
                Part::Word(word) => write!(f, " {word}")?,
                Part::Pair(reference) => {
                    write!(f, " ({} {})", reference.reference, reference.aggregation)?
                }
                Part::Window(window) => write!(f, " {window}")?,
                Part::Sampling(sampling) => {
                    write!(f, " {}", pyform::fmt::float_repr(sampling.as_secs_f64()))?
                }
                Part::Operand(Operand::Number(n)) => write!(f, " {}", pyform::fmt::float_repr(*n))?,
                Part::Operand(Operand::Operation(operation)) => write!(f, " {operation}")?,
            }
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::query::aggregates::{parse, parse_operations, validate};

    fn reducer() -> impl Strategy<Value = Reducer> {
        (any::<bool>(), 0..ReduceFunction::ALL.len()).prop_map(|(rate, i)| Reducer {
            rate,
            function: ReduceFunction::ALL[i].1,
        })
    }

    fn metric() -> impl Strategy<Value = Operation> {
        let reference = ("[a-z0-9][a-z0-9._*-]{0,11}", "[a-z0-9:]{1,10}").prop_map(
            |(reference, aggregation)| MetricRef {
                reference,
                aggregation,
            },
        );
        prop_oneof![
            reference.clone().prop_map(|r| Operation::Metric {
                references: vec![r],
                listed: false,
            }),
            proptest::collection::vec(reference, 1..4).prop_map(|references| {
                Operation::Metric {
                    references,
                    listed: true,
                }
            }),
        ]
    }

    /// Any tree the language can write, with references that the string
    /// form can carry and finite numbers.
    fn operation() -> impl Strategy<Value = Operation> {
        metric().prop_recursive(4, 24, 3, |inner| {
            let operand = prop_oneof![
                inner.clone().prop_map(Operand::Operation),
                (-1e12f64..1e12).prop_map(Operand::Number),
            ];
            let boxed = operand.prop_map(Box::new);
            prop_oneof![
                (reducer(), boxed.clone())
                    .prop_map(|(reducer, operand)| Operation::Aggregate { reducer, operand }),
                (reducer(), 1usize..50, boxed.clone()).prop_map(|(reducer, window, operand)| {
                    Operation::Rolling {
                        reducer,
                        window,
                        operand,
                    }
                }),
                (reducer(), 1i64..1_000_000, boxed.clone()).prop_map(
                    |(reducer, seconds, operand)| Operation::Resample {
                        reducer,
                        sampling: Span::from_secs(seconds),
                        operand,
                    }
                ),
                (0..BINARY_OPERATORS.len(), boxed.clone(), boxed.clone()).prop_map(
                    |(i, left, right)| Operation::Binary {
                        operator: Named {
                            name: BINARY_OPERATORS[i].0,
                            function: BINARY_OPERATORS[i].1,
                        },
                        left,
                        right,
                    }
                ),
                (
                    boxed.clone(),
                    boxed.clone(),
                    proptest::option::of(boxed.clone())
                )
                    .prop_map(|(operand, min, max)| Operation::Clip {
                        operand,
                        min,
                        max
                    }),
                (0..UNARY_OPERATORS.len(), boxed).prop_map(|(i, operand)| Operation::Unary {
                    operator: Named {
                        name: UNARY_OPERATORS[i].0,
                        function: UNARY_OPERATORS[i].1,
                    },
                    operand,
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn the_string_form_reads_back(operation in operation()) {
            let text = operation.to_string();
            let item = parse::parse_string(&text).unwrap();
            prop_assert_eq!(validate::validate(&item).unwrap(), operation, "{}", text);
        }

        #[test]
        fn the_json_form_reads_back(operation in operation()) {
            let text = operation.to_json().to_python_string();
            let item = parse::parse_json(&text).unwrap();
            prop_assert_eq!(validate::validate(&item).unwrap(), operation, "{}", text);
        }

        #[test]
        fn evaluation_never_panics(
            operation in operation(),
            rows in 0usize..12,
            cells in proptest::collection::vec(
                prop_oneof![Just(f64::NAN), Just(f64::INFINITY), -1e3f64..1e3],
                12 * 8,
            ),
        ) {
            let lookup_keys = operation.references();
            let grid = crate::query::aggregates::grid::Grid {
                granularity: Span::from_secs(60),
                timestamps: (0..rows as i64)
                    .map(|i| crate::time::Timestamp::from_nanos(i * 60_000_000_000))
                    .collect(),
                columns: (0..lookup_keys.len())
                    .map(|c| cells[(c % 8) * 12..(c % 8) * 12 + rows].to_vec())
                    .collect(),
                lookup_keys,
            };
            let _ = crate::query::aggregates::eval::evaluate(&operation, grid);
        }

        #[test]
        fn operations_never_panic(text in "\\PC*") {
            let _ = parse_operations(&text);
        }

        #[test]
        fn operations_like_text_never_panics(
            text in "[(][a-z+*/ ()0-9.\"'\\[\\]-]{0,60}"
        ) {
            let _ = parse_operations(&text);
        }
    }

    #[test]
    fn references_are_distinct_in_order() {
        let operation = parse_operations(
            "(- (metric (b mean) (a mean)) (aggregate max (metric (a mean) (c max))))",
        )
        .unwrap();
        let names: Vec<String> = operation
            .references()
            .into_iter()
            .map(|r| format!("{} {}", r.reference, r.aggregation))
            .collect();
        assert_eq!(names, ["b mean", "a mean", "c max"]);
    }
}
