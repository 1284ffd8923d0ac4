//! The evaluated series as Gnocchi answers them
//! (docs/gnocchi-semantics.md#the-answer):
//! one `aggregated` series, or one per reference keyed by metric id and
//! aggregation (or resource id, metric name and aggregation), each a list
//! of `[timestamp, granularity, value]` triples, coarsest granularity
//! first; NaN and infinities dropped under the dropping fill modes.

use uuid::Uuid;

use super::eval::Series;
use super::references::Reference;
use super::{Error, Fill, GroupKey};
use crate::pyform::json::Json;
use crate::time::{Span, Timestamp};

/// What an output series is filed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutputKey {
    Aggregated,
    Metric {
        metric: String,
        aggregation: String,
    },
    Resource {
        resource: Uuid,
        metric: String,
        aggregation: String,
    },
}

impl OutputKey {
    fn of(reference: &Reference) -> OutputKey {
        let aggregation = reference.aggregation_name().to_owned();
        match reference.resource {
            None => OutputKey::Metric {
                metric: reference.name.clone(),
                aggregation,
            },
            Some(resource) => OutputKey::Resource {
                resource,
                metric: reference.name.clone(),
                aggregation,
            },
        }
    }

    /// The path of keys to the series in the response body.
    pub fn path(&self) -> Vec<String> {
        match self {
            OutputKey::Aggregated => vec!["aggregated".to_owned()],
            OutputKey::Metric {
                metric,
                aggregation,
            } => vec![metric.clone(), aggregation.clone()],
            OutputKey::Resource {
                resource,
                metric,
                aggregation,
            } => vec![resource.to_string(), metric.clone(), aggregation.clone()],
        }
    }

    /// How gnocchiclient names the series in its `name` column.
    pub fn label(&self) -> String {
        self.path().join("/")
    }
}

/// Points of one granularity.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesBlock {
    pub granularity: Span,
    pub timestamps: Vec<Timestamp>,
    pub values: Vec<f64>,
}

/// The output series in Gnocchi's order, each its blocks coarsest first.
#[derive(Debug, Clone, PartialEq)]
pub struct AggregatesResult {
    pub series: Vec<(OutputKey, Vec<SeriesBlock>)>,
}

/// Files each granularity's result: its first column when aggregated,
/// else column i under reference i.
pub fn shape(
    references: &[Reference],
    results: Vec<(Span, Series)>,
    fill: Fill,
) -> Result<AggregatesResult, Error> {
    let aggregated = results.last().is_some_and(|(_, s)| s.aggregated);
    let mut output = AggregatesResult { series: Vec::new() };
    if aggregated {
        output.series.push((OutputKey::Aggregated, Vec::new()));
    }
    for (_, series) in results {
        if aggregated {
            let column = series.columns.first().map_or(&[][..], Vec::as_slice);
            output.add(OutputKey::Aggregated, block(&series, column, fill));
            continue;
        }
        if series.columns.len() < references.len() {
            // Gnocchi fails with an internal error here.
            return Err(Error::Unsupported(format!(
                "the operations give {} series for {} references",
                series.columns.len(),
                references.len()
            )));
        }
        for (reference, column) in references.iter().zip(&series.columns) {
            output.add(OutputKey::of(reference), block(&series, column, fill));
        }
    }
    Ok(output)
}

fn block(series: &Series, column: &[f64], fill: Fill) -> SeriesBlock {
    let keep = |v: &f64| !fill.drops_non_finite() || v.is_finite();
    let (timestamps, values) = series
        .timestamps
        .iter()
        .zip(column)
        .filter(|(_, v)| keep(v))
        .map(|(t, v)| (*t, *v))
        .unzip();
    SeriesBlock {
        granularity: series.granularity,
        timestamps,
        values,
    }
}

impl AggregatesResult {
    fn add(&mut self, key: OutputKey, block: SeriesBlock) {
        match self.series.iter_mut().find(|(k, _)| *k == key) {
            Some((_, blocks)) => blocks.push(block),
            None => self.series.push((key, vec![block])),
        }
    }

    /// The `measures` object of the response body.
    pub fn measures_json(&self) -> Json {
        let mut root = Json::Object(Vec::new());
        for (key, blocks) in &self.series {
            let triples = blocks
                .iter()
                .flat_map(|b| {
                    b.timestamps.iter().zip(&b.values).map(|(t, v)| {
                        Json::Array(vec![
                            Json::str(t.to_api_string()),
                            Json::Float(b.granularity.as_secs_f64()),
                            Json::Float(*v),
                        ])
                    })
                })
                .collect();
            insert(&mut root, &key.path(), Json::Array(triples));
        }
        root
    }

