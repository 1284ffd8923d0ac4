//! Charts of aggregated points: a braille chart for a terminal
//! ([`terminal`]) and a line chart as SVG or PNG ([`image`]). Series in,
//! text or bytes out: nothing here reads a store, a terminal or a file.

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

impl Chart {
    /// The chart of `method`'s aggregates of the named metrics: a line per
    /// metric and granularity read, named `NAME` when the metric has one
    /// granularity read, `NAME (GRANULARITY)` (as `measures show` writes
    /// it: `60.0`, `M`) when several. NaN and infinite points are left
    /// out: they have no place on an axis.
    pub fn of_metrics(method: AggregationMethod, metrics: &[(String, Measures)]) -> Chart {
        let title = match metrics {
            [(name, _)] => format!("{method} of {name}"),
            several => format!("{method} of {} metrics", several.len()),
        };
        let mut series = Vec::new();
        for (name, measures) in metrics {
            let several = measures.blocks.len() > 1;
            for (granularity, points) in &measures.blocks {
                series.push(Series {
                    name: if several {
                        format!("{name} ({granularity})")
                    } else {
                        name.clone()
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
