//! Gnocchi's calendar groupings (`gnocchi/calendar.py`), which only the
//! query-time resample uses: `Y` (year), `H` (half-year), `Q` (quarter),
//! `M` (month) and `W` (week starting on Sunday). Each maps a timestamp to
//! the first instant of its period, in UTC; pure arithmetic, no clock.

use std::fmt;
use std::str::FromStr;

use crate::time::{NANOS_PER_SECOND, Timestamp};

const NANOS_PER_DAY: i64 = 86_400 * NANOS_PER_SECOND;

/// A calendar period, named by Gnocchi's letter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CalendarUnit {
    Year,
    HalfYear,
    Quarter,
    Month,
    /// Weeks starting on Sunday.
    Week,
}

impl CalendarUnit {
    const LETTERS: [(CalendarUnit, &'static str); 5] = [
        (CalendarUnit::Year, "Y"),
        (CalendarUnit::HalfYear, "H"),
        (CalendarUnit::Quarter, "Q"),
        (CalendarUnit::Month, "M"),
        (CalendarUnit::Week, "W"),
    ];

    pub fn letter(self) -> &'static str {
        Self::LETTERS
            .iter()
            .find(|(unit, _)| *unit == self)
            .map(|(_, letter)| *letter)
            .expect("every unit has a letter")
    }

    /// The start of the period holding `timestamp`.
    pub fn period_start(self, timestamp: Timestamp) -> Timestamp {
        let day = timestamp.nanos().div_euclid(NANOS_PER_DAY);
        if self == CalendarUnit::Week {
            // numpy's weeks start on Thursdays (1970-01-01); Gnocchi shifts
            // by four days to start them on Sundays.
            let sunday = (day + 4).div_euclid(7) * 7 - 4;
            return Timestamp::from_nanos(sunday * NANOS_PER_DAY);
        }
        let (year, month, _, _) = timestamp.civil();
        let first_month = match self {
            CalendarUnit::Year => 1,
            CalendarUnit::HalfYear => (month - 1) / 6 * 6 + 1,
            CalendarUnit::Quarter => (month - 1) / 3 * 3 + 1,
            CalendarUnit::Month | CalendarUnit::Week => month,
        };
        Timestamp::from_civil(year, first_month, 1).expect("the first day of a month exists")
    }

    /// Period starts of ordered timestamps, computing the calendar once per
    /// day rather than once per point.
    pub fn period_starts(self, timestamps: &[Timestamp]) -> impl Iterator<Item = Timestamp> + '_ {
        let mut cached: Option<(i64, Timestamp)> = None;
        timestamps.iter().map(move |&t| {
            let day = t.nanos().div_euclid(NANOS_PER_DAY);
            match cached {
                Some((cached_day, start)) if cached_day == day => start,
                _ => {
                    let start = self.period_start(t);
                    cached = Some((day, start));
                    start
                }
            }
        })
    }
}

impl fmt::Display for CalendarUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.letter())
    }
}

impl FromStr for CalendarUnit {
    type Err = ();
    /// Exactly Gnocchi's letters, upper case.
    fn from_str(text: &str) -> Result<Self, ()> {
        Self::LETTERS
            .iter()
            .find(|(_, letter)| *letter == text)
            .map(|(unit, _)| *unit)
            .ok_or(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(year: i32, month: u32, day: u32) -> Timestamp {
        Timestamp::from_civil(year, month, day).unwrap()
    }

    fn start(unit: &str, t: Timestamp) -> Timestamp {
        unit.parse::<CalendarUnit>().unwrap().period_start(t)
    }

    #[test]
    fn periods_start_where_gnocchi_puts_them() {
        let t = day(2015, 8, 20) + crate::time::Span::from_secs(3600 * 13 + 5);
        assert_eq!(start("Y", t), day(2015, 1, 1));
        assert_eq!(start("H", t), day(2015, 7, 1));
        assert_eq!(start("H", day(2015, 6, 30)), day(2015, 1, 1));
        assert_eq!(start("Q", t), day(2015, 7, 1));
        assert_eq!(start("Q", day(2015, 3, 31)), day(2015, 1, 1));
        assert_eq!(start("M", t), day(2015, 8, 1));
        // 2015-08-20 is a Thursday: its week began on Sunday 2015-08-16.
        assert_eq!(start("W", t), day(2015, 8, 16));
    }

    #[test]
    fn weeks_start_on_sundays() {
        // docs/gnocchi-semantics.md#calendar-resampling, the `W` example.
        for (date, sunday) in [
            ((2015, 3, 1), (2015, 3, 1)),
            ((2015, 3, 6), (2015, 3, 1)),
            ((2015, 4, 1), (2015, 3, 29)),
            ((2015, 4, 6), (2015, 4, 5)),
            ((2015, 10, 6), (2015, 10, 4)),
            ((2016, 1, 6), (2016, 1, 3)),
            ((2016, 2, 6), (2016, 1, 31)),
        ] {
            assert_eq!(
                start("W", day(date.0, date.1, date.2)),
                day(sunday.0, sunday.1, sunday.2)
            );
        }
        // The first days of the epoch belong to a week that began before it.
        assert_eq!(start("W", Timestamp::EPOCH).nanos(), -4 * NANOS_PER_DAY);
    }

    #[test]
    fn letters_are_exact() {
        for letter in ["Y", "H", "Q", "M", "W"] {
            assert_eq!(letter.parse::<CalendarUnit>().unwrap().letter(), letter);
        }
        for bad in ["y", "D", "", "YY"] {
            assert!(bad.parse::<CalendarUnit>().is_err());
        }
    }

    #[test]
    fn cached_period_starts_match_one_by_one() {
        let hour = crate::time::Span::from_secs(3600);
        let timestamps: Vec<Timestamp> = (0..24 * 90)
            .map(|h| day(2015, 12, 1) + hour.checked_mul(h).unwrap())
            .collect();
        for unit in ["Y", "H", "Q", "M", "W"] {
            let unit: CalendarUnit = unit.parse().unwrap();
            let cached: Vec<Timestamp> = unit.period_starts(&timestamps).collect();
            let each: Vec<Timestamp> = timestamps.iter().map(|&t| unit.period_start(t)).collect();
            assert_eq!(cached, each);
        }
    }
}