    /// The response body: `{"measures": …}`, with `references` if given.
    pub fn body(&self, references: Option<Json>) -> Json {
        let mut fields = vec![("measures".to_owned(), self.measures_json())];
        if let Some(references) = references {
            fields.push(("references".to_owned(), references));
        }
        Json::Object(fields)
    }
}

/// Sets `value` at `path` in nested objects, keeping insertion order.
fn insert(object: &mut Json, path: &[String], value: Json) {
    let Json::Object(fields) = object else {
        unreachable!("paths only go through objects")
    };
    let (first, rest) = path.split_first().expect("paths are not empty");
    let position = match fields.iter().position(|(k, _)| k == first) {
        Some(position) => position,
        None => {
            fields.push((first.clone(), Json::Object(Vec::new())));
            fields.len() - 1
        }
    };
    if rest.is_empty() {
        fields[position].1 = value;
    } else {
        insert(&mut fields[position].1, rest, value);
    }
}

/// The body of a grouped request: `[{"group": {…}, "measures": body}, …]`.
pub fn grouped_body(groups: &[(GroupKey, Json)]) -> Json {
    groups_body(groups, false)
}

/// The body of a request grouped by revision (`use_history`), which
/// Gnocchi's `Grouper` writes `measures` first: `[{"measures": body,
/// "group": {…}}, …]`.
pub fn revision_grouped_body(groups: &[(GroupKey, Json)]) -> Json {
    groups_body(groups, true)
}

fn groups_body(groups: &[(GroupKey, Json)], measures_first: bool) -> Json {
    Json::Array(
        groups
            .iter()
            .map(|(key, body)| {
                let mut fields = vec![
                    ("group".to_owned(), Json::Object(key.clone())),
                    ("measures".to_owned(), body.clone()),
                ];
                if measures_first {
                    fields.reverse();
                }
                Json::Object(fields)
            })
            .collect(),
    )
}

/// gnocchiclient's `group` column: `project_id: P1, user_id: U`, keys sorted.
pub fn group_label(key: &[(String, Json)]) -> String {
    let mut fields: Vec<&(String, Json)> = key.iter().collect();
    fields.sort_by(|a, b| a.0.cmp(&b.0));
    fields
        .iter()
        .map(|(name, value)| {
            let text = match value {
                Json::Str(s) => s.clone(),
                Json::Null => "None".to_owned(),
                Json::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
                other => other.to_python_string(),
            };
            format!("{name}: {text}")
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn nested_keys_keep_their_order() {
        let mut root = Json::Object(Vec::new());
        insert(&mut root, &["b".into(), "mean".into()], Json::Int(1));
        insert(&mut root, &["a".into(), "mean".into()], Json::Int(2));
        insert(&mut root, &["b".into(), "max".into()], Json::Int(3));
        assert_eq!(
            root.to_python_string(),
            r#"{"b": {"mean": 1, "max": 3}, "a": {"mean": 2}}"#
        );
    }

    #[test]
    fn dropping_fills_drop_non_finite_values() {
        let series = Series {
            granularity: Span::from_secs(60),
            timestamps: Rc::new((0..3).map(Timestamp::from_nanos).collect()),
            columns: vec![vec![1.0, f64::NAN, f64::INFINITY]],
            aggregated: true,
        };
        let kept = |fill| block(&series, &series.columns[0], fill).values.len();
        assert_eq!(kept(Fill::Dropna), 1);
        assert_eq!(kept(Fill::Ffill), 1);
        assert_eq!(kept(Fill::Null), 3);
        assert_eq!(kept(Fill::Value(0.0)), 3);
        assert_eq!(kept(Fill::Overlap(100.0)), 3);
    }

    #[test]
    fn group_labels_are_gnocchiclients() {
        let key = vec![
            ("user_id".to_owned(), Json::str("U")),
            ("project_id".to_owned(), Json::Null),
            ("flavor".to_owned(), Json::Float(2.0)),
        ];
        assert_eq!(
            group_label(&key),
            "flavor: 2.0, project_id: None, user_id: U"
        );
    }
}
