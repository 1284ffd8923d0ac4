//! Timestamps and spans as Gnocchi keeps them: i64 nanoseconds, UTC, no time
//! zones. Parsing of the timestamp and timespan syntaxes of
//! docs/gnocchi-semantics.md#timestamps-and-timespans, and their text forms.
//!
//! Nothing here reads the clock: callers pass `now` in.

use std::fmt;
use std::ops::{Add, Sub};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use crate::pyform::float::parse_python_float;

pub const NANOS_PER_SECOND: i64 = 1_000_000_000;

/// A point in time: nanoseconds since 1970-01-01T00:00:00 UTC.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// A length of time in nanoseconds (granularity, timespan, block size).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Span(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeError {
    #[error("Unable to convert timestamps: `{0}`")]
    UnableToConvertTimestamp(String),
    #[error("Timestamp must be after Epoch: `{0}`")]
    BeforeEpoch(String),
    #[error("Unable to parse timespan: `{0}`")]
    UnableToParseTimespan(String),
    #[error("Timespan must be positive: `{0}`")]
    TimespanNotPositive(String),
}

impl Timestamp {
    pub const EPOCH: Timestamp = Timestamp(0);

    pub const fn from_nanos(nanos: i64) -> Self {
        Timestamp(nanos)
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// Epoch seconds as Python computes them (`float(ns) / 1e9`).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// Gnocchi's `round_timestamp`: numpy float arithmetic, not integer
    /// flooring (docs/format/carbonara-v3.md#split-keys). It equals `floor(t/s)*s` for
    /// ordinary data, but e.g. …:19.999999999 rounds to :20 with s = 1 s.
    pub fn round_down(self, span: Span) -> Timestamp {
        let span_f = span.0 as f64;
        Timestamp((span_f * floor(self.0 as f64 / span_f)) as i64)
    }

    /// The current time, for the edges of the program (never the engine).
    pub fn now() -> Timestamp {
        let now = chrono::Utc::now();
        Timestamp(now.timestamp_nanos_opt().unwrap_or(i64::MAX))
    }

    fn to_datetime(self) -> NaiveDateTime {
        DateTime::from_timestamp(
            self.0.div_euclid(NANOS_PER_SECOND),
            self.0.rem_euclid(NANOS_PER_SECOND) as u32,
        )
        .expect("an i64 of nanoseconds is always within chrono's range")
        .naive_utc()
    }

    /// The form Gnocchi's API gives measure timestamps: cut to the second,
    /// `2024-01-01T00:00:00+00:00`.
    pub fn to_api_string(self) -> String {
        self.to_datetime()
            .format("%Y-%m-%dT%H:%M:%S+00:00")
            .to_string()
    }

    /// Appends `to_api_string()` to `out`; `cache` keeps the text of the
    /// previous call, so a run of timestamps of one day only rewrites the
    /// time of day.
    pub fn write_api_string(self, out: &mut Vec<u8>, cache: &mut ApiDateCache) {
        let seconds = self.0.div_euclid(NANOS_PER_SECOND);
        let mut second_of_day = seconds.wrapping_sub(cache.day_start);
        if cache.minute_of_day.is_none() || !(0..86_400).contains(&second_of_day) {
            let day_start = seconds - seconds.rem_euclid(86_400);
            let date = Timestamp(day_start * NANOS_PER_SECOND).to_api_string();
            match <[u8; API_STRING_LEN]>::try_from(date.as_bytes()) {
                Ok(text) => {
                    cache.text = text;
                    cache.day_start = day_start;
                    cache.minute_of_day = Some(0);
                    second_of_day = seconds - day_start;
                }
                // Years of other than four digits: no shortcut.
                Err(_) => return out.extend_from_slice(self.to_api_string().as_bytes()),
            }
        }
        let second_of_day = second_of_day as u32;
        let digits = |at: usize, text: &mut [u8; API_STRING_LEN], n: u32| {
            text[at] = b'0' + (n / 10) as u8;
            text[at + 1] = b'0' + (n % 10) as u8;
        };
        // `YYYY-MM-DDTHH:MM:SS+00:00`: the time of day is at 11, 14 and 17.
        let minute_of_day = second_of_day / 60;
        if cache.minute_of_day != Some(minute_of_day) {
            digits(11, &mut cache.text, minute_of_day / 60);
            digits(14, &mut cache.text, minute_of_day % 60);
            cache.minute_of_day = Some(minute_of_day);
        }
        digits(17, &mut cache.text, second_of_day - minute_of_day * 60);
        out.extend_from_slice(&cache.text);
    }

    /// Full precision, `2024-01-01T00:00:00.000000001+00:00` (fraction only
    /// when not zero).
    pub fn to_precise_string(self) -> String {
        let dt = self.to_datetime();
        let nanos = dt.nanosecond();
        let base = dt.format("%Y-%m-%dT%H:%M:%S");
        if nanos == 0 {
            format!("{base}+00:00")
        } else {
            let frac = format!("{nanos:09}");
            format!("{base}.{}+00:00", frac.trim_end_matches('0'))
        }
    }

    /// Python's `datetime.isoformat()` of a UTC datetime, as Gnocchi renders
    /// resource dates: microseconds only when not zero.
    /// An HTTP date (`Last-Modified`): `Mon, 30 Nov 2026 17:32:28 GMT`,
    /// truncated to the second.
    pub fn to_http_date(self) -> String {
        self.to_datetime()
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string()
    }

    /// An HTTP date as a client sends it (`If-Modified-Since`), RFC 2822
    /// style; `None` when it does not read as one.
    pub fn parse_http_date(text: &str) -> Option<Timestamp> {
        let parsed = chrono::DateTime::parse_from_rfc2822(text.trim()).ok()?;
        Some(Timestamp(parsed.timestamp_nanos_opt()?))
    }

    pub fn to_isoformat(self) -> String {
        let dt = self.to_datetime();
        let micros = dt.nanosecond() / 1000;
        let base = dt.format("%Y-%m-%dT%H:%M:%S");
        if micros == 0 {
            format!("{base}+00:00")
        } else {
            format!("{base}.{micros:06}+00:00")
        }
    }

    /// Calendar fields (year, month 1–12, day 1–31, weekday 0 = Monday).
    pub fn civil(self) -> (i32, u32, u32, u32) {
        let dt = self.to_datetime();
        (
            dt.year(),
            dt.month(),
            dt.day(),
            dt.weekday().num_days_from_monday(),
        )
    }

    /// Midnight UTC of a calendar day.
    pub fn from_civil(year: i32, month: u32, day: u32) -> Option<Timestamp> {
        let date = NaiveDate::from_ymd_opt(year, month, day)?;
        let nanos = date
            .and_time(NaiveTime::MIN)
            .and_utc()
            .timestamp_nanos_opt()?;
        Some(Timestamp(nanos))
    }
}

/// `2024-01-01T00:00:00+00:00`.
const API_STRING_LEN: usize = 25;

/// The last timestamp [`Timestamp::write_api_string`] wrote and its day.
#[derive(Debug, Default)]
pub struct ApiDateCache {
    /// Epoch seconds of the cached day's midnight.
    day_start: i64,
    /// `None` until a day is cached.
    minute_of_day: Option<u32>,
    text: [u8; API_STRING_LEN],
}

/// `f64::floor` for the quotients `round_down` takes (|x| < 2⁶³), inlined:
/// without SSE4.1, `floor` is a libm call that dominated bucketing.
#[inline]
fn floor(x: f64) -> f64 {
    let truncated = x as i64 as f64;
    if truncated > x {
        truncated - 1.0
    } else {
        truncated
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_precise_string())
    }
}

