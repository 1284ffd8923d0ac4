//! Resampling an aggregated series at query time, as Gnocchi's
//! `AggregatedTimeSerie.resample` does (docs/gnocchi-semantics.md#resampling): regroup the
//! points by a coarser timespan or a calendar period and apply the same
//! aggregation method again (`rate:` methods difference the points again).

use std::fmt;
use std::str::FromStr;

use super::aggregate::{Grouped, differences};
use super::calendar::CalendarUnit;
use super::points::Points;
use crate::policy::AggregationMethod;
use crate::pyform;
use crate::time::{self, Span, TimeError, Timestamp};

/// What points are regrouped by: a timespan (epoch-aligned) or a calendar
/// period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sampling {
    Span(Span),
    Calendar(CalendarUnit),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResampleError {
    /// Gnocchi raises a `TypeError` (HTTP 500) here.
    #[error("Cannot derive aggregates on calendar granularities: `{method}' with `{unit}'")]
    RateOnCalendar {
        method: AggregationMethod,
        unit: CalendarUnit,
    },
}

impl Sampling {
    /// The bucket of `timestamp`: rounded down to the span (Gnocchi's float
    /// rounding) or the start of its calendar period.
    pub fn bucket(self, timestamp: Timestamp) -> Timestamp {
        match self {
            Sampling::Span(span) => timestamp.round_down(span),
            Sampling::Calendar(unit) => unit.period_start(timestamp),
        }
    }

    /// How Gnocchi's API writes it as a granularity: float seconds, or the
    /// calendar letter.
    pub fn to_api_string(self) -> String {
        match self {
            Sampling::Span(span) => pyform::fmt::float_repr(span.as_secs_f64()),
            Sampling::Calendar(unit) => unit.letter().to_owned(),
        }
    }

    fn group<'a>(self, points: &Points, values: &'a [f64]) -> Grouped<'a> {
        match self {
            Sampling::Span(span) => Grouped::by_granularity(&points.timestamps, values, span),
            Sampling::Calendar(unit) => {
                Grouped::by_bucket(unit.period_starts(&points.timestamps), values)
            }
        }
    }
}

impl From<Span> for Sampling {
    fn from(span: Span) -> Self {
        Sampling::Span(span)
    }
}

impl fmt::Display for Sampling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_api_string())
    }
}

impl FromStr for Sampling {
    type Err = TimeError;
    /// A calendar letter (`Y`, `H`, `Q`, `M`, `W`), else a timespan.
    fn from_str(text: &str) -> Result<Self, TimeError> {
        match text.parse::<CalendarUnit>() {
            Ok(unit) => Ok(Sampling::Calendar(unit)),
            Err(()) => time::parse_timespan(text).map(Sampling::Span),
        }
    }
}

/// Regroups `points` by `sampling` and applies `method` to each group.
/// Percentiles interpolate at positions within the whole of `points`, as
/// Gnocchi groups the whole series at once.
pub fn resample(
    points: &Points,
    method: AggregationMethod,
    sampling: Sampling,
) -> Result<Points, ResampleError> {
    if method.rate {
        if let Sampling::Calendar(unit) = sampling {
            return Err(ResampleError::RateOnCalendar { method, unit });
        }
        let derived = differences(points);
        return Ok(sampling
            .group(&derived, &derived.values)
            .aggregate(method.base));
    }
    Ok(sampling
        .group(points, &points.values)
        .aggregate(method.base))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(days: &[((i32, u32, u32), f64)]) -> Points {
        days.iter()
            .map(|&((y, m, d), v)| (Timestamp::from_civil(y, m, d).unwrap(), v))
            .collect()
    }

    /// The example of docs/gnocchi-semantics.md#calendar-resampling (Gnocchi's test suite).
    fn example() -> Points {
        daily(&[
            ((2015, 3, 1), 10.0),
            ((2015, 3, 6), 12.0),
            ((2015, 4, 1), 2.0),
            ((2015, 4, 6), 4.0),
            ((2015, 10, 6), 7.0),
            ((2016, 1, 6), 12.0),
            ((2016, 2, 6), 4.0),
        ])
    }

    fn resampled(sampling: &str, method: &str) -> Vec<(String, f64)> {
        let points = resample(
            &example(),
            method.parse().unwrap(),
            sampling.parse().unwrap(),
        )
        .unwrap();
        points
            .iter()
            .map(|(t, v)| (t.to_api_string()[..10].to_owned(), v))
            .collect()
    }

    #[test]
    fn calendar_periods_follow_gnocchis_test_suite() {
        let pairs = |p: &[(&str, f64)]| -> Vec<(String, f64)> {
            p.iter().map(|&(d, v)| (d.to_owned(), v)).collect()
        };
        assert_eq!(
            resampled("Y", "mean"),
            pairs(&[("2015-01-01", 7.0), ("2016-01-01", 8.0)])
        );
        assert_eq!(
            resampled("Q", "mean"),
            pairs(&[
                ("2015-01-01", 11.0),
                ("2015-04-01", 3.0),
                ("2015-10-01", 7.0),
                ("2016-01-01", 8.0)
            ])
        );
        assert_eq!(
            resampled("W", "mean"),
            pairs(&[
                ("2015-03-01", 11.0),
                ("2015-03-29", 2.0),
                ("2015-04-05", 4.0),
                ("2015-10-04", 7.0),
                ("2016-01-03", 12.0),
                ("2016-01-31", 4.0)
            ])
        );
    }

    #[test]
    fn timespans_regroup_from_the_epoch_and_rates_difference_again() {
        assert_eq!(
            resampled("30d", "max"),
            pairs_of(&[
                ("2015-02-04", 10.0),
                ("2015-03-06", 12.0),
                ("2015-04-05", 4.0),
                ("2015-10-02", 7.0),
                ("2015-12-31", 12.0),
                ("2016-01-30", 4.0)
            ])
        );
        // Differences 2, -10, 2, 3, 5, -8 regrouped by 365 days from 1970
        // (numbers from Gnocchi's AggregatedTimeSerie.resample).
        assert_eq!(
            resampled("365d", "rate:sum"),
            pairs_of(&[("2014-12-21", -3.0), ("2015-12-21", -3.0)])
        );
    }

    fn pairs_of(p: &[(&str, f64)]) -> Vec<(String, f64)> {
        p.iter().map(|&(d, v)| (d.to_owned(), v)).collect()
    }

    #[test]
    fn rates_cannot_use_calendar_periods() {
        let err = resample(
            &example(),
            "rate:mean".parse().unwrap(),
            "M".parse().unwrap(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("Cannot derive aggregates on calendar")
        );
    }

    #[test]
    fn samplings_parse_and_print_like_gnocchi() {
        assert_eq!("Q".parse::<Sampling>().unwrap().to_api_string(), "Q");
        assert_eq!("1h".parse::<Sampling>().unwrap().to_api_string(), "3600.0");
        assert!("q".parse::<Sampling>().is_err());
        assert!("0".parse::<Sampling>().is_err());
    }
}
