//! The axes of a chart: where the ticks go and how they are labelled,
//! the same for the terminal and the image. Times are labelled in UTC,
//! in ISO 8601 like `measures show`, cut to what the tick step needs.

use crate::time::Timestamp;

const NANOS_PER_SECOND: i64 = 1_000_000_000;

const WEEK: i64 = 604_800;
/// 1970-01-05, in seconds.
const FIRST_MONDAY: i64 = 4 * 86_400;

/// Time steps between ticks, in seconds: round minutes, hours, days, a
/// week (then several).
const TIME_STEPS: [i64; 18] = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21_600, 43_200, 86_400, WEEK,
];

/// Ticks of a time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeTicks {
    /// Seconds since the epoch, ascending.
    pub seconds: Vec<i64>,
    step: i64,
}

impl TimeTicks {
    /// At most `count` ticks (at least one) on round times within
    /// `[first, last]`, whole seconds.
    pub fn new(first: Timestamp, last: Timestamp, count: usize) -> TimeTicks {
        let first = first.nanos().div_euclid(NANOS_PER_SECOND);
        let last = last.nanos().div_euclid(NANOS_PER_SECOND);
        let count = count.max(1) as i64;
        let span = last - first;
        let step = TIME_STEPS
            .iter()
            .copied()
            .find(|step| span / step < count)
            .unwrap_or_else(|| {
                let weeks = span / (count * WEEK) + 1;
                weeks * WEEK
            });
        // Weeks from a Monday (the epoch was a Thursday).
        let origin = if step % WEEK == 0 { FIRST_MONDAY } else { 0 };
        let start = first + (step - (first - origin).rem_euclid(step)) % step;
        let seconds: Vec<i64> = (0..)
            .map(|n| start + n * step)
            .take_while(|&t| t <= last)
            .collect();
        TimeTicks {
            seconds: if seconds.is_empty() {
                vec![first]
            } else {
                seconds
            },
            step,
        }
    }

    /// A tick's label: `2024-01-01T12:00:00`, without the seconds when
    /// the ticks are whole minutes, the time of day when whole days.
    pub fn label(&self, seconds: i64) -> String {
        let text = Timestamp::from_nanos(seconds * NANOS_PER_SECOND).to_api_string();
        // `YYYY-MM-DDTHH:MM:SS+00:00`
        let end = if self.step % 86_400 == 0 {
            10
        } else if self.step % 60 == 0 {
            16
        } else {
            19
        };
        text[..end].to_owned()
    }
}

/// Ticks of a value axis: a round step and the range they span.
#[derive(Debug, Clone, PartialEq)]
pub struct ValueTicks {
    /// Ascending; the first and last are the ends of the axis.
    pub values: Vec<f64>,
    decimals: usize,
}

impl ValueTicks {
    /// At most `count` intervals (at least one) of 1, 2 or 5 × 10ⁿ that
    /// cover `[low, high]`, from a multiple of the step below `low` to one
    /// above `high`.
    pub fn new(low: f64, high: f64, count: usize) -> ValueTicks {
        let (low, high) = if high > low {
            (low, high)
        } else {
            // One value: an axis around it.
            let pad = if low == 0.0 { 1.0 } else { low.abs() / 10.0 };
            (low - pad, high + pad)
        };
        let rough = (high - low) / count.max(1) as f64;
        let power = 10f64.powf(rough.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * power)
            .find(|step| ((high / step).ceil() - (low / step).floor()) <= count.max(1) as f64)
            .unwrap_or(10.0 * power);
        let (first, last) = ((low / step).floor() as i64, (high / step).ceil() as i64);
        let decimals = (-step.log10().floor()).max(0.0) as usize;
        ValueTicks {
            values: (first..=last).map(|n| n as f64 * step).collect(),
            decimals,
        }
    }

    pub fn low(&self) -> f64 {
        self.values[0]
    }

    pub fn high(&self) -> f64 {
        self.values[self.values.len() - 1]
    }

    /// A value with as many decimals as the step has.
    pub fn label(&self, value: f64) -> String {
        let text = format!("{value:.*}", self.decimals);
        // No `-0`.
        if text
            .trim_start_matches('-')
            .bytes()
            .all(|b| b == b'0' || b == b'.')
        {
            text.trim_start_matches('-').to_owned()
        } else {
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_nanos(seconds * NANOS_PER_SECOND)
    }

    #[test]
    fn time_ticks_fall_on_round_times_within_the_range() {
        // 2024-01-01T12:00:30 to 12:59:00: ten-minute ticks from 12:10.
        let ticks = TimeTicks::new(at(1_704_110_430), at(1_704_113_940), 6);
        assert_eq!(ticks.step, 600);
        assert_eq!(ticks.seconds.first(), Some(&1_704_111_000));
        assert_eq!(ticks.seconds.len(), 5);
        assert_eq!(ticks.label(1_704_111_000), "2024-01-01T12:10");
        let days = TimeTicks::new(at(1_704_067_200), at(1_704_067_200 + 5 * 86_400), 6);
        assert_eq!(days.label(days.seconds[1]), "2024-01-02");
        // 2024-01-01 to 2024-04-01 in two ticks: Mondays 7 weeks apart.
        let weeks = TimeTicks::new(at(1_704_067_200), at(1_711_929_600), 2);
        let labels: Vec<String> = weeks.seconds.iter().map(|&s| weeks.label(s)).collect();
        assert_eq!(labels, ["2024-01-29", "2024-03-18"]);
    }

    #[test]
    fn one_point_still_gets_a_tick() {
        let ticks = TimeTicks::new(at(1_704_110_431), at(1_704_110_431), 4);
        assert_eq!(ticks.seconds, vec![1_704_110_431]);
        assert_eq!(ticks.label(1_704_110_431), "2024-01-01T12:00:31");
    }

    #[test]
    fn value_ticks_cover_the_range_with_a_round_step() {
        let ticks = ValueTicks::new(0.3, 9.2, 5);
        assert_eq!(ticks.values, vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(ticks.label(4.0), "4");
        let small = ValueTicks::new(-0.013, 0.012, 5);
        assert_eq!(small.label(small.low()), "-0.02");
        assert!(small.low() <= -0.013 && small.high() >= 0.012);
        let flat = ValueTicks::new(5.0, 5.0, 4);
        assert!(flat.low() < 5.0 && flat.high() > 5.0);
        assert_eq!(ValueTicks::new(-1.0, 1.0, 2).label(0.0), "0");
    }
}