impl Span {
    pub const fn from_nanos(nanos: i64) -> Self {
        Span(nanos)
    }

    pub const fn from_secs(seconds: i64) -> Self {
        Span(seconds * NANOS_PER_SECOND)
    }

    /// Seconds given as a float, converted like Gnocchi: `trunc(s × 1e9)`.
    pub fn from_secs_f64(seconds: f64) -> Self {
        Span((seconds * 1e9) as i64)
    }

    pub const fn nanos(self) -> i64 {
        self.0
    }

    /// Seconds as a float, the form Gnocchi prints granularities in (`60.0`).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    pub fn checked_mul(self, factor: i64) -> Option<Span> {
        self.0.checked_mul(factor).map(Span)
    }

    /// Python's `str(timedelta)`: `0:05:00`, `7 days, 0:00:00`.
    pub fn to_timedelta_string(self) -> String {
        crate::pyform::fmt::timedelta_str(self.0)
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::pyform::fmt::float_repr(self.as_secs_f64()))
    }
}

impl Add<Span> for Timestamp {
    type Output = Timestamp;
    fn add(self, rhs: Span) -> Timestamp {
        Timestamp(self.0.saturating_add(rhs.0))
    }
}

impl Sub<Span> for Timestamp {
    type Output = Timestamp;
    fn sub(self, rhs: Span) -> Timestamp {
        Timestamp(self.0.saturating_sub(rhs.0))
    }
}

