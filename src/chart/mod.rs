//! Charts of aggregated points: a braille chart for a terminal
//! ([`terminal`]) and a line chart as SVG or PNG ([`image`]). Series in,
//! text or bytes out: nothing here reads a store, a terminal or a file.

mod glyphs;
pub mod image;
mod scale;
pub mod terminal;

use crate::policy::AggregationMethod;
use crate::query::Measures;
use crate::resource::Resource;
use crate::store::Metric;
use crate::time::Timestamp;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Every series is empty (or holds only NaN or infinite values).
    #[error("no measures to plot for {0}")]
    NoPoints(String),
    #[error(
        "a terminal chart needs at least {min_columns}×{min_lines} characters, not {columns}×{lines}"
    )]
    TooSmall {
        columns: usize,
        lines: usize,
        min_columns: usize,
        min_lines: usize,
    },
    #[error("drawing the chart: {0}")]
    Drawing(String),
    #[error("encoding the PNG: {0}")]
    Png(#[from] png::EncodingError),
}

impl Error {
    pub fn kind(&self) -> crate::error::ErrorKind {
        use crate::error::ErrorKind;
        match self {
            Error::NoPoints(_) | Error::TooSmall { .. } => ErrorKind::Invalid,
            Error::Drawing(_) | Error::Png(_) => ErrorKind::Internal,
        }
    }
}

/// One line of a chart: a name for the legend and its points in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub points: Vec<(Timestamp, f64)>,
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// What is plotted, for the title and the message of an empty chart.
    pub title: String,
    pub series: Vec<Series>,
}

/// What was read of one metric for one aggregation method.
#[derive(Debug, Clone, PartialEq)]
pub struct Read {
    /// The metric as the chart names it ([`metric_name`], or as typed).
    pub name: String,
    pub method: AggregationMethod,
    pub measures: Measures,
}

impl Chart {
    /// The chart of what was read: a line per metric, method and
    /// granularity, named `NAME`, followed in parentheses by the method
    /// when several were read and by the granularity (as `measures show`
    /// writes it: `60.0`, `M`) when a read holds several:
    /// `cpu (max, 60.0)`. NaN and infinite points are left out: they have
    /// no place on an axis.
    pub fn of_reads(reads: &[Read]) -> Chart {
        let mut methods: Vec<String> = Vec::new();
        let mut names: Vec<&str> = Vec::new();
        for read in reads {
            let method = read.method.to_string();
            if !methods.contains(&method) {
                methods.push(method);
            }
            if !names.contains(&read.name.as_str()) {
                names.push(&read.name);
            }
        }
        let title = match names[..] {
            [name] => format!("{} of {name}", methods.join(", ")),
            _ => format!("{} of {} metrics", methods.join(", "), names.len()),
        };
        let mut series = Vec::new();
        for read in reads {
            let several = read.measures.blocks.len() > 1;
            for (granularity, points) in &read.measures.blocks {
                let mut qualifiers = Vec::new();
                if methods.len() > 1 {
                    qualifiers.push(read.method.to_string());
                }
                if several {
                    qualifiers.push(granularity.to_string());
                }
                series.push(Series {
                    name: if qualifiers.is_empty() {
                        read.name.clone()
                    } else {
                        format!("{} ({})", read.name, qualifiers.join(", "))
                    },
                    points: points
                        .iter()
                        .filter(|(_, value)| value.is_finite())
                        .collect(),
                });
            }
        }
        Chart { title, series }
    }

    /// The chart as it can be drawn: an error if it has no point at all.
    fn drawable(&self) -> Result<Bounds, Error> {
        Bounds::of(&self.series).ok_or_else(|| Error::NoPoints(self.title.clone()))
    }
}

/// How a chart names a metric: `RESOURCE/NAME` when it is named on a
/// resource, its name alone, else its id.
pub fn metric_name(metric: &Metric, resource: Option<&Resource>) -> String {
    match (&metric.name, resource) {
        (Some(name), Some(resource)) => format!("{}/{name}", resource.original_resource_id),
        (Some(name), None) => name.clone(),
        (None, _) => metric.id.to_string(),
    }
}

/// The extent of every point of a chart.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bounds {
    first: Timestamp,
    last: Timestamp,
    low: f64,
    high: f64,
}

impl Bounds {
    fn of(series: &[Series]) -> Option<Bounds> {
        let mut points = series.iter().flat_map(|s| s.points.iter().copied());
        let (t, v) = points.next()?;
        let start = Bounds {
            first: t,
            last: t,
            low: v,
            high: v,
        };
        Some(points.fold(start, |b, (t, v)| Bounds {
            first: b.first.min(t),
            last: b.last.max(t),
            low: b.low.min(v),
            high: b.high.max(v),
        }))
    }
}

/// The colours of the lines, in order (then again): distinct on a light
/// or dark background.
const PALETTE: [(u8, u8, u8); 6] = [
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
];

fn colour(line: usize) -> (u8, u8, u8) {
    PALETTE[line % PALETTE.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::carbonara::{Points, Sampling};
    use crate::time::Span;

    fn read(name: &str, method: &str, granularities: &[i64]) -> Read {
        let points = Points {
            timestamps: vec![
                Timestamp::from_nanos(0),
                Timestamp::from_nanos(60_000_000_000),
            ],
            values: vec![1.0, f64::NAN],
        };
        Read {
            name: name.to_owned(),
            method: method.parse().unwrap(),
            measures: Measures {
                blocks: granularities
                    .iter()
                    .map(|&s| {
                        (
                            Sampling::Span(Span::from_nanos(s * 1_000_000_000)),
                            points.clone(),
                        )
                    })
                    .collect(),
            },
        }
    }

    fn names(chart: &Chart) -> Vec<&str> {
        chart.series.iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn lines_are_named_by_what_tells_them_apart() {
        let one = Chart::of_reads(&[read("cpu", "mean", &[60])]);
        assert_eq!(
            (one.title.as_str(), names(&one)),
            ("mean of cpu", vec!["cpu"])
        );
        // NaN has no place on the axis.
        assert_eq!(one.series[0].points.len(), 1);
        let granularities = Chart::of_reads(&[read("cpu", "mean", &[3600, 60])]);
        assert_eq!(names(&granularities), ["cpu (3600.0)", "cpu (60.0)"]);
        let methods = Chart::of_reads(&[read("cpu", "mean", &[60]), read("cpu", "max", &[60])]);
        assert_eq!(methods.title, "mean, max of cpu");
        assert_eq!(names(&methods), ["cpu (mean)", "cpu (max)"]);
        let metrics = Chart::of_reads(&[read("a", "max", &[60, 1]), read("b", "max", &[60])]);
        assert_eq!(metrics.title, "max of 2 metrics");
        assert_eq!(names(&metrics), ["a (60.0)", "a (1.0)", "b"]);
    }

    #[test]
    fn a_chart_without_points_says_what_it_was_of() {
        let mut empty = read("cpu", "mean", &[60]);
        empty.measures.blocks[0].1 = Points::with_capacity(0);
        let error = Chart::of_reads(&[empty]).drawable().unwrap_err();
        assert_eq!(error.to_string(), "no measures to plot for mean of cpu");
    }
}