impl Sub for Timestamp {
    type Output = Span;
    fn sub(self, rhs: Timestamp) -> Span {
        Span(self.0.saturating_sub(rhs.0))
    }
}

/// Parses a timestamp the way Gnocchi's `utils.to_timestamp` does: epoch
/// seconds (anything Python's `float()` takes), else ISO 8601 as numpy reads
/// it (`now`, `today` included), else a signed span relative to `now`.
/// Results before the epoch are refused.
pub fn parse_timestamp(text: &str, now: Timestamp) -> Result<Timestamp, TimeError> {
    if let Some(seconds) = parse_python_float(text) {
        return timestamp_from_epoch_seconds(seconds, text);
    }
    let timestamp = if let Some(timestamp) = parse_iso8601(text.trim(), now) {
        timestamp
    } else if let Some(seconds) = parse_timespan_seconds(text) {
        // Gnocchi adds the span to a microsecond `datetime.now()`.
        let now = Timestamp(now.0.div_euclid(1000) * 1000);
        now + Span::from_secs_f64(seconds)
    } else {
        return Err(TimeError::UnableToConvertTimestamp(text.to_owned()));
    };
    if timestamp < Timestamp::EPOCH {
        return Err(TimeError::BeforeEpoch(text.to_owned()));
    }
    Ok(timestamp)
}

/// Epoch seconds (already read from `text`) as Gnocchi converts them:
/// through a float, refused when not finite or before the epoch.
pub fn timestamp_from_epoch_seconds(seconds: f64, text: &str) -> Result<Timestamp, TimeError> {
    // Nanoseconds must fit an i64 (years 1677 to 2262), as in numpy's
    // datetime64[ns].
    if !seconds.is_finite() || (seconds * 1e9).abs() >= 9.2e18 {
        return Err(TimeError::UnableToConvertTimestamp(text.to_owned()));
    }
    let timestamp = Timestamp((seconds * 1e9) as i64);
    if timestamp < Timestamp::EPOCH {
        return Err(TimeError::BeforeEpoch(text.to_owned()));
    }
    Ok(timestamp)
}

/// Parses a timespan the way Gnocchi's `utils.to_timespan` does: a number of
/// seconds, else pytimeparse's syntax (`5min`, `1 hour`, `1d3h`, `1:30`).
/// The result must be positive.
pub fn parse_timespan(text: &str) -> Result<Span, TimeError> {
    let seconds = parse_python_float(text)
        .or_else(|| parse_timespan_seconds(text))
        .filter(|s| s.is_finite())
        .ok_or_else(|| TimeError::UnableToParseTimespan(text.to_owned()))?;
    let span = Span::from_secs_f64(seconds);
    if span.0 <= 0 {
        return Err(TimeError::TimespanNotPositive(text.to_owned()));
    }
    Ok(span)
}

fn digits(text: &str, count: usize) -> Option<(u32, &str)> {
    if text.len() < count || !text.as_bytes()[..count].iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some((text[..count].parse().ok()?, &text[count..]))
}

/// numpy's ISO 8601 reader as Gnocchi uses it:
/// `YYYY-MM[-DD[(T| )HH[:MM[:SS[.fraction]]]]]`, then `Z` or `±HH[:MM]`.
pub fn parse_iso8601(text: &str, now: Timestamp) -> Option<Timestamp> {
    match text {
        "now" => {
            return Some(Timestamp(
                now.0.div_euclid(NANOS_PER_SECOND) * NANOS_PER_SECOND,
            ));
        }
        "today" => return Some(now.round_down(Span::from_secs(86_400))),
        _ => {}
    }
    let (year, rest) = digits(text, 4)?;
    let rest = rest.strip_prefix('-')?;
    let (month, mut rest) = digits(rest, 2)?;
    let (mut day, mut hour, mut minute, mut second, mut nanos) = (1, 0, 0, 0, 0i64);
    if let Some(after) = rest.strip_prefix('-') {
        (day, rest) = digits(after, 2)?;
        if let Some(after) = rest.strip_prefix(['T', ' ']) {
            (hour, rest) = digits(after, 2)?;
            if let Some(after) = rest.strip_prefix(':') {
                (minute, rest) = digits(after, 2)?;
                if let Some(after) = rest.strip_prefix(':') {
                    (second, rest) = digits(after, 2)?;
                    if let Some(after) = rest.strip_prefix('.') {
                        let len = after.bytes().take_while(u8::is_ascii_digit).count();
                        if len == 0 {
                            return None;
                        }
                        let kept = &after[..len.min(9)];
                        nanos = kept.parse::<i64>().ok()? * 10i64.pow(9 - kept.len() as u32);
                        rest = &after[len..];
                    }
                }
            }
        }
    }
    let offset_seconds = parse_utc_offset(rest)?;
    let date = NaiveDate::from_ymd_opt(year as i32, month, day)?;
    let time = NaiveTime::from_hms_opt(hour, minute, second)?;
    let seconds = date.and_time(time).and_utc().timestamp() - offset_seconds;
    seconds
        .checked_mul(NANOS_PER_SECOND)?
        .checked_add(nanos)
        .map(Timestamp)
}

/// `""`, `Z`, `±HH`, `±HH:MM` or `±HHMM`, as seconds east of UTC.
fn parse_utc_offset(text: &str) -> Option<i64> {
    if text.is_empty() || text == "Z" {
        return Some(0);
    }
    let sign = match text.as_bytes()[0] {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, rest) = digits(&text[1..], 2)?;
    let rest = rest.strip_prefix(':').unwrap_or(rest);
    let minutes = if rest.is_empty() {
        0
    } else {
        let (minutes, rest) = digits(rest, 2)?;
        if !rest.is_empty() {
            return None;
        }
        minutes
    };
    if hours > 23 || minutes > 59 {
        return None;
    }
    Some(sign * (hours as i64 * 3600 + minutes as i64 * 60))
}

/// pytimeparse: `[+-]` then either unit components in the order weeks, days,
/// hours, minutes, seconds (`1w 2d`, `1h30m`, `5 minutes`, `1.5h`), or a
/// clock form (`1:30`, `1:00:00`, `1 days, 2:00:00`, `1:02:03:04`, `:30`).
/// Returns seconds.
pub fn parse_timespan_seconds(text: &str) -> Option<f64> {
    let trimmed = text.trim();
    let (sign, unsigned) = match trimmed.as_bytes().first()? {
        b'+' | b'|' => (1.0, trimmed[1..].trim_start()),
        b'-' => (-1.0, trimmed[1..].trim_start()),
        _ => (1.0, trimmed),
    };
    if unsigned.is_empty() {
        return None;
    }
    let seconds = parse_unit_components(unsigned).or_else(|| parse_clock(unsigned))?;
    Some(sign * seconds)
}

const UNIT_WORDS: [(&[&str], f64); 5] = [
    (&["w", "wk", "wks", "week", "weeks"], 604_800.0),
    (&["d", "dy", "dys", "day", "days"], 86_400.0),
    (&["h", "hr", "hrs", "hour", "hours"], 3_600.0),
    (&["m", "min", "mins", "minute", "minutes"], 60.0),
    (&["s", "sec", "secs", "second", "seconds"], 1.0),
];

/// Reads `NUMBER UNIT` groups; `rest` is what follows the last group.
/// Returns (seconds, index of the next unit allowed, rest).
fn unit_groups(text: &str) -> (f64, usize, &str) {
    let mut total = 0.0;
    let mut next_unit = 0;
    let mut rest = text;
    loop {
        let number_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        if number_len == 0 {
            break;
        }
        let Ok(number) = rest[..number_len].parse::<f64>() else {
            break;
        };
        let after_number = rest[number_len..].trim_start();
        let word_len = after_number
            .bytes()
            .take_while(u8::is_ascii_alphabetic)
            .count();
        let word = after_number[..word_len].to_ascii_lowercase();
        let Some(unit) =
            (next_unit..UNIT_WORDS.len()).find(|&u| UNIT_WORDS[u].0.contains(&word.as_str()))
        else {
            break;
        };
        total += number * UNIT_WORDS[unit].1;
        next_unit = unit + 1;
        let after_word = after_number[word_len..].trim_start();
        rest = after_word
            .strip_prefix([',', '/'])
            .map_or(after_word, str::trim_start);
    }
    (total, next_unit, rest)
}

fn parse_unit_components(text: &str) -> Option<f64> {
    let (seconds, units_seen, rest) = unit_groups(text);
    (units_seen > 0 && rest.is_empty()).then_some(seconds)
}

fn parse_clock(text: &str) -> Option<f64> {
    // `:SS` alone.
    if let Some(seconds) = text.strip_prefix(':') {
        return clock_seconds(seconds);
    }
    // Optional weeks/days groups, then H:MM:SS; or D:HH:MM:SS; or M:SS.
    let (prefix_seconds, units_seen, clock) = unit_groups(text);
    if units_seen > 2 {
        return None;
    }
    let fields: Vec<&str> = clock.split(':').collect();
    let whole = |s: &str, max_len: usize| -> Option<f64> {
        (!s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let exact2 = |s: &str| (s.len() == 2).then(|| whole(s, 2)).flatten();
    match fields.as_slice() {
        [minutes, seconds] if units_seen == 0 => {
            Some(whole(minutes, 2)? * 60.0 + clock_seconds(seconds)?)
        }
        [hours, minutes, seconds] => Some(
            prefix_seconds
                + whole(hours, usize::MAX)? * 3600.0
                + exact2(minutes)? * 60.0
                + clock_seconds(seconds)?,
        ),
        [days, hours, minutes, seconds] if units_seen == 0 => Some(
            whole(days, usize::MAX)? * 86_400.0
                + exact2(hours)? * 3600.0
                + exact2(minutes)? * 60.0
                + clock_seconds(seconds)?,
        ),
        _ => None,
    }
}

/// `SS` or `SS.fraction` with exactly two digits before the point.
fn clock_seconds(text: &str) -> Option<f64> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction_ok = text.find('.').is_none()
        || (!fraction.is_empty() && fraction.bytes().all(|b| b.is_ascii_digit()));
    (whole.len() == 2 && whole.bytes().all(|b| b.is_ascii_digit()) && fraction_ok)
        .then(|| text.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NANOS_PER_SECOND;
    const NOW: Timestamp = Timestamp(1_700_000_000_123_456_789);

    fn ts(text: &str) -> Result<Timestamp, TimeError> {
        parse_timestamp(text, NOW)
    }

    #[test]
    fn epoch_seconds_truncate_to_nanoseconds() {
        assert_eq!(ts("1388577600").unwrap().nanos(), 1_388_577_600 * S);
        assert_eq!(
            ts("1388577600.5").unwrap().nanos(),
            1_388_577_600 * S + S / 2
        );
        // float(…) * 1e9 then truncation, as numpy does.
        assert_eq!(
            ts("1388577600.1234567").unwrap().nanos(),
            1_388_577_600_123_456_768
        );
        assert_eq!(ts("1e9").unwrap().nanos(), 1_000_000_000 * S);
        assert_eq!(ts("2014").unwrap().nanos(), 2014 * S);
        // Beyond datetime64[ns] (year 2262).
        assert!(matches!(
            ts("9999999999999999999999"),
            Err(TimeError::UnableToConvertTimestamp(_))
        ));
    }

    #[test]
    fn iso8601_as_numpy_reads_it() {
        let base = 1_388_577_600 * S; // 2014-01-01T12:00:00Z
        assert_eq!(ts("2014-01-01T12:00:00").unwrap().nanos(), base);
        assert_eq!(ts("2014-01-01 12:00:00").unwrap().nanos(), base);
        assert_eq!(ts("2014-01-01T12:00:00Z").unwrap().nanos(), base);
        assert_eq!(
            ts("2014-01-01T13:00:04+01:00").unwrap().nanos(),
            base + 4 * S
        );
        assert_eq!(ts("2014-01-01T07:00:00-0500").unwrap().nanos(), base);
        assert_eq!(ts("2014-01-01T12").unwrap().nanos(), base);
        assert_eq!(ts("2014-01-01").unwrap().nanos(), base - 12 * 3600 * S);
        assert_eq!(ts("2014-01").unwrap().nanos(), base - 12 * 3600 * S);
        assert_eq!(
            ts("2014-01-01T12:00:00.1234567891").unwrap().nanos(),
            base + 123_456_789
        );
        assert!(ts("2015-3-6").is_err());
        assert!(ts("20150306T153357").is_err());
        // Checked against gnocchi.utils.to_timestamp (numpy 2.4).
        assert_eq!(ts("2014-01-01T12:00").unwrap().nanos(), base);
        assert_eq!(
            ts("2014-01-01T13:00:00+01").unwrap().nanos(),
            ts("2014-01-01T12:00:00+0000").unwrap().nanos()
        );
        assert_eq!(ts(" 2014-01-01 12:00:00 ").unwrap().nanos(), base);
        for bad in [
            "2014-01-01t12:00:00",
            "2014-01-01T12:00:00,5",
            "2014-01-01T1:00",
            "2014-01-01T24:00:00",
            "2014-02-30",
            "2014-01-01T12:00:00Z+01:00",
            "2014-W01",
            "0x10",
        ] {
            assert!(ts(bad).is_err(), "{bad}");
        }
        assert_eq!(ts("20140101").unwrap().nanos(), 20_140_101 * S);
        assert_eq!(ts("1_000").unwrap().nanos(), 1000 * S);
    }

    #[test]
    fn words_and_relative_times_use_now() {
        assert_eq!(ts("now").unwrap().nanos(), 1_700_000_000 * S);
        // Relative to now at microsecond precision, like Python's datetime.
        let now_us = Timestamp(1_700_000_000_123_456_000);
        assert_eq!(ts("-10 seconds").unwrap(), now_us - Span::from_secs(10));
        assert_eq!(ts("+5 minutes").unwrap(), now_us + Span::from_secs(300));
        assert_eq!(ts("-1h").unwrap(), now_us - Span::from_secs(3600));
        assert_eq!(ts("1d").unwrap(), now_us + Span::from_secs(86_400));
        assert_eq!(ts(" -1 hour ").unwrap(), now_us - Span::from_secs(3600));
        assert_eq!(ts("-1h30m").unwrap(), now_us - Span::from_secs(5400));
    }

    #[test]
    fn before_epoch_and_garbage_are_refused() {
        assert!(matches!(ts("-1"), Err(TimeError::BeforeEpoch(_))));
        assert!(matches!(
            ts("1969-12-31T23:59:59"),
            Err(TimeError::BeforeEpoch(_))
        ));
        assert!(ts("1970-01-01T00:00:00").is_ok());
        assert!(matches!(
            ts("yesterday-ish"),
            Err(TimeError::UnableToConvertTimestamp(_))
        ));
        assert!(ts("nan").is_err());
    }

    #[test]
    fn timespans_follow_pytimeparse() {
        let secs = |t: &str| parse_timespan(t).map(|s| s.nanos() as f64 / 1e9);
        for (text, want) in [
            ("60", 60.0),
            ("1.5", 1.5),
            ("60s", 60.0),
            ("1second", 1.0),
            ("5min", 300.0),
            ("5 minutes", 300.0),
            ("1h", 3600.0),
            ("1 hour", 3600.0),
            ("1 hr", 3600.0),
            ("1h30m", 5400.0),
            ("1d", 86_400.0),
            ("7 day", 604_800.0),
            ("1w", 604_800.0),
            ("2 weeks", 1_209_600.0),
            ("1:30", 90.0),
            ("1:00:00", 3600.0),
            ("1 days, 2:00:00", 93_600.0),
            ("0.5s", 0.5),
            ("1.5h", 5400.0),
            ("1 minute 30 seconds", 90.0),
            ("1d3h", 97_200.0),
        ] {
            assert_eq!(secs(text), Ok(want), "{text}");
        }
        for bad in ["1 month", "1y", "10ms", "P1D", "", "h", "1m1h"] {
            assert!(parse_timespan(bad).is_err(), "{bad} should be refused");
        }
        assert!(matches!(
            parse_timespan("0"),
            Err(TimeError::TimespanNotPositive(_))
        ));
        assert!(matches!(
            parse_timespan("-5"),
            Err(TimeError::TimespanNotPositive(_))
        ));
    }

    #[test]
    fn round_down_uses_float_arithmetic() {
        let second = Span::from_secs(1);
        // …:19.999999999 is not representable next to :20 as a double.
        let t = Timestamp(1_388_577_619_999_999_999);
        assert_eq!(t.round_down(second).nanos(), 1_388_577_620 * S);
        let t = Timestamp(1_388_577_601 * S);
        assert_eq!(t.round_down(Span::from_secs(60)).nanos(), 1_388_577_600 * S);
    }

    #[test]
    fn inlined_floor_is_exact() {
        for x in [
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.0,
            -1.0,
            1e15 + 0.5,
            -1e15 - 0.5,
            2f64.powi(62),
            123456.999999,
            -3.0000001,
        ] {
            assert_eq!(floor(x), x.floor(), "{x}");
        }
    }

    #[test]
    fn api_strings_written_in_place_match() {
        let mut cache = ApiDateCache::default();
        let mut out = Vec::new();
        for nanos in [
            1_388_577_601 * S + 500_000_123,
            1_388_577_602 * S,
            1_388_620_799 * S + 999_999_999,
            1_388_620_800 * S,
            0,
            -4 * 86_400 * S,
            4_102_444_799 * S, // 2099-12-31T23:59:59
        ] {
            let t = Timestamp(nanos);
            out.clear();
            t.write_api_string(&mut out, &mut cache);
            assert_eq!(String::from_utf8(out.clone()).unwrap(), t.to_api_string());
        }
    }

    proptest::proptest! {
        #[test]
        fn api_strings_written_from_a_cache_match(
            steps in proptest::collection::vec(0i64..200_000_000_000_000, 1..50),
        ) {
            let mut cache = ApiDateCache::default();
            let mut t = 1_388_577_601 * S;
            for step in steps {
                t += step % 3 * (step / 1_000_000_000 % 7_000 * S);
                let timestamp = Timestamp(t);
                let mut out = Vec::new();
                timestamp.write_api_string(&mut out, &mut cache);
                proptest::prop_assert_eq!(String::from_utf8(out).unwrap(), timestamp.to_api_string());
            }
        }
    }

    #[test]
    fn text_forms() {
        let t = Timestamp(1_388_577_601 * S + 500_000_123);
        assert_eq!(t.to_api_string(), "2014-01-01T12:00:01+00:00");
        assert_eq!(t.to_precise_string(), "2014-01-01T12:00:01.500000123+00:00");
        assert_eq!(t.to_isoformat(), "2014-01-01T12:00:01.500000+00:00");
        assert_eq!(Span::from_secs(60).to_string(), "60.0");
        assert_eq!(Span::from_nanos(200_000_000).to_string(), "0.2");
    }
}
